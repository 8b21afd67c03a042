#!/usr/bin/env bash
# Changing a library's image model on purpose (issue 17, part 1): `index --reindex-with DIR` says how many items
# and about how long, re-embeds every item (photos and a video) with the new model, then records it. A Ctrl-C
# halfway leaves the library searchable with the old model and every item, status naming the change in progress;
# the same command resumes and finishes; the vectors are then those a fresh library of the new model has.
source "$(dirname "$0")/lib.sh"
M=$FIX/models
OLD=$M/tiny-clip
NEW=$M/tiny-clip-openclip
export PHOTOSEEK_MODELS=$TMP/models
mkdir -p "$TMP/pics/more" "$TMP/pics/video"
for f in "$FIX"/images/*; do case $(basename "$f") in bad_*) ;; *) cp "$f" "$TMP/pics/" ;; esac; done
for f in "$FIX"/images/photo_*; do cp "$f" "$TMP/pics/more/copy_$(basename "$f")"; done
cp "$FIX/images/bad_truncated.jpg" "$TMP/pics/broken.jpg"
ffmpeg -v error -f lavfi -i "testsrc2=size=160x120:rate=10:duration=2" -pix_fmt yuv420p "$TMP/pics/video/clip.mp4"
DB=$TMP/lib.db
$PS index "$TMP/pics" --db "$DB" --image-model "$OLD" >/dev/null 2>&1
st() { $PS status --db "$DB" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
count() { $PS search --db "$DB" -k 1000 --all --json "$@" 2>/dev/null | wc -l; }
ITEMS=$(($(st photos) + $(st videos)))
OLD_ID=$(st model)
N=$(count photo)
check "the library has items to re-embed ($ITEMS, $N found by a search)" test "$ITEMS" -gt 10 -a "$N" = "$ITEMS"

# Without the flag another model is still refused.
expect_status "index --image-model OTHER without --reindex-with is refused (2)" 2 \
    $PS index "$TMP/pics" --db "$DB" --image-model "$NEW"
expect_status "--reindex-with and a different --image-model together are a usage error (2)" 2 \
    $PS index --db "$DB" --reindex-with "$NEW" --image-model "$OLD"

# An interrupted run: an item in the middle is made a FIFO, so the run blocks there (a batch of 2 at a time, the
# ones before it committed) until the Ctrl-C; the batch that holds it is not written and not recorded as failed.
MID=$(sqlite3 "$DB" "SELECT path FROM media WHERE error IS NULL AND type = 1 ORDER BY id LIMIT 1 OFFSET 9")
cp "$MID" "$TMP/mid.keep"
rm "$MID" && mkfifo "$MID"
$PS index --db "$DB" --reindex-with "$NEW" --batch 2 --threads 1 2>"$TMP/r1.err" &
PID=$!
before=-1
for _ in $(seq 300); do
    d=$(st reindex_done 2>/dev/null || echo -1)
    if [ "$d" -gt 0 ] && [ "$d" = "$before" ]; then break; fi # it stopped moving: blocked on the FIFO
    before=$d
    sleep 0.2
done
kill -INT "$PID"
exec 3<>"$MID" # lets the blocked open return, if the signal did not already
wait "$PID"
rc=$?
exec 3>&-
rm "$MID" && cp "$TMP/mid.keep" "$MID"
check "an interrupted re-embed exits 130 (got $rc)" test "$rc" = 130
check "... having said how many items and about how long" sh -c "grep -q 're-embedding $ITEMS items' '$TMP/r1.err' && grep -q 'items/s on the first' '$TMP/r1.err'"
check "... and that the library still searches with its old model" grep -q "still searches with $OLD_ID" "$TMP/r1.err"
DONE=$(st reindex_done)
check "status names the change in progress ($DONE of $ITEMS items done, the blocked batch not written)" \
    test "$DONE" = "$before" -a "$DONE" -gt 0 -a "$DONE" -lt "$ITEMS"
check "... and keeps the old model as the library's" test "$(st model)" = "$OLD_ID"
check "... the counts unchanged, nothing recorded as failed by the interruption" \
    test "$(($(st photos) + $(st videos)))" = "$ITEMS" -a "$(st failed)" = 1
check "status in words says so" sh -c "$PS status --db '$DB' | grep -q 'changing to'"
check "a search meanwhile still reaches every item with the old model ($N)" test "$(count photo)" = "$N"
expect_status "... and a query in the new model's space is refused: one model at a time (mismatch)" 3 \
    $PS search --db "$DB" photo --text-model "$NEW"

# Resumed: only the rest is embedded, then the switch.
$PS index --db "$DB" --reindex-with "$NEW" --batch 2 2>"$TMP/r2.err"
rc=$?
check "the same command resumes and finishes (exit $rc)" test "$rc" = 0
check "... embedding only the rest ($((ITEMS - DONE)) items)" grep -q "re-embedding $((ITEMS - DONE)) items" "$TMP/r2.err"
NEW_ID=$(st model)
check "the library's model is now the new one ($NEW_ID)" sh -c "test '$NEW_ID' != '$OLD_ID' && grep -q 'now uses $NEW_ID (was $OLD_ID)' '$TMP/r2.err'"
check "... with no change in progress and the same counts" \
    test -z "$(st reindex_model)" -a "$(($(st photos) + $(st videos)))" = "$ITEMS" -a "$(st failed)" = 1
check "... and only its vectors: one per photo, the video's frames" \
    test "$(sqlite3 "$DB" "SELECT count(DISTINCT model_id) || ' ' || count(DISTINCT media_id) FROM embeddings")" = "1 $ITEMS"
check "search uses it: every item found with the new model's text encoder (default)" test "$(count photo)" = "$N"
expect_status "... and the old model's text encoder is now the mismatch" 3 $PS search --db "$DB" photo --text-model "$OLD"
check "index without --image-model uses the new model" $PS index "$TMP/pics" --db "$DB"
expect_status "... and the old model is now the one refused" 2 $PS index "$TMP/pics" --db "$DB" --image-model "$OLD"
check "again with the same model: nothing to do" sh -c "$PS index --db '$DB' --reindex-with '$NEW' 2>&1 | grep -q 'already uses'"

# The re-embedded vectors are those of a library indexed with the new model from the start.
$PS index "$TMP/pics" --db "$TMP/fresh.db" --image-model "$NEW" >/dev/null 2>&1
top() { $PS search --db "$1" -k 8 --json "$2" 2>/dev/null | python3 -c "
import json, sys
print(' '.join('%s:%.4f' % (json.loads(l)['path'].rsplit('/', 1)[1], json.loads(l)['score']) for l in sys.stdin))"; }
A=$(top "$DB" "a cup of coffee")
B=$(top "$TMP/fresh.db" "a cup of coffee")
check "the results and scores equal a fresh library's with the new model" test -n "$A" -a "$A" = "$B"
done_testing
