"""Latency probe for benches/catalog.sh: over one keep-alive connection, alternates a
storefront's product read (GET …/products/MOUSE) with an add-to-cart (POST a line to a
cart, then DELETE it, so the stock is the same afterwards: only the POST is timed), until
the file named by --until exists or --seconds pass, each pair after an empty request
(GET /healthz: what the machine and this client add to any request, the control). Prints
p50 and p99 of each, in ms."""

import argparse
import http.client
import json
import os
import time


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--until", default=None)
    parser.add_argument("--label", required=True)
    args = parser.parse_args()
    connection = http.client.HTTPConnection("127.0.0.1", args.port)
    base = "/v1/commerces/demo"
    headers = {"Authorization": "Bearer demo-storefront", "Content-Type": "application/json"}

    def call(method, path, body=None, root=False):
        connection.request(method, (path if root else base + path), body=json.dumps(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, data

    status, data = call("POST", "/carts", {})
    cart = json.loads(data)["id"]
    empties, reads, adds = [], [], []
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline and not (args.until and os.path.exists(args.until)):
        started = time.perf_counter()
        call("GET", "/healthz", root=True)
        empties.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        status, _ = call("GET", "/products/MOUSE")
        reads.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        status, data = call("POST", f"/carts/{cart}/lines", {"sku": "MOUSE", "qty": 1})
        adds.append((time.perf_counter() - started) * 1000)
        if status == 201 or status == 200:
            line = json.loads(data)["line"]
            call("DELETE", f"/carts/{cart}/lines/{line}")
        elif status == 409:
            status, data = call("POST", "/carts", {})
            cart = json.loads(data)["id"]
    print(
        f"probe {args.label}: {len(reads)} reads p50 {percentile(reads, 0.5):.3f} ms p99 {percentile(reads, 0.99):.3f} ms; "
        f"{len(adds)} adds p50 {percentile(adds, 0.5):.3f} ms p99 {percentile(adds, 0.99):.3f} ms; "
        f"{len(empties)} empty p50 {percentile(empties, 0.5):.3f} ms p99 {percentile(empties, 0.99):.3f} ms"
    )


main()
