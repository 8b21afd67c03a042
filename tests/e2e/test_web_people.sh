#!/usr/bin/env bash
# People on the web page (issue 14): a library of face-api's demo photos (sample1, two variants of it, sample2) and
# a photo without a face, indexed with the face model, one person named; the server's people routes for the page
# (GET /api/media/ID/faces, /api/search?person=ID with and without words) and their errors, then
# tests/browser/test_people.mjs in Chromium: the people strip, filtering, renaming in place, the viewer's face boxes.
source "$(dirname "$0")/lib.sh"
need /usr/bin/convert python3 curl
face_model
CLIP=$FIX/models/tiny-clip
DB=$TMP/lib.db
export PHOTOSEEK_MODELS=$TMP/no-models
L=$TMP/photos
bash tests/faces/make_inputs.sh "$CACHE/demo" "$TMP/inputs"
mkdir -p "$L"
cp "$TMP/inputs/sample1.jpg" "$TMP/inputs/sample2.jpg" "$TMP/inputs/v1_half.png" "$TMP/inputs/v1_mirror.png" "$L/"
/usr/bin/convert -size 640x480 xc:skyblue "$L/sky.png"
$PS index "$L" --db "$DB" --image-model "$CLIP" --faces-model "$FM" --faces on >/dev/null 2>"$TMP/index.err"
$PS people --db "$DB" --json >"$TMP/people.json"
check "index: the three people of sample1 (in three photos each)" python3 -c "
import json; ps = [json.loads(l) for l in open('$TMP/people.json')]; assert len(ps) == 3 and all(p['photos'] == 3 for p in ps), ps"
# the person at sample1's right (x 1476) is Carol
CAROL=$(python3 - "$PS" "$DB" <<'PY'
import json, subprocess, sys
ps, db = sys.argv[1:3]
run = lambda *a: [json.loads(l) for l in subprocess.run([ps, *a, "--db", db, "--json"], capture_output=True, text=True).stdout.splitlines()]
for p in run("people"):
    for photo in run("people", "--photos", str(p["id"])):
        if photo["path"].endswith("/sample1.jpg") and any(f["box"][0] > 1300 for f in photo["faces"]):
            print(p["id"])
PY
)
check "naming the person at sample1's right Carol" $PS people name "$CAROL" Carol --db "$DB"
S1=$(python3 -c "
import sqlite3; print(sqlite3.connect('$DB').execute(\"SELECT id FROM media WHERE path LIKE '%/sample1.jpg'\").fetchone()[0])")
SKY=$(python3 -c "
import sqlite3; print(sqlite3.connect('$DB').execute(\"SELECT id FROM media WHERE path LIKE '%/sky.png'\").fetchone()[0])")

$PS serve --db "$DB" --port 0 --port-file "$TMP/port" --text-model "$CLIP" 2>"$TMP/serve.err" &
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
B="http://127.0.0.1:$(cat "$TMP/port")"
http() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }
web() { # web NAME STATUS PYTHON-CHECK-ON-d URL
    local name=$1 want=$2 py=$3 got; shift 3
    got=$(http "$@")
    if [ "$got" != "$want" ]; then fail "$name" "HTTP $got, want $want" "$(head -c 300 "$TMP/body")"; return; fi
    check "$name" python3 -c "import json; d=json.load(open('$TMP/body')); assert ($py), d"
}
# sample1's faces as 'people --photos' gives them: "face_id person x y w h" per line
python3 - "$PS" "$DB" >"$TMP/s1faces" <<'PY'
import json, subprocess, sys
ps, db = sys.argv[1:3]
run = lambda *a: [json.loads(l) for l in subprocess.run([ps, *a, "--db", db, "--json"], capture_output=True, text=True).stdout.splitlines()]
for p in run("people", "--min-faces", "1"):
    for photo in run("people", "--photos", str(p["id"])):
        if photo["path"].endswith("/sample1.jpg"):
            for f in photo["faces"]:
                print(f["id"], p["id"], *f["box"])
PY
web "GET /api/media/ID/faces: sample1's 3 faces, boxes, ids, people, Carol's name, the image's size" 200 "
d['id'] == $S1 and d['width'] == 1920 and d['height'] == 1280 and d['count'] == 3 == len(d['faces']) and
sorted((f['id'], f['person']) for f in d['faces']) == sorted((int(l.split()[0]), int(l.split()[1])) for l in open('$TMP/s1faces')) and
all(abs(f['box'][k] - float(l.split()[2 + k])) < 0.06 for f in d['faces'] for l in open('$TMP/s1faces') if int(l.split()[0]) == f['id'] for k in range(4)) and
[f['name'] for f in d['faces'] if f['person'] == $CAROL] == ['Carol'] and [f['name'] for f in d['faces']].count(None) == 2 and
all(0 < f['score'] <= 1 and f['frame_ms'] == -1 for f in d['faces'])" "$B/api/media/$S1/faces"
web "GET /api/media/ID/faces of a photo without a face: an empty list" 200 "d['faces'] == [] and d['count'] == 0" "$B/api/media/$SKY/faces"
web "GET /api/media/99999/faces: 404" 404 "'error' in d" "$B/api/media/99999/faces"
web "GET /api/media/1x/faces: 404" 404 "'error' in d" "$B/api/media/1x/faces"
expect_status "POST /api/media/ID/faces: refused" 0 test "$(http -X POST -H 'Content-Type: application/json' -d '{}' "$B/api/media/$S1/faces")" = 404
$PS people --db "$DB" --photos "$CAROL" --json >"$TMP/carol.json"
web "GET /api/search?person=ID without words: exactly that person's photos, newest first" 200 "
[r['path'] for r in d['results']] == [json.loads(l)['path'] for l in open('$TMP/carol.json')]" "$B/api/search?person=$CAROL"
web "GET /api/search?person=ID&q=WORDS: only that person's photos" 200 "
d['count'] >= 1 and {r['path'] for r in d['results']} <= {json.loads(l)['path'] for l in open('$TMP/carol.json')}" \
    "$B/api/search?person=$CAROL&q=people"
web "GET /api/search?person=A,B: photos with both" 200 "d['count'] == 3" "$B/api/search?person=$CAROL,$(head -1 "$TMP/s1faces" | cut -d' ' -f2)"
web "GET /api/search?person=99999: 404 naming the person" 404 "'99999' in d['error']" "$B/api/search?person=99999"
web "GET /api/search?person=abc: 400" 400 "'person' in d['error']" "$B/api/search?person=abc"
web "GET /api/search with neither q nor person: 400" 400 "'q' in d['error']" "$B/api/search?year=2017"

# a library without people (indexed without the face model), for the page without a strip
mkdir -p "$TMP/nofaces"
cp "$L/sky.png" "$L/sample2.jpg" "$TMP/nofaces/"
$PS index "$TMP/nofaces" --db "$TMP/nofaces.db" --image-model "$CLIP" --faces off >/dev/null 2>&1
$PS serve --db "$TMP/nofaces.db" --port 0 --port-file "$TMP/port2" --text-model "$CLIP" 2>"$TMP/serve2.err" &
for _ in $(seq 100); do [ -s "$TMP/port2" ] && break; sleep 0.05; done
B2="http://127.0.0.1:$(cat "$TMP/port2")"
web "GET /api/media/ID/faces in a library indexed without faces: an empty list" 200 "d['faces'] == []" "$B2/api/media/1/faces"

mkdir -p tests/out/browser-people
browser_test "the browser people test" test_people.mjs "$B" tests/out/browser-people "$PS" "$DB" "$B2"
done_testing
