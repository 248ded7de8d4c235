#!/usr/bin/env bash
# The live catalogue at scale: a bulk import of N products (default 1,000,000) over HTTP
# into the demo, against PostgreSQL loading the same rows in the same run.
#
#   benches/catalog.sh [products, default 1000000]
#
# MERCATO_BIN names another server binary to measure (a previous revision's, to compare
# builds in one run); by default the script builds this revision's. The server reads its
# other flags from the environment: MERCATO_BACKGROUND_NICE=19 puts background work in the
# idle class, MERCATO_REALTIME_REQUESTS=true the request threads in the real-time class.
#
# 1. Builds the server in release mode; writes N products as NDJSON (two languages, a
#    price, a weight and an attribute each: benches/catalog/generate.py).
# 2. Starts `mercato` on a fresh data folder (log in sync mode) and probes a storefront's
#    latency for 10 s before the import (benches/catalog/probe.py: a product read and an
#    add-to-cart, p50 and p99, each after an empty request as the control), then posts the file (`POST …/imports`) and probes the same
#    while the job runs, until it is done: import rows/s, the p99 during against before,
#    and how many of the log's batches during the import waited over 1 ms for its writer.
# 3. Resident memory before and after, per product.
# 4. Start-up with N products: after SIGKILL (the newest snapshot plus the log after it),
#    then after a clean stop (the shutdown snapshot), each timed to `/readyz`, and the
#    resident memory at rest after the second.
# 5. PostgreSQL (a fresh cluster on loopback, synchronous_commit on): `COPY` of the same
#    file into a table keyed by SKU (the product as jsonb), rows/s, and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${1:-1000000}"
WORK="$(mktemp -d /tmp/mercato-catalog.XXXXXX)"
PORT=18095
PGPORT=25433
cleanup() {
  [ -n "${MERCATO_PID:-}" ] && kill -9 "$MERCATO_PID" 2>/dev/null || true
  [ -n "${PROBE_PID:-}" ] && kill "$PROBE_PID" 2>/dev/null || true
  if [ -n "${PGBIN:-}" ] && [ -d "$WORK/pg" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v bc >/dev/null 2>&1 || missing+=(bc)
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
BASE="http://127.0.0.1:$PORT/v1/commerces/demo"
ADMIN='Authorization: Bearer demo-admin'

MERCATO_BIN="${MERCATO_BIN:-}"
# PROBE_NICE runs the probe at that nice value (say -10: the probe then measures the node
# rather than its own wait for one of the cores the node's import keeps busy). PROBE_RT=1
# runs it in the real-time class above the node's (`chrt -f 2`, as root): a storefront on
# a machine of its own never waits for a core behind the node.
PROBE="nice -n ${PROBE_NICE:-0}"
if [ "${PROBE_RT:-0}" = 1 ]; then
  PROBE="chrt -f 2"
fi
if [ -z "$MERCATO_BIN" ]; then
  echo "== building (release)"
  cargo build --release -q -p mercato-adapters
  MERCATO_BIN=./target/release/mercato
fi
echo "== writing $COUNT products as NDJSON"
python3 benches/catalog/generate.py "$COUNT" >"$WORK/products.ndjson"
ls -l "$WORK/products.ndjson" | awk '{print "== file: " $5 " bytes"}'

start() {
  "$MERCATO_BIN" --listen "127.0.0.1:$PORT" --data "$WORK/data" >>"$WORK/mercato.log" 2>&1 &
  MERCATO_PID=$!
  local started; started=$(date +%s.%N)
  for _ in $(seq 1 6000); do
    if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; then break; fi
    kill -0 "$MERCATO_PID" 2>/dev/null || { cat "$WORK/mercato.log" >&2; exit 1; }
    sleep 0.05
  done
  READY_S=$(echo "$(date +%s.%N) - $started" | bc -l)
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$MERCATO_PID/status"; }
# The log's batches so far and those whose oldest record waited at most 1 ms for the
# writer (`mercato_log_queue_seconds`; absent from builds before it: 0 0).
log_waits() {
  curl -sf "http://127.0.0.1:$PORT/metrics" | awk '
    /^mercato_log_queue_seconds_bucket\{le="0.001"\}/ {fast = $2}
    /^mercato_log_queue_seconds_count/ {all = $2}
    END {print all + 0, fast + 0}'
}

start
sleep 1
RSS_BEFORE=$(rss_kb)
$PROBE python3 benches/catalog/probe.py --port "$PORT" --seconds 10 --label "before the import" | tee "$WORK/before.txt"

echo "== importing"
read -r WAITS_ALL WAITS_FAST < <(log_waits)
$PROBE python3 benches/catalog/probe.py --port "$PORT" --seconds 3600 --until "$WORK/done" --label "during the import" \
  >"$WORK/during.txt" &
PROBE_PID=$!
STARTED=$(date +%s.%N)
JOB=$(curl -sf -X POST "$BASE/imports" -H "$ADMIN" -H 'Content-Type: application/x-ndjson' \
  --data-binary "@$WORK/products.ndjson" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
UPLOADED=$(date +%s.%N)
while true; do
  STATUS=$(curl -sf "$BASE/imports/$JOB" -H "$ADMIN")
  if echo "$STATUS" | grep -q '"status":"done"'; then break; fi
  sleep 0.2
done
FINISHED=$(date +%s.%N)
touch "$WORK/done"
wait "$PROBE_PID"; PROBE_PID=
cat "$WORK/during.txt"
echo "$STATUS" | python3 -c 'import json,sys; j=json.load(sys.stdin); print("== job: applied", j["applied"], "refused", j["refused"], "rows", j["rows_read"])'
ELAPSED=$(echo "$FINISHED - $STARTED" | bc -l)
UPLOAD=$(echo "$UPLOADED - $STARTED" | bc -l)
RATE=$(echo "$COUNT / $ELAPSED" | bc -l)
printf '== import: %d rows in %.1f s (upload %.1f s): %.0f rows/s\n' "$COUNT" "$ELAPSED" "$UPLOAD" "$RATE"
read -r ALL FAST < <(log_waits)
printf '== log batches during the import: %d, %d whose oldest record waited over 1 ms for the writer\n' \
  $((ALL - WAITS_ALL)) $(((ALL - WAITS_ALL) - (FAST - WAITS_FAST)))
sleep 2
RSS_AFTER=$(rss_kb)
printf '== resident memory: %d MiB before, %d MiB after: %.0f bytes per product\n' \
  $((RSS_BEFORE / 1024)) $((RSS_AFTER / 1024)) "$(echo "($RSS_AFTER - $RSS_BEFORE) * 1024 / $COUNT" | bc -l)"
curl -sf "$BASE/products/BULK-0000001" -H "$ADMIN" >/dev/null && echo "== a product imported reads back"

kill -9 "$MERCATO_PID"; wait "$MERCATO_PID" 2>/dev/null || true
start
printf '== start-up after SIGKILL (snapshot + log): %.2f s\n' "$READY_S"
kill "$MERCATO_PID"; wait "$MERCATO_PID" 2>/dev/null || true
start
printf '== start-up after a clean stop (the shutdown snapshot): %.2f s\n' "$READY_S"
sleep 2
RSS_REST=$(rss_kb)
printf '== resident memory after that start, at rest: %d MiB: %.0f bytes per product over the empty node\n' \
  $((RSS_REST / 1024)) "$(echo "($RSS_REST - $RSS_BEFORE) * 1024 / $COUNT" | bc -l)"
kill "$MERCATO_PID"; wait "$MERCATO_PID" 2>/dev/null || true; MERCATO_PID=
du -sh "$WORK/data" | awk '{print "== data folder: " $1}'

echo "== postgresql: fresh cluster on 127.0.0.1:$PGPORT, synchronous_commit = on"
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
PGBIN="$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")"
mkdir -p "$WORK/pg" && chown postgres "$WORK" "$WORK/pg" "$WORK/products.ndjson"
cd "$WORK"
runuser -u postgres -- "$PGBIN/initdb" --no-locale -E UTF8 -D "$WORK/pg" >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/log" -w start \
  -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c synchronous_commit=on" >/dev/null
PSQL=(runuser -u postgres -- "$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -d postgres)
"${PSQL[@]}" -c "CREATE TABLE products (doc jsonb NOT NULL, sku text GENERATED ALWAYS AS (doc->>'sku') STORED PRIMARY KEY)"
PG_STARTED=$(date +%s.%N)
"${PSQL[@]}" -c "\\copy products (doc) FROM '$WORK/products.ndjson'"
PG_ELAPSED=$(echo "$(date +%s.%N) - $PG_STARTED" | bc -l)
PG_RATE=$(echo "$COUNT / $PG_ELAPSED" | bc -l)
printf '== postgresql COPY: %d rows in %.1f s: %.0f rows/s\n' "$COUNT" "$PG_ELAPSED" "$PG_RATE"
printf '== ratio mercato import / postgresql COPY: %.3f\n' "$(echo "$RATE / $PG_RATE" | bc -l)"
