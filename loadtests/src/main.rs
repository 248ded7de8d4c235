//! goose load tests against a running Mercato server (start one with `cargo run --release`
//! first). Every goose option applies, for example:
//!
//! `cargo run --release -p mercato-loadtests -- --host http://127.0.0.1:8080 --users 64 \
//!  --increase-rate 64 --run-time 30s --scenarios context --report-file report.html`
//!
//! Scenarios:
//! - `context`: storefront visits resolving their context, a mix of countries, devices,
//!   domains and languages, each answer checked for a channel.
//! - `back_office` (run it as `--scenarios backoffice`: goose drops the underscore): stock
//!   receipts (each with its own `Idempotency-Key`, so every one is a durable change),
//!   purchase orders announced and then received, and stock reads, in one warehouse with
//!   the admin key; every answer is checked.
//!
//! - `storefront`: a shopper's whole visit: context, a product's availability and price, a
//!   cart, one to three lines, the address, the delivery options, a delivery choice, and
//!   checkout with the sandbox card (each with its `Idempotency-Key`), then the order read
//!   back. Every user first receives stock of the SKUs it buys (admin key).
//! - `flash_sale` (run it as `--scenarios flashsale`): every user races to buy one unit of
//!   one SKU (`KITE`) with limited stock: before the run its available units are set to
//!   `MERCATO_FLASH_UNITS` (default 200); afterwards the run checks through the API that
//!   the units sold (allocated) equal the units in the orders acknowledged, that they never
//!   exceed the stock, and that the warehouse never holds more than it has. A failed check
//!   makes the process exit with status 1.
//!
//! - `fulfilment`: an order's life after checkout: bought, shipped with a tracking number,
//!   reported in transit and delivered by the carrier, a unit returned, accepted and
//!   received back for sale; each answer checked, and the order's books at the end
//!   (`fulfilment.rs`).
//! - `invoicing`: a purchase paid by bank transfer, then its payment confirmed (the
//!   invoice issued): the payments' rate next to the purchases'.
//!
//! The storefront key defaults to the demo's; set `MERCATO_KEY` for another (and
//! `MERCATO_ADMIN_KEY` for the back office).

mod fulfilment;

use fulfilment::{order_life, pay_by_transfer};

use std::sync::atomic::{AtomicU64, Ordering};

use goose::prelude::*;
use serde_json::{json, Value};

/// Numbers each back-office request, so keys and batch ids never repeat within a run.
static SERIAL: AtomicU64 = AtomicU64::new(0);

/// A run's own prefix, so a second run against the same data folder uses fresh keys.
fn run_id() -> u64 {
    static RUN: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *RUN.get_or_init(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}

fn admin_key() -> String {
    std::env::var("MERCATO_ADMIN_KEY").unwrap_or_else(|_| "demo-admin".to_owned())
}

/// Sends a JSON request with the admin key (and a fresh idempotency key on writes); fails
/// the transaction on any status but `expected`.
async fn back_office(
    user: &mut GooseUser,
    method: GooseMethod,
    path: &str,
    body: Option<Value>,
    expected: u16,
) -> TransactionResult {
    let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
    let mut builder = user
        .get_request_builder(&method, path)?
        .header("Authorization", format!("Bearer {}", admin_key()))
        .header("Content-Type", "application/json");
    if let Some(body) = body {
        builder = builder.header("Idempotency-Key", format!("load-{}-{serial}", run_id())).body(body.to_string());
    }
    let request = GooseRequest::builder().set_request_builder(builder).build();
    let mut goose = user.request(request).await?;
    match goose.response {
        Ok(response) if response.status().as_u16() == expected => Ok(()),
        Ok(response) => {
            let status = response.status().to_string();
            let text = response.text().await.unwrap_or_default();
            user.set_failure(&format!("status {status}"), &mut goose.request, None, Some(&text))
        }
        Err(_) => Ok(()),
    }
}

const WAREHOUSE: &str = "/v1/commerces/demo/warehouses/wh-madrid";

async fn receive_stock(user: &mut GooseUser) -> TransactionResult {
    let body = json!({"sku": "KEYBOARD", "quantity": 1});
    back_office(user, GooseMethod::Post, &format!("{WAREHOUSE}/receipts"), Some(body), 201).await
}

/// A purchase order's life: announced, then received (the arrival closes it), so batches
/// do not pile up on one product over a long run.
async fn batch_arrives(user: &mut GooseUser) -> TransactionResult {
    let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
    let batch = format!("po-{}-{serial}", run_id());
    let announce = json!({"sku": "HEADPHONES", "batch": batch, "quantity": 10, "expected_date": date_in_days(30)});
    back_office(user, GooseMethod::Post, &format!("{WAREHOUSE}/batches"), Some(announce), 201).await?;
    let arrival = json!({"sku": "HEADPHONES", "batch": batch, "quantity": 10});
    back_office(user, GooseMethod::Post, &format!("{WAREHOUSE}/receipts"), Some(arrival), 201).await
}

async fn read_stock(user: &mut GooseUser) -> TransactionResult {
    back_office(user, GooseMethod::Get, &format!("{WAREHOUSE}/stock/KEYBOARD"), None, 200).await
}

/// `YYYY-MM-DD`, `days` from today (UTC).
fn date_in_days(days: u64) -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let today =
        chrono::DateTime::from_timestamp(i64::try_from(seconds).unwrap_or(0), 0).unwrap_or_default().date_naive();
    today.checked_add_days(chrono::Days::new(days)).unwrap_or(today).to_string()
}

/// Visits cycled through by each user: default and criteria channels, domain versions and
/// out-of-area countries.
fn visits() -> Vec<Value> {
    vec![
        json!({"country": "ES"}),
        json!({"country": "FR", "domain": "demo.fr"}),
        json!({"country": "ES", "device": "mobile"}),
        json!({"country": "US"}),
        json!({"country": "PT", "language": "es", "user_groups": ["wholesale"]}),
    ]
}

async fn resolve_context(user: &mut GooseUser) -> TransactionResult {
    let key = std::env::var("MERCATO_KEY").unwrap_or_else(|_| "demo-storefront".to_owned());
    let all = visits();
    let visit = &all[user.weighted_users_index % all.len()];
    let builder = user
        .get_request_builder(&GooseMethod::Post, "/v1/commerces/demo/context")?
        .header("Authorization", format!("Bearer {key}"))
        .header("Content-Type", "application/json")
        .body(visit.to_string());
    let request = GooseRequest::builder().set_request_builder(builder).build();
    let mut goose = user.request(request).await?;
    let body = match goose.response {
        Ok(response) if response.status().is_success() => response.text().await.unwrap_or_default(),
        Ok(response) => {
            let status = response.status().to_string();
            return user.set_failure(&format!("status {status}"), &mut goose.request, None, None);
        }
        Err(_) => return Ok(()),
    };
    let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if parsed["channel"].as_str().is_none() {
        return user.set_failure("answer has no channel", &mut goose.request, None, Some(&body));
    }
    Ok(())
}

fn storefront_key() -> String {
    std::env::var("MERCATO_KEY").unwrap_or_else(|_| "demo-storefront".to_owned())
}

const DEMO: &str = "/v1/commerces/demo";

/// Sends a JSON request named `name` (for the metrics: paths carry ids). Answers the status
/// and body when the status is one of `accepted`; marks the request failed otherwise.
async fn call(
    user: &mut GooseUser,
    method: GooseMethod,
    name: &str,
    path: &str,
    key: &str,
    body: Option<Value>,
    accepted: &[u16],
) -> Result<Option<(u16, Value)>, Box<TransactionError>> {
    let mut builder = user
        .get_request_builder(&method, path)?
        .header("Authorization", format!("Bearer {key}"))
        .header("Content-Type", "application/json");
    if let Some(body) = body {
        let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
        builder = builder.header("Idempotency-Key", format!("load-{}-{serial}", run_id())).body(body.to_string());
    }
    let request = GooseRequest::builder().set_request_builder(builder).name(name).build();
    let mut goose = user.request(request).await?;
    match goose.response {
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            if accepted.contains(&status) {
                if !(200..300).contains(&status) {
                    // An expected refusal (sold out): not a failure of the server.
                    user.set_success(&mut goose.request)?;
                }
                return Ok(Some((status, serde_json::from_str(&text).unwrap_or(Value::Null))));
            }
            user.set_failure(&format!("status {status}"), &mut goose.request, None, Some(&text))?;
            Ok(None)
        }
        Err(_) => Ok(None),
    }
}

const ADDRESS: &str = r#"{"name": "Load Test", "line": "Gran Vía 1", "city": "Madrid", "region": "MD",
  "postal_code": "28013", "country": "ES", "latitude": 40.42, "longitude": -3.70}"#;

/// SKUs the storefront buys, on hand in Madrid.
const SHOP_SKUS: [&str; 3] = ["MOUSE", "CHARGER", "USB-CABLE"];

/// Each storefront user first stocks what it buys, so a long run never runs out.
async fn stock_up(user: &mut GooseUser) -> TransactionResult {
    for sku in SHOP_SKUS {
        let body = json!({"sku": sku, "quantity": 100_000});
        back_office(user, GooseMethod::Post, &format!("{WAREHOUSE}/receipts"), Some(body), 201).await?;
    }
    Ok(())
}

/// Opens a cart for a Spanish visit, fills it with `lines` (SKU, quantity), sets the
/// address and home delivery. The cart's id, or none when a step failed or `sold_out`
/// (an add answered 409) happened.
async fn filled_cart(user: &mut GooseUser, lines: &[(&str, u32)]) -> Result<Option<String>, Box<TransactionError>> {
    let key = storefront_key();
    let carts = format!("{DEMO}/carts");
    let Some((_, cart)) =
        call(user, GooseMethod::Post, "carts", &carts, &key, Some(json!({"country": "ES"})), &[201]).await?
    else {
        return Ok(None);
    };
    let Some(id) = cart["id"].as_str().map(str::to_owned) else { return Ok(None) };
    for (sku, qty) in lines {
        let path = format!("{carts}/{id}/lines");
        let body = Some(json!({"sku": sku, "qty": qty}));
        match call(user, GooseMethod::Post, "carts/{id}/lines", &path, &key, body, &[201, 409]).await? {
            Some((201, _)) => {}
            _ => return Ok(None),
        }
    }
    let address: Value = serde_json::from_str(ADDRESS).unwrap_or(Value::Null);
    let path = format!("{carts}/{id}/address");
    if call(user, GooseMethod::Put, "carts/{id}/address", &path, &key, Some(address), &[200]).await?.is_none() {
        return Ok(None);
    }
    let path = format!("{carts}/{id}/delivery");
    let home = Some(json!({"method": "home"}));
    if call(user, GooseMethod::Put, "carts/{id}/delivery", &path, &key, home, &[200]).await?.is_none() {
        return Ok(None);
    }
    Ok(Some(id))
}

/// Checks a cart out with the sandbox card: the order's id and units, or none when the
/// stock was lost meanwhile (409).
async fn checkout(user: &mut GooseUser, cart: &str) -> Result<Option<(String, u64)>, Box<TransactionError>> {
    let key = storefront_key();
    let path = format!("{DEMO}/carts/{cart}/checkout");
    let body = Some(json!({"payment_system": "card", "payment_token": "tok_visa"}));
    match call(user, GooseMethod::Post, "carts/{id}/checkout", &path, &key, body, &[201, 409]).await? {
        Some((201, order)) => {
            let id = order["id"].as_str().unwrap_or_default().to_owned();
            let units = order["lines"]
                .as_array()
                .map_or(0, |lines| lines.iter().map(|l| l["quantity"].as_u64().unwrap_or(0)).sum());
            Ok(Some((id, units)))
        }
        _ => Ok(None),
    }
}

/// A shopper's visit from context to order.
async fn shop(user: &mut GooseUser) -> TransactionResult {
    let key = storefront_key();
    let context = Some(json!({"country": "ES", "device": "mobile"}));
    call(user, GooseMethod::Post, "context", &format!("{DEMO}/context"), &key, context, &[200]).await?;
    let turn = SERIAL.fetch_add(1, Ordering::Relaxed);
    let sku = SHOP_SKUS[usize::try_from(turn % 3).unwrap_or(0)];
    let path = format!("{DEMO}/products/{sku}/availability?country=ES&qty=1");
    call(user, GooseMethod::Get, "products/{sku}/availability", &path, &key, None, &[200]).await?;
    let path = format!("{DEMO}/products/{sku}/price?qty=1&country=ES");
    call(user, GooseMethod::Get, "products/{sku}/price", &path, &key, None, &[200]).await?;
    let count = 1 + usize::try_from(turn % 3).unwrap_or(0);
    let lines: Vec<(&str, u32)> = SHOP_SKUS.iter().take(count).map(|sku| (*sku, 1)).collect();
    let Some(cart) = filled_cart(user, &lines).await? else { return Ok(()) };
    let path = format!("{DEMO}/carts/{cart}/delivery-options");
    call(user, GooseMethod::Get, "carts/{id}/delivery-options", &path, &key, None, &[200]).await?;
    if let Some((order, _)) = checkout(user, &cart).await? {
        let path = format!("{DEMO}/orders/{order}");
        call(user, GooseMethod::Get, "orders/{id}", &path, &key, None, &[200]).await?;
    }
    Ok(())
}

/// The SKU the flash sale sells, and its warehouse's stock route.
const FLASH_SKU: &str = "KITE";

fn flash_units() -> u64 {
    std::env::var("MERCATO_FLASH_UNITS").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

/// Whether this run includes the flash sale: no `--scenarios`, or one whose
/// comma-separated patterns match `flashsale` the way goose matches them (without regard
/// to case, `*` for any run of characters).
fn flash_running() -> bool {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--scenarios" || a.starts_with("--scenarios=")) {
        None => true,
        Some(i) => {
            let value = args[i].strip_prefix("--scenarios=").map(str::to_owned).or_else(|| args.get(i + 1).cloned());
            value.is_some_and(|v| v.split(',').any(|pattern| glob(&pattern.trim().to_lowercase(), "flashsale")))
        }
    }
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters.
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            name.starts_with(head) && (0..=name.len() - head.len()).any(|skip| glob(rest, &name[head.len() + skip..]))
        }
    }
}

/// The flash SKU's stock figures before the sale, and what the sale's orders took.
static FLASH_BEFORE: std::sync::Mutex<Option<(u64, u64, u64)>> = std::sync::Mutex::new(None);
static FLASH_SOLD: AtomicU64 = AtomicU64::new(0);
static FLASH_VERDICT: std::sync::Mutex<Option<Result<String, String>>> = std::sync::Mutex::new(None);

async fn flash_stock(user: &mut GooseUser) -> Result<Option<Value>, Box<TransactionError>> {
    let path = format!("{WAREHOUSE}/stock/{FLASH_SKU}");
    Ok(call(user, GooseMethod::Get, "flash stock", &path, &admin_key(), None, &[200, 404]).await?.map(|(_, v)| v))
}

fn figure(stock: &Option<Value>, field: &str) -> u64 {
    stock.as_ref().and_then(|s| s[field].as_u64()).unwrap_or(0)
}

/// Before the sale: exactly `MERCATO_FLASH_UNITS` units of the flash SKU available.
async fn flash_setup(user: &mut GooseUser) -> TransactionResult {
    if !flash_running() {
        return Ok(());
    }
    let stock = flash_stock(user).await?;
    let available = figure(&stock, "available");
    let wanted = flash_units();
    let delta = i64::try_from(wanted).unwrap_or(0) - i64::try_from(available).unwrap_or(0);
    if delta > 0 {
        let body = json!({"sku": FLASH_SKU, "quantity": delta});
        back_office(user, GooseMethod::Post, &format!("{WAREHOUSE}/receipts"), Some(body), 201).await?;
    } else if delta < 0 {
        let body = json!({"sku": FLASH_SKU, "delta": delta, "reason": "count_correction"});
        back_office(user, GooseMethod::Post, &format!("{WAREHOUSE}/adjustments"), Some(body), 201).await?;
    }
    let stock = flash_stock(user).await?;
    *FLASH_BEFORE.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
        Some((figure(&stock, "allocated"), figure(&stock, "available"), figure(&stock, "reserved")));
    Ok(())
}

/// One buyer: a cart with one unit of the flash SKU, checked out. Sold out (409 on the
/// add) is an expected answer; once the unit is held, checkout must succeed.
async fn flash_buy(user: &mut GooseUser) -> TransactionResult {
    let Some(cart) = filled_cart(user, &[(FLASH_SKU, 1)]).await? else { return Ok(()) };
    let path = format!("{DEMO}/carts/{cart}/checkout");
    let body = Some(json!({"payment_system": "card", "payment_token": "tok_visa"}));
    let key = storefront_key();
    if let Some((_, order)) = call(user, GooseMethod::Post, "carts/{id}/checkout", &path, &key, body, &[201]).await? {
        let units =
            order["lines"].as_array().map_or(0, |lines| lines.iter().filter_map(|l| l["quantity"].as_u64()).sum());
        FLASH_SOLD.fetch_add(units, Ordering::Relaxed);
    }
    Ok(())
}

/// After the sale: units allocated since the start equal the units in acknowledged
/// orders, never more than were available, and nothing oversold.
async fn flash_check(user: &mut GooseUser) -> TransactionResult {
    if !flash_running() {
        return Ok(());
    }
    let before = *FLASH_BEFORE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let stock = flash_stock(user).await?;
    let verdict = match before {
        None => Err("the flash sale's setup did not run".to_owned()),
        Some((allocated_before, available_before, reserved_before)) => {
            let sold = figure(&stock, "allocated").saturating_sub(allocated_before);
            let ordered = FLASH_SOLD.load(Ordering::Relaxed);
            let (on_hand, reserved, allocated) =
                (figure(&stock, "on_hand"), figure(&stock, "reserved"), figure(&stock, "allocated"));
            let available_after = figure(&stock, "available");
            if sold == 0 {
                Err("nothing was sold".to_owned())
            } else if available_before + reserved_before != available_after + reserved + sold {
                Err(format!(
                    "units do not add up: {available_before} available and {reserved_before} held before; {sold} \
                     sold, {available_after} available and {reserved} held after"
                ))
            } else if sold != ordered {
                Err(format!("{sold} units allocated during the sale, but acknowledged orders hold {ordered}"))
            } else if sold > available_before {
                Err(format!("{sold} units sold of {available_before} available: oversold"))
            } else if reserved + allocated > on_hand {
                Err(format!("{reserved} reserved and {allocated} allocated of {on_hand} on hand: oversold"))
            } else {
                let left = available_before - sold;
                let outcome = if left == 0 {
                    "sold out".to_owned()
                } else {
                    format!("{left} left or still held by carts open when the run stopped")
                };
                Ok(format!(
                    "flash sale: {sold} of {available_before} units sold ({outcome}), each in an acknowledged order; \
                     0 oversold"
                ))
            }
        }
    };
    *FLASH_VERDICT.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(verdict);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), GooseError> {
    run().await?;
    match FLASH_VERDICT.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
        Some(Ok(verdict)) => println!("{verdict}"),
        Some(Err(failure)) => {
            eprintln!("flash sale check failed: {failure}");
            std::process::exit(1);
        }
        None => {}
    }
    Ok(())
}

async fn run() -> Result<(), GooseError> {
    GooseAttack::initialize()?
        .register_scenario(scenario!("context").register_transaction(transaction!(resolve_context)))
        .register_scenario(
            scenario!("back_office")
                .register_transaction(transaction!(receive_stock).set_weight(8)?)
                .register_transaction(transaction!(batch_arrives).set_weight(1)?)
                .register_transaction(transaction!(read_stock).set_weight(1)?),
        )
        .register_scenario(
            scenario!("storefront")
                .register_transaction(transaction!(stock_up).set_on_start())
                .register_transaction(transaction!(shop)),
        )
        .register_scenario(scenario!("flash_sale").register_transaction(transaction!(flash_buy)))
        .register_scenario(
            scenario!("fulfilment")
                .register_transaction(transaction!(stock_up).set_on_start())
                .register_transaction(transaction!(order_life)),
        )
        .register_scenario(
            scenario!("invoicing")
                .register_transaction(transaction!(stock_up).set_on_start())
                .register_transaction(transaction!(pay_by_transfer)),
        )
        .test_start(transaction!(flash_setup))
        .test_stop(transaction!(flash_check))
        .set_default(GooseDefault::Host, "http://127.0.0.1:8080")?
        .execute()
        .await?;
    Ok(())
}
