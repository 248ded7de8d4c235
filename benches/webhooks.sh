#!/usr/bin/env bash
# Webhook benchmark: what delivering events costs the order path, and how fast and how
# soon events reach a receiver.
#
#   benches/webhooks.sh [seconds per phase, default 10] [connections, default 64] [rounds, default 2]
#                       [carts and sale units per round, default 20000]
#
# 1. Builds the server, the load generator and a webhook receiver (`mercato-webhook-sink`,
#    which answers 200 at once and measures each event's delay from its `time`, when its
#    change became durable) in release mode, and starts the receiver on loopback.
# 2. Order path, in the same run: `mercato-e2e --phases checkout,order` (checkouts/s of
#    filled carts, then a hot-SKU sale in one request per purchase) against a fresh server
#    with no subscription, then against a fresh server with 100 subscriptions to every
#    event type pointing at the receiver; alternately (which goes first alternates by
#    round), `rounds` times each. Prints each
#    round's figures and the ratio with/without per round and over the rounds' medians.
#    Deliveries run at the lowest thread priority: under a saturating load they wait.
# 3. Deliveries, each run until every one has arrived: 100 subscriptions over a sale of
#    1,000 purchases; one subscription over the full load; one subscription with one
#    connection buying (a load the node keeps up with). For each: events received, their
#    rate (overall, and once the load stopped: the backlog's drain) and their delay from
#    durable change to arrival, p50/p99.
#
# Everything runs on this machine: load generator, server and receiver share its cores.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_PHASE="${1:-10}"
CONNECTIONS="${2:-64}"
ROUNDS="${3:-2}"
UNITS="${4:-20000}"
WORK="$(mktemp -d /tmp/mercato-webhooks.XXXXXX)"
PORT=18091
SINK_PORT=19091
A='Authorization: Bearer demo-admin'
J='Content-Type: application/json'
B="http://127.0.0.1:$PORT/v1/commerces/demo"
cleanup() {
  [ -n "${MERCATO_PID:-}" ] && kill "$MERCATO_PID" 2>/dev/null || true
  [ -n "${SINK_PID:-}" ] && kill "$SINK_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v curl >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
fi

echo "== building (release)"
cargo build --release -q -p mercato-adapters -p mercato-loadtests

# The receiver stands for the subscribers' own systems, which run elsewhere in
# production: here it shares the two cores, so it runs at nice MERCATO_SINK_NICE (19 by
# default) to leave the order path's figures to the node's own cost. 0 counts its CPU too.
nice -n "${MERCATO_SINK_NICE:-19}" ./target/release/mercato-webhook-sink --listen "127.0.0.1:$SINK_PORT" \
  2>"$WORK/sink.log" &
SINK_PID=$!
SINK="http://127.0.0.1:$SINK_PORT"
for _ in $(seq 1 100); do curl -sf "$SINK/stats" >/dev/null && break; sleep 0.05; done

start_server() {
  rm -rf "$WORK/data"
  ./target/release/mercato --listen "127.0.0.1:$PORT" --data "$WORK/data" >"$WORK/server.log" 2>&1 &
  MERCATO_PID=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return 0
    kill -0 "$MERCATO_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the server did not become ready:" >&2
  cat "$WORK/server.log" >&2
  exit 1
}

stop_server() {
  kill "$MERCATO_PID" 2>/dev/null || true
  wait "$MERCATO_PID" 2>/dev/null || true
  MERCATO_PID=
}

# Subscribes $1 webhooks to every event type, pointing at the receiver.
subscribe() {
  for i in $(seq 1 "$1"); do
    curl -sf -X POST "$B/webhooks" -H "$A" -H "$J" \
      -d "{\"url\": \"$SINK/hooks/$i\", \"description\": \"benchmark $i\"}" >/dev/null
  done
}

# Events the server has told, over every subscription: the sum of their `delivered`.
delivered_total() {
  curl -s "$B/webhooks" -H "$A" |
    grep -o '"delivered":[0-9]*' | awk -F: '{ s += $2 } END { print s + 0 }'
}

# Waits until the receiver's count stops moving for 3 s (every delivery arrived).
drain() {
  local last=-1 still=0 now
  while [ "$still" -lt 6 ]; do
    now="$(curl -s "$SINK/stats" | grep -o '"received":[0-9]*' | cut -d: -f2)"
    if [ "$now" = "$last" ]; then still=$((still + 1)); else still=0; last="$now"; fi
    sleep 0.5
  done
}

# One run into $WORK/$1.txt: $2 subscriptions made first, then `mercato-e2e` with the
# phases $3 and $4 units in the flash sale; with `drain`, waits for every delivery and
# keeps the receiver's figures in $WORK/$1.stats.
run() {
  local label="$1" hooks="$2" phases="$3" units="$4" wait="${5:-}" connections="${6:-$CONNECTIONS}"
  start_server
  subscribe "$hooks"
  curl -s -X POST "$SINK/reset" >/dev/null
  ./target/release/mercato-e2e --host "http://127.0.0.1:$PORT" --seconds "$SECONDS_PER_PHASE" \
    --connections "$connections" --carts "$UNITS" --flash-units "$units" --phases "$phases" \
    >"$WORK/$label.txt"
  curl -s -X POST "$SINK/mark" >/dev/null
  echo "-- $label ($hooks subscriptions)"
  cat "$WORK/$label.txt"
  if [ "$wait" = drain ]; then
    drain
    curl -s "$SINK/stats" >"$WORK/$label.stats"
    echo " (the server counts $(delivered_total) delivered)" >>"$WORK/$label.stats"
    cat "$WORK/$label.stats"
  elif [ "$hooks" -gt 0 ]; then
    echo "received while the load ran: $(curl -s "$SINK/stats")"
  fi
  stop_server
  return 0
}

figures() {
  local checkout order
  checkout="$(sed -n 's/^checkout: .*: \([0-9]*\) checkouts\/s.*/\1/p' "$1" | head -1)"
  order="$(sed -n 's/^flash one request.*: \([0-9]*\) purchases\/s.*/\1/p' "$1")"
  echo "${checkout:-0} ${order:-0}"
}

: >"$WORK/rounds.txt"
for round in $(seq 1 "$ROUNDS"); do
  # Which goes first alternates: a run starts on a disk still flushing the last one's writes.
  if [ $((round % 2)) -eq 1 ]; then
    run "without-$round" 0 checkout,order "$UNITS"
    run "with-$round" 100 checkout,order "$UNITS"
  else
    run "with-$round" 100 checkout,order "$UNITS"
    run "without-$round" 0 checkout,order "$UNITS"
  fi
  echo "$round $(figures "$WORK/without-$round.txt") $(figures "$WORK/with-$round.txt")" >>"$WORK/rounds.txt"
done
echo "== with 100 subscriptions against none, $ROUNDS rounds"
awk '
  BEGIN { split("checkout/s one-request-purchases/s", name, " ") }
  {
    line = sprintf("round %d:", $1)
    for (i = 1; i <= 2; i++) { base[NR, i] = $(i + 1); with[NR, i] = $(i + 3)
      line = line sprintf(" %s %s/%s = %.3f;", name[i], $(i + 3), $(i + 1), ($(i + 1) > 0 ? $(i + 3) / $(i + 1) : 0)) }
    print line
  }
  function median(values, n,    i, j, t) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (values[j] < values[i]) { t = values[i]; values[i] = values[j]; values[j] = t }
    return (n % 2) ? values[(n + 1) / 2] : (values[n / 2] + values[n / 2 + 1]) / 2
  }
  END {
    for (i = 1; i <= 2; i++) {
      for (r = 1; r <= NR; r++) { b[r] = base[r, i]; w[r] = with[r, i] }
      mb = median(b, NR); mw = median(w, NR)
      printf "== ratio with/without 100 subscriptions, %s: %.3f (medians %s against %s)\n", name[i], (mb > 0 ? mw / mb : 0), mw, mb
    }
  }' "$WORK/rounds.txt"

# Deliveries: 100 subscriptions over a sale of 1,000 purchases (each event sent 100
# times), then one subscription over the whole load; both until every delivery arrived
# (`rate_since_mark`: events/s once the load stopped, the backlog's drain). Then the
# delay at a load the node keeps up with: one subscription, one connection buying.
run hundred 100 order 1000 drain
run one 1 checkout,order 20000 drain
run light 1 order 2000 drain 1
echo "== 100 subscriptions, 1,000 purchases: $(head -1 "$WORK/hundred.stats")"
echo "== one subscription, full load: $(head -1 "$WORK/one.stats")"
echo "== one subscription, 1 connection buying: $(head -1 "$WORK/light.stats")"
