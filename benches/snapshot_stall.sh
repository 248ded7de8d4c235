#!/usr/bin/env bash
# Requests during a snapshot against outside one, with ORDERS orders (default 1,000,000)
# open in the node: the orders are bought and left open (mercato-soak --open), then a
# shopper after another adds to a cart and checks out for SECONDS (default 150) while the
# node snapshots every 60 s (a snapshot of a million open orders takes about a minute); the probe sorts each request by whether a snapshot was
# running when it was answered (from the node's "snapshot taken" log lines) and prints
# p50/p99 of each and the p99 ratio.
#
#   benches/snapshot_stall.sh [ORDERS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ORDERS="${1:-1000000}"
SECONDS_PROBED="${2:-150}"
WORK="$(mktemp -d /tmp/mercato-stall.XXXXXX)"
PORT=18097
cleanup() {
  [ -n "${MERCATO_PID:-}" ] && kill -9 "$MERCATO_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release --locked -p mercato-adapters --bin mercato -p mercato-loadtests --bin mercato-soak
target/release/mercato --listen "127.0.0.1:$PORT" --data "$WORK/data" --snapshot-interval-ms 60000 \
  >"$WORK/mercato.log" 2>&1 &
MERCATO_PID=$!
for _ in $(seq 1 600); do
  if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; then break; fi
  sleep 0.05
done
echo "== $ORDERS open orders"
target/release/mercato-soak --host "http://127.0.0.1:$PORT" --pid "$MERCATO_PID" --data "$WORK/data" \
  --orders "$ORDERS" --every "$((ORDERS / 5))" --connections 32 --open
curl -s -H "Authorization: Bearer demo-admin" -H "Content-Type: application/json" \
  -X POST "http://127.0.0.1:$PORT/v1/commerces/demo/warehouses/wh-madrid/receipts" \
  -d '{"sku": "MOUSE", "quantity": 100000}' >/dev/null
echo "== probing for $SECONDS_PROBED s"
python3 benches/snapshot/probe.py --port "$PORT" --seconds "$SECONDS_PROBED" --log "$WORK/mercato.log"
echo "resident: $(awk '/VmRSS/ {printf "%.0f MiB", $2 / 1024}' "/proc/$MERCATO_PID/status")"
