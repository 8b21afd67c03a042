#!/usr/bin/env bash
# People on the PostgreSQL store (PGlite with pgvector, tests/pg): face-api's demo photos and variants indexed with
# faces on into a SQLite file and, through a worker's catalog, into PostgreSQL give the same people, counts, photos
# and searches by person; a re-run changes nothing; names survive a changed file, a move and new photos on both;
# name, merge, unassign, split and recluster (each store's own ids) leave both alike; the server's people API
# answers from PostgreSQL; an older PostgreSQL library and catalog gain faces in place; migrate copies the faces with
# the SQLite file's people (names, merges, unassigned faces), and again without making any person twice; a Takeout
# library's sidecar names match --person on PostgreSQL as in its SQLite file.
source "$(dirname "$0")/lib.sh"
need /usr/bin/convert python3 psql node npm curl sqlite3
face_model
source tests/pg/pglite.sh
CLIP=$FIX/models/tiny-clip
DB=$TMP/lib.db
CAT=$TMP/cat.db
export PHOTOSEEK_MODELS=$TMP/no-models
cv=/usr/bin/convert
L=$TMP/photos
export L
bash tests/faces/make_inputs.sh "$CACHE/demo" "$L"
$cv "$L/sample1.jpg" -crop 500x520+680+270 +repage "$L/face_crop.png"
$cv "$L/face_crop.png" -flop "$L/face_mirror.png"
$cv "$L/face_crop.png" -resize 60% "$L/face_small.png"
$cv -size 640x480 xc:skyblue "$L/sky.png"
# a day apart each: "newest first" is one order on both stores
DAY=0
stamp() { local f; for f in "$@"; do DAY=$((DAY + 1)); touch -d "@$((1609459200 + DAY * 86400))" "$f"; done; }
stamp $(find "$L" -type f | sort)

PORT=$(free_port)
# several clients: the server's readers beside its edits (one at a time here)
export PGLITE_CONNECTIONS=8
if start_pglite "$PORT"; then pass "PGlite with pgvector starts"; else fail "PGlite with pgvector starts" "$(tail -3 "$TMP/pglite.log")"; fi
URL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable&connect_timeout=5"

# index_both ARGS...: the folder into the SQLite file and into PostgreSQL (one decoding thread each: the faces come
# in one order, which the grouping follows)
index_both() {
    $PS index "$L" --db "$DB" --image-model "$CLIP" --faces-model "$FM" --jobs 1 --json "$@" >"$TMP/sq.json" 2>"$TMP/sq.err"
    $PS index "$L" --store "$URL" --catalog "$CAT" --image-model "$CLIP" --faces-model "$FM" --jobs 1 --json "$@" \
        >"$TMP/pg.json" 2>"$TMP/pg.err"
}
# runs_alike NAME PYTHON-CHECK: both runs' JSON (s, p) pass the check and count the same files and faces
runs_alike() {
    check "$1" python3 -c "
import json; s, p = json.load(open('$TMP/sq.json')), json.load(open('$TMP/pg.json'))
for k in ('indexed', 'moved', 'faces', 'face_scanned'): assert s[k] == p[k], (k, s, p)
assert $2, (s, p)"
}
same() { local name=$1; shift; check "$name" python3 tests/pg/same.py "$PS" "$DB" "$URL" --no-ids "$@"; }
same_people() { check "$1" python3 tests/pg/people.py "$PS" "$DB" "$URL" "$L" same; }
on() { python3 tests/pg/people.py "$PS" "$1" "$L" "${@:2}"; } # on DB at|face FILE X

index_both --faces on
runs_alike "index --faces on into PostgreSQL: the same files and faces as into SQLite" "p['faces'] >= 40 and p['pushed'] == p['indexed'] == 16"
same_people "the same faces grouped into the same people"
same "people --json: the same people, counts and covers in the same order" people
same "people --min-faces 1 --json" people --min-faces 1
same "people with a filter (--year): counted in those photos only" people --min-faces 1 --year 2016
check "status: the same faces and people" python3 - "$PS" "$DB" "$URL" <<'PY'
import json, subprocess, sys
ps, db, url = sys.argv[1:]
a, b = (json.loads(subprocess.run([ps, "status", "--db", d, "--json"], capture_output=True, text=True).stdout) for d in (db, url))
assert a["faces"] == b["faces"] > 0 and a["people"] == b["people"] > 0, (a, b)
PY
check "the faces are in photoseek_faces as vector(128)" sh -c "
psql '$URL' -Atc \"SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'photoseek_faces'::regclass AND attname = 'descriptor'\" | grep -qx 'vector(128)'"

# names, by each store's own ids
ANNA_S=$(on "$DB" at sample1.jpg 900) ANNA_P=$(on "$URL" at sample1.jpg 900)
BOB_S=$(on "$DB" at sample1.jpg 1550) BOB_P=$(on "$URL" at sample1.jpg 1550)
check "people name ID NAME on both" sh -c "$PS people name $ANNA_S Anna --db '$DB' && $PS people name $BOB_S Bob --db '$DB' &&
$PS people name $ANNA_P Anna --db '$URL' && $PS people name $BOB_P Bob --db '$URL'"
# a person in one photo only, which moves below
CLEO_S=$(on "$DB" at sample5.jpg 800) CLEO_P=$(on "$URL" at sample5.jpg 800)
check "people name: a person of one photo" sh -c "$PS people name $CLEO_S Cleo --db '$DB' && $PS people name $CLEO_P Cleo --db '$URL'"
same_people "people name ID NAME on both: the same named people"
expect_status "PostgreSQL: a name another person has is refused (exit 2)" 2 $PS people name "$BOB_P" anna --db "$URL"
check "... saying which person has it" grep -q "person $ANNA_P" "$TMP/err"
expect_status "PostgreSQL: people name with no such person (exit 2)" 2 $PS people name 99999 Zed --db "$URL"
expect_status "PostgreSQL: people --photos of no such person (exit 2)" 2 $PS people --photos 99999 --db "$URL"
check "people --photos ID on PostgreSQL lists Anna's photos as SQLite does" python3 - "$PS" "$DB" "$URL" "$ANNA_S" "$ANNA_P" <<'PY'
import json, subprocess, sys
ps, db, url, a, b = sys.argv[1:]
def photos(d, i):
    rows = [json.loads(l) for l in subprocess.run([ps, "people", "--photos", i, "--db", d, "--json"], capture_output=True, text=True).stdout.splitlines()]
    return [(r["path"], r["taken_at"], [(f["box"], f["frame_ms"], f["by_user"]) for f in r["faces"]]) for r in rows]
x, y = photos(db, a), photos(url, b)
assert x and x == y, (x, y)
PY

# a re-run: nothing again; then a changed file, a moved one and new photos
index_both
runs_alike "a second run looks at nothing again and pushes nothing" "p['indexed'] == 0 and p['face_scanned'] == 0 and p['pushed'] == 0"
$cv "$L/sample1.jpg" -evaluate multiply 1.03 -quality 92 "$TMP/s1.jpg" && mv "$TMP/s1.jpg" "$L/sample1.jpg"
mkdir -p "$L/moved" && mv "$L/face_crop.png" "$L/sample5.jpg" "$L/moved/"
$cv "$L/face_mirror.png" -crop 420x450+40+40 +repage -resize 80% "$L/face_new.png"
$cv "$CACHE/demo/sample3.jpg" -resize 70% "$L/sample3_small.jpg"
stamp "$L/sample1.jpg" "$L/face_new.png" "$L/sample3_small.jpg"
index_both
runs_alike "the third run: 3 indexed (changed, 2 new), 2 moved, on both" "p['indexed'] == 3 and p['moved'] == 2 and p['face_scanned'] == 3"
same_people "after a changed file, a move and new photos: the same people on both"
check "names survive on PostgreSQL: the changed, moved and new photos are Anna's" python3 - "$PS" "$URL" "$ANNA_P" <<'PY'
import json, os, subprocess, sys
ps, url, anna = sys.argv[1:]
rows = [json.loads(l) for l in subprocess.run([ps, "people", "--photos", anna, "--db", url, "--json"], capture_output=True, text=True).stdout.splitlines()]
got = {os.path.relpath(r["path"], os.environ["L"]) for r in rows}
assert {"sample1.jpg", "moved/face_crop.png", "face_new.png"} <= got and "face_crop.png" not in got, sorted(got)
people = [json.loads(l) for l in subprocess.run([ps, "people", "--db", url, "--json"], capture_output=True, text=True).stdout.splitlines()]
assert {"Anna", "Bob"} <= {p["name"] for p in people}, people
PY
check "a named person whose one photo moved keeps it (its faces follow the move on the server)" sh -c "
$PS people --photos $CLEO_P --db '$URL' --json | grep -q '/moved/sample5.jpg' && $PS people --db '$URL' --json | grep -q '\"Cleo\", \"photos\": 1'"

# searching by person
same "search --person NAME (any case), no words: newest first, saying who is in each" search --person anna -k 100
same "search --person A --person B: the photos with both" search --person Anna --person BOB -k 100
same "search WORDS --person NAME: ranked by the words" search people smiling --person Anna -k 5 --text-model "$CLIP"
same "search --person NAME with a filter" search --person Anna --from 2021-01-10 -k 100
expect_status "PostgreSQL: search --person with an unknown name is a usage error (exit 2)" 2 $PS search --person Ana --db "$URL"
check "... naming the close names" grep -q "'Ana'.*close: Anna" "$TMP/err"

# the user's fixes, each on both stores by their own ids
OTHER_S=$(on "$DB" at sample4.jpg 300) OTHER_P=$(on "$URL" at sample4.jpg 300)
check "people merge ID OTHER on both" sh -c "$PS people merge $ANNA_S $OTHER_S --db '$DB' && $PS people merge $ANNA_P $OTHER_P --db '$URL'"
same_people "... the same people after"
FACE_S=$(on "$DB" face sample4.jpg 300) FACE_P=$(on "$URL" face sample4.jpg 300)
check "people unassign FACE on both" sh -c "$PS people unassign $FACE_S --db '$DB' && $PS people unassign $FACE_P --db '$URL'"
same_people "... the same people after"
expect_status "PostgreSQL: unassign of no such face (exit 2)" 2 $PS people unassign 99999 --db "$URL"
v4_faces() {
    $PS people --photos "$2" --db "$1" --json | python3 -c "
import json, sys
print(*[f['id'] for l in sys.stdin for f in json.loads(l)['faces'] if '/v4_' in json.loads(l)['path']])"
}
SPLIT_S=$(v4_faces "$DB" "$ANNA_S") SPLIT_P=$(v4_faces "$URL" "$ANNA_P")
check "people split FACE... on both" sh -c "[ -n '$SPLIT_P' ] && $PS people split $SPLIT_S --db '$DB' && $PS people split $SPLIT_P --db '$URL'"
same_people "... the same people after"
check "people recluster on both" sh -c "$PS people recluster --db '$DB' && $PS people recluster --db '$URL'"
same_people "... the same people after, names kept"
same "people --json after the fixes" people --min-faces 1

# the server's people API on PostgreSQL
start_serve "$URL" "$CLIP"
check "GET /api/people from PostgreSQL: Anna with a face thumbnail" sh -c "curl -sf '$B/api/people' >'$TMP/people.json' &&
python3 -c \"import json; d=json.load(open('$TMP/people.json')); assert any(p['name'] == 'Anna' and p['thumb'].startswith('/api/faces/') for p in d['people']), d\""
THUMB=$(python3 -c "import json; print([p['thumb'] for p in json.load(open('$TMP/people.json'))['people'] if p['name'] == 'Anna'][0])" 2>/dev/null)
check "... GET /api/faces/ID/thumb: a JPEG of the face" sh -c "curl -sf '$B$THUMB' | head -c 3 | od -An -tx1 | grep -q 'ff d8 ff'"
check "... GET /api/people/ID/photos: Anna's photos with their faces" sh -c "curl -sf '$B/api/people/$ANNA_P/photos' |
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"photos\"] and all(p[\"faces\"] for p in d[\"photos\"]), d'"
check "... POST /api/people/ID/name renames" sh -c "curl -sf -X POST -H 'Content-Type: application/json' -d '{}' \
'$B/api/people/$ANNA_P/name?name=Anna%20B' | grep -q 'Anna B' && $PS people --db '$URL' --json | grep -q '\"Anna B\"'"
check "... GET /api/media/ID/faces: a photo's faces with their boxes and person" sh -c "curl -sf '$B/api/people/$ANNA_P/photos' >'$TMP/ap.json' &&
MID=\$(python3 -c 'import json; print(json.load(open(\"$TMP/ap.json\"))[\"photos\"][0][\"id\"])') &&
curl -sf '$B/api/media/'\$MID'/faces' | python3 -c 'import json,sys
d = json.load(sys.stdin); p = json.load(open(\"$TMP/ap.json\"))[\"photos\"][0]
want = {f[\"id\"] for f in p[\"faces\"]}; got = {f[\"id\"]: f for f in d[\"faces\"]}
assert want <= set(got) and all(len(got[i][\"box\"]) == 4 and got[i][\"person\"] == $ANNA_P for i in want), (want, d)'"
check "... GET /api/media/99999/faces: 404" sh -c "test \$(curl -s -o /dev/null -w '%{http_code}' '$B/api/media/99999/faces') = 404"
check "... GET /api/people/99999/photos: 404" sh -c "test \$(curl -s -o /dev/null -w '%{http_code}' '$B/api/people/99999/photos') = 404"
kill $SRV 2>/dev/null
wait $SRV 2>/dev/null
$PS people name "$ANNA_P" Anna --db "$URL" >/dev/null

# a PostgreSQL library and a catalog from before faces: the tables and the column come in place, and a run with
# faces on looks at every photo again and pushes them with their faces
psql "$URL" -qc 'DROP TABLE photoseek_face_scans, photoseek_faces, photoseek_people' 2>"$TMP/drop.err"
sqlite3 "$CAT" 'ALTER TABLE pg_pushed DROP COLUMN faces; DELETE FROM face_scans; DELETE FROM faces; DELETE FROM people'
$PS index "$L" --store "$URL" --catalog "$CAT" --image-model "$CLIP" --faces-model "$FM" --jobs 1 --json >"$TMP/up.json" 2>"$TMP/up.err"
check "an older library gains the people tables and its photos' faces" python3 - "$TMP/up.json" "$PS" "$DB" "$URL" <<'PY'
import json, subprocess, sys
up, ps, db, url = sys.argv[1:]
r = json.load(open(up))
a, b = (json.loads(subprocess.run([ps, "status", "--db", d, "--json"], capture_output=True, text=True).stdout) for d in (db, url))
assert r["indexed"] == 0 and r["face_scanned"] == r["pushed"] == a["photos"] and a["faces"] == b["faces"] and b["people"] > 0, (r, a, b)
PY
check "... and the catalog its column" sh -c "sqlite3 '$CAT' \"SELECT count(*) FROM pragma_table_info('pg_pushed') WHERE name = 'faces'\" | grep -qx 1"

# migrate copies the faces with the file's people: made there, named, merged and unassigned as in the file. First
# some fixes in the SQLite file only: two people named, one merged into another, one face unassigned
read -r DORA_S EVE_S MERGED_S <<<"$(sqlite3 "$DB" "SELECT group_concat(id, ' ') FROM (SELECT p.id FROM people p JOIN faces f ON f.person_id = p.id WHERE p.name IS NULL GROUP BY p.id ORDER BY count(*) DESC, p.id LIMIT 3)")"
LOOSE_S=$(sqlite3 "$DB" "SELECT min(id) FROM faces WHERE person_id = $DORA_S")
check "SQLite only: two people named, one merged, one face unassigned" sh -c "[ -n '$MERGED_S' ] &&
$PS people name $DORA_S Dora --db '$DB' && $PS people name $EVE_S Eve --db '$DB' && $PS people merge $EVE_S $MERGED_S --db '$DB' &&
$PS people unassign $LOOSE_S --db '$DB'"
psql "$URL" -qc 'DROP TABLE photoseek_dup_groups, photoseek_meta, photoseek_face_scans, photoseek_faces, photoseek_people, photoseek_text, photoseek_vectors_1, photoseek_media, photoseek_models'
$PS migrate --from "$DB" --to "$URL" --json >"$TMP/mig.json" 2>"$TMP/mig.err"
check "migrate: every face copied, with the people carried" python3 - "$PS" "$DB" "$URL" "$TMP/mig.json" <<'PY'
import json, subprocess, sys
ps, db, url, mig = sys.argv[1:]
a, b = (json.loads(subprocess.run([ps, "status", "--db", d, "--json"], capture_output=True, text=True).stdout) for d in (db, url))
m = json.load(open(mig))
assert a["faces"] == b["faces"] > 0 and a["people"] == b["people"] > 0, (a, b)
assert m["people"] > 0 and m["faces_not_carried"] == 0 and m["names_not_carried"] == 0, m
PY
check "... nothing said about names or faces not carried" sh -c "! grep -q 'not carried' '$TMP/mig.err'"
same_people "migrate: the same people with the same faces and names as the SQLite file (its merges, splits, unassigned faces)"
same "migrate: people --json the same, in the same order" people --min-faces 1
# by_name DB: each named person's photos (people --photos ID --json), as {name: [paths]}
by_name() {
    python3 - "$PS" "$1" <<'PY'
import json, subprocess, sys
ps, db = sys.argv[1:]
run = lambda *a: [json.loads(l) for l in subprocess.run([ps, "people", "--db", db, "--json", *a], capture_output=True, text=True).stdout.splitlines()]
print(json.dumps({p["name"]: sorted(r["path"] for r in run("--photos", str(p["id"]))) for p in run("--min-faces", "1") if p["name"]}, sort_keys=True))
PY
}
by_name "$DB" >"$TMP/names_s.json"
by_name "$URL" >"$TMP/names_p.json"
check "migrate: each name's photos (people --photos ID) the same on both" sh -c "
grep -q Dora '$TMP/names_s.json' && grep -q Eve '$TMP/names_s.json' && cmp '$TMP/names_s.json' '$TMP/names_p.json'"
check "migrate: the unassigned face is in no person on PostgreSQL, placed by the user" sh -c "
test \"\$(psql '$URL' -Atc 'SELECT count(*) FROM photoseek_faces WHERE person_id IS NULL AND assigned = 1')\" = \"\$(sqlite3 '$DB' 'SELECT count(*) FROM faces WHERE person_id IS NULL AND assigned = 1')\""
# again: the named people are found by their names, no person twice
$PS migrate --from "$DB" --to "$URL" --json >"$TMP/mig2.json" 2>"$TMP/mig2.err"
check "migrate again: no person twice, every name kept" sh -c "
test \"\$(psql '$URL' -Atc 'SELECT count(*), count(name) FROM photoseek_people')\" = \"\$(sqlite3 '$DB' 'SELECT count(*), count(name) FROM people')\""
same_people "migrate again: the same people as the SQLite file"
same "migrate again: people --json the same" people --min-faces 1
# a name the server takes for another's (SQLite folds ASCII only; PostgreSQL's lower() folds more where its locale does)
if [ "$(psql "$URL" -Atc "SELECT lower('ZOË') = lower('Zoë')")" = t ]; then
    sqlite3 "$DB" "INSERT INTO people(name, created_at) VALUES ('Zoë', 0), ('ZOË', 0)"
    $PS migrate --from "$DB" --to "$URL" --json >"$TMP/mig3.json" 2>"$TMP/mig3.err"
    check "migrate: a name the server cannot take is said, not lost silently" sh -c "
    grep -q 'warning: 1 name was not carried.*ZOË' '$TMP/mig3.err' && grep -q '\"names_not_carried\": 1' '$TMP/mig3.json'"
    sqlite3 "$DB" "DELETE FROM people WHERE name IN ('Zoë', 'ZOË')"
else
    skip "migrate: a name the server cannot take" "this server's lower() folds ASCII only (as SQLite): no such name"
fi
# Takeout's names (a sidecar's "people"): --person finds them on PostgreSQL as in the SQLite file, after migrate
TG="$TMP/takeout/Takeout/Google Photos/Photos from 2020"
mkdir -p "$TG"
cp "$CACHE/demo/sample2.jpg" "$TG/grandpa.jpg" && cp "$CACHE/demo/sample3.jpg" "$TG/party.jpg" && cp "$L/sky.png" "$TG/sky.png"
printf '{"title": "grandpa.jpg", "photoTakenTime": {"timestamp": "1590000000"}, "people": [{"name": "Grandpa Joe"}]}' >"$TG/grandpa.jpg.json"
printf '{"title": "party.jpg", "photoTakenTime": {"timestamp": "1591000000"}, "people": [{"name": "Grandpa Joe"}, {"name": "Zoë"}]}' >"$TG/party.jpg.json"
printf '{"title": "sky.png", "photoTakenTime": {"timestamp": "1592000000"}, "people": []}' >"$TG/sky.png.json"
T=$TMP/takeout.db
$PS import takeout "$TMP/takeout" --into "$TMP/tlib" --db "$T" --image-model "$CLIP" --json >"$TMP/timp.json" 2>"$TMP/timp.err"
psql "$URL" -qc 'DROP TABLE photoseek_dup_groups, photoseek_meta, photoseek_face_scans, photoseek_faces, photoseek_people, photoseek_text, photoseek_vectors_1, photoseek_media, photoseek_models'
$PS migrate --from "$T" --to "$URL" --json >"$TMP/tmig.json" 2>"$TMP/tmig.err"
check "a Takeout library (sidecar names) migrated to PostgreSQL" sh -c "grep -q '\"media\": 3' '$TMP/tmig.json' && sqlite3 '$T' \"SELECT people FROM media WHERE path LIKE '%/party.jpg'\" | grep -q 'Grandpa Joe'"
tsame() { local name=$1; shift; check "$name" python3 tests/pg/same.py "$PS" "$T" "$URL" --no-ids "$@"; }
tsame "search --person TAKEOUT-NAME (any case), no words: the same photos on both" search --person "grandpa joe" -k 100
tsame "search --person with two Takeout names: the photo with both" search --person "Grandpa Joe" --person zoë -k 100
tsame "search WORDS --person TAKEOUT-NAME: the same ranking on both" search people --person "Grandpa Joe" -k 10 --text-model "$CLIP"
check "... two photos on PostgreSQL" sh -c "test \$($PS search --person 'Grandpa Joe' --db '$URL' --json | grep -c '\"path\"') = 2"
expect_status "PostgreSQL: a name close to a Takeout one is a usage error (exit 2)" 2 $PS search --person 'Grandpa Jo' --db "$URL"
check "... naming the Takeout name as close" grep -q "close: Grandpa Joe" "$TMP/err"
kill $PG_PID 2>/dev/null
wait $PG_PID 2>/dev/null
done_testing
