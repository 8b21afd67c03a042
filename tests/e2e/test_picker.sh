#!/usr/bin/env bash
# import google-photos against a local stand-in for Google's OAuth and Picker endpoints.
source "$(dirname "$0")/lib.sh"
need python3 sqlite3 curl ffmpeg
M=$FIX/models/tiny-clip
export PHOTOSEEK_MODELS=$TMP/no-models XDG_CONFIG_HOME=$TMP/config PHOTOSEEK_TEST_RETRY_MS=50
ffmpeg -v error -y -loop 1 -t 2 -i "$FIX/images/photo_coffee.jpg" -vf "scale=320:240,setsar=1" -r 5 -pix_fmt yuv420p -c:v libx264 "$TMP/clip.mp4"

start() { # start NAME [server options...]
    local name=$1; shift
    python3 tests/e2e/picker_server.py --port-file "$TMP/$name.port" \
        --photo "$FIX/images/photo_chelsea.jpg" --photo "$FIX/images/photo_rocket.jpg" --photo "$FIX/images/photo_astronaut.jpg" \
        --photo "$FIX/images/exif_orient6_640x480.jpg" --video "$TMP/clip.mp4" "$@" &
    GS=$!
    for _ in $(seq 100); do [ -s "$TMP/$name.port" ] && break; sleep 0.05; done
    G="http://127.0.0.1:$(cat "$TMP/$name.port")"
    export PHOTOSEEK_TEST_GOOGLE_AUTH_URL=$G/o/oauth2/v2/auth PHOTOSEEK_TEST_GOOGLE_TOKEN_URL=$G/token PHOTOSEEK_TEST_GOOGLE_PICKER_URL=$G
}
stop() { kill $GS 2>/dev/null; wait $GS 2>/dev/null; }
# The user's part: open the sign-in link (the stand-in consents at once and redirects to our loopback).
consent() { # consent LOGFILE
    for _ in $(seq 200); do grep -q "oauth2/v2/auth" "$1" 2>/dev/null && break; sleep 0.05; done
    curl -s -L -o /dev/null "$(grep -o 'http://[^ ]*oauth2/v2/auth[^ ]*' "$1" | head -1)"
}
stats() { curl -s "$G/test/stats"; }

start g1 --expire-after 3 --flaky
$PS import google-photos --into "$TMP/picked" --db "$TMP/p.db" --image-model "$M" --client-id my-client.apps.googleusercontent.com \
    --client-secret s3cret --json >"$TMP/run1.json" 2>"$TMP/run1.err" &
pid=$!
consent "$TMP/run1.err"
wait $pid; st=$?
check "the picker import succeeds (sign-in, session, polling, pages, expired URLs, a 429)" test "$st" = 0
check "every picked item is downloaded once and indexed" python3 -c "
import json; r=json.load(open('$TMP/run1.json')); assert r['imported']==5 and r['indexed']==5 and r['complete'], r
s=json.load(open('/dev/stdin')); assert s['downloads']=={'p0':1,'p1':1,'p2':1,'p3':1,'v0':1}, s
assert s['generation']>=2, 'the expired URLs were listed again'
assert s['deleted']==['session-1'] and s['polls']>=2, s" <<<"$(stats)"
check "the sign-in printed both links" sh -c "grep -q 'Sign in to Google Photos' '$TMP/run1.err' && grep -q 'photos.google.com/picker/session-1' '$TMP/run1.err'"
check "photos land by year of createTime, videos too" sh -c "test -f '$TMP/picked/2020/photo_chelsea.jpg' && test -f '$TMP/picked/2021/clip.mp4'"
check "createTime and camera fill in what EXIF lacks; EXIF stays" sh -c "
test \"\$(sqlite3 '$TMP/p.db' \"SELECT taken_src, taken_at, make, model FROM media WHERE path LIKE '%photo_chelsea.jpg'\")\" = 'sidecar|1588327200|Pixel Maker|Pixel 9' &&
test \"\$(sqlite3 '$TMP/p.db' \"SELECT taken_src, year, make FROM media WHERE path LIKE '%exif_orient6_640x480.jpg'\")\" = 'exif|2019|TestMake'"
check "the picked video is indexed as a video" sh -c "test \"\$(sqlite3 '$TMP/p.db' \"SELECT type FROM media WHERE path LIKE '%clip.mp4'\")\" = 2"
check "tokens and the client are kept readable by the owner only" sh -c "test \$(stat -c %a '$TMP/config/photoseek/google-token.json') = 600 && test \$(stat -c %a '$TMP/config/photoseek/google-client.json') = 600"
check "no token was needed twice: one sign-in" python3 -c "import json,sys; s=json.loads(sys.argv[1]); assert s['token_grants']==['authorization_code'], s" "$(stats)"
stop

# A second run reuses the saved client and refreshes the token (this server issued no access token yet); a new
# pick of the same items lands nothing twice.
start g2
$PS import google-photos --into "$TMP/picked" --db "$TMP/p.db" --image-model "$M" --json >"$TMP/run2.json" 2>"$TMP/run2.err"
check "the second run needs no sign-in and downloads only new files" python3 -c "
import json, sys; r=json.load(open('$TMP/run2.json')); s=json.loads(sys.argv[1])
assert s['token_grants']==['refresh_token'] and s['unauthorized']>=1, s
assert r['complete'] and r['indexed']==0 and r['imported']==0 and r['already_present']==5, r
" "$(stats)"
stop

# Interrupted in the middle of a download: the next run continues the same session and downloads the rest once.
rm -rf "$TMP/picked3"
start g3 --slow p2
$PS import google-photos --into "$TMP/picked3" --db "$TMP/p3.db" --image-model "$M" >/dev/null 2>"$TMP/run3.err" &
pid=$!
for _ in $(seq 200); do python3 -c "import json,sys; s=json.loads(sys.argv[1]); sys.exit(0 if s['downloads'].get('p2') else 1)" "$(stats)" 2>/dev/null && break; sleep 0.05; done
kill -INT $pid; sleep 0.3; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
check "the interrupted run kept its session and the items it finished" sh -c "grep -q session-1 '$TMP/picked3/.photoseek-picker.json' && test -f '$TMP/picked3/2020/photo_chelsea.jpg'"
$PS import google-photos --into "$TMP/picked3" --db "$TMP/p3.db" --image-model "$M" --json >"$TMP/run4.json" 2>"$TMP/run4.err"
check "the resumed run finishes with the same session" python3 -c "
import json, sys; r=json.load(open('$TMP/run4.json')); s=json.loads(sys.argv[1])
assert r['complete'] and r['already_present']>=2, r
assert s['downloads']['p0']==1 and s['downloads']['p1']==1 and s['downloads']['v0']==1 and s['downloads']['p2']<=2, s
assert s['deleted']==['session-1'], s
" "$(stats)"
check "every item is in the library once" sh -c "test \$(sqlite3 '$TMP/p3.db' 'SELECT count(*) FROM media WHERE error IS NULL') = 5"
stop

# Tokens are never written to a file that others can read.
start g4
chmod 644 "$TMP/config/photoseek/google-token.json"
printf '{"access_token": "", "refresh_token": "rt-unknown", "expires_at": 0}' >"$TMP/config/photoseek/google-token.json"
$PS import google-photos --into "$TMP/picked4" --db "$TMP/p4.db" --image-model "$M" >/dev/null 2>"$TMP/run5.err" &
pid=$!
consent "$TMP/run5.err"
wait $pid; st=$?
check "a world-readable token file is refused" sh -c "test $st = 3 && grep -q 'readable by other users' '$TMP/run5.err'"
stop
expect_status "without an OAuth client the import is a usage error" 2 env XDG_CONFIG_HOME="$TMP/empty" $PS import google-photos --into "$TMP/x" --db "$TMP/x.db"
done_testing
