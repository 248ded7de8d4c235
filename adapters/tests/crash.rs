//! Crash test: the real binary takes stock receipts over HTTP from several clients, each
//! with its own `Idempotency-Key`, takes a snapshot every 100 ms, and is killed with
//! SIGKILL at a random moment, again and again. After each restart, every receipt left
//! without an answer is retried with its key and body, and then the stock on hand must be
//! exactly the sum of all answered receipts: nothing lost, nothing applied twice.
//!
//! Meanwhile shoppers create carts and add and remove lines of a SKU with limited stock,
//! with keys too. After each restart the shoppers' open requests are retried, every cart
//! must hold exactly the lines it was acknowledged to hold (a retried line is never added
//! twice), the warehouse must hold at least every unit the carts hold, and it must never
//! hold more than it has: no unit is oversold.
//!
//! Some shoppers check their cart out (address, delivery, checkout with a key). After each
//! restart every acknowledged order is still there with its units, a checkout retried with
//! its key answers the same order, an unanswered checkout retried with its key places at
//! most one order, and the warehouse's allocations are exactly the orders' units.
//!
//! `MERCATO_CRASH_CYCLES` sets the number of kills (20 by default; CI runs the default).

mod support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::{free_port, http, http_keyed, temp_dir, wait_ready, Served, BIN};

const CLIENTS: usize = 3;
const SHOPPERS: usize = 2;
const STOCK: &str = "/v1/commerces/demo/warehouses/wh-madrid/stock/KEYBOARD";
const RECEIPTS: &str = "/v1/commerces/demo/warehouses/wh-madrid/receipts";
const MICE: &str = "/v1/commerces/demo/warehouses/wh-madrid/stock/MOUSE";
const CARTS: &str = "/v1/commerces/demo/carts";
/// Units of MOUSE there are, received once: the shoppers run it out and free it again.
const MICE_ON_HAND: u64 = 40;

/// A small deterministic generator, so a failing run can be repeated from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|error| panic!("{error}: {body}"))
}

fn stock(address: SocketAddr, path: &str) -> serde_json::Value {
    let (status, body) = http(address, "GET", path, Some("demo-admin"), "").expect("an answer");
    assert_eq!(status, 200, "{body}");
    json(&body)
}

fn on_hand(address: SocketAddr) -> u64 {
    stock(address, STOCK)["on_hand"].as_u64().expect("on_hand")
}

/// A receipt: its idempotency key and quantity.
#[derive(Debug, Clone)]
struct Receipt {
    key: String,
    quantity: u64,
}

/// Sends one receipt; its answer's status, or none when no answer came.
fn send(address: SocketAddr, receipt: &Receipt) -> Option<u16> {
    let body = format!(r#"{{"sku": "KEYBOARD", "quantity": {}}}"#, receipt.quantity);
    http_keyed(address, "POST", RECEIPTS, Some("demo-admin"), Some(&receipt.key), &body).map(|(status, body)| {
        assert!(status == 201 || status >= 500, "receipt {receipt:?} refused: {status} {body}");
        status
    })
}

/// What one client saw: the units acknowledged, and the receipt left without an answer.
struct Seen {
    acknowledged: u64,
    unanswered: Option<Receipt>,
}

/// Posts receipts one after another until `stop`; quantity 1 to 7 by turn.
fn client(address: SocketAddr, cycle: usize, id: u64, stop: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen { acknowledged: 0, unanswered: None };
    let mut turn = id;
    while !stop.load(Ordering::Relaxed) {
        let receipt = Receipt { key: format!("c{cycle}-{id}-{turn}"), quantity: 1 + turn % 7 };
        turn += 1;
        match send(address, &receipt) {
            Some(201) => seen.acknowledged += receipt.quantity,
            // No answer (the server died) or a 5xx: the receipt's fate is open.
            _ => {
                seen.unanswered = Some(receipt);
                break;
            }
        }
    }
    seen
}

/// Whether some subset of `unknown` sums to `extra`.
fn subset_sums_to(unknown: &[Receipt], extra: u64) -> bool {
    (0..1u32 << unknown.len()).any(|mask| {
        unknown.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, r)| r.quantity).sum::<u64>() == extra
    })
}

/// A shopper's request whose answer never came.
#[derive(Debug, Clone)]
enum Open {
    Create { key: String },
    Add { cart: String, key: String, quantity: u64 },
    Remove { cart: String },
    Checkout { cart: String, key: String, quantity: u64 },
}

/// An acknowledged order: its cart, the checkout's key and the mice it holds.
#[derive(Debug, Clone)]
struct Placed {
    cart: String,
    key: String,
    quantity: u64,
}

/// What one shopper saw: each cart it touched with the MOUSE units it was acknowledged to
/// hold (none: no line), and the request left without an answer.
struct Shopped {
    carts: Vec<(String, Option<u64>)>,
    open: Option<Open>,
    /// The last line it was acknowledged to add: (cart, key, quantity).
    added: Option<(String, String, u64)>,
    /// Orders acknowledged, by id.
    orders: Vec<(String, Placed)>,
}

const ADDRESS: &str = r#"{"name": "Ana", "line": "Gran Vía 1", "city": "Madrid", "region": "MD", "postal_code": "28013", "country": "ES"}"#;

/// Checks a cart out: its address and delivery, then checkout with `key`. The order's id,
/// or the 5xx status (or none: no answer) of the step that failed.
fn checkout(address: SocketAddr, cart: &str, key: &str) -> Option<Result<String, u16>> {
    for (path, body) in [("address", ADDRESS), ("delivery", r#"{"method": "home"}"#)] {
        let (status, answer) = http(address, "PUT", &format!("{CARTS}/{cart}/{path}"), Some("demo-storefront"), body)?;
        match status {
            200 => {}
            // Checked out already (the retry of a checkout whose answer was lost).
            404 | 409 if answer.contains("unknown_cart") || answer.contains("cart_closed") => {}
            status if status >= 500 => return Some(Err(status)),
            status => panic!("{path} of cart {cart}: {status} {answer}"),
        }
    }
    let path = format!("{CARTS}/{cart}/checkout");
    let body = r#"{"payment_system": "card", "payment_token": "tok_visa"}"#;
    let (status, answer) = http_keyed(address, "POST", &path, Some("demo-storefront"), Some(key), body)?;
    match status {
        201 => Some(Ok(json(&answer)["id"].as_str().expect("an order id").to_owned())),
        status if status >= 500 => Some(Err(status)),
        status => panic!("checkout {key} of cart {cart}: {status} {answer}"),
    }
}

/// The mice an order holds, read back.
fn order_units(address: SocketAddr, order: &str) -> u64 {
    let path = format!("/v1/commerces/demo/orders/{order}");
    let (status, body) = http(address, "GET", &path, Some("demo-storefront"), "").expect("an answer");
    assert_eq!(status, 200, "order {order}: {body}");
    json(&body)["lines"].as_array().expect("lines").iter().map(|l| l["quantity"].as_u64().expect("a quantity")).sum()
}

fn create_cart(address: SocketAddr, key: &str) -> Option<Result<String, u16>> {
    let (status, body) =
        http_keyed(address, "POST", CARTS, Some("demo-storefront"), Some(key), r#"{"country": "ES"}"#)?;
    match status {
        201 => Some(Ok(json(&body)["id"].as_str().expect("a cart id").to_owned())),
        status if status >= 500 => Some(Err(status)),
        status => panic!("cart {key} refused: {status} {body}"),
    }
}

/// Adds `quantity` mice: the units held, none when the stock ran out, or the 5xx status.
fn add_line(address: SocketAddr, cart: &str, key: &str, quantity: u64) -> Option<Result<Option<u64>, u16>> {
    let path = format!("{CARTS}/{cart}/lines");
    let body = format!(r#"{{"sku": "MOUSE", "qty": {quantity}}}"#);
    let (status, answer) = http_keyed(address, "POST", &path, Some("demo-storefront"), Some(key), &body)?;
    match status {
        201 => Some(Ok(Some(quantity))),
        409 if answer.contains("insufficient_stock") => Some(Ok(None)),
        status if status >= 500 => Some(Err(status)),
        status => panic!("line {key} refused: {status} {answer}"),
    }
}

/// Removes the cart's line: true once it is gone (removed now or before).
fn remove_line(address: SocketAddr, cart: &str) -> Option<bool> {
    let path = format!("{CARTS}/{cart}/lines/l1");
    let (status, body) = http(address, "DELETE", &path, Some("demo-storefront"), "")?;
    match status {
        200 => Some(true),
        404 if body.contains("unknown_cart_line") => Some(true),
        status if status >= 500 => Some(false),
        status => panic!("removing {path}: {status} {body}"),
    }
}

/// Creates carts one after another, adds one or two mice to each, and removes every other
/// line again, until `stop`.
fn shopper(address: SocketAddr, cycle: usize, id: u64, stop: Arc<AtomicBool>) -> Shopped {
    let mut shopped = Shopped { carts: Vec::new(), open: None, added: None, orders: Vec::new() };
    let mut turn = 0u64;
    while !stop.load(Ordering::Relaxed) {
        turn += 1;
        let key = format!("s{cycle}-{id}-{turn}");
        let cart = match create_cart(address, &key) {
            Some(Ok(cart)) => cart,
            _ => {
                shopped.open = Some(Open::Create { key });
                break;
            }
        };
        let quantity = 1 + turn % 2;
        let held = match add_line(address, &cart, &format!("{key}-l"), quantity) {
            Some(Ok(held)) => held,
            _ => {
                shopped.open = Some(Open::Add { cart, key: format!("{key}-l"), quantity });
                break;
            }
        };
        if held.is_some() {
            shopped.added = Some((cart.clone(), format!("{key}-l"), quantity));
        }
        if let (Some(quantity), 1) = (held, turn % 4) {
            let key = format!("{key}-o");
            match checkout(address, &cart, &key) {
                Some(Ok(order)) => {
                    shopped.added = None;
                    shopped.orders.push((order, Placed { cart, key, quantity }));
                    continue;
                }
                _ => {
                    shopped.added = None;
                    shopped.open = Some(Open::Checkout { cart, key, quantity });
                    break;
                }
            }
        }
        if held.is_some() && turn.is_multiple_of(2) {
            if remove_line(address, &cart) != Some(true) {
                shopped.carts.push((cart.clone(), held));
                shopped.open = Some(Open::Remove { cart });
                break;
            }
            shopped.carts.push((cart, None));
        } else {
            shopped.carts.push((cart, held));
        }
    }
    shopped
}

/// Settles a shopper's open request after a restart by retrying it; the cart and what it
/// now holds (an open checkout is settled by `settle_checkout`).
fn settle(address: SocketAddr, open: Open) -> (String, Option<u64>) {
    match open {
        Open::Checkout { .. } => unreachable!("checkouts settle apart"),
        Open::Create { key } => {
            let cart = create_cart(address, &key).expect("an answer").expect("created");
            (cart, None)
        }
        Open::Add { cart, key, quantity } => {
            let held = add_line(address, &cart, &key, quantity).expect("an answer").expect("settled");
            (cart, held)
        }
        Open::Remove { cart } => {
            assert_eq!(remove_line(address, &cart), Some(true), "removing the line of {cart}");
            (cart, None)
        }
    }
}

/// The MOUSE units a cart holds, checked to be on one line at most.
fn cart_holds(address: SocketAddr, cart: &str) -> Option<u64> {
    let (status, body) =
        http(address, "GET", &format!("{CARTS}/{cart}"), Some("demo-storefront"), "").expect("an answer");
    assert_eq!(status, 200, "cart {cart}: {body}");
    let lines = json(&body)["lines"].as_array().cloned().expect("lines");
    assert!(lines.len() <= 1, "cart {cart} has {} lines: a retried line was added twice: {body}", lines.len());
    lines.first().map(|line| line["quantity"].as_u64().expect("a quantity"))
}

fn start(address: SocketAddr, data: &std::path::Path) -> Served {
    let child = Command::new(BIN)
        .args(["--listen", &address.to_string(), "--data", data.to_str().expect("utf-8")])
        // Snapshots (and the log deletions after them) run all through the kills.
        .args(["--snapshot-interval-ms", "100"])
        .env_remove("MERCATO_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let served = Served(child);
    wait_ready(address);
    served
}

// Proves an acknowledged change survives SIGKILL at any moment, and a change retried with
// its idempotency key after a kill is applied exactly once, across many kills and restarts
// on one data folder.
#[test]
fn receipts_survive_sigkill_and_retries_apply_once() {
    let cycles: usize = std::env::var("MERCATO_CRASH_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let dir = temp_dir("crash");
    let data = dir.join("data");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Units known to be there, and the receipts whose fate the last kill left open.
    let mut known = 0u64;
    let mut unknown: Vec<Receipt> = Vec::new();
    let mut retried = 0;
    // Every cart with the mice it was acknowledged to hold; the carts of the last cycle;
    // the shoppers' open requests.
    let mut carts: std::collections::BTreeMap<String, Option<u64>> = std::collections::BTreeMap::new();
    let mut touched: Vec<String> = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    let mut added: Vec<(String, String, u64)> = Vec::new();
    let mut orders: std::collections::BTreeMap<String, Placed> = std::collections::BTreeMap::new();
    for cycle in 0..=cycles {
        let address = free_port();
        let mut served = start(address, &data);
        let found = on_hand(address);
        let extra = found.checked_sub(known).unwrap_or_else(|| {
            panic!("cycle {cycle}: {found} units on hand, but {known} were acknowledged: a change was lost")
        });
        assert!(
            subset_sums_to(&unknown, extra),
            "cycle {cycle}: {extra} units beyond the acknowledged {known}, but only {unknown:?} were unanswered"
        );
        // Each open receipt, retried with its key, is applied now or replayed: once.
        for receipt in unknown.drain(..) {
            assert_eq!(send(address, &receipt), Some(201), "cycle {cycle}: retry of {receipt:?}");
            known += receipt.quantity;
            retried += 1;
        }
        assert_eq!(on_hand(address), known, "cycle {cycle}: after the retries, every receipt counts once");
        if cycle == 0 {
            let body = format!(r#"{{"sku": "MOUSE", "quantity": {MICE_ON_HAND}}}"#);
            let answer = http_keyed(address, "POST", RECEIPTS, Some("demo-admin"), Some("mice"), &body);
            assert_eq!(answer.map(|(status, _)| status), Some(201));
        }
        for request in open.drain(..) {
            if let Open::Checkout { cart, key, quantity } = request {
                // Placed before the kill (replayed) or now: either way exactly one order.
                let order = checkout(address, &cart, &key).expect("an answer").expect("checked out");
                assert!(!orders.contains_key(&order), "cycle {cycle}: checkout {key} answered another cart's order");
                carts.remove(&cart);
                orders.insert(order, Placed { cart, key, quantity });
                continue;
            }
            let (cart, held) = settle(address, request);
            touched.push(cart.clone());
            carts.insert(cart, held);
        }
        // A line acknowledged before the kill, sent again with its key, is answered from
        // the answer kept in its record: the cart does not get it twice.
        for (cart, key, quantity) in added.drain(..) {
            let replayed = add_line(address, &cart, &key, quantity).expect("an answer");
            assert_eq!(replayed, Ok(Some(quantity)), "cycle {cycle}: the retried line {key} of cart {cart}");
            touched.push(cart);
        }
        for cart in touched.drain(..) {
            assert_eq!(cart_holds(address, &cart), carts[&cart], "cycle {cycle}: cart {cart} after the restart");
        }
        // Every acknowledged order is there with its units; its checkout, retried with its
        // key, answers the same order.
        for (order, placed) in &orders {
            assert_eq!(order_units(address, order), placed.quantity, "cycle {cycle}: order {order}");
        }
        if let Some((order, placed)) = orders.iter().next_back() {
            let replayed = checkout(address, &placed.cart, &placed.key).expect("an answer").expect("replayed");
            assert_eq!(&replayed, order, "cycle {cycle}: the retried checkout {}", placed.key);
        }
        let mice = stock(address, MICE);
        let (on_hand, reserved) = (mice["on_hand"].as_u64(), mice["reserved"].as_u64().expect("reserved"));
        let allocated = mice["allocated"].as_u64().expect("allocated");
        assert_eq!(on_hand, Some(MICE_ON_HAND), "cycle {cycle}: {mice}");
        let ordered: u64 = orders.values().map(|p| p.quantity).sum();
        assert_eq!(allocated, ordered, "cycle {cycle}: {allocated} mice allocated, {ordered} in acknowledged orders");
        assert!(
            reserved + allocated <= MICE_ON_HAND,
            "cycle {cycle}: {reserved} held and {allocated} allocated of {MICE_ON_HAND}: oversold"
        );
        let in_carts: u64 = carts.values().flatten().sum();
        assert!(reserved >= in_carts, "cycle {cycle}: carts hold {in_carts} mice, the warehouse only {reserved}");
        if cycle == cycles {
            break;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS as u64)
            .map(|id| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || client(address, cycle, id, stop))
            })
            .collect();
        let shoppers: Vec<_> = (0..SHOPPERS as u64)
            .map(|id| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || shopper(address, cycle, id, stop))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(30 + rng.below(300)));
        served.0.kill().expect("SIGKILL");
        let _ = served.0.wait();
        stop.store(true, Ordering::Relaxed);
        for seen in clients.into_iter().map(|c| c.join().expect("a client")) {
            known += seen.acknowledged;
            unknown.extend(seen.unanswered);
        }
        for shopped in shoppers.into_iter().map(|s| s.join().expect("a shopper")) {
            for (cart, held) in shopped.carts {
                touched.push(cart.clone());
                carts.insert(cart, held);
            }
            open.extend(shopped.open);
            added.extend(shopped.added);
            for (order, placed) in shopped.orders {
                carts.remove(&placed.cart);
                orders.insert(order, placed);
            }
        }
    }
    eprintln!("{cycles} kills; {known} units acknowledged in all; {retried} receipts retried after a kill");
    eprintln!("{} carts; {} hold mice at the end", carts.len(), carts.values().flatten().count());
    eprintln!("{} orders placed, {} mice in them", orders.len(), orders.values().map(|p| p.quantity).sum::<u64>());
    assert!(known > 0, "no receipt was ever acknowledged");
}
