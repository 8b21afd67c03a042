#!/usr/bin/env bash
# Places in a library, end to end: photos with GPS written here into EXIF (degrees-minutes-seconds, decimal
# degrees, malformed, out of range, 0,0) and into Takeout sidecars, around known cities and at sea. Every photo must
# get the place the GeoNames data says (library_expect.py computes it by brute force), and --near, --place and
# place words must select exactly the expected photos.
cd "$(dirname "$0")/../.." || exit 1
source tests/e2e/lib.sh
M=$FIX/models/tiny-clip
export PHOTOSEEK_MODELS=$TMP/no-models

source tests/places/lib.sh
places_tarball "places in a library"
$PS model fetch places --from "$TGZ" --dir "$TMP/places" 2>/dev/null || { fail "fetch places"; done_testing; }
P=$TMP/places
X="python3 tests/places/library_expect.py $P"

# the photos: EXIF ones in photos/, sidecar ones in a Takeout export
$X plan >"$TMP/plan.tsv"
/usr/bin/convert -size 64x48 xc:'rgb(200,120,40)' "$TMP/plain.jpg"
G="$TMP/export/Takeout/Google Photos/Photos from 2019"
mkdir -p "$TMP/photos" "$G"
while IFS=$'\t' read -r name kind lat lon style; do
    case $kind in
        exif) python3 tests/places/exif_gps.py "$TMP/plain.jpg" "$TMP/photos/$name.jpg" "$lat" "$lon" "$style" ;;
        none) cp "$TMP/plain.jpg" "$TMP/photos/$name.jpg" ;;
        sidecar) # each its own pixels: the importer keeps one copy of identical files
            n_side=$((${n_side:-0} + 1))
            /usr/bin/convert -size 64x48 "xc:rgb(40,$((n_side * 70)),200)" "$G/$name.jpg"
            printf '{"title": "%s.jpg", "photoTakenTime": {"timestamp": "1560000000"}, "geoData": {"latitude": %s, "longitude": %s, "altitude": 0.0}}\n' \
                "$name" "$lat" "$lon" >"$G/$name.jpg.json" ;;
    esac
done <"$TMP/plan.tsv"

# first without the places data: indexed all the same, with a message saying so
export PHOTOSEEK_PLACES=$TMP/no-places
$PS import takeout "$TMP/export" --into "$TMP/library" --db "$TMP/l.db" --image-model "$M" >/dev/null 2>"$TMP/err0"
$PS index "$TMP/photos" "$TMP/library" --db "$TMP/l.db" --image-model "$M" >/dev/null 2>"$TMP/err"
grep -q "no-places/cities.json: no places data (run 'photoseek model fetch places'); photos are indexed without place names" "$TMP/err" &&
    pass "without the places data, index says photos go without place names" || fail "no places message" "$(cat "$TMP/err")"
[ "$(sqlite3 "$TMP/l.db" "SELECT count(*) FROM media WHERE error IS NULL")" = 13 ] &&
    [ "$(sqlite3 "$TMP/l.db" "SELECT count(place_cc) FROM media")" = 0 ] && pass "... and indexes every photo, unnamed" ||
    fail "indexed without places" "$(sqlite3 "$TMP/l.db" "SELECT path, error, place_cc FROM media")"

# then with it: the next run names the places of the rows that have a position (an existing library)
export PHOTOSEEK_PLACES=$P
$PS index "$TMP/photos" "$TMP/library" --db "$TMP/l.db" --image-model "$M" >/dev/null 2>"$TMP/err"
grep -q "named the places of 7 photos" "$TMP/err" && pass "the next run names the places of the existing rows" ||
    fail "the next run names places" "$(cat "$TMP/err")"

# --all: the photos share one picture (plain.jpg), so by default they would show as one group of near-duplicates
S="$PS search photo --db $TMP/l.db --text-model $M -k 100 --json --all"
$S >"$TMP/all.jsonl" 2>/dev/null
check_lines "$($X check "$TMP/plan.tsv" "$TMP/all.jsonl" all)"

$S --near 35.0,135.75,10 >"$TMP/r.jsonl" 2>/dev/null
check_lines "$($X check "$TMP/plan.tsv" "$TMP/r.jsonl" near 35.0,135.75,10)"
$S --near=38.9,-9.0,100 >"$TMP/r.jsonl" 2>/dev/null
check_lines "$($X check "$TMP/plan.tsv" "$TMP/r.jsonl" near 38.9,-9.0,100)"
$S --near 0.1,0.1,50 >"$TMP/r.jsonl" 2>/dev/null # the 0,0 photo is a photo without a position
[ ! -s "$TMP/r.jsonl" ] && pass "--near next to 0,0 does not take a 0,0 position as one" || fail "--near 0,0" "$(cat "$TMP/r.jsonl")"
$S --near -10,-170,3000 >"$TMP/r.jsonl" 2>/dev/null # around the antimeridian: nothing there
[ ! -s "$TMP/r.jsonl" ] && pass "--near far from every photo selects none" || fail "--near far away" "$(cat "$TMP/r.jsonl")"
for name in Portugal 日本 Japon Schweiz Iceland; do
    cc=$(python3 -c "import sys; print({'Portugal':'PT','日本':'JP','Japon':'JP','Schweiz':'CH','Iceland':'IS'}[sys.argv[1]])" "$name")
    $S --place "$name" >"$TMP/r.jsonl" 2>/dev/null
    check_lines "$($X check "$TMP/plan.tsv" "$TMP/r.jsonl" country "$cc")"
done
city=$(python3 -c "import json,sys; [print(json.loads(l)['place']['city']) for l in open(sys.argv[1]) if '/kyoto.jpg' in l]" "$TMP/all.jsonl")
$S --place "$city" >"$TMP/r.jsonl" 2>/dev/null
check_lines "$($X check "$TMP/plan.tsv" "$TMP/r.jsonl" city "$city")"
expect_status "--place with an unknown name is a usage error" 2 $S --place "Qwxzzy Nowhere"

# place words: "portugal" in the query filters (and --json says so); --no-places keeps it a word
$PS search photo in portugal --db "$TMP/l.db" --text-model "$M" -k 100 --json --all >"$TMP/r.jsonl" 2>"$TMP/err"
check_lines "$($X check "$TMP/plan.tsv" "$TMP/r.jsonl" country PT)"
grep -q '"place_words": \["portugal"\]' "$TMP/r.jsonl" && grep -q "'portugal' taken as a place" "$TMP/err" &&
    pass "the words taken as places are said (--json place_words, stderr)" || fail "place words said" "$(head -2 "$TMP/r.jsonl")"
$PS search photo in portugal --db "$TMP/l.db" --text-model "$M" -k 100 --json --all --no-places >"$TMP/r.jsonl" 2>/dev/null
check_lines "$($X check "$TMP/plan.tsv" "$TMP/r.jsonl" every)"
$PS search photo in iran --db "$TMP/l.db" --text-model "$M" -k 100 --json --all >"$TMP/r.jsonl" 2>/dev/null
[ "$(wc -l <"$TMP/r.jsonl")" = 13 ] && ! grep -q place_words "$TMP/r.jsonl" &&
    pass "a place the library has no photos of stays a word" || fail "a place without photos" "$(wc -l <"$TMP/r.jsonl")"

# status: photos per country
want=$(python3 -c "
import json, sys
c = {}
for l in open(sys.argv[1]):
    p = json.loads(l)['place']
    if p: c[p['country_code']] = c.get(p['country_code'], 0) + 1
print(json.dumps(dict(sorted(c.items()))))" "$TMP/all.jsonl")
got=$($PS status --db "$TMP/l.db" --json | python3 -c "import json,sys; print(json.dumps(dict(sorted(json.load(sys.stdin)['countries'].items()))))")
[ "$got" = "$want" ] && [ "$got" != "{}" ] && pass "status counts photos per country ($got)" || fail "status countries" "$got vs $want"

# a changed file is named again
python3 tests/places/exif_gps.py "$TMP/plain.jpg" "$TMP/photos/nogps.jpg" 41.15 -8.61
touch -d '2020-01-01' "$TMP/photos/nogps.jpg"
$PS index "$TMP/photos" "$TMP/library" --db "$TMP/l.db" --image-model "$M" >/dev/null 2>&1
[ "$(sqlite3 "$TMP/l.db" "SELECT place_cc FROM media WHERE path LIKE '%/nogps.jpg'")" = PT ] &&
    pass "a photo given a position later gets its place" || fail "renamed after a change"

# PostgreSQL (PGlite + pgvector, as tests/e2e/test_postgres.sh runs it) and Pinecone (the stand-in of
# tests/e2e/pinecone_server.py): the positions and place names travel with migrate, and --near, --place, place words,
# the JSON "place", status countries and the places facet give the SQLite file's answers (Pinecone: --near as a
# bounding box in its metadata filter, then the exact distance; --place in its metadata filter).
cp "$TMP/l.db" "$TMP/broken.db" # a broken place row: a country code too long, no city, a region but no country name
sqlite3 "$TMP/broken.db" "UPDATE media SET place_cc = 'PTX', place_city = NULL, place_country = NULL WHERE path LIKE '%/nogps.jpg'"
if command -v node >/dev/null && [ -d tests/pg/node_modules/@electric-sql/pglite-socket ]; then
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    timeout 300 node tests/pg/pglite_server.mjs "$PORT" >"$TMP/pglite.log" 2>&1 &
    PG_PID=$!
    for _ in $(seq 150); do grep -q '^ready' "$TMP/pglite.log" && break; sleep 0.1; done
    URL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable&connect_timeout=5"
    check "migrate the library to PostgreSQL" $PS migrate --from "$TMP/l.db" --to "$URL"
    for near in 35.0,135.75,10 38.9,-9.0,100; do
        $PS search photo --store "$URL" --text-model "$M" -k 100 --json --near "$near" >"$TMP/r.jsonl" 2>/dev/null
        check_lines "$($X check "$TMP/plan.tsv" "$TMP/r.jsonl" near "$near" | sed 's/^\(ok  \|FAIL\) /&PostgreSQL /')"
    done
    same() { local name=$1; shift; check "PostgreSQL: $name" python3 tests/pg/same.py "$PS" "$TMP/l.db" "$URL" "$@"; }
    same "every photo with its gps and place as in SQLite" search photo --text-model "$M" -k 100
    for name in Portugal 日本 Japon Schweiz Iceland "$city"; do
        same "--place $name selects what SQLite selects" search photo --text-model "$M" -k 100 --place "$name"
    done
    same "--near and --place together" search photo --text-model "$M" -k 100 --place Portugal --near 38.9,-9.0,100
    same "place words in the query filter as in SQLite" search photo in portugal --text-model "$M" -k 100
    $PS search photo in portugal --store "$URL" --text-model "$M" -k 100 --json >"$TMP/r.jsonl" 2>"$TMP/err"
    grep -q '"place_words": \["portugal"\]' "$TMP/r.jsonl" && grep -q "'portugal' taken as a place" "$TMP/err" &&
        pass "PostgreSQL: the words taken as places are said" || fail "PostgreSQL: place words said" "$(head -2 "$TMP/r.jsonl")"
    same "--no-places keeps them words" search photo in portugal --text-model "$M" -k 100 --no-places
    check "PostgreSQL: status counts photos per country as SQLite" python3 - "$PS" "$TMP/l.db" "$URL" <<'PY'
import json, subprocess, sys
ps, db, url = sys.argv[1:]
a, b = (json.loads(subprocess.run([ps, "status", "--db", d, "--json"], capture_output=True, text=True).stdout) for d in (db, url))
assert a["countries"] and a["countries"] == b["countries"], (a["countries"], b["countries"])
PY
    check "PostgreSQL: every photo's place is stored as in SQLite (the places facet reads them)" python3 - "$TMP/l.db" "$URL" <<'PY'
import sqlite3, subprocess, sys
q = "SELECT path, place_city, place_region, place_country, place_cc FROM %s"
a = sorted((tuple(x or None for x in r) for r in sqlite3.connect(sys.argv[1]).execute(q % "media WHERE error IS NULL")), key=str)
out = subprocess.run(["psql", sys.argv[2], "-At", "-F", "\t", "-c", q % "photoseek_media"], capture_output=True, text=True).stdout
b = sorted((tuple(x or None for x in l.split("\t")) for l in out.splitlines()), key=str)
assert a == b and any(r[4] for r in a), (a, b)
PY
    # the broken place row is copied as it is and shown as SQLite shows it, never a crash
    psql "$URL" -qc 'DROP TABLE photoseek_text, photoseek_vectors_1, photoseek_media, photoseek_models' 2>/dev/null
    check "PostgreSQL: a library with a broken place row is copied" $PS migrate --from "$TMP/broken.db" --to "$URL"
    check "PostgreSQL: ... and answers as SQLite does" python3 tests/pg/same.py "$PS" "$TMP/broken.db" "$URL" search photo --text-model "$M" -k 100
    check "PostgreSQL: ... status too" sh -c "$PS status --db '$URL' --json | grep -q '\"PT\"'"
    kill $PG_PID 2>/dev/null
    wait $PG_PID 2>/dev/null
else
    skip "places on PostgreSQL (node or tests/pg's packages are missing: scripts/install-deps.sh, npm ci in tests/pg)"
fi

export PINECONE_API_KEY=test-key
DIM=$(python3 -c "import json; print(json.load(open('$M/config.json'))['projection_dim'])")
timeout 300 python3 tests/e2e/pinecone_server.py --port-file "$TMP/pc.port" --dimension "$DIM" &
PC_PID=$!
for _ in $(seq 100); do [ -s "$TMP/pc.port" ] && break; sleep 0.05; done
export PHOTOSEEK_TEST_PINECONE_URL="http://127.0.0.1:$(cat "$TMP/pc.port")"
STORE=pinecone://places-abc1234.svc.aped-4627-b74a.pinecone.io/trips
check "migrate the library to Pinecone" $PS migrate --from "$TMP/l.db" --to "$STORE"
pc_same() { local name=$1; shift; check "Pinecone: $name" python3 tests/pg/same.py "$PS" "$TMP/l.db" "$STORE" --keys gps,place,type "$@"; }
pc_same "every photo with its gps and place as in SQLite" search photo --text-model "$M" -k 100
for near in 35.0,135.75,10 38.9,-9.0,100; do
    pc_same "--near $near selects what SQLite selects" search photo --text-model "$M" -k 100 --near "$near"
    $PS search photo --store "$STORE" --text-model "$M" -k 100 --json --near "$near" >"$TMP/r.jsonl" 2>/dev/null
    check_lines "$($X check "$TMP/plan.tsv" "$TMP/r.jsonl" near "$near" | sed 's/^\(ok  \|FAIL\) /&Pinecone /')"
done
$PS search photo --store "$STORE" --text-model "$M" -k 100 --json --near -10,-170,3000 >"$TMP/r.jsonl" 2>/dev/null
[ ! -s "$TMP/r.jsonl" ] && pass "Pinecone: --near around the antimeridian selects none" || fail "Pinecone: --near far away" "$(cat "$TMP/r.jsonl")"
for name in Portugal 日本 "$city"; do
    pc_same "--place $name selects what SQLite selects" search photo --text-model "$M" -k 100 --place "$name"
done
check "Pinecone: --near reaches it as a bounding box on lat and lon, --place as place names" python3 - "$PHOTOSEEK_TEST_PINECONE_URL" <<'PY'
import json, sys, urllib.request
log = json.load(urllib.request.urlopen(sys.argv[1] + "/test/log"))
fs = [json.dumps(r["body"].get("filter")) for r in log if r["path"] == "/query"]
assert any('{"lat": {"$gte": ' in f and '{"lat": {"$lte": ' in f and '{"lon": {"$gte": ' in f and '{"lon": {"$lte": ' in f for f in fs), fs
assert any('{"place_cc": {"$eq": "PT"}}' in f for f in fs), fs
assert all(r["body"]["topK"] == 1000 for r in log if r["path"] == "/query" and '"lat"' in json.dumps(r["body"].get("filter"))), "more matches asked for"
PY
expect_status "Pinecone: text search is refused (exit 2)" 2 $PS search --text lisbon --store "$STORE"
grep -q "text search works on SQLite and PostgreSQL libraries.*a Pinecone library" "$TMP/err" && pass "Pinecone: ... saying where it works" ||
    fail "Pinecone: text search message" "$(cat "$TMP/err")"
expect_status "Pinecone: duplicates are refused (exit 2)" 2 $PS duplicates --db "$STORE"
grep -q "a Pinecone library" "$TMP/err" && pass "Pinecone: ... saying so" || fail "Pinecone: duplicates message" "$(cat "$TMP/err")"
kill $PC_PID 2>/dev/null
wait $PC_PID 2>/dev/null

done_testing
