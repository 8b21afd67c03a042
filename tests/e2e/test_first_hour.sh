#!/usr/bin/env bash
# A newcomer's first hour: a library keeps its image model (and precision), commands take words the way people type
# them, a failed fetch leaves nothing that looks like a model, bad option values get one line naming the option,
# impossible dates are refused, exit codes follow the README, similar leaves out the photo itself and explains
# videos, a repeated camera make shows once, a synthetic multilingual model can take a real vocabulary.
source "$(dirname "$0")/lib.sh"
M=$FIX/models
export PHOTOSEEK_MODELS=$TMP/models
mkdir -p "$TMP/pics/misc"
for f in "$FIX"/images/*; do case $(basename "$f") in bad_*) ;; *) cp "$f" "$TMP/pics/" ;; esac; done
cp "$FIX/images/photo_coffee.jpg" "$TMP/pics/misc/coffee_copy.jpg"
/usr/bin/convert -size 64x48 xc:orange "$TMP/plain.jpg"
python3 tests/e2e/exif_camera.py "$TMP/plain.jpg" "$TMP/pics/canon.jpg" Canon "Canon EOS 80D"
cp "$FIX/images/bad_truncated.jpg" "$TMP/pics/broken.jpg"
ffmpeg -v error -f lavfi -i "testsrc2=size=160x120:rate=10:duration=2" -pix_fmt yuv420p "$TMP/clip.mp4"
DB=$TMP/lib.db
$PS index "$TMP/pics" --db "$DB" --image-model "$M/tiny-clip" >/dev/null 2>&1
count() { $PS search --db "$DB" -k 1000 --json "$@" 2>/dev/null | wc -l; }
N=$(count photo)

# 1. a library keeps one image model
expect_status "indexing part of a library with another model is refused" 2 $PS index "$TMP/pics/misc" --db "$DB" --image-model "$M/tiny-clip-openclip"
check "... with an explanation naming both models" sh -c "grep -q 'another model' '$TMP/err' && grep -q 'tiny-clip-openclip' '$TMP/err' && grep -q 'clip-48x2-24' '$TMP/err'"
check "... and every item is still searchable" test "$(count photo)" = "$N"
expect_status "indexing with another --precision is refused" 2 $PS index "$TMP/pics/misc" --db "$DB" --precision fp32
check "index on an existing library uses its recorded model (no model in the models folder)" $PS index "$TMP/pics" --db "$DB"
expect_status "index of a new library without any model is fatal (3)" 3 $PS index "$TMP/pics" --db "$TMP/new.db"
check "... and says how to get one" grep -q "photoseek model fetch clip-vit-b-32" "$TMP/err"
expect_status "index of a folder that does not exist is a usage error (2)" 2 $PS index "$TMP/nothing" --db "$DB"

# 2. commands the way people type them
expect_status "search takes unquoted words" 0 $PS search --db "$DB" beach cake
expect_status "search -- takes words that start with -" 0 $PS search --db "$DB" -- -people
expect_status "an unknown option is a usage error" 2 $PS search --db "$DB" --people cake
check "... that suggests --" grep -q "photoseek search -- --people" "$TMP/err"
expect_status "search with a missing text model is fatal (3)" 3 $PS search --db "$DB" cat --text-model "$TMP/none"
one_line() { # one_line NAME OPTION COMMAND...: exit 2 and one line on stderr that names OPTION
    local name=$1 opt=$2; shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"
    local st=$? lines; lines=$(wc -l <"$TMP/err")
    if [ "$st" = 2 ] && [ "$lines" = 1 ] && grep -q -- "$opt takes" "$TMP/err"; then pass "$name"
    else fail "$name" "exit $st, $lines lines" "$(head -3 "$TMP/err")"; fi
}
one_line "index --jobs 0: one line naming --jobs" --jobs $PS index "$TMP/pics" --jobs 0
one_line "index --batch -1: one line naming --batch" --batch $PS index "$TMP/pics" --batch -1
one_line "index --precision fp16: one line naming --precision" --precision $PS index "$TMP/pics" --precision fp16
one_line "index --threads 2x: one line naming --threads" --threads $PS index "$TMP/pics" --threads 2x
one_line "search -k 0: one line naming -k" -k $PS search cat -k 0
one_line "search --sort random: one line naming --sort" --sort $PS search cat --sort random
one_line "serve --port 99999: one line naming --port" --port $PS serve --port 99999
one_line "embed --threads 0: one line naming --threads" --threads $PS embed --model "$M/tiny-clip" --threads 0 --text hi
expect_status "an impossible date (2023-02-30) is a usage error" 2 $PS search --db "$DB" cat --from 2023-02-30
check "... that says the date does not exist" grep -q "date that exists" "$TMP/err"
expect_status "April 31st is a usage error" 2 $PS search --db "$DB" cat --to 2024-04-31
expect_status "February 29th of a leap year is fine" 1 $PS search --db "$DB" cat --from 2024-02-29 --to 2024-03-01
expect_status "an empty range (--from 2024 --to 2019) is a usage error" 2 $PS search --db "$DB" cat --from 2024 --to 2019
check "... that says it is empty" grep -q "is empty" "$TMP/err"
for c in "--help" "index --help" "search --help"; do
    check "photoseek $c lists exit code 130" sh -c "$PS $c | grep -q 130"
done

# a failed fetch leaves nothing behind that is taken for a model; search then falls back to the library's CLIP
HF_ENDPOINT=http://127.0.0.1:9 timeout 30 $PS model fetch mclip >/dev/null 2>"$TMP/fetch.err"
check "a failed fetch leaves no model folder" test ! -e "$PHOTOSEEK_MODELS/mclip"
check "... and names the flags to use offline" grep -q -- "--image-model DIR" "$TMP/fetch.err"
expect_status "... and search still works with the library's CLIP text encoder" 0 $PS search --db "$DB" a photo of a cat

# status, similar, cameras
$PS status --db "$DB" --errors >"$TMP/errors"
check "status --errors names each path once" python3 -c "
lines = open('$TMP/errors').read().splitlines()
assert lines and all(l.count('broken.jpg') == 1 for l in lines), lines"
$PS similar "$TMP/pics/photo_chelsea.jpg" --db "$DB" --json -k 5 >"$TMP/similar" 2>&1
check "similar leaves out the query photo itself" python3 -c "
import json
rows = [json.loads(l) for l in open('$TMP/similar')]
assert len(rows) == 5 and all(not r['path'].endswith('/photo_chelsea.jpg') for r in rows), rows"
expect_status "similar on a video is a usage error" 2 $PS similar "$TMP/clip.mp4" --db "$DB"
check "... that says so in words" grep -q "is a video" "$TMP/err"
$PS search --db "$DB" --json --camera canon orange >"$TMP/canon"
check "a make repeated in the model is shown once (Canon EOS 80D)" python3 -c "
import json
r = json.loads(open('$TMP/canon').readline()); assert r['camera'] == 'Canon EOS 80D', r"

# model synth mclip --tokenizer-from
check "model synth mclip-distilbert takes a real vocabulary" $PS model synth --arch mclip-distilbert --tokenizer-from "$M/tiny-mclip" --out "$TMP/synth-mclip"
check "... and tokenizes words as that vocabulary does" sh -c "test \"\$($PS tokenize --model '$TMP/synth-mclip' 'Ein Hund' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"ids\"])')\" = \"\$($PS tokenize --model '$M/tiny-mclip' 'Ein Hund' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"ids\"])')\""
done_testing
