//! The cart lifetime is a setting of the commerce (`cart_lifetime_seconds`), tried against
//! the real binary over HTTP with a lifetime of a few seconds: a cart's units come back for
//! sale on their own when it runs out, the cart still answers as expired, and neither a
//! change nor a checkout of it goes through.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use support::{free_port, http, serve, temp_dir, BIN};

const CART_LIFETIME_SECONDS: i64 = 5;
const CARTS: &str = "/v1/commerces/demo/carts";
const STOCK: &str = "/v1/commerces/demo/warehouses/wh-madrid/stock/KEYBOARD";
const AVAILABILITY: &str = "/v1/commerces/demo/products/KEYBOARD/availability?country=ES&qty=1";
const ADDRESS: &str = r#"{"name": "Ana", "line": "Gran Vía 1", "city": "Madrid", "region": "MD", "postal_code": "28013", "country": "ES"}"#;

/// The demo configuration with `cart_lifetime_seconds` set, written into `dir`.
fn demo_with_lifetime(dir: &Path, seconds: i64) -> PathBuf {
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo.toml")).expect("demo");
    // Without its opening stock: the test counts every unit it receives.
    let demo = demo.split("# --- Opening stock").next().expect("the settings").to_owned();
    let anchor = "shipping_tax_class = \"standard\"\n";
    let config = demo.replacen(anchor, &format!("{anchor}cart_lifetime_seconds = {seconds}\n"), 1);
    assert_ne!(config, demo, "the demo sets shipping_tax_class");
    let path = dir.join(format!("lifetime-{seconds}.toml"));
    std::fs::write(&path, config).expect("written");
    path
}

/// The wall clock now (chrono is built without its clock here).
fn now() -> DateTime<Utc> {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
    DateTime::from_timestamp_millis(i64::try_from(since_epoch.as_millis()).expect("in range")).expect("a time")
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|error| panic!("{error}: {body}"))
}

fn call(address: std::net::SocketAddr, method: &str, path: &str, key: &str, body: &str) -> (u16, serde_json::Value) {
    let (status, answer) = http(address, method, path, Some(key), body).expect("an answer");
    (status, if answer.is_empty() { serde_json::Value::Null } else { json(&answer) })
}

// Proves the lifetime a commerce sets is the one its carts get, and that expiry works end
// to end: the cart's reservation holds units until then; after it the units are available
// again, the cart answers `expired`, and adding a line or checking it out is refused 409
// `cart_expired` (not `unknown_cart`, not `insufficient_stock`).
#[test]
fn a_cart_runs_out_after_the_commerces_lifetime() {
    let dir = temp_dir("cart-lifetime");
    let config = demo_with_lifetime(&dir, CART_LIFETIME_SECONDS);
    let data = dir.join("data");
    let address = free_port();
    let _served = serve(address, |command| {
        command.args(["--config", config.to_str().expect("utf-8"), "--listen", &address.to_string()]);
        command.args(["--data", data.to_str().expect("utf-8")]);
        command.env_remove("MERCATO_CONFIG");
    });
    let receipt = r#"{"sku": "KEYBOARD", "quantity": 5}"#;
    let receipts = "/v1/commerces/demo/warehouses/wh-madrid/receipts";
    assert_eq!(call(address, "POST", receipts, "demo-admin", receipt).0, 201);

    let created = now();
    let (status, cart) = call(address, "POST", CARTS, "demo-storefront", r#"{"country": "ES"}"#);
    assert_eq!(status, 201, "{cart}");
    let id = cart["id"].as_str().expect("an id").to_owned();
    let expires_at: DateTime<Utc> = cart["expires_at"].as_str().expect("a time").parse().expect("RFC 3339");
    let lifetime = (expires_at - created).num_milliseconds();
    assert!((CART_LIFETIME_SECONDS * 1000 - 1000..=CART_LIFETIME_SECONDS * 1000 + 1000).contains(&lifetime), "{cart}");

    let path = format!("{CARTS}/{id}");
    let line = r#"{"sku": "KEYBOARD", "qty": 3}"#;
    assert_eq!(call(address, "POST", &format!("{path}/lines"), "demo-storefront", line).0, 201);
    assert_eq!(call(address, "PUT", &format!("{path}/address"), "demo-storefront", ADDRESS).0, 200);
    assert_eq!(call(address, "PUT", &format!("{path}/delivery"), "demo-storefront", r#"{"method": "home"}"#).0, 200);
    let (_, stock) = call(address, "GET", STOCK, "demo-admin", "");
    assert_eq!((stock["reserved"].as_u64(), stock["available"].as_u64()), (Some(3), Some(2)), "{stock}");
    let (status, body) = call(address, "GET", AVAILABILITY, "demo-storefront", "");
    assert_eq!((status, body["available_now"].as_u64()), (200, Some(2)), "{body}");

    // Its time passes: the cart answers as expired and its units are for sale again.
    let deadline = Instant::now() + Duration::from_secs(15);
    let cart = loop {
        let (status, cart) = call(address, "GET", &path, "demo-storefront", "");
        assert_eq!(status, 200, "an expired cart still answers: {cart}");
        if cart["status"] == "expired" {
            break cart;
        }
        assert!(Instant::now() < deadline, "the cart never expired: {cart}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(now() >= expires_at, "expired at its time, not before: {cart}");
    let stock = loop {
        let (_, stock) = call(address, "GET", STOCK, "demo-admin", "");
        if stock["reserved"] == 0 || Instant::now() > deadline {
            break stock;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!((stock["reserved"].as_u64(), stock["available"].as_u64()), (Some(0), Some(5)), "{stock}");
    let (status, body) = call(address, "GET", AVAILABILITY, "demo-storefront", "");
    assert_eq!((status, body["available_now"].as_u64()), (200, Some(5)), "all five for sale again: {body}");

    let (status, body) = call(address, "POST", &format!("{path}/lines"), "demo-storefront", line);
    assert_eq!((status, body["code"].as_str()), (409, Some("cart_expired")), "{body}");
    let checkout = r#"{"payment_system": "card", "payment_token": "tok_visa"}"#;
    let (status, body) = call(address, "POST", &format!("{path}/checkout"), "demo-storefront", checkout);
    assert_eq!((status, body["code"].as_str()), (409, Some("cart_expired")), "{body}");
    let (_, stock) = call(address, "GET", STOCK, "demo-admin", "");
    assert_eq!(stock["reserved"], 0, "nothing held again: {stock}");
}

// Proves the lifetime is validated: below 5 seconds or above a day, `check` refuses the
// file naming the field, its value and the bounds; the bounds themselves pass.
#[test]
fn the_cart_lifetime_is_bounded() {
    let dir = temp_dir("cart-lifetime-bounds");
    for (seconds, valid) in [(4, false), (5, true), (86_400, true), (86_401, false), (0, false)] {
        let config = demo_with_lifetime(&dir, seconds);
        let output = Command::new(BIN).args(["check", config.to_str().expect("utf-8")]).output().expect("runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.success(), valid, "{seconds}: {stdout}");
        if !valid {
            let message = format!("cart_lifetime_seconds {seconds} must be between 5 and 86400");
            assert!(stdout.contains(&message), "{seconds}: {stdout}");
        }
    }
}
