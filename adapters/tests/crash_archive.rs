//! Archiving through SIGKILL: the real binary, on the demo with a return window of 0 days
//! (an order delivered is finished at once), moves finished orders to the archive every
//! 20 ms and snapshots every 150 ms while a driver buys, ships and delivers orders without
//! pause; it is killed at a random moment, again and again. After each restart every
//! order the driver was answered for reads back (from memory or the archive), the order
//! list shows each exactly once, and every invoice number belongs to one order only:
//! nothing lost, nothing duplicated.
//!
//! `MERCATO_CRASH_CYCLES` sets the number of kills (6 by default here).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use support::{archived_total, demo_with, free_port, http, serve_on, temp_dir, Served};

const ADMIN: &str = "demo-admin";
const BASE: &str = "/v1/commerces/demo";

fn start(address: SocketAddr, config: &std::path::Path, data: &std::path::Path) -> Served {
    serve_on(address, config, data, &["--snapshot-interval-ms", "150", "--archive-interval-ms", "20"])
}

fn call(address: SocketAddr, method: &str, path: &str, key: &str, body: &Value) -> Option<(u16, Value)> {
    let (status, text) = http(address, method, &format!("{BASE}{path}"), Some(key), &body.to_string())?;
    Some((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
}

fn now() -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
    chrono::DateTime::from_timestamp(i64::try_from(seconds).expect("small"), 0)
        .expect("a time")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Buys, ships and delivers until told to stop or the node goes; the ids of the orders it
/// was answered for.
fn drive(address: SocketAddr, stop: &AtomicBool, bought: &Mutex<Vec<String>>, round: usize) {
    let purchase = json!({
        "cart": {"country": "ES", "lines": [{"sku": "MOUSE", "qty": 1}],
                 "address": {"name": "Ana García", "line": "Gran Vía 1", "city": "Madrid",
                             "postal_code": "28013", "country": "ES"},
                 "delivery": {"method": "home"}},
        "checkout": {"payment_system": "card", "payment_token": "tok_visa"}});
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let Some((201, order)) = call(address, "POST", "/orders", "demo-storefront", &purchase) else { return };
        let id = order["id"].as_str().expect("an id").to_owned();
        bought.lock().expect("the list").push(id.clone());
        for shipment in order["shipments"].as_array().into_iter().flatten() {
            n += 1;
            let tracking = format!("CA{round}-{n}");
            let ship = format!("/orders/{id}/shipments/{}/ship", shipment["id"].as_str().expect("an id"));
            if call(address, "POST", &ship, ADMIN, &json!({"tracking": [tracking]})).map(|a| a.0) != Some(200) {
                return;
            }
            let carrier = shipment["carrier"].as_str().expect("a carrier");
            let report = json!({"id": format!("{tracking}-d"), "tracking": tracking, "code": "delivered", "at": now()});
            if call(address, "POST", &format!("/carriers/{carrier}/events"), ADMIN, &report).map(|a| a.0) != Some(200) {
                return;
            }
        }
    }
}

/// Every order id the list shows, page by page.
fn listed(address: SocketAddr) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = String::new();
    loop {
        let (status, page) =
            call(address, "GET", &format!("/orders?limit=50{after}"), ADMIN, &json!({})).expect("a page");
        assert_eq!(status, 200, "{page}");
        ids.extend(page["orders"].as_array().expect("orders").iter().map(|o| o["id"].as_str().expect("id").to_owned()));
        match page["next_after"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => return ids,
        }
    }
}

/// What must hold after every restart: each order answered for reads back, is listed
/// once, and no invoice number is given twice. How many orders are listed.
fn check(address: SocketAddr, bought: &[String], cycle: usize) -> usize {
    let listed = listed(address);
    let unique: BTreeSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "an order listed twice after kill {cycle}");
    let mut invoices: BTreeMap<String, String> = BTreeMap::new();
    for id in bought {
        assert!(unique.contains(id), "order {id} is not listed after kill {cycle}");
        let (status, order) = call(address, "GET", &format!("/orders/{id}"), ADMIN, &json!({})).expect("an order");
        assert_eq!(status, 200, "order {id} after kill {cycle}: {order}");
        for invoice in order["invoices"].as_array().into_iter().flatten() {
            let number = invoice["number"].as_str().expect("a number").to_owned();
            if let Some(other) = invoices.insert(number.clone(), id.clone()) {
                assert_eq!(&other, id, "invoice {number} given to two orders after kill {cycle}");
            }
        }
    }
    listed.len()
}

// Proves finished orders survive SIGKILL at any moment of their archiving: every order
// answered for reads back and is listed exactly once, with no invoice number reused.
#[test]
fn archiving_loses_and_duplicates_nothing_through_sigkill() {
    let cycles: usize = std::env::var("MERCATO_CRASH_CYCLES").ok().and_then(|c| c.parse().ok()).unwrap_or(6);
    let dir = temp_dir("crash-archive");
    let file = demo_with(&dir, "archive.toml", "return_window_days = 0");
    let data = dir.join("data");
    let address = free_port();
    let bought = Arc::new(Mutex::new(Vec::new()));
    let mut archived = 0;
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for cycle in 1..=cycles {
        let mut served = start(address, &file, &data);
        let ids = bought.lock().expect("the list").clone();
        check(address, &ids, cycle - 1);
        if cycle == 1 {
            // Enough mice that the driver never runs out between kills.
            let receipt = json!({"sku": "MOUSE", "quantity": 100_000});
            let answer = call(address, "POST", "/warehouses/wh-madrid/receipts", ADMIN, &receipt).expect("stock");
            assert_eq!(answer.0, 201, "{answer:?}");
        }
        let stop = Arc::new(AtomicBool::new(false));
        let driver = {
            let (stop, bought) = (Arc::clone(&stop), Arc::clone(&bought));
            std::thread::spawn(move || drive(address, &stop, &bought, cycle))
        };
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(300 + seed % 700));
        archived += archived_total(address);
        served.0.kill().expect("SIGKILL");
        let _ = served.0.wait();
        stop.store(true, Ordering::Relaxed);
        driver.join().expect("the driver");
    }
    let served = start(address, &file, &data);
    let ids = bought.lock().expect("the list").clone();
    let shown = check(address, &ids, cycles);
    archived += archived_total(address);
    assert!(shown >= ids.len() && !ids.is_empty(), "{shown} listed for {} bought", ids.len());
    assert!(archived > 0, "orders were archived on the way");
    support::stop_cleanly(served);
}
