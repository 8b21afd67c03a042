#!/usr/bin/env bash
# The face engine end to end: `model fetch faces` (with npm, and from a tarball), `faces` against face-api's own
# outputs on the same pixels (tests/faces/refs), identity across crops, mirror images, rescales and brightness
# changes, and bad input (broken weights, no face, 50 faces, tiny and huge images) without a crash.
source "$(dirname "$0")/lib.sh"
face_model
M=$FM

# model fetch faces with the user's npm: the package's models land in DIR, nothing left staged beside it.
check "model fetch faces: npm pack, sha256 checked, model/ unpacked" sh -c \
    "$PS model fetch faces --dir '$TMP/npm/faces' 2>'$TMP/f.err' && test -s '$TMP/npm/faces/ssd_mobilenetv1_model.bin' && test ! -e '$TMP/npm/faces.incomplete'"
# a tarball that is not the pinned one is refused, and leaves nothing behind
cp "$CACHE/vladmandic-face-api-1.7.15.tgz" "$TMP/other.tgz" && printf 'x' >>"$TMP/other.tgz"
expect_status "model fetch faces --from: a different tarball is refused (exit 3)" 3 $PS model fetch faces --dir "$TMP/bad/faces" --from "$TMP/other.tgz"
check "model fetch faces --from: the refusal names the sha256" grep -q "sha256" "$TMP/err"
check "model fetch faces --from: nothing installed after a refusal" test ! -e "$TMP/bad/faces"

# Parity: every face the reference finds, on the same decoded pixels.
rm -rf "$TMP/in" "$TMP/ppm" && mkdir -p "$TMP/ppm"
bash tests/faces/make_inputs.sh "$CACHE/demo" "$TMP/in"
$PS faces --model "$M" --save-input "$TMP/ppm" "$TMP"/in/* >"$TMP/faces.jsonl" 2>"$TMP/faces.err"
check "faces: exit 0 on the demo photos and their variants" test $? = 0
check "faces: box IoU >= 0.97, score +-0.01, landmarks within 1 px, descriptor cosine >= 0.999" \
    python3 tests/faces/compare.py parity tests/faces/refs "$TMP/faces.jsonl" "$TMP/ppm"
python3 tests/faces/compare.py parity tests/faces/refs "$TMP/faces.jsonl" "$TMP/ppm" | head -1
check "faces: the same person within the threshold, different people beyond it" \
    python3 tests/faces/compare.py identity "$TMP/faces.jsonl" 0.45
python3 tests/faces/compare.py identity "$TMP/faces.jsonl" 0.45 | head -2
# The descriptor's products are bf16 where the CPU has AVX-512 BF16; PHOTOSEEK_FACES_FP32=1 keeps every product fp32,
# within the tolerances as well (on other CPUs both runs are fp32).
PHOTOSEEK_FACES_FP32=1 $PS faces --model "$M" "$TMP"/in/* >"$TMP/fp32.jsonl" 2>/dev/null
check "faces: PHOTOSEEK_FACES_FP32=1 (fp32 products everywhere) within the tolerances too" \
    python3 tests/faces/compare.py parity tests/faces/refs "$TMP/fp32.jsonl" "$TMP/ppm"
python3 tests/faces/compare.py parity tests/faces/refs "$TMP/fp32.jsonl" "$TMP/ppm" | head -1
# The reference kernels give the same answer (PHOTOSEEK_KERNELS=ref: the scalar depthwise convolution and GEMM).
PHOTOSEEK_KERNELS=ref $PS faces --model "$M" --threads 1 "$TMP/in/sample1.jpg" >"$TMP/ref.jsonl"
check "faces: the scalar kernels agree with the reference too" \
    python3 tests/faces/compare.py parity tests/faces/refs "$TMP/ref.jsonl" "$TMP/ppm"

# The Tiny Face Detector against face-api's TinyFaceDetector (inputSize 416, scoreThreshold 0.5) on the same pixels,
# on the fast kernels and the scalar ones.
$PS faces --detector tiny --model "$M" "$TMP"/in/* >"$TMP/tiny.jsonl" 2>"$TMP/tiny.err"
check "faces --detector tiny: exit 0 on the demo photos and their variants" test $? = 0
check "faces --detector tiny: box IoU >= 0.97, score +-0.01, landmarks within 1 px, descriptor cosine >= 0.999" \
    python3 tests/faces/compare.py parity tests/faces/refs/tiny "$TMP/tiny.jsonl" "$TMP/ppm"
python3 tests/faces/compare.py parity tests/faces/refs/tiny "$TMP/tiny.jsonl" "$TMP/ppm" | head -1
PHOTOSEEK_KERNELS=ref $PS faces --detector tiny --model "$M" --threads 1 "$TMP/in/sample1.jpg" "$TMP/in/sample4.jpg" >"$TMP/tiny_ref.jsonl"
check "faces --detector tiny: the scalar kernels agree with the reference too" \
    python3 tests/faces/compare.py parity tests/faces/refs/tiny "$TMP/tiny_ref.jsonl" "$TMP/ppm"
# auto (index's default): the tiny detector's faces where it is sure of every face it sees (sample1: its 3 faces),
# the SSD's where it is unsure of one (sample2: it sees 1 of the 3 faces surely, and scores 0.40 another; sample4:
# 0.44 for the fourth face)
$PS faces --detector auto --model "$M" "$TMP"/in/sample[124].jpg >"$TMP/auto.jsonl"
check "faces --detector auto: the tiny detector's faces on sample1, the SSD's on sample2 and sample4" python3 - \
    "$TMP/auto.jsonl" "$TMP/tiny.jsonl" "$TMP/faces.jsonl" <<'PY'
import json, sys
rows = lambda p: {json.loads(l)["input"].rsplit("/", 1)[-1]: json.loads(l)["faces"] for l in open(p)}
auto, tiny, ssd = rows(sys.argv[1]), rows(sys.argv[2]), rows(sys.argv[3])
assert auto["sample1.jpg"] == tiny["sample1.jpg"] and len(auto["sample1.jpg"]) == 3
for s in ("sample2.jpg", "sample4.jpg"):
    assert len(tiny[s]) < len(ssd[s]), (s, len(tiny[s]), len(ssd[s]))
    assert auto[s] == ssd[s], s
PY
# the bands are fixed: a lower --min-score keeps the SSD where the tiny detector is in doubt (and filters its faces)
$PS faces --detector auto --min-score 0.3 --model "$M" "$TMP/in/sample2.jpg" >"$TMP/auto_low.jsonl"
$PS faces --detector ssd --min-score 0.3 --model "$M" "$TMP/in/sample2.jpg" >"$TMP/ssd_low.jsonl"
check "faces --detector auto --min-score 0.3: still the SSD's faces on sample2" python3 -c "
import json, sys; a, s = (json.load(open(p))['faces'] for p in sys.argv[1:]); assert a == s and len(a) >= 3, (len(a), len(s))" \
    "$TMP/auto_low.jsonl" "$TMP/ssd_low.jsonl"
# Where the tiny detector is blind (collages of the demo photos, whose faces are 2 and 4 times smaller; a face cropped
# so tight that it fills the picture) auto goes to the SSD and finds what it finds; a photo without a face stays
# with the tiny detector and finds none (the SSD calls the cat in the fixtures' photo_chelsea a face).
D=$CACHE/demo
/usr/bin/montage "$D/sample1.jpg" "$D/sample3.jpg" -tile 2x1 -geometry +0+0 "$TMP/m2.jpg"
/usr/bin/montage "$D/sample1.jpg" "$D/sample3.jpg" "$D/sample5.jpg" "$D/sample6.jpg" -tile 2x2 -geometry +0+0 "$TMP/m4.jpg"
/usr/bin/montage "$D/sample1.jpg" "$D/sample2.jpg" "$D/sample3.jpg" "$D/sample4.jpg" "$D/sample5.jpg" "$D/sample6.jpg" \
    "$D/sample1.jpg" "$D/sample3.jpg" "$D/sample5.jpg" "$D/sample2.jpg" "$D/sample4.jpg" "$D/sample6.jpg" \
    "$D/sample1.jpg" "$D/sample3.jpg" "$D/sample5.jpg" "$D/sample6.jpg" -tile 4x4 -geometry 960x640+0+0 "$TMP/m16.jpg"
/usr/bin/convert "$D/sample1.jpg" -crop 300x330+350+300 +repage "$TMP/close.png"
set -- "$TMP/m2.jpg" "$TMP/m4.jpg" "$TMP/m16.jpg" "$TMP/close.png" "$FIX/images/photo_chelsea.jpg" "$FIX/images/photo_coffee.jpg"
for d in ssd tiny auto; do $PS faces --detector $d --model "$M" "$@" >"$TMP/set_$d.jsonl"; done
check "faces --detector auto: the SSD's faces on the collages and the close crop, none on the photos without a face" \
    python3 - "$TMP" <<'PY'
import json, sys
n = lambda d: [len(json.loads(l)["faces"]) for l in open(f"{sys.argv[1]}/set_{d}.jsonl")]
ssd, tiny, auto = n("ssd"), n("tiny"), n("auto")
print("ssd", ssd, "tiny", tiny, "auto", auto)
assert ssd[:4] == auto[:4] and all(s >= 1 for s in ssd[:4]), (ssd, auto)
assert sum(tiny[:4]) < sum(ssd[:4]) // 4, tiny
assert auto[4:] == [0, 0] and tiny[4:] == [0, 0], (auto, tiny)
PY
expect_status "faces: --detector other is a usage error (2)" 2 $PS faces --model "$M" --detector yolo "$TMP/in/sample1.jpg"
check "faces: ... naming the choices" grep -q "ssd, tiny or auto" "$TMP/err"

# The JSON contract: one line per input in order, an error line for a broken file, exit 1.
printf 'not an image' >"$TMP/broken.jpg"
/usr/bin/convert -size 640x480 xc:skyblue "$TMP/noface.png"
$PS faces --json --model "$M" "$TMP/in/sample1.jpg" "$TMP/broken.jpg" "$TMP/noface.png" >"$TMP/c.jsonl" 2>/dev/null
check "faces: exit 1 when one input fails" test $? = 1
check "faces: lines in input order, an error naming the file, [] for no face" python3 - "$TMP/c.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 3, rows
f = rows[0]["faces"]
assert len(f) == 3 and all(len(x["box"]) == 4 and len(x["landmarks"]) == 68 and len(x["descriptor"]) == 128 for x in f)
assert all(f[i]["score"] >= f[i + 1]["score"] for i in range(2))
assert "broken.jpg" in rows[1]["error"], rows[1]
assert rows[2]["faces"] == [], rows[2]
PY

# EXIF orientation: a photo stored sideways with orientation 6 gives the faces of the upright photo.
/usr/bin/convert "$TMP/in/sample1.jpg" -rotate -90 -strip -quality 95 "$TMP/rot0.jpg"
python3 - "$TMP/rot0.jpg" "$TMP/rot.jpg" <<'PY'
import struct, sys  # an APP1 Exif segment whose IFD0 holds Orientation = 6, right after SOI
jpeg = open(sys.argv[1], "rb").read()
tiff = b"II*\0" + struct.pack("<IH", 8, 1) + struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0) + struct.pack("<I", 0)
body = b"Exif\0\0" + tiff
open(sys.argv[2], "wb").write(jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + jpeg[2:])
PY
$PS faces --model "$M" "$TMP/rot.jpg" >"$TMP/rot.jsonl"
check "faces: boxes in the EXIF-oriented image's pixels" python3 - "$TMP/rot.jsonl" "$TMP/faces.jsonl" <<'PY'
import json, sys
rot = json.loads(open(sys.argv[1]).readline())["faces"]
orig = next(json.loads(l) for l in open(sys.argv[2]) if json.loads(l)["input"].endswith("sample1.jpg"))["faces"]
assert len(rot) == len(orig) == 3, (len(rot), len(orig))
for a, b in zip(sorted(f["box"][0] for f in rot), sorted(f["box"][0] for f in orig)):
    assert abs(a - b) < 20, (a, b)
PY

# 50 faces: a tiled image of one face; tiny and huge images: answers, never a crash.
/usr/bin/convert "$TMP/in/sample1.jpg" -crop 300x330+350+300 +repage -resize 200x220 "$TMP/face.png"
/usr/bin/convert "$TMP/face.png" -write mpr:f +delete \( mpr:f mpr:f mpr:f mpr:f mpr:f mpr:f mpr:f mpr:f mpr:f mpr:f +append \) \
    -write mpr:row +delete mpr:row mpr:row mpr:row mpr:row mpr:row -append "$TMP/fifty.png"
/usr/bin/convert -size 1x1 xc:white "$TMP/tiny.png"
/usr/bin/convert -size 3x2000 xc:gray "$TMP/thin.png"
/usr/bin/convert -size 8000x6000 xc:gray40 -quality 80 "$TMP/big.jpg"
python3 - "$TMP/huge.png" <<'PY'
import struct, sys, zlib  # 11000 x 10000 gray: past the 100-megapixel cap of the decoder
w, h = 11000, 10000
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
raw = zlib.compress((b"\0" + b"\x80" * w) * h, 1)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                              + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
PY
$PS faces --model "$M" "$TMP/fifty.png" "$TMP/tiny.png" "$TMP/thin.png" "$TMP/big.jpg" "$TMP/huge.png" >"$TMP/odd.jsonl" 2>"$TMP/odd.err"
check "faces: 50 tiled faces (45 or more found); tiny, thin, 48-megapixel and 110-megapixel images answered" python3 - "$TMP/odd.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 5, rows
assert 45 <= len(rows[0]["faces"]) <= 50, len(rows[0]["faces"])  # 48 here, as tiles at the edges are cut
assert rows[1]["faces"] == [] and rows[2]["faces"] == [] and rows[3]["faces"] == [], rows[1:4]
assert "huge.png" in rows[4]["error"] and "pixels" in rows[4]["error"], rows[4]
PY
$PS faces --model "$M" --max-faces 5 "$TMP/fifty.png" >"$TMP/five.jsonl"
check "faces --max-faces 5: the five best" python3 -c "import json,sys; assert len(json.load(open(sys.argv[1]))['faces']) == 5" "$TMP/five.jsonl"

# Broken model folders: exit 3 with a message naming the file (and the tensor).
mkdir -p "$TMP/trunc" "$TMP/wrong"
cp "$M"/*.json "$M"/*.bin "$TMP/trunc/" && truncate -s 1000000 "$TMP/trunc/face_recognition_model.bin"
expect_status "faces: a truncated shard is exit 3" 3 $PS faces --model "$TMP/trunc" "$TMP/in/sample1.jpg"
check "faces: the truncated shard is named with the tensor" sh -c "grep -q 'face_recognition_model.bin: truncated: tensor' '$TMP/err'"
cp "$M"/*.json "$M"/*.bin "$TMP/wrong/"
cp "$M/face_landmark_68_model-weights_manifest.json" "$TMP/wrong/face_recognition_model-weights_manifest.json"
expect_status "faces: a wrong manifest is exit 3" 3 $PS faces --model "$TMP/wrong" "$TMP/in/sample1.jpg"
check "faces: the wrong manifest's missing tensor is named" grep -q "face_recognition_model-weights_manifest.json: missing tensor 'conv32_down/conv/filters'" "$TMP/err"
mkdir -p "$TMP/notiny" && cp "$M"/*.json "$M"/*.bin "$TMP/notiny/" && rm "$TMP/notiny/tiny_face_detector_model.bin"
expect_status "faces: a missing tiny detector shard is exit 3" 3 $PS faces --model "$TMP/notiny" "$TMP/in/sample1.jpg"
check "faces: ... naming the file" grep -q "tiny_face_detector_model.bin" "$TMP/err"
expect_status "faces: no model folder is exit 3" 3 $PS faces --model "$TMP/none" "$TMP/in/sample1.jpg"
check "faces: ... saying how to get one" grep -q "model fetch faces" "$TMP/err"
expect_status "faces: no image is a usage error (2)" 2 $PS faces --model "$M"
expect_status "faces: --min-score 2 is a usage error (2)" 2 $PS faces --model "$M" --min-score 2 "$TMP/in/sample1.jpg"
done_testing
