#!/usr/bin/env bash
# The marketplace flash sale over HTTP: MERCHANTS merchants (default 100), one hot product
# each with UNITS units (default 30), sold out in orders mixing up to three merchants' goods
# (one request each: `POST …/orders`), every shipment then shipped and delivered, and each
# merchant's ledger checked against its order lines (mercato-market says how). For a ratio
# measured in the same run, the same node then runs the one-SKU flash sale of one request
# per purchase (mercato-e2e's `order` phase: a single merchant-less product, KITE).
#
#   benches/marketplace.sh [MERCHANTS] [UNITS] [CONNECTIONS, default 64]
#
# Everything runs on this machine: the load generator and the server share its cores.
set -euo pipefail
cd "$(dirname "$0")/.."
MERCHANTS="${1:-100}"
UNITS="${2:-30}"
CONNECTIONS="${3:-64}"
WORK="$(mktemp -d /tmp/mercato-market.XXXXXX)"
PORT=18093
cleanup() {
  [ -n "${MERCATO_PID:-}" ] && kill "$MERCATO_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release --locked -p mercato-adapters --bin mercato -p mercato-loadtests --bin mercato-market --bin mercato-e2e
python3 benches/marketplace/generate.py "$MERCHANTS" "$WORK/market.toml"
target/release/mercato --config "$WORK/market.toml" --listen "127.0.0.1:$PORT" --data "$WORK/data" \
  >"$WORK/mercato.log" 2>&1 &
MERCATO_PID=$!
for _ in $(seq 1 600); do
  if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; then break; fi
  kill -0 "$MERCATO_PID" 2>/dev/null || { cat "$WORK/mercato.log" >&2; exit 1; }
  sleep 0.05
done
echo "== marketplace: $MERCHANTS merchants x $UNITS units, $CONNECTIONS connections"
target/release/mercato-market --host "http://127.0.0.1:$PORT" --merchants "$MERCHANTS" --units "$UNITS" \
  --connections "$CONNECTIONS" | tee "$WORK/market.txt"
echo "== the same node: a one-SKU flash sale, one request per purchase"
target/release/mercato-e2e --host "http://127.0.0.1:$PORT" --connections "$CONNECTIONS" \
  --flash-units "$((MERCHANTS * UNITS))" --phases order | tee "$WORK/flash.txt"
MARKET=$(grep -o '[0-9]* orders/s' "$WORK/market.txt" | head -1 | cut -d' ' -f1)
FLASH=$(grep -o '[0-9]* purchases/s' "$WORK/flash.txt" | head -1 | cut -d' ' -f1)
printf '== ratio: marketplace orders/s (up to 3 merchants, 3 shipments each) / one-SKU orders/s: %.2f\n' \
  "$(echo "$MARKET / $FLASH" | bc -l)"
