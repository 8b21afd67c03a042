#!/usr/bin/env bash
# Runs every check: the unit tests, the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer,
# the fuzz corpora replayed through the fuzz targets, and the end-to-end tests of the real binary.
# Ends with one line "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
RESULTS=$(mktemp)
export RESULTS
count_unit() { # adds the "N passed, N failed, N skipped" of a unit run to the results
    local line=$1
    local p f k
    p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1/p')
    f=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\2/p')
    k=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\3/p')
    if [ -z "$p" ]; then echo fail >>"$RESULTS"; return; fi
    for _ in $(seq "$p"); do echo pass >>"$RESULTS"; done
    for _ in $(seq "$f"); do echo fail >>"$RESULTS"; done
    for _ in $(seq "$k"); do echo skip >>"$RESULTS"; done
}

echo "== unit tests"
line=$(build/unit_tests | tail -1); st=${PIPESTATUS[0]}
echo "$line"
count_unit "$line"
[ "$st" = 0 ] || case "$line" in *" 0 failed, "*) echo "FAIL unit tests exited $st"; echo fail >>"$RESULTS";; esac

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
if make -s BUILD=build-san SAN=1 OPT=-O1 build-san/unit_tests >/dev/null; then
    line=$(ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build-san/unit_tests | tail -1)
    st=${PIPESTATUS[0]}
    echo "$line"
    count_unit "$line"
    # a leak or sanitizer report makes the run exit non-zero even when every test passed
    [ "$st" = 0 ] || case "$line" in *" 0 failed, "*) echo "FAIL sanitizers reported errors (exit $st)"; echo fail >>"$RESULTS";; esac
else
    echo "FAIL sanitizer build"; echo fail >>"$RESULTS"
fi

echo "== fuzz corpora"
for t in safetensors image http; do
    extra=""
    [ "$t" = image ] && extra="${PHOTOSEEK_FIXTURES:-../shared/fixtures}/images"
    if out=$(build/fuzz_$t tests/fuzz/corpus/$t $extra 2>&1); then echo "ok   fuzz_$t: $out"; echo pass >>"$RESULTS"
    else echo "FAIL fuzz_$t"; echo "$out" | tail -5; echo fail >>"$RESULTS"; fi
    if [ -x build-san/fuzz_$t ] || make -s BUILD=build-san SAN=1 OPT=-O1 build-san/fuzz_$t >/dev/null 2>&1; then
        if out=$(build-san/fuzz_$t tests/fuzz/corpus/$t $extra 2>&1); then echo "ok   fuzz_$t (sanitizers): $out"; echo pass >>"$RESULTS"
        else echo "FAIL fuzz_$t (sanitizers)"; echo "$out" | tail -5; echo fail >>"$RESULTS"; fi
    fi
done

for t in tests/e2e/test_*.sh tests/places/test_*.sh; do
    echo "== $t"
    bash "$t"
done

passed=$(grep -c '^pass$' "$RESULTS")
failed=$(grep -c '^fail$' "$RESULTS")
skipped=$(grep -c '^skip$' "$RESULTS")
rm -f "$RESULTS"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
