#!/usr/bin/env python3
"""The people of a library as each store numbers them, for comparing a SQLite file and a server store.
usage: people.py PS DB ROOT who          every face: "file person x y w h face_id name" (file relative to ROOT)
       people.py PS DB ROOT at FILE X    the person whose face in FILE spans x = X
       people.py PS DB ROOT face FILE X  that face's id
       people.py PS DB_A DB_B ROOT same  both libraries group the same faces into the same people with the same names
                                         (each person as the set of its faces: file, box, frame; ids left out)"""
import json
import os
import subprocess
import sys


def run(ps, db, *args):
    out = subprocess.run([ps, "people", "--db", db, "--json", *args], capture_output=True, text=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def who(ps, db, root):
    rows = []
    for p in run(ps, db, "--min-faces", "1"):
        for photo in run(ps, db, "--photos", str(p["id"])):
            for f in photo["faces"]:
                rows.append((os.path.relpath(photo["path"], root), p["id"], *[round(v) for v in f["box"]], f["id"],
                             p["name"] or "-", f["frame_ms"], f["by_user"]))
    return rows


def find(rows, file, x):
    hits = [r for r in rows if r[0] == file and r[2] <= x <= r[2] + r[4]]
    assert hits, f"no face in {file} at x = {x}"
    return hits[0]


def people(rows):
    by = {}
    for r in rows:
        by.setdefault(r[1], []).append((r[0], *r[2:6], r[8], r[9]))
    return sorted((tuple(sorted(faces)), next(r[7] for r in rows if r[1] == pid)) for pid, faces in by.items())


ps = sys.argv[1]
if sys.argv[-1] == "same":
    a, b, root = sys.argv[2:5]
    pa, pb = people(who(ps, a, root)), people(who(ps, b, root))
    if pa != pb:
        only_a = [p for p in pa if p not in pb]
        only_b = [p for p in pb if p not in pa]
        sys.exit(f"the people differ:\n only in {a}: {only_a[:3]}\n only in {b}: {only_b[:3]}")
    print(f"{len(pa)} people the same")
else:
    db, root, cmd = sys.argv[2:5]
    rows = who(ps, db, root)
    if cmd == "who":
        for r in rows:
            print(*r[:8])
    else:
        hit = find(rows, sys.argv[5], float(sys.argv[6]))
        print(hit[1] if cmd == "at" else hit[6])
