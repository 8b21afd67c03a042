# Helpers for the end-to-end tests: each check prints "ok"/"FAIL" and is counted in $RESULTS.
PS=${PS:-build/photoseek}
FIX=${PHOTOSEEK_FIXTURES:-../shared/fixtures}
: "${RESULTS:=/dev/null}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/photoseek-e2e-XXXXXX")
trap 'rm -rf "$TMP"' EXIT

pass() { echo "ok   $1"; echo pass >>"$RESULTS"; }
skip() { echo "skip $1"; echo skip >>"$RESULTS"; } # a tool the check needs is missing: never counted as passed
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

# browser_test NAME SCRIPT ARGS...: runs tests/browser/SCRIPT in Chromium and counts its ok/FAIL lines; a missing
# browser, a script that checks nothing or one that dies without saying why is a failure.
browser_test() {
    local name=$1 script=$2; shift 2
    if [ ! -x /usr/bin/chromium ] || ! command -v node >/dev/null; then
        fail "$name" "chromium or node is missing (scripts/install-deps.sh installs them)"
        return
    fi
    (cd tests/browser && { [ -d node_modules/playwright-core ] || npm ci --silent --no-audit --no-fund >/dev/null 2>&1; })
    node "tests/browser/$script" "$@" >"$TMP/browser.out" 2>&1
    local st=$? n_ok n_fail
    cat "$TMP/browser.out"
    n_ok=$(grep -c '^ok  ' "$TMP/browser.out"); n_fail=$(grep -c '^FAIL' "$TMP/browser.out")
    for _ in $(seq "$n_ok"); do echo pass >>"$RESULTS"; done
    for _ in $(seq "$n_fail"); do echo fail >>"$RESULTS"; done
    [ "$n_ok" -gt 0 ] || fail "$name ran no check (exit $st)"
    [ "$st" = 0 ] || [ "$n_fail" -gt 0 ] || fail "$name exited $st"
}

# make_dated_tree DIR: the valid fixture images (one with an EXIF date in 2019 and a camera), three photos dated
# 2021-06 and three 2022-07 by their file times, and a 5 s video: a library for comparing stores.
make_dated_tree() {
    local d=$1
    mkdir -p "$d/2021" "$d/2022"
    for f in "$FIX"/images/*; do case $(basename "$f") in bad_*) ;; *) cp "$f" "$d/" ;; esac; done
    for i in 1 2 3; do
        /usr/bin/convert -size 160x120 "xc:rgb($((i * 60)),100,50)" "$d/2021/june_$i.jpg"
        touch -d "2021-06-1$i 12:00" "$d/2021/june_$i.jpg"
        /usr/bin/convert -size 160x120 "xc:rgb(50,$((i * 60)),200)" "$d/2022/july_$i.png"
        touch -d "2022-07-0$i 12:00" "$d/2022/july_$i.png"
    done
    ffmpeg -v error -f lavfi -i "testsrc2=size=160x120:rate=10:duration=5" -pix_fmt yuv420p "$d/clip.mp4"
}
