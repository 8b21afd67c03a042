#!/usr/bin/env bash
# The main job end to end: index the fixture images and a generated tree with the tiny models, search with
# filters, and keep the index right through re-runs, moves, deletions, kill -9 and concurrent searches.
source "$(dirname "$0")/lib.sh"
need python3 sqlite3 /usr/bin/convert
CONVERT=/usr/bin/convert
M=$FIX/models/tiny-clip
DB=$TMP/lib.db
export PHOTOSEEK_MODELS=$TMP/no-models # nothing fetched: the library's own CLIP model answers text queries

# The tree: the fixture images, plus generated photos in nested folders.
mkdir -p "$TMP/photos/2021/summer" "$TMP/photos/2022"
cp "$FIX"/images/* "$TMP/photos/"
for i in 1 2 3 4 5 6; do
    $CONVERT -size 160x120 plasma:fractal -seed $i "$TMP/photos/2021/summer/gen_$i.jpg" 2>/dev/null ||
        $CONVERT -size 160x120 "xc:rgb($((i * 40)),100,$((250 - i * 30)))" "$TMP/photos/2021/summer/gen_$i.jpg"
done
$CONVERT -size 200x100 gradient:yellow-green "$TMP/photos/2022/grad.png"
printf 'not an image' >"$TMP/photos/2022/notes.txt"

# float32, so that the stored vectors can be compared with PyTorch's (int8, the default, is checked elsewhere)
$PS index "$TMP/photos" --db "$DB" --image-model "$M" --precision fp32 --json >"$TMP/run1.json" 2>"$TMP/run1.err"
status=$?
check "index exits 1 when some files failed" test "$status" = 1
check "every valid image is indexed and every bad_* one failed" python3 -c "
import json; r=json.load(open('$TMP/run1.json')); assert r['indexed']==18+7 and r['failed']==4 and r['unchanged']==0, r"
$PS status --db "$DB" --errors >"$TMP/errors.txt"
check "status --errors lists each bad file with its reason" sh -c "
grep -q 'bad_truncated.jpg.*broken JPEG: file is truncated' '$TMP/errors.txt' &&
grep -q 'bad_empty.png.*empty file' '$TMP/errors.txt' &&
grep -q 'bad_not_an_image.jpg.*not a supported image' '$TMP/errors.txt' &&
grep -q 'bad_crc.png.*broken PNG' '$TMP/errors.txt' && test \$(wc -l < '$TMP/errors.txt') = 4"
check "status --json counts" sh -c "$PS status --db '$DB' --json | python3 -c 'import json,sys; s=json.load(sys.stdin); assert s[\"photos\"]==25 and s[\"failed\"]==4 and s[\"embeddings\"]==25, s'"

# EXIF date (with its offset) and camera are stored; --year filters on them.
$PS search "a photo" --db "$DB" --year 2019 --json >"$TMP/y2019.jsonl"
check "--year 2019 returns only the EXIF-dated image, with its date, offset and camera" python3 -c "
import json; rows=[json.loads(l) for l in open('$TMP/y2019.jsonl')]
assert len(rows)==1, rows
r=rows[0]; assert r['path'].endswith('exif_orient6_640x480.jpg')
assert r['taken_at']=='2019-07-04T18:30:00+02:00' and r['camera']=='TestMake TestModel X1'
assert (r['width'], r['height'], r['type'])==(480, 640, 'photo')"
check "the date is stored in UTC with its offset" sh -c "sqlite3 '$DB' \"SELECT taken_at, offset_min, taken_src FROM media WHERE path LIKE '%exif_orient6%'\" | grep -qx '1562257800|120|exif'"
check "--from/--to select by date" sh -c "$PS search photo --db '$DB' --from 2019-07 --to 2019-07-04 --json | grep -c exif_orient6 | grep -qx 1"
check "--year=2019 (the = form) gives the same single result" sh -c "$PS search photo --db '$DB' --year=2019 --json | wc -l | grep -qx 1"
expect_status "a filter without a value is a usage error" 2 $PS search photo --db "$DB" --year
check "--camera filters by make or model" sh -c "$PS search photo --db '$DB' --camera testmodel --json | wc -l | grep -qx 1"
check "--folder filters by folder" sh -c "test \$($PS search photo --db '$DB' --folder '$TMP/photos/2021' -k 50 --all --json | wc -l) = 6"
expect_status "--type video finds nothing in a photo library (exit 1)" 1 $PS search photo --db "$DB" --type video
expect_status "a bad --month is a usage error" 2 $PS search photo --db "$DB" --month 13
expect_status "a bad --from is a usage error" 2 $PS search photo --db "$DB" --from 2019-13-01

# The ranking for every reference text equals the ranking of the reference embeddings (near-ties may swap).
check "rankings match the reference embeddings for every text" python3 - "$PS" "$DB" "$FIX" "$M" <<'PY'
import json, math, subprocess, sys
ps, db, fix, model = sys.argv[1:]
ref = json.load(open(fix + "/refs/embeddings_tiny_clip.json"))
def norm(v):
    n = math.sqrt(sum(x * x for x in v)); return [x / n for x in v]
images = {i["image"]: norm(i["embedding"]) for i in ref["images"]}
checked = 0
for t in ref["texts"]:
    if not t["text"].strip():
        continue  # an empty query is refused, by design
    q = norm(t["embedding"])
    want = {name: sum(a * b for a, b in zip(q, v)) for name, v in images.items()}
    # --all: the reference ranks every photo; by default copies (cmyk_200x150 of gray_320x240) show as one
    out = subprocess.run([ps, "search", t["text"], "--db", db, "--text-model", model, "-k", "100", "--json", "--all"],
                         capture_output=True, text=True)
    rows = [json.loads(l) for l in out.stdout.splitlines()]
    got = [r["path"].rsplit("/", 1)[1] for r in rows if r["path"].rsplit("/", 1)[1] in images and "/photos/" in r["path"]]
    assert len(got) == 18, (t["text"], len(got), out.stderr)
    for a, b in zip(got, got[1:]):
        # every adjacent pair is in reference order, or a near-tie
        assert want[a] >= want[b] - 5e-3, (t["text"], a, want[a], b, want[b])
    for r in rows:
        name = r["path"].rsplit("/", 1)[1]
        if name in want:
            assert abs(r["score"] - want[name]) < 5e-3, (t["text"], name, r["score"], want[name])
    checked += 1
assert checked == 24, checked
PY
check "--min-score drops weak matches" sh -c "test \$($PS search 'a photo of a cat' --db '$DB' --min-score 0.99 --json | wc -l) = 0"
check "--sort date puts the newest first" sh -c "$PS search photo --db '$DB' -k 100 --sort date --json | tail -1 | grep -q exif_orient6"
check "query algebra: phrases, -terms, weights and an image term" sh -c "$PS search '\"a photo of a cat\" -dog +2:\"donut\" $FIX/images/photo_chelsea.jpg' --db '$DB' --json -k 3 | grep -q photo_chelsea"
check "similar FILE finds that image first" sh -c "$PS similar '$FIX/images/photo_coffee.jpg' --db '$DB' --json -k 1 | grep -q 'photos/photo_coffee.jpg'"
expect_status "an unclosed quote is a usage error" 2 $PS search '"beach' --db "$DB"
expect_status "a query model of another width is refused" 3 $PS search cat --db "$DB" --text-model "$TMP/no-such-model"

# A multilingual query model in the same space is accepted; a CLIP model other than the indexed one is refused.
check "a multilingual query model of the same width is accepted" sh -c "$PS search '甜甜圈生日蛋糕' --db '$DB' --text-model '$FIX/models/tiny-mclip' -k 2 --json | wc -l | grep -qx 2"
$PS search cat --db "$DB" --text-model "$FIX/models/tiny-clip-openclip" >/dev/null 2>"$TMP/mm.err"
check "a different CLIP checkpoint is refused with an explanation" grep -q "vectors of different models cannot be compared" "$TMP/mm.err"

# Re-runs, moves and deletions.
$PS index "$TMP/photos" --db "$DB" --image-model "$M" --precision fp32 --json >"$TMP/run2.json" 2>/dev/null
check "a re-run embeds nothing" python3 -c "
import json; r=json.load(open('$TMP/run2.json')); assert r['indexed']==0 and r['moved']==0 and r['removed']==0 and r['unchanged']==29, r"
mkdir -p "$TMP/photos/moved"
mv "$TMP/photos/photo_rocket.jpg" "$TMP/photos/moved/rocket_renamed.jpg"
rm "$TMP/photos/2021/summer/gen_3.jpg"
$PS index "$TMP/photos" --db "$DB" --image-model "$M" --precision fp32 --json >"$TMP/run3.json" 2>/dev/null
check "a move is recognised and a deletion pruned" python3 -c "
import json; r=json.load(open('$TMP/run3.json')); assert r['moved']==1 and r['removed']==1 and r['indexed']==0, r"
check "the moved file is found at its new path" sh -c "$PS similar '$FIX/images/photo_rocket.jpg' --db '$DB' -k 1 --json | grep -q moved/rocket_renamed.jpg"
check "the deleted file is gone" sh -c "! sqlite3 '$DB' 'SELECT path FROM media' | grep -q gen_3.jpg"
check "files are recorded with their 32-digit content hash" sh -c "sqlite3 '$DB' \"SELECT DISTINCT length(hash) FROM media WHERE hash IS NOT NULL\" | tr '\n' ' ' | grep -qx '32 '"
# A library indexed before the content hash holds SHA-256: its moves are still found, and the row takes the new hash.
sha=$(sha256sum "$TMP/photos/moved/rocket_renamed.jpg" | cut -d' ' -f1)
sqlite3 "$DB" "UPDATE media SET hash = '$sha' WHERE path LIKE '%rocket_renamed.jpg'"
mv "$TMP/photos/moved/rocket_renamed.jpg" "$TMP/photos/moved/rocket_legacy.jpg"
$PS index "$TMP/photos" --db "$DB" --image-model "$M" --precision fp32 --json >"$TMP/run3b.json" 2>/dev/null
check "the move of a file an older library hashed with SHA-256 is recognised" python3 -c "
import json; r=json.load(open('$TMP/run3b.json')); assert r['moved']==1 and r['indexed']==0 and r['removed']==0, r"
check "... and its row takes the content hash" sh -c "sqlite3 '$DB' \"SELECT length(hash) FROM media WHERE path LIKE '%rocket_legacy.jpg'\" | grep -qx 32"
touch -d '2001-01-01' "$TMP/photos/2022/grad.png"
$PS index "$TMP/photos" --db "$DB" --image-model "$M" --precision fp32 --json >"$TMP/run4.json" 2>/dev/null
# the default int8 encoder: a re-run with it embeds again (another model identity), and a search still answers
$PS index "$TMP/photos" --db "$DB" --image-model "$M" --json >"$TMP/run5.json" 2>/dev/null
check "an int8 index of the same photos ranks the cat first for a cat photo" sh -c "$PS similar '$FIX/images/photo_chelsea.jpg' --db '$DB' -k 1 --json | grep -q photo_chelsea"
check "a changed file is embedded again" python3 -c "
import json; r=json.load(open('$TMP/run4.json')); assert r['indexed']==1 and r['unchanged']==27, r"
done_testing
