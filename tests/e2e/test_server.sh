#!/usr/bin/env bash
# photoseek serve: the JSON API over the fixture library, bad input, Range requests, only indexed files served,
# a token for other addresses, a background index run; then the page in headless Chromium.
source "$(dirname "$0")/lib.sh"
need python3 sqlite3 curl
M=$FIX/models/tiny-clip
export PHOTOSEEK_MODELS=$TMP/no-models
mkdir -p "$TMP/photos"
cp "$FIX"/images/*.jpg "$FIX"/images/*.png "$TMP/photos/"
cp "$FIX/images/photo_chelsea.jpg" "$TMP/not-indexed.jpg"
$PS index "$TMP/photos" --db "$TMP/lib.db" --image-model "$M" >/dev/null 2>&1

$PS serve --db "$TMP/lib.db" --port 0 --port-file "$TMP/port" --text-model "$M" 2>"$TMP/serve.err" &
SRV=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
B="http://127.0.0.1:$(cat "$TMP/port")"

get() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }
status_is() { # status_is NAME WANT CURL-ARGS...
    local name=$1 want=$2; shift 2
    local got; got=$(get "$@")
    if [ "$got" = "$want" ]; then pass "$name"; else fail "$name" "HTTP $got, want $want" "$(head -c 300 "$TMP/body")"; fi
}
json_check() { # json_check NAME PYTHON-EXPRESSION-ON-d
    check "$1" python3 -c "import json; d=json.load(open('$TMP/body')); assert $2, d"
}

status_is "GET / serves the page" 200 "$B/"
check "... which is the embedded HTML" grep -q '<title>photoseek</title>' "$TMP/body"
status_is "GET /app.js" 200 "$B/app.js"

status_is "search answers" 200 "$B/api/search?q=a+photo+of+a+cat&k=5"
json_check "... with the result fields" "d['count']==5 and all(set(r)>={'id','path','score','taken_at','type','width','height','camera','thumb','file'} for r in d['results'])"
json_check "... best first" "[r['score'] for r in d['results']]==sorted([r['score'] for r in d['results']], reverse=True)"
status_is "search with a year filter" 200 "$B/api/search?q=photo&year=2019"
json_check "... returns only the 2019 photo" "d['count']==1 and d['results'][0]['path'].endswith('exif_orient6_640x480.jpg') and d['results'][0]['camera']=='TestMake TestModel X1'"
ID=$(python3 -c "import json; print(json.load(open('$TMP/body'))['results'][0]['id'])")
status_is "filters: month, type, camera, folder, from/to, sort, min_score" 200 "$B/api/search?q=photo&month=7&type=photo&camera=testmake&folder=$TMP/photos&from=2019&to=2019-12-31&sort=date&min_score=-1"
json_check "... all applied" "d['count']==1"
status_is "similar by id" 200 "$B/api/similar?id=$ID&k=3"
json_check "... starts with the item itself" "d['results'][0]['id']==$ID and abs(d['results'][0]['score']-1)<1e-4"
status_is "media metadata" 200 "$B/api/media/$ID"
json_check "... is the item" "d['id']==$ID and d['width']==480 and d['height']==640 and d['taken_at']=='2019-07-04T18:30:00+02:00'"
status_is "a thumbnail" 200 "$B/api/media/$ID/thumb"
check "... is a JPEG no larger than 320 pixels, upright" python3 -c "
d=open('$TMP/body','rb').read(); assert d[:3]==b'\xff\xd8\xff'
import struct
i=2
while i < len(d):
    m=d[i+1]; l=struct.unpack('>H', d[i+2:i+4])[0]
    if m in (0xc0,0xc2): h,w=struct.unpack('>HH', d[i+5:i+9]); assert (w,h)==(240,320), (w,h); break
    i+=2+l"
status_is "the original" 200 "$B/api/media/$ID/file"
check "... byte for byte" cmp -s "$TMP/body" "$TMP/photos/exif_orient6_640x480.jpg"
status_is "a Range request" 206 -H "Range: bytes=100-199" "$B/api/media/$ID/file"
check "... gives exactly those bytes" bash -c "test \$(wc -c < '$TMP/body') = 100 && cmp -s '$TMP/body' <(tail -c +101 '$TMP/photos/exif_orient6_640x480.jpg' | head -c 100)"
status_is "an open-ended Range" 206 -H "Range: bytes=-10" "$B/api/media/$ID/file"
status_is "an unsatisfiable Range is 416" 416 -H "Range: bytes=99999999-" "$B/api/media/$ID/file"
status_is "facets" 200 "$B/api/facets"
json_check "... list the years, cameras and types present" "{'value':'2019','count':1} in d['years'] and d['cameras'][0]['value']=='TestMake TestModel X1' and d['types']==[{'value':'photo','count':17}]"
status_is "status" 200 "$B/api/status"
json_check "... counts the library" "d['photos']==17 and d['failed']==4 and d['indexing']['running']==False"

# bad input: a 400 (or 404) with a JSON error, and the server lives on
status_is "a non-numeric year is 400" 400 "$B/api/search?q=cat&year=abc"
json_check "... with a JSON error" "'year' in d['error']"
status_is "k=10^9 is 400" 400 "$B/api/search?q=cat&k=1000000000"
status_is "k=0 is 400" 400 "$B/api/search?q=cat&k=0"
status_is "a missing query is 400" 400 "$B/api/search"
status_is "an oversized query is 400" 400 "$B/api/search?q=$(head -c 3000 /dev/zero | tr '\0' a)"
status_is "invalid UTF-8 is 400" 400 "$B/api/search?q=%FF%FE"
status_is "an unclosed quote is 400" 400 "$B/api/search?q=%22cat"
status_is "bad dates are 400" 400 "$B/api/search?q=cat&from=2019-13"
status_is "a bad sort is 400" 400 "$B/api/search?q=cat&sort=random"
status_is "an unknown id is 404" 404 "$B/api/media/999999"
status_is "an unknown id's file is 404" 404 "$B/api/media/999999/file"
status_is "a failed file's row is not served" 404 "$B/api/media/$(sqlite3 "$TMP/lib.db" "SELECT id FROM media WHERE error IS NOT NULL LIMIT 1")/file"
status_is "../ in a path is 404" 404 --path-as-is "$B/api/media/../../etc/passwd"
status_is "../ after an id is 404" 404 --path-as-is "$B/api/media/1/../../../etc/passwd"
status_is "a path outside the assets is 404" 404 --path-as-is "$B/../../etc/passwd"
status_is "a negative id is 404" 404 "$B/api/media/-1/file"
status_is "GET on /api/index is 405" 405 "$B/api/index"
status_is "an unknown endpoint is 404" 404 "$B/api/nothing"
status_is "a huge header is refused" 431 -H "X-Big: $(head -c 100000 /dev/zero | tr '\0' a)" "$B/api/status"
check "only indexed files are served (never one by path)" sh -c "! curl -s '$B/api/media/file?path=$TMP/not-indexed.jpg' | grep -q JFIF"
status_is "the server survived all of that" 200 "$B/api/status"

# a background index run picks up a new photo
cp "$FIX/images/photo_chelsea.jpg" "$TMP/photos/new_cat.jpg"
status_is "POST /api/index starts a run" 202 -X POST -H "Content-Type: application/json" -d '{}' "$B/api/index"
for _ in $(seq 100); do curl -s "$B/api/status" | grep -q '"running": false' && break; sleep 0.1; done
status_is "status after the run" 200 "$B/api/status"
json_check "... reports it and counts the new photo" "d['indexing']['result'].startswith('1 indexed') and d['photos']==18"

# the page in Chromium ($PSK_CHROMIUM, else Debian's): a browser that is missing or cannot start is a failure
mkdir -p tests/out/browser
browser_test "the browser test" test_web.mjs "$B" tests/out/browser
kill $SRV; wait $SRV 2>/dev/null

# binding elsewhere needs a token; with one, requests without it are refused
expect_status "binding to 0.0.0.0 without --token is refused" 2 $PS serve --db "$TMP/lib.db" --bind 0.0.0.0 --port 0
$PS serve --db "$TMP/lib.db" --port 0 --port-file "$TMP/port2" --token s3cret-token 2>/dev/null &
SRV=$!
for _ in $(seq 100); do [ -s "$TMP/port2" ] && break; sleep 0.05; done
B2="http://127.0.0.1:$(cat "$TMP/port2")"
status_is "with --token, a request without it is 401" 401 "$B2/api/status"
status_is "... with the bearer header it is served" 200 -H "Authorization: Bearer s3cret-token" "$B2/api/status"
status_is "... and ?token= on the page sets a cookie and drops the token from the URL" 303 "$B2/?token=s3cret-token"
status_is "... a wrong token is 401" 401 -H "Authorization: Bearer wrong" "$B2/api/status"
done_testing
