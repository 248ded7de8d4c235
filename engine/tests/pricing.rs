//! Prices and totals on the demo commerce: which price rule wins (user > group > area >
//! country > none, then priority), quantity tiers, conversion from the main currency,
//! rounding half away from zero, discounts, and the tax breakdown of tax-inclusive and
//! tax-exclusive channels.

use chrono::NaiveDate;
use expect_test::{expect, Expect};
use mercato_engine::commerce::model::Place;
use mercato_engine::pricing::totals::{price_cart, CartPricing};
use mercato_engine::pricing::{round, unit_price, Shopper};
use mercato_engine::{Commerce, KNOWN_GATEWAYS};
use rust_decimal::Decimal;

const DEMO: &str = include_str!("../../config/demo.toml");

fn demo() -> Commerce {
    Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("the demo is valid")
}

fn today() -> NaiveDate {
    "2026-11-21".parse().expect("a date")
}

fn place(country: &str, postal_code: Option<&str>) -> Place {
    Place { country: country.into(), region: None, postal_code: postal_code.map(Into::into) }
}

/// One row per query: `sku qty currency [user] [group] [country] -> unit (rule)`.
/// `(sku, quantity, currency, user, group, country)`.
type Query<'a> = (&'a str, u32, &'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);

fn check_prices(queries: &[Query<'_>], expect: Expect) {
    let commerce = demo();
    let mut out = String::new();
    for &(sku, quantity, currency, user, group, country) in queries {
        let place = country.map(|c| place(c, None));
        let shopper = Shopper::of(&commerce, user, group, place.as_ref());
        let who = [
            user.map(|u| format!("user={u}")),
            group.map(|g| format!("group={g}")),
            country.map(|c| format!("country={c}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let row = match unit_price(&commerce, sku, quantity, currency, &shopper) {
            Ok(price) => format!(
                "{} ({}{})",
                round(price.unit, 2),
                price.rule.as_deref().unwrap_or("base"),
                if price.converted { ", converted" } else { "" }
            ),
            Err(error) => format!("{}: {error}", error.code()),
        };
        out.push_str(&format!("{sku} x{quantity} {currency} {who} -> {row}\n"));
    }
    expect.assert_eq(&out);
}

// Proves the most specific filter wins, then priority, and that tiers start at their
// minimum quantity.
#[test]
fn price_rule_precedence_and_tiers() {
    check_prices(
        &[
            ("KEYBOARD", 1, "EUR", None, None, Some("ES")),
            ("KEYBOARD", 1, "EUR", None, None, Some("FR")),
            // The user's own price beats the country's, though the user is in France.
            ("KEYBOARD", 1, "EUR", Some("acme-buyer"), None, Some("FR")),
            // The user's group (wholesale) counts without naming it.
            ("TSHIRT-RED-M", 1, "EUR", Some("acme-buyer"), None, Some("ES")),
            ("TSHIRT-RED-M", 1, "EUR", None, Some("wholesale"), None),
            ("TSHIRT-RED-M", 1, "EUR", None, Some("staff"), None),
            // An area rule applies inside the area only.
            ("BOOK-RUST", 1, "EUR", None, None, Some("PT")),
            ("BOOK-RUST", 1, "EUR", None, None, Some("FR")),
            // Two unfiltered rules: the higher priority wins.
            ("MOUSE", 1, "EUR", None, None, None),
            // Tiers: base below 10, then 7.90, then 6.90.
            ("USB-CABLE", 9, "EUR", None, None, None),
            ("USB-CABLE", 10, "EUR", None, None, None),
            ("USB-CABLE", 24, "EUR", None, None, None),
            ("USB-CABLE", 25, "EUR", None, None, None),
        ],
        expect![[r#"
            KEYBOARD x1 EUR country=ES -> 119.00 (base)
            KEYBOARD x1 EUR country=FR -> 129.00 (keyboard-france)
            KEYBOARD x1 EUR user=acme-buyer country=FR -> 99.00 (acme-keyboard)
            TSHIRT-RED-M x1 EUR user=acme-buyer country=ES -> 13.93 (wholesale-apparel)
            TSHIRT-RED-M x1 EUR group=wholesale -> 13.93 (wholesale-apparel)
            TSHIRT-RED-M x1 EUR group=staff -> 19.90 (base)
            BOOK-RUST x1 EUR country=PT -> 32.30 (books-iberia)
            BOOK-RUST x1 EUR country=FR -> 34.00 (base)
            MOUSE x1 EUR  -> 25.00 (mouse-campaign)
            USB-CABLE x9 EUR  -> 9.90 (base)
            USB-CABLE x10 EUR  -> 7.90 (cable-10)
            USB-CABLE x24 EUR  -> 7.90 (cable-10)
            USB-CABLE x25 EUR  -> 6.90 (cable-25)
        "#]],
    );
}

// Proves a currency without a price converts from the main currency at its rate, that an
// explicit price in the currency is used as is, and that rounding is half away from zero.
#[test]
fn conversion_and_rounding() {
    check_prices(
        &[
            ("TSHIRT-RED-M", 1, "USD", None, None, None),
            ("TSHIRT-RED-S", 1, "USD", None, None, None),
            ("TSHIRT-RED-S", 1, "GBP", None, None, None),
            ("USB-CABLE", 25, "USD", None, None, None),
            ("USB-CABLE", 10, "USD", None, None, None),
            ("MOUSE", 1, "JPY", None, None, None),
            ("NO-SUCH", 1, "EUR", None, None, None),
        ],
        expect![[r#"
            TSHIRT-RED-M x1 USD  -> 21.90 (base)
            TSHIRT-RED-S x1 USD  -> 21.49 (base, converted)
            TSHIRT-RED-S x1 GBP  -> 16.92 (base, converted)
            USB-CABLE x25 USD  -> 7.50 (cable-25)
            USB-CABLE x10 USD  -> 8.53 (cable-10, converted)
            MOUSE x1 JPY  -> unknown_currency: currency "JPY" is not a browsing currency of this commerce
            NO-SUCH x1 EUR  -> unknown_sku: product "NO-SUCH" is not sold by this commerce
        "#]],
    );
    // 2.345 and -2.345 round away from zero; 2.344 rounds down.
    let half = |text: &str| round(text.parse::<Decimal>().expect("a decimal"), 2).to_string();
    assert_eq!([half("2.345"), half("-2.345"), half("2.344"), half("0.005")], ["2.35", "-2.35", "2.34", "0.01"]);
}

/// Totals of a cart of `(sku, qty)` in a channel, shipping to `destination`.
fn check_totals(
    channel: &str,
    destination: Place,
    lines: &[(&str, u32)],
    promo: Option<&str>,
    shipping: &str,
    expect: Expect,
) {
    let commerce = demo();
    let ids: Vec<String> = (1..=lines.len()).map(|i| format!("l{i}")).collect();
    let input = CartPricing {
        commerce: &commerce,
        channel,
        currency: "EUR",
        shopper: Shopper::of(&commerce, None, None, Some(&destination)),
        destination: &destination,
        lines: lines.iter().zip(&ids).map(|((sku, q), id)| (id.as_str(), *sku, *q)).collect(),
        promo_code: promo,
        today: today(),
    };
    let out = match price_cart(&input) {
        Ok(priced) => {
            let totals = priced.totals(shipping.parse().expect("a decimal"));
            let mut out = format!(
                "company {} {}\n",
                priced.invoicing_company,
                if totals.tax_inclusive { "inclusive" } else { "exclusive" }
            );
            for l in &totals.lines {
                out.push_str(&format!(
                    "{} {} x{} at {} less {} = {} ({}%)\n",
                    l.line, l.sku, l.quantity, l.unit_price, l.discount, l.amount, l.tax_rate
                ));
            }
            out.push_str(&format!(
                "subtotal {} discounts {} shipping {} total {}\n",
                totals.subtotal, totals.discounts, totals.shipping, totals.total
            ));
            for t in &totals.taxes {
                out.push_str(&format!("tax {} {}%: base {} tax {}\n", t.name, t.rate, t.base, t.tax));
            }
            out.push_str(&format!("applied {:?}\n", totals.applied_discounts));
            out
        }
        Err(error) => format!("{}: {error}\n", error.code()),
    };
    expect.assert_eq(&out);
}

// Proves a tax-inclusive channel shows prices with tax and breaks the tax out of the
// total, per rate, shipping taxed at the standard rate.
#[test]
fn totals_in_a_tax_inclusive_channel() {
    check_totals(
        "web",
        place("ES", Some("28013")),
        &[("KEYBOARD", 1), ("BOOK-DDD", 2), ("PLUSH-BEAR", 1)],
        None,
        "3.90",
        expect![[r#"
            company demo-es inclusive
            l1 KEYBOARD x1 at 143.99 less 6.88 = 137.11 (21%)
            l2 BOOK-DDD x2 at 40.76 less 3.90 = 77.61 (10%)
            l3 PLUSH-BEAR x1 at 22.99 less 4.38 = 18.61 (21%)
            subtotal 248.49 discounts 15.16 shipping 4.72 total 238.05
            tax IVA general 21%: base 132.59 tax 27.84
            tax IVA reducido 10%: base 70.56 tax 7.06
            applied ["toys-winter", "spend-150"]
        "#]],
    );
}

// Proves a tax-exclusive channel shows prices before tax and adds the taxes, with the
// destination's own rates (Portugal) and a promo code.
#[test]
fn totals_in_a_tax_exclusive_channel() {
    check_totals(
        "wholesale",
        place("PT", None),
        &[("KEYBOARD", 1), ("BOOK-DDD", 2)],
        Some("welcome10"),
        "5.90",
        expect![[r#"
            company demo-es exclusive
            l1 KEYBOARD x1 at 119.00 less 18.06 = 100.94 (23%)
            l2 BOOK-DDD x2 at 37.05 less 11.25 = 62.85 (6%)
            subtotal 193.10 discounts 29.31 shipping 5.90 total 198.03
            tax IVA Portugal 23%: base 106.84 tax 24.57
            tax IVA Portugal reduzido 6%: base 62.85 tax 3.77
            applied ["spend-150", "welcome10"]
        "#]],
    );
    // A free-shipping code zeroes shipping; an unknown code is refused by name.
    check_totals(
        "web",
        place("FR", None),
        &[("MOUSE", 1)],
        Some("FREESHIP"),
        "7.50",
        expect![[r#"
            company demo-fr inclusive
            l1 MOUSE x1 at 30.00 less 0.00 = 30.00 (20%)
            subtotal 30.00 discounts 0.00 shipping 0.00 total 30.00
            tax TVA normale 20%: base 25.00 tax 5.00
            applied ["free-shipping"]
        "#]],
    );
    check_totals(
        "web",
        place("FR", None),
        &[("MOUSE", 1)],
        Some("NOPE"),
        "7.50",
        expect![[r#"
            unknown_promo_code: promo code "NOPE" is not known
        "#]],
    );
    // No invoicing company of the channel invoices to a country outside its areas.
    check_totals(
        "wholesale",
        place("FR", None),
        &[("MOUSE", 1)],
        None,
        "0",
        expect![[r#"
        no_invoicing_company: no invoicing company of channel "wholesale" invoices to country "FR"
    "#]],
    );
}

// Proves a product discount applies only within its dates (both days included), and an
// amount discount never takes a unit below zero.
#[test]
fn product_discounts_keep_to_their_dates() {
    let commerce = demo();
    let destination = place("ES", None);
    let discount_on = |day: &str| {
        let input = CartPricing {
            commerce: &commerce,
            channel: "web",
            currency: "EUR",
            shopper: Shopper::of(&commerce, None, None, Some(&destination)),
            destination: &destination,
            lines: vec![("l1", "KITE", 1), ("l2", "HEADPHONES", 1)],
            promo_code: None,
            today: day.parse().expect("a date"),
        };
        let priced = price_cart(&input).expect("priced");
        priced.lines.iter().map(|l| format!("{} {}", l.sku, round(l.unit_discount, 2))).collect::<Vec<_>>()
    };
    // toys-winter runs 2026-11-01 to 2027-01-31; headphones-5 has no dates.
    assert_eq!(discount_on("2026-10-31"), ["KITE 0.00", "HEADPHONES 5.00"]);
    assert_eq!(discount_on("2026-11-01"), ["KITE 4.35", "HEADPHONES 5.00"]);
    assert_eq!(discount_on("2027-01-31"), ["KITE 4.35", "HEADPHONES 5.00"]);
    assert_eq!(discount_on("2027-02-01"), ["KITE 0.00", "HEADPHONES 5.00"]);
}

// Proves a line too large to compute is refused by name rather than overflowing, and that
// the limit is the documented 10^20.
#[test]
fn absurd_amounts_are_refused() {
    use mercato_engine::pricing::totals::AMOUNT_MAX;
    assert_eq!(AMOUNT_MAX, "100000000000000000000".parse::<Decimal>().expect("a decimal"));
    let commerce = demo();
    let destination = place("ES", None);
    let input = CartPricing {
        commerce: &commerce,
        channel: "web",
        currency: "EUR",
        shopper: Shopper::of(&commerce, None, None, Some(&destination)),
        destination: &destination,
        lines: vec![("l1", "SOFA-3", u32::MAX), ("l2", "SOFA-3", u32::MAX)],
        promo_code: Some("WELCOME10"),
        today: today(),
    };
    let priced = price_cart(&input).expect("4.3e9 sofas are within the limit");
    assert!(priced.totals(Decimal::ZERO).total > Decimal::ZERO);
    let mut config = commerce.config().clone();
    config.products = commerce.products().cloned().collect();
    let sofa = config.products.iter_mut().find(|p| p.sku == "SOFA-3").expect("a sofa");
    // The largest price a product may have is under 10^18; 10^17 by u32::MAX units is over.
    sofa.prices.insert("EUR".into(), "100000000000000000".parse().expect("a decimal"));
    let text = toml::to_string(&config).expect("serialises");
    let pricey = Commerce::from_toml(&text, KNOWN_GATEWAYS).expect("valid");
    let input =
        CartPricing { commerce: &pricey, shopper: Shopper::of(&pricey, None, None, Some(&destination)), ..input };
    let refused = price_cart(&input).expect_err("too large");
    assert_eq!(refused.code(), "amount_too_large");
}
