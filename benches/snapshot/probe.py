"""Latency probe for benches/snapshot_stall.sh: over one keep-alive connection, a shopper
after another makes a cart (country, address), adds a line to it (timed: add-to-cart),
chooses home delivery and checks it out by card (timed: checkout), for --seconds. Then it reads
the server's log for the snapshots taken meanwhile (each "snapshot taken" line ends one,
with its elapsed_ms) and prints p50 and p99 of each request kind during a snapshot and
outside one, in ms, and their ratio."""

import argparse
import datetime
import http.client
import json
import re
import time


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def snapshots(log_path):
    """The (start, end) wall-clock seconds of every snapshot the log reports."""
    found = []
    pattern = re.compile(r"^(\S+Z)\s.*snapshot taken.*elapsed_ms=(\d+)")
    with open(log_path, encoding="utf-8", errors="replace") as log:
        for line in log:
            line = re.sub(r"\x1b\[[0-9;]*m", "", line)
            match = pattern.search(line)
            if match:
                end = datetime.datetime.fromisoformat(match.group(1).replace("Z", "+00:00")).timestamp()
                found.append((end - int(match.group(2)) / 1000.0, end))
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    connection = http.client.HTTPConnection("127.0.0.1", args.port)
    base = "/v1/commerces/demo"
    headers = {"Authorization": "Bearer demo-storefront", "Content-Type": "application/json"}

    def call(method, path, body=None):
        connection.request(method, base + path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()

    address = {"name": "Ana", "line": "Gran Vía 1", "city": "Madrid", "postal_code": "28013", "country": "ES"}
    samples = []  # (wall start, wall end, kind, ms)
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        status, data = call("POST", "/carts", {"country": "ES"})
        cart = json.loads(data)["id"]
        call("PUT", f"/carts/{cart}/address", address)
        for kind, method, path, body in [
            ("add-to-cart", "POST", f"/carts/{cart}/lines", {"sku": "MOUSE", "qty": 1}),
            ("delivery", "PUT", f"/carts/{cart}/delivery", {"method": "home"}),
            ("checkout", "POST", f"/carts/{cart}/checkout", {"payment_system": "card", "payment_token": "tok_visa"}),
        ]:
            wall, started = time.time(), time.perf_counter()
            status, _ = call(method, path, body)
            samples.append((wall, time.time(), kind, (time.perf_counter() - started) * 1000, status))
    windows = snapshots(args.log)
    during = lambda s: any(start <= s[1] and s[0] <= end for start, end in windows)
    print(f"snapshots while probing: {sum(1 for w in windows if w[1] >= samples[0][0])}, "
          f"{', '.join(f'{w[1] - w[0]:.2f} s' for w in windows if w[1] >= samples[0][0])}")
    for kind in ("add-to-cart", "checkout"):
        inside = [s[3] for s in samples if s[2] == kind and during(s)]
        outside = [s[3] for s in samples if s[2] == kind and not during(s)]
        failed = sum(1 for s in samples if s[2] == kind and s[4] >= 300)
        ratio = percentile(inside, 0.99) / percentile(outside, 0.99) if outside and inside else 0.0
        print(f"{kind}: outside a snapshot {len(outside)} p50 {percentile(outside, 0.5):.3f} p99 {percentile(outside, 0.99):.3f} ms; "
              f"during one {len(inside)} p50 {percentile(inside, 0.5):.3f} p99 {percentile(inside, 0.99):.3f} ms; "
              f"p99 ratio {ratio:.2f}; refused {failed}")


main()
