# Helpers for the end-to-end tests: each check prints "ok"/"FAIL"/"skip" and is counted in $RESULTS.
#
# Every script ends with `done_testing`, which prints "e2e done: NAME, N failed" and exits 1 when a check failed.
# A script that stops anywhere else (an `exit`, an error of bash) says so and exits non-zero: tests/run_all.sh
# counts a script without its closing line, or with the wrong exit status, as a failure.
#
# Each script runs in a session of its own (it re-starts itself under setsid when it is not a session leader),
# and on exit every process still running in that session (servers, stand-ins, index runs) is stopped: a test
# leaves nothing running. tests/run_all.sh checks that too.
if [ "$(ps -o sid= -p $$ | tr -d ' ')" != "$$" ]; then exec setsid -w bash "$0" "$@"; fi
[ -z "${E2E_SID_FILE:-}" ] || echo $$ >"$E2E_SID_FILE" # the session tests/run_all.sh checks for leftovers
PS=${PS:-build/photoseek}
FIX=${PHOTOSEEK_FIXTURES:-../shared/fixtures}
: "${RESULTS:=/dev/null}"
E2E_NAME=$(basename "$0" .sh)
E2E_DONE=
TMP=$(mktemp -d "${TMPDIR:-/tmp}/photoseek-e2e-XXXXXX")
# The packed-weight cache of this script only (removed with $TMP): the tests load models from temporary folders,
# a file of hundreds of MB each, that must not pile up in the user's ~/.cache.
export PHOTOSEEK_PACK_CACHE="$TMP/pack-cache"

# The processes of this session other than this shell, stopped with SIGTERM, then SIGKILL after 3 s.
stop_session() {
    local left p
    left=$(pgrep -s $$ | grep -vx "$$")
    [ -n "$left" ] || return 0
    for p in $left; do kill "$p" 2>/dev/null; done
    for _ in $(seq 30); do
        left=$(for p in $left; do kill -0 "$p" 2>/dev/null && echo "$p"; done)
        [ -n "$left" ] || return 0
        sleep 0.1
    done
    for p in $left; do kill -9 "$p" 2>/dev/null; done
}
E2E_AT_EXIT=()
# at_exit COMMAND: run on exit, before the session's processes are stopped (for a daemon that leaves the session).
at_exit() { E2E_AT_EXIT+=("$1"); }
e2e_exit() {
    local st=$? c
    for c in "${E2E_AT_EXIT[@]}"; do eval "$c"; done
    stop_session
    rm -rf "$TMP"
    if [ -z "$E2E_DONE" ]; then
        echo "FAIL $E2E_NAME stopped before its end$([ "$st" = 0 ] || echo " (status $st)")"
        exit $((st ? st : 1))
    fi
}
trap e2e_exit EXIT

pass() { echo "ok   $1"; echo pass >>"$RESULTS"; }
skip() { echo "skip $1"; echo skip >>"$RESULTS"; } # a tool the check needs is missing: never counted as passed
fail() {
    echo "FAIL $1"; shift; for line in "$@"; do echo "    $line"; done
    echo fail >>"$RESULTS"; echo fail >>"$TMP/failed"
}

# The last line of every script: says it got there, and exits 1 if any check failed.
done_testing() {
    local n=0
    [ -f "$TMP/failed" ] && n=$(wc -l <"$TMP/failed")
    echo "e2e done: $E2E_NAME, $n failed"
    E2E_DONE=1
    exit $((n ? 1 : 0))
}

# skip_rest REASON: the rest of the script cannot run here (a tool is missing): one skip, and the script ends.
skip_rest() {
    skip "$E2E_NAME: $1"
    done_testing
}

# need TOOL...: the rest of the script needs these commands; without one of them it is skipped, and counted so.
need() {
    local t
    for t in "$@"; do command -v "$t" >/dev/null || skip_rest "$t is missing (scripts/install-deps.sh installs it)"; done
}

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

# browser_test NAME SCRIPT ARGS...: runs tests/browser/SCRIPT in Chromium ($PSK_CHROMIUM, else Debian's) and counts
# its ok/FAIL lines; a browser that is missing or cannot start, a script that checks nothing or one that dies
# without saying why is a failure.
browser_test() {
    local name=$1 script=$2; shift 2
    local browser=${PSK_CHROMIUM:-/usr/bin/chromium}
    if [ ! -x "$browser" ] || ! command -v node >/dev/null; then
        fail "$name" "$browser or node is missing (scripts/install-deps.sh installs them)"
        return
    fi
    (cd tests/browser && { [ -d node_modules/playwright-core ] || npm ci --silent --no-audit --no-fund >/dev/null 2>&1; })
    PSK_CHROMIUM=$browser node "tests/browser/$script" "$@" >"$TMP/browser.out" 2>&1
    local st=$? n_ok n_fail
    cat "$TMP/browser.out"
    n_ok=$(grep -c '^ok  ' "$TMP/browser.out"); n_fail=$(grep -c '^FAIL' "$TMP/browser.out")
    for _ in $(seq "$n_ok"); do echo pass >>"$RESULTS"; done
    for _ in $(seq "$n_fail"); do echo fail >>"$RESULTS"; echo fail >>"$TMP/failed"; done
    if [ "$n_fail" = 0 ] && [ "$st" != 0 ]; then fail "$name exited $st" "$(tail -3 "$TMP/browser.out")"
    elif [ "$n_fail" = 0 ] && [ "$n_ok" = 0 ]; then fail "$name checked nothing" "$(tail -3 "$TMP/browser.out")"; fi
}

# face_model: face-api 1.7.15's package in $CACHE (FACES_CACHE, default tests/faces/cache), fetched once with npm
# (tests/faces/fetch_cached.sh); FM is its model folder. Without npm or the package: a failure, and the script ends.
face_model() {
    CACHE=${FACES_CACHE:-tests/faces/cache}
    FM=$CACHE/model
    if ! command -v npm >/dev/null; then
        fail "$E2E_NAME: npm is needed to fetch face-api's weights (scripts/install-deps.sh installs it)"
        done_testing
    fi
    if ! bash tests/faces/fetch_cached.sh "$CACHE" >"$TMP/fetch.log" 2>&1; then
        fail "$E2E_NAME: fetching face-api 1.7.15 into $CACHE" "$(tail -3 "$TMP/fetch.log")"
        done_testing
    fi
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
