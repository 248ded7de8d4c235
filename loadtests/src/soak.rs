//! The soak benchmark's load generator (`benches/soak.sh` runs it against a node serving
//! the demo with a return window of 0 days, so that an order delivered is finished at
//! once: the accelerated clock). Each order is one purchase (`POST …/orders`), then its
//! shipment shipped and reported delivered; the node archives it at its next turn.
//!
//! Every `--every` orders it prints one line of figures read from outside the node: its
//! resident memory (`/proc/PID/status`), the orders still in memory and those archived
//! (from `/metrics`), the last snapshot's size and its write time, the log's and the
//! archive's size on disk, and the p50 and p99 of the purchases and of a product read
//! made meanwhile. Stock is received as it goes, so the run never sells out.
//!
//! With `--open` it only buys: every order stays open in the node.
//!
//! Usage: `mercato-soak --host http://127.0.0.1:8080 --pid PID --data DIR [--orders
//! 1000000] [--every 100000] [--connections 32] [--open]`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use demo::{now, percentile, Api};
use serde_json::{json, Value};

mod demo;
mod wire;

const ADMIN: &str = "demo-admin";
const STOREFRONT: &str = "demo-storefront";
const SKU: &str = "MOUSE";

#[derive(clap::Parser)]
#[command(name = "mercato-soak")]
struct Options {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    host: String,
    /// The node's process id, for its resident memory.
    #[arg(long)]
    pid: u32,
    /// The node's data folder, for the sizes on disk.
    #[arg(long)]
    data: std::path::PathBuf,
    #[arg(long, default_value_t = 1_000_000)]
    orders: u64,
    /// Orders between two lines of figures.
    #[arg(long, default_value_t = 100_000)]
    every: u64,
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Only buy: every order stays open in the node (for a node holding many orders).
    #[arg(long)]
    open: bool,
}

fn purchase() -> Value {
    json!({
        "cart": {"country": "ES", "lines": [{"sku": SKU, "qty": 1}],
                 "address": {"name": "Ana García", "line": "Gran Vía 1", "city": "Madrid",
                             "postal_code": "28013", "country": "ES"},
                 "delivery": {"method": "home"}},
        "checkout": {"payment_system": "card", "payment_token": "tok_visa"}})
}

/// Latencies of one interval, shared by the workers.
#[derive(Default)]
struct Window {
    purchases: Vec<Duration>,
    reads: Vec<Duration>,
}

/// One customer after another: buys, then ships and delivers as the back office and the
/// carrier; every tenth order also reads the product.
async fn worker(address: String, next: Arc<AtomicU64>, (total, open): (u64, bool), window: Arc<Mutex<Window>>) {
    let mut api = Api::open(&address).await;
    while next.fetch_add(1, Ordering::Relaxed) < total {
        let started = Instant::now();
        let (status, order) = api.call("POST", "/orders", STOREFRONT, Some(&purchase())).await;
        assert_eq!(status, 201, "a purchase: {order}");
        let took = started.elapsed();
        let id = order["id"].as_str().unwrap_or_default().to_owned();
        for shipment in order["shipments"].as_array().into_iter().flatten().filter(|_| !open) {
            let (sid, carrier) =
                (shipment["id"].as_str().unwrap_or_default(), shipment["carrier"].as_str().unwrap_or_default());
            let tracking = format!("S-{id}-{sid}");
            let path = format!("/orders/{id}/shipments/{sid}/ship");
            let (status, answer) = api.call("POST", &path, ADMIN, Some(&json!({"tracking": [tracking]}))).await;
            assert_eq!(status, 200, "{path}: {answer}");
            let report = json!({"id": format!("d-{tracking}"), "tracking": tracking, "code": "delivered", "at": now()});
            let (status, answer) = api.call("POST", &format!("/carriers/{carrier}/events"), ADMIN, Some(&report)).await;
            assert_eq!(status, 200, "{carrier}'s report: {answer}");
        }
        let read = if id.ends_with('0') {
            let started = Instant::now();
            let (status, _) = api.call("GET", &format!("/products/{SKU}"), STOREFRONT, None).await;
            assert_eq!(status, 200, "a product read");
            Some(started.elapsed())
        } else {
            None
        };
        if let Ok(mut window) = window.lock() {
            window.purchases.push(took);
            window.reads.extend(read);
        }
    }
}

/// The node's resident memory in MiB.
fn resident_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// The bytes under `dir`.
fn size_of(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => size_of(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// A figure from the node's metrics text: the value of every line of `name` (with any
/// labels), summed.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next().and_then(|n| n.parse::<f64>().ok()))
        .sum()
}

fn figures(options: &Options, placed: u64, window: Window, elapsed: Duration) {
    // The metrics come chunked, which the lean client does not read: curl does.
    let url = format!("http://{}/metrics", options.host.trim_start_matches("http://").trim_end_matches('/'));
    let text = std::process::Command::new("curl")
        .args(["-s", &url])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let (mut purchases, mut reads) = (window.purchases, window.reads);
    purchases.sort_unstable();
    reads.sort_unstable();
    let writes = metric(&text, "mercato_snapshot_write_seconds_count");
    let write_sum = metric(&text, "mercato_snapshot_write_seconds_sum");
    println!(
        "{placed:>10} orders | {:>8.1} MiB resident | {:>7} in memory, {:>9} archived | snapshot {:>8.1} KiB, {:>3} taken, {:>7.1} ms mean write | log {:>8.1} MiB | archive {:>8.1} MiB | purchase p50 {:>6.2} p99 {:>6.2} ms | read p99 {:>6.2} ms | {:>6.0} orders/s",
        resident_mib(options.pid),
        metric(&text, "mercato_orders_in_memory") + 0.0,
        metric(&text, "mercato_archive_orders_total") + 0.0,
        metric(&text, "mercato_snapshot_bytes") / 1024.0 + 0.0,
        writes + 0.0,
        if writes > 0.0 { write_sum / writes * 1e3 } else { 0.0 },
        size_of(&options.data.join("wal")) as f64 / 1048576.0,
        size_of(&options.data.join("archive")) as f64 / 1048576.0,
        percentile(&purchases, 500),
        percentile(&purchases, 990),
        percentile(&reads, 990),
        options.every as f64 / elapsed.as_secs_f64(),
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let options = <Options as clap::Parser>::parse();
    let address = options.host.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let mut api = Api::open(&address).await;
    let mut placed = 0;
    figures(&options, 0, Window::default(), Duration::from_secs(1));
    while placed < options.orders {
        let batch = options.every.min(options.orders - placed);
        let receipt = json!({"sku": SKU, "quantity": batch});
        let (status, answer) = api.call("POST", "/warehouses/wh-madrid/receipts", ADMIN, Some(&receipt)).await;
        assert_eq!(status, 201, "stock: {answer}");
        let window = Arc::new(Mutex::new(Window::default()));
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let tasks: Vec<_> = (0..options.connections)
            .map(|_| {
                tokio::spawn(worker(address.clone(), Arc::clone(&next), (batch, options.open), Arc::clone(&window)))
            })
            .collect();
        for task in tasks {
            task.await.expect("a worker");
        }
        placed += batch;
        let window = std::mem::take(&mut *window.lock().expect("the window"));
        figures(&options, placed, window, started.elapsed());
    }
}
