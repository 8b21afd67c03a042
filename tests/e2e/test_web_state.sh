#!/usr/bin/env bash
# The web page's state in its address (tests/browser/test_state.mjs in Chromium), and `serve --open QUERY`.
source "$(dirname "$0")/lib.sh"
M=$FIX/models/tiny-clip
export PHOTOSEEK_MODELS=$TMP/no-models
mkdir -p "$TMP/photos"
cp "$FIX"/images/*.jpg "$FIX"/images/*.png "$TMP/photos/"
$PS index "$TMP/photos" --db "$TMP/lib.db" --image-model "$M" >/dev/null 2>&1
# the "browser" that --open starts records the address it was given
printf '#!/bin/sh\necho "$1" >"%s/opened"\n' "$TMP" >"$TMP/browser"; chmod +x "$TMP/browser"
PHOTOSEEK_BROWSER="$TMP/browser" $PS serve --db "$TMP/lib.db" --port 0 --port-file "$TMP/port" --text-model "$M" \
    --open "donut cake & 雪" 2>"$TMP/serve.err" &
for _ in $(seq 100); do [ -s "$TMP/port" ] && [ -s "$TMP/opened" ] && break; sleep 0.05; done
B="http://127.0.0.1:$(cat "$TMP/port")"
check "serve --open starts the browser at that search" test "$(cat "$TMP/opened" 2>/dev/null)" = "$B/?q=donut%20cake%20%26%20%E9%9B%AA"
mkdir -p tests/out/browser-state
browser_test "the browser state test" test_state.mjs "$B" tests/out/browser-state
done_testing
