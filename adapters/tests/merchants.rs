//! Merchants' lifecycle through the binary, on a marketplace commerce other than the demo
//! (`data/atelier.toml` with terms to accept): the back office invites a merchant, the
//! merchant onboards with its invitation and loads a product with the key it is given, the
//! back office approves, blocks and unblocks it; a merchant not trading has its products
//! refused by carts and checkout (naming the lines); every step is an event the merchant
//! reads as its own; and all of it survives SIGKILL.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{free_port, http, serve, temp_dir, Served};

const CONFIG: &str = include_str!("data/atelier.toml");
const ADMIN: &str = "atelier-admin";
const STOREFRONT: &str = "atelier-storefront";
const LOOM: &str = "atelier-loom";
const TERMS: &str = "2026-11";

fn start(address: SocketAddr, config: &Path, data: &Path) -> Served {
    serve(address, |command| {
        command.args(["--config", config.to_str().expect("utf-8"), "--listen", &address.to_string()]);
        command.args(["--data", data.to_str().expect("utf-8")]);
    })
}

fn call(address: SocketAddr, method: &str, path: &str, key: &str, body: Value) -> (u16, Value) {
    let path = format!("/v1/commerces/atelier{path}");
    let body = if body.is_null() { String::new() } else { body.to_string() };
    let (status, text) = http(address, method, &path, Some(key), &body).expect("an answer");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn refused(answer: (u16, Value)) -> (u16, String, String) {
    let (status, body) = answer;
    (status, body["code"].as_str().unwrap_or("").to_owned(), body["detail"].as_str().unwrap_or("").to_owned())
}

/// A storefront cart holding `sku` (and P-1), ready for checkout: its id, or the refusal
/// of the line holding `sku`.
fn cart_with(address: SocketAddr, sku: &str) -> Result<String, (u16, String, String)> {
    cart_of(address, &[sku])
}

/// A storefront cart holding P-1 and `skus`, ready for checkout, or the first refusal.
fn cart_of(address: SocketAddr, skus: &[&str]) -> Result<String, (u16, String, String)> {
    let (status, cart) = call(address, "POST", "/carts", STOREFRONT, json!({"country": "ES"}));
    assert_eq!(status, 201, "{cart}");
    let path = format!("/carts/{}", cart["id"].as_str().expect("an id"));
    let (status, body) = call(address, "POST", &format!("{path}/lines"), STOREFRONT, json!({"sku": "P-1", "qty": 1}));
    assert_eq!(status, 201, "{body}");
    for sku in skus {
        let line = call(address, "POST", &format!("{path}/lines"), STOREFRONT, json!({"sku": sku, "qty": 1}));
        if line.0 != 201 {
            return Err(refused(line));
        }
    }
    let to = json!({"name": "Ana", "line": "Gran Vía 1", "city": "Madrid", "region": "MD", "postal_code": "28013", "country": "ES"});
    for (method, step, body) in [("PUT", "address", to), ("PUT", "delivery", json!({"method": "home"}))] {
        let (status, body) = call(address, method, &format!("{path}/{step}"), STOREFRONT, body);
        assert!(status == 200 || status == 201, "{step}: {status} {body}");
    }
    Ok(path)
}

fn checkout(address: SocketAddr, cart: &str) -> (u16, Value) {
    let body = json!({"payment_system": "card", "payment_token": "tok_visa"});
    call(address, "POST", &format!("{cart}/checkout"), STOREFRONT, body)
}

/// The merchant events `key` reads, once at least `least` are there.
fn merchant_events(address: SocketAddr, key: &str, least: usize) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let types = "merchant.invited,merchant.onboarded,merchant.approved,merchant.blocked,merchant.unblocked";
    loop {
        let (status, page) = call(address, "GET", &format!("/events?types={types}&limit=100"), key, Value::Null);
        assert_eq!(status, 200, "{page}");
        let seen: Vec<(String, String)> = page["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| (e["type"].as_str().unwrap_or("").into(), e["data"]["by"].as_str().unwrap_or("").into()))
            .collect();
        if seen.len() >= least || Instant::now() > deadline {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn onboard(address: SocketAddr, token: &str, terms: &str, country: &str) -> (u16, Value) {
    let body = json!({
        "terms_version": terms,
        "legal": {"legal_name": "Weave Textiles SL", "tax_id": "B12345678", "country": country, "address": "Calle Mayor 1, Madrid"}
    });
    let path = "/v1/commerces/atelier/merchants/weave/onboarding";
    let (status, text) = http(address, "POST", path, Some(token), &body.to_string()).expect("an answer");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

// Proves the lifecycle end to end: roles and tenancy first (a storefront invites none, a
// merchant reads only its own merchant), an invitation shown once and replaced by a new
// one, onboarding refused with the old token, other terms or bad legal data and accepted
// with the right ones (giving the merchant its key), a merchant's products sold only
// while it trades, a blocked merchant's lines named at checkout, every step an event with
// who made it, read by the merchant as its own and not by another, and all of it after
// SIGKILL.
#[test]
fn a_merchant_is_invited_onboarded_approved_blocked_and_unblocked() {
    let dir = temp_dir("merchants");
    let (config, folder) = (dir.join("atelier.toml"), dir.join("data"));
    let marketplace =
        CONFIG.replacen("code = \"atelier\"", &format!("code = \"atelier\"\nmerchant_terms_version = \"{TERMS}\""), 1);
    std::fs::write(&config, marketplace).expect("written");
    let address = free_port();
    let served = start(address, &config, &folder);

    let invite = json!({"code": "weave", "name": "Weave", "email": "hello@weave.example", "commission_percent": "8"});
    assert_eq!(refused(call(address, "POST", "/merchants", STOREFRONT, invite.clone())).0, 403, "the role comes first");
    assert_eq!(
        refused(call(address, "GET", "/merchants/kiln", LOOM, Value::Null)).1,
        "unknown_merchant",
        "not its own"
    );
    assert_eq!(call(address, "GET", "/merchants/loom", LOOM, Value::Null).0, 200, "its own");
    let bad = json!({"code": "weave", "name": "Weave", "email": "nobody", "commission_percent": "101"});
    let (status, code, detail) = refused(call(address, "POST", "/merchants", ADMIN, bad));
    assert_eq!((status, code.as_str()), (422, "invalid_data"), "{detail}");
    assert!(detail.contains("\"nobody\"") && detail.contains("101"), "every value named: {detail}");
    assert_eq!(call(address, "GET", "/merchants/weave", ADMIN, Value::Null).0, 404, "nothing made");

    let (status, first) = call(address, "POST", "/merchants", ADMIN, invite.clone());
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["merchant"]["status"], "invited");
    let old = first["invitation"]["token"].as_str().expect("a token").to_owned();
    let (status, again) = call(address, "POST", "/merchants", ADMIN, invite.clone());
    assert_eq!(status, 200, "invited again: {again}");
    let token = again["invitation"]["token"].as_str().expect("a token").to_owned();
    assert_ne!(old, token);
    assert!(!again.to_string().contains("sha256"), "the digest is never shown: {again}");

    assert_eq!(refused(onboard(address, &old, TERMS, "ES")).1, "invalid_invitation", "the old token fails");
    let (status, code, detail) = refused(onboard(address, &token, "2025-01", "ES"));
    assert_eq!((status, code.as_str()), (409, "terms_outdated"), "{detail}");
    assert!(detail.contains("2025-01") && detail.contains(TERMS), "{detail}");
    let (status, code, detail) = refused(onboard(address, &token, TERMS, "Spain"));
    assert_eq!((status, code.as_str()), (422, "invalid_data"), "{detail}");
    assert!(detail.contains("\"Spain\""), "{detail}");
    let (status, onboarded) = onboard(address, &token, TERMS, "ES");
    assert_eq!(status, 200, "{onboarded}");
    assert_eq!(onboarded["merchant"]["status"], "onboarding");
    let weave = onboarded["key"]["key"].as_str().expect("its key, once").to_owned();
    let (status, again) = onboard(address, &token, TERMS, "PT");
    assert_eq!((status, &again["key"]), (200, &Value::Null), "data corrected, no second key: {again}");
    assert_eq!(again["merchant"]["legal"]["country"], "PT");
    assert_eq!(call(address, "GET", "/merchants/weave", &weave, Value::Null).0, 200, "its key still works");
    let elsewhere = http(address, "POST", "/v1/commerces/nowhere/merchants/weave/onboarding", Some(&token), "{}");
    assert_eq!(elsewhere.map(|(status, _)| status), Some(401), "an unknown commerce answers as a wrong token");

    // The merchant loads a product with its key; it is not sold until approval.
    let rug = json!({"names": {"en": "Rug"}, "tax_class": "standard", "weight_grams": 900,
                     "shipping_class": "parcel", "prices": {"EUR": "60.00"}, "merchant": "weave"});
    let (status, body) = call(address, "PUT", "/products/RUG", &weave, rug);
    assert_eq!(status, 201, "{body}");
    for sku in ["RUG", "P-1", "SCARF"] {
        let receipt = json!({"sku": sku, "quantity": 10});
        assert_eq!(call(address, "POST", "/warehouses/wh-1/receipts", ADMIN, receipt).0, 201);
    }
    let (status, code, detail) = cart_with(address, "RUG").expect_err("not trading yet");
    assert_eq!((status, code.as_str()), (409, "merchant_not_active"), "{detail}");
    assert!(detail.contains("RUG") && detail.contains("weave"), "{detail}");

    let (status, approved) = call(address, "POST", "/merchants/weave/approve", ADMIN, Value::Null);
    assert_eq!((status, approved["status"].as_str()), (200, Some("active")), "{approved}");
    let held = cart_with(address, "RUG").expect("sold once approved");

    let (status, code, _) = refused(call(address, "POST", "/merchants/weave/block", ADMIN, json!({"reason": ""})));
    assert_eq!((status, code.as_str()), (422, "invalid_data"), "a block needs its reason");
    let block = json!({"reason": "counterfeit goods reported"});
    let (status, blocked) = call(address, "POST", "/merchants/weave/block", ADMIN, block.clone());
    assert_eq!((status, blocked["block_reason"].as_str()), (200, Some("counterfeit goods reported")), "{blocked}");
    assert_eq!(refused(call(address, "POST", "/merchants/weave/block", ADMIN, block)).1, "merchant_state");
    assert_eq!(refused(call(address, "POST", "/merchants/weave/approve", ADMIN, Value::Null)).1, "merchant_state");
    let (status, code, detail) = cart_with(address, "RUG").expect_err("blocked");
    assert_eq!((status, code.as_str()), (409, "merchant_blocked"), "{detail}");
    let (status, code, detail) = refused(checkout(address, &held));
    assert_eq!((status, code.as_str()), (409, "merchant_blocked"), "{detail}");
    let named = detail.contains("line \"l2\"") && detail.contains("RUG") && detail.contains("weave");
    assert!(named && !detail.contains("P-1"), "the line named, and only it: {detail}");
    let listed = call(address, "GET", "/merchants?status=blocked", ADMIN, Value::Null).1;
    assert_eq!(
        listed.as_array().map(|l| l.iter().map(|m| m["code"].clone()).collect::<Vec<_>>()),
        Some(vec![json!("weave")])
    );

    let expected = [
        "merchant.invited",
        "merchant.invited",
        "merchant.onboarded",
        "merchant.onboarded",
        "merchant.approved",
        "merchant.blocked",
    ];
    let seen = merchant_events(address, ADMIN, expected.len());
    assert_eq!(seen.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(), expected);
    assert_eq!(seen[2].1, "invitation of merchant weave", "who onboarded");
    assert_eq!(seen[5].1, "back office", "who blocked: the admin key's name");
    assert_eq!(merchant_events(address, &weave, expected.len()).len(), expected.len(), "its own events");
    assert!(merchant_events(address, LOOM, 1).is_empty(), "not another merchant's");
    drop(served); // SIGKILL

    let served = start(address, &config, &folder);
    let (status, after) = call(address, "GET", "/merchants/weave", &weave, Value::Null);
    assert_eq!((status, after["status"].as_str()), (200, Some("blocked")), "{after}");
    assert_eq!(after["history"].as_array().map(Vec::len), Some(6), "{after}");
    let (status, unblocked) = call(address, "POST", "/merchants/weave/unblock", ADMIN, Value::Null);
    assert_eq!((status, unblocked["status"].as_str()), (200, Some("active")), "back where it was: {unblocked}");
    let held = cart_with(address, "RUG").expect("sold again");
    assert_eq!(checkout(address, &held).0, 201);
    split_order_parts(address, &weave);
    drop(served);
}

/// Proves an order of three sellers (the commerce, weave, loom) splits into shipments that
/// never mix them, each merchant reads only its part (its lines, its shipments, its own
/// status) and ships only its own shipments.
fn split_order_parts(address: SocketAddr, weave: &str) {
    let cart = cart_of(address, &["RUG", "SCARF"]).expect("a cart of three sellers");
    let (status, order) = checkout(address, &cart);
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_str().expect("an id").to_owned();
    let sellers: Vec<Value> =
        order["shipments"].as_array().expect("shipments").iter().map(|s| s["merchant"].clone()).collect();
    assert_eq!(sellers.len(), 3, "one shipment per seller: {order}");
    for seller in [Value::Null, json!("weave"), json!("loom")] {
        assert!(sellers.contains(&seller), "{seller} in {sellers:?}");
    }
    let (status, page) = call(address, "GET", "/merchants/weave/orders", weave, Value::Null);
    assert_eq!(status, 200, "{page}");
    let part =
        page["orders"].as_array().and_then(|o| o.iter().find(|p| p["order"] == id.as_str())).expect("its part").clone();
    let skus: Vec<&str> = part["lines"].as_array().expect("lines").iter().filter_map(|l| l["sku"].as_str()).collect();
    assert_eq!(skus, ["RUG"], "its lines only: {part}");
    let shipments = part["shipments"].as_array().expect("shipments").clone();
    assert_eq!(shipments.len(), 1, "its shipment only: {part}");
    assert_eq!(part["status"], "ready", "{part}");
    assert_eq!(refused(call(address, "GET", "/merchants/weave/orders", LOOM, Value::Null)).1, "unknown_merchant");
    let path = |merchant: &str, shipment: &str| format!("/merchants/{merchant}/orders/{id}/shipments/{shipment}/ship");
    let loom_shipment =
        order["shipments"].as_array().expect("shipments").iter().find(|s| s["merchant"] == "loom").expect("loom's")
            ["id"]
            .as_str()
            .expect("id")
            .to_owned();
    let tracking = json!({"tracking": ["TRK-1"]});
    let theirs = refused(call(address, "POST", &path("weave", &loom_shipment), weave, tracking.clone()));
    let none = refused(call(address, "POST", &path("weave", "s99"), weave, tracking.clone()));
    assert_eq!((theirs.0, theirs.1.as_str()), (none.0, "unknown_shipment"), "not its own: as one that does not exist");
    let own = shipments[0]["id"].as_str().expect("id");
    let (status, sent) = call(address, "POST", &path("weave", own), weave, tracking);
    assert_eq!((status, sent["status"].as_str()), (200, Some("sent")), "{sent}");
    assert!(sent["lines"].as_array().is_some_and(|l| l.len() == 1), "the answer is its part: {sent}");
    let (_, loom) = call(address, "GET", &format!("/merchants/loom/orders/{id}"), LOOM, Value::Null);
    assert_eq!(loom["status"], "ready", "loom's part moves on its own: {loom}");
    let (status, code, _) = refused(call(address, "GET", &format!("/merchants/kiln/orders/{id}"), ADMIN, Value::Null));
    assert_eq!((status, code.as_str()), (404, "unknown_order"), "an order without kiln's goods");
    // The events follow the log's catalogue and merchants: an order of a product the API
    // made, of a merchant the API invited, is that merchant's to read.
    let deadline = Instant::now() + Duration::from_secs(10);
    let sees = |key: &str| {
        let (_, page) = call(address, "GET", "/events?types=order.placed&limit=100", key, Value::Null);
        page["events"].as_array().is_some_and(|e| e.iter().any(|e| e["aggregate"]["id"] == id.as_str()))
    };
    while !sees(weave) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(sees(weave), "weave reads the order holding its product");
    assert!(!sees("atelier-kiln"), "kiln does not");
    // Loom's scarf line (l3) cancelled: a quarter of loom's rating is its cancelled share.
    let cancel = json!({"lines": [{"line": "l3", "quantity": 1}]});
    let (status, body) = call(address, "POST", &format!("/orders/{id}/cancellations"), ADMIN, cancel);
    assert_eq!(status, 200, "{body}");
    let rated = |key: &str, merchant: &str, cancelled: u64| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, read) = call(address, "GET", &format!("/merchants/{merchant}"), key, Value::Null);
            if read["rating"]["cancelled"]["count"] == cancelled || Instant::now() > deadline {
                return read["rating"].clone();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let loom = rated(LOOM, "loom", 1);
    assert_eq!(loom["units_sold"], 1, "{loom}");
    assert_eq!((loom["score"].as_str(), loom["cancelled"]["share"].as_str()), (Some("75.0"), Some("1")), "{loom}");
    let weave_rating = rated(weave, "weave", 0);
    let sold = (weave_rating["units_sold"].as_u64(), weave_rating["score"].as_str());
    assert_eq!(sold, (Some(2), Some("100.0")), "two rugs sold, none cancelled: {weave_rating}");
}
