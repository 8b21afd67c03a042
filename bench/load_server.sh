#!/usr/bin/env bash
# Load test of photoseek serve: wrk against /api/search on loopback over a synthetic-vector library (100k items by
# default), at 1, 4 and 64 connections, DURATION seconds each (default 8). Every request asks a query no other
# request asked (a word and a number unique to the wrk thread and request), so each one encodes its text: the
# server's query cache answers nothing. Prints wrk's numbers and a RESULT line with requests/s, p50/p99 latency and
# errors per level, the cores the server kept busy (its CPU time over the level's time: a level that leaves a core
# idle while requests wait is serialised somewhere), and speedup_c64 = requests/s at 64 connections over those at 1.
# usage: bench/load_server.sh [N]   (run from the repository root after make; needs wrk)
# The library and the model are kept in $CACHE (default /tmp/cold-cache, as bench/bench_cold.sh) between runs.
set -euo pipefail
PS=${PS:-build/photoseek} # PS=BINARY measures another build (e.g. one before the reader pool) the same way
N=${1:-100000}
DURATION=${DURATION:-8}
CACHE=${CACHE:-/tmp/cold-cache}
mkdir -p "$CACHE"
export PHOTOSEEK_PACK_CACHE=${PHOTOSEEK_PACK_CACHE-$CACHE/packed}
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/photoseek-load-XXXXXX")
SRV=
trap '[ -n "$SRV" ] && kill $SRV 2>/dev/null; rm -rf "$TMPD"' EXIT
CLIP=$CACHE/clip
[ -s "$CLIP/model.safetensors" ] || build/photoseek model synth --arch clip-vit-b-32 \
    --tokenizer-from ../shared/fixtures/models/tiny-clip --out "$CLIP"
DB=$CACHE/lib$N.db
if [ ! -s "$DB" ]; then
    build/make_library "$DB.part" "$N" "$CLIP"
    mv "$DB.part" "$DB"
fi
build/make_library --graph "$DB" # the index file (and graph) up to date, an older schema upgraded, as bench_cold.sh
"$PS" serve --db "$DB" --port 0 --port-file "$TMPD/port" --text-model "$CLIP" ${THREADS:+--threads $THREADS} \
    2>/dev/null &
SRV=$!
for _ in $(seq 200); do [ -s "$TMPD/port" ] && break; sleep 0.05; done
BASE="http://127.0.0.1:$(cat "$TMPD/port")"
cat >"$TMPD/distinct.lua" <<'LUA'
local next_id = 1
function setup(thread)
    thread:set("tid", next_id)
    next_id = next_id + 1
end
local words = {"dog", "beach", "cake", "mountain", "car", "sunset", "cat", "snow", "city", "flowers", "boat", "bike"}
local n = 0
function request()
    n = n + 1
    local q = "a+photo+of+a+" .. words[n % #words + 1] .. "+" .. tid .. "x" .. n
    return wrk.format("GET", "/api/search?q=" .. q .. "&k=20")
end
LUA
# every reader loads the index and the model once, before the clock runs
pids=()
for i in $(seq 16); do
    curl -sf "$BASE/api/search?q=warm+up+$i&k=20" >/dev/null &
    pids+=($!)
done
wait "${pids[@]}"
# the server's CPU time so far (user + system, all threads, clock ticks): over a level, the cores it kept busy
server_ticks() { awk '{print $14 + $15}' "/proc/$SRV/stat"; }
result="RESULT n=$N"
declare -A RPS
for c in 1 4 64; do
    t=$((c < 2 ? 1 : 2))
    cpu0=$(server_ticks)
    out=$(wrk -t$t -c$c -d${DURATION}s --timeout 10s --latency -s "$TMPD/distinct.lua" "$BASE")
    cores=$(awk -v a="$cpu0" -v b="$(server_ticks)" -v hz="$(getconf CLK_TCK)" -v d="$DURATION" \
        'BEGIN {printf "%.2f", (b - a) / hz / d}')
    echo "== $c connections"; echo "$out"
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    RPS[$c]=$rps
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ {e = 1} END {print e ? "yes" : "0"}')
    result="$result c${c}_rps=$rps c${c}_p50=$p50 c${c}_p99=$p99 c${c}_errors=$errs c${c}_server_cores=$cores"
done
echo "$result speedup_c64=$(awk -v a="${RPS[64]}" -v b="${RPS[1]}" 'BEGIN {printf "%.2f", a / b}')"
