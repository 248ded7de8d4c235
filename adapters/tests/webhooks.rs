//! Webhooks through the binary over real sockets, to receivers on loopback: a receiver
//! that fails, times out, answers 410 and comes back, while orders flow and the server is
//! killed with SIGKILL. Every event of the subscription's types is delivered at least
//! once, first deliveries in order per aggregate, every signature valid (two after a
//! rotation), the delivery log shows each attempt, and a redelivery is sent and logged.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{free_port, http, http_keyed, serve, temp_dir, Served};

const ADMIN: &str = "demo-admin";
const BASE: &str = "/v1/commerces/demo";

/// A request the receiver took.
#[derive(Debug, Clone)]
struct Received {
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
    answered: u16,
}

/// What the receiver answers the n-th request with (0-based): a status, or none to hang
/// past the sender's timeout.
type Script = dyn Fn(usize) -> Option<u16> + Send + Sync;

/// A receiver on loopback that records every request and answers by its script.
struct Receiver {
    address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(script: Arc<Script>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&received);
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { continue };
                let script = Arc::clone(&script);
                let kept = Arc::clone(&kept);
                std::thread::spawn(move || serve_one(stream, script(n), &kept));
            }
        });
        Self { address, received }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("not poisoned").clone()
    }
}

fn serve_one(stream: std::net::TcpStream, answer: Option<u16>, kept: &Mutex<Vec<Received>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut headers = reqwest::header::HeaderMap::new();
    let mut line = String::new();
    let _ = reader.read_line(&mut line);
    loop {
        line.clear();
        // A sender killed mid-request: nothing was received.
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.trim_end().split_once(": ") {
            if let (Ok(name), Ok(value)) =
                (name.parse::<reqwest::header::HeaderName>(), value.parse::<reqwest::header::HeaderValue>())
            {
                headers.insert(name, value);
            }
        }
    }
    let length: usize = headers.get("content-length").and_then(|v| v.to_str().ok()?.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    if length == 0 || reader.read_exact(&mut body).is_err() {
        return;
    }
    let Some(status) = answer else {
        std::thread::sleep(Duration::from_secs(2)); // past the sender's timeout
        return;
    };
    kept.lock().expect("not poisoned").push(Received { headers, body, answered: status });
    let mut stream = stream;
    let _ = write!(stream, "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

fn start(address: SocketAddr, data: &std::path::Path) -> Served {
    serve(address, |command| {
        command.args(["--listen", &address.to_string(), "--data", data.to_str().expect("utf-8")]);
        command.args(["--webhook-retry-base-ms", "50", "--webhook-timeout-ms", "300"]);
        command.env_remove("MERCATO_CONFIG");
    })
}

fn call(address: SocketAddr, method: &str, path: &str, body: Value) -> (u16, Value) {
    let (status, text) =
        http(address, method, &format!("{BASE}{path}"), Some(ADMIN), &body.to_string()).expect("answer");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn buy(address: SocketAddr, sku: &str) -> String {
    buy_order(address, sku)["id"].as_str().expect("an id").to_owned()
}

/// Ships an order's first shipment with one tracking number, and has the carrier report
/// it delivered.
fn ship_and_deliver(address: SocketAddr, order: &Value, tracking: &str) {
    let id = order["id"].as_str().expect("an id");
    let shipment = order["shipments"][0]["id"].as_str().expect("a shipment");
    let ship = format!("/orders/{id}/shipments/{shipment}/ship");
    assert_eq!(call(address, "POST", &ship, json!({"tracking": [tracking]})).0, 200);
    let report =
        json!({"id": format!("d-{tracking}"), "tracking": tracking, "code": "delivered", "at": "2026-12-02T10:00:00Z"});
    assert_eq!(call(address, "POST", "/carriers/iberpost/events", report).0, 200);
}

fn buy_order(address: SocketAddr, sku: &str) -> Value {
    support::buy_demo(address, sku, 1)
}

fn events_of(address: SocketAddr, types: &str) -> Vec<Value> {
    let (status, page) = call(address, "GET", &format!("/events?types={types}&limit=1000"), json!({}));
    assert_eq!(status, 200, "{page}");
    page["events"].as_array().expect("events").clone()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn verified(received: &Received, secret: &str) -> bool {
    standardwebhooks::Webhook::new(secret).expect("a secret").verify(&received.body, &received.headers).is_ok()
}

// Proves at-least-once delivery in order per aggregate with valid signatures through
// failures, timeouts and a SIGKILL of the server, and that the delivery log keeps every
// attempt.
#[test]
fn deliveries_survive_failures_timeouts_and_a_crash() {
    let dir = temp_dir("webhooks");
    let data = dir.join("data");
    let address = free_port();
    let served = start(address, &data);
    // Fails the 2nd and 3rd requests, hangs on one when told, answers 204 otherwise.
    let hang = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let hangs = Arc::clone(&hang);
    let receiver = Receiver::start(Arc::new(move |n| {
        let take = |left: usize| left.checked_sub(1);
        if hangs.fetch_update(std::sync::atomic::Ordering::SeqCst, std::sync::atomic::Ordering::SeqCst, take).is_ok() {
            return None;
        }
        match n {
            1 | 2 => Some(500),
            _ => Some(204),
        }
    }));
    let types = "order.placed,order.paid,invoice.issued,shipment.sent,shipment.delivered";
    let body = json!({"url": receiver.url(), "types": types.split(',').collect::<Vec<_>>()});
    let (status, text) =
        http_keyed(address, "POST", &format!("{BASE}/webhooks"), Some(ADMIN), Some("hook-1"), &body.to_string())
            .expect("answer");
    assert_eq!(status, 201, "{text}");
    let created: Value = serde_json::from_str(&text).expect("JSON");
    let (again, replayed) =
        http_keyed(address, "POST", &format!("{BASE}/webhooks"), Some(ADMIN), Some("hook-1"), &body.to_string())
            .expect("answer");
    assert_eq!((again, &replayed), (201, &text), "a retry under the key answers the same subscription");
    let id = created["webhook"]["id"].as_str().expect("an id").to_owned();
    let secret = created["secret"].as_str().expect("a secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let (_, listed) = call(address, "GET", &format!("/webhooks/{id}"), json!({}));
    assert!(listed.get("secret").is_none(), "the secret is shown on creation only: {listed}");

    let orders: Vec<Value> = (0..3).map(|_| buy_order(address, "MOUSE")).collect();
    ship_and_deliver(address, &orders[0], "T0");
    // The failed calls are in the delivery log (kept by the store, made durable within
    // its flush interval) before the crash, which comes while deliveries are retrying.
    wait_until("the failures are logged", || {
        let (_, log) = call(address, "GET", &format!("/webhooks/{id}/attempts?limit=500"), json!({}));
        log["attempts"].as_array().is_some_and(|a| a.iter().filter(|a| a["status"] == 500).count() >= 2)
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut served = served;
    served.0.kill().expect("SIGKILL");
    let _ = served.0.wait();
    let served = start(address, &data);
    hang.store(1, std::sync::atomic::Ordering::SeqCst);
    ship_and_deliver(address, &orders[1], "T1");
    for _ in 0..2 {
        buy(address, "KEYBOARD");
    }
    ship_and_deliver(address, &orders[2], "T2");
    wait_until("every event is derived", || events_of(address, types).len() >= 21);
    let wanted = events_of(address, types);
    assert_eq!(wanted.len(), 21, "five orders, three events each; three shipments sent and delivered");
    let delivered = |receiver: &Receiver| -> Vec<Value> {
        receiver
            .received()
            .iter()
            .filter(|r| (200..300).contains(&r.answered))
            .map(|r| serde_json::from_slice(&r.body).expect("an event"))
            .collect()
    };
    wait_until("every event is delivered", || {
        let got = delivered(&receiver);
        wanted.iter().all(|w| got.contains(w))
    });
    let received = receiver.received();
    assert!(received.iter().all(|r| verified(r, &secret)), "every signature is valid");
    assert!(received.iter().all(|r| {
        let event: Value = serde_json::from_slice(&r.body).expect("an event");
        r.headers["webhook-id"] == event["id"].as_str().expect("an id")
    }));
    // First deliveries come in each aggregate's order, and none is missing.
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    for event in delivered(&receiver) {
        let aggregate = event["aggregate"]["id"].as_str().expect("an id").to_owned();
        let sequence = event["sequence"].as_u64().expect("a sequence");
        let seen = last.get(&aggregate).copied().unwrap_or(0);
        assert!(sequence <= seen + 1, "{aggregate}: {sequence} delivered after {seen}");
        last.insert(aggregate, seen.max(sequence));
    }
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for event in &wanted {
        let aggregate = event["aggregate"]["id"].as_str().expect("an id").to_owned();
        let sequence = event["sequence"].as_u64().expect("a sequence");
        let top = expected.entry(aggregate).or_default();
        *top = (*top).max(sequence);
    }
    assert_eq!(last, expected, "every aggregate's last event came");

    let (status, log) = call(address, "GET", &format!("/webhooks/{id}/attempts?limit=500"), json!({}));
    assert_eq!(status, 200, "{log}");
    let outcomes: Vec<&str> =
        log["attempts"].as_array().expect("attempts").iter().filter_map(|a| a["outcome"].as_str()).collect();
    assert!(outcomes.contains(&"retrying") && outcomes.contains(&"delivered"), "{outcomes:?}");
    assert!(log["attempts"].as_array().expect("attempts").iter().any(|a| a["status"] == 500));
    assert!(
        log["attempts"]
            .as_array()
            .expect("attempts")
            .iter()
            .any(|a| a["error"].as_str().is_some_and(|e| e.contains("timed out"))),
        "{log}"
    );

    // A rotation signs with both secrets; each verifies.
    let (status, rotated) = call(address, "POST", &format!("/webhooks/{id}/secret"), json!({}));
    assert_eq!(status, 200, "{rotated}");
    let fresh = rotated["secret"].as_str().expect("a secret").to_owned();
    let before = receiver.received().len();
    buy(address, "MOUSE");
    wait_until("the next order is delivered", || receiver.received().len() >= before + 3);
    let latest = receiver.received().pop().expect("one");
    assert!(verified(&latest, &secret) && verified(&latest, &fresh), "both secrets sign during the overlap");
    assert_eq!(latest.headers["webhook-signature"].to_str().expect("text").split(' ').count(), 2);

    // A redelivery sends the event again, outside the order, and logs it.
    let first = wanted[0]["position"].as_str().expect("a position");
    let count = receiver.received().len();
    let (status, queued) = call(address, "POST", &format!("/webhooks/{id}/redeliveries"), json!({"event": first}));
    assert_eq!(status, 202, "{queued}");
    wait_until("the redelivery arrives", || receiver.received().len() > count);
    wait_until("the redelivery is logged", || {
        let (_, log) = call(address, "GET", &format!("/webhooks/{id}/attempts?limit=500"), json!({}));
        log["attempts"].as_array().expect("attempts").iter().any(|a| a["outcome"] == "redelivered")
    });
    drop(served);
}

// Proves a 410 disables the subscription (named in its reason) and nothing more is sent,
// re-enabling resumes from where it stopped, and refusals name the value.
#[test]
fn a_gone_receiver_disables_its_subscription() {
    let dir = temp_dir("webhooks-gone");
    let data = dir.join("data");
    let address = free_port();
    let served = start(address, &data);
    let gone = Arc::new(Mutex::new(true));
    let answer = Arc::clone(&gone);
    let receiver =
        Receiver::start(Arc::new(move |_| Some(if *answer.lock().expect("not poisoned") { 410 } else { 200 })));
    let (status, created) =
        call(address, "POST", "/webhooks", json!({"url": receiver.url(), "types": ["order.placed"]}));
    assert_eq!(status, 201, "{created}");
    let id = created["webhook"]["id"].as_str().expect("an id").to_owned();
    buy(address, "MOUSE");
    wait_until("the subscription is disabled", || {
        let (_, hook) = call(address, "GET", &format!("/webhooks/{id}"), json!({}));
        hook["enabled"] == false
    });
    let (_, hook) = call(address, "GET", &format!("/webhooks/{id}"), json!({}));
    assert!(hook["disabled_reason"].as_str().is_some_and(|r| r.contains("410")), "{hook}");
    buy(address, "MOUSE");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(receiver.received().len(), 1, "nothing more is sent to a disabled subscription");

    *gone.lock().expect("not poisoned") = false;
    let (status, hook) = call(address, "PATCH", &format!("/webhooks/{id}"), json!({"enabled": true}));
    assert_eq!((status, &hook["enabled"]), (200, &json!(true)), "{hook}");
    wait_until("both orders are delivered", || receiver.received().iter().filter(|r| r.answered == 200).count() >= 2);

    for (body, code) in [
        (json!({"url": "ftp://example.com/x"}), "invalid_url"),
        (json!({"url": "not a url"}), "invalid_url"),
        (json!({"url": receiver.url(), "types": ["order.nope"]}), "unknown_event_type"),
    ] {
        let (status, refused) = call(address, "POST", "/webhooks", body);
        assert_eq!((status, &refused["code"]), (422, &json!(code)), "{refused}");
    }
    let (status, refused) = call(address, "GET", "/webhooks/wh_nope", json!({}));
    assert_eq!((status, &refused["code"]), (404, &json!("unknown_webhook")), "{refused}");
    let (status, _) = call(address, "DELETE", &format!("/webhooks/{id}"), json!({}));
    assert_eq!(status, 204);
    let (status, listed) = call(address, "GET", "/webhooks", json!({}));
    assert_eq!((status, listed["webhooks"].as_array().map(Vec::len)), (200, Some(0)), "{listed}");
    drop(served);
}
