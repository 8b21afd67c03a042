#!/usr/bin/env python3
"""Reads the generated test set (make_set.sh) with `photoseek ocr` and reports, per language and kind, how many
phrases are found (the folded phrase inside the folded text, as search --text matches), how many are found by a
shorter search (`part`: the phrase's longest word in English, its first three characters in Chinese), the gate's
scores, and false matches on the photos without text. usage: measure.py PHOTOSEEK DIR"""
import json
import re
import subprocess
import sys
import unicodedata


def fold(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).casefold()
    s = re.sub(r"\s+", " ", s).strip()
    cjk = r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uff60]"
    return re.sub(rf"(?<={cjk}) (?={cjk})", "", s)


def part(phrase: str, lang: str) -> str:
    """What a person might type to find the phrase: its longest word, or its first three Han characters."""
    return max(phrase.split(), key=len) if lang == "en" else phrase[:3]


def main() -> None:
    ps, d = sys.argv[1], sys.argv[2]
    rows = [l.rstrip("\n").split("\t") for l in open(f"{d}/manifest.tsv", encoding="utf-8")]
    files = [f"{d}/{r[0]}" for r in rows]
    out = subprocess.run([ps, "ocr", *files], capture_output=True, text=True).stdout.splitlines()
    got = {json.loads(l)["input"]: json.loads(l) for l in out}
    phrases = [fold(r[2]) for r in rows if r[2] != "-"]
    stats = {}
    for (name, lang, phrase), f in zip(rows, files):
        r = got.get(f, {})
        text = fold(r.get("text", ""))
        kind = name.split("_")[0] if lang != "-" else "notext"
        key = f"{lang}/{kind}"
        s = stats.setdefault(key, {"n": 0, "found": 0, "part": 0, "gated": 0, "false": 0, "missed": []})
        s["n"] += 1
        s["gated"] += r.get("gate", 0) >= 0.5
        if phrase != "-":
            ok = fold(phrase) in text
            s["found"] += ok
            s["part"] += fold(part(phrase, lang)) in text
            if not ok:
                s["missed"].append(f"{name}: {phrase!r} read {r.get('text', r.get('error'))!r}"[:160])
        else:
            s["false"] += any(p in text for p in phrases)
    for k, s in sorted(stats.items()):
        print(f"{k:14} n={s['n']:3} found={s['found']:3} part={s['part']:3} gated={s['gated']:3} false={s['false']}")
        for m in s["missed"][:6]:
            print("    missed", m)
    en = [s for k, s in stats.items() if k.startswith("en/")]
    zh = [s for k, s in stats.items() if k.startswith("zh/")]
    rate = lambda ss, k="found": sum(s[k] for s in ss) / max(1, sum(s["n"] for s in ss))
    print(f"RESULT ocr_found_en={rate(en):.3f} ocr_found_zh={rate(zh):.3f} "
          f"ocr_found_part_en={rate(en, 'part'):.3f} ocr_found_part_zh={rate(zh, 'part'):.3f} "
          f"ocr_false_matches={stats.get('-/notext', {}).get('false', 0)} "
          f"gate_pass_notext={stats.get('-/notext', {}).get('gated', 0)}")


if __name__ == "__main__":
    main()
