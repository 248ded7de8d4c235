#!/usr/bin/env bash
# End-to-end benchmark: Mercato over HTTP against PostgreSQL doing the same hot-SKU
# purchase, side by side on this machine.
#
#   benches/e2e.sh [seconds per phase, default 10] [connections, default 128]
#
# 1. Builds the server and the load generator in release mode.
# 2. Starts `mercato` on a fresh data folder (write-ahead log in `sync` mode, the default)
#    and runs `mercato-e2e` against it: add-to-cart requests/s with p50/p99, the same at 80 %
#    of that rate, checkout requests/s, and a hot-SKU flash sale (purchases/s until sold out,
#    then the check that units sold equal the units in orders with none oversold), run
#    three times: step by step (five requests a purchase), then buying now (two: the cart
#    created whole with its line, address and delivery, then checkout), then in one
#    request (`POST …/orders`: the cart created whole and checked out).
# 3. Installs PostgreSQL from Debian's packages when it is missing, starts it on loopback
#    on a fresh cluster with `synchronous_commit = on`, and runs pgbench: each transaction
#    is `SELECT ... FOR UPDATE` plus `UPDATE` of one stock row (the hot SKU), committed.
#    It runs with as many clients as Mercato's connections, then with 16 and 32 (what a
#    connection pool would let through: fewer clients queue less on the row's lock).
# 4. Prints ratios to PostgreSQL's transactions/s, side by side (same client count) and
#    against its best run: hot-SKU units claimed (add-to-cart, a durable reservation of
#    one SKU, like for like with the locked decrement), and whole flash-sale purchases
#    (five durable requests each, then two, then one).
#
# Everything runs on this machine: load generators and servers share its cores.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_PHASE="${1:-10}"
CONNECTIONS="${2:-128}"
WORK="$(mktemp -d /tmp/mercato-e2e.XXXXXX)"
PORT=18090
# Below the kernel's ephemeral range (32768 and up by default): the load generator's own
# connections take ports from that range, and one of them on PostgreSQL's port (even in
# TIME-WAIT) made PostgreSQL fail to bind it and the run stop before its baseline.
PGPORT=25432
cleanup() {
  [ -n "${MERCATO_PID:-}" ] && kill "$MERCATO_PID" 2>/dev/null || true
  if [ -n "${PGBIN:-}" ] && [ -d "$WORK/pg" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== building (release)"
cargo build --release -q -p mercato-adapters -p mercato-loadtests

echo "== mercato: fresh data folder, log in sync mode, 127.0.0.1:$PORT"
./target/release/mercato --listen "127.0.0.1:$PORT" --data "$WORK/data" >"$WORK/mercato.log" 2>&1 &
MERCATO_PID=$!
ready=
for _ in $(seq 1 300); do
  if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; then ready=1; break; fi
  kill -0 "$MERCATO_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$ready" ]; then
  echo "the server did not become ready:" >&2
  cat "$WORK/mercato.log" >&2
  exit 1
fi
./target/release/mercato-e2e --host "http://127.0.0.1:$PORT" --seconds "$SECONDS_PER_PHASE" \
  --connections "$CONNECTIONS" --carts 20000 --flash-units 10000 | tee "$WORK/mercato.txt"
curl -s "http://127.0.0.1:$PORT/metrics" | grep '^mercato_units_oversold' || true
kill "$MERCATO_PID" 2>/dev/null || true; wait "$MERCATO_PID" 2>/dev/null || true; MERCATO_PID=

echo "== postgresql: fresh cluster on 127.0.0.1:$PGPORT, synchronous_commit = on"
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
PGBIN="$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")"
mkdir -p "$WORK/pg" && chown postgres "$WORK" "$WORK/pg"
# PostgreSQL's tools look themselves up from the current folder, which the postgres user
# may not be allowed into (the repository's): run them from the work folder.
cd "$WORK"
runuser -u postgres -- "$PGBIN/initdb" --no-locale -E UTF8 -D "$WORK/pg" >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/log" -w start \
  -o "-c listen_addresses=127.0.0.1 -c port=$PGPORT -c unix_socket_directories=$WORK/pg \
      -c synchronous_commit=on -c fsync=on -c max_connections=300" >/dev/null
PSQL=(runuser -u postgres -- "$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -d postgres)
"${PSQL[@]}" -c "CREATE TABLE stock (sku text PRIMARY KEY, quantity integer NOT NULL CHECK (quantity >= 0));
                 INSERT INTO stock VALUES ('KITE', 100000000);"
cat >"$WORK/hot.sql" <<'SQL'
BEGIN;
SELECT quantity FROM stock WHERE sku = 'KITE' FOR UPDATE;
UPDATE stock SET quantity = quantity - 1 WHERE sku = 'KITE';
COMMIT;
SQL
chown postgres "$WORK/hot.sql"
# One pgbench run of the hot transaction with $1 clients; prints its transactions/s.
pg_run() {
  runuser -u postgres -- "$PGBIN/pgbench" -n -h 127.0.0.1 -p "$PGPORT" -c "$1" -j 2 \
    -T "$SECONDS_PER_PHASE" -f "$WORK/hot.sql" postgres >"$WORK/pg-$1.txt"
  sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pg-$1.txt" | head -1
}
# Side by side: as many clients as Mercato's connections. A hot row's lock queue costs
# PostgreSQL more with more clients, so it also runs with the few a connection pool would
# let through, and the best of those runs is its second baseline.
PG_RATE="$(pg_run "$CONNECTIONS")"
echo "== postgresql, $CONNECTIONS clients (as many as Mercato's connections): ${PG_RATE:-none} tps"
PG_BEST="${PG_RATE:-0}"
PG_BEST_CLIENTS="$CONNECTIONS"
for clients in 16 32; do
  rate="$(pg_run "$clients")"
  echo "== postgresql, $clients clients (pooled): ${rate:-none} tps"
  if awk -v a="${rate:-0}" -v b="$PG_BEST" 'BEGIN { exit !(a > b) }'; then
    PG_BEST="$rate"
    PG_BEST_CLIENTS="$clients"
  fi
done

MERCATO_RATE="$(sed -n 's/^flash (.*: \([0-9]*\) purchases\/s.*/\1/p' "$WORK/mercato.txt")"
BUY_NOW_RATE="$(sed -n 's/^flash buy-now.*: \([0-9]*\) purchases\/s.*/\1/p' "$WORK/mercato.txt")"
ORDER_RATE="$(sed -n 's/^flash one request.*: \([0-9]*\) purchases\/s.*/\1/p' "$WORK/mercato.txt")"
ADD_RATE="$(sed -n 's/^add-to-cart: .*: \([0-9]*\) adds\/s.*/\1/p' "$WORK/mercato.txt" | head -1)"
# Prints a ratio of Mercato's rate ($2) to PostgreSQL's: side by side, and at its best.
ratio() {
  awk -v label="$1" -v m="$2" -v p="${PG_RATE:-0}" -v b="$PG_BEST" -v c="$PG_BEST_CLIENTS" 'BEGIN {
    if (p > 0 && b > 0) printf "== ratio, %s: %.1f side by side, %.1f against PostgreSQL at its best (%d clients)\n", label, m / p, m / b, c
    else print "== ratio: no PostgreSQL figure"
  }'
}
# Like for like: a PostgreSQL transaction claims one unit of the hot row, durably; so does
# each add-to-cart (a durable reservation of the one SKU every add asks for, checked
# against its stock). A whole Mercato purchase is five durable requests, or two, or one.
echo "== hot-SKU units claimed/s: mercato ${ADD_RATE} (add-to-cart: a durable reservation of one SKU), postgresql ${PG_RATE} (SELECT FOR UPDATE + UPDATE)"
ratio "units claimed" "${ADD_RATE:-0}"
echo "== hot-SKU whole purchases/s: mercato ${MERCATO_RATE} (cart, line, address, delivery, checkout), postgresql ${PG_RATE}"
ratio "whole purchases" "${MERCATO_RATE:-0}"
echo "== hot-SKU whole purchases/s, buying now: mercato ${BUY_NOW_RATE} (cart created whole, checkout), postgresql ${PG_RATE}"
ratio "whole purchases buying now" "${BUY_NOW_RATE:-0}"
echo "== hot-SKU whole purchases/s, one request: mercato ${ORDER_RATE} (POST …/orders: cart created whole and checked out), postgresql ${PG_RATE}"
ratio "whole purchases in one request" "${ORDER_RATE:-0}"
