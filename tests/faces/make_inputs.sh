#!/usr/bin/env bash
# The face parity inputs: face-api's demo photos (from the fetched package) and variants of them made with
# ImageMagick, lossless PNGs so that every run decodes the same pixels (tests/faces/refs records their sha256).
#   bash tests/faces/make_inputs.sh DEMO_DIR OUT_DIR
set -eu
demo=$1 out=$2
mkdir -p "$out"
for i in 1 2 3 4 5 6; do cp "$demo/sample$i.jpg" "$out/"; done
cv=/usr/bin/convert
$cv "$demo/sample1.jpg" -crop 900x700+200+100 +repage "$out/v1_crop.png"        # the faces larger in the frame
$cv "$demo/sample1.jpg" -flop "$out/v1_mirror.png"                                  # mirror image
$cv "$demo/sample1.jpg" -evaluate add 12% "$out/v1_bright.png"                      # brighter
$cv "$demo/sample1.jpg" -resize 50% "$out/v1_half.png"                              # rescaled to 960 x 640
$cv "$demo/sample4.jpg" -evaluate multiply 0.6 "$out/v4_dark.png"                   # darker
$cv "$demo/sample4.jpg" -flop -crop 1400x1000+300+0 +repage "$out/v4_mirror_crop.png"
