#!/usr/bin/env bash
# The command-line contract of embed and tokenize, run as a user would.
source "$(dirname "$0")/lib.sh"
need python3
M=$FIX/models/tiny-clip

# embed --image: one JSON object per input, in order; a broken file gets an error line and exit code 1.
$PS embed --model "$M" --image "$FIX/images/photo_chelsea.jpg" "$FIX/images/bad_truncated.jpg" "$FIX/images/square_224.png" >"$TMP/img.jsonl" 2>"$TMP/err"
status=$?
check "embed --image: exit code 1 when one input fails" test "$status" = 1
check "embed --image: three lines in input order" python3 - "$TMP/img.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 3, rows
assert rows[0]["input"].endswith("photo_chelsea.jpg") and len(rows[0]["embedding"]) == 24
assert rows[1]["input"].endswith("bad_truncated.jpg") and "broken JPEG" in rows[1]["error"] and "bad_truncated.jpg" in rows[1]["error"]
assert rows[2]["input"].endswith("square_224.png") and len(rows[2]["embedding"]) == 24
PY

# embed --image matches the reference embedding of the file (cosine >= 0.995) and --normalize gives unit length.
$PS embed --model "$M" --normalize --image "$FIX/images/photo_rocket.jpg" >"$TMP/n.jsonl"
check "embed --normalize: unit length, same direction as the reference" python3 - "$TMP/n.jsonl" "$FIX/refs/embeddings_tiny_clip.json" <<'PY'
import json, math, sys
row = json.loads(open(sys.argv[1]).readline())
ref = next(i for i in json.load(open(sys.argv[2]))["images"] if i["image"] == "photo_rocket.jpg")["embedding"]
e = row["embedding"]
assert abs(math.sqrt(sum(x * x for x in e)) - 1) < 1e-5
cos = sum(a * b for a, b in zip(e, ref)) / math.sqrt(sum(b * b for b in ref))
assert cos >= 0.995, cos
PY

# embed --text: several texts, both spellings; multilingual model detected by itself.
$PS embed --model "$M" --text "a photo of a cat" --text "donut birthday cake" >"$TMP/t.jsonl"
check "embed --text: one line per text" python3 -c "
import json,sys; rows=[json.loads(l) for l in open('$TMP/t.jsonl')]
assert [r['input'] for r in rows]==['a photo of a cat','donut birthday cake'] and all(len(r['embedding'])==24 for r in rows)"
$PS embed --model "$FIX/models/tiny-mclip" --text "甜甜圈生日蛋糕" "Ein Hund läuft am Strand" >"$TMP/m.jsonl"
check "embed --text with the multilingual model" python3 -c "
import json; rows=[json.loads(l) for l in open('$TMP/m.jsonl')]; assert len(rows)==2 and all(len(r['embedding'])==24 for r in rows)"
$PS embed --model "$FIX/models/tiny-mclip" --ids 101,364,365,366,367,102 >"$TMP/ids.jsonl"
check "embed --ids" python3 -c "
import json; r=json.loads(open('$TMP/ids.jsonl').readline()); assert r['input']=='101,364,365,366,367,102' and len(r['embedding'])==24"
expect_status "embed --ids with a bad list fails that input" 1 $PS embed --model "$FIX/models/tiny-mclip" --ids 101,abc
expect_status "embed --ids outside the vocabulary fails that input" 1 $PS embed --model "$FIX/models/tiny-mclip" --ids 101,999999,102

# embed --pixels equals the reference exactly as the encoder alone computes it.
$PS embed --model "$M" --pixels "$FIX/refs/pixels/photo_coffee.f32" >"$TMP/p.jsonl"
check "embed --pixels matches the PyTorch embedding" python3 - "$TMP/p.jsonl" "$FIX/refs/embeddings_tiny_clip.json" <<'PY'
import json, sys
row = json.loads(open(sys.argv[1]).readline())
ref = next(i for i in json.load(open(sys.argv[2]))["images"] if i["image"] == "photo_coffee.jpg")["embedding"]
m = max(abs(x) for x in ref)
assert max(abs(a - b) for a, b in zip(row["embedding"], ref)) <= 1e-4 * (1 + m)
PY
printf 'short' >"$TMP/short.f32"
expect_status "embed --pixels with a short file fails that input" 1 $PS embed --model "$M" --pixels "$TMP/short.f32"

# tokenize: untruncated ids with bos/eos.
$PS tokenize --model "$M" "a photo of a cat" >"$TMP/tok.jsonl"
check "tokenize prints the Hugging Face ids" python3 -c "
import json; r=json.loads(open('$TMP/tok.jsonl').readline()); assert r=={'text':'a photo of a cat','ids':[49406,320,1125,539,320,2368,49407]}, r"
expect_status "tokenize rejects invalid UTF-8 for that text" 1 $PS tokenize --model "$M" $'caf\xc3'

# usage and fatal errors
expect_status "embed without --model is a usage error" 2 $PS embed --text hello
expect_status "embed with two kinds of input is a usage error" 2 $PS embed --model "$M" --text a --image b.jpg
expect_status "unknown command is a usage error" 2 $PS frobnicate
expect_status "a missing model folder is fatal" 3 $PS embed --model /nonexistent --text hello
check "embed --help is true" sh -c "$PS embed --help | grep -q -- '--pixels FILE.f32'"
check "the model error names the folder" sh -c "$PS embed --model /nonexistent --text a 2>&1 | grep -q '/nonexistent: model folder not found'"
done_testing
