//! Merchants' ledgers and payouts through the binary, on the demo's settings with no payout
//! hold, with prices that include tax and with prices that do not: a merchant line keeps
//! its seller and commission from placement; its sale is earned and its commission charged
//! when delivered; a return reverses both in proportion; a payout takes what is available,
//! once per idempotency key; a return after it leaves the balance negative (listed for the
//! back office); a statement adds up; the merchant reads its own ledger only; and every
//! figure is the same after SIGKILL and once the ledgers are derived again from the log.

mod support;

use rust_decimal::Decimal;
use serde_json::{json, Value};
use support::{free_port, http, http_keyed, serve_on, temp_dir, Served};

const ADMIN: &str = "demo-admin";
const MERCHANT: &str = "demo-merchant-artisan";
const BASE: &str = "/v1/commerces/demo";

fn start(address: std::net::SocketAddr, config: &std::path::Path, data: &std::path::Path) -> Served {
    serve_on(address, config, data, &[])
}

fn call(address: std::net::SocketAddr, method: &str, path: &str, key: &str, body: Value) -> (u16, Value) {
    let (status, text) = http(address, method, &format!("{BASE}{path}"), Some(key), &body.to_string()).expect("answer");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn keyed(address: std::net::SocketAddr, path: &str, idempotency: &str, body: Value) -> (u16, Value) {
    let path = format!("{BASE}{path}");
    let (status, text) =
        http_keyed(address, "POST", &path, Some(ADMIN), Some(idempotency), &body.to_string()).expect("answer");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn dec(value: &Value) -> Decimal {
    value.as_str().unwrap_or_else(|| panic!("an amount: {value}")).parse().expect("a decimal")
}

/// The merchant's EUR account once `ready` holds of it (the ledgers follow the log).
fn account(address: std::net::SocketAddr, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, ledger) = call(address, "GET", "/merchants/artisan-co/ledger", ADMIN, json!({}));
        assert_eq!(status, 200, "{ledger}");
        let eur = ledger["accounts"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["currency"] == "EUR").cloned())
            .unwrap_or(Value::Null);
        if ready(&eur) || std::time::Instant::now() > deadline {
            return eur;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A line's sale for `units` of its `quantity`: its share of the amount, less the tax in it
/// when prices include tax (the ledger's rule, computed here on its own).
fn sale(amount: Decimal, quantity: u32, units: u32, rate: Decimal, inclusive: bool) -> Decimal {
    let gross = (amount * Decimal::from(units) / Decimal::from(quantity)).round_dp(2);
    if !inclusive {
        return gross;
    }
    gross - (gross * rate / (Decimal::ONE_HUNDRED + rate)).round_dp(2)
}

fn commission(sale: Decimal) -> Decimal {
    (sale * Decimal::from(12) / Decimal::ONE_HUNDRED).round_dp(2)
}

fn now() -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
    chrono::DateTime::from_timestamp(i64::try_from(seconds).expect("small"), 0)
        .expect("a time")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Returns `units` of the order's `line`: asked, accepted, received (by the back office,
/// or by the merchant from its returns to receive).
fn give_back(address: std::net::SocketAddr, order: &str, line: &str, units: u32, by_merchant: bool) {
    let ask = json!({"lines": [{"line": line, "quantity": units, "reason": "chipped"}]});
    let (status, asked) = call(address, "POST", &format!("/orders/{order}/returns"), "demo-storefront", ask);
    assert_eq!(status, 201, "{asked}");
    let request =
        asked["returns"].as_array().and_then(|r| r.last()).expect("a return")["id"].as_str().expect("an id").to_owned();
    let accept = json!({"lines": [{"line": line, "accept": true}]});
    assert_eq!(call(address, "POST", &format!("/orders/{order}/returns/{request}/decisions"), ADMIN, accept).0, 200);
    let receive = |warehouse: &str| json!({"lines": [{"line": line, "quantity": units, "condition": "resellable"}], "warehouse": warehouse});
    if !by_merchant {
        let path = format!("/orders/{order}/returns/{request}/receipts");
        let (status, received) = call(address, "POST", &path, ADMIN, receive("wh-dropship"));
        assert_eq!(status, 200, "{received}");
        return;
    }
    // The list follows the to-do queue, which follows the log.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mine = loop {
        let (status, waiting) = call(address, "GET", "/merchants/artisan-co/returns", MERCHANT, json!({}));
        assert_eq!(status, 200, "{waiting}");
        let mine = waiting["returns"].as_array().and_then(|r| r.iter().find(|x| x["id"] == request.as_str())).cloned();
        if mine.is_some() || std::time::Instant::now() > deadline {
            break mine;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(mine.as_ref().map(|r| &r["lines"][0]["to_receive"]), Some(&json!(units)), "{mine:?}");
    let path = format!("/merchants/artisan-co/orders/{order}/returns/{request}/receipts");
    let (status, refused) = call(address, "POST", &path, MERCHANT, receive("wh-madrid"));
    assert_eq!((status, &refused["code"]), (422, &json!("unknown_warehouse")), "not its warehouse: {refused}");
    let (status, part) = call(address, "POST", &path, MERCHANT, receive("wh-dropship"));
    assert_eq!(status, 200, "{part}");
    assert_eq!(part["returns"][1]["lines"][0]["received"], json!(units), "{part}");
    let empty = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        call(address, "GET", "/merchants/artisan-co/returns", MERCHANT, json!({})).1["returns"] == json!([])
    });
    assert!(empty, "nothing left to receive");
}

fn marketplace(inclusive: bool) {
    let dir = temp_dir(if inclusive { "ledger-inclusive" } else { "ledger-exclusive" });
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo.toml")).expect("the demo");
    let mut config = demo.replacen(
        "merchant_terms_version = \"2026-01\"",
        "merchant_terms_version = \"2026-01\"\npayout_hold_days = 0",
        1,
    );
    if !inclusive {
        config = config.replace("tax_inclusive = true", "tax_inclusive = false");
    }
    let file = dir.join("marketplace.toml");
    std::fs::write(&file, config).expect("written");
    let data = dir.join("data");
    let address = free_port();
    let served = start(address, &file, &data);

    let receipt = json!({"sku": "CERAMIC-MUG", "quantity": 10});
    assert_eq!(call(address, "POST", "/warehouses/wh-dropship/receipts", ADMIN, receipt).0, 201);
    let purchase = json!({
        "cart": {"country": "ES", "lines": [{"sku": "CERAMIC-MUG", "qty": 3}],
                 "address": {"name": "Ana García", "line": "Gran Vía 1", "city": "Madrid",
                             "postal_code": "28013", "country": "ES"},
                 "delivery": {"method": "home"}},
        "checkout": {"payment_system": "card", "payment_token": "tok_visa"}});
    let (status, order) = call(address, "POST", "/orders", "demo-storefront", purchase);
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_str().expect("an id").to_owned();
    let line = &order["lines"][0];
    assert_eq!((&line["merchant"], &line["commission"]["percent"]), (&json!("artisan-co"), &json!("12")), "{line}");
    let (amount, rate) = (dec(&line["amount"]), dec(&line["tax_rate"]));
    let line_id = line["id"].as_str().expect("a line").to_owned();
    assert_eq!(dec(&line["commission"]["amount"]), commission(sale(amount, 3, 3, rate, inclusive)), "{line}");

    // A commission rule made after placement changes nothing the order owes.
    let rule = json!({"merchant": "artisan-co", "percent": "50"});
    assert_eq!(call(address, "PUT", "/commission-rules/greedy", ADMIN, rule).0, 201);

    // Nothing is earned before delivery.
    assert!(account(address, |a| !a.is_null()).is_null(), "no account before a delivery");
    let shipment = &order["shipments"][0];
    let ship = format!("/orders/{id}/shipments/{}/ship", shipment["id"].as_str().expect("an id"));
    assert_eq!(call(address, "POST", &ship, ADMIN, json!({"tracking": ["LG1"]})).0, 200);
    let carrier = shipment["carrier"].as_str().expect("a carrier");
    let delivered = json!({"id": "lg-d1", "tracking": "LG1", "code": "delivered", "at": now()});
    assert_eq!(call(address, "POST", &format!("/carriers/{carrier}/events"), ADMIN, delivered).0, 200);
    let (sale3, sale2, sale1) =
        (sale(amount, 3, 3, rate, inclusive), sale(amount, 3, 2, rate, inclusive), sale(amount, 3, 1, rate, inclusive));
    let earned = account(address, |a| a["entries"] == 2);
    assert_eq!((dec(&earned["sales"]), dec(&earned["commissions"])), (sale3, commission(sale3)), "{earned}");
    assert_eq!(dec(&earned["balance"]), sale3 - commission(sale3));
    assert_eq!(dec(&earned["available"]), dec(&earned["balance"]), "no hold: {earned}");

    // One mug back: both reversed in proportion.
    give_back(address, &id, &line_id, 1, false);
    let reversed = account(address, |a| a["entries"] == 4);
    assert_eq!(dec(&reversed["sales_reversed"]), sale3 - sale2, "{reversed}");
    assert_eq!(dec(&reversed["commissions_reversed"]), commission(sale3) - commission(sale2), "{reversed}");
    let balance = sale2 - commission(sale2);
    assert_eq!(dec(&reversed["balance"]), balance, "{reversed}");

    // A payout takes what is available, once per key.
    let (status, refused) = keyed(address, "/payouts", "p-1", json!({"merchant": "nobody"}));
    assert_eq!((status, &refused["code"]), (404, &json!("unknown_merchant")), "{refused}");
    let (status, paid) = keyed(address, "/payouts", "p-1", json!({"merchant": "artisan-co"}));
    assert_eq!(status, 201, "{paid}");
    assert_eq!(paid["payouts"].as_array().map(Vec::len), Some(1), "{paid}");
    assert_eq!(dec(&paid["payouts"][0]["amount"]), balance, "{paid}");
    let (status, again) = keyed(address, "/payouts", "p-1", json!({"merchant": "artisan-co"}));
    assert_eq!((status, &again), (201, &paid), "a retry answers the payouts made");
    let (status, other) = keyed(address, "/payouts", "p-1", json!({"minimum": "1"}));
    assert_eq!((status, &other["code"]), (422, &json!("idempotency_key_reused")), "{other}");
    let (status, none) = keyed(address, "/payouts", "p-2", json!({}));
    assert_eq!(status, 201, "{none}");
    assert_eq!(none["payouts"], json!([]), "nothing left to pay: {none}");
    let after = account(address, |a| a["entries"] == 5);
    assert_eq!((dec(&after["balance"]), dec(&after["paid_out"])), (Decimal::ZERO, balance), "{after}");

    // Another mug back after the payout: the balance goes below zero, and is listed.
    give_back(address, &id, &line_id, 1, true);
    let negative = account(address, |a| a["entries"] == 7);
    let owed = -(sale2 - commission(sale2) - (sale1 - commission(sale1)));
    assert_eq!(dec(&negative["balance"]), owed, "{negative}");
    assert_eq!(dec(&negative["available"]), Decimal::ZERO);
    let (status, low) = call(address, "GET", "/merchant-balances", ADMIN, json!({}));
    assert_eq!(status, 200, "{low}");
    assert_eq!((&low["accounts"][0]["merchant"], dec(&low["accounts"][0]["balance"])), (&json!("artisan-co"), owed));
    assert_eq!(call(address, "GET", "/merchant-balances", MERCHANT, json!({})).0, 403);

    // The statement of today adds up to the balance.
    let today = &now()[..10];
    let path = format!("/merchants/artisan-co/statement?currency=EUR&from={today}&to={today}");
    let (status, statement) = call(address, "GET", &path, MERCHANT, json!({}));
    assert_eq!(status, 200, "{statement}");
    assert_eq!((dec(&statement["opening"]), dec(&statement["closing"])), (Decimal::ZERO, owed), "{statement}");
    assert_eq!(statement["entries"].as_array().map(Vec::len), Some(7));
    assert_eq!(dec(&statement["totals"]["payouts"]), balance);
    let (status, page) =
        call(address, "GET", "/merchants/artisan-co/ledger/entries?currency=EUR&limit=2", MERCHANT, json!({}));
    assert_eq!((status, &page["next"]), (200, &json!(2)), "{page}");
    for blank in ["/ledger/entries?currency=", "/statement?currency=%20&from=2026-01-01&to=2026-01-02"] {
        let (status, refused) = call(address, "GET", &format!("/merchants/artisan-co{blank}"), MERCHANT, json!({}));
        assert_eq!((status, &refused["code"]), (422, &json!("unknown_currency")), "a blank currency: {refused}");
    }
    assert_eq!(call(address, "GET", "/merchants/newcomer/ledger", MERCHANT, json!({})).0, 404);

    // The same after SIGKILL, and once derived again from the log.
    let ledger = call(address, "GET", "/merchants/artisan-co/ledger", ADMIN, json!({})).1;
    let mut served = served;
    served.0.kill().expect("SIGKILL");
    let _ = served.0.wait();
    let served = start(address, &file, &data);
    assert_eq!(call(address, "GET", "/merchants/artisan-co/ledger", ADMIN, json!({})).1, ledger);
    let (status, again) = keyed(address, "/payouts", "p-1", json!({"merchant": "artisan-co"}));
    assert_eq!((status, &again), (201, &paid), "a retry after a restart answers the payouts made");
    let mut served = served;
    served.0.kill().expect("SIGKILL");
    let _ = served.0.wait();
    std::fs::remove_dir_all(data.join("events")).expect("the event store removed");
    let served = start(address, &file, &data);
    let derived = account(address, |a| a["entries"] == 7);
    assert_eq!(derived, ledger["accounts"][0], "derived again, the same");
    drop(served);
}

// Proves the ledger with prices that include tax (the merchant earns the sale less the tax).
#[test]
fn a_ledger_follows_delivery_returns_and_payouts_with_tax_included() {
    marketplace(true);
}

// Proves the same with prices shown before tax.
#[test]
fn a_ledger_follows_delivery_returns_and_payouts_with_tax_excluded() {
    marketplace(false);
}
