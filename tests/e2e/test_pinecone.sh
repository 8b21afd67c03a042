#!/usr/bin/env bash
# The Pinecone store against a local stand-in (tests/e2e/pinecone_server.py) that checks every request against
# Pinecone's documented shapes: a library copied there or indexed there by two shard workers answers queries and
# filters as the SQLite library does; 429s are retried; key and connection problems are clear errors.
source "$(dirname "$0")/lib.sh"
need python3 curl /usr/bin/convert ffmpeg
M=$FIX/models/tiny-clip
DB=$TMP/lib.db
export PHOTOSEEK_MODELS=$TMP/no-models PHOTOSEEK_TEST_RETRY_MS=20 PINECONE_API_KEY=test-key
DIM=$(python3 -c "import json; print(json.load(open('$M/config.json'))['projection_dim'])")
PIDS=()

# start_pinecone NAME [ARGS]: a stand-in index; P is its base URL
start_pinecone() {
    local name=$1; shift
    timeout 600 python3 tests/e2e/pinecone_server.py --port-file "$TMP/$name.port" --dimension "$DIM" "$@" &
    PIDS+=($!)
    for _ in $(seq 100); do [ -s "$TMP/$name.port" ] && break; sleep 0.05; done
    P="http://127.0.0.1:$(cat "$TMP/$name.port")"
}
start_pinecone main
export PHOTOSEEK_TEST_PINECONE_URL=$P
STORE=pinecone://photos-abc1234.svc.aped-4627-b74a.pinecone.io/family

make_dated_tree "$TMP/photos"
$PS index "$TMP/photos" --db "$DB" --image-model "$M" --precision fp32 >/dev/null 2>&1

$PS migrate --from "$DB" --to "$STORE" --json >"$TMP/m.json" 2>"$TMP/m.err"
check "migrate to Pinecone copies every vector" python3 - "$TMP/m.json" "$PS" "$DB" "$P" <<'PY'
import json, subprocess, sys, urllib.request
m = json.load(open(sys.argv[1]))
s = json.loads(subprocess.run([sys.argv[2], "status", "--db", sys.argv[3], "--json"], capture_output=True, text=True).stdout)
assert m["vectors"] == s["embeddings"] and m["media"] == s["photos"] + s["videos"], (m, s)
req = urllib.request.Request(sys.argv[4] + "/describe_index_stats", headers={"Api-Key": "test-key", "X-Pinecone-API-Version": "2025-04"})
st = json.load(urllib.request.urlopen(req))
assert st["namespaces"]["family"]["vectorCount"] == s["embeddings"], st
PY
log() { curl -s "$P/test/log"; }
check "upserts are batches of at most 100 with the documented metadata and no nulls" python3 -c "
import json, sys
log = json.loads(sys.argv[1])
ups = [r['body'] for r in log if r['path'] == '/vectors/upsert' and r['body']['namespace'] == 'family']
assert ups and all(1 <= len(u['vectors']) <= 100 for u in ups), [len(u['vectors']) for u in ups]
md = [v['metadata'] for u in ups for v in u['vectors']]
assert all({'path', 'type', 'taken_at'} <= set(m) <= {'path', 'year', 'month', 'day', 'type', 'taken_at', 'camera', 'lat', 'lon',
           'place_city', 'place_region', 'place_country', 'place_cc'} for m in md)
assert all(x is not None for m in md for x in m.values())
assert any(m.get('camera') == 'TestMake TestModel X1' and m['year'] == 2019 for m in md)
" "$(log)"

# same_results NAME ARGS...: Pinecone gives the SQLite library's ranking and scores (--all: SQLite collapses
# near-duplicates by default, Pinecone keeps no groups)
same_results() {
    local name=$1; shift
    check "$name" python3 - "$PS" "$DB" "$STORE" "$M" "$@" <<'PY'
import json, subprocess, sys
ps, db, store, model, *args = sys.argv[1:]
def run(flag, where):
    out = subprocess.run([ps, "search", *args, "--all", flag, where, "--text-model", model, "--json"], capture_output=True, text=True)
    return out.returncode, [json.loads(l) for l in out.stdout.splitlines()], out.stderr
ca, a, ea = run("--db", db)
cb, b, eb = run("--store", store)
assert ca == cb == 0 and a, (ca, cb, ea, eb)
assert len(a) == len(b), (len(a), len(b), eb)
for x, y in zip(a, b):
    assert abs(x["score"] - y["score"]) < 1e-4, (x, y)
    assert x["path"] == y["path"] or any(abs(x["score"] - z["score"]) < 1e-4 and z["path"] == y["path"] for z in a), (x, y)
    assert x["type"] == y["type"] and x.get("frame_ms") == y.get("frame_ms") and x["camera"] == y["camera"], (x, y)
PY
}
same_results "a text query ranks as in SQLite" "a photo of a cat" -k 100
same_results "query algebra ranks as in SQLite" '"a rocket" -"a cup of coffee"' -k 100
same_results "--year 2021 gives the same results" "a photo" --year 2021 -k 100
same_results "--year 2022 --month 7 gives the same results" "a photo" --year 2022 --month 7 -k 100
same_results "--from/--to give the same results" "a photo" --from 2021-06-12 --to 2022-07-02 -k 100
same_results "--type video gives the video at the same moment" "a colourful test pattern" --type video
same_results "--camera (checked locally) gives the same result" "a photo" --camera testmodel
same_results "--folder (checked locally) gives the same results" "a photo" --folder "$TMP/photos/2022" -k 100
check "filters reach Pinecone in its syntax" python3 -c "
import json, sys
qs = [r['body'] for r in json.loads(sys.argv[1]) if r['path'] == '/query']
fs = [q.get('filter') for q in qs]
assert {'year': {'\$in': [2022]}, 'month': {'\$in': [7]}} in fs, fs
assert {'type': {'\$eq': 'video'}} in fs, fs
assert all(q['includeMetadata'] is True and q['topK'] <= 1000 and q['namespace'] == 'family' for q in qs)
" "$(log)"
check "similar IMAGE works on Pinecone" sh -c "$PS similar '$FIX/images/photo_chelsea.jpg' --store '$STORE' -k 3 --json | grep -c photo_chelsea | grep -qx 1"
check "status on Pinecone names the model and counts the vectors" sh -c "$PS status --store '$STORE' --json | python3 -c '
import json, sys; s = json.load(sys.stdin); assert s[\"embeddings\"] > 0 and s[\"model\"], s'"

# Two shard workers index straight into another namespace; then a deleted file leaves it.
for s in 1 2; do
    $PS index "$TMP/photos" --store "$STORE-shards" --shard $s/2 --catalog "$TMP/cat$s.db" --image-model "$M" \
        --precision fp32 --json >"$TMP/shard$s.json" 2>/dev/null
done
check "two shard workers push every file once between them" python3 -c "
import json; a, b = (json.load(open('$TMP/shard%d.json' % i)) for i in (1, 2)); m = json.load(open('$TMP/m.json'))
assert a['pushed'] > 0 and b['pushed'] > 0 and a['pushed'] + b['pushed'] == m['media'], (a, b, m)"
rm "$TMP/photos/photo_rocket.jpg"
for s in 1 2; do
    $PS index "$TMP/photos" --store "$STORE-shards" --shard $s/2 --catalog "$TMP/cat$s.db" --image-model "$M" \
        --precision fp32 --json >"$TMP/re$s.json" 2>/dev/null
done
check "a deleted file's vectors are deleted from Pinecone" sh -c "
python3 -c \"import json; a, b = (json.load(open('$TMP/re%d.json' % i)) for i in (1, 2)); assert a['deleted'] + b['deleted'] == 1, (a, b)\" &&
! $PS search rocket --store '$STORE-shards' -k 100 --text-model '$M' --json | grep -q photo_rocket"

# 429s are retried with backoff; key and connection problems are clear errors.
start_pinecone throttled --throttle 2
PHOTOSEEK_TEST_PINECONE_URL=$P $PS migrate --from "$DB" --to "$STORE" --json >"$TMP/t.json" 2>"$TMP/t.err"
check "a migrate through 429s (every second request) succeeds" sh -c "grep -q '\"vectors\"' '$TMP/t.json'"
check "... and the stand-in did answer 429s" sh -c "test \$(curl -s '$P/test/log' | python3 -c 'import json,sys; print(len([r for r in json.load(sys.stdin) if r[\"path\"] == \"/vectors/upsert\"]))') -gt 2"
expect_status "a wrong API key is a clear error (exit 3)" 3 env PINECONE_API_KEY=wrong $PS search photo --store "$STORE"
check "... saying the key was refused" grep -q "API key was refused" "$TMP/err"
expect_status "no API key is a clear error" 3 env -u PINECONE_API_KEY $PS search photo --store "$STORE"
check "... saying to set PINECONE_API_KEY" grep -q "set PINECONE_API_KEY" "$TMP/err"
expect_status "an unreachable index is a clear error" 3 env PHOTOSEEK_TEST_PINECONE_URL=http://127.0.0.1:1 $PS search photo --store "$STORE"
expect_status "an empty namespace says so" 3 $PS search photo --store "$STORE-empty" --text-model "$M"
check "... clearly" grep -q "the library is empty" "$TMP/err"
done_testing
