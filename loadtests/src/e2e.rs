//! The end-to-end benchmark's load generator (`benches/e2e.sh` runs it): plain HTTP
//! against a running Mercato server, many concurrent connections, each waiting for its
//! answer before sending the next request (closed loop), except the paced run.
//!
//! Phases, in order:
//! - `add`: each connection opens a cart and adds one unit of MOUSE per request (the cart's
//!   one MOUSE line grows by a unit each time; a new cart every `--adds-per-cart` adds,
//!   default 5; cart creations are not counted) for `--seconds`: add-to-cart requests/s,
//!   p50, p99.
//! - `paced`: the same at 80 % of that rate (or `--paced-rate`), requests spaced evenly
//!   over four times the connections so a slow answer does not hold the next one back
//!   (each connection still waits for its answer, but with four times the slack, and
//!   latency counts from the slot a request was due in, so stalls show): p50 and p99 at a
//!   load the server should keep up with.
//! - `checkout`: `--carts` carts are filled first (1 to 3 lines, address, home delivery;
//!   untimed), then every connection checks carts out (sandbox card): checkouts/s, p50, p99.
//! - `flash`: `--flash-units` units of one SKU (KITE); every connection buys one unit at a
//!   time (cart, line, address, delivery, checkout) until it is sold out: purchases/s,
//!   and the check that units sold equal the units in orders, with none oversold.
//! - `flash buy-now`: the same sale again, each purchase two requests (the cart created
//!   whole with its line, address and delivery, then checkout), with the same check.
//! - `flash order`: the same sale a third time, each purchase one request (`POST …/orders`:
//!   the cart created whole and checked out), with the same check.
//!
//! Usage: `mercato-e2e --host http://127.0.0.1:8080 [--seconds 10] [--connections 64]
//! [--carts 20000] [--flash-units 5000] [--adds-per-cart 5] [--paced-rate N] [--timeline]
//! [--phases add,paced,checkout,flash,buy-now,order]` (`--help` says more). Prints one line per
//! phase (and with `--timeline`, each add phase's latency per 100 ms).
//!
//! One thread drives every connection through `wire`, a lean HTTP/1.1 client, so the
//! load generator takes as little of the machine as wrk would.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wire::{Answer, Connection};

mod wire;

const ADMIN: &str = "demo-admin";
const STOREFRONT: &str = "demo-storefront";

/// Drives a running Mercato server over HTTP: add-to-cart, paced add-to-cart, checkout
/// and a hot-SKU flash sale (step by step, with the cart created whole, in one request).
#[derive(clap::Parser)]
#[command(name = "mercato-e2e")]
struct Options {
    /// The server's address (`http://host:port`).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    host: String,
    /// Seconds of each add phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent connections (the paced phase uses four times as many).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
    connections: u16,
    /// Carts filled for the checkout phase.
    #[arg(long, default_value_t = 20_000)]
    carts: usize,
    /// Units of KITE each flash sale sells.
    #[arg(long, default_value_t = 5_000)]
    flash_units: u64,
    /// Adds per cart in the add phases (a new cart after that many).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=200))]
    adds_per_cart: u16,
    /// Prints each add phase's latency per 100 ms.
    #[arg(long)]
    timeline: bool,
    /// The paced phase's rate; 80 % of the closed loop's by default.
    #[arg(long)]
    paced_rate: Option<f64>,
    /// The phases to run, in their fixed order (`paced` without `add` needs `--paced-rate`).
    #[arg(long, value_delimiter = ',', default_value = "add,paced,checkout,flash,buy-now,order")]
    phases: Vec<Phase>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Phase {
    Add,
    Paced,
    Checkout,
    Flash,
    BuyNow,
    Order,
}

impl Options {
    /// `host:port` from `--host` (an `http://` address).
    fn address(&self) -> String {
        self.host.trim_start_matches("http://").trim_end_matches('/').to_owned()
    }

    fn connections(&self) -> usize {
        usize::from(self.connections)
    }

    fn runs(&self, phase: Phase) -> bool {
        self.phases.contains(&phase)
    }
}

/// A simulated client: one keep-alive connection to the server.
struct Api {
    connection: Connection,
}

impl Api {
    async fn open(address: &str) -> Self {
        let connection = Connection::open(address).await.unwrap_or_else(|e| panic!("connecting to {address}: {e}"));
        Self { connection }
    }

    /// Sends a request under `/v1/commerces/demo`; the status and the answer.
    async fn send(&mut self, method: &str, path: &str, key: &str, body: Option<&[u8]>) -> Answer {
        let path = format!("/v1/commerces/demo{path}");
        match self.connection.send(method, &path, key, body).await {
            Ok(answer) => answer,
            Err(error) => panic!("{method} {path}: {error}"),
        }
    }

    /// Sends a JSON request; the status and the body as JSON.
    async fn json(&mut self, method: &str, path: &str, key: &str, body: Option<&Value>) -> (u16, Value) {
        let bytes = body.map(|b| b.to_string().into_bytes());
        let answer = self.send(method, path, key, bytes.as_deref()).await;
        (answer.status, answer.json())
    }

    async fn post(&mut self, path: &str, key: &str, body: Value) -> (u16, Value) {
        self.json("POST", path, key, Some(&body)).await
    }

    async fn get(&mut self, path: &str, key: &str) -> (u16, Value) {
        self.json("GET", path, key, None).await
    }

    async fn new_cart(&mut self) -> String {
        let answer = self.send("POST", "/carts", STOREFRONT, Some(br#"{"country":"ES"}"#)).await;
        assert_eq!(answer.status, 201, "a cart: {}", answer.json());
        id_of(&answer)
    }

    /// Address and home delivery: what checkout needs.
    async fn ready(&mut self, cart: &str) {
        for (part, body) in [("address", BENCH_ADDRESS), ("delivery", r#"{"method":"home"}"#)] {
            let answer = self.send("PUT", &format!("/carts/{cart}/{part}"), STOREFRONT, Some(body.as_bytes())).await;
            assert_eq!(answer.status, 200, "cart {cart}'s {part}: {}", answer.json());
        }
    }
}

const BENCH_ADDRESS: &str =
    r#"{"name":"Bench","line":"Gran Vía 1","city":"Madrid","region":"MD","postal_code":"28013","country":"ES"}"#;

fn bench_address() -> Value {
    serde_json::from_str(BENCH_ADDRESS).unwrap_or(Value::Null)
}

fn percentile(sorted: &[Duration], per_mille: usize) -> f64 {
    let at = sorted.len().saturating_sub(1) * per_mille / 1000;
    sorted.get(at).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn report(label: &str, count: usize, elapsed: Duration, mut latencies: Vec<Duration>, unit: &str) -> f64 {
    latencies.sort_unstable();
    let rate = count as f64 / elapsed.as_secs_f64();
    println!(
        "{label}: {count} {unit} in {:.2} s: {rate:.0} {unit}/s, p50 {:.2} ms, p99 {:.2} ms",
        elapsed.as_secs_f64(),
        percentile(&latencies, 500),
        percentile(&latencies, 990),
    );
    rate
}

/// Adds one MOUSE per request, a new cart every `per_cart` adds, until `stop`; with `pace`, one
/// request every `pace`. The latency of each add.
async fn adder(
    address: String,
    stop: Arc<AtomicBool>,
    pace: Option<(Duration, Duration)>,
    per_cart: usize,
) -> Vec<(Instant, Duration)> {
    let mut api = Api::open(&address).await;
    let mut latencies = Vec::new();
    let mut cart = api.new_cart().await;
    let mut adds = 0;
    // Paced: this connection's first slot is offset so the connections' requests spread
    // evenly over each interval rather than leaving together.
    let mut next = Instant::now() + pace.map_or(Duration::ZERO, |(_, offset)| offset);
    let body = br#"{"sku":"MOUSE","qty":1}"#;
    while !stop.load(Ordering::Relaxed) {
        if adds == per_cart {
            cart = api.new_cart().await;
            adds = 0;
        }
        // Paced, latency counts from the slot the request was due in, so a stall shows
        // in the figures rather than postponing the requests behind it.
        let started = match pace {
            Some((interval, _)) => {
                tokio::time::sleep_until(next.into()).await;
                let due = next;
                next += interval;
                due
            }
            None => Instant::now(),
        };
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let answer = api.send("POST", &format!("/carts/{cart}/lines"), STOREFRONT, Some(body)).await;
        assert_eq!(answer.status, 201, "an add: {}", answer.json());
        latencies.push((started, started.elapsed()));
        adds += 1;
    }
    latencies
}

async fn add_phase(options: &Options, connections: usize, pace: Option<Duration>, label: &str) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let n = connections;
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let paced = pace.map(|interval| (interval, interval.mul_f64(i as f64 / n as f64)));
            tokio::spawn(adder(options.address(), Arc::clone(&stop), paced, usize::from(options.adds_per_cart)))
        })
        .collect();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(options.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let mut timed = Vec::new();
    for task in tasks {
        timed.extend(task.await.expect("a connection"));
    }
    if options.timeline {
        timeline(started, &mut timed);
    }
    let count = timed.len();
    report(label, count, elapsed, timed.into_iter().map(|(_, latency)| latency).collect(), "adds")
}

/// Per 100 ms of the run: requests started, their p99 and slowest latency (`--timeline`),
/// to tell a steady tail from stalls.
fn timeline(started: Instant, timed: &mut [(Instant, Duration)]) {
    timed.sort_unstable_by_key(|(at, _)| *at);
    let window = Duration::from_millis(100);
    let mut rest: &[(Instant, Duration)] = timed;
    let mut from = started;
    while !rest.is_empty() {
        let to = from + window;
        let split = rest.partition_point(|(at, _)| *at < to);
        let (inside, after) = rest.split_at(split);
        let mut latencies: Vec<Duration> = inside.iter().map(|(_, latency)| *latency).collect();
        latencies.sort_unstable();
        println!(
            "  {:>6} ms: {:>5} requests, p99 {:>7.2} ms, max {:>7.2} ms",
            from.saturating_duration_since(started).as_millis(),
            latencies.len(),
            percentile(&latencies, 990),
            latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
        );
        rest = after;
        from = to;
    }
}

/// Fills carts `first, first + step, …` (1 to 3 lines, address, delivery).
async fn filler(address: String, first: usize, step: usize, total: usize) -> Vec<String> {
    let mut api = Api::open(&address).await;
    let skus = ["MOUSE", "CHARGER", "USB-CABLE"];
    let mut carts = Vec::new();
    for i in (first..total).step_by(step) {
        let cart = api.new_cart().await;
        for sku in skus.iter().take(1 + i % 3) {
            let (status, answer) =
                api.post(&format!("/carts/{cart}/lines"), STOREFRONT, json!({"sku": sku, "qty": 1})).await;
            assert_eq!(status, 201, "a line: {answer}");
        }
        api.ready(&cart).await;
        carts.push(cart);
    }
    carts
}

async fn checker(address: String, carts: Vec<String>) -> Vec<Duration> {
    let mut api = Api::open(&address).await;
    let mut latencies = Vec::with_capacity(carts.len());
    let body = br#"{"payment_system":"card","payment_token":"tok_visa"}"#;
    for cart in carts {
        let started = Instant::now();
        let answer = api.send("POST", &format!("/carts/{cart}/checkout"), STOREFRONT, Some(body)).await;
        assert_eq!(answer.status, 201, "a checkout: {}", answer.json());
        latencies.push(started.elapsed());
    }
    latencies
}

async fn checkout_phase(options: &Options) {
    let n = options.connections();
    let fills: Vec<_> = (0..n).map(|i| tokio::spawn(filler(options.address(), i, n, options.carts))).collect();
    let mut batches = Vec::with_capacity(n);
    for fill in fills {
        batches.push(fill.await.expect("a connection"));
    }
    let started = Instant::now();
    let tasks: Vec<_> = batches.into_iter().map(|carts| tokio::spawn(checker(options.address(), carts))).collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("a connection"));
    }
    let count = latencies.len();
    report("checkout", count, started.elapsed(), latencies, "checkouts");
}

/// How a flash sale's customer buys.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purchase {
    /// A cart, its line, address and delivery, then checkout: five requests.
    StepByStep,
    /// The cart created whole with its line, address and delivery, then checkout: two.
    CartWhole,
    /// `POST …/orders`: the cart created whole and checked out in one request.
    OneRequest,
}

/// A created resource's `id`, read without building the whole answer as JSON.
fn id_of(answer: &Answer) -> String {
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    serde_json::from_slice::<Id>(&answer.body).map(|i| i.id).unwrap_or_default()
}

/// Buys one KITE at a time until sold out; the latency of each whole purchase. Request
/// bodies are encoded once, and answers are read as JSON only for an id or a failure, so
/// the load generator leaves more of the machine to the server.
async fn buyer(address: String, sold: Arc<AtomicU64>, purchase: Purchase) -> Vec<Duration> {
    let mut api = Api::open(&address).await;
    let mut latencies = Vec::new();
    let pay = json!({"payment_system": "card", "payment_token": "tok_visa"});
    let whole = json!({"country": "ES", "lines": [{"sku": "KITE", "qty": 1}], "address": bench_address(),
        "delivery": {"method": "home"}});
    let order_body = json!({"cart": whole, "checkout": pay}).to_string().into_bytes();
    let whole_body = whole.to_string().into_bytes();
    let pay_body = pay.to_string().into_bytes();
    let line_body = br#"{"sku":"KITE","qty":1}"#;
    loop {
        let started = Instant::now();
        if purchase == Purchase::OneRequest {
            let answer = api.send("POST", "/orders", STOREFRONT, Some(&order_body)).await;
            match answer.status {
                201 => {}
                409 => return latencies,
                status => panic!("a flash order: {status} {}", answer.json()),
            }
            sold.fetch_add(1, Ordering::Relaxed);
            latencies.push(started.elapsed());
            continue;
        }
        let cart = if purchase == Purchase::CartWhole {
            let answer = api.send("POST", "/carts", STOREFRONT, Some(&whole_body)).await;
            match answer.status {
                201 => id_of(&answer),
                409 => return latencies,
                status => panic!("a flash cart: {status} {}", answer.json()),
            }
        } else {
            let cart = api.new_cart().await;
            let answer = api.send("POST", &format!("/carts/{cart}/lines"), STOREFRONT, Some(line_body)).await;
            match answer.status {
                201 => {}
                409 => return latencies,
                status => panic!("a flash add: {status} {}", answer.json()),
            }
            api.ready(&cart).await;
            cart
        };
        let answer = api.send("POST", &format!("/carts/{cart}/checkout"), STOREFRONT, Some(&pay_body)).await;
        assert_eq!(answer.status, 201, "a flash checkout: {}", answer.json());
        sold.fetch_add(1, Ordering::Relaxed);
        latencies.push(started.elapsed());
    }
}

async fn flash_phase(options: &Options, purchase: Purchase) -> bool {
    let mut api = Api::open(&options.address()).await;
    let (_, before) = api.get("/warehouses/wh-madrid/stock/KITE", ADMIN).await;
    let available = before["available"].as_u64().unwrap_or(0);
    if available < options.flash_units {
        let body = json!({"sku": "KITE", "quantity": options.flash_units - available});
        assert_eq!(api.post("/warehouses/wh-madrid/receipts", ADMIN, body).await.0, 201);
    }
    let (_, before) = api.get("/warehouses/wh-madrid/stock/KITE", ADMIN).await;
    let sold = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..options.connections())
        .map(|_| tokio::spawn(buyer(options.address(), Arc::clone(&sold), purchase)))
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("a connection"));
    }
    let elapsed = started.elapsed();
    let count = latencies.len();
    let label = match purchase {
        Purchase::StepByStep => "flash (hot SKU, 5 requests: cart + line + address + delivery + checkout)",
        Purchase::CartWhole => "flash buy-now (hot SKU, 2 requests: cart created whole + checkout)",
        Purchase::OneRequest => "flash one request (hot SKU, POST …/orders: cart created whole and checked out)",
    };
    report(label, count, elapsed, latencies, "purchases");
    let (_, after) = api.get("/warehouses/wh-madrid/stock/KITE", ADMIN).await;
    let units = |v: &Value, f: &str| v[f].as_u64().unwrap_or(0);
    let allocated = units(&after, "allocated").saturating_sub(units(&before, "allocated"));
    let ordered = sold.load(Ordering::Relaxed);
    let oversold = units(&after, "allocated") + units(&after, "reserved") > units(&after, "on_hand");
    let good = allocated == ordered && allocated == units(&before, "available") && !oversold;
    println!(
        "flash check: {allocated} units allocated, {ordered} in acknowledged orders, {} available before; oversold: {}",
        units(&before, "available"),
        if oversold { "YES" } else { "0" }
    );
    good
}

/// One thread, as wrk runs with `-t1`: the server gets the other core and a half.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let options = <Options as clap::Parser>::parse();
    if options.runs(Phase::Paced) && !options.runs(Phase::Add) && options.paced_rate.is_none() {
        eprintln!("mercato-e2e: the paced phase without the add phase needs --paced-rate");
        std::process::exit(2);
    }
    let connection = match Connection::open(&options.address()).await {
        Ok(connection) => connection,
        Err(error) => {
            eprintln!("mercato-e2e: cannot connect to {}: {error} (is the server running?)", options.host);
            std::process::exit(2);
        }
    };
    let mut api = Api { connection };
    for sku in ["MOUSE", "CHARGER", "USB-CABLE"] {
        let body = json!({"sku": sku, "quantity": 50_000_000});
        let (status, answer) = api.post("/warehouses/wh-madrid/receipts", ADMIN, body).await;
        assert_eq!(status, 201, "stock: {answer}");
    }
    let mut rate = 0.0;
    if options.runs(Phase::Add) {
        rate = add_phase(&options, options.connections(), None, "add-to-cart").await;
    }
    if options.runs(Phase::Paced) {
        // Paced, a connection whose answer comes after its next slot sends late, and the
        // run falls behind for good: four times the connections keep the offered rate
        // whatever a single answer's latency (close to an open loop, as wrk2 runs one).
        let paced = options.connections() * 4;
        let asked = options.paced_rate.unwrap_or(rate * 0.8);
        let pace = Duration::from_secs_f64(paced as f64 / asked.max(0.01));
        let label = format!("add-to-cart paced at {asked:.0}/s ({paced} connections)");
        add_phase(&options, paced, Some(pace), &label).await;
    }
    if options.runs(Phase::Checkout) {
        checkout_phase(&options).await;
    }
    let sales = [
        (Phase::Flash, Purchase::StepByStep),
        (Phase::BuyNow, Purchase::CartWhole),
        (Phase::Order, Purchase::OneRequest),
    ];
    for (phase, purchase) in sales {
        if options.runs(phase) && !flash_phase(&options, purchase).await {
            eprintln!("flash sale check failed");
            std::process::exit(1);
        }
    }
}
