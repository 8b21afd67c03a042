#!/usr/bin/env bash
# photoseek serve against a stranger's web page: a foreign Host (DNS rebinding) is refused on every route,
# cross-origin and text/plain POSTs are refused, our own page still works, --token guards every API and media
# request and never reaches the log, the protective headers are there, CORS only with --cors. Then, in Chromium,
# a page from another local server under another name that rebinds to photoseek is refused, while the page itself
# searches, shows photos, plays a video and re-indexes.
source "$(dirname "$0")/lib.sh"
M=$FIX/models/tiny-clip
export PHOTOSEEK_MODELS=$TMP/no-models
mkdir -p "$TMP/photos"
cp "$FIX"/images/photo_*.jpg "$FIX/images/exif_orient6_640x480.jpg" "$TMP/photos/"
ffmpeg -v error -f lavfi -i "testsrc2=size=160x120:rate=10:duration=3" -pix_fmt yuv420p "$TMP/photos/clip.mp4"
$PS index "$TMP/photos" --db "$TMP/lib.db" --image-model "$M" >/dev/null 2>&1

# start_server NAME ARGS...: photoseek serve on a free port; sets PORT
start_server() {
    local name=$1; shift
    rm -f "$TMP/port-$name"
    $PS serve --db "$TMP/lib.db" --port 0 --port-file "$TMP/port-$name" --text-model "$M" "$@" 2>"$TMP/serve-$name.err" &
    for _ in $(seq 100); do [ -s "$TMP/port-$name" ] && break; sleep 0.05; done
    PORT=$(cat "$TMP/port-$name")
}

code() { curl -s -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' "$@"; }
status_is() { # status_is NAME WANT CURL-ARGS...
    local name=$1 want=$2; shift 2
    local got; got=$(code "$@")
    if [ "$got" = "$want" ]; then pass "$name"; else fail "$name" "HTTP $got, want $want" "$(head -c 300 "$TMP/body")"; fi
}
has_header() { # has_header NAME REGEX: the last response's headers match
    if grep -qiE "$2" "$TMP/headers"; then pass "$1"; else fail "$1" "$(tr -d '\r' <"$TMP/headers" | head -20)"; fi
}
lacks_header() {
    if grep -qiE "$2" "$TMP/headers"; then fail "$1" "$(grep -iE "$2" "$TMP/headers")"; else pass "$1"; fi
}

start_server plain
B="http://127.0.0.1:$PORT"
ID=$(curl -s "$B/api/search?q=cat&k=1" | python3 -c "import json,sys; print(json.load(sys.stdin)['results'][0]['id'])")
VID=$(sqlite3 "$TMP/lib.db" "SELECT id FROM media WHERE path LIKE '%clip.mp4'")
ROUTES=(/ /index.html /app.js /style.css /favicon.svg "/api/search?q=cat" "/api/similar?id=$ID" /api/facets /api/status
        "/api/media/$ID" "/api/media/$ID/thumb" "/api/media/$ID/file" /api/nothing /nothing)

# DNS rebinding: every route refuses a Host the server is not reachable as
for r in "${ROUTES[@]}"; do
    status_is "Host: attacker.test is refused on $r" 403 -H "Host: attacker.test:$PORT" "$B$r"
done
check "... with a reason that names the protection" grep -q "DNS rebinding" "$TMP/body"
status_is "a POST with a foreign Host is refused" 403 -X POST -H "Host: attacker.test:$PORT" -H "Content-Type: application/json" -d '{}' "$B/api/index"
status_is "a Host without the port is refused (port 80 is not ours)" 403 -H "Host: 127.0.0.1" "$B/api/status"
status_is "a Host with another port is refused" 403 -H "Host: 127.0.0.1:1" "$B/api/status"
status_is "a Host with user info is refused" 403 -H "Host: 127.0.0.1@attacker.test:$PORT" "$B/api/status"
status_is "an empty Host is refused" 403 -H "Host;" "$B/api/status"
status_is "HTTP/1.0 without a Host is refused" 403 --http1.0 -H "Host:" "$B/api/status"
status_is "Host 127.0.0.1:PORT is served" 200 "$B/api/status"
status_is "Host localhost:PORT is served" 200 -H "Host: localhost:$PORT" "$B/api/status"
status_is "Host LOCALHOST:PORT (any case) is served" 200 -H "Host: LOCALHOST:$PORT" "$B/api/status"
status_is "Host [::1]:PORT is served" 200 -H "Host: [::1]:$PORT" "$B/api/status"
check "refusals are logged without the query string" sh -c "grep -q 'refused GET /api/search from 127.0.0.1: 403' '$TMP/serve-plain.err' && ! grep -q 'q=cat' '$TMP/serve-plain.err'"

# cross-site requests
status_is "a text/plain POST (no preflight needed by a page) is refused" 415 -X POST -H "Content-Type: text/plain" -d x "$B/api/index"
status_is "a form POST is refused" 415 -X POST -d a=b "$B/api/index"
status_is "a JSON POST from another origin is refused" 403 -X POST -H "Origin: http://evil.example" -H "Content-Type: application/json" -d '{}' "$B/api/index"
status_is "a JSON POST with Origin: null is refused" 403 -X POST -H "Origin: null" -H "Content-Type: application/json" -d '{}' "$B/api/index"
status_is "a JSON POST from our own origin without the page's request token is refused" 403 -X POST -H "Origin: $B" -H "Content-Type: application/json" -d '{}' "$B/api/index"
status_is "a cross-site fetch of the API is refused" 403 -H "Sec-Fetch-Site: cross-site" "$B/api/status"
status_is "a same-site (other port) fetch of a photo is refused" 403 -H "Sec-Fetch-Site: same-site" "$B/api/media/$ID/file"
status_is "a same-origin fetch is served" 200 -H "Sec-Fetch-Site: same-origin" "$B/api/media/$ID/file"
status_is "a link from another site still opens the page" 200 -H "Sec-Fetch-Site: cross-site" -H "Sec-Fetch-Mode: navigate" "$B/?q=cake"
check "no index run was started by any of that" python3 -c "
import json, urllib.request
d = json.load(urllib.request.urlopen('$B/api/status')); assert d['indexing']['result'] == '' and not d['indexing']['running'], d"
CSRF=$(curl -s -D - -o /dev/null "$B/" | tr -d '\r' | sed -n 's/^Set-Cookie: psk_csrf=\([0-9a-f]*\);.*SameSite=Strict.*/\1/p')
check "the page sets this run's request token in a SameSite=Strict cookie" test ${#CSRF} = 64
status_is "a JSON POST from our own page with the token starts a run" 202 -X POST -H "Origin: $B" -H "Sec-Fetch-Site: same-origin" -H "Content-Type: application/json" -H "X-Photoseek-CSRF: $CSRF" -d '{}' "$B/api/index"
for _ in $(seq 100); do curl -s "$B/api/status" | grep -q '"running": false' && break; sleep 0.1; done
status_is "a JSON POST from a non-browser client (no Origin) is served" 202 -X POST -H "Content-Type: application/json; charset=utf-8" -d '{}' "$B/api/index"
for _ in $(seq 100); do curl -s "$B/api/status" | grep -q '"running": false' && break; sleep 0.1; done
status_is "a wrong request token is refused" 403 -X POST -H "Origin: http://localhost:$PORT" -H "Host: localhost:$PORT" -H "Content-Type: application/json" -H "X-Photoseek-CSRF: ${CSRF%?}$([ "${CSRF: -1}" = 0 ] && echo 1 || echo 0)" -d '{}' "$B/api/index"

# headers
code "$B/" >/dev/null
has_header "the page cannot be framed (X-Frame-Options)" '^X-Frame-Options: DENY'
has_header "... nor by CSP frame-ancestors" "^Content-Security-Policy:.*frame-ancestors 'none'"
lacks_header "no CORS header without --cors" '^Access-Control-Allow-Origin'
code -H "Origin: http://evil.example" "$B/api/search?q=cat" >/dev/null
lacks_header "... not even when another origin asks" '^Access-Control-Allow-Origin'
has_header "results are private to the browser's cache" '^Cache-Control: private'
code "$B/api/media/$ID/file" >/dev/null
has_header "an original is private to the browser's cache" '^Cache-Control: private'
code "$B/api/media/$ID/thumb" >/dev/null
has_header "a thumbnail is private to the browser's cache" '^Cache-Control: private'
has_header "no referrer leaves the page" '^Referrer-Policy: no-referrer'
status_is "an OPTIONS preflight without --cors is refused" 405 -X OPTIONS -H "Origin: http://evil.example" "$B/api/search"

# --allow-host and --cors
start_server named --allow-host photos.lan --cors https://photos.example.org
B3="http://127.0.0.1:$PORT"
status_is "--allow-host: the name is served (any port, behind a proxy)" 200 -H "Host: photos.lan" "$B3/api/status"
status_is "--allow-host: ... in any case" 200 -H "Host: Photos.LAN:8443" "$B3/api/status"
status_is "--allow-host: other names are still refused" 403 -H "Host: photos.lan.attacker.test" "$B3/api/status"
status_is "--cors: a preflight from that origin is answered" 204 -X OPTIONS -H "Origin: https://photos.example.org" -H "Access-Control-Request-Method: GET" "$B3/api/search"
status_is "--cors: that origin reads the API" 200 -H "Origin: https://photos.example.org" -H "Sec-Fetch-Site: cross-site" "$B3/api/search?q=cat"
has_header "... with Access-Control-Allow-Origin for it" '^Access-Control-Allow-Origin: https://photos.example.org'
status_is "--cors: another origin still cannot" 403 -H "Origin: https://other.example.org" -H "Sec-Fetch-Site: cross-site" "$B3/api/search?q=cat"
lacks_header "... and gets no CORS header" '^Access-Control-Allow-Origin'
expect_status "--allow-host with a port or scheme is a usage error" 2 $PS serve --db "$TMP/lib.db" --allow-host http://x
expect_status "--cors with a path is a usage error" 2 $PS serve --db "$TMP/lib.db" --cors https://a.example/x

# --token: nothing without it, everything with it, never in the log
TOKEN=tok-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
start_server token --token "$TOKEN"
B2="http://127.0.0.1:$PORT"
for r in "${ROUTES[@]:5}"; do
    status_is "--token: $r without the token is 401" 401 "$B2$r"
done
for r in "/api/search?q=cat" "/api/similar?id=$ID" /api/facets /api/status "/api/media/$ID" "/api/media/$ID/thumb" "/api/media/$ID/file"; do
    status_is "--token: $r with the bearer token is 200" 200 -H "Authorization: Bearer $TOKEN" "$B2$r"
done
status_is "--token: the token in an API URL is not accepted" 401 "$B2/api/status?token=$TOKEN"
status_is "--token: a wrong bearer token is 401" 401 -H "Authorization: Bearer ${TOKEN}x" "$B2/api/status"
status_is "--token: a prefix of the token is 401" 401 -H "Authorization: Bearer ${TOKEN:0:8}" "$B2/api/status"
status_is "--token: the page opened with ?token= redirects" 303 "$B2/?token=$TOKEN&q=cake"
has_header "... to the page without the token, keeping the search" '^Location: /\?q=cake\s*$'
has_header "... keeping it in an HttpOnly, SameSite=Strict cookie" "^Set-Cookie: psk_token=$TOKEN; HttpOnly; SameSite=Strict"
status_is "--token: a wrong ?token= on the page is 401" 401 "$B2/?token=wrong-token"
status_is "--token: the cookie opens the API" 200 -b "psk_token=$TOKEN" "$B2/api/media/$ID/file"
status_is "--token: a POST with the bearer token (an explicit credential) starts a run" 202 -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -d '{}' "$B2/api/index"
status_is "--token: a POST with the cookie alone from a browser needs the request token" 403 -X POST -b "psk_token=$TOKEN" -H "Origin: $B2" -H "Content-Type: application/json" -d '{}' "$B2/api/index"
status_is "--token: a foreign Host is refused before the token is looked at" 403 -H "Host: attacker.test:$PORT" -H "Authorization: Bearer $TOKEN" "$B2/api/status"
check "--token: the token never appears in the log" sh -c "grep -q 'refused' '$TMP/serve-token.err' && ! grep -qF '$TOKEN' '$TMP/serve-token.err'"

# Chromium: a rebinding page served by another local server, and our own page at work
mkdir -p tests/out/browser-security
browser_test "the browser security test" test_security.mjs "$B" "$ID" "$VID" tests/out/browser-security
done_testing
