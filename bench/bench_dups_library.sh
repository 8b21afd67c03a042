#!/usr/bin/env bash
# `photoseek duplicates` over generated libraries (make_library --dups: planted copies and bursts, their truth in
# DB.truth) of each size given (default 100000), on 2 threads: bench_dups --library prints the time, the peak
# memory and the pairs' precision and recall as RESULT lines. CACHE keeps the libraries (about 0.5 GB per 100k;
# 1M takes about 5 GB and, with the library's own HNSW graph built as an index run builds it, several minutes).
# usage: bash bench/bench_dups_library.sh [N...]
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${CACHE:-/tmp/dups-cache}
mkdir -p "$CACHE"
CLIP=$CACHE/clip
[ -s "$CLIP/model.safetensors" ] || build/photoseek model synth --arch clip-vit-b-32 \
    --tokenizer-from "${PHOTOSEEK_FIXTURES:-../shared/fixtures}/models/tiny-clip" --out "$CLIP" >/dev/null
for n in "${@:-100000}"; do
    db=$CACHE/dups$n.db
    [ -s "$db.truth" ] || build/make_library --dups "$db" "$n" "$CLIP"
    echo "== duplicates over $n generated items"
    build/bench_dups --library "$db" "${THREADS:-2}"
done
