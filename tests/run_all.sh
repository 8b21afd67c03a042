#!/usr/bin/env bash
# Runs every check: the unit tests, the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer,
# every fuzz target's corpus replayed (plain and under the sanitizers), the end-to-end tests of the real binary,
# and the end-to-end tests once more against the sanitizer build of the binary (build-san/photoseek).
# Ends with one line "N passed, N failed, N skipped" and exits non-zero when anything failed.
#
# Nothing can pass by accident: a unit binary that crashes or exits non-zero, a sanitizer report (from a unit
# binary, a fuzz replay or any process of an end-to-end script, servers included), a build that fails, a fuzz
# target that replays nothing, an end-to-end script that exits non-zero or stops before its closing line, and a
# process an end-to-end script leaves running are each counted as a failure, with its name.
set -u
cd "$(dirname "$0")/.."
RESULTS=$(mktemp)
export RESULTS
FIX=${PHOTOSEEK_FIXTURES:-../shared/fixtures}
SANLOG=$(mktemp -d "${TMPDIR:-/tmp}/photoseek-sanlog-XXXXXX")
trap 'rm -rf "$RESULTS" "$SANLOG"' EXIT
# Sanitizer reports go to files (one per process), so that a report from a process whose exit status nobody
# reads (a server in the background, a child of a child) is still seen.
export ASAN_OPTIONS="detect_leaks=1:log_path=$SANLOG/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$SANLOG/ubsan"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0" # known leaks, each with its reason

pass() { echo "ok   $1"; echo pass >>"$RESULTS"; }
fail() { echo "FAIL $1"; echo fail >>"$RESULTS"; }
skip() { echo "skip $1"; echo skip >>"$RESULTS"; }

# sanitizer_reports WHAT: a failure (with the reports' first lines) if any process wrote a sanitizer report.
sanitizer_reports() {
    local f
    for f in "$SANLOG"/*; do
        [ -e "$f" ] || continue
        fail "$1: sanitizer report ($(basename "$f"))"
        sed -n '1,30p' "$f" | sed 's/^/    /'
        rm -f "$f"
    done
}

# run_unit LABEL BINARY: counts the "N passed, N failed, N skipped" line; a crash or a non-zero exit with no
# failed test counted is a failure of its own.
run_unit() {
    local label=$1 bin=$2 out st p f k cache
    out=$(mktemp)
    cache=$(mktemp -d "${TMPDIR:-/tmp}/photoseek-pack-XXXXXX") # the packed-weight cache of this run only
    PHOTOSEEK_PACK_CACHE=$cache "$bin" >"$out"
    st=$?
    rm -rf "$cache"
    local line
    line=$(tail -1 "$out")
    rm -f "$out"
    echo "$line"
    if [[ "$line" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
        p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} k=${BASH_REMATCH[3]}
        for _ in $(seq "$p"); do echo pass >>"$RESULTS"; done
        for _ in $(seq "$f"); do echo fail >>"$RESULTS"; done
        for _ in $(seq "$k"); do echo skip >>"$RESULTS"; done
        if [ "$st" != 0 ] && [ "$f" = 0 ]; then fail "$label exited $st with no failed test (a crash or a sanitizer report)"; fi
        if [ "$st" = 0 ] && [ "$f" != 0 ]; then fail "$label exited 0 with $f failed tests"; fi
    else
        fail "$label ended without its summary line (exit $st: crashed?)"
    fi
    sanitizer_reports "$label"
}

# san_build TARGET...: the sanitizer build (build-san/); a failure to build is a failure.
san_build() {
    local log
    log=$(mktemp)
    if make -s -j"${JOBS:-2}" BUILD=build-san SAN=1 OPT=-O1 "$@" >"$log" 2>&1; then rm -f "$log"; return 0; fi
    fail "sanitizer build of $*"
    tail -20 "$log" | sed 's/^/    /'
    rm -f "$log"
    return 1
}

# face-api's package (weights and demo photos) for the face unit tests, fetched once with npm into tests/faces/cache
# (the e2e tests fetch it too); without npm or the registry those unit tests report themselves skipped
if [ -x build/photoseek ] && ! bash tests/faces/fetch_cached.sh tests/faces/cache >/dev/null 2>&1; then
    echo "note: face-api's package could not be fetched into tests/faces/cache (npm)"
fi
echo "== unit tests"
if [ -x build/unit_tests ]; then run_unit "unit tests" build/unit_tests; else fail "build/unit_tests is missing"; fi

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
if san_build build-san/unit_tests; then run_unit "unit tests (sanitizers)" build-san/unit_tests; fi

# replay NAME BINARY LABEL: the corpus tests/fuzz/corpus/NAME (and the fixture images for the image target)
replay() {
    local name=$1 bin=$2 label=$3 extra=() out
    [ "$name" = image ] && extra=("$FIX/images")
    if [ ! -x "$bin" ]; then fail "$label: $bin is missing"; return; fi
    if out=$("$bin" "tests/fuzz/corpus/$name" "${extra[@]}" 2>&1); then
        case "$out" in
        *"replayed 0 inputs"*) skip "$label: the corpus tests/fuzz/corpus/$name is empty" ;;
        *) pass "$label: $(echo "$out" | tail -1)" ;;
        esac
    else
        fail "$label"
        echo "$out" | tail -8 | sed 's/^/    /'
    fi
    sanitizer_reports "$label"
}

echo "== fuzz corpora"
for src in tests/fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    t=${t#fuzz_}
    replay "$t" "build/fuzz_$t" "fuzz_$t"
    if san_build "build-san/fuzz_$t"; then replay "$t" "build-san/fuzz_$t" "fuzz_$t (sanitizers)"; fi
done

# run_e2e SCRIPT LABEL: runs one script in a session of its own; its own checks are counted by lib.sh. Its exit
# status must be 1 if a check failed and 0 otherwise, its closing line "e2e done: ..." must be there, and no
# process of its session may outlive it.
run_e2e() {
    local t=$1 label=$2 out pid sid st before after left p
    out=$(mktemp)
    before=$(grep -c '^fail$' "$RESULTS")
    E2E_SID_FILE=$out.sid setsid -w bash "$t" >"$out" 2>&1 &
    pid=$!
    tail -n +1 --pid="$pid" -f "$out"
    wait "$pid"
    st=$?
    sid=$(cat "$out.sid" 2>/dev/null)
    after=$(grep -c '^fail$' "$RESULTS")
    if ! grep -q "^e2e done: " "$out"; then
        fail "$label stopped before its end (exit $st)"
    elif [ "$st" != $((after > before ? 1 : 0)) ]; then
        fail "$label exited $st"
    fi
    rm -f "$out" "$out.sid"
    # lib.sh wrote the id of the script's session (the script's own pid: it leads the session)
    left=$([ -n "$sid" ] && pgrep -s "$sid")
    if [ -n "$left" ]; then
        fail "$label left processes running"
        ps -o pid=,args= -p "$(echo $left | tr ' ' ',')" | sed 's/^/    /'
        for p in $left; do kill -9 "$p" 2>/dev/null; done
    fi
    sanitizer_reports "$label"
}

for t in tests/e2e/test_*.sh tests/places/test_*.sh; do
    echo "== $t"
    run_e2e "$t" "$t"
done

echo "== end-to-end tests against the sanitizer build (build-san/photoseek)"
if san_build build-san/photoseek; then
    for t in tests/e2e/test_*.sh tests/places/test_*.sh; do
        echo "== $t (sanitizers)"
        PS=build-san/photoseek PSK_SANITIZERS=1 run_e2e "$t" "$t (sanitizers)"
    done
fi

echo "== took $SECONDS s"
passed=$(grep -c '^pass$' "$RESULTS")
failed=$(grep -c '^fail$' "$RESULTS")
skipped=$(grep -c '^skip$' "$RESULTS")
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
