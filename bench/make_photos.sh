#!/usr/bin/env bash
# Ordinary 12-megapixel photos without text, for the benchmarks that must not be judged on synthetic noise: the
# fixtures' real photos (a cat, a coffee cup on wood, a rocket between lattice towers, an astronaut, ...) and, when
# tests/faces/cache holds face-api's package, its demo photos of people, each enlarged to 4000x3000 with a little
# sensor-like noise and saved as a camera would (JPEG quality 92).
# usage: make_photos.sh DIR
set -euo pipefail
out=$1
FIX=${PHOTOSEEK_FIXTURES:-$(dirname "$0")/../../shared/fixtures}
mkdir -p "$out.tmp"
n=0
for f in "$FIX"/images/photo_*.jpg "$FIX"/images/large_3000x2000.jpg "$FIX"/images/portrait_480x640.jpg \
    "$(dirname "$0")"/../tests/faces/cache/demo/sample*.jpg; do
    [ -s "$f" ] || continue
    /usr/bin/convert "$f" -resize 4000x3000^ -gravity center -extent 4000x3000 -attenuate 0.15 +noise Gaussian \
        -quality 92 "$out.tmp/$(basename "${f%.*}").jpg"
    n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "make_photos.sh: no photos found under $FIX/images" >&2; exit 1; }
rm -rf "$out" && mv "$out.tmp" "$out"
echo "$n photos of 12 MP in $out"
