#!/usr/bin/env bash
# Google Takeout import: archives built here from the fixture images with sidecars for every naming rule.
source "$(dirname "$0")/lib.sh"
need python3 sqlite3 tar /usr/bin/convert
M=$FIX/models/tiny-clip
export PHOTOSEEK_MODELS=$TMP/no-models
G="$TMP/export/Takeout/Google Photos"
mkdir -p "$G/Photos from 2018" "$G/Photos from 2019" "$G/Fotos von 2017" "$G/Summer Trip" "$G/Cats"
img() { cp "$FIX/images/$1" "$2"; }
side() { # side FILE TIMESTAMP LAT LON DESCRIPTION [PEOPLE-JSON]
    printf '{"title": "%s", "description": "%s", "photoTakenTime": {"timestamp": "%s", "formatted": "x"}, "geoData": {"latitude": %s, "longitude": %s, "altitude": 0.0}, "people": %s}\n' \
        "$(basename "$1" | sed -E 's/(\.supplemental-metadata)?(\([0-9]+\))?\.json$//; s/\.supplemental-me\.json$//')" "$5" "$2" "$3" "$4" "${6:-[]}" >"$1"
}
# name.ext.json, in a year folder and again in an album (one photo, two albums' worth of copies)
img photo_coffee.jpg "$G/Photos from 2018/coffee.jpg"
side "$G/Photos from 2018/coffee.jpg.json" 1530000000 48.8584 2.2945 "morning coffee" '[{"name": "Alice"}]'
img photo_coffee.jpg "$G/Summer Trip/coffee.jpg"
side "$G/Summer Trip/coffee.jpg.json" 1530000000 48.8584 2.2945 "morning coffee"
printf '{"title": "Summer Trip"}' >"$G/Summer Trip/metadata.json"
img photo_coffee.jpg "$G/Cats/coffee.jpg"
printf '{"title": "Cats & Coffee"}' >"$G/Cats/metadata.json"
# name.ext.supplemental-metadata.json (2024 exports)
img photo_rocket.jpg "$G/Photos from 2019/rocket.jpg"
side "$G/Photos from 2019/rocket.jpg.supplemental-metadata.json" 1560000000 28.5729 -80.6490 "launch day"
# a long name: the sidecar's name cut to 51 characters ("...supplemental-me.json")
long="a_phone_camera_photo_12345.jpg"
img photo_astronaut.jpg "$G/Photos from 2019/$long"
side "$G/Photos from 2019/a_phone_camera_photo_12345.jpg.supplemental-me.json" 1561000000 0.0 0.0 "astronaut"
# a name cut so that it ends in "..json"
cut="abcdefghijklmnopqrstuvwxyz_abcdefghijklmnopqr.png"
img gray_320x240.png "$G/Photos from 2019/$cut"
side "$G/Photos from 2019/abcdefghijklmnopqrstuvwxyz_abcdefghijklmnopqr..json" 1562000000 0.0 0.0 "grey"
# "(1)" duplicates: the index moves after the extension in the sidecar's name
img photo_chelsea.jpg "$G/Photos from 2019/cat(1).jpg"
side "$G/Photos from 2019/cat.jpg(1).json" 1563000000 51.5 -0.12 "second cat"
img small_50x30.png "$G/Photos from 2019/cat.jpg"
side "$G/Photos from 2019/cat.jpg.json" 1563500000 0.0 0.0 "first cat"
# an -edited copy shares the original's sidecar
img square_224.png "$G/Photos from 2019/square.png"
side "$G/Photos from 2019/square.png.json" 1564000000 0.0 0.0 "square"
/usr/bin/convert "$FIX/images/square_224.png" -negate "$G/Photos from 2019/square-edited.png"
# a missing sidecar, and a malformed one
img palette_200x200.png "$G/Photos from 2019/nosidecar.png"
img panorama_1000x40.png "$G/Photos from 2019/broken.png"
printf '{"title": "broken.png", "photoTakenTime": {' >"$G/Photos from 2019/broken.png.json"
# a localised year folder; the EXIF date wins over the sidecar's
img exif_orient6_640x480.jpg "$G/Fotos von 2017/exif.jpg"
side "$G/Fotos von 2017/exif.jpg.json" 1490000000 0.0 0.0 "exif date wins"

# multi-part export: a zip and a tgz, split between folders
(cd "$TMP/export" && zip -qr "$TMP/takeout-1.zip" "Takeout/Google Photos/Photos from 2018" "Takeout/Google Photos/Summer Trip" "Takeout/Google Photos/Cats" \
   && tar czf "$TMP/takeout-2.tgz" "Takeout/Google Photos/Photos from 2019" "Takeout/Google Photos/Fotos von 2017")

$PS import takeout "$TMP/takeout-1.zip" "$TMP/takeout-2.tgz" --into "$TMP/library" --db "$TMP/t.db" --image-model "$M" --json >"$TMP/run1.json" 2>"$TMP/run1.err"
status=$?
check "the import reports a problem (malformed sidecar) with exit code 1" test "$status" = 1
check "every photo lands once" python3 -c "
import json; r=json.load(open('$TMP/run1.json'))
assert r['found']==13 and r['imported']==11 and r['duplicates']==2 and r['indexed']==11, r
assert r['sidecars_bad']==1 and r['sidecars_missing']>=2, r"
check "the malformed sidecar is named in the report" grep -q "broken.png.json: malformed JSON" "$TMP/run1.err"
check "files are stored by year" sh -c "test -f '$TMP/library/2018/coffee.jpg' && test -f '$TMP/library/2019/rocket.jpg' && test -f '$TMP/library/undated/nosidecar.png'"
q() { sqlite3 "$TMP/t.db" "$1"; }
check "sidecar date, place, description and people" sh -c "test \"\$(sqlite3 '$TMP/t.db' \"SELECT taken_at, round(lat, 4), round(lon, 4), description, people FROM media WHERE path LIKE '%/coffee.jpg'\")\" = '1530000000|48.8584|2.2945|morning coffee|[\"Alice\"]'"
check "the same photo in three folders is stored once with its albums" sh -c "test \"\$(sqlite3 '$TMP/t.db' \"SELECT count(*), albums FROM media WHERE path LIKE '%coffee%'\")\" = '1|[\"Summer Trip\",\"Cats & Coffee\"]'"
check "supplemental-metadata sidecars" sh -c "test \"\$(sqlite3 '$TMP/t.db' \"SELECT taken_at, description FROM media WHERE path LIKE '%/rocket.jpg'\")\" = '1560000000|launch day'"
check "names cut to 51 characters (...supplemental-me.json)" sh -c "test \"\$(sqlite3 '$TMP/t.db' \"SELECT description, lat IS NULL FROM media WHERE path LIKE '%$long'\")\" = 'astronaut|1'"
check "names cut to ..json" sh -c "test \"\$(sqlite3 '$TMP/t.db' \"SELECT description FROM media WHERE path LIKE '%$cut'\")\" = 'grey'"
check "(1) duplicates find their own sidecar" sh -c "test \"\$(sqlite3 '$TMP/t.db' \"SELECT description FROM media WHERE path LIKE '%/cat(1).jpg'\")\" = 'second cat' && test \"\$(sqlite3 '$TMP/t.db' \"SELECT description FROM media WHERE path LIKE '%/cat.jpg'\")\" = 'first cat'"
check "-edited copies share the original's sidecar" sh -c "test \"\$(sqlite3 '$TMP/t.db' \"SELECT description, taken_at FROM media WHERE path LIKE '%/square-edited.png'\")\" = 'square|1564000000'"
check "the malformed sidecar's photo is imported with its file date" sh -c "test \"\$(sqlite3 '$TMP/t.db' \"SELECT taken_src, error IS NULL FROM media WHERE path LIKE '%/broken.png'\")\" = 'file|1'"
check "an EXIF date is never overridden by the sidecar" sh -c "test \"\$(sqlite3 '$TMP/t.db' \"SELECT taken_src, year, description FROM media WHERE path LIKE '%/exif.jpg'\")\" = 'exif|2019|exif date wins'"
check "searching with the year of a sidecar date finds it" sh -c "$PS search 'a rocket' --db '$TMP/t.db' --year 2018 --json | grep -q '/coffee.jpg'"

# importing again brings nothing twice; the extracted folder form works the same
$PS import takeout "$TMP/takeout-1.zip" "$TMP/takeout-2.tgz" --into "$TMP/library" --db "$TMP/t.db" --image-model "$M" --json >"$TMP/run2.json" 2>/dev/null
check "a second import of the same archives imports nothing" python3 -c "
import json; r=json.load(open('$TMP/run2.json')); assert r['imported']==0 and r['already_present']==11 and r['indexed']==0, r"
$PS import takeout "$TMP/export" --into "$TMP/library2" --db "$TMP/t2.db" --image-model "$M" --json >"$TMP/run3.json" 2>/dev/null
check "an extracted export imports the same" python3 -c "
import json; r=json.load(open('$TMP/run3.json')); assert r['imported']==11 and r['duplicates']==2, r"

# a damaged archive: a clear report, nothing lost from the good part
head -c $(($(stat -c %s "$TMP/takeout-2.tgz") * 2 / 3)) "$TMP/takeout-2.tgz" >"$TMP/damaged.tgz"
$PS import takeout "$TMP/damaged.tgz" --into "$TMP/library3" --db "$TMP/t3.db" --image-model "$M" --json >"$TMP/run4.json" 2>"$TMP/run4.err"
check "a damaged archive is reported" grep -q "damaged.tgz: archive damaged" "$TMP/run4.err"
check "... and what it held before the damage is imported" python3 -c "import json; r=json.load(open('$TMP/run4.json')); assert r['imported'] >= 1 and r['failed'] == 1, r"
printf 'not an archive' >"$TMP/junk.zip"
expect_status "something that is not an archive is fatal, with a message" 3 $PS import takeout "$TMP/junk.zip" --into "$TMP/library4" --db "$TMP/t4.db" --image-model "$M"
check "... naming the file" grep -q "junk.zip: not a readable archive" "$TMP/err"
done_testing
