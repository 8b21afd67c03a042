#!/usr/bin/env python3
"""Runs one photoseek command on two libraries (a SQLite file and a server store) and checks that the answers are the
same: exit status, the same paths in the same order, scores within 1e-4, every other field equal (ids are each
store's own). usage: same.py PS SQLITE_DB SERVER_URL [--empty-ok] [--keys K1,K2] [--no-ids] COMMAND ARGS...   (--db
and --json are added; --keys compares only those fields besides path and score, for a store that keeps less: Pinecone;
--no-ids leaves out the ids inside the fields too: the faces' of `people`)

search and similar are compared twice: with --all (every member of a near-duplicate group a result of its own), and
as a user sees them, each group collapsed to its best-ranked member (not for --keys: a store without groups). The
collapsed results must stand for the same groups: each store's `serve` is asked for /api/duplicates?group=N of its
results' groups, and the two stores' answers must have the same keeper (first), the same members with the same
fields, and the results' group_size (a keeper may differ only where the SQLite file's stored one is stale: a fresh
`duplicates` there names the server's). Where a group's best members tie (a byte-identical copy scores exactly as its
original) either may stand for it: the two must then tie in both stores."""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

ps, db, url, *args = sys.argv[1:]
empty_ok = args[:1] == ["--empty-ok"]
args = args[1:] if empty_ok else args
keys = None
if args[:1] == ["--keys"]:
    keys, args = set(args[1].split(",")), args[2:]
no_ids = args[:1] == ["--no-ids"]
args = args[1:] if no_ids else args
collapsible = args[:1] in (["search"], ["similar"])


def strip_ids(v):
    """v without the ids of faces and people at any depth (each store numbers its own)"""
    if isinstance(v, dict):
        return {k: strip_ids(x) for k, x in v.items() if k not in ("id", "face")}
    return [strip_ids(x) for x in v] if isinstance(v, list) else v


def run(where, extra):
    out = subprocess.run([ps, *args, *extra, "--db", where, "--json"], capture_output=True, text=True)
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    return out.returncode, [strip_ids(r) for r in rows] if no_ids else rows, out.stderr


# results whose scores tie (within 1e-5: the stores compute in float32, in their own order) may come in either order:
# within each run of tied scores the results are compared as sets (by path, or by what `key` makes of them), and the
# pairs matched by it
def runs(rs, key):
    out, at = [], 0
    while at < len(rs):
        end = at + 1
        while end < len(rs) and "score" in rs[at] and abs(rs[end]["score"] - rs[end - 1]["score"]) < 1e-5:
            end += 1
        out.append(sorted(rs[at:end], key=lambda r: repr(key(r))))
        at = end
    return out


def path(r):
    return r.get("path")


def compare(extra):
    ca, a, ea = run(db, extra)
    cb, b, eb = run(url, extra)
    assert ca == cb and (ca == 0 or (empty_ok and ca == 1)), (extra, ca, cb, ea, eb)
    assert a or empty_ok, ("no results", extra, ea)
    ra, rb = runs(a, path), runs(b, path)
    assert len(a) == len(b) and [[path(x) for x in r] for r in ra] == [[path(y) for y in r] for r in rb], (
        extra, [path(x) for x in a], [path(y) for y in b])
    a, b = [x for r in ra for x in r], [y for r in rb for y in r]
    for x, y in zip(a, b):
        if "score" in x:
            assert abs(x["score"] - y["score"]) < 1e-4, (x, y)
        for k in keys if keys is not None else set(x) | set(y):
            if k not in ("score", "id"):
                assert x.get(k) == y.get(k), (k, x, y)
    return a, b


all_a, all_b = compare(["--all"] if collapsible else [])
if not collapsible or keys is not None or "--all" in args:
    print(f"{len(all_a)} results the same")
    sys.exit(0)

# ---- collapsed: the groups through each store's server
servers, groups = {}, {}


def server(where):
    if where not in servers:
        port_file = tempfile.mktemp(prefix="same-port-")
        p = subprocess.Popen([ps, "serve", "--db", where, "--port", "0", "--port-file", port_file],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.05)
        servers[where] = (p, f"http://127.0.0.1:{open(port_file).read().strip()}")
        os.unlink(port_file)
    return servers[where][1]


def group(where, g):
    if (where, g) not in groups:
        with urllib.request.urlopen(f"{server(where)}/api/duplicates?group={g}", timeout=30) as r:
            d = json.load(r)
        assert d["count"] == len(d["results"]) and all(m["group"] == g for m in d["results"]), d
        groups[(where, g)] = d["results"]
    return groups[(where, g)]


def fresh_groups():
    if "fresh" not in groups:
        out = subprocess.run([ps, "duplicates", "--db", db, "--json"], capture_output=True, text=True)
        groups["fresh"] = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    return groups["fresh"]


def key_in(where):
    # a collapsed result stands for its group: the group's members; a result in no group for itself
    return lambda r: ("group", tuple(sorted(m["path"] for m in group(where, r["group"])))) if r.get("group") else r["path"]


def same_group(x, y):
    """The two results' groups are the same (keeper, members and their fields, sizes); whether the results' own
    fields are to be compared too (the same member stands for the group)."""
    if not x.get("group"):
        assert not y.get("group"), (x, y)
        return True
    ga, gb = group(db, x["group"]), group(url, y["group"])
    assert x["group_size"] == y["group_size"] == len(ga) == len(gb), (x, y, len(ga), len(gb))
    if ga[0]["path"] != gb[0]["path"]:
        # the SQLite file's stored keeper is the one picked when the group was last updated (a file changed in place
        # since keeps its id, and no update runs): the server's, picked afresh by migrate, must then be what a fresh
        # `duplicates` on the SQLite file says
        fresh = next((g for g in fresh_groups() if {m["path"] for m in g["members"]} == {m["path"] for m in ga}), None)
        assert fresh and fresh["keeper"] == gb[0]["path"], ("keepers differ", ga[0], gb[0], fresh and fresh["keeper"])
        print(f"note: the SQLite file's stored keeper {ga[0]['path']} is stale; {gb[0]['path']} as `duplicates` says",
              file=sys.stderr)
    assert x["path"] in {m["path"] for m in ga} and y["path"] in {m["path"] for m in gb}, (x, y)
    by_path = {m["path"]: m for m in gb}
    for m in ga:
        o = by_path[m["path"]]
        for k in set(m) | set(o):
            if k not in ("id", "group", "thumb", "file"):  # the URLs name each store's own id
                assert m.get(k) == o.get(k), ("group members differ", k, m, o)
    if x["path"] == y["path"]:
        return True
    # a tie: each stands for the group in one store; they score alike in both (where --all lists them)
    sa, sb = {r["path"]: r["score"] for r in all_a}, {r["path"]: r["score"] for r in all_b}
    for p, s in ((y["path"], x["score"]), (x["path"], y["score"])):
        for scores in (sa, sb):
            assert p not in scores or abs(scores[p] - s) < 1e-5, ("not a tie", x, y, scores.get(p))
    return False


try:
    # the keys are each store's own (its group ids name its groups): each side's results get their store's
    ca, a, ea = run(db, [])
    cb, b, eb = run(url, [])
    assert ca == cb and (ca == 0 or (empty_ok and ca == 1)), ("collapsed", ca, cb, ea, eb)
    assert a or empty_ok, ("no results", "collapsed", ea)
    ka, kb = key_in(db), key_in(url)
    ra, rb = runs(a, ka), runs(b, kb)
    assert len(a) == len(b) and [[ka(x) for x in r] for r in ra] == [[kb(y) for y in r] for r in rb], (
        "collapsed", [(x.get("path"), x.get("group_size")) for x in a], [(y.get("path"), y.get("group_size")) for y in b])
    a, b = [x for r in ra for x in r], [y for r in rb for y in r]
    for x, y in zip(a, b):
        assert abs(x["score"] - y["score"]) < 1e-4, (x, y)
        if same_group(x, y):
            for k in set(x) | set(y):
                if k not in ("score", "id", "group"):
                    assert x.get(k) == y.get(k), (k, x, y)
    n_groups = sum(1 for x in a if x.get("group"))
finally:
    for p, _ in servers.values():
        p.terminate()
        p.wait()
print(f"{len(all_a)} results the same; collapsed: {len(a)} results the same, {n_groups} of them groups with the same members")
