#!/usr/bin/env bash
# End-to-end benchmark: Mercato over HTTP against PostgreSQL doing the same hot-SKU
# purchase, side by side on this machine; or against a build of another revision.
#
#   benches/e2e.sh [seconds per phase, default 10] [connections, default 128]
#   benches/e2e.sh --baseline REV [--rounds N] [seconds] [connections]
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
# With `--baseline REV`, steps 3 and 4 give way to a comparison of two builds in the same
# run: REV's server is built from a detached worktree into `target/baseline` (kept, so a
# second run builds incrementally), and the same phases, with this tree's load generator,
# run against REV's server and this tree's, alternately, `--rounds` times each (default
# 2), each on a fresh data folder. It prints every round's figures and each figure's ratio
# new/baseline per round and over the rounds' medians.
#
# Everything runs on this machine: load generators and servers share its cores.
set -euo pipefail
cd "$(dirname "$0")/.."
BASELINE=
ROUNDS=2
positional=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --baseline) BASELINE="${2:?--baseline needs a revision}"; shift 2 ;;
    --rounds) ROUNDS="${2:?--rounds needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *) positional+=("$1"); shift ;;
  esac
done
SECONDS_PER_PHASE="${positional[0]:-10}"
CONNECTIONS="${positional[1]:-128}"
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
  if [ -d "$WORK/baseline-src" ]; then git worktree remove --force "$WORK/baseline-src" >/dev/null 2>&1 || true; fi
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

# Starts server binary $1 on a fresh data folder, runs the load generator against it into
# $WORK/$2.txt, then stops it.
run_mercato() {
  local binary="$1" label="$2"
  echo "== mercato ($label): fresh data folder, log in sync mode, 127.0.0.1:$PORT"
  rm -rf "$WORK/data"
  "$binary" --listen "127.0.0.1:$PORT" --data "$WORK/data" >"$WORK/$label.log" 2>&1 &
  MERCATO_PID=$!
  local ready=
  for _ in $(seq 1 300); do
    if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; then ready=1; break; fi
    kill -0 "$MERCATO_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$ready" ]; then
    echo "the server did not become ready:" >&2
    cat "$WORK/$label.log" >&2
    exit 1
  fi
  ./target/release/mercato-e2e --host "http://127.0.0.1:$PORT" --seconds "$SECONDS_PER_PHASE" \
    --connections "$CONNECTIONS" --carts 20000 --flash-units 10000 | tee "$WORK/$label.txt"
  curl -s "http://127.0.0.1:$PORT/metrics" | grep '^mercato_units_oversold' || true
  kill "$MERCATO_PID" 2>/dev/null || true; wait "$MERCATO_PID" 2>/dev/null || true; MERCATO_PID=
}

# The figures of one run's output ($1): adds/s, checkouts/s, and purchases/s step by
# step, buying now and in one request, space-separated.
figures() {
  local add checkout step now one
  add="$(sed -n 's/^add-to-cart: .*: \([0-9]*\) adds\/s.*/\1/p' "$1" | head -1)"
  checkout="$(sed -n 's/^checkout: .*: \([0-9]*\) checkouts\/s.*/\1/p' "$1" | head -1)"
  step="$(sed -n 's/^flash (.*: \([0-9]*\) purchases\/s.*/\1/p' "$1")"
  now="$(sed -n 's/^flash buy-now.*: \([0-9]*\) purchases\/s.*/\1/p' "$1")"
  one="$(sed -n 's/^flash one request.*: \([0-9]*\) purchases\/s.*/\1/p' "$1")"
  echo "${add:-0} ${checkout:-0} ${step:-0} ${now:-0} ${one:-0}"
}

if [ -n "$BASELINE" ]; then
  REV="$(git rev-parse --short "$BASELINE")"
  echo "== baseline $REV: building its server (release) into target/baseline"
  git worktree add --detach "$WORK/baseline-src" "$REV" >/dev/null
  CARGO_TARGET_DIR="$PWD/target/baseline" cargo build --release -q \
    --manifest-path "$WORK/baseline-src/Cargo.toml" -p mercato-adapters
  cp target/baseline/release/mercato "$WORK/mercato-baseline"
  cp target/release/mercato "$WORK/mercato-new"
  : >"$WORK/rounds.txt"
  for round in $(seq 1 "$ROUNDS"); do
    run_mercato "$WORK/mercato-baseline" "baseline-$round"
    run_mercato "$WORK/mercato-new" "new-$round"
    echo "$round $(figures "$WORK/baseline-$round.txt") $(figures "$WORK/new-$round.txt")" >>"$WORK/rounds.txt"
  done
  echo "== new ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ', with changes')) against baseline $REV, $ROUNDS rounds"
  awk '
    BEGIN { split("add-to-cart/s checkout/s flash-step-by-step/s flash-buy-now/s flash-one-request/s", name, " ") }
    {
      for (i = 1; i <= 5; i++) { base[NR, i] = $(i + 1); new[NR, i] = $(i + 6) }
      line = sprintf("round %d:", $1)
      for (i = 1; i <= 5; i++) line = line sprintf(" %s %s/%s = %.3f;", name[i], $(i + 6), $(i + 1), ($(i + 1) > 0 ? $(i + 6) / $(i + 1) : 0))
      print line
    }
    function median(values, n,    i, j, t) {
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (values[j] < values[i]) { t = values[i]; values[i] = values[j]; values[j] = t }
      return (n % 2) ? values[(n + 1) / 2] : (values[n / 2] + values[n / 2 + 1]) / 2
    }
    END {
      for (i = 1; i <= 5; i++) {
        for (r = 1; r <= NR; r++) { b[r] = base[r, i]; n[r] = new[r, i] }
        mb = median(b, NR); mn = median(n, NR)
        printf "== ratio new/baseline, %s: %.3f (medians %s against %s)\n", name[i], (mb > 0 ? mn / mb : 0), mn, mb
      }
    }' "$WORK/rounds.txt"
  exit 0
fi

run_mercato ./target/release/mercato mercato

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
