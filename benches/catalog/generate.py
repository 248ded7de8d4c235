"""Writes N products as NDJSON (as PUT …/products/{sku} takes them, with their sku) for the
demo commerce: two languages, a price, a weight and an attribute each."""

import json
import sys

count = int(sys.argv[1])
out = sys.stdout
for n in range(1, count + 1):
    product = {
        "sku": f"BULK-{n:07d}",
        "names": {"en": f"Bulk product {n}", "es": f"Producto {n}"},
        "tax_class": "standard",
        "weight_grams": 100 + n % 900,
        "shipping_class": "small",
        "prices": {"EUR": f"{1 + n % 500}.{n % 100:02d}"},
        "attributes": {"colour": ("red", "green", "blue")[n % 3]},
    }
    out.write(json.dumps(product, separators=(",", ":")))
    out.write("\n")
