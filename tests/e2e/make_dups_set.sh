#!/usr/bin/env bash
# The near-duplicates test set (test_duplicates.sh, and test_postgres.sh on PostgreSQL): each original (the fixture
# photos and two regions of the large one) with copies rescaled, recompressed at three qualities, cropped 5%,
# colour-edited, turned by pixels and by EXIF, framed like a screenshot, byte-identical, each in its original's
# folder; and a burst of video frames in burst/. usage: make_dups_set.sh SET FIXTURES   (needs ffmpeg)
set -u
SET=$1; FIX=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$SET"
ff() { ffmpeg -loglevel error -y "$@" </dev/null; }
day=0
# originals: the fixture photos, and regions of the large photo (distinct pictures of one scene)
originals=()
for f in "$FIX"/images/photo_*.jpg; do originals+=("$f"); done
ff -i "$FIX/images/large_3000x2000.jpg" -vf crop=1200:900:0:0 -q:v 3 "$TMP/region_a.jpg"
ff -i "$FIX/images/large_3000x2000.jpg" -vf crop=1200:900:1700:1050 -q:v 3 "$TMP/region_b.jpg"
originals+=("$TMP/region_a.jpg" "$TMP/region_b.jpg")
for f in "${originals[@]}"; do
    day=$((day + 1))
    b=$(basename "$f" .jpg)
    d=$SET/$b
    mkdir -p "$d"
    cp "$f" "$d/$b.jpg"
    ff -i "$f" -vf "scale=iw/2:-2" -q:v 4 "$d/${b}_half.jpg"
    for q in 2 12 28; do ff -i "$f" -q:v $q "$d/${b}_q$q.jpg"; done
    ff -i "$f" -vf "crop=iw*0.95:ih*0.95" -q:v 3 "$d/${b}_crop5.jpg"
    ff -i "$f" -vf "eq=brightness=0.08:contrast=1.25:saturation=1.3" -q:v 3 "$d/${b}-edited.jpg"
    ff -i "$f" -vf "transpose=1" -q:v 3 "$d/${b}_rot90.jpg"
    ff -i "$f" -vf "transpose=2" -q:v 3 "$TMP/ccw.jpg"
    python3 "$(dirname "$0")/exif_orient.py" "$TMP/ccw.jpg" "$d/${b}_exif6.jpg" 6
    ff -i "$f" -vf "scale=iw*0.8:-2,pad=iw+120:ih+200:60:100:white" -q:v 3 "$d/${b}_screenshot.jpg"
    cp "$f" "$d/${b} copy.jpg"
    # each copy made at its own time (hours apart): only the pictures may link them, never the clock
    h=0
    for v in "$d"/*.jpg; do
        touch -d "2020-01-01 00:00:00 UTC + $day days + $h hours" "$v"
        h=$((h + 1))
    done
done
# a burst: frames of a moving test pattern, a second apart by the camera's clock (EXIF): a file's own time never
# makes a burst (copying a folder gives every file one time)
mkdir -p "$SET/burst"
ff -f lavfi -i testsrc2=size=640x480:rate=5 -frames:v 6 -q:v 3 "$TMP/frame_%02d.jpg"
s=0
for v in "$TMP"/frame_*.jpg; do
    python3 "$(dirname "$0")/exif_date.py" "$v" "$SET/burst/$(basename "$v")" "2021:06:01 12:00:0$s"
    s=$((s + 1))
done
