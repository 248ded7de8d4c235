//! Invoices issued per second on one company series, in process. First `ORDERS` orders
//! are placed with an offline payment (bank transfer: pending, not invoiced), one line
//! each. Then `PAYERS` concurrent tasks confirm every payment, each waiting for its answer:
//! each confirmation records the payment and the invoice, numbered next in the company's
//! series, in one record. That phase alone is timed. Afterwards every invoice number of
//! the series is read back and must run from 1 to `ORDERS` without a gap or a duplicate.
//! Run in memory, then with the write-ahead log in `sync` mode (each answer waits for its
//! record to be durable: group commit shares the syncs).
//!
//! Run: `cargo bench -p mercato-benches --bench invoices`. Figures go to RESULTS.md.

/// The `mercato` binary's allocator, so the figures are those of the node's actor path.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use mercato_actors::cart::{AddLine, Answering, CheckOut, ChooseDelivery, SetAddress};
use mercato_actors::idempotency::Idempotency;
use mercato_actors::order::FindInvoices;
use mercato_actors::{Clock, CommerceHandle, Execute, Journal, Recovered};
use mercato_benches::{demo, fresh_dir, percentile, spanish_cart};
use mercato_engine::cart::{DeliveryChoice, ShippingAddress};
use mercato_engine::commerce::model::ShipmentPreference;
use mercato_engine::inventory::InventoryCommand;
use mercato_engine::order::OrderCommand;
use mercato_persistence::log::{Log, LogOptions};
use mercato_persistence::storage::OsStorage;

/// Orders paid per run.
const ORDERS: usize = 20_000;
/// Payments confirmed at once.
const PAYERS: usize = 64;

/// Places orders `first, first + step, …` with a bank transfer; their ids.
async fn place(handle: CommerceHandle, first: usize, step: usize) -> Vec<String> {
    let carts = handle.carts().clone();
    let mut ids = Vec::new();
    for _ in (first..ORDERS).step_by(step) {
        let cart = carts.open(spanish_cart(), Answering::Durable).await.expect("a cart").cart.id.clone();
        let addr = carts.get(&cart).expect("open");
        let add = AddLine { sku: "KEYBOARD".into(), quantity: 1, answering: Answering::Durable };
        addr.send(add).await.expect("running").expect("added");
        let address = ShippingAddress {
            name: "Ana".into(),
            line: "Gran Vía 1".into(),
            city: "Madrid".into(),
            postal_code: "28013".into(),
            country: "ES".into(),
            ..ShippingAddress::default()
        };
        addr.send(SetAddress(address)).await.expect("running").expect("address");
        let home = DeliveryChoice::Home { preference: ShipmentPreference::AsAvailable, shipping_types: Vec::new() };
        addr.send(ChooseDelivery(home)).await.expect("running").expect("delivery");
        let transfer = CheckOut {
            payment_system: "bank-transfer".into(),
            token: None,
            expected_total: None,
            remember: None,
            by: "bench".into(),
        };
        let reply = addr.send(transfer).await.expect("running").expect("placed");
        ids.push(reply.order.expect("an order").id.clone());
    }
    ids
}

/// Confirms each order's payment; the latency of each.
async fn pay(handle: CommerceHandle, ids: Vec<String>) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(ids.len());
    for id in ids {
        let started = Instant::now();
        let confirm = OrderCommand::ConfirmPayment { reference: format!("TR-{id}") };
        let order = handle.orders().execute(&id, confirm).await.expect("paid");
        assert_eq!(order.invoices.len(), 1);
        latencies.push(started.elapsed());
    }
    latencies
}

/// Every number of the series `prefix` for this year, read back in pages.
async fn numbers(handle: &CommerceHandle, prefix: &str) -> Vec<u32> {
    let mut seqs = Vec::new();
    let mut after = None;
    loop {
        let find =
            FindInvoices { number: None, prefixes: vec![prefix.into()], from: None, to: None, after, limit: 500 };
        let page = handle.orders().invoices(find).await.expect("a page");
        for (invoice, _, _) in &page.invoices {
            let (_, seq) = mercato_engine::order::documents::parse_number(&invoice.number).expect("a number");
            seqs.push(seq);
        }
        match page.next_after {
            Some(next) => after = Some(next),
            None => return seqs,
        }
    }
}

fn run(label: &str, durable: bool) {
    let system = actix::System::new();
    let dir = fresh_dir(env!("CARGO_TARGET_TMPDIR"), &format!("invoices-bench-{label}"));
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
        let addr = handle.warehouses().get("wh-madrid").expect("a warehouse");
        let receive = InventoryCommand::ReceiveStock { sku: "KEYBOARD".into(), quantity: 1_000_000 };
        addr.send(Execute(receive)).await.expect("running").expect("received");
        let placing: Vec<_> = (0..PAYERS).map(|first| actix::spawn(place(handle.clone(), first, PAYERS))).collect();
        let mut shares = Vec::with_capacity(PAYERS);
        for task in placing {
            shares.push(task.await.expect("a buyer"));
        }
        let started = Instant::now();
        let paying: Vec<_> = shares.into_iter().map(|ids| actix::spawn(pay(handle.clone(), ids))).collect();
        let mut latencies = Vec::with_capacity(ORDERS);
        for task in paying {
            latencies.extend(task.await.expect("a payer"));
        }
        let elapsed = started.elapsed();
        latencies.sort_unstable();
        let mut seqs = numbers(&handle, "ES").await;
        seqs.sort_unstable();
        let expected: Vec<u32> = (1..=u32::try_from(ORDERS).expect("fits")).collect();
        assert!(seqs == expected, "the series has a gap or a duplicate");
        println!(
            "{label}: {ORDERS} invoices with {PAYERS} concurrent payments in {:.2} s: {:.0} invoices/s, \
             latency p50 {:.3} ms, p99 {:.3} ms; numbers 1 to {ORDERS}, no gap, no duplicate",
            elapsed.as_secs_f64(),
            ORDERS as f64 / elapsed.as_secs_f64(),
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
    for durable in [false, true] {
        let label = if durable { "durable" } else { "memory" };
        if wanted(label) {
            run(label, durable);
        }
    }
}
