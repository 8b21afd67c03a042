#!/usr/bin/env bash
# The PostgreSQL store against real pgvector: PGlite with the pgvector extension, served over the PostgreSQL wire
# protocol (tests/pg). A SQLite library copied there with `migrate` answers every query, filter and video moment as
# the SQLite file does; copying again changes nothing; bad vectors get pgvector's own error; the server going away
# and coming back in the middle of a copy is survived.
source "$(dirname "$0")/lib.sh"
need python3 sqlite3 curl psql node npm /usr/bin/convert ffmpeg
M=$FIX/models/tiny-clip
DB=$TMP/lib.db
export PHOTOSEEK_MODELS=$TMP/no-models

source tests/pg/pglite.sh
PORT=$(free_port)
# (not inside `check`: PG_PID must be set in this shell, for the kills below)
if start_pglite "$PORT"; then pass "PGlite with pgvector starts"; else fail "PGlite with pgvector starts" "$(tail -3 "$TMP/pglite.log")"; fi
URL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable&connect_timeout=5"

# A library with dated photos (file times in 2021 and 2022, one EXIF date in 2019) and a video.
make_dated_tree "$TMP/photos"
$PS index "$TMP/photos" --db "$DB" --image-model "$M" --precision fp32 >/dev/null 2>&1
check "the SQLite library is indexed" sh -c "$PS status --db '$DB' --json | grep -q '\"videos\": 1'"

$PS migrate --from "$DB" --to "$URL" --json >"$TMP/m1.json" 2>"$TMP/m1.err"
check "migrate copies every indexed file and vector" python3 - "$TMP/m1.json" "$PS" "$DB" <<'PY'
import json, subprocess, sys
m = json.load(open(sys.argv[1]))
s = json.loads(subprocess.run([sys.argv[2], "status", "--db", sys.argv[3], "--json"], capture_output=True, text=True).stdout)
assert m["media"] == s["photos"] + s["videos"] and m["vectors"] == s["embeddings"], (m, s)
PY

# same_results NAME ARGS...: the PostgreSQL library gives the SQLite library's results (order, scores, fields);
# --all: SQLite collapses near-duplicates by default, a store without the groups cannot
same_results() {
    local name=$1; shift
    check "$name" python3 - "$PS" "$DB" "$URL" "$M" "$@" <<'PY'
import json, subprocess, sys
ps, db, url, model, *args = sys.argv[1:]
def run(where):
    flag = "--store" if where.startswith("postgres") else "--db"
    out = subprocess.run([ps, "search", *args, "--all", flag, where, "--text-model", model, "--json"], capture_output=True, text=True)
    return out.returncode, [json.loads(l) for l in out.stdout.splitlines()], out.stderr
ca, a, ea = run(db)
cb, b, eb = run(url)
assert ca == cb == 0 and a, (ca, cb, ea, eb)
assert len(a) == len(b), (len(a), len(b), eb)
for x, y in zip(a, b):
    assert abs(x["score"] - y["score"]) < 1e-4, (x, y)
    if x["path"] != y["path"]:  # a near-tie may swap
        assert any(abs(x["score"] - z["score"]) < 1e-4 and z["path"] == y["path"] for z in a), (x, y)
    else:
        for k in x:
            if k not in ("score", "id"):  # ids are each store's own
                assert x[k] == y[k], (k, x, y)
PY
}
same_results "a text query ranks as in SQLite" "a photo of a cat" -k 100
same_results "another text query ranks as in SQLite" "an astronaut in space" -k 10
same_results "query algebra ranks as in SQLite" '"a rocket" -"a cup of coffee"' -k 100
same_results "--year 2021 gives the same results" "a photo" --year 2021 -k 100
same_results "--year 2022 --month 7 gives the same results" "a photo" --year 2022 --month 7 -k 100
same_results "--year 2019 (EXIF) gives the same result" "a photo" --year 2019
same_results "--from/--to give the same results" "a photo" --from 2021-06-12 --to 2022-07-02 -k 100
same_results "--camera gives the same result" "a photo" --camera testmodel
same_results "--folder gives the same results" "a photo" --folder "$TMP/photos/2022" -k 100
same_results "--type video gives the video at the same moment" "a colourful test pattern" --type video
same_results "--all-moments lists the same moments" "a colourful test pattern" --type video --all-moments
same_results "--sort date gives the same order" "a photo" --sort date -k 5
same_results "--min-score keeps the same results" "a photo" --min-score 0.05 -k 100

expect_status "a filter that matches nothing exits 1 on PostgreSQL too" 1 $PS search photo --db "$URL" --year 1990 --text-model "$M"
$PS migrate --from "$DB" --to "$URL" --json >"$TMP/m2.json"
check "migrating again updates in place: nothing is duplicated" sh -c "
psql '$URL' -Atc 'SELECT count(*) FROM photoseek_media' | grep -qx \$(python3 -c 'import json; print(json.load(open(\"$TMP/m1.json\"))[\"media\"])') &&
psql '$URL' -Atc 'SELECT count(*) FROM photoseek_vectors_1' | grep -qx \$(python3 -c 'import json; print(json.load(open(\"$TMP/m1.json\"))[\"vectors\"])')"
check "the vector table has pgvector's HNSW index with the inner-product operator class" sh -c "
psql '$URL' -Atc \"SELECT indexdef FROM pg_indexes WHERE tablename = 'photoseek_vectors_1'\" | grep -q 'USING hnsw (embedding vector_ip_ops)'"
check "status on PostgreSQL counts what the SQLite library has" python3 - "$PS" "$DB" "$URL" <<'PY'
import json, subprocess, sys
ps, db, url = sys.argv[1:]
a, b = (json.loads(subprocess.run([ps, "status", "--db", d, "--json"], capture_output=True, text=True).stdout) for d in (db, url))
for k in ("photos", "videos", "embeddings", "model"):
    assert a[k] == b[k], (k, a[k], b[k])
assert b["db_bytes"] > 0, b
PY
expect_status "status --errors on PostgreSQL is refused clearly (the failures are in the workers' catalogs)" 3 $PS status --db "$URL" --errors
check "... naming what works" grep -q "works on a SQLite library only so far" "$TMP/err"
check "similar IMAGE gives the same results on PostgreSQL" python3 - "$PS" "$DB" "$URL" "$FIX/images/photo_chelsea.jpg" <<'PY'
import json, subprocess, sys
ps, db, url, img = sys.argv[1:]
a, b = ([json.loads(l) for l in subprocess.run([ps, "similar", img, "--db", d, "-k", "5", "--json", "--all"], capture_output=True,
        text=True).stdout.splitlines()] for d in (db, url))
assert len(a) == 5 and [x["path"] for x in a] == [y["path"] for y in b], (a, b)
assert all(abs(x["score"] - y["score"]) < 1e-4 for x, y in zip(a, b))
PY

# The server works unchanged on the PostgreSQL library: search, similar by id, an item, its thumbnail, facets.
start_serve "$URL" "$M"
check "the server answers a search from PostgreSQL" sh -c "curl -sf '$B/api/search?q=a+photo+of+a+cat&k=3' >'$TMP/s.json' &&
python3 -c \"import json; d=json.load(open('$TMP/s.json')); assert len(d['results'])==3, d\""
ID=$(python3 -c "import json; print(json.load(open('$TMP/s.json'))['results'][0]['id'])" 2>/dev/null)
check "... similar by id" sh -c "curl -sf '$B/api/similar?id=$ID&k=3' | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"results\"][0][\"id\"]==$ID, d'"
check "... an item and its thumbnail (a JPEG)" sh -c "curl -sf '$B/api/media/$ID' >/dev/null && curl -sf '$B/api/media/$ID/thumb' | head -c 3 | od -An -tx1 | grep -q 'ff d8 ff'"
check "... facets" sh -c "curl -sf '$B/api/facets' | python3 -c 'import json,sys; d=json.load(sys.stdin); assert any(y[\"value\"]==\"2021\" for y in d[\"years\"]), d'"
check "... and status" sh -c "curl -sf '$B/api/status' | grep -q '\"photos\"'"
kill $SRV 2>/dev/null
wait $SRV 2>/dev/null

# A vector with NaN is refused by pgvector; the message names the server and carries pgvector's words.
cp "$DB" "$TMP/nan.db"
python3 - "$TMP/nan.db" <<'PY'
import sqlite3, struct, sys
c = sqlite3.connect(sys.argv[1])
n = len(c.execute("SELECT vec FROM embeddings LIMIT 1").fetchone()[0]) // 4
c.execute("UPDATE embeddings SET vec = ? WHERE media_id = (SELECT id FROM media WHERE path LIKE '%square_224%')",
          (struct.pack("<%df" % n, *([float("nan")] * n)),))
c.commit()
PY
expect_status "a NaN vector makes migrate fail (exit 3)" 3 $PS migrate --from "$TMP/nan.db" --to "$URL"
check "... with pgvector's error and the server named" grep -q "127.0.0.1:$PORT.*NaN not allowed in vector" "$TMP/err"
check "... and the batch was rolled back: the library is as it was" sh -c "
psql '$URL' -Atc 'SELECT count(*) FROM photoseek_vectors_1' | grep -qx \$(python3 -c 'import json; print(json.load(open(\"$TMP/m1.json\"))[\"vectors\"])')"

expect_status "an unreachable server is a clear error (exit 3)" 3 $PS search photo --db "postgres://postgres@127.0.0.1:1/x?connect_timeout=2"
check "... saying it cannot connect" grep -q "127.0.0.1:1/x.*cannot connect" "$TMP/err"
expect_status "migrate to something that is not a postgres:// URL is refused" 3 $PS migrate --from "$DB" --to "$TMP/x.db"
expect_status "migrate without --to is a usage error" 2 $PS migrate --from "$DB"
# Indexing straight into PostgreSQL with two shard workers, one after the other: everything once, and the same
# answers as the SQLite library.
URL2="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable&connect_timeout=5"
psql "$URL" -qc 'DROP TABLE photoseek_dup_groups, photoseek_meta, photoseek_face_scans, photoseek_faces, photoseek_people, photoseek_text, photoseek_vectors_1, photoseek_media, photoseek_models' 2>/dev/null
for s in 1 2; do
    $PS index "$TMP/photos" --store "$URL" --shard $s/2 --catalog "$TMP/cat$s.db" --image-model "$M" --precision fp32 \
        --json >"$TMP/shard$s.json" 2>/dev/null
done
check "two shard workers index every file once between them" python3 - "$TMP" "$PS" "$DB" "$URL" <<'PY'
import json, subprocess, sys
tmp, ps, db, url = sys.argv[1:]
a, b = (json.load(open(f"{tmp}/shard{i}.json")) for i in (1, 2))
s = json.loads(subprocess.run([ps, "status", "--db", db, "--json"], capture_output=True, text=True).stdout)
assert a["indexed"] > 0 and b["indexed"] > 0, (a, b)
assert a["indexed"] + b["indexed"] == s["photos"] + s["videos"] == a["pushed"] + b["pushed"], (a, b, s)
n = subprocess.run(["psql", url, "-Atc", "SELECT count(*), count(DISTINCT path) FROM photoseek_media"],
                   capture_output=True, text=True).stdout.strip()
assert n == f"{a['pushed'] + b['pushed']}|{a['pushed'] + b['pushed']}", n
PY
same_results "the sharded PostgreSQL library ranks as the SQLite one" "a photo of a cat" -k 100
same_results "... and filters the same" "a photo" --year 2021 -k 100
$PS index "$TMP/photos" --store "$URL" --shard 1/2 --catalog "$TMP/cat1.db" --image-model "$M" --precision fp32 --json >"$TMP/again.json" 2>/dev/null
check "an unchanged tree embeds and pushes nothing" python3 -c "
import json; r=json.load(open('$TMP/again.json')); assert r['indexed']==0 and r['pushed']==0 and r['deleted']==0, r"
# one file deleted and one moved, whichever shards they are in
rm "$TMP/photos/photo_rocket.jpg"
mv "$TMP/photos/photo_coffee.jpg" "$TMP/photos/2022/coffee_moved.jpg"
for s in 1 2; do
    $PS index "$TMP/photos" --store "$URL" --shard $s/2 --catalog "$TMP/cat$s.db" --image-model "$M" --precision fp32 \
        --json >"$TMP/re$s.json" 2>/dev/null
done
check "deleted and moved files leave the server; the moved one is there at its new path" sh -c "
test -z \"\$(psql '$URL' -Atc \"SELECT path FROM photoseek_media WHERE path LIKE '%photo_rocket%' OR path LIKE '%/photo_coffee.jpg'\")\" &&
psql '$URL' -Atc \"SELECT count(*) FROM photoseek_media WHERE path LIKE '%/2022/coffee_moved.jpg'\" | grep -qx 1 &&
python3 -c \"
import json; a, b = (json.load(open('$TMP/re%d.json' % i)) for i in (1, 2))
assert a['deleted'] + b['deleted'] == 2 and a['pushed'] + b['pushed'] == 1, (a, b)\""
expect_status "--shard 3/2 is a usage error" 2 $PS index "$TMP/photos" --store "$URL" --shard 3/2 --image-model "$M"
expect_status "--shard on a SQLite library is a usage error" 2 $PS index "$TMP/photos" --db "$TMP/other.db" --shard 1/2 --image-model "$M"
kill $PG_PID 2>/dev/null
wait $PG_PID 2>/dev/null

# ---- Text in photos on PostgreSQL (issue 15): the text OCR read, copied by migrate and pushed by workers, is
# searched with pg_trgm and gives the SQLite file's answers (same photos in the same order, same snippets), for
# `search --text`, text:"..." in the query algebra and the JSON "text"; a server without pg_trgm says what to do.
TD=/usr/share/tesseract-ocr/5/tessdata
if [ -s "$TD/eng.traineddata" ] && [ -s "$TD/chi_sim.traineddata" ] &&
    bash tests/ocr/make_set.sh "$TMP/textset" 2 800 >"$TMP/make.log" 2>&1; then
    TDB=$TMP/text.db
    $PS index "$TMP/textset" --db "$TDB" --image-model "$M" --precision fp32 --ocr on >/dev/null 2>&1
    check "the SQLite library has the text of the text photos" sh -c "[ \$(sqlite3 '$TDB' 'SELECT count(*) FROM media_text') -ge 10 ]"
    PORT=$(free_port)
    start_pglite "$PORT" || fail "PGlite with pg_trgm starts" "$(tail -3 "$TMP/pglite.log")"
    TURL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable&connect_timeout=5"
    check "migrate copies the text in photos" sh -c "$PS migrate --from '$TDB' --to '$TURL' >/dev/null &&
        [ \"\$(psql '$TURL' -Atc 'SELECT count(*), sum(length(text)) FROM photoseek_text')\" = \"\$(sqlite3 '$TDB' 'SELECT count(*), sum(length(text)) FROM media_text')\" ]"
    check "... under pg_trgm's GIN index on the folded text" sh -c "
        psql '$TURL' -Atc \"SELECT indexdef FROM pg_indexes WHERE tablename = 'photoseek_text'\" | grep -q 'USING gin (folded gin_trgm_ops)'"
    same_text() { local name=$1; shift; check "$name" python3 tests/pg/same.py "$PS" "$TDB" "$TURL" "$@"; }
    text_cases() { # $1: what the library is
        same_text "$1: search --text finds the same photos, in the same order, with the same snippets" search --text sunflower42
        same_text "$1: ... whatever the case" search --text "COSTCO Wholesale"
        same_text "$1: ... across a line break" search --text "help wifi"
        same_text "$1: ... Chinese without the spaces OCR puts between characters" search --text 欢迎光临
        same_text "$1: ... two characters (shorter than a trigram)" search --text 快乐
        same_text "$1: ... a substring of a plate" search --text RE16
        same_text "$1: ... by date" search --text fresh --sort date
        same_text "$1: ... in a folder" search --text e --folder "$TMP/textset" -k 100
        same_text "$1: ... LIKE's wildcards taken literally (nothing has them)" --empty-ok search --text "50%_"
        same_text "$1: text:\"...\" alone in the query algebra" search 'text:"bakery"'
        same_text "$1: text:\"...\" beside a meaning: the same ranking and snippets" search 'a sign text:"fresh"' --text-model "$M"
        same_text "$1: ... with a filter" search 'a photo text:"e"' --text-model "$M" --type photo -k 100
    }
    text_cases "migrated"
    # a worker indexing straight into PostgreSQL pushes the text it read
    psql "$TURL" -qc 'DROP TABLE photoseek_dup_groups, photoseek_meta, photoseek_face_scans, photoseek_faces, photoseek_people, photoseek_text, photoseek_vectors_1, photoseek_media, photoseek_models' 2>/dev/null
    $PS index "$TMP/textset" --store "$TURL" --catalog "$TMP/textcat.db" --image-model "$M" --precision fp32 --ocr on \
        --json >"$TMP/textpush.json" 2>/dev/null
    check "a worker pushes the text it read" sh -c "
        [ \"\$(psql '$TURL' -Atc 'SELECT count(*) FROM photoseek_text')\" = \"\$(sqlite3 '$TDB' 'SELECT count(*) FROM media_text')\" ]"
    text_cases "pushed"
    # a changed photo's text follows it; a removed photo's text goes with its row
    /usr/bin/convert -size 640x200 xc:white -font DejaVu-Sans -pointsize 60 -fill black -annotate +20+120 "Zebra Crossing" \
        "$TMP/textset/notext_00.jpg"
    rm "$TMP/textset/photo_en_01.jpg"
    $PS index "$TMP/textset" --store "$TURL" --catalog "$TMP/textcat.db" --image-model "$M" --precision fp32 --ocr on >/dev/null 2>&1
    $PS index "$TMP/textset" --db "$TDB" --image-model "$M" --precision fp32 --ocr on >/dev/null 2>&1
    same_text "a changed photo's new text is found on both" search --text zebra
    same_text "a removed photo's text is gone from both" search --text costco
    check "... and no text row is left without its photo" sh -c "
        [ \"\$(psql '$TURL' -Atc 'SELECT count(*) FROM photoseek_text')\" = \"\$(sqlite3 '$TDB' 'SELECT count(*) FROM media_text')\" ]"
    kill $PG_PID 2>/dev/null
    wait $PG_PID 2>/dev/null

    # A server without pg_trgm, holding the tables of an older photoseek (no place or phash columns, no text table):
    # they are upgraded in place; a library without text is copied and searched; text says what to install.
    PORT=$(free_port)
    PGLITE_NO_TRGM=1 start_pglite "$PORT" || fail "PGlite without pg_trgm starts" "$(tail -3 "$TMP/pglite.log")"
    NURL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable&connect_timeout=5"
    psql "$NURL" -qc "CREATE EXTENSION vector; CREATE TABLE photoseek_models(id serial PRIMARY KEY, name text UNIQUE NOT NULL,
        dim int NOT NULL, dir text); CREATE TABLE photoseek_media(id bigserial PRIMARY KEY, path text UNIQUE NOT NULL,
        folder text NOT NULL, hash text, type int NOT NULL DEFAULT 1, width int, height int, taken_at bigint,
        offset_min int, taken_local text, year int, month int, day int, local_date int, make text, model text,
        lat double precision, lon double precision, duration_ms bigint, description text)" 2>/dev/null
    cp "$DB" "$TMP/notext.db" && sqlite3 "$TMP/notext.db" 'DELETE FROM media_text'
    check "an older library's tables are upgraded in place, and a library without text is copied" sh -c "
        $PS migrate --from '$TMP/notext.db' --to '$NURL' >/dev/null &&
        psql '$NURL' -Atc \"SELECT count(*) FROM information_schema.columns WHERE table_name = 'photoseek_media'
            AND column_name IN ('place_city', 'place_region', 'place_country', 'place_cc', 'phash')\" | grep -qx 5 &&
        psql '$NURL' -Atc 'SELECT count(*) FROM photoseek_text' | grep -qx 0"
    URL=$NURL DB=$TMP/notext.db same_results "... and searched as in SQLite" "a photo of a cat" -k 100
    expect_status "a library with text copied to a server without pg_trgm is refused (exit 3)" 3 $PS migrate --from "$TDB" --to "$NURL"
    check "... naming the extension and the command that installs it" grep -q "needs the pg_trgm extension.*CREATE EXTENSION pg_trgm" "$TMP/err"
    expect_status "search --text there is refused as a usage error (exit 2)" 2 $PS search --text cat --db "$NURL"
    check "... naming the extension and the command" grep -q "text search needs the pg_trgm extension.*CREATE EXTENSION pg_trgm" "$TMP/err"
    expect_status "so is text:\"...\" in a query" 2 $PS search 'a photo text:"cat"' --db "$NURL" --text-model "$M"
    check "... naming the extension" grep -q "pg_trgm" "$TMP/err"
    kill $PG_PID 2>/dev/null
    wait $PG_PID 2>/dev/null
else
    skip "text in photos on PostgreSQL (Tesseract's eng/chi_sim data or ImageMagick missing: scripts/install-deps.sh)"
fi

# ---- Near-duplicates on PostgreSQL (issue 18): the perceptual hashes and file sizes travel with migrate, and
# `duplicates` (candidate pairs from pgvector's nearest neighbours per photo, never all pairs) gives the SQLite
# file's groups, keepers and similarities on test_duplicates.sh's set; the stored groups are kept after each copy
# or push, incrementally, and collapse search and similar results as on the SQLite file.
if command -v ffmpeg >/dev/null && bash tests/e2e/make_dups_set.sh "$TMP/dupset" "$FIX" >"$TMP/dupset.log" 2>&1; then
    DDB=$TMP/dups.db
    $PS index "$TMP/dupset" --db "$DDB" --image-model "$M" --ocr off >/dev/null 2>&1
    PORT=$(free_port)
    start_pglite "$PORT" || fail "PGlite starts" "$(tail -3 "$TMP/pglite.log")"
    DURL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable&connect_timeout=5"
    check "migrate copies the perceptual hashes and sizes" sh -c "$PS migrate --from '$DDB' --to '$DURL' >/dev/null &&
        [ \"\$(psql '$DURL' -Atc 'SELECT count(phash), sum(phash % 1000), sum(size) FROM photoseek_media')\" = \
          \"\$(sqlite3 '$DDB' 'SELECT count(phash), sum(phash % 1000), (SELECT sum(size) FROM media WHERE error IS NULL) FROM phashes')\" ]"
    same_dups() { local name=$1; shift; check "$name" python3 tests/pg/same.py "$PS" "$DDB" "$DURL" duplicates "$@"; }
    same_dups "duplicates on PostgreSQL: the SQLite file's groups, keepers, reasons and similarities"
    same_dups "... at another --threshold" --threshold 0.96
    same_dups "... with a filter" --from 2020-01-03
    $PS duplicates --db "$DURL" --json >"$TMP/pgdups.jsonl" 2>/dev/null
    check "... the burst is a moment there too" grep -q '"kind": "same moment"' "$TMP/pgdups.jsonl"
    expect_status "duplicates with a bad --threshold is a usage error on PostgreSQL too" 2 $PS duplicates --db "$DURL" --threshold 7

    # The stored groups (photoseek_dup_groups) that collapse search results: migrate brings them up to date, and
    # they are the SQLite file's (members and keepers, by path).
    same_groups() { # NAME SQLITE URL
        check "$1" python3 - "$2" "$3" <<'PY'
import sqlite3, subprocess, sys
db, url = sys.argv[1:]
a = sqlite3.connect(db).execute("SELECT m.path, k.path FROM dup_groups d JOIN media m ON m.id = d.media_id"
                                " JOIN media k ON k.id = d.group_id").fetchall()
out = subprocess.run(["psql", url, "-AtF", "\t", "-c", "SELECT m.path, k.path FROM photoseek_dup_groups d JOIN"
                      " photoseek_media m ON m.id = d.media_id JOIN photoseek_media k ON k.id = d.group_id"],
                     capture_output=True, text=True, check=True).stdout
b = [tuple(l.split("\t")) for l in out.splitlines() if l]
assert a and sorted(a) == sorted(b), (len(a), len(b), set(a) ^ set(b))
PY
    }
    same_groups "migrate records the SQLite file's near-duplicate groups (members and keepers)" "$DDB" "$DURL"
    # same.py compares search and similar with --all and collapsed, each collapsed group's members through each
    # store's /api/duplicates?group=N
    same_col() { local name=$1; shift; check "$name" python3 tests/pg/same.py "$PS" "$DDB" "$DURL" "$@"; }
    same_col "collapsed search on PostgreSQL: the same groups at the same members, /api/duplicates?group= the same" \
        search "a photo" --text-model "$M" -k 100
    same_col "... with fewer results than groups" search "a photo of a cat" --text-model "$M" -k 3
    same_col "... with a filter" search "a photo" --text-model "$M" --from 2020-01-04 -k 100
    same_col "... similar IMAGE (its byte-identical copy and the original tie)" similar "$FIX/images/photo_chelsea.jpg" -k 5
    check "... and the results are collapsed there: each of the 7 groups once, with its size" python3 - "$PS" "$DURL" "$M" <<'PY'
import json, subprocess, sys
ps, url, m = sys.argv[1:]
rs = [json.loads(l) for l in subprocess.run([ps, "search", "a photo", "--db", url, "--text-model", m, "-k", "100", "--json"],
      capture_output=True, text=True).stdout.splitlines()]
assert len(rs) == 7 and sorted(r["group_size"] for r in rs) == [6] + [11] * 6, [(r["path"], r.get("group_size")) for r in rs]
PY
    kill $PG_PID 2>/dev/null
    wait $PG_PID 2>/dev/null

    # A worker indexing the set straight into PostgreSQL, then again after variants of a photo already there were
    # added (and the SQLite file indexed again): only the new photos look for partners, the stored groups are links
    # already made (a link planted in both stores before the second run stays), and the new copies join their
    # original's group in both.
    PORT=$(free_port)
    start_pglite "$PORT" || fail "PGlite starts" "$(tail -3 "$TMP/pglite.log")"
    DURL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable&connect_timeout=5"
    $PS index "$TMP/dupset" --store "$DURL" --catalog "$TMP/dupcat.db" --image-model "$M" --ocr off >/dev/null 2>&1
    same_groups "a worker's push records the same groups" "$DDB" "$DURL"
    same_col "... and search collapses them as SQLite does" search "a photo" --text-model "$M" -k 100
    d=$TMP/dupset/photo_coffee
    ffmpeg -loglevel error -y -i "$d/photo_coffee.jpg" -q:v 5 "$d/photo_coffee_q5.jpg" </dev/null
    ffmpeg -loglevel error -y -i "$d/photo_coffee.jpg" -vf scale=iw/3:-2 -q:v 4 "$d/photo_coffee_third.jpg" </dev/null
    ffmpeg -loglevel error -y -i "$d/photo_coffee.jpg" -vf hflip,vflip -q:v 3 "$d/photo_coffee_rot180.jpg" </dev/null
    h=20
    for v in "$d"/photo_coffee_q5.jpg "$d"/photo_coffee_third.jpg "$d"/photo_coffee_rot180.jpg; do
        touch -d "2020-01-04 00:00:00 UTC + $h hours" "$v"
        h=$((h + 1))
    done
    # the planted link: a region_b copy moved into the coffee group (a recomputation would put it back)
    sqlite3 "$DDB" "UPDATE dup_groups SET group_id = (SELECT group_id FROM dup_groups WHERE media_id = (SELECT id FROM
        media WHERE path LIKE '%/photo_coffee.jpg')) WHERE media_id = (SELECT id FROM media WHERE path LIKE '%/region_b_half.jpg')"
    psql "$DURL" -qc "UPDATE photoseek_dup_groups SET group_id = (SELECT group_id FROM photoseek_dup_groups WHERE
        media_id = (SELECT id FROM photoseek_media WHERE path LIKE '%/photo_coffee.jpg')) WHERE media_id = (SELECT id
        FROM photoseek_media WHERE path LIKE '%/region_b_half.jpg')"
    $PS index "$TMP/dupset" --db "$DDB" --image-model "$M" --ocr off >/dev/null 2>&1
    $PS index "$TMP/dupset" --store "$DURL" --catalog "$TMP/dupcat.db" --image-model "$M" --ocr off --json \
        >"$TMP/dupinc.json" 2>/dev/null
    check "the second run pushes the 3 new copies and records the largest id it looked at" sh -c "
        python3 -c \"import json; r = json.load(open('$TMP/dupinc.json')); assert r['pushed'] == 3, r\" &&
        [ \"\$(psql '$DURL' -Atc \"SELECT value FROM photoseek_meta WHERE key = 'dups_max_id'\")\" = \"\$(psql '$DURL' -Atc 'SELECT max(id) FROM photoseek_media')\" ]"
    same_groups "... the new copies join their original's group, the planted link stays: the SQLite file's groups" "$DDB" "$DURL"
    check "... (the coffee group has its 11, the 3 new copies and the planted one)" sh -c "
        [ \"\$(psql '$DURL' -Atc \"SELECT count(*) FROM photoseek_dup_groups WHERE group_id = (SELECT group_id FROM
            photoseek_dup_groups WHERE media_id = (SELECT id FROM photoseek_media WHERE path LIKE '%/photo_coffee_q5.jpg'))\")\" = 15 ]"
    same_col "... collapsed search after the second run" search "a photo" --text-model "$M" -k 100
    same_col "... similar to a new copy" similar "$d/photo_coffee_third.jpg" -k 100
    same_col "... search --text (no text here: nothing either side)" --empty-ok search --text coffee
    # a copy changed in place into a copy of another photo: it leaves the coffee group for the rocket's, on both
    ffmpeg -loglevel error -y -i "$TMP/dupset/photo_rocket/photo_rocket.jpg" -vf scale=iw/3:-2 -q:v 4 \
        "$d/photo_coffee_third.jpg" </dev/null
    touch -d "2020-01-09 00:00:00 UTC" "$d/photo_coffee_third.jpg"
    $PS index "$TMP/dupset" --db "$DDB" --image-model "$M" --ocr off >/dev/null 2>&1
    $PS index "$TMP/dupset" --store "$DURL" --catalog "$TMP/dupcat.db" --image-model "$M" --ocr off >/dev/null 2>&1
    check "a file changed in place leaves its group on PostgreSQL and joins its new original's" sh -c "
        [ \"\$(psql '$DURL' -Atc \"SELECT g.group_id = r.group_id FROM photoseek_dup_groups g, photoseek_dup_groups r WHERE
            g.media_id = (SELECT id FROM photoseek_media WHERE path LIKE '%/photo_coffee_third.jpg') AND r.media_id =
            (SELECT id FROM photoseek_media WHERE path LIKE '%/photo_rocket/photo_rocket.jpg')\")\" = t ] &&
        [ -z \"\$(psql '$DURL' -Atc \"SELECT value FROM photoseek_meta WHERE key = 'dups_redo'\")\" ]"
    same_groups "... the SQLite file's groups after the change" "$DDB" "$DURL"
    kill $PG_PID 2>/dev/null
    wait $PG_PID 2>/dev/null
else
    skip "near-duplicates on PostgreSQL (ffmpeg missing, or the set could not be made: $(tail -1 "$TMP/dupset.log" 2>/dev/null))"
fi

# The server stops and comes back (same data, same port) while a copy runs: migrate reconnects with backoff,
# repeats the batch it was in, and everything ends up there exactly once.
build/make_library "$TMP/big.db" 6000 "$M" >/dev/null 2>&1
mkdir -p "$TMP/pgdata"
PORT=$(free_port)
URL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable&connect_timeout=5"
start_pglite "$PORT" "$TMP/pgdata" || fail "PGlite with a data folder starts" "$(tail -3 "$TMP/pglite.log")"
$PS migrate --from "$TMP/big.db" --to "$URL" --json >"$TMP/m3.json" 2>"$TMP/m3.err" &
MIG=$!
sleep 2
kill $PG_PID; wait $PG_PID 2>/dev/null
sleep 1
start_pglite "$PORT" "$TMP/pgdata"
wait $MIG
check "a migrate during which the server restarts finishes (exit 0)" test $? = 0
check "... after reconnecting" python3 -c "
import json; m=json.load(open('$TMP/m3.json')); assert m['reconnects'] >= 1 and m['media'] == 6000, m"
check "... with every row there exactly once" sh -c "
psql '$URL' -Atc 'SELECT count(*), count(DISTINCT path) FROM photoseek_media' | grep -qx '6000|6000' &&
psql '$URL' -Atc 'SELECT count(*) FROM photoseek_vectors_1' | grep -qx 6000"
check "a search after the restart works" sh -c "$PS search photo --db '$URL' --text-model '$M' -k 3 | wc -l | grep -qx 3"
kill $PG_PID 2>/dev/null
wait $PG_PID 2>/dev/null

# Debian's PostgreSQL 15 (a real multi-process server) without pgvector: the message says what to install.
PGBIN=/usr/lib/postgresql/15/bin
if [ -x $PGBIN/initdb ]; then
    as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    mkdir -p "$TMP/pg15" && chmod 755 "$TMP" && { [ "$(id -u)" != 0 ] || chown postgres "$TMP/pg15"; }
    PORT=$(free_port)
    as_pg $PGBIN/initdb -D "$TMP/pg15/data" -A trust -U postgres >/dev/null 2>&1
    as_pg timeout 60 $PGBIN/pg_ctl -D "$TMP/pg15/data" -l "$TMP/pg15/log" -w \
        -o "-p $PORT -k $TMP/pg15 -c listen_addresses=127.0.0.1" start >/dev/null 2>&1
    # the server leaves this session (it runs as its own daemon): stopped at exit whatever happens
    at_exit "as_pg timeout 60 $PGBIN/pg_ctl -D '$TMP/pg15/data' -m immediate -w stop >/dev/null 2>&1"
    check "PostgreSQL 15 starts" sh -c "psql 'postgres://postgres@127.0.0.1:$PORT/postgres' -Atc 'SELECT 1' | grep -qx 1"
    expect_status "a server without pgvector is refused (exit 3)" 3 $PS migrate --from "$DB" --to "postgres://postgres@127.0.0.1:$PORT/postgres"
    check "... with a message saying what to install" grep -q "no pgvector extension: install it on the database server (Debian: apt-get install postgresql-15-pgvector" "$TMP/err"
    as_pg timeout 60 $PGBIN/pg_ctl -D "$TMP/pg15/data" -m fast -w stop >/dev/null 2>&1
else
    skip "PostgreSQL 15 is not installed (scripts/install-deps.sh installs it)"
fi
done_testing
