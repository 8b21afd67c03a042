# Helpers for the end-to-end tests: each check prints "ok"/"FAIL" and is counted in $RESULTS.
PS=${PS:-build/photoseek}
FIX=${PHOTOSEEK_FIXTURES:-../shared/fixtures}
: "${RESULTS:=/dev/null}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/photoseek-e2e-XXXXXX")
trap 'rm -rf "$TMP"' EXIT

pass() { echo "ok   $1"; echo pass >>"$RESULTS"; }
fail() { echo "FAIL $1"; shift; for line in "$@"; do echo "    $line"; done; echo fail >>"$RESULTS"; }

# check NAME COMMAND...: passes when the command succeeds
check() {
    local name=$1; shift
    local out
    if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(echo "$out" | tail -5)"; fi
}

# expect_status NAME STATUS COMMAND...: passes when the command exits with STATUS
expect_status() {
    local name=$1 want=$2; shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"
    local got=$?
    if [ "$got" = "$want" ]; then pass "$name"; else fail "$name" "exit $got, want $want" "$(tail -3 "$TMP/err")"; fi
}
