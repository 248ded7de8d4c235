//! Checkout through the actors, in process. First `CARTS` carts are filled by concurrent
//! shoppers: 1 to 5 lines each (cart i has 1 + i % 5 lines), the SKUs spread over the
//! demo's Madrid and drop-ship warehouses so most carts hold stock in both, then an
//! address and a home-delivery choice. Then the same shoppers check every cart out
//! (sandbox card payment): each checkout prices and plans the cart again, authorises the
//! payment, commits every hold in its warehouse and records the order. The second phase
//! alone is timed. Run in memory, then with the write-ahead log in `sync` mode (the answer
//! waits for the order's record to be durable).
//!
//! Run: `cargo bench -p mercato-benches --bench checkout`. Figures go to RESULTS.md.

/// The `mercato` binary's allocator, so the figures are those of the node's actor path.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use mercato_actors::cart::{AddLine, Answering, Carts, CheckOut, ChooseDelivery, SetAddress};
use mercato_actors::idempotency::Idempotency;
use mercato_actors::{Clock, CommerceHandle, Execute, Journal, Recovered};
use mercato_benches::{demo, fresh_dir, percentile, spanish_cart};
use mercato_engine::cart::{DeliveryChoice, ShippingAddress};
use mercato_engine::commerce::model::ShipmentPreference;
use mercato_engine::inventory::InventoryCommand;
use mercato_persistence::log::{Log, LogOptions};
use mercato_persistence::storage::OsStorage;

/// Carts checked out per run.
const CARTS: usize = 20_000;
/// SKUs on hand in each warehouse; line j of a cart takes SKU j of the alternating list.
const SKUS: [(&str, &str); 5] = [
    ("wh-madrid", "KEYBOARD"),
    ("wh-dropship", "SPEAKER"),
    ("wh-madrid", "CHARGER"),
    ("wh-dropship", "PUZZLE-1000"),
    ("wh-madrid", "BLOCKS-SET"),
];

fn address() -> ShippingAddress {
    ShippingAddress {
        name: "Ana".into(),
        line: "Gran Vía 1".into(),
        city: "Madrid".into(),
        region: Some("MD".into()),
        postal_code: "28013".into(),
        country: "ES".into(),
        ..ShippingAddress::default()
    }
}

/// Fills carts `first, first + step, …`: lines, address, delivery. Their ids.
async fn fill(carts: Carts, first: usize, step: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in (first..CARTS).step_by(step) {
        let cart = carts.open(spanish_cart(), Answering::Durable).await.expect("a cart").cart.id.clone();
        let addr = carts.get(&cart).expect("open");
        for (_, sku) in SKUS.iter().take(1 + i % 5) {
            let add = AddLine { sku: (*sku).into(), quantity: 1, answering: Answering::Durable };
            addr.send(add).await.expect("running").expect("added");
        }
        addr.send(SetAddress(address())).await.expect("running").expect("address");
        let home = DeliveryChoice::Home { preference: ShipmentPreference::AsAvailable, shipping_types: Vec::new() };
        addr.send(ChooseDelivery(home)).await.expect("running").expect("delivery");
        ids.push(cart);
    }
    ids
}

/// Checks each cart out; the latency of each checkout.
async fn check_out(carts: Carts, ids: Vec<String>) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(ids.len());
    for id in ids {
        let addr = carts.get(&id).expect("open");
        let started = Instant::now();
        let message = CheckOut {
            payment_system: "card".into(),
            token: Some("tok_visa".into()),
            expected_total: None,
            remember: None,
            by: "bench".into(),
        };
        let reply = addr.send(message).await.expect("running").expect("placed");
        assert!(reply.order.is_some());
        latencies.push(started.elapsed());
    }
    latencies
}

fn run(label: &str, shoppers: usize, durable: bool) {
    let system = actix::System::new();
    let dir = fresh_dir(env!("CARGO_TARGET_TMPDIR"), &format!("checkout-bench-{label}"));
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
        for (warehouse, sku) in SKUS {
            let addr = handle.warehouses().get(warehouse).expect("a warehouse");
            let receive = InventoryCommand::ReceiveStock { sku: sku.into(), quantity: 1_000_000 };
            addr.send(Execute(receive)).await.expect("running").expect("received");
        }
        let fills: Vec<_> =
            (0..shoppers).map(|first| actix::spawn(fill(handle.carts().clone(), first, shoppers))).collect();
        let mut batches = Vec::with_capacity(shoppers);
        for task in fills {
            batches.push(task.await.expect("a shopper"));
        }
        let lines: usize = (0..CARTS).map(|i| 1 + i % 5).sum();
        let started = Instant::now();
        let tasks: Vec<_> =
            batches.into_iter().map(|ids| actix::spawn(check_out(handle.carts().clone(), ids))).collect();
        let mut latencies = Vec::with_capacity(CARTS);
        for task in tasks {
            latencies.extend(task.await.expect("a shopper"));
        }
        let elapsed = started.elapsed();
        latencies.sort_unstable();
        assert_eq!(handle.orders().len().await, CARTS);
        println!(
            "{label}: {CARTS} checkouts ({lines} lines) with {shoppers} shoppers in {:.2} s: {:.0} checkouts/s, \
             latency p50 {:.3} ms, p99 {:.3} ms",
            elapsed.as_secs_f64(),
            CARTS as f64 / elapsed.as_secs_f64(),
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
    for (shoppers, durable) in [(64, false), (64, true), (512, true)] {
        let label = format!("{}-{shoppers}", if durable { "durable" } else { "memory" });
        if wanted(&label) {
            run(&label, shoppers, durable);
        }
    }
}
