//! Events out of the log, through the binary over a real socket: the events an order's
//! life makes, their positions and per-aggregate sequences, a merchant's share, pages that
//! cover every event once, the same events after SIGKILL and a restart (sequences going
//! on without a gap), and a server-sent-event client that disconnects and resumes with
//! `Last-Event-ID` seeing every event once.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{free_port, http, serve, temp_dir, Served};

const ADMIN: &str = "demo-admin";
const MERCHANT: &str = "demo-merchant-artisan";
const BASE: &str = "/v1/commerces/demo";

fn start(address: SocketAddr, data: &std::path::Path) -> Served {
    serve(address, |command| {
        command.args(["--listen", &address.to_string(), "--data", data.to_str().expect("utf-8")]);
        command.env_remove("MERCATO_CONFIG");
    })
}

fn call(address: SocketAddr, method: &str, path: &str, key: &str, body: Value) -> (u16, Value) {
    let (status, text) = http(address, method, &format!("{BASE}{path}"), Some(key), &body.to_string()).expect("answer");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn buy(address: SocketAddr, sku: &str, qty: u32) -> String {
    support::buy_demo(address, sku, qty)["id"].as_str().expect("an id").to_owned()
}

/// Every event the key may see, page by page (`limit` a page), waiting until at least
/// `least` are there (the outbox writes a moment after the change is durable).
fn all_events(address: SocketAddr, key: &str, limit: usize, least: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut events = Vec::new();
        let mut after = "0".to_owned();
        loop {
            let (status, page) = call(address, "GET", &format!("/events?after={after}&limit={limit}"), key, json!({}));
            assert_eq!(status, 200, "{page}");
            let got = page["events"].as_array().expect("events").clone();
            let next = page["next_after"].as_str().expect("a cursor").to_owned();
            if got.is_empty() {
                break;
            }
            events.extend(got);
            after = next;
        }
        if events.len() >= least || Instant::now() > deadline {
            return events;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every event, once the outbox has caught up: read until two reads in a row agree (the
/// events of the last changes may still be on their way).
fn settled_events(address: SocketAddr, key: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = all_events(address, key, 1000, 1);
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = all_events(address, key, 1000, last.len());
        if now == last || Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

fn kinds_of(events: &[Value], aggregate: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["aggregate"]["id"] == aggregate)
        .map(|e| e["type"].as_str().expect("a type").to_owned())
        .collect()
}

/// Positions strictly increase, and each aggregate's sequence is 1, 2, 3, ... with no gap.
fn assert_ordered_without_gaps(events: &[Value]) {
    let position = |e: &Value| {
        let text = e["position"].as_str().expect("a position");
        let (lsn, index) = text.split_once('.').expect("lsn.index");
        (lsn.parse::<u64>().expect("lsn"), index.parse::<u16>().expect("index"))
    };
    assert!(events.windows(2).all(|w| position(&w[0]) < position(&w[1])), "positions increase");
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    for event in events {
        let aggregate = format!("{}/{}", event["aggregate"]["type"], event["aggregate"]["id"]);
        let sequence = event["sequence"].as_u64().expect("a sequence");
        let previous = last.insert(aggregate.clone(), sequence).unwrap_or(0);
        assert_eq!(sequence, previous + 1, "{aggregate} jumps from {previous} to {sequence}");
        assert_eq!(event["id"], format!("demo:{}", event["position"].as_str().expect("a position")));
    }
}

// Proves an order's life is told as events: placed, paid and invoiced in its record's
// order, its shipment sent, a carrier's report that moves nothing kept as an update and
// delivery as `shipment.delivered`; each aggregate's sequence has no gap, pages of three
// cover every event once, a merchant sees only what concerns it, a storefront nothing;
// after SIGKILL the same events come back byte for byte and new ones go on numbering.
#[test]
fn an_order_life_is_told_as_events_that_survive_a_crash() {
    let dir = temp_dir("events");
    let data = dir.join("data");
    let address = free_port();
    let served = start(address, &data);
    let order = buy(address, "MOUSE", 2);
    let mug = buy(address, "CERAMIC-MUG", 1);
    let (_, placed) = call(address, "GET", &format!("/orders/{order}"), ADMIN, json!({}));
    let shipment = placed["shipments"][0]["id"].as_str().expect("a shipment").to_owned();
    let (status, sent) = call(
        address,
        "POST",
        &format!("/orders/{order}/shipments/{shipment}/ship"),
        ADMIN,
        json!({"tracking": ["T1"]}),
    );
    assert_eq!(status, 200, "{sent}");
    for (id, code, at) in [("e1", "in_transit", "2026-12-01T10:00:00Z"), ("e2", "delivered", "2026-12-02T10:00:00Z")] {
        let report = json!({"id": id, "tracking": "T1", "code": code, "at": at});
        assert_eq!(call(address, "POST", "/carriers/iberpost/events", ADMIN, report).0, 200);
    }

    let everything = settled_events(address, ADMIN);
    let events = all_events(address, ADMIN, 3, everything.len());
    assert_eq!(events, everything, "pages of three cover every event once");
    assert_ordered_without_gaps(&events);
    assert_eq!(kinds_of(&events, &order), ["order.placed", "order.paid", "invoice.issued"]);
    let order_events: Vec<&Value> = events.iter().filter(|e| e["aggregate"]["id"] == order.as_str()).collect();
    assert_eq!(order_events[0]["data"]["id"], order.as_str(), "order.placed carries the order");
    assert_eq!(order_events[0]["data"]["lines"][0]["sku"], "MOUSE");
    let in_shipment = format!("{order}/{shipment}");
    assert_eq!(
        kinds_of(&events, &in_shipment),
        ["shipment.sent", "shipment.carrier_update", "shipment.delivered"],
        "in transit moves nothing a sent shipment has not; delivered does"
    );
    assert!(events.iter().any(|e| e["type"] == "stock.received"), "the opening stock was received");

    let theirs = all_events(address, MERCHANT, 1000, 1);
    assert!(!theirs.is_empty());
    assert!(theirs.iter().all(|e| e["aggregate"]["id"] != order.as_str()), "the mouse order is not the merchant's");
    assert_eq!(kinds_of(&theirs, &mug), ["order.placed", "order.paid", "invoice.issued"]);
    let (status, refused) = call(address, "GET", "/events", "demo-storefront", json!({}));
    assert_eq!((status, &refused["code"]), (403, &json!("forbidden")), "{refused}");
    let (status, refused) = call(address, "GET", "/events?after=x1", ADMIN, json!({}));
    assert_eq!((status, &refused["code"]), (422, &json!("invalid_cursor")), "{refused}");
    let (_, only) = call(address, "GET", "/events?types=shipment.delivered", ADMIN, json!({}));
    assert_eq!(only["events"].as_array().map(Vec::len), Some(1), "{only}");

    let mut served = served;
    served.0.kill().expect("SIGKILL");
    let _ = served.0.wait();
    let served = start(address, &data);
    assert_eq!(all_events(address, ADMIN, 1000, events.len()), events, "the same events after a crash");
    let again = buy(address, "MOUSE", 1);
    let after = all_events(address, ADMIN, 1000, events.len() + 3);
    assert_ordered_without_gaps(&after);
    assert_eq!(&after[..events.len()], &events[..]);
    assert_eq!(kinds_of(&after, &again), ["order.placed", "order.paid", "invoice.issued"]);

    // An event store that lost everything (as one behind the log after a crash) derives
    // the same events again from the log: the same positions, sequences and data (a
    // warehouse's record carries no time, so its events are dated when derived).
    let mut served = served;
    served.0.kill().expect("SIGKILL");
    let _ = served.0.wait();
    std::fs::remove_dir_all(data.join("events")).expect("the event store removed");
    let served = start(address, &data);
    let undated = |events: Vec<Value>| -> Vec<Value> {
        events
            .into_iter()
            .map(|mut e| {
                if e["aggregate"]["type"] == "stock" {
                    e["time"] = Value::Null;
                }
                e
            })
            .collect()
    };
    assert_eq!(undated(all_events(address, ADMIN, 1000, after.len())), undated(after), "derived again, the same");
    drop(served);
}

/// Reads a server-sent-event stream until `count` events came (or a few seconds pass):
/// each event's id and data.
fn read_stream(address: SocketAddr, last_event_id: Option<&str>, count: usize) -> Vec<(String, Value)> {
    let mut stream = TcpStream::connect(address).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let resume = last_event_id.map(|id| format!("Last-Event-ID: {id}\r\n")).unwrap_or_default();
    let request = format!(
        "GET {BASE}/events/stream?after=0 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {ADMIN}\r\n{resume}\r\n"
    );
    stream.write_all(request.as_bytes()).expect("sent");
    let mut reader = BufReader::new(stream);
    let mut seen = Vec::new();
    let mut id = String::new();
    let mut line = String::new();
    while seen.len() < count {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let line = line.trim_end();
        if let Some(value) = line.strip_prefix("id: ") {
            id = value.to_owned();
        } else if let Some(data) = line.strip_prefix("data: ") {
            seen.push((id.clone(), serde_json::from_str(data).expect("an event")));
        }
    }
    seen
}

// Proves a stream client that disconnects halfway and resumes with `Last-Event-ID` sees
// every event once, in order, including those made while it was away and across a
// restart of the server.
#[test]
fn a_stream_resumes_after_the_last_event_id() {
    let dir = temp_dir("events-stream");
    let data = dir.join("data");
    let address = free_port();
    let served = start(address, &data);
    buy(address, "MOUSE", 1);
    buy(address, "MOUSE", 1);
    let listed = all_events(address, ADMIN, 1000, 1);
    let first = read_stream(address, None, listed.len() / 2);
    assert_eq!(first.len(), listed.len() / 2);
    let (last, _) = first.last().expect("some").clone();
    buy(address, "KEYBOARD", 1);
    drop(served);
    let served = start(address, &data);
    buy(address, "MOUSE", 1);
    let listed = all_events(address, ADMIN, 1000, listed.len() + 6);
    let rest = read_stream(address, Some(&last), listed.len() - first.len());
    let seen: Vec<Value> = first.iter().chain(rest.iter()).map(|(_, e)| e.clone()).collect();
    assert_eq!(seen, listed, "every event once, in order");
    assert!(first.iter().chain(rest.iter()).all(|(id, e)| e["position"] == id.as_str()), "ids are positions");
    drop(served);
}

// Proves a node whose log was pruned by snapshots still starts when its event store is
// lost (or new, as after an upgrade): it derives the events of the records the log still
// holds, and numbering goes on.
#[test]
fn a_lost_event_store_is_rebuilt_from_what_the_log_still_holds() {
    let dir = temp_dir("events-pruned");
    let data = dir.join("data");
    let address = free_port();
    let start_small = |address| {
        serve(address, |command| {
            command.args(["--listen", &address.to_string(), "--data", data.to_str().expect("utf-8")]);
            command.args(["--log-segment-mb", "1", "--snapshot-interval-ms", "200"]);
            command.env_remove("MERCATO_CONFIG");
        })
    };
    let served = start_small(address);
    let receipt = json!({"sku": "USB-CABLE", "quantity": 100_000});
    assert_eq!(call(address, "POST", "/warehouses/wh-madrid/receipts", ADMIN, receipt).0, 201);
    let first_segment = || {
        let mut names: Vec<String> = std::fs::read_dir(data.join("wal"))
            .expect("the log")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".wal"))
            .collect();
        names.sort();
        names.first().and_then(|n| n.trim_end_matches(".wal").parse::<u64>().ok()).unwrap_or(1)
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while first_segment() == 1 {
        assert!(Instant::now() < deadline, "the log was never pruned");
        for _ in 0..20 {
            buy(address, "USB-CABLE", 1);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let oldest = first_segment();
    let mut served = served;
    served.0.kill().expect("SIGKILL");
    let _ = served.0.wait();
    std::fs::remove_dir_all(data.join("events")).expect("the event store removed");
    let served = start_small(address);
    let events = all_events(address, ADMIN, 1000, 1);
    assert!(!events.is_empty(), "the records the log holds are told again");
    let first: u64 =
        events[0]["position"].as_str().and_then(|p| p.split('.').next()?.parse().ok()).expect("a position");
    assert!(first >= oldest, "nothing older than the log's oldest record ({first} < {oldest})");
    let order = buy(address, "MOUSE", 1);
    let after = all_events(address, ADMIN, 1000, events.len() + 3);
    assert_eq!(kinds_of(&after, &order), ["order.placed", "order.paid", "invoice.issued"]);
    drop(served);
}

// Proves the event store keeps an event only as long as `--event-keep-s` says: an order's
// events leave the pages once older than that, while a later order's stay, in order. Fails
// if old events are never removed, or if removing them takes newer ones along.
#[test]
fn events_older_than_the_store_keeps_them_leave_it() {
    const KEEP_S: u64 = 6;
    let dir = temp_dir("events-kept");
    let data = dir.join("data");
    let address = free_port();
    let _served = serve(address, |command| {
        command.args(["--listen", &address.to_string(), "--data", data.to_str().expect("utf-8")]);
        command.args(["--event-keep-s", &KEEP_S.to_string(), "--webhook-retry-for-s", &KEEP_S.to_string()]);
        command.env_remove("MERCATO_CONFIG");
    });
    let placed = |events: &[Value], order: &str| kinds_of(events, order).contains(&"order.placed".to_owned());
    let until = |seconds: u64, done: &dyn Fn(&[Value]) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let events = all_events(address, ADMIN, 1000, 1);
            if done(&events) || Instant::now() > deadline {
                return events;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let old = buy(address, "MOUSE", 1);
    let before = until(5, &|events| placed(events, &old));
    assert!(placed(&before, &old), "the old order's events were written: {before:?}");
    std::thread::sleep(Duration::from_millis(KEEP_S * 1000 + 1_500));
    let new = buy(address, "CERAMIC-MUG", 1);
    // The new order's events are young for KEEP_S seconds: looked for well within that.
    let after = until(3, &|events| kinds_of(events, &old).is_empty() && placed(events, &new));
    assert!(kinds_of(&after, &old).is_empty(), "the old order's events are gone: {after:?}");
    assert_eq!(kinds_of(&after, &new), ["order.placed", "order.paid", "invoice.issued"]);
    let kept: Vec<Value> = after.iter().filter(|e| e["aggregate"]["id"] == new.as_str()).cloned().collect();
    assert_ordered_without_gaps(&kept);
}

// Proves the node refuses to keep events for less time than webhooks retry them (an event
// would leave while a receiver still waits for it), naming both flags.
#[test]
fn a_retention_shorter_than_the_retries_is_refused() {
    let dir = temp_dir("events-short");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mercato"))
        .args(["--listen", "127.0.0.1:0", "--data", dir.join("data").to_str().expect("utf-8")])
        .args(["--event-keep-s", "60", "--webhook-retry-for-s", "120"])
        .env_remove("MERCATO_CONFIG")
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("--event-keep-s 60") && said.contains("--webhook-retry-for-s 120"), "{said}");
}
