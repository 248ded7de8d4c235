//! Audit replay through the binary: reads taken live at several moments (orders, stock,
//! events, reports and to-do queues, a merchant's ledger) are answered the same by `mercato replay --until`
//! at each moment's position, across snapshots, a clean restart and a SIGKILL; a time
//! gives the same answers as the position it falls after; the replay refuses writes and
//! leaves the folder as it found it; a moment the pruned log no longer holds is refused
//! naming the record.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{free_port, http, serve, stop_cleanly, temp_dir, Served};

const ADMIN: &str = "demo-admin";
const BASE: &str = "/v1/commerces/demo";
const BIN: &str = env!("CARGO_BIN_EXE_mercato");

fn start(address: SocketAddr, data: &Path, extra: &[&str]) -> Served {
    serve(address, |command| {
        command.args(["--listen", &address.to_string(), "--data", data.to_str().expect("utf-8")]);
        command.args(["--snapshot-interval-ms", "200"]).args(extra);
        command.env_remove("MERCATO_CONFIG");
    })
}

fn replay(address: SocketAddr, data: &Path, until: &str) -> Served {
    serve(address, |command| {
        command.args(["replay", "--until", until, "--listen", &address.to_string()]);
        command.args(["--data", data.to_str().expect("utf-8")]);
        command.env_remove("MERCATO_CONFIG");
    })
}

fn call(address: SocketAddr, method: &str, path: &str, key: &str, body: Value) -> (u16, Value) {
    let (status, text) = http(address, method, &format!("{BASE}{path}"), Some(key), &body.to_string()).expect("answer");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn buy(address: SocketAddr, sku: &str, qty: u32) -> Value {
    support::buy_demo(address, sku, qty)
}

/// Every event, page by page.
fn events(address: SocketAddr) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = "0".to_owned();
    loop {
        let (status, page) = call(address, "GET", &format!("/events?after={after}&limit=500"), ADMIN, json!({}));
        assert_eq!(status, 200, "{page}");
        let got = page["events"].as_array().expect("events").clone();
        if got.is_empty() {
            return all;
        }
        after = page["next_after"].as_str().expect("a cursor").to_owned();
        all.extend(got);
    }
}

/// Every event once the outbox has caught up (the same list twice, 150 ms apart).
fn settled_events(address: SocketAddr) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = events(address);
    loop {
        std::thread::sleep(Duration::from_millis(150));
        let now = events(address);
        if now == last || Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

/// The reads an auditor compares: orders, stock, reports, queues and events (each with its
/// time: a stock event's is its warehouse change's, as the record states it).
fn reads(address: SocketAddr, orders: &[String]) -> BTreeMap<String, Value> {
    let mut reads = BTreeMap::new();
    let events = settled_events(address);
    reads.insert("events".to_owned(), Value::Array(events));
    let mut paths: Vec<String> = orders.iter().map(|id| format!("/orders/{id}")).collect();
    for sku in ["MOUSE", "CERAMIC-MUG"] {
        paths.push(format!("/warehouses/wh-madrid/stock/{sku}"));
    }
    for report in ["sales", "refunds", "todo/orders_to_ship", "todo/returns_to_receive", "todo/open_shipments"] {
        paths.push(format!("/reports/{report}"));
    }
    paths.push("/reports/sales?format=csv".to_owned());
    // Back-office data in force then (a price rule put at the second moment, removed at
    // the third) and the price it makes.
    paths.push("/price-rules".to_owned());
    // A merchant's balance: its ledger and its entries.
    paths.push("/merchants/artisan-co/ledger".to_owned());
    paths.push("/merchants/artisan-co/ledger/entries?currency=EUR".to_owned());
    paths.push("/products/MOUSE/price?currency=EUR&qty=1&country=ES".to_owned());
    paths.push("/products/MOUSE".to_owned());
    paths.push("/products/MOUSE/history".to_owned());
    for path in paths {
        let (status, body) = call(address, "GET", &path, ADMIN, json!({}));
        reads.insert(path, json!({"status": status, "body": body}));
    }
    reads
}

/// The position of the last event read.
fn position(reads: &BTreeMap<String, Value>) -> String {
    let events = reads["events"].as_array().expect("events");
    events.last().expect("an event")["position"].as_str().expect("a position").to_owned()
}

/// Every file under `dir` with its size and contents' checksum.
fn listing(dir: &Path) -> BTreeMap<String, (u64, u32)> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).expect("a folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("a file");
                let sum = bytes.iter().fold(0_u32, |h, &b| h.rotate_left(5) ^ u32::from(b));
                files.insert(path.display().to_string(), (bytes.len() as u64, sum));
            }
        }
    }
    files
}

fn now_rfc3339() -> String {
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_millis();
    let time = chrono::DateTime::from_timestamp_millis(i64::try_from(millis).expect("small")).expect("a time");
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn assert_same(live: &BTreeMap<String, Value>, replayed: &BTreeMap<String, Value>, moment: &str) {
    assert_eq!(live.keys().collect::<Vec<_>>(), replayed.keys().collect::<Vec<_>>());
    for (path, value) in live {
        assert_eq!(value, &replayed[path], "{moment}: {path} differs");
    }
}

// Proves a replay answers what the node answered at each moment.
#[test]
fn a_replay_answers_what_the_node_answered_then() {
    let dir = temp_dir("replay");
    let data = dir.join("data");
    let address = free_port();
    let served = start(address, &data, &["--keep-log"]);

    // Moment 1: two orders placed.
    let mouse = buy(address, "MOUSE", 3);
    let mug = buy(address, "CERAMIC-MUG", 1);
    let id = |order: &Value| order["id"].as_str().expect("an id").to_owned();
    let mut orders = vec![id(&mouse), id(&mug)];
    let first = reads(address, &orders);

    // Moment 2: the mouse shipped and delivered, the mug cancelled; a time after it.
    let shipment = mouse["shipments"][0]["id"].as_str().expect("a shipment");
    let ship = format!("/orders/{}/shipments/{shipment}/ship", orders[0]);
    assert_eq!(call(address, "POST", &ship, ADMIN, json!({"tracking": ["R1"]})).0, 200);
    let delivered = json!({"id": "d1", "tracking": "R1", "code": "delivered", "at": now_rfc3339()});
    assert_eq!(call(address, "POST", "/carriers/iberpost/events", ADMIN, delivered).0, 200);
    let rule = json!({"sku": "MOUSE", "prices": {"EUR": "1.00"}});
    assert_eq!(call(address, "PUT", "/price-rules/replayed", ADMIN, rule).0, 201);
    assert_eq!(call(address, "POST", &format!("/orders/{}/cancellations", orders[1]), ADMIN, json!({})).0, 200);
    let second = reads(address, &orders);
    std::thread::sleep(Duration::from_millis(20));
    let after_second = now_rfc3339();
    std::thread::sleep(Duration::from_millis(20));

    // Moment 3, after a clean restart (a snapshot at the stop): a return received, stock
    // received, another order.
    stop_cleanly(served);
    let served = start(address, &data, &["--keep-log"]);
    assert_eq!(call(address, "DELETE", "/price-rules/replayed", ADMIN, json!({})).0, 204);
    let line = mouse["lines"][0]["id"].as_str().expect("a line");
    let ask = json!({"lines": [{"line": line, "quantity": 2, "reason": "too loud"}]});
    let (status, asked) = call(address, "POST", &format!("/orders/{}/returns", orders[0]), "demo-storefront", ask);
    assert_eq!(status, 201, "{asked}");
    let request = asked["returns"][0]["id"].as_str().expect("a return").to_owned();
    let returns = format!("/orders/{}/returns/{request}", orders[0]);
    let accept = json!({"lines": [{"line": line, "accept": true}]});
    assert_eq!(call(address, "POST", &format!("{returns}/decisions"), ADMIN, accept).0, 200);
    let receive =
        json!({"lines": [{"line": line, "quantity": 2, "condition": "resellable"}], "warehouse": "wh-madrid"});
    assert_eq!(call(address, "POST", &format!("{returns}/receipts"), ADMIN, receive).0, 200);
    let receipt = json!({"sku": "CERAMIC-MUG", "quantity": 7});
    assert_eq!(call(address, "POST", "/warehouses/wh-madrid/receipts", ADMIN, receipt).0, 201);
    // A time right after the stock receipt (a warehouse change, which states its time).
    let received = reads(address, &orders);
    std::thread::sleep(Duration::from_millis(20));
    let after_receipt = now_rfc3339();
    std::thread::sleep(Duration::from_millis(20));
    orders.push(id(&buy(address, "MOUSE", 1)));
    // A merchant's sale earned: a mug bought, shipped and delivered.
    let mug = buy(address, "CERAMIC-MUG", 2);
    let (shipment, carrier) = (&mug["shipments"][0]["id"], &mug["shipments"][0]["carrier"]);
    let ship = format!("/orders/{}/shipments/{}/ship", id(&mug), shipment.as_str().expect("a shipment"));
    let (status, shipped) = call(address, "POST", &ship, ADMIN, json!({"tracking": ["R9"]}));
    assert_eq!(status, 200, "{shipped}");
    let delivered = json!({"id": "d9", "tracking": "R9", "code": "delivered", "at": now_rfc3339()});
    let path = format!("/carriers/{}/events", carrier.as_str().expect("a carrier"));
    assert_eq!(call(address, "POST", &path, ADMIN, delivered).0, 200);
    orders.push(id(&mug));
    // A snapshot or two after the last change, then SIGKILL.
    std::thread::sleep(Duration::from_millis(500));
    let third = reads(address, &orders);
    let ledger = &third["/merchants/artisan-co/ledger"]["body"]["accounts"][0];
    assert_eq!(ledger["entries"], json!(2), "the mug's sale and its commission: {ledger}");
    drop(served);

    let before = listing(&data);
    for (moment, live) in [("first", &first), ("second", &second), ("third", &third)] {
        let replayed_at = free_port();
        let replayed = replay(replayed_at, &data, &position(live));
        // The orders read then: the third is placed after the second moment.
        let then = if moment == "third" { &orders[..] } else { &orders[..2] };
        assert_same(live, &reads(replayed_at, then), moment);
        if moment == "third" {
            let (status, refused) = call(replayed_at, "POST", "/warehouses/wh-madrid/receipts", ADMIN, json!({}));
            assert_eq!((status, refused["code"].as_str()), (405, Some("read_only")), "{refused}");
        }
        drop(replayed);
    }
    let replayed_at = free_port();
    let replayed = replay(replayed_at, &data, &after_second);
    assert_same(&second, &reads(replayed_at, &orders[..2]), "a time after the second moment");
    drop(replayed);
    let replayed_at = free_port();
    let replayed = replay(replayed_at, &data, &after_receipt);
    assert_same(&received, &reads(replayed_at, &orders[..2]), "a time after the stock receipt");
    drop(replayed);
    assert_eq!(before, listing(&data), "a replay changes nothing in the folder");
}

// Proves a moment the log no longer holds is refused, naming the record and the way out.
#[test]
fn a_moment_before_the_kept_log_is_refused() {
    let dir = temp_dir("replay-pruned");
    let data = dir.join("data");
    let address = free_port();
    let served = start(address, &data, &["--log-segment-mb", "1"]);
    let receipt = json!({"sku": "MOUSE", "quantity": 5000});
    assert_eq!(call(address, "POST", "/warehouses/wh-madrid/receipts", ADMIN, receipt).0, 201);
    let deadline = Instant::now() + Duration::from_secs(120);
    let wal = data.join("wal");
    // Enough orders for several segments, until a snapshot has deleted the oldest.
    while std::fs::read_dir(&wal)
        .expect("the log")
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("00000000000000000001"))
    {
        assert!(Instant::now() < deadline, "no segment was ever deleted");
        for _ in 0..50 {
            buy(address, "MOUSE", 1);
        }
    }
    drop(served);
    let output = Command::new(BIN)
        .args(["replay", "--until", "3", "--listen", &free_port().to_string()])
        .args(["--data", data.to_str().expect("utf-8")])
        .env_remove("MERCATO_CONFIG")
        .stdout(Stdio::null())
        .output()
        .expect("replay runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("is no longer in the log") && stderr.contains("--keep-log"), "{stderr}");
    let output = Command::new(BIN)
        .args(["replay", "--until", "tomorrow", "--data", data.to_str().expect("utf-8")])
        .env_remove("MERCATO_CONFIG")
        .output()
        .expect("replay runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("--until \"tomorrow\""), "{stderr}");
}
