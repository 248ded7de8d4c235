//! The marketplace flash-sale benchmark's load generator (`benches/marketplace.sh` runs
//! it against a node serving `benches/marketplace/generate.py`'s configuration): many
//! merchants, one hot product each, orders mixing them.
//!
//! 1. Stock: `--units` of each merchant's product received into `wh-madrid`.
//! 2. The sale: every unit is sold once, in orders of up to three merchants' products (a
//!    shuffled plan, so the stock is sold out exactly), each order one request (`POST
//!    …/orders`), over `--connections` connections: orders/s, p50, p99. Then one more
//!    unit of each product is asked for and must be refused (nothing oversold).
//! 3. Fulfilment: every shipment shipped and reported delivered by its carrier.
//! 4. The ledger check: each merchant's ledger must come to exactly what its order lines
//!    say (the sum of its lines' amounts as sales, of their frozen commissions as
//!    commissions), and the time the ledgers took to get there is reported.
//!
//! Usage: `mercato-market --host http://127.0.0.1:8080 [--merchants 100] [--units 30]
//! [--connections 64]`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use demo::{now, percentile, Api};
use rust_decimal::Decimal;
use serde_json::{json, Value};

mod demo;
mod wire;

const ADMIN: &str = "demo-admin";
const STOREFRONT: &str = "demo-storefront";

#[derive(clap::Parser)]
#[command(name = "mercato-market")]
struct Options {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    host: String,
    /// Merchants in the configuration (`m-001`, … each selling `HOT-001`, …).
    #[arg(long, default_value_t = 100)]
    merchants: usize,
    /// Units of each hot product on sale.
    #[arg(long, default_value_t = 30)]
    units: u32,
    #[arg(long, default_value_t = 64)]
    connections: usize,
}

fn sku(merchant: usize) -> String {
    format!("HOT-{merchant:03}")
}

/// Every unit once, shuffled (a fixed seed), grouped into orders of up to three distinct
/// products.
fn plan(merchants: usize, units: u32) -> VecDeque<Vec<usize>> {
    let mut all: Vec<usize> = (1..=merchants).flat_map(|m| std::iter::repeat_n(m, units as usize)).collect();
    let mut seed: u64 = 42;
    for i in (1..all.len()).rev() {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        all.swap(i, (seed >> 33) as usize % (i + 1));
    }
    let mut orders: VecDeque<Vec<usize>> = VecDeque::new();
    let mut open: Vec<Vec<usize>> = Vec::new();
    for unit in all {
        match open.iter().position(|o| !o.contains(&unit)) {
            Some(at) => open[at].push(unit),
            None => open.push(vec![unit]),
        }
        if let Some(at) = open.iter().position(|o| o.len() == 3) {
            orders.push_back(open.remove(at));
        }
    }
    orders.extend(open);
    orders
}

fn purchase(products: &[usize]) -> Value {
    let lines: Vec<Value> = products.iter().map(|m| json!({"sku": sku(*m), "qty": 1})).collect();
    json!({
        "cart": {"country": "ES", "lines": lines, "delivery": {"method": "home"},
                 "address": {"name": "Bench", "line": "Gran Vía 1", "city": "Madrid", "region": "MD",
                             "postal_code": "28013", "country": "ES"}},
        "checkout": {"payment_system": "card", "payment_token": "tok_visa"}})
}

fn amount(value: &Value) -> Decimal {
    value.as_str().and_then(|s| s.parse().ok()).unwrap_or_default()
}

/// What the orders say each merchant is owed: units, sales, commissions.
type Owed = BTreeMap<String, (u64, Decimal, Decimal)>;

/// A placed order: its id and its shipments (id, carrier).
type Placed = (String, Vec<(String, String)>);

async fn buyer(address: String, queue: Arc<Mutex<VecDeque<Vec<usize>>>>) -> (Vec<Duration>, Vec<Placed>, Owed) {
    let mut api = Api::open(&address).await;
    let (mut latencies, mut placed, mut owed) = (Vec::new(), Vec::new(), Owed::new());
    while let Some(products) = queue.lock().map(|mut q| q.pop_front()).ok().flatten() {
        let started = Instant::now();
        let (status, order) = api.call("POST", "/orders", STOREFRONT, Some(&purchase(&products))).await;
        assert_eq!(status, 201, "an order of {products:?}: {order}");
        latencies.push(started.elapsed());
        for line in order["lines"].as_array().into_iter().flatten() {
            let merchant = line["merchant"].as_str().unwrap_or_default().to_owned();
            let entry = owed.entry(merchant).or_default();
            entry.0 += line["quantity"].as_u64().unwrap_or(0);
            entry.1 += amount(&line["amount"]);
            entry.2 += amount(&line["commission"]["amount"]);
        }
        let shipments = order["shipments"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                (s["id"].as_str().unwrap_or_default().to_owned(), s["carrier"].as_str().unwrap_or_default().to_owned())
            })
            .collect();
        placed.push((order["id"].as_str().unwrap_or_default().to_owned(), shipments));
    }
    (latencies, placed, owed)
}

async fn fulfiller(address: String, queue: Arc<Mutex<Vec<Placed>>>) -> usize {
    let mut api = Api::open(&address).await;
    let mut requests = 0;
    let now = now();
    loop {
        let Some((order, shipments)) = queue.lock().map(|mut q| q.pop()).ok().flatten() else { return requests };
        for (shipment, carrier) in shipments {
            let tracking = format!("T-{order}-{shipment}");
            let path = format!("/orders/{order}/shipments/{shipment}/ship");
            let (status, answer) = api.call("POST", &path, ADMIN, Some(&json!({"tracking": [tracking]}))).await;
            assert_eq!(status, 200, "{path}: {answer}");
            let report = json!({"id": format!("d-{tracking}"), "tracking": tracking, "code": "delivered", "at": now});
            let (status, answer) = api.call("POST", &format!("/carriers/{carrier}/events"), ADMIN, Some(&report)).await;
            assert_eq!(status, 200, "{carrier}'s report: {answer}");
            requests += 2;
        }
    }
}

/// The merchants whose ledger differs from what their orders say: (merchant, what the
/// ledger says).
async fn ledger_gaps(api: &mut Api, owed: &Owed) -> Vec<(String, String)> {
    let mut gaps = Vec::new();
    for (merchant, (_, sales, commissions)) in owed {
        let (_, ledger) = api.call("GET", &format!("/merchants/{merchant}/ledger"), ADMIN, None).await;
        let eur = ledger["accounts"].as_array().and_then(|a| a.iter().find(|x| x["currency"] == "EUR")).cloned();
        let got = eur.as_ref().map(|a| (amount(&a["sales"]), amount(&a["commissions"]), amount(&a["balance"])));
        if got != Some((*sales, *commissions, sales - commissions)) {
            gaps.push((merchant.clone(), format!("{got:?} against {sales} and {commissions}")));
        }
    }
    gaps
}

/// The sale: the plan's orders over every connection; the orders placed and what they owe.
async fn sale(options: &Options, address: &str) -> (Vec<Placed>, Owed) {
    let queue = Arc::new(Mutex::new(plan(options.merchants, options.units)));
    let orders = queue.lock().map(|q| q.len()).unwrap_or(0);
    let started = Instant::now();
    let tasks: Vec<_> =
        (0..options.connections).map(|_| tokio::spawn(buyer(address.to_owned(), Arc::clone(&queue)))).collect();
    let (mut latencies, mut placed, mut owed) = (Vec::new(), Vec::new(), Owed::new());
    for task in tasks {
        let (l, p, o) = task.await.expect("a buyer");
        latencies.extend(l);
        placed.extend(p);
        for (merchant, (units, sales, commissions)) in o {
            let entry = owed.entry(merchant).or_default();
            entry.0 += units;
            entry.1 += sales;
            entry.2 += commissions;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let units: u64 = owed.values().map(|o| o.0).sum();
    println!(
        "marketplace sale: {orders} orders ({units} units of {} merchants) in {:.2} s: {:.0} orders/s, p50 {:.2} ms, p99 {:.2} ms",
        options.merchants,
        elapsed.as_secs_f64(),
        orders as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 500),
        percentile(&latencies, 990),
    );
    (placed, owed)
}

/// Ships and delivers every shipment over every connection.
async fn fulfil(options: &Options, address: &str, placed: Vec<Placed>) {
    let shipments: usize = placed.iter().map(|(_, s)| s.len()).sum();
    let queue = Arc::new(Mutex::new(placed));
    let started = Instant::now();
    let tasks: Vec<_> =
        (0..options.connections).map(|_| tokio::spawn(fulfiller(address.to_owned(), Arc::clone(&queue)))).collect();
    let mut requests = 0;
    for task in tasks {
        requests += task.await.expect("a fulfiller");
    }
    let elapsed = started.elapsed();
    println!(
        "fulfilment: {shipments} shipments shipped and delivered ({requests} requests) in {:.2} s: {:.0} requests/s",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64()
    );
}

/// Waits (a minute at most) for every ledger to equal what the orders say; whether they do.
async fn ledgers_agree(api: &mut Api, owed: &Owed) -> bool {
    let waited = Instant::now();
    let mut gaps = ledger_gaps(api, owed).await;
    while !gaps.is_empty() && waited.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(200));
        gaps = ledger_gaps(api, owed).await;
    }
    let (sales, commissions) = owed.values().fold((Decimal::ZERO, Decimal::ZERO), |(s, c), o| (s + o.1, c + o.2));
    println!(
        "ledger check: {} merchants' ledgers equal their order lines (sales {sales}, commissions {commissions}) {:.2} s after the last delivery; mismatches: {}",
        owed.len() - gaps.len(),
        waited.elapsed().as_secs_f64(),
        gaps.len()
    );
    for (merchant, detail) in gaps.iter().take(5) {
        println!("  {merchant}: {detail}");
    }
    gaps.is_empty()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let options = <Options as clap::Parser>::parse();
    let address = options.host.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let mut api = Api::open(&address).await;
    for merchant in 1..=options.merchants {
        let body = json!({"sku": sku(merchant), "quantity": options.units});
        let (status, answer) = api.call("POST", "/warehouses/wh-madrid/receipts", ADMIN, Some(&body)).await;
        assert_eq!(status, 201, "stock of {}: {answer}", sku(merchant));
    }
    let (placed, owed) = sale(&options, &address).await;
    let mut oversold = 0;
    for merchant in 1..=options.merchants {
        let (status, _) = api.call("POST", "/orders", STOREFRONT, Some(&purchase(&[merchant]))).await;
        oversold += usize::from(status == 201);
    }
    let exact = owed.len() == options.merchants && owed.values().all(|o| o.0 == u64::from(options.units));
    println!("sale check: every merchant sold exactly {} units: {exact}; oversold products: {oversold}", options.units);
    fulfil(&options, &address, placed).await;
    if !ledgers_agree(&mut api, &owed).await || !exact || oversold > 0 {
        std::process::exit(1);
    }
}
