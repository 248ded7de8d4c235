#!/usr/bin/env python3
"""Writes a marketplace configuration for the flash-sale benchmark: the demo with prices
shown before tax (so a merchant's sale is its lines' amount), no payout hold, and
MERCHANTS more merchants (active, commission 5 to 19.5 %), each selling one hot product
priced so amounts round (9.99 + 0.37 per merchant).

    benches/marketplace/generate.py MERCHANTS OUT.toml
"""
import sys

merchants, out = int(sys.argv[1]), sys.argv[2]
with open("config/demo.toml", encoding="utf-8") as demo:
    text = demo.read()
text = text.replace("tax_inclusive = true", "tax_inclusive = false")
text = text.replace('merchant_terms_version = "2026-01"', 'merchant_terms_version = "2026-01"\npayout_hold_days = 0', 1)
parts = [text, "\n# --- The flash sale's merchants, one hot product each ---\n"]
for i in range(1, merchants + 1):
    parts.append(
        f'\n[[merchants]]\ncode = "m-{i:03}"\nname = "Merchant {i}"\nstatus = "active"\n'
        f'commission_percent = "{5 + (i % 30) / 2}"\n'
    )
for i in range(1, merchants + 1):
    price = 9.99 + 0.37 * i
    parts.append(
        f'\n[[products]]\nsku = "HOT-{i:03}"\nnames = {{ en = "Hot product {i}" }}\ntax_class = "standard"\n'
        f'weight_grams = 500\nshipping_class = "parcel"\nmerchant = "m-{i:03}"\nprices = {{ EUR = "{price:.2f}" }}\n'
    )
with open(out, "w", encoding="utf-8") as config:
    config.write("".join(parts))
