#!/usr/bin/env python3
"""Runs one photoseek command on two libraries (a SQLite file and a server store) and checks that the answers are the
same: exit status, the same paths in the same order, scores within 1e-4, every other field equal (ids are each
store's own; search and similar get --all). usage: same.py PS SQLITE_DB SERVER_URL [--empty-ok] [--keys K1,K2] [--no-ids] COMMAND ARGS...
(--db and --json are added; --keys compares only those fields besides path and score, for a store that keeps less:
Pinecone; --no-ids leaves out the ids inside the fields too: the faces' of `people`)"""
import json
import subprocess
import sys

ps, db, url, *args = sys.argv[1:]
empty_ok = args[:1] == ["--empty-ok"]
args = args[1:] if empty_ok else args
keys = None
if args[:1] == ["--keys"]:
    keys, args = set(args[1].split(",")), args[2:]
no_ids = args[:1] == ["--no-ids"]
args = args[1:] if no_ids else args


def strip_ids(v):
    """v without the ids of faces and people at any depth (each store numbers its own)"""
    if isinstance(v, dict):
        return {k: strip_ids(x) for k, x in v.items() if k not in ("id", "face")}
    return [strip_ids(x) for x in v] if isinstance(v, list) else v


# only the SQLite file keeps near-duplicate groups, so its results would come collapsed: a comparison of stores
# lists every member (--all), as a user comparing them would
extra = ["--all"] if args[:1] in (["search"], ["similar"]) else []


def run(where):
    out = subprocess.run([ps, *args, *extra, "--db", where, "--json"], capture_output=True, text=True)
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    return out.returncode, [strip_ids(r) for r in rows] if no_ids else rows, out.stderr


ca, a, ea = run(db)
cb, b, eb = run(url)
assert ca == cb and (ca == 0 or (empty_ok and ca == 1)), (ca, cb, ea, eb)
assert a or empty_ok, ("no results", ea)
# results whose scores tie (within 1e-5: the stores compute in float32, in their own order) may come in either order:
# within each run of tied scores the paths are compared as sets, and the pairs matched by path
def runs(rs):
    out, at = [], 0
    while at < len(rs):
        end = at + 1
        while end < len(rs) and "score" in rs[at] and abs(rs[end]["score"] - rs[end - 1]["score"]) < 1e-5:
            end += 1
        out.append(sorted(rs[at:end], key=lambda r: r.get("path")))
        at = end
    return out
ra, rb = runs(a), runs(b)
assert len(a) == len(b) and [[x.get("path") for x in r] for r in ra] == [[y.get("path") for y in r] for r in rb], (
    [x.get("path") for x in a], [y.get("path") for y in b])
a, b = [x for r in ra for x in r], [y for r in rb for y in r]
for x, y in zip(a, b):
    if "score" in x:
        assert abs(x["score"] - y["score"]) < 1e-4, (x, y)
    for k in keys if keys is not None else set(x) | set(y):
        if k not in ("score", "id"):
            assert x.get(k) == y.get(k), (k, x, y)
print(f"{len(a)} results the same")
