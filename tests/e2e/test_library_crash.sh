#!/usr/bin/env bash
# Indexing survives kill -9 and Ctrl-C without losing or duplicating work, and a search works while an index run
# is writing. Uses the full-size synthetic CLIP, slow enough to be stopped mid-run, in float32, whose vectors are
# the same whatever the batches (int8 can round one value differently).
source "$(dirname "$0")/lib.sh"
need python3 sqlite3 /usr/bin/convert
CONVERT=/usr/bin/convert
$PS model synth --arch clip-vit-b-32 --tokenizer-from "$FIX/models/tiny-clip" --out "$TMP/clip" 2>/dev/null
M=$TMP/clip
mkdir -p "$TMP/photos/a" "$TMP/photos/b"
for i in $(seq 1 48); do
    d=a; [ $((i % 2)) = 0 ] && d=b
    $CONVERT -size 96x64 "xc:rgb($((i * 5)),$((255 - i * 4)),$((i * 3 % 256)))" -fill white -draw "circle $((i % 90)),32 $((i % 90 + 9)),32" "$TMP/photos/$d/img_$i.png"
done

# content of a database: rows (without ids and timestamps) and vectors, compared with a tolerance
same_content() {
    python3 - "$1" "$2" <<'PY'
import struct, subprocess, sys
def rows(db):
    out = subprocess.run(["sqlite3", db, "SELECT m.path, m.hash, m.size, m.width, m.height, m.error IS NULL, e.frame_ms, hex(e.vec) FROM media m LEFT JOIN embeddings e ON e.media_id = m.id ORDER BY m.path"], capture_output=True, text=True).stdout.splitlines()
    return [l.split("|") for l in out]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
assert len(a) == len(b) == 48, (len(a), len(b))
for x, y in zip(a, b):
    assert x[:7] == y[:7], (x[:7], y[:7])
    va = struct.unpack("<%df" % (len(x[7]) // 8), bytes.fromhex(x[7]))
    vb = struct.unpack("<%df" % (len(y[7]) // 8), bytes.fromhex(y[7]))
    assert max(abs(p - q) for p, q in zip(va, vb)) < 1e-5, x[0]
PY
}

$PS index "$TMP/photos" --db "$TMP/full.db" --image-model "$M" --precision fp32 --batch 8 --json >"$TMP/full.json" 2>/dev/null
check "an uninterrupted run indexes everything" python3 -c "import json; r=json.load(open('$TMP/full.json')); assert r['indexed']==48, r"

# kill -9 in the middle, then run again
$PS index "$TMP/photos" --db "$TMP/killed.db" --image-model "$M" --precision fp32 --batch 8 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do
    n=$(sqlite3 "$TMP/killed.db" "SELECT count(*) FROM embeddings" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 8 ] && break
    sleep 0.05
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
partial=$(sqlite3 "$TMP/killed.db" "SELECT count(*) FROM embeddings")
check "kill -9 left whole batches only ($partial of 48 embedded)" sh -c "test $partial -ge 8 && test $partial -lt 48 && test \$(($partial % 8)) = 0"
$PS index "$TMP/photos" --db "$TMP/killed.db" --image-model "$M" --precision fp32 --batch 8 --json >"$TMP/resume.json" 2>/dev/null
check "the re-run embeds only the rest" python3 -c "import json; r=json.load(open('$TMP/resume.json')); assert r['indexed']==48-$partial and r['unchanged']==$partial, r"
check "kill -9 then a re-run gives the same content as an uninterrupted run" same_content "$TMP/full.db" "$TMP/killed.db"

# Ctrl-C: stops after the batch in flight, exit 130, and the next run finishes
$PS index "$TMP/photos" --db "$TMP/int.db" --image-model "$M" --precision fp32 --batch 8 >/dev/null 2>"$TMP/int.err" &
pid=$!
for _ in $(seq 200); do
    n=$(sqlite3 "$TMP/int.db" "SELECT count(*) FROM embeddings" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 8 ] && break
    sleep 0.05
done
kill -INT $pid; wait $pid; st=$?
check "Ctrl-C stops cleanly with exit code 130" test "$st" = 130
check "... and says how to finish" grep -q "interrupted" "$TMP/int.err"
$PS index "$TMP/photos" --db "$TMP/int.db" --image-model "$M" --precision fp32 --batch 8 >/dev/null 2>&1
check "the run after Ctrl-C completes the same content" same_content "$TMP/full.db" "$TMP/int.db"

# a search while an index run is writing
$PS index "$TMP/photos" --db "$TMP/busy.db" --image-model "$M" --precision fp32 --batch 4 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do
    n=$(sqlite3 "$TMP/busy.db" "SELECT count(*) FROM embeddings" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 4 ] && break
    sleep 0.05
done
check "a search while an index run is writing answers" sh -c "$PS search 'a photo of a circle' --db '$TMP/busy.db' --text-model '$M' -k 3 --json | grep -q img_"
wait $pid
check "... and the index run finished undisturbed" sh -c "test \$(sqlite3 '$TMP/busy.db' 'SELECT count(*) FROM embeddings') = 48"
done_testing
