#!/usr/bin/env bash
# `photoseek model fetch` against a local server in the hub's shapes: listing, download, resume, checksum,
# the OpenCLIP fallback and the offline message. `model synth` writes a loadable full-size folder.
source "$(dirname "$0")/lib.sh"
need python3

start_hub() { # start_hub NAME [server options...]
    local name=$1; shift
    rm -f "$TMP/$name.port"
    python3 tests/e2e/hub_server.py --fixtures "$FIX" --port-file "$TMP/$name.port" --log "$TMP/$name.log" "$@" &
    HUB_PID=$!
    for _ in $(seq 100); do [ -s "$TMP/$name.port" ] && break; sleep 0.05; done
    export HF_ENDPOINT="http://127.0.0.1:$(cat "$TMP/$name.port")"
}
stop_hub() { kill "$HUB_PID" 2>/dev/null; wait "$HUB_PID" 2>/dev/null; }

start_hub plain
check "fetch clip-vit-b-32 downloads the listed files" $PS model fetch clip-vit-b-32 --dir "$TMP/clip"
check "fetched files are byte-identical" sh -c "for f in config.json model.safetensors vocab.json merges.txt tokenizer.json preprocessor_config.json; do cmp -s '$FIX/models/tiny-clip/'\$f '$TMP/clip/'\$f || exit 1; done"
check "fetch records the commit" grep -q 0123456789abcdef0123456789abcdef01234567 "$TMP/clip/photoseek-fetch.json"
check "the fetched folder embeds" sh -c "$PS embed --model '$TMP/clip' --text 'a photo of a cat' | grep -q embedding"
: >"$TMP/plain.log"
check "a second fetch downloads nothing" $PS model fetch clip-vit-b-32 --dir "$TMP/clip"
check "... only the listing was asked for" sh -c "! grep -q resolve '$TMP/plain.log'"

# resume: a partial download (in the staging folder an interrupted fetch leaves) continues with a Range request
mkdir -p "$TMP/resume.incomplete"
head -c 1000 "$FIX/models/tiny-clip/model.safetensors" >"$TMP/resume.incomplete/model.safetensors.incomplete"
check "fetch resumes a partial file" $PS model fetch clip-vit-b-32 --dir "$TMP/resume"
check "... with a Range request from byte 1000" grep -q "model.safetensors range=bytes=1000-" "$TMP/plain.log"
check "... and the result is complete" cmp -s "$FIX/models/tiny-clip/model.safetensors" "$TMP/resume/model.safetensors"
check "... and moved into place" test ! -e "$TMP/resume.incomplete"

check "fetch mclip brings the module folders" $PS model fetch mclip --dir "$TMP/mclip"
check "... loadable" sh -c "$PS embed --model '$TMP/mclip' --text 'Ein Hund' | grep -q embedding"
stop_hub

# a corrupted download is refused and removed
start_hub corrupt --corrupt model.safetensors
expect_status "a checksum mismatch is fatal" 3 $PS model fetch clip-vit-b-32 --dir "$TMP/bad"
check "... says so" grep -q "does not match the hub" "$TMP/err"
check "... and keeps no file" sh -c "test ! -e '$TMP/bad/model.safetensors' && test ! -e '$TMP/bad.incomplete/model.safetensors.incomplete'"
check "... and no folder that looks like a model" test ! -e "$TMP/bad"
stop_hub

# no safetensors in the OpenAI repo: the OpenCLIP layout comes from timm's repo
start_hub fallback --hide model.safetensors
check "fetch falls back to the OpenCLIP checkpoint" $PS model fetch clip-vit-b-32 --dir "$TMP/oc"
check "... which loads with the tokenizer" sh -c "$PS embed --model '$TMP/oc' --text 'a photo of a cat' | grep -q embedding"
stop_hub

# offline: a clear message, quickly
export HF_ENDPOINT=http://127.0.0.1:9
expect_status "fetch offline fails" 3 timeout 30 $PS model fetch clip-vit-b-32 --dir "$TMP/off"
check "... with a message that says what to do" grep -q "offline? copy the model folder by hand" "$TMP/err"
expect_status "fetch of an unknown model is a usage error" 2 $PS model fetch gpt-17

# model synth
check "model synth writes a full-size mclip folder" $PS model synth --arch mclip-distilbert --out "$TMP/synth"
check "... that loads and embeds to 512 values" sh -c "$PS embed --model '$TMP/synth' --ids 101,2000,102 | python3 -c 'import json,sys; assert len(json.loads(sys.stdin.readline())[\"embedding\"])==512'"
expect_status "model synth of an unknown architecture is a usage error" 2 $PS model synth --arch resnet --out "$TMP/x"
done_testing
