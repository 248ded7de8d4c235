//! The marketplace's money through SIGKILL: the real binary, on the demo with prices shown
//! before tax and no payout hold, is driven through merchant sales (orders of the
//! merchant's mug), shipments, deliveries, returns received and payouts, each request with
//! its own `Idempotency-Key` (a carrier's report by its own id), snapshots every 100 ms,
//! and is killed at a random moment, again and again. After each restart the request left
//! without an answer is retried with its key, and then the merchant's ledger must be
//! exactly what the orders and the acknowledged payouts say, and another merchant's
//! lifecycle (approved, then blocked and unblocked by turns) what its acknowledged steps
//! say: its sales and commissions are
//! those of the units delivered and not returned (each order line's frozen commission), its
//! payouts those acknowledged (a payout retried after a kill is made once), and its balance
//! their difference. Nothing lost, nothing applied twice.
//!
//! `MERCATO_CRASH_CYCLES` sets the number of kills (8 by default here).

mod support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{json, Value};
use support::{free_port, http, http_keyed, temp_dir, wait_ready, Served, BIN};

const BASE: &str = "/v1/commerces/demo";

/// One request of the driver: whose key, where, what, and its idempotency key.
#[derive(Debug, Clone)]
struct Request {
    key: &'static str,
    path: String,
    body: Value,
    idempotency: String,
    step: Step,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Buy,
    Ship(usize),
    Deliver(usize),
    Return(usize),
    Accept(usize),
    Receive(usize),
    Payout,
    /// A lifecycle step of merchant `newcomer`, to the status named.
    Merchant(&'static str),
}

/// What the model knows of one order of a mug.
#[derive(Debug, Clone, Default)]
struct Sold {
    id: String,
    line: String,
    shipment: String,
    carrier: String,
    amount: Decimal,
    commission: Decimal,
    shipped: bool,
    delivered: bool,
    returned: Option<String>,
    accepted: bool,
    received: bool,
}

#[derive(Default)]
struct Model {
    orders: Vec<Sold>,
    paid_out: Decimal,
    turn: u64,
    /// The next request is a payout (one in flight at a kill).
    payout_next: bool,
    /// Requests retried after a kill, and payouts among them.
    retried: (usize, usize),
    /// Merchant `newcomer`'s status as acknowledged (`onboarding` in the demo).
    newcomer: &'static str,
    /// Its lifecycle steps acknowledged.
    steps: usize,
}

fn dec(value: &Value) -> Decimal {
    value.as_str().and_then(|s| s.parse().ok()).unwrap_or_default()
}

impl Model {
    /// The next request, by turn: buy, take the oldest order a step further, or pay out.
    fn next(&mut self, cycle: usize) -> Request {
        self.turn += 1;
        let idempotency = format!("c{cycle}-t{}", self.turn);
        let admin = |path: String, body: Value, step| Request {
            key: "demo-admin",
            path,
            body,
            idempotency: idempotency.clone(),
            step,
        };
        if self.turn.is_multiple_of(5) && !self.payout_next {
            let (action, to, body) = match self.newcomer {
                "onboarding" => ("approve", "active", json!({})),
                "active" => ("block", "blocked", json!({"reason": "crash test"})),
                _ => ("unblock", "active", json!({})),
            };
            return admin(format!("/merchants/newcomer/{action}"), body, Step::Merchant(to));
        }
        if self.turn.is_multiple_of(7) || self.payout_next {
            self.payout_next = false;
            return admin("/payouts".into(), json!({"merchant": "artisan-co"}), Step::Payout);
        }
        let open = self.orders.iter().position(|o| !o.delivered || (o.returned.is_some() && !o.received));
        let due = match open {
            Some(at) if !self.turn.is_multiple_of(3) => Some(at),
            _ => self.orders.iter().position(|o| o.delivered && o.returned.is_none() && self.turn.is_multiple_of(4)),
        };
        let Some(at) = due else {
            let purchase = json!({
                "cart": {"country": "ES", "lines": [{"sku": "CERAMIC-MUG", "qty": 1}], "delivery": {"method": "home"},
                         "address": {"name": "Ana", "line": "Gran Vía 1", "city": "Madrid", "postal_code": "28013", "country": "ES"}},
                "checkout": {"payment_system": "card", "payment_token": "tok_visa"}});
            return Request {
                key: "demo-storefront",
                path: "/orders".into(),
                body: purchase,
                idempotency,
                step: Step::Buy,
            };
        };
        let o = &self.orders[at];
        let (id, line) = (o.id.clone(), o.line.clone());
        match o {
            Sold { shipped: false, .. } => admin(
                format!("/orders/{id}/shipments/{}/ship", o.shipment),
                json!({"tracking": [format!("T-{id}")]}),
                Step::Ship(at),
            ),
            Sold { delivered: false, .. } => admin(
                format!("/carriers/{}/events", o.carrier),
                json!({"id": format!("d-{id}"), "tracking": format!("T-{id}"), "code": "delivered", "at": "2026-12-04T10:00:00Z"}),
                Step::Deliver(at),
            ),
            Sold { returned: None, .. } => Request {
                key: "demo-storefront",
                path: format!("/orders/{id}/returns"),
                body: json!({"lines": [{"line": line, "quantity": 1, "reason": "crash"}]}),
                idempotency,
                step: Step::Return(at),
            },
            Sold { accepted: false, returned: Some(r), .. } => admin(
                format!("/orders/{id}/returns/{r}/decisions"),
                json!({"lines": [{"line": line, "accept": true}]}),
                Step::Accept(at),
            ),
            Sold { returned: Some(r), .. } => admin(
                format!("/orders/{id}/returns/{r}/receipts"),
                json!({"lines": [{"line": line, "quantity": 1, "condition": "resellable"}], "warehouse": "wh-dropship"}),
                Step::Receive(at),
            ),
        }
    }

    /// Takes an acknowledged answer into the model.
    fn take(&mut self, request: &Request, answer: &Value) {
        match request.step {
            Step::Buy => {
                let line = &answer["lines"][0];
                let shipment = &answer["shipments"][0];
                self.orders.push(Sold {
                    id: answer["id"].as_str().expect("an id").to_owned(),
                    line: line["id"].as_str().expect("a line").to_owned(),
                    shipment: shipment["id"].as_str().expect("a shipment").to_owned(),
                    carrier: shipment["carrier"].as_str().expect("a carrier").to_owned(),
                    amount: dec(&line["amount"]),
                    commission: dec(&line["commission"]["amount"]),
                    ..Sold::default()
                });
            }
            Step::Ship(at) => self.orders[at].shipped = true,
            Step::Deliver(at) => self.orders[at].delivered = true,
            Step::Return(at) => {
                let asked = answer["returns"].as_array().and_then(|r| r.last()).expect("a return");
                self.orders[at].returned = Some(asked["id"].as_str().expect("an id").to_owned());
            }
            Step::Accept(at) => self.orders[at].accepted = true,
            Step::Receive(at) => self.orders[at].received = true,
            Step::Merchant(to) => {
                self.newcomer = to;
                self.steps += 1;
            }
            Step::Payout => {
                self.paid_out +=
                    answer["payouts"].as_array().into_iter().flatten().map(|p| dec(&p["amount"])).sum::<Decimal>();
            }
        }
    }

    /// What the ledger must say: sales, commissions, paid out.
    fn owed(&self) -> (Decimal, Decimal, Decimal) {
        let earned = self.orders.iter().filter(|o| o.delivered && !o.received);
        let (sales, commissions) =
            earned.fold((Decimal::ZERO, Decimal::ZERO), |(s, c), o| (s + o.amount, c + o.commission));
        (sales, commissions, self.paid_out)
    }
}

/// Sends a request; its status and answer, or none when no answer came.
fn send(address: SocketAddr, request: &Request) -> Option<(u16, Value)> {
    let path = format!("{BASE}{}", request.path);
    let body = request.body.to_string();
    let answer = http_keyed(address, "POST", &path, Some(request.key), Some(&request.idempotency), &body)?;
    Some((answer.0, serde_json::from_str(&answer.1).unwrap_or(Value::Null)))
}

/// The demo with prices before tax and no payout hold, without its opening stock.
fn config(dir: &std::path::Path) -> std::path::PathBuf {
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo.toml")).expect("demo");
    let demo = demo
        .split("# --- Opening stock")
        .next()
        .expect("the settings")
        .replace("tax_inclusive = true", "tax_inclusive = false");
    let text = demo.replacen(
        "merchant_terms_version = \"2026-01\"",
        "merchant_terms_version = \"2026-01\"\npayout_hold_days = 0",
        1,
    );
    let path = dir.join("market.toml");
    std::fs::write(&path, text).expect("written");
    path
}

fn start(address: SocketAddr, data: &std::path::Path, config: &std::path::Path) -> Served {
    let child = Command::new(BIN)
        .args(["--listen", &address.to_string(), "--data", data.to_str().expect("utf-8")])
        .args(["--config", config.to_str().expect("utf-8"), "--snapshot-interval-ms", "100"])
        .env_remove("MERCATO_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let served = Served(child);
    wait_ready(address);
    served
}

/// The merchant's EUR account once it shows `want` (the ledgers follow the log), or as it
/// is after ten seconds.
fn account(address: SocketAddr, want: (Decimal, Decimal, Decimal)) -> (Decimal, Decimal, Decimal, Decimal) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, text) = http(address, "GET", &format!("{BASE}/merchants/artisan-co/ledger"), Some("demo-admin"), "")
            .expect("an answer");
        let ledger: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let eur = ledger["accounts"].as_array().and_then(|a| a.iter().find(|x| x["currency"] == "EUR")).cloned();
        let got = eur.map_or((Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO), |a| {
            (
                dec(&a["sales"]) - dec(&a["sales_reversed"]),
                dec(&a["commissions"]) - dec(&a["commissions_reversed"]),
                dec(&a["paid_out"]),
                dec(&a["balance"]),
            )
        });
        if (got.0, got.1, got.2) == want || std::time::Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// Proves a merchant's ledger after every SIGKILL and restart equals what its acknowledged
// sales, deliveries, returns and payouts say, with a payout retried after a kill made once.
#[test]
fn a_merchants_ledger_survives_sigkill_and_payouts_apply_once() {
    let cycles: usize = std::env::var("MERCATO_CRASH_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    let dir = temp_dir("crash-ledger");
    let (data, config) = (dir.join("data"), config(&dir));
    let mut model = Model { newcomer: "onboarding", ..Model::default() };
    let mut open: Option<Request> = None;
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    for cycle in 0..=cycles {
        let address = free_port();
        let mut served = start(address, &data, &config);
        if cycle == 0 {
            let receipt = json!({"sku": "CERAMIC-MUG", "quantity": 100_000}).to_string();
            let path = format!("{BASE}/warehouses/wh-dropship/receipts");
            assert_eq!(http(address, "POST", &path, Some("demo-admin"), &receipt).map(|a| a.0), Some(201));
        }
        if let Some(request) = open.take() {
            model.retried.0 += 1;
            model.retried.1 += usize::from(request.step == Step::Payout);
            let (status, answer) = send(address, &request).expect("the retry is answered");
            // A lifecycle step takes no key: made before the kill, its retry finds the
            // merchant where it took it (409 merchant_state), never a step further.
            let made = matches!(request.step, Step::Merchant(_)) && status == 409 && answer["code"] == "merchant_state";
            assert!(matches!(status, 200 | 201) || made, "{request:?} retried: {status} {answer}");
            model.take(&request, &answer);
        }
        let (_, text) =
            http(address, "GET", &format!("{BASE}/merchants/newcomer"), Some("demo-admin"), "").expect("an answer");
        let merchant: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_eq!(
            merchant["status"], model.newcomer,
            "cycle {cycle}: the merchant's lifecycle is what was acknowledged"
        );
        let want = model.owed();
        let got = account(address, want);
        assert_eq!((got.0, got.1, got.2), want, "cycle {cycle}: the ledger is what the model says");
        assert_eq!(got.3, want.0 - want.1 - want.2, "the balance is the entries' sum");
        if cycle == cycles {
            break;
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let stop = Arc::new(AtomicBool::new(false));
        let killer = {
            let stop = Arc::clone(&stop);
            let wait = Duration::from_millis(200 + seed % 900);
            std::thread::spawn(move || {
                std::thread::sleep(wait);
                stop.store(true, Ordering::Relaxed);
            })
        };
        while !stop.load(Ordering::Relaxed) {
            let request = model.next(cycle);
            match send(address, &request) {
                Some((200 | 201, answer)) => model.take(&request, &answer),
                Some((status, answer)) => panic!("{request:?}: {status} {answer}"),
                None => {
                    open = Some(request);
                    break;
                }
            }
        }
        // SIGKILL while the next request may be in flight: it is sent and not awaited.
        if open.is_none() {
            // Every other kill lands while a payout is in flight.
            model.payout_next = cycle.is_multiple_of(2);
            let request = model.next(cycle);
            let address_copy = address;
            let body = request.body.to_string();
            let path = format!("{BASE}{}", request.path);
            let key = request.idempotency.clone();
            let who = request.key;
            let flight =
                std::thread::spawn(move || http_keyed(address_copy, "POST", &path, Some(who), Some(&key), &body));
            // A payout answers once the ledgers hold it, some milliseconds after it is
            // durable: the kill lands anywhere in 10 ms, often in that window.
            std::thread::sleep(Duration::from_micros(seed % 10_000));
            served.0.kill().expect("SIGKILL");
            let _ = flight.join();
            open = Some(request);
        } else {
            served.0.kill().expect("SIGKILL");
        }
        let _ = served.0.wait();
        killer.join().expect("the timer");
    }
    let received = model.orders.iter().filter(|o| o.received).count();
    println!(
        "{} orders, {} delivered, {received} returned, {} paid out, {} merchant steps; {} requests retried after a kill, {} of them payouts",
        model.orders.len(),
        model.orders.iter().filter(|o| o.delivered).count(),
        model.paid_out,
        model.steps,
        model.retried.0,
        model.retried.1
    );
    assert!(received > 0, "some units came back");
    assert!(model.paid_out > Decimal::ZERO, "some money was paid out");
}
