#!/usr/bin/env bash
# Regenerates tests/faces/refs/*.json: face-api 1.7.15 under node (reference.cjs) on the pixels photoseek decodes
# from the parity inputs (make_inputs.sh). Needs npm (the registry) and a built photoseek.
#   bash tests/faces/make_refs.sh            (TFJS_BACKEND=cpu for the pure-JavaScript backend: much slower)
#   DETECTOR=tiny bash tests/faces/make_refs.sh   the Tiny Face Detector's references, into refs/tiny
set -eu
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
cache=${FACES_CACHE:-$PWD/cache}
bash fetch_cached.sh "$cache"
rm -rf "$cache/in" "$cache/ppm" && mkdir -p "$cache/ppm"
bash make_inputs.sh "$cache/demo" "$cache/in"
"$root/build/photoseek" faces --model "$cache/model" --save-input "$cache/ppm" "$cache"/in/* >/dev/null
[ -d node_modules/@vladmandic/face-api ] || npm ci --silent --no-audit --no-fund
TFJS_BACKEND=${TFJS_BACKEND:-wasm} DETECTOR=${DETECTOR:-ssd} node reference.cjs "$cache/model" "$cache"/ppm/*.ppm 2>/dev/null >"$cache/refs.jsonl"
refs=refs
[ "${DETECTOR:-ssd}" = tiny ] && refs=refs/tiny
mkdir -p $refs
python3 - "$cache/refs.jsonl" "$cache/ppm" $refs "${TFJS_BACKEND:-wasm}" "${DETECTOR:-ssd}" <<'PY'
import hashlib, json, os, sys
src, ppm, out, backend, detector = sys.argv[1:]
r7 = lambda v: float(f"{v:.7g}")
for line in open(src):
    r = json.loads(line)
    name = r["input"][:-4]  # NAME.ppm -> NAME
    r["input"] = name
    r["backend"] = "tfjs " + backend + " 4.22.0, face-api 1.7.15"
    if detector == "tiny": r["detector"] = "TinyFaceDetector, inputSize 416, scoreThreshold 0.5"
    r["pixels_sha256"] = hashlib.sha256(open(os.path.join(ppm, name + ".ppm"), "rb").read()).hexdigest()
    for f in r["faces"]:
        for k in ("box", "descriptor", "aligned"): f[k] = [r7(v) for v in f[k]]
        f["score"] = r7(f["score"])
        f["landmarks"] = [[r7(x), r7(y)] for x, y in f["landmarks"]]
    json.dump(r, open(os.path.join(out, name + ".json"), "w"), separators=(",", ":"))
    print(name, len(r["faces"]), "faces")
PY
