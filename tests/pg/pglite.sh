# PGlite for the PostgreSQL store's e2e scripts (sourced after tests/e2e/lib.sh): its node packages, a free port and
# a server on it; and photoseek's server on a library.
(cd tests/pg && { [ -d node_modules/@electric-sql/pglite-socket ] || npm ci --silent --no-audit --no-fund >/dev/null 2>&1; })

# start_pglite PORT [DATA_DIR]: PGlite on 127.0.0.1:PORT (at most 10 minutes); PG_PID is its process
start_pglite() {
    : >"$TMP/pglite.log"
    timeout 600 node tests/pg/pglite_server.mjs "$1" ${2:+"$2"} >>"$TMP/pglite.log" 2>&1 &
    PG_PID=$!
    for _ in $(seq 150); do
        grep -q '^ready' "$TMP/pglite.log" && return 0
        sleep 0.1
    done
    echo "PGlite did not start: $(tail -3 "$TMP/pglite.log")"
    return 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# start_serve LIBRARY TEXT_MODEL: `photoseek serve` on a free port; SRV is its process, B its base URL
start_serve() {
    rm -f "$TMP/port"
    $PS serve --db "$1" --port 0 --port-file "$TMP/port" --text-model "$2" 2>"$TMP/serve.err" &
    SRV=$!
    for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    B="http://127.0.0.1:$(cat "$TMP/port")"
}
