//! Finished orders leave memory for the archive, through the binary, on the demo with a
//! return window of 0 days and snapshots every 200 ms: an order delivered (or cancelled)
//! reads the same, byte for byte, once archived; it is still listed (in its place, once,
//! across pages), its invoice still found by number and in its series' page; a command on
//! it is refused as `order_archived`; the warehouse no longer holds its line; and all of it
//! holds after SIGKILL and after a clean restart, where the invoice series goes on after
//! the archived numbers. An order with open work stays in memory.

mod support;

use serde_json::{json, Value};
use support::{archived_total, buy_demo, demo_with, free_port, http, serve_on, stop_cleanly, temp_dir, Served};

const ADMIN: &str = "demo-admin";
const BASE: &str = "/v1/commerces/demo";

fn start(address: std::net::SocketAddr, config: &std::path::Path, data: &std::path::Path) -> Served {
    serve_on(address, config, data, &["--snapshot-interval-ms", "200"])
}

fn raw(address: std::net::SocketAddr, method: &str, path: &str, body: Value) -> (u16, String) {
    http(address, method, &format!("{BASE}{path}"), Some(ADMIN), &body.to_string()).expect("answer")
}

fn call(address: std::net::SocketAddr, method: &str, path: &str, body: Value) -> (u16, Value) {
    let (status, text) = raw(address, method, path, body);
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn now() -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
    chrono::DateTime::from_timestamp(i64::try_from(seconds).expect("small"), 0)
        .expect("a time")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Ships and delivers every shipment of `order`.
fn deliver(address: std::net::SocketAddr, order: &Value, tracking: &str) {
    let id = order["id"].as_str().expect("an id");
    for (n, shipment) in order["shipments"].as_array().expect("shipments").iter().enumerate() {
        let number = format!("{tracking}-{n}");
        let ship = format!("/orders/{id}/shipments/{}/ship", shipment["id"].as_str().expect("an id"));
        let (status, shipped) = call(address, "POST", &ship, json!({"tracking": [number]}));
        assert_eq!(status, 200, "{shipped}");
        let carrier = shipment["carrier"].as_str().expect("a carrier");
        let report = json!({"id": format!("{number}-d"), "tracking": number, "code": "delivered", "at": now()});
        let (status, delivered) = call(address, "POST", &format!("/carriers/{carrier}/events"), report);
        assert_eq!(status, 200, "{delivered}");
    }
}

fn wait_archived(address: std::net::SocketAddr, at_least: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while archived_total(address) < at_least {
        assert!(std::time::Instant::now() < deadline, "orders not archived in time");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The warehouses let go of the lines right after.
    std::thread::sleep(std::time::Duration::from_millis(300));
}

/// Every order id the list shows, page by page with `limit` per page.
fn listed(address: std::net::SocketAddr, limit: u32) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = String::new();
    loop {
        let path = format!("/orders?limit={limit}{after}");
        let (status, page) = call(address, "GET", &path, json!({}));
        assert_eq!(status, 200, "{page}");
        ids.extend(page["orders"].as_array().expect("orders").iter().map(|o| o["id"].as_str().expect("id").to_owned()));
        match page["next_after"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => return ids,
        }
    }
}

fn invoice_number(order: &Value) -> String {
    order["invoices"][0]["number"].as_str().expect("an invoice").to_owned()
}

#[test]
fn finished_orders_leave_memory_and_read_the_same() {
    let dir = temp_dir("archive");
    let file = demo_with(&dir, "archive.toml", "return_window_days = 0");
    let data = dir.join("data");
    let address = free_port();
    let served = start(address, &file, &data);

    // Five orders: three delivered, one cancelled, one left open (not shipped).
    let orders: Vec<Value> = (0..5).map(|_| buy_demo(address, "MOUSE", 1)).collect();
    for (n, order) in orders.iter().enumerate().take(3) {
        deliver(address, order, &format!("AR{n}"));
    }
    let cancelled = orders[3]["id"].as_str().expect("an id");
    let (status, answer) = call(address, "POST", &format!("/orders/{cancelled}/cancellations"), json!({}));
    assert_eq!(status, 200, "{answer}");
    let finished: Vec<String> = orders[..4].iter().map(|o| o["id"].as_str().expect("id").to_owned()).collect();
    let open = orders[4]["id"].as_str().expect("an id").to_owned();
    let (_, stock_before) = raw(address, "GET", "/warehouses/wh-madrid/stock/MOUSE", json!({}));
    // Each finished order as it read before it was archived (a refund may still be
    // settling: read once nothing is open).
    std::thread::sleep(std::time::Duration::from_millis(100));
    let before: Vec<(u16, String)> =
        finished.iter().map(|id| raw(address, "GET", &format!("/orders/{id}"), json!({}))).collect();
    let list_before = listed(address, 2);
    assert_eq!(list_before.len(), 5, "{list_before:?}");
    let invoice = invoice_number(&orders[0]);

    wait_archived(address, 4);
    let check = |address: std::net::SocketAddr, moment: &str| {
        for (id, read) in finished.iter().zip(&before) {
            let after = raw(address, "GET", &format!("/orders/{id}"), json!({}));
            assert_eq!(&after, read, "order {id} reads the same once archived ({moment})");
        }
        assert_eq!(listed(address, 2), list_before, "listed in place, once, across pages ({moment})");
        assert_eq!(listed(address, 100), list_before, "({moment})");
        let (status, found) = call(address, "GET", &format!("/invoices/{invoice}"), json!({}));
        assert_eq!((status, &found["order"]), (200, &json!(finished[0])), "{found} ({moment})");
        let (status, refused) = call(address, "POST", &format!("/orders/{}/cancellations", finished[0]), json!({}));
        assert_eq!((status, &refused["code"]), (409, &json!("order_archived")), "{refused} ({moment})");
        let (status, missing) = call(address, "GET", "/orders/nope", json!({}));
        assert_eq!((status, &missing["code"]), (404, &json!("unknown_order")), "{missing} ({moment})");
        // The open order is still open to changes.
        let (status, preview) = call(address, "GET", &format!("/orders/{open}"), json!({}));
        assert_eq!((status, &preview["status"]), (200, &json!("paid")), "{preview} ({moment})");
    };
    check(address, "archived");
    let (_, stock_after) = raw(address, "GET", "/warehouses/wh-madrid/stock/MOUSE", json!({}));
    assert_eq!(stock_after, stock_before, "letting go of spent lines moves no stock");

    // A crash, then a clean restart: the same reads, and the series goes on.
    drop(served);
    let served = start(address, &file, &data);
    check(address, "after SIGKILL");
    stop_cleanly(served);
    let served = start(address, &file, &data);
    check(address, "after a clean restart");
    let next = buy_demo(address, "MOUSE", 1);
    let number = |n: &str| n.rsplit('-').next().and_then(|s| s.parse::<u32>().ok()).expect("a sequence");
    let highest = orders.iter().map(|o| number(&invoice_number(o))).max().expect("invoices");
    assert!(number(&invoice_number(&next)) > highest, "the series goes on after archived numbers: {next}");
    stop_cleanly(served);
}

/// A counter of the node's metrics (0 when it has not moved).
fn counter(address: std::net::SocketAddr, name: &str) -> u64 {
    let (_, text) = support::http(address, "GET", "/metrics", None, "").expect("metrics");
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0)
}

fn wait_let_go(address: std::net::SocketAddr, at_least: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while counter(address, "mercato_events_orders_let_go_total") < at_least {
        assert!(std::time::Instant::now() < deadline, "archived orders not let go of by the outbox in time");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// What the event store keeps to derive `order`'s events: its note and its order's and
/// shipments' sequences (0: none).
fn kept_for(store: &mercato_persistence::events::EventStore, order: &Value) -> (bool, Vec<u64>) {
    let id = order["id"].as_str().expect("an id");
    let note = store.note(format!("order\u{1f}demo\u{1f}{id}").as_bytes()).expect("reads").is_some();
    let shipments = order["shipments"].as_array().expect("shipments").iter();
    let aggregates = std::iter::once(format!("order\u{1f}{id}"))
        .chain(shipments.map(|s| format!("shipment\u{1f}{id}/{}", s["id"].as_str().expect("an id"))));
    let sequences = aggregates.map(|a| store.sequence(format!("demo\u{1f}{a}").as_bytes()).expect("reads")).collect();
    (note, sequences)
}

/// The event store follows open orders, not history: an archived order's note and
/// sequences leave it once its records are derived, an open order's stay; and a note the
/// outbox was never told to let go of (a crash came first) goes at the next start.
#[test]
fn archived_orders_leave_the_event_store() {
    let dir = temp_dir("archive-events");
    let file = demo_with(&dir, "archive.toml", "return_window_days = 0");
    let data = dir.join("data");
    let address = free_port();
    let served = start(address, &file, &data);
    let orders: Vec<Value> = (0..3).map(|_| buy_demo(address, "MOUSE", 1)).collect();
    for (n, order) in orders.iter().enumerate().take(2) {
        deliver(address, order, &format!("EV{n}"));
    }
    wait_archived(address, 2);
    wait_let_go(address, 2);
    stop_cleanly(served);

    let events = data.join("events");
    let store = mercato_persistence::events::EventStore::open(&events, 1 << 20).expect("opens");
    for order in &orders[..2] {
        let (note, sequences) = kept_for(&store, order);
        assert!(!note && sequences.iter().all(|&s| s == 0), "archived, still kept: {note} {sequences:?}");
    }
    let (note, sequences) = kept_for(&store, &orders[2]);
    assert!(note && sequences[0] > 0, "the open order's note and sequence stay: {note} {sequences:?}");

    // A crash between the archive and the outbox's removal: the note is back in the store.
    let through = store.through().expect("reads");
    let id = orders[0]["id"].as_str().expect("an id");
    let key = format!("order\u{1f}demo\u{1f}{id}").into_bytes();
    let batch = mercato_persistence::events::EventBatch {
        notes: vec![(key, Some(b"{}".to_vec()))],
        through,
        ..Default::default()
    };
    store.write(batch).expect("written");
    store.sync().expect("synced");
    drop(store);
    let served = start(address, &file, &data);
    wait_let_go(address, 1);
    stop_cleanly(served);
    let store = mercato_persistence::events::EventStore::open(&events, 1 << 20).expect("opens");
    assert!(!kept_for(&store, &orders[0]).0, "the start's sweep lets go of an archived order's note");
    assert!(kept_for(&store, &orders[2]).0, "and keeps the open order's");
}
