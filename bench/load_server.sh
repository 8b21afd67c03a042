#!/usr/bin/env bash
# Load test of photoseek serve: wrk against /api/search on loopback over a 100k synthetic-vector library, at 4
# and 64 connections, 8 s each. Prints wrk's numbers and a RESULT line with requests/s, p50/p99 latency and errors.
# usage: bench/load_server.sh [N]   (run from the repository root after make; needs wrk)
set -euo pipefail
N=${1:-100000}
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/photoseek-load-XXXXXX")
trap 'kill $SRV 2>/dev/null || true; rm -rf "$TMPD"' EXIT
CLIP=${TMPDIR:-/tmp}/photoseek-bench/clip-vit-b-32
[ -s "$CLIP/model.safetensors" ] || build/photoseek model synth --arch clip-vit-b-32 --tokenizer-from ../shared/fixtures/models/tiny-clip --out "$CLIP"
build/make_library "$TMPD/lib.db" "$N" "$CLIP"
build/photoseek serve --db "$TMPD/lib.db" --port 0 --port-file "$TMPD/port" --text-model "$CLIP" 2>/dev/null &
SRV=$!
for _ in $(seq 200); do [ -s "$TMPD/port" ] && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$TMPD/port")/api/search?q=a+photo+of+a+dog+on+the+beach&k=20"
curl -sf "$URL" >/dev/null # loads the vectors and the model once
result="RESULT"
for c in 4 64; do
    out=$(wrk -t2 -c$c -d8s --timeout 10s --latency "$URL")
    echo "== $c connections"; echo "$out"
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ {e = 1} END {print e ? "yes" : "0"}')
    result="$result c${c}_rps=$rps c${c}_p50=$p50 c${c}_p99=$p99 c${c}_errors=$errs"
done
echo "$result"
