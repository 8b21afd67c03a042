#!/usr/bin/env bash
# The PostgreSQL store on the test server (PGlite + pgvector over the wire protocol, tests/pg): upsert rows/s of
# `photoseek migrate` for N synthetic items (tiny model, with the HNSW index maintained), then the server-side time
# of the search statement photoseek sends (EXPLAIN ANALYZE, median of 20 different query vectors), unfiltered and
# with a year filter. Usage: bash bench/bench_pg.sh [N]   (default 20000)
set -euo pipefail
N=${1:-20000}
M=${PHOTOSEEK_FIXTURES:-../shared/fixtures}/models/tiny-clip
TMP=$(mktemp -d)
trap 'kill $PG 2>/dev/null; rm -rf "$TMP"' EXIT
(cd tests/pg && { [ -d node_modules/@electric-sql/pglite-socket ] || npm ci --silent --no-audit --no-fund >/dev/null; })
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
timeout 3600 node tests/pg/pglite_server.mjs "$PORT" "$TMP/data" >"$TMP/log" 2>&1 &
PG=$!
for _ in $(seq 150); do grep -q ready "$TMP/log" && break; sleep 0.1; done
URL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
build/make_library "$TMP/lib.db" "$N" "$M" >/dev/null 2>&1
build/photoseek migrate --from "$TMP/lib.db" --to "$URL" --json >"$TMP/m.json"
python3 - "$URL" "$TMP/m.json" <<'PY'
import json, statistics, subprocess, sys
url, m = sys.argv[1], json.load(open(sys.argv[2]))
def ms(where):
    times = []
    for i in range(20):
        sql = ("SET hnsw.iterative_scan = relaxed_order; SET hnsw.ef_search = 200; EXPLAIN (ANALYZE, FORMAT JSON) "
               "SELECT m.id FROM photoseek_vectors_1 v JOIN photoseek_media m ON m.id = v.media_id WHERE true %s "
               "ORDER BY v.embedding <#> (SELECT embedding FROM photoseek_vectors_1 OFFSET %d LIMIT 1) LIMIT 104" % (where, i * 97))
        out = subprocess.run(["psql", url, "-Atc", sql], capture_output=True, text=True, check=True).stdout
        plan = json.loads(out[out.index("["):])
        times.append(plan[0]["Execution Time"])
    return statistics.median(times)
a, b = ms(""), ms("AND m.year IN (2014)")
print(f"migrate: {m['media']} rows in {m['seconds']:.1f} s = {m['vectors_per_s']:.0f} rows/s")
print(f"search statement: {a:.1f} ms unfiltered, {b:.1f} ms with a year filter (server-side, median of 20)")
print(f"RESULT pg_upsert_rows_per_s={m['vectors_per_s']:.0f} pg_query_ms={a:.2f} pg_query_ms_year={b:.2f}")
PY
