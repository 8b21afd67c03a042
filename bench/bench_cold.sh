#!/usr/bin/env bash
# A cold `photoseek search`: a new process per query (page cache warm), on generated libraries of N items
# (bench/make_library.c, clustered 512-d vectors under a full-size synthetic CLIP, with the index file and, from
# 300k items, the HNSW graph that an index run leaves beside it), with the CLIP text encoder and, when MCLIP=1, the
# multilingual one. For each size: the first search after the library was written (it reads
# every vector from SQLite and writes the index file beside the library), then RUNS searches that map it; the
# median wall time and the largest peak RSS (/usr/bin/time) of those, and the mapped index's size. REBUILD=1
# deletes the index file first, so that first_s is the search that rebuilds it (else first_s is a warm-up).
# The packed-weight cache lives in $CACHE/packed (PHOTOSEEK_PACK_CACHE) unless set. REF=BINARY measures another
# photoseek (e.g. one built from the commit before the index file) on the same libraries in the same run, as
# RESULT lines with encoder=NAME-ref.
# Libraries and models are kept in $CACHE (default /tmp/cold-cache) between runs: a 1M library is 2 GB.
# usage: bench/bench_cold.sh [N ...]   (default 100000 1000000; run from the repository root after make)
# Prints one RESULT line per size and encoder: n, encoder, first_s, median_s, min_s, cpu_s (the median CPU time,
# user + system over all threads: what a loaded machine's wall time hides), peak_rss_mb, index_mb (the mapped index
# file and graph: peak RSS counts the pages of them a search touched, and the kernel maps 64 KB around each).
set -euo pipefail
CACHE=${CACHE:-/tmp/cold-cache}
RUNS=${RUNS:-9}
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100000 1000000)
mkdir -p "$CACHE"
export PHOTOSEEK_PACK_CACHE=${PHOTOSEEK_PACK_CACHE-$CACHE/packed}
CLIP=$CACHE/clip
[ -s "$CLIP/model.safetensors" ] || build/photoseek model synth --arch clip-vit-b-32 \
    --tokenizer-from ../shared/fixtures/models/tiny-clip --out "$CLIP"
ENCODERS=("clip:$CLIP")
if [ "${MCLIP:-0}" = 1 ]; then
    MC=$CACHE/mclip
    [ -s "$MC/model.safetensors" ] || build/photoseek model synth --arch mclip-distilbert --out "$MC"
    ENCODERS+=("mclip:$MC")
fi
QUERIES=("a dog on the beach" "birthday cake with candles" "snow on the mountains" "a red car in the city"
         "children playing football" "sunset over the sea" "a cat asleep on a sofa" "fireworks at night"
         "a bowl of ramen")

# seconds, peak KB and CPU seconds (user + system, all threads) of one search: "S KB CPU"
one() {
    /usr/bin/time -f "%e %M %U %S" -o "$CACHE/time.out" "$BIN" search "$1" --db "$2" --text-model "$3" -k 20 >/dev/null
    awk '{printf "%s %s %.2f\n", $1, $2, $3 + $4}' "$CACHE/time.out"
}
BINS=(build/photoseek)
[ -n "${REF:-}" ] && BINS+=("$REF")

for n in "${SIZES[@]}"; do
    db=$CACHE/lib$n.db
    if [ ! -s "$db" ]; then
        build/make_library "$db.part" "$n" "$CLIP"
        mv "$db.part" "$db"
        rm -f "$db.part-wal" "$db.part-shm" "$db.part".model*
    fi
    # the index file and (from 300k rows) the HNSW graph brought up to date as an index run does (a no-op when
    # they are; the first time at 1M, a few minutes); a library of an older schema is upgraded on the way
    build/make_library --graph "$db"
    for enc in "${ENCODERS[@]}"; do
      for BIN in "${BINS[@]}"; do
        name=${enc%%:*}
        [ "$BIN" = build/photoseek ] || name=$name-ref
        dir=${enc#*:}
        [ "${REBUILD:-0}" = 1 ] && rm -f "$db".model*.vindex
        first=$(one "${QUERIES[0]}" "$db" "$dir" | cut -d' ' -f1)
        times=()
        cpus=()
        peak=0
        for i in $(seq "$RUNS"); do
            read -r s kb cpu < <(one "${QUERIES[$((i % ${#QUERIES[@]}))]}" "$db" "$dir")
            times+=("$s")
            cpus+=("$cpu")
            [ "$kb" -gt "$peak" ] && peak=$kb
        done
        sorted=$(printf '%s\n' "${times[@]}" | sort -g)
        median=$(echo "$sorted" | sed -n "$(((RUNS + 1) / 2))p")
        min=$(echo "$sorted" | head -1)
        cpu_median=$(printf '%s\n' "${cpus[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p")
        index_mb=$( (du -m "$db".model*.vindex "$db".model*.hnsw 2>/dev/null || true) | awk '{s += $1} END {print s + 0}')
        echo "RESULT n=$n encoder=$name first_s=$first median_s=$median min_s=$min cpu_s=$cpu_median peak_rss_mb=$((peak / 1024))" \
             "index_mb=$index_mb"
      done
    done
done
