#!/usr/bin/env bash
# Near-duplicates end to end: a test set made from the fixture photos (each original with copies rescaled,
# recompressed at three qualities, cropped 5%, colour-edited, turned by pixels and by EXIF, framed like a
# screenshot, byte-identical) and a burst of video frames, indexed with the tiny model and with the synthetic
# full-size one; every variant must land in its original's group and no two originals together. The pairs'
# precision and recall are printed (DUPS_PR lines) and must both be at least 0.98.
source "$(dirname "$0")/lib.sh"

need ffmpeg
SET=$TMP/set
bash "$(dirname "$0")/make_dups_set.sh" "$SET" "$FIX"

# pairs: the truth is the folder; the prediction is the group
pr() { # pr NAME JSONL: prints precision and recall of the predicted pairs, fails below 0.98
    python3 - "$SET" "$2" "$1" <<'PY'
import itertools, json, os, sys
root, path, name = sys.argv[1], sys.argv[2], sys.argv[3]
truth = {}
for dirpath, _, files in os.walk(root):
    for f in files:
        truth[os.path.realpath(os.path.join(dirpath, f))] = os.path.basename(dirpath)
group = {}
for line in open(path):
    g = json.loads(line)
    assert set(g) == {"group", "kind", "keeper", "members"}, g.keys()
    assert g["keeper"] == g["members"][0]["path"]
    for m in g["members"]:
        assert set(m) == {"path", "similarity", "width", "height", "bytes", "taken_at"}, m.keys()
        group[os.path.realpath(m["path"])] = g["group"]
files = sorted(truth)
tp = fp = fn = 0
for a, b in itertools.combinations(files, 2):
    same = truth[a] == truth[b]
    pred = a in group and group.get(a) == group.get(b)
    tp += same and pred; fp += pred and not same; fn += same and not pred
p = tp / (tp + fp) if tp + fp else 0.0
r = tp / (tp + fn) if tp + fn else 0.0
print(f"DUPS_PR {name}: precision {p:.4f} recall {r:.4f} (pairs: {tp} right, {fp} wrong, {fn} missed)")
for a, b in itertools.combinations(files, 2):
    same, pred = truth[a] == truth[b], a in group and group.get(a) == group.get(b)
    if same != pred: print(("   missed " if same else "   wrong  ") + os.path.relpath(a, root) + " ~ " + os.path.relpath(b, root))
sys.exit(0 if p >= 0.98 and r >= 0.98 else 1)
PY
}

run_model() { # run_model NAME MODEL_DIR
    local name=$1 model=$2 db=$TMP/$1.db
    if ! "$PS" index "$SET" --db "$db" --image-model "$model" >"$TMP/index.out" 2>&1; then
        fail "duplicates ($name): index" "$(tail -3 "$TMP/index.out")"
        return
    fi
    if "$PS" duplicates --db "$db" --json >"$TMP/$name.jsonl" 2>"$TMP/err"; then
        pass "duplicates ($name): groups listed"
    else
        fail "duplicates ($name): groups listed" "$(tail -3 "$TMP/err")"
        return
    fi
    if out=$(pr "$name" "$TMP/$name.jsonl"); then pass "duplicates ($name): pairs"; else fail "duplicates ($name): pairs" "$out"; fi
    echo "$out" | head -12
    grep -q '"kind": "same moment"' "$TMP/$name.jsonl" && pass "duplicates ($name): the burst is a moment" ||
        fail "duplicates ($name): the burst is a moment"
    "$PS" duplicates --db "$db" >"$TMP/text.out" 2>&1
    grep -q "rule: largest" "$TMP/text.out" && pass "duplicates ($name): keeper rule named" ||
        fail "duplicates ($name): keeper rule named" "$(head -5 "$TMP/text.out")"
}

run_model tiny "$FIX/models/tiny-clip"

# results collapse each group to its best member by default (--all: every member), with the same scores, and
# lose nothing
if [ -f "$TMP/tiny.db" ]; then
    PHOTOSEEK_MODELS=$TMP/no-models "$PS" search a photo --db "$TMP/tiny.db" -k 100 --json >"$TMP/collapsed.jsonl" 2>/dev/null
    PHOTOSEEK_MODELS=$TMP/no-models "$PS" search a photo --db "$TMP/tiny.db" -k 100 --json --all >"$TMP/all.jsonl" 2>/dev/null
    cat >"$TMP/collapse.py" <<'PY'
import json, sys
col = [json.loads(l) for l in open(sys.argv[1])]
every = [json.loads(l) for l in open(sys.argv[2])]
score = {r["path"]: r["score"] for r in every}
groups = [r["group"] for r in col if "group" in r]
assert len(groups) == len(set(groups)), "a group shows twice"
assert all(abs(score[r["path"]] - r["score"]) < 1e-6 for r in col), "a score changed"
shown = {r["path"] for r in col}
# each member left out shares a group (photoseek duplicates) with a result shown
group_of = {}
for line in open(sys.argv[3]):
    g = json.loads(line)
    for m in g["members"]: group_of[m["path"]] = g["group"]
shown_groups = {group_of.get(p) for p in shown}
for r in every:
    assert r["path"] in shown or group_of.get(r["path"]) in shown_groups, "lost: " + r["path"]
assert len(col) < len(every), "nothing collapsed"
assert sum(r.get("group_size", 1) for r in col) == len(every), "group sizes do not add up"
assert not any("group" in r for r in every), "results with --all carry no group"
print(f"{len(every)} results as {len(col)}")
PY
    if out=$(python3 "$TMP/collapse.py" "$TMP/collapsed.jsonl" "$TMP/all.jsonl" "$TMP/tiny.jsonl" 2>&1); then pass "search results collapse groups, same scores, nothing lost ($out)"; else fail "search results collapse groups, same scores, nothing lost" "$out"; fi
fi

# the server: /api/duplicates (GET only, through the gate), and group / group_size in results
if [ -f "$TMP/tiny.db" ] && command -v curl >/dev/null; then
    PHOTOSEEK_MODELS=$TMP/no-models "$PS" serve --db "$TMP/tiny.db" --port 0 --port-file "$TMP/port" 2>"$TMP/serve.err" &
    SRV=$!
    for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    B="http://127.0.0.1:$(cat "$TMP/port")"
    code=$(curl -s -o "$TMP/dups.json" -w '%{http_code}' "$B/api/duplicates")
    n=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["groups"]) if all(g["members"][0]["path"] == g["keeper"] for g in d["groups"]) else -1)' "$TMP/dups.json" 2>/dev/null)
    [ "$code" = 200 ] && [ "$n" = "$(wc -l <"$TMP/tiny.jsonl")" ] && pass "GET /api/duplicates lists the groups, keeper first" ||
        fail "GET /api/duplicates lists the groups, keeper first" "status $code, $n groups"
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$B/api/duplicates")" != 200 ] && pass "POST /api/duplicates is refused" ||
        fail "POST /api/duplicates is refused"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/duplicates?threshold=2")" = 400 ] && pass "/api/duplicates: a bad threshold is a 400" ||
        fail "/api/duplicates: a bad threshold is a 400"
    curl -s "$B/api/search?q=a+photo&k=100&collapse=1" | grep -q '"group_size": 11' && pass "API results carry group and group_size" ||
        fail "API results carry group and group_size"
    kill $SRV 2>/dev/null
    wait $SRV 2>/dev/null
fi

# incremental: the index run keeps the groups; a new copy joins its original's group from its own neighbours
if [ -f "$TMP/tiny.db" ] && command -v sqlite3 >/dev/null; then
    group_of() { sqlite3 "$TMP/tiny.db" "SELECT group_id FROM dup_groups JOIN media ON media.id = media_id WHERE path = '$1'"; }
    orig=$(realpath "$SET/photo_rocket/photo_rocket.jpg")
    before=$(sqlite3 "$TMP/tiny.db" "SELECT count(*) FROM dup_groups")
    ffmpeg -loglevel error -y -i "$orig" -vf "scale=iw*0.7:-2" -q:v 9 "$SET/photo_rocket/photo_rocket_whatsapp.jpg" </dev/null
    touch -d "2024-05-05 10:00:00 UTC" "$SET/photo_rocket/photo_rocket_whatsapp.jpg"
    "$PS" index "$SET" --db "$TMP/tiny.db" --image-model "$FIX/models/tiny-clip" >"$TMP/index2.out" 2>&1
    new=$(group_of "$(realpath "$SET/photo_rocket/photo_rocket_whatsapp.jpg")")
    after=$(sqlite3 "$TMP/tiny.db" "SELECT count(*) FROM dup_groups")
    if [ -n "$new" ] && [ "$new" = "$(group_of "$orig")" ] && [ "$after" = $((before + 1)) ]; then
        pass "duplicates: a new copy joins its group at the next index run"
    else
        fail "duplicates: a new copy joins its group at the next index run" "group '$new' vs '$(group_of "$orig")', rows $before -> $after"
    fi
    # the same file changed in place into a copy of another photo: it leaves its old group and joins the new one
    cp "$SET/photo_rocket/photo_rocket_whatsapp.jpg" "$TMP/whatsapp_before.jpg"
    coffee=$(realpath "$SET/photo_coffee/photo_coffee.jpg")
    ffmpeg -loglevel error -y -i "$coffee" -vf "scale=iw*0.7:-2" -q:v 9 "$TMP/coffee_small.jpg" </dev/null
    cp "$TMP/coffee_small.jpg" "$SET/photo_rocket/photo_rocket_whatsapp.jpg"
    touch -d "2024-05-06 10:00:00 UTC" "$SET/photo_rocket/photo_rocket_whatsapp.jpg"
    "$PS" index "$SET" --db "$TMP/tiny.db" --image-model "$FIX/models/tiny-clip" >"$TMP/index2b.out" 2>&1
    changed=$(group_of "$(realpath "$SET/photo_rocket/photo_rocket_whatsapp.jpg")")
    if [ -n "$changed" ] && [ "$changed" = "$(group_of "$coffee")" ] && [ "$changed" != "$(group_of "$orig")" ]; then
        pass "duplicates: a file changed in place leaves its old group and joins its new original's"
    else
        fail "duplicates: a file changed in place leaves its old group and joins its new original's" \
            "group '$changed', coffee '$(group_of "$coffee")', rocket '$(group_of "$orig")'"
    fi
    # ... and changed into a photo like no other, it stands alone
    convert -size 300x200 plasma:fractal "$SET/photo_rocket/photo_rocket_whatsapp.jpg" 2>/dev/null ||
        ffmpeg -loglevel error -y -f lavfi -i "mandelbrot=s=300x200" -frames:v 1 "$SET/photo_rocket/photo_rocket_whatsapp.jpg" </dev/null
    touch -d "2024-05-07 10:00:00 UTC" "$SET/photo_rocket/photo_rocket_whatsapp.jpg"
    "$PS" index "$SET" --db "$TMP/tiny.db" --image-model "$FIX/models/tiny-clip" >"$TMP/index2c.out" 2>&1
    alone=$(group_of "$(realpath "$SET/photo_rocket/photo_rocket_whatsapp.jpg")")
    [ -z "$alone" ] && [ -n "$(group_of "$coffee")" ] &&
        pass "duplicates: a file changed in place into another picture stands alone" ||
        fail "duplicates: a file changed in place into another picture stands alone" "group '$alone'"
    cp "$TMP/whatsapp_before.jpg" "$SET/photo_rocket/photo_rocket_whatsapp.jpg"
    touch -d "2024-05-05 10:00:00 UTC" "$SET/photo_rocket/photo_rocket_whatsapp.jpg"
    "$PS" index "$SET" --db "$TMP/tiny.db" --image-model "$FIX/models/tiny-clip" >"$TMP/index2d.out" 2>&1
    [ "$(group_of "$(realpath "$SET/photo_rocket/photo_rocket_whatsapp.jpg")")" = "$(group_of "$orig")" ] &&
        pass "duplicates: changed back, it joins its original again" ||
        fail "duplicates: changed back, it joins its original again"
    "$PS" duplicates --db "$TMP/tiny.db" --json >"$TMP/tiny.jsonl" 2>/dev/null
    rm -f "$SET/photo_rocket/photo_rocket_whatsapp.jpg"
    "$PS" index "$SET" --db "$TMP/tiny.db" --image-model "$FIX/models/tiny-clip" >"$TMP/index3.out" 2>&1
else
    skip "duplicates: incremental groups (sqlite3 is missing)"
fi
if "$PS" model synth --arch clip-vit-b-32 --tokenizer-from "$FIX/models/tiny-clip" --out "$TMP/synth" >"$TMP/synth.out" 2>&1; then
    run_model synth "$TMP/synth"
else
    fail "duplicates: synth model" "$(tail -3 "$TMP/synth.out")"
fi
expect_status "duplicates: bad threshold is a usage error" 2 "$PS" duplicates --threshold 7 --db "$TMP/tiny.db"

# --move-to: the non-keepers go aside with their folders, nothing is overwritten, the library follows
if [ -f "$TMP/tiny.db" ]; then
    mkdir -p "$TMP/aside/photo_coffee"
    echo "mine" >"$TMP/aside/photo_coffee/photo_coffee_q2.jpg"
    keeper=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["keeper"])' "$TMP/tiny.jsonl")
    expect_status "duplicates --move-to: a file in the way is a partial failure" 1 \
        "$PS" duplicates --db "$TMP/tiny.db" --move-to "$TMP/aside"
    grep -q "already exists; not overwritten" "$TMP/err" && [ "$(cat "$TMP/aside/photo_coffee/photo_coffee_q2.jpg")" = mine ] &&
        [ -f "$SET/photo_coffee/photo_coffee_q2.jpg" ] && pass "duplicates --move-to: never overwrites" ||
        fail "duplicates --move-to: never overwrites" "$(tail -2 "$TMP/err")"
    [ -f "$keeper" ] && [ -f "$TMP/aside/photo_chelsea/photo_chelsea_q28.jpg" ] && [ ! -e "$SET/photo_chelsea/photo_chelsea_q28.jpg" ] &&
        [ "$(ls "$TMP/aside/burst" | wc -l)" = 5 ] && [ "$(ls "$SET/burst" | wc -l)" = 1 ] && pass "duplicates --move-to: copies moved with their folders, keepers stay" ||
        fail "duplicates --move-to: copies moved with their folders, keepers stay" "    $(ls -R "$TMP/aside" | head -20 | tr '\n' ' ')"
    "$PS" duplicates --db "$TMP/tiny.db" --json --folder "$TMP/aside" >"$TMP/moved.jsonl" 2>/dev/null
    python3 -c 'import json,sys; print(sum(len(json.loads(l)["members"]) for l in open(sys.argv[1])))' "$TMP/moved.jsonl" >"$TMP/n"
    [ "$(cat "$TMP/n")" -ge 10 ] && pass "duplicates --move-to: the library records the new paths" ||
        fail "duplicates --move-to: the library records the new paths" "$(cat "$TMP/n") members under the new folder"
fi
done_testing
