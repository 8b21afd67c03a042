#!/usr/bin/env python3
"""Checks `photoseek faces` output against face-api's (tests/faces/refs) and measures identity distances.

  compare.py parity REFS_DIR OUT.jsonl PPM_DIR   as many faces as the reference, each of its faces found: box
                                                IoU >= 0.97, score within 0.01,
                                                landmarks within 1 px, descriptor cosine >= 0.999 (the same
                                                decoded pixels: their sha256 is checked first)
  compare.py identity OUT.jsonl THRESHOLD       the same person in the variants (crop, mirror, brightness,
                                                rescale) within THRESHOLD of the original's face, the different
                                                people of one demo photo beyond it; prints both distributions
Exits 1 with a line per failure."""
import hashlib, json, math, os, sys

def iou(a, b):
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw, ih = max(0, min(ax1, bx1) - max(a[0], b[0])), max(0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter) if inter > 0 else 0.0

def cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

def lines(path):
    return [json.loads(l) for l in open(path) if l.strip()]

def parity(refs_dir, out_path, ppm_dir):
    fails, worst = [], {"iou": 1.0, "score": 0.0, "landmark_px": 0.0, "cosine": 1.0}
    n_faces = 0
    for row in lines(out_path):
        name = os.path.basename(row["input"])
        ref = json.load(open(os.path.join(refs_dir, name + ".json")))
        ppm = os.path.join(ppm_dir, name + ".ppm")
        if hashlib.sha256(open(ppm, "rb").read()).hexdigest() != ref["pixels_sha256"]:
            fails.append(f"{name}: decoded pixels differ from the reference's input (sha256)")
            continue
        if "error" in row:
            fails.append(f"{name}: {row['error']}")
            continue
        if len(row["faces"]) != len(ref["faces"]):  # no face missing, and none the reference does not report
            fails.append(f"{name}: {len(row['faces'])} faces, the reference {len(ref['faces'])}")
        for i, rf in enumerate(ref["faces"]):
            n_faces += 1
            best = max(row["faces"], key=lambda f: iou(f["box"], rf["box"]), default=None)
            if best is None or iou(best["box"], rf["box"]) < 0.97:
                fails.append(f"{name}: reference face {i} at {[round(v) for v in rf['box']]} not found")
                continue
            o, s = iou(best["box"], rf["box"]), abs(best["score"] - rf["score"])
            lm = max(math.dist(p, q) for p, q in zip(best["landmarks"], rf["landmarks"]))
            c = cosine(best["descriptor"], rf["descriptor"])
            worst = {"iou": min(worst["iou"], o), "score": max(worst["score"], s),
                     "landmark_px": max(worst["landmark_px"], lm), "cosine": min(worst["cosine"], c)}
            if s > 0.01: fails.append(f"{name}: face {i}: score {best['score']:.4f} vs {rf['score']:.4f}")
            if lm > 1.0: fails.append(f"{name}: face {i}: a landmark {lm:.2f} px from the reference's")
            if c < 0.999: fails.append(f"{name}: face {i}: descriptor cosine {c:.5f}")
    print(f"parity: {n_faces} reference faces; worst box IoU {worst['iou']:.5f}, score difference "
          f"{worst['score']:.2e}, landmark distance {worst['landmark_px']:.4f} px, descriptor cosine {worst['cosine']:.7f}")
    return fails, n_faces

# How each variant (make_inputs.sh) maps a box of its original: (original, function of box and original size).
VARIANTS = {
    "v1_crop.png": ("sample1.jpg", lambda b, w, h: [b[0] - 200, b[1] - 100, b[2], b[3]]),
    "v1_mirror.png": ("sample1.jpg", lambda b, w, h: [w - b[0] - b[2], b[1], b[2], b[3]]),
    "v1_bright.png": ("sample1.jpg", lambda b, w, h: b),
    "v1_half.png": ("sample1.jpg", lambda b, w, h: [v * 0.5 for v in b]),
    "v4_dark.png": ("sample4.jpg", lambda b, w, h: b),
    "v4_mirror_crop.png": ("sample4.jpg", lambda b, w, h: [w - b[0] - b[2] - 300, b[1], b[2], b[3]]),
}
SIZES = {"sample1.jpg": (1920, 1280), "sample4.jpg": (1920, 1448)}

def identity(out_path, threshold):
    rows = {os.path.basename(r["input"]): r for r in lines(out_path)}
    same, diff, fails = [], [], []
    for v, (orig, move) in VARIANTS.items():
        if v not in rows or orig not in rows:
            fails.append(f"{v}: missing from the output")
            continue
        w, h = SIZES[orig]
        for f in rows[v]["faces"]:
            cand = max(rows[orig]["faces"], key=lambda o: iou(move(o["box"], w, h), f["box"]))
            if iou(move(cand["box"], w, h), f["box"]) < 0.5:
                fails.append(f"{v}: a face at {[round(x) for x in f['box']]} matches none of {orig}'s")
                continue
            d = math.dist(f["descriptor"], cand["descriptor"])
            same.append(d)
            if d >= threshold: fails.append(f"{v}: the same face is {d:.3f} from {orig}'s (threshold {threshold})")
    for name, r in rows.items():
        if not name.startswith("sample"): continue
        fs = r["faces"]
        for i in range(len(fs)):
            for j in range(i + 1, len(fs)):
                d = math.dist(fs[i]["descriptor"], fs[j]["descriptor"])
                diff.append(d)
                if d < threshold: fails.append(f"{name}: faces {i} and {j} (different people) only {d:.3f} apart")
    q = lambda xs: ", ".join(f"{x:.3f}" for x in sorted(xs))
    print(f"identity: same person across variants ({len(same)}): {q(same)}")
    print(f"identity: different people in one photo ({len(diff)}): {q(diff)}")
    return fails, len(same) + len(diff)

if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "parity":
        fails, n = parity(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "identity":
        fails, n = identity(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit(__doc__)
    for f in fails: print("FAIL " + f)
    sys.exit(1 if fails or n == 0 else 0)
