//! Add-to-cart through the actors, in process: `shoppers` concurrent shoppers each add one
//! line (one unit of one SKU, on hand in the demo's Madrid warehouse) to their own cart,
//! wait for the answer, and go on with their next cart. Each add asks the candidate
//! warehouses for availability, selects sources, reserves and records the line: the full
//! cart path without HTTP. Run in memory, then with every change on the write-ahead log
//! in `sync` mode (the answer waits for the cart's record to be durable).
//!
//! Run: `cargo bench -p mercato-benches --bench carts`. Figures go to RESULTS.md. Data goes
//! under cargo's target folder (the project's disk).

/// The `mercato` binary's allocator, so the figures are those of the node's actor path.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use mercato_actors::cart::{AddLine, Answering, Carts};
use mercato_actors::idempotency::Idempotency;
use mercato_actors::{Clock, CommerceHandle, Execute, Journal, Recovered};
use mercato_benches::{demo, fresh_dir, percentile, spanish_cart};
use mercato_engine::inventory::InventoryCommand;
use mercato_persistence::log::{Log, LogOptions};
use mercato_persistence::storage::OsStorage;

/// Lines added per run (one per cart).
const ADDS: usize = 100_000;

/// One shopper: opens a cart and adds a line, `count` times; the latency of each add.
async fn shopper(carts: Carts, count: usize) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(count);
    for _ in 0..count {
        let cart = carts.open(spanish_cart(), Answering::Durable).await.expect("a cart");
        let addr = carts.get(&cart.cart.id).expect("open");
        let started = Instant::now();
        addr.send(AddLine { sku: "KEYBOARD".into(), quantity: 1, answering: Answering::Durable })
            .await
            .expect("running")
            .expect("added");
        latencies.push(started.elapsed());
    }
    latencies
}

fn run(label: &str, shoppers: usize, durable: bool) {
    let system = actix::System::new();
    let dir = fresh_dir(env!("CARGO_TARGET_TMPDIR"), &format!("carts-bench-{label}"));
    let log = durable.then(|| Log::open(Arc::new(OsStorage), LogOptions::new(&dir), 0, |_| Ok(())).expect("opens").0);
    let journal = log.as_ref().map_or(Journal::Memory, |log| Journal::Log(log.handle()));
    system.block_on(async move {
        let handle = CommerceHandle::start_durable(
            demo(),
            Clock::system(),
            &journal,
            &mut Recovered::default(),
            &Idempotency::default(),
        );
        let madrid = handle.warehouses().get("wh-madrid").expect("a warehouse");
        let receive = InventoryCommand::ReceiveStock { sku: "KEYBOARD".into(), quantity: 4_000_000 };
        madrid.send(Execute(receive)).await.expect("running").expect("received");
        let started = Instant::now();
        let tasks: Vec<_> =
            (0..shoppers).map(|_| actix::spawn(shopper(handle.carts().clone(), ADDS / shoppers))).collect();
        let mut latencies = Vec::with_capacity(ADDS);
        for task in tasks {
            latencies.extend(task.await.expect("a shopper"));
        }
        let elapsed = started.elapsed();
        latencies.sort_unstable();
        let adds = latencies.len();
        println!(
            "{label}: {adds} adds with {shoppers} shoppers in {:.2} s: {:.0} adds/s (cart creation included in the time), \
             add latency p50 {:.3} ms, p99 {:.3} ms",
            elapsed.as_secs_f64(),
            adds as f64 / elapsed.as_secs_f64(),
            percentile(&latencies, 500).as_secs_f64() * 1e3,
            percentile(&latencies, 990).as_secs_f64() * 1e3,
        );
    });
    if let Some(log) = log {
        log.close();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let wanted = |label: &str| filter.as_deref().is_none_or(|f| label.contains(f));
    for (shoppers, durable) in [(64, false), (1024, false), (64, true), (1024, true)] {
        let label = format!("{}-{shoppers}", if durable { "durable" } else { "memory" });
        if wanted(&label) {
            run(&label, shoppers, durable);
        }
    }
}
