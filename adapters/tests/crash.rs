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
//! Carts live `CART_LIFETIME_SECONDS` here (the commerce's setting), so they expire, and
//! are renewed when a shopper comes back to one, among the kills. The model follows the
//! server: it keeps each cart's time from its answers, drops a cart once the server shows
//! it expired (never before the last time it was acknowledged to last until), and counts
//! only carts still open when the stock was read.
//!
//! A back office takes acknowledged orders through their life after checkout, with keys
//! (`crash_office`): shipped or a unit cancelled, delivered, a unit returned, accepted and
//! received back for sale. After each restart every acknowledged step is there once (an
//! unanswered one, retried with its key, is made once), the warehouse has shipped,
//! released and restocked exactly those units, every refund is settled, and the invoice
//! and credit-note numbers run without a gap: one invoice per order, one credit note per
//! cancellation and per receipt.
//!
//! `MERCATO_CRASH_CYCLES` sets the number of kills (20 by default; CI runs the default).

mod crash_office;
mod crash_shoppers;
mod support;

use crash_office::{book, check_orders, mice_moved, office, Action, Booked};
use crash_shoppers::*;

use std::collections::BTreeMap;
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
/// How long a cart lives here: short, so carts expire and are renewed among the kills.
const CART_LIFETIME_SECONDS: i64 = 5;
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

/// The demo with a cart lifetime of `CART_LIFETIME_SECONDS`, written into `dir`.
fn config(dir: &std::path::Path) -> std::path::PathBuf {
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo.toml")).expect("demo");
    // Without its opening stock: the test counts every unit it receives.
    let demo = demo.split("# --- Opening stock").next().expect("the settings").to_owned();
    let anchor = "shipping_tax_class = \"standard\"\n";
    let text = demo.replacen(anchor, &format!("{anchor}cart_lifetime_seconds = {CART_LIFETIME_SECONDS}\n"), 1);
    assert_ne!(text, demo, "the demo sets shipping_tax_class");
    let path = dir.join("crash.toml");
    std::fs::write(&path, text).expect("written");
    path
}

fn start(address: SocketAddr, data: &std::path::Path, config: &std::path::Path) -> Served {
    let child = Command::new(BIN)
        .args(["--listen", &address.to_string(), "--data", data.to_str().expect("utf-8")])
        .args(["--config", config.to_str().expect("utf-8")])
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

/// Carts for the shoppers to touch again: open ones with between 1.5 s and two thirds of
/// their time left (due for renewal, and not so close to their end that the touch races
/// it), up to two per shopper.
fn revisits(carts: &BTreeMap<String, Kept>) -> Vec<Vec<(String, Kept)>> {
    let now = now_ms();
    let due = carts
        .iter()
        .filter(|(_, kept)| (1_500..CART_LIFETIME_SECONDS * 2_000 / 3).contains(&(kept.expires_at - now)))
        .take(2 * SHOPPERS);
    let mut each = vec![Vec::new(); SHOPPERS];
    for (i, (cart, kept)) in due.enumerate() {
        each[i % SHOPPERS].push((cart.clone(), *kept));
    }
    each
}

// Proves an acknowledged change survives SIGKILL at any moment, and a change retried with
// its idempotency key after a kill is applied exactly once, across many kills and restarts
// on one data folder; carts live a few seconds, so expiries and renewals happen among the
// kills and the model follows them.
#[test]
fn receipts_survive_sigkill_and_retries_apply_once() {
    let cycles: usize = std::env::var("MERCATO_CRASH_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let dir = temp_dir("crash");
    let data = dir.join("data");
    let config = config(&dir);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Units known to be there, and the receipts whose fate the last kill left open.
    let mut known = 0u64;
    let mut unknown: Vec<Receipt> = Vec::new();
    let mut retried = 0;
    // Every cart with what it was acknowledged to hold and to last until; the shoppers'
    // open requests; expiries and renewals seen.
    let mut carts: BTreeMap<String, Kept> = BTreeMap::new();
    let mut open: Vec<Open> = Vec::new();
    let mut added: Vec<(String, String, u64)> = Vec::new();
    let mut orders: BTreeMap<String, Placed> = BTreeMap::new();
    let mut booked: BTreeMap<String, Booked> = BTreeMap::new();
    let mut office_open: Option<Action> = None;
    let (mut expired, mut renewed) = (0usize, 0usize);
    for cycle in 0..=cycles {
        let address = free_port();
        let mut served = start(address, &data, &config);
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
                // Placed before the kill (replayed) or now: either way one order at most;
                // none only when the cart's time ended first.
                let placed = checkout(address, &cart, &key).expect("an answer").expect("settled");
                carts.remove(&cart);
                if let Some(order) = placed {
                    assert!(
                        !orders.contains_key(&order),
                        "cycle {cycle}: checkout {key} answered another cart's order"
                    );
                    orders.insert(order, Placed { cart, key, quantity });
                }
                continue;
            }
            let cart = match &request {
                Open::Create { .. } => None,
                Open::Add { cart, .. } | Open::Remove { cart } | Open::Touch { cart } | Open::Checkout { cart, .. } => {
                    Some(cart.clone())
                }
            };
            match settle(address, request, &carts) {
                Some((cart, kept)) => {
                    carts.insert(cart, kept);
                }
                None => {
                    carts.remove(&cart.expect("a cart"));
                }
            }
        }
        // A line acknowledged before the kill, sent again with its key, is answered from
        // the answer kept in its record: the cart does not get it twice (checked below).
        for (cart, key, quantity) in added.drain(..) {
            let replayed = add_line(address, &cart, &key, quantity).expect("an answer");
            assert!(matches!(replayed, Ok(Changed::Done(Some(_)))), "cycle {cycle}: the retried line {key} of {cart}");
        }
        // The back office's unanswered request, retried with its key, is made once.
        if let Some(action) = office_open.take() {
            let answer = crash_office::send(address, &action);
            let Some((200 | 201, answer)) = answer else { panic!("cycle {cycle}: retry of {action:?}: {answer:?}") };
            book(&mut booked, &action, &answer);
        }
        let quantities: BTreeMap<String, u64> = orders.iter().map(|(o, p)| (o.clone(), p.quantity)).collect();
        check_orders(address, cycle, &quantities, &booked);
        // Every acknowledged order is there with its units; its checkout, retried with its
        // key, answers the same order.
        for (order, placed) in &orders {
            assert_eq!(order_units(address, order), placed.quantity, "cycle {cycle}: order {order}");
        }
        if let Some((order, placed)) = orders.iter().next_back() {
            // A 5xx leaves the outcome open (a busy machine: a reply timed out); the
            // remedy is the same request with the same key, until it answers.
            let replayed = (0..20)
                .find_map(|_| match checkout(address, &placed.cart, &placed.key) {
                    Some(Ok(answer)) => Some(answer),
                    _ => {
                        std::thread::sleep(Duration::from_millis(100));
                        None
                    }
                })
                .expect("replayed");
            assert_eq!(replayed.as_ref(), Some(order), "cycle {cycle}: the retried checkout {}", placed.key);
        }
        let mice = stock(address, MICE);
        let read_at = now_ms();
        let (on_hand, reserved) = (mice["on_hand"].as_u64(), mice["reserved"].as_u64().expect("reserved"));
        let allocated = mice["allocated"].as_u64().expect("allocated");
        let kept = |order: &String, placed: &Placed| placed.quantity - booked.get(order).map_or(0, |b| b.cancelled);
        let is_shipped = |order: &String| booked.get(order).is_some_and(|b| b.shipped.is_some());
        let (shipped, back) = mice_moved(&quantities, &booked);
        let on_shelf = MICE_ON_HAND - shipped + back;
        assert_eq!(on_hand, Some(on_shelf), "cycle {cycle}: {shipped} shipped, {back} back: {mice}");
        let ordered: u64 = orders.iter().filter(|(o, _)| !is_shipped(o)).map(|(o, p)| kept(o, p)).sum();
        assert_eq!(allocated, ordered, "cycle {cycle}: {allocated} mice allocated, {ordered} in acknowledged orders");
        assert!(
            reserved + allocated <= on_shelf,
            "cycle {cycle}: {reserved} held and {allocated} allocated of {on_shelf}: oversold"
        );
        let before = carts.len();
        let in_carts = check_carts(address, cycle, &mut carts, read_at);
        expired += before - carts.len();
        assert!(reserved >= in_carts, "cycle {cycle}: carts hold {in_carts} mice, the warehouse only {reserved}");
        if cycle == cycles {
            break;
        }
        if cycle % 100 == 99 {
            eprintln!(
                "cycle {cycle}: {known} units, {} carts, {} orders, {expired} expiries",
                carts.len(),
                orders.len()
            );
        }
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS as u64)
            .map(|id| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || client(address, cycle, id, stop))
            })
            .collect();
        let shoppers: Vec<_> = revisits(&carts)
            .into_iter()
            .zip(0..SHOPPERS as u64)
            .map(|(revisit, id)| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || shopper(address, cycle, id, revisit, stop))
            })
            .collect();
        let lives: Vec<(String, u64)> = orders
            .iter()
            .filter(|(o, _)| booked.get(*o).is_none_or(|b| b.received == 0))
            .map(|(o, p)| (o.clone(), p.quantity))
            .take(6)
            .collect();
        let back_office = {
            let stop = Arc::clone(&stop);
            let model = booked.clone();
            std::thread::spawn(move || office(address, cycle, lives, &model, stop))
        };
        std::thread::sleep(Duration::from_millis(30 + rng.below(300)));
        served.0.kill().expect("SIGKILL");
        let _ = served.0.wait();
        stop.store(true, Ordering::Relaxed);
        let seen = back_office.join().expect("the back office");
        for (action, answer) in &seen.done {
            book(&mut booked, action, answer);
        }
        office_open = seen.open;
        for seen in clients.into_iter().map(|c| c.join().expect("a client")) {
            known += seen.acknowledged;
            unknown.extend(seen.unanswered);
        }
        for shopped in shoppers.into_iter().map(|s| s.join().expect("a shopper")) {
            for (cart, kept) in shopped.carts {
                if carts.get(&cart).is_some_and(|before| kept.expires_at > before.expires_at) {
                    renewed += 1;
                }
                carts.insert(cart, kept);
            }
            for cart in shopped.expired {
                carts.remove(&cart);
                expired += 1;
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
    eprintln!(
        "{} carts open at the end, {} hold mice; {expired} expired, {renewed} renewed",
        carts.len(),
        carts.values().filter(|k| k.mice.is_some()).count()
    );
    eprintln!("{} orders placed, {} mice in them", orders.len(), orders.values().map(|p| p.quantity).sum::<u64>());
    let ships = booked.values().filter(|b| b.shipped.is_some()).count();
    let cancels: u64 = booked.values().map(|b| b.cancelled).sum();
    let delivered = booked.values().filter(|b| b.delivered).count();
    let received: u64 = booked.values().map(|b| b.received).sum();
    eprintln!("{ships} orders shipped, {cancels} units cancelled, {delivered} delivered, {received} units returned");
    assert!(known > 0, "no receipt was ever acknowledged");
    if cycles >= 20 {
        assert!(expired > 0 && renewed > 0, "the run saw {expired} expiries and {renewed} renewals");
    }
}
