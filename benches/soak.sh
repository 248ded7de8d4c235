#!/usr/bin/env bash
# The soak benchmark: ORDERS orders (default 1,000,000) placed, shipped and delivered over
# HTTP on the demo with a return window of 0 days (an order delivered is finished at once:
# the accelerated clock, which also keeps events 5 minutes instead of 30 days), snapshots
# every 10 s. mercato-soak prints a line of figures every
# EVERY orders (default 100,000): resident memory, orders archived, snapshot size and
# write time, log and archive size on disk, p50/p99 of purchases and p99 of product reads.
# Then the node is stopped cleanly and started again (start-up time, resident memory at
# rest), and killed with SIGKILL and started again. For a node "with none" in the same run,
# a fresh node on a new folder is started and measured at rest first.
#
#   benches/soak.sh [ORDERS] [EVERY] [CONNECTIONS, default 32]
#
# MERCATO_BIN_DIR names a folder holding `mercato` and `mercato-soak` already built (to
# measure them while the tree is rebuilt); by default this revision's are built.
set -euo pipefail
cd "$(dirname "$0")/.."
ORDERS="${1:-1000000}"
EVERY="${2:-100000}"
CONNECTIONS="${3:-32}"
WORK="$(mktemp -d /tmp/mercato-soak.XXXXXX)"
PORT=18094
cleanup() {
  [ -n "${MERCATO_PID:-}" ] && kill -9 "$MERCATO_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

BIN="${MERCATO_BIN_DIR:-}"
if [ -z "$BIN" ]; then
  cargo build --release --locked -p mercato-adapters --bin mercato -p mercato-loadtests --bin mercato-soak
  BIN=target/release
fi
sed 's/^merchant_terms_version = "2026-01"/merchant_terms_version = "2026-01"\nreturn_window_days = 0/' \
  config/demo.toml >"$WORK/soak.toml"

start() { # data folder; sets MERCATO_PID and STARTUP (seconds to ready)
  local began
  began=$(date +%s.%N)
  "$BIN/mercato" --config "$WORK/soak.toml" --listen "127.0.0.1:$PORT" --data "$1" \
    --snapshot-interval-ms 10000 --event-keep-s 300 --webhook-retry-for-s 300 >>"$WORK/mercato.log" 2>&1 &
  MERCATO_PID=$!
  for _ in $(seq 1 6000); do
    if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; then break; fi
    kill -0 "$MERCATO_PID" 2>/dev/null || { tail -20 "$WORK/mercato.log" >&2; exit 1; }
    sleep 0.01
  done
  STARTUP=$(echo "$(date +%s.%N) - $began" | bc -l)
}
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$MERCATO_PID/status"; }
stop() { kill -TERM "$MERCATO_PID"; while kill -0 "$MERCATO_PID" 2>/dev/null; do sleep 0.05; done; }

echo "== a node with no orders (a fresh folder), at rest after 5 s"
start "$WORK/empty"
sleep 5
EMPTY=$(rss)
echo "resident: $EMPTY MiB; start-up $(printf '%.2f' "$STARTUP") s"
stop

echo "== the soak: $ORDERS orders, figures every $EVERY, $CONNECTIONS connections"
start "$WORK/data"
"$BIN/mercato-soak" --host "http://127.0.0.1:$PORT" --pid "$MERCATO_PID" --data "$WORK/data" \
  --orders "$ORDERS" --every "$EVERY" --connections "$CONNECTIONS"
sleep 12 # the last orders archived and a snapshot taken
echo "after the run: resident $(rss) MiB"
stop
echo "== clean restart"
start "$WORK/data"
echo "start-up: $(printf '%.2f' "$STARTUP") s"
sleep 5
AFTER=$(rss)
printf 'resident at rest: %s MiB; against the node with none: %.3f\n' "$AFTER" "$(echo "$AFTER / $EMPTY" | bc -l)"
echo "data folder: $(du -sh "$WORK/data" | cut -f1) (wal $(du -sh "$WORK/data/wal" | cut -f1), archive $(du -sh "$WORK/data/archive" | cut -f1), snapshots $(du -sh "$WORK/data/snapshots" | cut -f1), events $(du -sh "$WORK/data/events" 2>/dev/null | cut -f1))"
kill -9 "$MERCATO_PID"
while kill -0 "$MERCATO_PID" 2>/dev/null; do sleep 0.05; done
echo "== restart after SIGKILL"
start "$WORK/data"
echo "start-up: $(printf '%.2f' "$STARTUP") s"
stop
