#!/usr/bin/env bash
# Near-duplicates, text in photos and places on the command line, the API and the page (issues 15, 18, 19), on a
# small library made here: two photos with words (ImageMagick; one with a smaller copy), two photos with GPS in
# their EXIF (Kyoto, Lisbon),
# a fixture photo with a resized and a recompressed copy (one near-duplicate group), and two other fixture photos.
# Checks search's default collapse, --all and --json group/group_size, the API's collapse, group listing, words'
# boxes, place filter and facets, then tests/browser/test_features.mjs in Chromium.
source "$(dirname "$0")/lib.sh"
M=$FIX/models/tiny-clip
export PHOTOSEEK_MODELS=$TMP/no-models
TD=/usr/share/tesseract-ocr/5/tessdata
[ -x /usr/bin/convert ] && [ -s "$TD/eng.traineddata" ] || skip_rest "ImageMagick or Tesseract's eng data missing"
need ffmpeg curl python3
source tests/places/lib.sh
places_tarball
$PS model fetch places --from "$TGZ" --dir "$TMP/places" >/dev/null 2>&1 || { fail "fetch places"; done_testing; }
export PHOTOSEEK_PLACES=$TMP/places

L=$TMP/lib
mkdir -p "$L/dups" "$L/text" "$L/places" "$L/other"
ff() { ffmpeg -loglevel error -y "$@" </dev/null; }
# a group: an original and two copies
cp "$FIX/images/photo_coffee.jpg" "$L/dups/coffee.jpg"
ff -i "$FIX/images/photo_coffee.jpg" -vf "scale=iw/2:-2" -q:v 4 "$L/dups/coffee_half.jpg"
ff -i "$FIX/images/photo_coffee.jpg" -q:v 20 "$L/dups/coffee_q20.jpg"
# words: black on white, upright, the size of a phone screenshot
/usr/bin/convert -size 900x600 xc:white -font DejaVu-Sans -pointsize 64 -fill black \
    -annotate +80+200 'WIFI PASSWORD' -annotate +80+330 'sunflower42' "$L/text/wifi.png"
/usr/bin/convert -size 900x600 xc:'#fff3e0' -font DejaVu-Serif-Bold -pointsize 72 -fill '#0d47a1' \
    -annotate +120+320 'Costco Wholesale' "$L/text/receipt.png"
/usr/bin/convert "$L/text/wifi.png" -resize 70% -quality 85 "$L/text/wifi_copy.jpg" # a copy with the same words
# places: EXIF GPS near Kyoto and Lisbon, on two different pictures
python3 tests/places/exif_gps.py "$FIX/images/photo_chelsea.jpg" "$L/places/kyoto.jpg" 35.0116 135.7681
python3 tests/places/exif_gps.py "$FIX/images/photo_rocket.jpg" "$L/places/lisbon.jpg" 38.7223 -9.1393
cp "$FIX/images/photo_astronaut.jpg" "$FIX/images/portrait_480x640.jpg" "$L/other/"

if ! $PS index "$L" --db "$TMP/lib.db" --image-model "$M" --ocr on >"$TMP/index.out" 2>&1; then
    fail "index the test library" "$(tail -3 "$TMP/index.out")"
    done_testing
fi
S="$PS search --db $TMP/lib.db --text-model $M -k 100"

# the command line: collapsed by default, --all shows every member, --json says group and group_size
$S a photo --json >"$TMP/col.jsonl" 2>/dev/null
$S a photo --json --all >"$TMP/all.jsonl" 2>/dev/null
cat >"$TMP/collapse.py" <<'PY'
import json, os, sys
col = [json.loads(l) for l in open(sys.argv[1])]
every = [json.loads(l) for l in open(sys.argv[2])]
name = lambda r: os.path.basename(r["path"])
coffee = [r for r in col if name(r).startswith("coffee")]
assert len(every) == 10, f"--all lists every photo: {len(every)}"
assert len(col) == 7, f"collapsed: {len(col)} results, want 7"
assert len(coffee) == 1 and coffee[0]["group_size"] == 3 and coffee[0]["group"] > 0, coffee
assert sum(r.get("group_size", 1) for r in col) == len(every), "group sizes add up"
score = {r["path"]: r["score"] for r in every}
assert all(abs(score[r["path"]] - r["score"]) < 1e-6 for r in col), "a score changed"
assert not any("group" in r for r in every), "--all results carry no group"
print(coffee[0]["group"])
PY
if group=$(python3 "$TMP/collapse.py" "$TMP/col.jsonl" "$TMP/all.jsonl" 2>&1); then
    pass "search collapses the copies into one result with group_size 3; --all lists all 10"
else
    fail "search collapses by default, --all lists all" "$group"
fi
$S a photo >"$TMP/col.txt" 2>/dev/null
grep -q 'coffee.*\[+2 near-duplicates\]' "$TMP/col.txt" && pass "the text output says +2 near-duplicates" ||
    fail "the text output says +2 near-duplicates" "$(cat "$TMP/col.txt")"
$PS similar "$L/other/photo_astronaut.jpg" --db "$TMP/lib.db" -k 100 --json >"$TMP/sim.jsonl" 2>/dev/null
$PS similar "$L/other/photo_astronaut.jpg" --db "$TMP/lib.db" -k 100 --json --all >"$TMP/sim_all.jsonl" 2>/dev/null
[ "$(wc -l <"$TMP/sim.jsonl")" = 6 ] && [ "$(wc -l <"$TMP/sim_all.jsonl")" = 9 ] &&
    grep -q '"group_size": 3' "$TMP/sim.jsonl" && ! grep -q photo_astronaut "$TMP/sim.jsonl" &&
    pass "similar collapses too (6 results, 9 with --all, the photo itself left out)" ||
    fail "similar collapses" "$(wc -l <"$TMP/sim.jsonl") and $(wc -l <"$TMP/sim_all.jsonl") lines"
$PS similar "$L/dups/coffee.jpg" --db "$TMP/lib.db" -k 100 --json >"$TMP/sim2.jsonl" 2>/dev/null
grep -q 'coffee_.*"group_size": 3' "$TMP/sim2.jsonl" && ! grep -q '/coffee.jpg"' "$TMP/sim2.jsonl" &&
    pass "similar to a photo with copies: the photo is left out, its copies show as one result" ||
    fail "similar to a photo with copies" "$(head -3 "$TMP/sim2.jsonl")"
$S --text wifi --json >"$TMP/text.jsonl" 2>/dev/null
$S --text wifi --json --all >"$TMP/text_all.jsonl" 2>/dev/null
[ "$(wc -l <"$TMP/text.jsonl")" = 1 ] && grep -q '"group_size": 2' "$TMP/text.jsonl" && [ "$(wc -l <"$TMP/text_all.jsonl")" = 2 ] &&
    pass "search --text collapses the photo and its copy too (--all: both)" ||
    fail "search --text collapses" "$(cat "$TMP/text.jsonl" "$TMP/text_all.jsonl")"
$PS search --help | grep -q -- "--all  .*every near-duplicate" && pass "search --help explains --all" ||
    fail "search --help explains --all"

# the API
$PS serve --db "$TMP/lib.db" --port 0 --port-file "$TMP/port" --text-model "$M" 2>"$TMP/serve.err" &
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
B="http://127.0.0.1:$(cat "$TMP/port")"
J() { curl -s "$B$1"; }
api_py() { python3 -c "import json, sys; d = json.load(sys.stdin); $1"; }
J "/api/search?q=a+photo&k=100" | api_py 'assert d["count"] == 7 and any(r.get("group_size") == 3 for r in d["results"]), d["count"]' &&
    pass "/api/search collapses by default" || fail "/api/search collapses by default"
J "/api/search?q=a+photo&k=100&collapse=0" | api_py 'assert d["count"] == 10 and not any("group" in r for r in d["results"]), d["count"]' &&
    pass "/api/search?collapse=0 lists every member" || fail "/api/search?collapse=0 lists every member"
J "/api/duplicates?group=$group" | api_py '
assert d["count"] == 3, d
assert sorted(r["path"].rsplit("/", 1)[1] for r in d["results"]) == ["coffee.jpg", "coffee_half.jpg", "coffee_q20.jpg"], d
assert all(r["file"].startswith("/api/media/") for r in d["results"])' &&
    pass "/api/duplicates?group=N lists the group's members as results" || fail "/api/duplicates?group=N"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/duplicates?group=999999")" = 404 ] &&
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/duplicates?group=x")" = 400 ] &&
    pass "/api/duplicates?group=: an unknown group is a 404, a bad one a 400" || fail "/api/duplicates?group= errors"
J "/api/search?q=text:%22wifi%22" | api_py 'r = d["results"]; assert len(r) == 1 and "wifi" in r[0]["text"], d' &&
    pass "/api/search?q=text:\"wifi\" finds the photo and gives its text" || fail "text search through the API"
wifi=$(J "/api/search?q=text:%22wifi%22" | api_py 'print(d["results"][0]["id"])' 2>/dev/null)
J "/api/media/$wifi/text" | api_py '
w = {x["text"]: x["box"] for x in d["words"]}
assert d["width"] == 900 and d["height"] == 600, d
x, y, bw, bh = w["WIFI"]
assert 60 <= x <= 110 and 130 <= y <= 200 and bw > 80 and 30 <= bh <= 80, w
assert "sunflower42" in w, w' && pass "/api/media/ID/text gives the words and their boxes" ||
    fail "/api/media/ID/text" "$(J "/api/media/$wifi/text" | head -c 400)"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/media/999999/text")" = 404 ] && pass "/api/media/ID/text: no such item is a 404" ||
    fail "/api/media/ID/text: no such item is a 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$B/api/media/$wifi/text")" = 404 ] &&
    pass "/api/media/ID/text is GET only" || fail "/api/media/ID/text is GET only"
J "/api/facets" | api_py '
assert sorted(c["value"] for c in d["countries"]) == ["JP", "PT"], d["countries"]
assert any(p["value"].startswith("JP\t") for p in d["places"]), d["places"]' &&
    pass "/api/facets lists countries and places" || fail "/api/facets countries and places" "$(J /api/facets | head -c 300)"
J "/api/search?q=a+photo&country=JP" | api_py 'r = d["results"]; assert len(r) == 1 and r[0]["place"]["country_code"] == "JP" and r[0]["gps"], d' &&
    pass "/api/search?country=JP keeps the photo taken in Japan" || fail "/api/search?country=JP"
city=$(J "/api/facets" | api_py 'print([p["value"] for p in d["places"] if p["value"].startswith("PT")][0].replace("\t", "|"))')
J "/api/search?q=a+photo&place=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$city")" |
    api_py 'r = d["results"]; assert len(r) == 1 and r[0]["path"].endswith("lisbon.jpg"), d' &&
    pass "/api/search?place=CC|REGION|CITY keeps that city's photo" || fail "/api/search?place= ($city)"
for bad in "country=jp" "country=JP," "place=JP" "place=JPN|x|y"; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/search?q=a&$bad")" = 400 ] || fail "/api/search?$bad is a 400"
done
pass "bad country/place values are a 400"

mkdir -p tests/out/browser-features
browser_test "the browser features test" test_features.mjs "$B" tests/out/browser-features "$group"
done_testing
