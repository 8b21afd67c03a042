#!/usr/bin/env bash
# Videos: frames sampled with their timestamps, the matching moment found, rotation applied, broken files
# reported, incremental re-runs. The clips are made with the ffmpeg command here.
source "$(dirname "$0")/lib.sh"
need python3 sqlite3 ffmpeg /usr/bin/convert /usr/bin/time
M=$FIX/models/tiny-clip
export PHOTOSEEK_MODELS=$TMP/no-models
V=$TMP/videos
mkdir -p "$V" "$TMP/refs"
ff() { ffmpeg -v error -y "$@"; }
# 0-4 s photo_coffee, 4-8 s photo_rocket
ff -loop 1 -t 4 -i "$FIX/images/photo_coffee.jpg" -loop 1 -t 4 -i "$FIX/images/photo_rocket.jpg" \
   -filter_complex "[0]scale=640:480,setsar=1[a];[1]scale=640:480,setsar=1[b];[a][b]concat=n=2:v=1[v]" -map "[v]" \
   -r 10 -pix_fmt yuv420p -c:v libx264 -metadata creation_time=2021-06-15T10:00:00Z "$V/two_scenes.mp4"
# a phone-style clip: the pixels stored sideways (turned clockwise), the container says to turn them back (as
# phones do; ffmpeg itself shows it upright)
ff -loop 1 -t 3 -i "$FIX/images/portrait_480x640.jpg" -vf "transpose=1,setsar=1" -r 10 -pix_fmt yuv420p -c:v libx264 "$TMP/sideways.mp4"
ff -i "$TMP/sideways.mp4" -c copy -metadata:s:v:0 rotate=90 "$V/phone.mov"
/usr/bin/convert "$FIX/images/portrait_480x640.jpg" -rotate 270 "$TMP/refs/portrait_sideways.png"
ff -f lavfi -i sine=d=2 -c:a aac "$V/no_video.m4a.mp4"
head -c 4000 "$V/two_scenes.mp4" >"$V/truncated.mp4"
ff -loop 1 -t 2 -i "$FIX/images/photo_chelsea.jpg" -vf "scale=320:240,setsar=1" -r 5 -pix_fmt yuv420p -c:v libvpx -b:v 200k "$V/cat.webm"
cp "$FIX/images/photo_astronaut.jpg" "$V/"

$PS index "$V" --db "$TMP/v.db" --image-model "$M" --json >"$TMP/run1.json" 2>/dev/null
check "videos and photos index together; broken videos fail" python3 -c "
import json; r=json.load(open('$TMP/run1.json')); assert r['indexed']==4 and r['failed']==2, r"
$PS status --db "$TMP/v.db" --errors >"$TMP/errors"
check "a clip with no video stream is reported" grep -q "no_video.m4a.mp4.*no video stream" "$TMP/errors"
check "a truncated clip is reported" grep -q "truncated.mp4.*cannot read the video container" "$TMP/errors"
check "frames are sampled about every 2 s, with their timestamps" python3 -c "
import subprocess
t = [int(x) for x in subprocess.run(['sqlite3', '$TMP/v.db', \"SELECT e.frame_ms FROM embeddings e JOIN media m ON m.id = e.media_id WHERE m.path LIKE '%two_scenes.mp4' ORDER BY e.frame_ms\"], capture_output=True, text=True).stdout.split()]
assert t[0] == 0 and all(b - a <= 2500 for a, b in zip(t, t[1:])) and t[-1] >= 7500 and 5 <= len(t) <= 8, t"
check "the duration is stored" sh -c "test \$(sqlite3 '$TMP/v.db' \"SELECT duration_ms FROM media WHERE path LIKE '%two_scenes.mp4'\") -ge 7900"

$PS similar "$FIX/images/photo_rocket.jpg" --db "$TMP/v.db" --json -k 3 >"$TMP/b.jsonl"
check "searching with image B finds the clip at a moment inside 4-8 s" python3 -c "
import json; r=json.loads(open('$TMP/b.jsonl').readline())
assert r['path'].endswith('two_scenes.mp4') and r['type']=='video' and 4000 <= r['frame_ms'] <= 8000, r"
$PS similar "$FIX/images/photo_coffee.jpg" --db "$TMP/v.db" --json -k 1 >"$TMP/a.jsonl"
check "and with image A at a moment inside 0-4 s" python3 -c "
import json; r=json.loads(open('$TMP/a.jsonl').readline()); assert r['path'].endswith('two_scenes.mp4') and 0 <= r['frame_ms'] <= 4000, r"  # the 4.0 s frame still shows A
check "a video appears once, at its best moment" sh -c "test \$($PS similar '$FIX/images/photo_rocket.jpg' --db '$TMP/v.db' --json -k 10 | grep -c two_scenes) = 1"
$PS similar "$FIX/images/photo_rocket.jpg" --db "$TMP/v.db" --json -k 1 --all-moments >"$TMP/m.jsonl"
check "--all-moments lists the other moments, best first" python3 -c "
import json; r=json.loads(open('$TMP/m.jsonl').readline()); m=r['moments']
assert len(m)>=5 and m[0]['frame_ms']==r['frame_ms'] and [x['score'] for x in m]==sorted([x['score'] for x in m], reverse=True), m"

check "the rotated clip is stored upright (portrait size)" sh -c "sqlite3 '$TMP/v.db' \"SELECT width, height FROM media WHERE path LIKE '%phone.mov'\" | grep -qx '480|640'"
check "the rotated clip matches the upright photo" sh -c "$PS similar '$FIX/images/portrait_480x640.jpg' --db '$TMP/v.db' --json -k 1 | grep -q phone.mov"
# (that its pixels are upright, not only its size, is checked pixel by pixel in tests/unit/test_video.c)

check "--type video returns only videos" sh -c "$PS search 'a photo' --db '$TMP/v.db' --type video --json -k 10 | python3 -c 'import json,sys; rows=[json.loads(l) for l in sys.stdin]; assert len(rows)==3 and all(r[\"type\"]==\"video\" for r in rows), rows'"
check "--type photo returns only photos" sh -c "$PS search 'a photo' --db '$TMP/v.db' --type photo --json -k 10 | python3 -c 'import json,sys; rows=[json.loads(l) for l in sys.stdin]; assert len(rows)==1 and rows[0][\"type\"]==\"photo\"'"
check "the container's creation time dates the clip" sh -c "$PS search 'a photo' --db '$TMP/v.db' --year 2021 --json | grep -q '\"taken_at\": \"2021-06-15T10:00:00+00:00\"'"

n_before=$(sqlite3 "$TMP/v.db" "SELECT count(*) FROM embeddings")
$PS index "$V" --db "$TMP/v.db" --image-model "$M" --json >"$TMP/run2.json" 2>/dev/null
check "an unchanged video costs nothing on a re-run" python3 -c "
import json; r=json.load(open('$TMP/run2.json')); assert r['indexed']==0 and r['unchanged']==6, r"
touch "$V/cat.webm"
$PS index "$V" --db "$TMP/v.db" --image-model "$M" --json >"$TMP/run3.json" 2>/dev/null
check "a changed video is sampled again, its frames replaced" sh -c "python3 -c \"import json; r=json.load(open('$TMP/run3.json')); assert r['indexed']==1, r\" && test \$(sqlite3 '$TMP/v.db' 'SELECT count(*) FROM embeddings') = $n_before"
mv "$V/two_scenes.mp4" "$V/renamed.mp4"
$PS index "$V" --db "$TMP/v.db" --image-model "$M" --json >"$TMP/run4.json" 2>/dev/null
check "a moved video keeps its frames" sh -c "python3 -c \"import json; r=json.load(open('$TMP/run4.json')); assert r['moved']==1 and r['indexed']==0, r\" && test \$(sqlite3 '$TMP/v.db' 'SELECT count(*) FROM embeddings') = $n_before"

# a long clip streams: memory does not grow with the length (2 minutes vs 10 minutes, both many batches long)
mkdir -p "$TMP/long" "$TMP/medium"
ff -f lavfi -i "testsrc=size=160x120:rate=5:duration=600" -pix_fmt yuv420p -c:v libx264 -preset ultrafast "$TMP/long/long.mp4"
ff -f lavfi -i "testsrc=size=160x120:rate=5:duration=120" -pix_fmt yuv420p -c:v libx264 -preset ultrafast "$TMP/medium/medium.mp4"
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
medium_kb=$(rss $PS index "$TMP/medium" --db "$TMP/m.db" --image-model "$M" --jobs 1)
long_kb=$(rss $PS index "$TMP/long" --db "$TMP/l.db" --image-model "$M" --jobs 1)
# (not against the sanitizer build, $PSK_SANITIZERS: there the resident size is mostly AddressSanitizer's quarantine)
[ -n "${PSK_SANITIZERS:-}" ] ||
    check "a 10-minute clip takes the memory of a 2-minute one ($long_kb vs $medium_kb KB)" sh -c "test $long_kb -lt $((medium_kb + 8000))"
check "... and all its frames are stored" sh -c "test \$(sqlite3 '$TMP/l.db' 'SELECT count(*) FROM embeddings') -ge 300"
done_testing
