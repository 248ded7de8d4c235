//! Configuration loading: the demo is valid, and every rule of the commerce model reports
//! its violation, all of them at once, each naming the entity.

use expect_test::{expect, Expect};
use mercato_engine::{Commerce, ConfigError, KNOWN_GATEWAYS};

const DEMO: &str = include_str!("../../config/demo.toml");
const MINIMAL: &str = include_str!("data/minimal.toml");

/// Loads `text` and renders the outcome: `ok` plus a count, or one violation per line.
fn render(text: &str) -> String {
    match Commerce::from_toml(text, KNOWN_GATEWAYS) {
        Ok(commerce) => format!("ok: {} products\n", commerce.catalog().len()),
        Err(ConfigError::Syntax { message }) => format!("syntax: {message}\n"),
        Err(ConfigError::Invalid { violations }) => violations.iter().map(|v| format!("{v}\n")).collect(),
    }
}

/// The minimal valid commerce with `edits` applied: each `(from, to)` replaces text once,
/// and `extra` is appended.
fn check(edits: &[(&str, &str)], extra: &str, expect: Expect) {
    let mut text = MINIMAL.to_owned();
    for (from, to) in edits {
        assert!(text.contains(from), "fixture lacks {from:?}");
        text = text.replacen(from, to, 1);
    }
    text.push_str(extra);
    expect.assert_eq(&render(&text));
}

// Proves the embedded demo configuration is valid and as rich as the issue asks.
#[test]
fn demo_is_valid() {
    let commerce = Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("demo config is valid");
    let c = commerce.config();
    assert_eq!(c.code, "demo");
    assert!(c.languages.len() >= 2 && c.currencies.len() >= 2 && c.domains.len() >= 2);
    assert!(c.countries.iter().filter(|x| !x.sales_area).count() >= 1);
    assert!(c.channels.len() >= 2 && c.invoicing_companies.len() >= 2);
    assert!(c.warehouses.len() >= 3 && c.logistic_centers.len() >= 2);
    assert!(c.carriers.len() >= 2 && c.carriers.iter().all(|x| x.shipping_types.len() >= 2));
    assert!(c.physical_locations.iter().filter(|x| x.pickup).count() >= 2);
    assert!(c.payment_systems.iter().any(|p| p.gateway.as_deref() == Some("sandbox")));
    assert!(c.payment_systems.iter().any(|p| p.offline.is_some()));
    let products: Vec<_> = commerce.products().collect();
    assert!(products.len() >= 50);
    let policies: std::collections::BTreeSet<&str> = products
        .iter()
        .filter_map(|p| commerce.stock_policy(&p.sku, "wh-madrid"))
        .map(|policy| policy.name())
        .collect();
    expect![[r#"{"backorder_incoming", "backorder_lead_time", "preorder", "stock_only"}"#]]
        .assert_eq(&format!("{policies:?}"));
    for class in &c.shipping_classes {
        assert!(products.iter().any(|p| &p.shipping_class == class), "no product of class {class}");
    }
    assert!(products.iter().any(|p| p.quantity.min > 1));
    assert!(products.iter().any(|p| p.quantity.max.is_some()));
    assert!(products.iter().any(|p| p.quantity.multiple_of > 1));
    // Plain keys are held as their digests only.
    let digest = mercato_engine::commerce::data::key_digest;
    let keys: Vec<(&str, &str)> =
        c.api_keys.iter().filter_map(|k| Some((k.key_sha256.as_deref()?, k.role?.as_str()))).collect();
    let (admin, storefront) = (digest("demo-admin"), digest("demo-storefront"));
    assert!(keys.contains(&(admin.as_str(), "admin")) && keys.contains(&(storefront.as_str(), "storefront")));
}

// Proves the minimal fixture the rule cases start from is itself valid.
#[test]
fn minimal_is_valid() {
    check(
        &[],
        "",
        expect![[r#"
        ok: 1 products
    "#]],
    );
}

// Proves an empty document names every missing entity kind at once.
#[test]
fn empty_document_names_every_missing_kind() {
    expect![[r#"
        commerce: at least one language is required [missing]
        commerce: at least one currency is required [missing]
        commerce: at least one country is required [missing]
        commerce: at least one domain is required [missing]
        commerce: at least one channel is required [missing]
        commerce: at least one invoicing company is required [missing]
        commerce: at least one warehouse is required [missing]
        commerce: at least one logistic center is required [missing]
        commerce: at least one payment system is required [missing]
        commerce: at least one carrier is required [missing]
        commerce: at least one product is required [missing]
        commerce: at least one tax class is required [missing]
        commerce: at least one super-administrator user is required [missing]
        commerce: at least one shipping class is required [missing]
        commerce: code is required [missing]
        commerce: name is required [missing]
        commerce: default_language is required [missing]
        commerce: main_currency is required [missing]
    "#]]
    .assert_eq(&render(""));
}

// Proves malformed TOML is a syntax error that says where.
#[test]
fn syntax_error_names_the_place() {
    let rendered = render("code = \"demo\"\nlanguages = [ oops ]\n");
    assert!(rendered.starts_with("syntax: TOML parse error at line 2"), "{rendered}");
}

// Proves unknown fields anywhere are violations naming the path, alongside other rules.
#[test]
fn unknown_fields_are_reported() {
    check(
        &[
            ("weight_grams = 500", "weight_grams = 500\ncolour = \"red\""),
            ("code = \"mini\"", "surprise = true\ncode = \"mini\""),
        ],
        "",
        expect![[r#"
            product "P-1": unknown field "colour" [unknown_field]
            commerce: unknown field "surprise" [unknown_field]
        "#]],
    );
}

// Proves a stock policy keeps only the fields its kind takes: an unknown one and one the
// kind does not take are both reported, never dropped.
#[test]
fn stock_policy_fields() {
    check(
        &[("weight_grams = 500", "weight_grams = 500\nstock_policy = { kind = \"stock_only\", cap = 5, capp = 6 }")],
        "",
        expect![[r#"
            product "P-1": unknown field "stock_policy.capp" [unknown_field]
            product "P-1": stock_policy: cap does not apply to stock_only [invalid_value]
        "#]],
    );
}

// Proves missing nested fields are reported together with every other violation, not as
// one parse error that hides the rest.
#[test]
fn missing_nested_fields_are_all_reported() {
    check(
        &[
            ("kind = \"virtual\"\n", ""),
            ("rate = \"21\" }", "}"),
            ("weight_grams = 500\n", ""),
            ("transit_days = 2\n", ""),
            ("role = \"storefront\"", "merchant = \"nobody\""),
        ],
        "",
        expect![[r#"
            invoicing company "co-1": tax "VAT" rate is required [missing]
            api key "storefront": role is required [missing]
            warehouse "wh-1": kind is required [missing]
            carrier "carrier" shipping type "standard": transit_days is required [missing]
            product "P-1": weight_grams is required [missing]
        "#]],
    );
}

// Proves the version rules: a domain's language must be one its country offers, a country
// restricting sellable countries must sell to itself and be linked to a domain, and every
// sales country must be reachable by a logistic center and a carrier.
#[test]
fn version_and_coverage_rules() {
    check(
        &[("sales_area = true", "sales_area = true\nlanguages = [\"en\"]\nsellable_countries = [\"PT\"]")],
        r#"
[[domains]]
host = "shop.es"
language = "es"
country = "ES"

[[languages]]
code = "es"
name = "Español"

[[countries]]
code = "PT"
name = "Portugal"
sales_area = true
sellable_countries = ["PT"]

[[user_groups]]
code = "VIP"
"#,
        expect![[r#"
            country "ES": sellable_countries must include "ES" itself [conflict]
            country "PT": sellable_countries applies only to a country a domain is linked to [unused]
            domain "shop.es": language "es" is not among the languages of country "ES" [conflict]
            user group "VIP": code "VIP" must be 1 to 64 of a-z, 0-9, '-', '_' [invalid_format]
            country "PT": no logistic center's area delivers to this sales country [undeliverable]
            country "PT": no carrier's shipping type delivers to this sales country [undeliverable]
        "#]],
    );
}

// Proves dangling references are named with the referring entity.
#[test]
fn dangling_references() {
    check(
        &[
            ("warehouses = [\"wh-1\"]", "warehouses = [\"wh-1\", \"wh-missing\"]"),
            ("logistic_center = \"lc-1\"", "logistic_center = \"lc-nowhere\""),
            ("shipping_class = \"parcel\"", "shipping_class = \"pallet\""),
        ],
        "",
        expect![[r#"
            channel "web": warehouse "wh-missing" is not defined [undefined_reference]
            warehouse "wh-1": logistic center "lc-nowhere" is not defined [undefined_reference]
            logistic center "lc-1": it groups no warehouse [unused]
            product "P-1": shipping class "pallet" is not defined [undefined_reference]
            product "P-1": no carrier's shipping type accepts shipping class "pallet" [undeliverable]
        "#]],
    );
}

// Proves channel rules: one default, criteria required off the default, no twins, and
// area disqualification of every warehouse.
#[test]
fn channel_rules() {
    check(
        &[
            ("area = \"everywhere\"\nwarehouses", "area = \"nowhere\"\nwarehouses"),
            ("logistic_center = \"lc-1\"", "logistic_center = \"lc-1\"\narea = \"everywhere\""),
            ("accounting_currencies = [\"EUR\"]", "accounting_currencies = [\"EUR\"]\narea = \"everywhere\""),
        ],
        r#"
[[channels]]
code = "mobile"
default = true
criteria = { devices = ["mobile"] }
warehouses = ["wh-1"]
invoicing_companies = ["co-1"]

[[channels]]
code = "mobile-2"
criteria = { devices = ["mobile"] }
warehouses = ["wh-1"]
invoicing_companies = ["co-1"]

[[channels]]
code = "loose"
warehouses = ["wh-1"]
invoicing_companies = ["co-1"]

[[areas]]
code = "nowhere"
members = [{ country = "FR" }]

[[countries]]
code = "FR"
name = "France"
"#,
        expect![[r#"
            commerce: exactly one channel must be the default (found: web, mobile) [conflict]
            channel "web": none of its warehouses fits the channel's area (by its own area and its logistic center's) [disqualified]
            channel "web": none of its invoicing companies has an area compatible with the channel's [disqualified]
            channel "mobile-2": its criteria are the same as channel "mobile"'s [conflict]
            channel "loose": a channel that is not the default needs at least one criterion [missing]
        "#]],
    );
}

// Proves geography rules: code formats, rates, language links, out-of-area redirects.
#[test]
fn geography_rules() {
    check(
        &[
            ("code = \"EUR\"\nminor_units = 2", "code = \"EUR\"\nminor_units = 7"),
            ("behaviour = \"block\"", "behaviour = \"redirect\"\notherwise = \"block\"\nversions = [{ commerce = \"other\", url = \"ftp://x\", countries = [\"ES\"] }]"),
        ],
        r#"
[[currencies]]
code = "usd"
minor_units = 2

[[domains]]
host = "Shop.Example:8080"
language = "en"

[[countries]]
code = "PT"
name = "Portugal"
languages = ["en"]
default_language = "de"
"#,
        expect![[r#"
            currency "EUR": minor_units 7 exceeds 4 [invalid_value]
            currency "usd": code "usd" must be three uppercase letters (ISO 4217) [invalid_format]
            currency "usd": rate to the main currency is required [missing]
            country "PT": default_language "de" is not defined [undefined_reference]
            domain "Shop.Example:8080": host "Shop.Example:8080" must be a lowercase host name without port [invalid_format]
            domain "Shop.Example:8080": language "en" is already linked to domain "shop.example" [conflict]
            out_of_area version "other": url "ftp://x" must be an http(s) URL [invalid_format]
            out_of_area version "other": country "ES" is in this commerce's sales areas [conflict]
        "#]],
    );
}

// Proves invoicing, payment, carrier, key and product rules each report their violation.
#[test]
fn operational_rules() {
    check(
        &[
            ("rate = \"21\"", "rate = \"121\""),
            ("gateway = \"sandbox\"", "gateway = \"stripe\""),
            ("{ up_to = \"1000\", price = \"3.90\" },", "{ price = \"3.90\" },"),
            ("key = \"test-storefront\"", "key = \"short\""),
            ("quantity = { min = 1 }", "quantity = { min = 3, multiple_of = 2, max = 1 }"),
            ("names = { en = \"Product one\" }", "names = { en = \" \", de = \"Produkt\" }"),
        ],
        "",
        expect![[r#"
            invoicing company "co-1": tax "VAT" rate 121 must be between 0 and 100 [invalid_value]
            api key "storefront": key must be at least 8 characters without spaces [invalid_value]
            payment system "card": gateway "stripe" is not provided (known: sandbox) [undefined_reference]
            carrier "carrier" shipping type "standard": rate range 1 has no up_to but is not the last [invalid_value]
            product "P-1": language "de" is not defined [undefined_reference]
            product "P-1": name in language "en" is blank [missing]
            product "P-1": quantity min 3 is not a multiple of 2 [conflict]
            product "P-1": quantity max 1 is below min 3 [conflict]
        "#]],
    );
}

// Proves duplicates of one kind are named.
#[test]
fn duplicates_are_named() {
    check(
        &[],
        r#"
[[warehouses]]
code = "wh-1"
kind = "virtual"
logistic_center = "lc-1"
"#,
        expect![[r#"
            warehouse "wh-1": warehouse "wh-1" is defined twice [duplicate]
        "#]],
    );
}

// Proves price rules and discounts are checked whole: what they target, how they price,
// their filters, their windows and their promo codes, each refusal naming the entity.
#[test]
fn pricing_rules() {
    check(
        &[("shipping_classes = [\"parcel\"]\n", "shipping_classes = [\"parcel\"]\nshipping_tax_class = \"luxury\"\n")],
        r#"
[[price_rules]]
code = "both-targets"
sku = "P-1"
family = "nope"
percent = "-100"
min_quantity = 0

[[price_rules]]
code = "neither-way"
sku = "P-2"
user = "ghost"
group = "vip"
area = "mars"
country = "XX"

[[price_rules]]
code = "no-main-price"
sku = "P-1"
prices = { USD = "-1" }

[[discounts]]
code = "bad-product"
kind = "product"
percent = "0"
amount = "2"
starts = "2027-02-01"
ends = "2027-01-01"
promo_code = "X"

[[discounts]]
code = "bad-cart"
kind = "cart"
sku = "P-1"
min_subtotal = "-5"
promo_code = "same"

[[discounts]]
code = "same-code"
kind = "cart"
percent = "5"
promo_code = "SAME"

[[discounts]]
code = "no-kind"
"#,
        expect![[r#"
            price rule "both-targets": exactly one of sku and family is required [conflict]
            price rule "both-targets": percent -100 must be above -100 [invalid_value]
            price rule "both-targets": min_quantity must be at least 1 [invalid_value]
            price rule "neither-way": product "P-2" is not defined [undefined_reference]
            price rule "neither-way": exactly one of prices and percent is required [conflict]
            price rule "neither-way": user "ghost" is not defined [undefined_reference]
            price rule "neither-way": user group "vip" is not defined [undefined_reference]
            price rule "neither-way": area "mars" is not defined [undefined_reference]
            price rule "neither-way": country "XX" is not defined [undefined_reference]
            price rule "no-main-price": a price in the main currency "EUR" is required [missing]
            price rule "no-main-price": currency "USD" is not defined [undefined_reference]
            price rule "no-main-price": price -1 USD is negative [invalid_value]
            discount "bad-product": percent 0 must be above 0 and at most 100 [invalid_value]
            discount "bad-product": percent and amount cannot both be set [conflict]
            discount "bad-product": ends 2027-01-01 is before starts 2027-02-01 [conflict]
            discount "bad-product": exactly one of sku and family is required [conflict]
            discount "bad-product": min_subtotal, promo_code and free_shipping apply to cart discounts only [conflict]
            discount "bad-cart": sku and family apply to product discounts only [conflict]
            discount "bad-cart": a cart discount needs percent, amount or free_shipping [missing]
            discount "bad-cart": min_subtotal cannot be negative [invalid_value]
            discount "same-code": promo code "SAME" is used by another discount [duplicate]
            discount "no-kind": kind is required [missing]
            commerce: shipping_tax_class "luxury" is not defined [undefined_reference]
        "#]],
    );
}

// Proves a product needs a name in the default language (every other language falls back
// to it), while a name missing in another language is no violation (it is reported by
// `GET …/products/translations`).
#[test]
fn a_product_is_named_in_the_default_language() {
    check(
        &[("names = { en = \"Product one\" }", "names = {}")],
        "",
        expect![[r#"
            product "P-1": name in the default language "en" is required [missing]
        "#]],
    );
}

// Proves a product's name holds no control character and its price at most 18 digits
// before the point (what the API's amounts take; a larger one overflowed what is computed
// from it).
#[test]
fn a_products_name_and_price_stay_within_bounds() {
    check(
        &[
            ("names = { en = \"Product one\" }", "names = { en = \"Product\\tone\" }"),
            ("\"10.00\"", "\"1000000000000000000\""),
        ],
        "",
        expect![[r#"
            product "P-1": name in language "en" holds a control character (a line break, a tab) [invalid_value]
            product "P-1": price 1000000000000000000 EUR has more than 18 digits before the point [invalid_value]
        "#]],
    );
}
