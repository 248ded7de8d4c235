//! Stock alerts out of the log, through the binary: a SKU's units on hand nobody holds in
//! a warehouse falling to the low mark (`stock.low`), reaching 0 (`stock.out`) and rising
//! from 0 (`stock.back_in_stock`), each once per crossing, dated by the change, in the
//! SKU's stock aggregate with its sequence; the same after SIGKILL and a restart. The
//! node runs the demo's settings without their opening stock, so the test sets every unit.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{free_port, http, serve, temp_dir, Served};

const ADMIN: &str = "demo-admin";
const BASE: &str = "/v1/commerces/demo";
const ALERTS: &str = "stock.low,stock.out,stock.back_in_stock";

/// The demo's settings without its opening stock, written into `dir`.
fn settings(dir: &Path) -> PathBuf {
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo.toml")).expect("demo");
    let settings = demo.split("# --- Opening stock").next().expect("the settings").to_owned();
    assert_ne!(settings, demo, "the demo has an opening stock section");
    let path = dir.join("no-stock.toml");
    std::fs::write(&path, settings).expect("written");
    path
}

fn start(address: SocketAddr, config: &Path, data: &Path) -> Served {
    serve(address, |command| {
        command.args(["--config", config.to_str().expect("utf-8"), "--listen", &address.to_string()]);
        command.args(["--data", data.to_str().expect("utf-8")]);
    })
}

fn call(address: SocketAddr, method: &str, path: &str, key: &str, body: Value) -> (u16, Value) {
    let (status, text) = http(address, method, &format!("{BASE}{path}"), Some(key), &body.to_string()).expect("answer");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn receive(address: SocketAddr, warehouse: &str, sku: &str, quantity: u32) {
    let body = json!({"sku": sku, "quantity": quantity});
    let (status, answer) = call(address, "POST", &format!("/warehouses/{warehouse}/receipts"), ADMIN, body);
    assert!((200..300).contains(&status), "{answer}");
}

fn buy(address: SocketAddr, sku: &str, qty: u32) -> Value {
    support::buy_demo(address, sku, qty)
}

/// The alerts so far, waiting until there are at least `least` (the outbox writes a
/// moment after the change is durable).
fn alerts(address: SocketAddr, least: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, page) = call(address, "GET", &format!("/events?types={ALERTS}&limit=100"), ADMIN, json!({}));
        assert_eq!(status, 200, "{page}");
        let events = page["events"].as_array().expect("events").clone();
        if events.len() >= least || Instant::now() > deadline {
            return events;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Each alert as (type, aggregate, units before, units after).
fn summary(events: &[Value]) -> Vec<(String, String, u64, u64)> {
    events
        .iter()
        .map(|e| {
            let kind = e["type"].as_str().expect("a type").to_owned();
            let aggregate = e["aggregate"]["id"].as_str().expect("an id").to_owned();
            (
                kind,
                aggregate,
                e["data"]["before"].as_u64().expect("before"),
                e["data"]["available"].as_u64().expect("after"),
            )
        })
        .collect()
}

fn alert(kind: &str, aggregate: &str, before: u64, after: u64) -> (String, String, u64, u64) {
    (kind.to_owned(), aggregate.to_owned(), before, after)
}

// Proves each crossing of a SKU's level is told once, in order, dated by its change, and
// that nothing but a crossing is: receiving into an empty warehouse, selling down to the
// low mark, below it, out, and receiving again; a second warehouse's SKU is its own.
#[test]
fn crossings_of_a_skus_level_are_told_once_each() {
    let dir = temp_dir("stock-alerts");
    let config = settings(&dir);
    let data = dir.join("data");
    let address = free_port();
    let served = start(address, &config, &data);
    let started = chrono_now_ms();

    receive(address, "wh-madrid", "KEYBOARD", 7); // 0 -> 7: back in stock
    buy(address, "KEYBOARD", 1); // 7 -> 6: nothing
    buy(address, "KEYBOARD", 1); // 6 -> 5: low
    buy(address, "KEYBOARD", 2); // 5 -> 3: nothing (low already)
    buy(address, "KEYBOARD", 3); // 3 -> 0: out
    receive(address, "wh-madrid", "KEYBOARD", 20); // 0 -> 20: back in stock
    receive(address, "wh-madrid", "MOUSE", 3); // another SKU: 0 -> 3, back in stock only
    let expected = vec![
        alert("stock.back_in_stock", "wh-madrid/KEYBOARD", 0, 7),
        alert("stock.low", "wh-madrid/KEYBOARD", 6, 5),
        alert("stock.out", "wh-madrid/KEYBOARD", 3, 0),
        alert("stock.back_in_stock", "wh-madrid/KEYBOARD", 0, 20),
        alert("stock.back_in_stock", "wh-madrid/MOUSE", 0, 3),
    ];
    let events = alerts(address, expected.len());
    assert_eq!(summary(&events), expected, "{events:#?}");
    for event in &events {
        assert_eq!(event["data"]["low_at"], 5, "{event}");
        let time = chrono::DateTime::parse_from_rfc3339(event["time"].as_str().expect("a time")).expect("RFC 3339");
        assert!(time.timestamp_millis() >= started - 1_000, "dated by its change: {event}");
    }
    // In the stock aggregate's sequence with the receipts: a receiver sees no gap.
    let (_, all) = call(address, "GET", "/events?limit=500", ADMIN, json!({}));
    let keyboard: Vec<u64> = all["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["aggregate"]["id"] == "wh-madrid/KEYBOARD")
        .map(|e| e["sequence"].as_u64().expect("a sequence"))
        .collect();
    assert_eq!(keyboard, (1..=keyboard.len() as u64).collect::<Vec<_>>(), "{all}");

    // After SIGKILL and a restart the same alerts stand, and new crossings go on.
    let mut served = served;
    served.0.kill().expect("SIGKILL");
    let _ = served.0.wait();
    let _served = start(address, &config, &data);
    assert_eq!(summary(&alerts(address, expected.len())), expected);
    buy(address, "MOUSE", 3); // 3 -> 0: out
    let events = alerts(address, expected.len() + 1);
    assert_eq!(summary(&events[expected.len()..]), vec![alert("stock.out", "wh-madrid/MOUSE", 3, 0)]);
}

/// The wall clock now, in milliseconds since the epoch.
fn chrono_now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
    i64::try_from(since.as_millis()).expect("in range")
}
