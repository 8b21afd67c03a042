#!/usr/bin/env bash
# photoseek serve answers searches concurrently (a pool of read handles): many searches at once, over fresh handles
# and the shared index file and text model, give exactly the answers the same searches give one at a time.
source "$(dirname "$0")/lib.sh"
M=$FIX/models/tiny-clip
export PHOTOSEEK_MODELS=$TMP/no-models
export PHOTOSEEK_PACK_CACHE=$TMP/pack PHOTOSEEK_PACK_CACHE_MIN=0 # the tiny model is cached too: the shared path
mkdir -p "$TMP/photos"
cp "$FIX"/images/*.jpg "$FIX"/images/*.png "$TMP/photos/"
$PS index "$TMP/photos" --db "$TMP/lib.db" --image-model "$M" >/dev/null 2>&1

$PS serve --db "$TMP/lib.db" --port 0 --port-file "$TMP/port" --text-model "$M" --threads 8 2>"$TMP/serve.err" &
SRV=$!

for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
B="http://127.0.0.1:$(cat "$TMP/port")"

QUERIES=(cat dog a+red+car beach "birthday+cake" snow flowers "a+person+smiling" night food city mountain)
# the answer without its timing
answer() { curl -sf "$B/api/search?q=$1&k=8" | python3 -c "import json, sys; d = json.load(sys.stdin); d.pop('took_ms'); print(json.dumps(d, sort_keys=True))"; }
for i in "${!QUERIES[@]}"; do answer "${QUERIES[$i]}" >"$TMP/seq.$i"; done
n_ok=$(grep -l '"count": [1-9]' "$TMP"/seq.* | wc -l)
if [ "$n_ok" = ${#QUERIES[@]} ]; then pass "12 sequential searches answer"; else fail "sequential searches" "$n_ok of ${#QUERIES[@]} answered"; fi
for round in 1 2 3; do
    pids=()
    for i in "${!QUERIES[@]}"; do
        answer "${QUERIES[$i]}" >"$TMP/par.$round.$i" &
        pids+=($!)
    done
    wait "${pids[@]}" || true
done
same=1
for round in 1 2 3; do
    for i in "${!QUERIES[@]}"; do
        cmp -s "$TMP/seq.$i" "$TMP/par.$round.$i" || { same=0; echo "    differs: ${QUERIES[$i]} (round $round)"; }
    done
done
if [ $same = 1 ]; then pass "36 concurrent searches give the sequential answers"; else fail "concurrent searches differ"; fi
check "the server is still up" curl -sf "$B/api/status"
check "the index file is written beside the library" ls "$TMP"/lib.db.model*.vindex
if type done_testing >/dev/null 2>&1; then done_testing; fi
