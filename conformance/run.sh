#!/usr/bin/env bash
# Runs Schemathesis (pinned below) against the debug binary serving the embedded demo
# on a fresh data folder, once per key the demo has: admin, storefront and merchant.
# Every check (schemathesis.toml), every phase, seed 42. Any failure fails the script.
#
#   conformance/run.sh [SECONDS_PER_KEY]     (default 90)
#
# Needs python3 with venv; the virtual environment goes to target/conformance-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
SCHEMATHESIS_VERSION=4.32.5
SECONDS_PER_KEY=${1:-90}
PORT=${MERCATO_CONFORMANCE_PORT:-18181}

VENV=target/conformance-venv
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# The dev profile: its build is mostly shared with the tests' (a release build would
# double the target folder, and a CI run once failed on a full disk), and its arithmetic
# overflow checks turn any overflow a request reaches into a failure here.
cargo build --locked --bin mercato
DATA=$(mktemp -d)
"${CARGO_TARGET_DIR:-target}/debug/mercato" --data "$DATA" --listen "127.0.0.1:$PORT" >"$DATA.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DATA" "$DATA.log"' EXIT

status=0
# The event stream never ends by design (a server-sent-event stream): it is left out here
# and tested by adapters/tests/events.rs, which reads it, drops it and resumes it.
# The administrator's run comes last: it may rotate or revoke the other keys (never its own).
for key in demo-storefront demo-merchant-artisan demo-admin; do
    echo "== schemathesis as $key"
    (cd conformance && "../$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/openapi.json" \
        --checks all --phases examples,coverage,fuzzing,stateful --seed 42 --wait-for-schema 30 \
        --exclude-path '/v1/commerces/{commerce}/events/stream' \
        --max-time "$SECONDS_PER_KEY" -H "Authorization: Bearer $key") || status=1
done
if ! kill -0 $SERVER 2>/dev/null || grep -q "panicked" "$DATA.log"; then
    echo "the server stopped or panicked during the run:"; tail -20 "$DATA.log"; status=1
fi
exit $status
