//! Reserve and release: on the engine alone (decide + apply, one core), and through one
//! `WarehouseActor` with replies, one round trip at a time and pipelined, with the caller
//! on the actor's thread and on another thread; and pipelined through an actor that logs
//! every change durably before it replies.
//!
//! Run: `cargo bench -p mercato-benches --bench inventory`. Figures go to RESULTS.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use arc_swap::ArcSwap;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mercato_actors::warehouse::ExecuteAll;
use mercato_actors::{Clock, Execute, Journal, WarehouseActor};
use mercato_benches::demo as demo_commerce;
use mercato_engine::inventory::{InventoryCommand as Cmd, InventoryCtx, Timestamp, WarehouseStock};
use mercato_persistence::log::{Log, LogOptions};
use mercato_persistence::storage::OsStorage;

const SKU: &str = "KEYBOARD";
/// 2026-11-21T10:00:00Z.
const NOW: Timestamp = Timestamp(1_795_255_200_000);
const EXPIRES: Timestamp = Timestamp(NOW.0 + 15 * 60_000);
/// Carts reserved before their releases in the reserve and release benchmarks.
const ROUND: usize = 10_000;
/// Commands per message in the batched runs: a large cart's lines in one warehouse.
const BATCH: usize = 16;
/// Requests in flight at once in the pipelined runs.
const PIPELINE_DEPTH: usize = 1024;

fn reserve(id: &str) -> Cmd {
    Cmd::Reserve { reservation: id.to_owned(), sku: SKU.to_owned(), quantity: 1, expires_at: EXPIRES }
}

fn release(id: &str) -> Cmd {
    Cmd::ReleaseReservation { reservation: id.to_owned() }
}

/// The sizes of the rounds `iterations` operations run in: `ROUND` each, the last shorter.
fn rounds(iterations: u64) -> impl Iterator<Item = usize> {
    let total = usize::try_from(iterations).expect("fits");
    (0..total).step_by(ROUND).map(move |done| (total - done).min(ROUND))
}

/// Which half of a round a benchmark times.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Timed {
    Reserves,
    Releases,
}

/// Runs `iterations` operations in rounds of up to `ROUND`: `step` reserves a round's carts,
/// then releases them; only the half named by `timed` counts.
fn timed_rounds(iterations: u64, timed: Timed, mut step: impl FnMut(Timed, usize)) -> Duration {
    let mut elapsed = Duration::ZERO;
    for round in rounds(iterations) {
        for half in [Timed::Reserves, Timed::Releases] {
            let start = Instant::now();
            step(half, round);
            if half == timed {
                elapsed += start.elapsed();
            }
        }
    }
    elapsed
}

fn ids(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("cart-{i:08}/{SKU}")).collect()
}

fn engine(c: &mut Criterion) {
    let commerce = demo_commerce();
    let ctx = InventoryCtx {
        commerce: &commerce,
        now: NOW,
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("a date"),
        shared: &mercato_engine::inventory::Alone,
    };
    let mut stock = WarehouseStock::new("wh-madrid");
    let receive = Cmd::ReceiveStock { sku: SKU.into(), quantity: 1_000_000_000 };
    for event in stock.decide(&receive, &ctx).expect("received") {
        stock.apply(&event);
    }
    // A warehouse that already holds 10,000 carts' reservations.
    for id in ids(10_000) {
        for event in stock.decide(&reserve(&format!("held/{id}")), &ctx).expect("reserved") {
            stock.apply(&event);
        }
    }
    let mut group = c.benchmark_group("inventory/engine");
    group.throughput(Throughput::Elements(1));
    let run = |stock: &mut WarehouseStock, command: &Cmd| {
        for event in stock.decide(command, &ctx).expect("accepted") {
            stock.apply_owned(event);
        }
    };
    let one = reserve("cart-x/KEYBOARD");
    let undo = release("cart-x/KEYBOARD");
    group.bench_function("reserve_then_release", |b| {
        b.iter(|| {
            run(&mut stock, &one);
            run(&mut stock, &undo);
        })
    });
    // Reserve alone: each iteration reserves for a new cart, in rounds of `ROUND` carts so
    // the warehouse holds a realistic number of live reservations; releases run untimed.
    group.bench_function("reserve", |b| {
        let names = ids(ROUND);
        let reserves: Vec<Cmd> = names.iter().map(|id| reserve(id)).collect();
        let releases: Vec<Cmd> = names.iter().map(|id| release(id)).collect();
        b.iter_custom(|iterations| {
            timed_rounds(iterations, Timed::Reserves, |commands, round| {
                let commands = if commands == Timed::Reserves { &reserves } else { &releases };
                for command in &commands[..round] {
                    run(&mut stock, command);
                }
            })
        })
    });
    group.bench_function("release", |b| {
        let names = ids(ROUND);
        let reserves: Vec<Cmd> = names.iter().map(|id| reserve(id)).collect();
        let releases: Vec<Cmd> = names.iter().map(|id| release(id)).collect();
        b.iter_custom(|iterations| {
            timed_rounds(iterations, Timed::Releases, |commands, round| {
                let commands = if commands == Timed::Reserves { &reserves } else { &releases };
                for command in &commands[..round] {
                    run(&mut stock, command);
                }
            })
        })
    });
    group.bench_function("decide_reserve_only", |b| b.iter(|| stock.decide(&one, &ctx).expect("accepted")));
    group.finish();
    catalogue(c);
}

/// SKUs in the large-catalogue warehouse.
const CATALOGUE: usize = 100_000;

/// Reserve in a warehouse holding stock of `CATALOGUE` SKUs, each cart on another SKU, so
/// the record lookup is as costly as in a real warehouse (the runs above touch one SKU).
fn catalogue(c: &mut Criterion) {
    let commerce = mercato_benches::demo_with_products(CATALOGUE);
    let ctx = InventoryCtx {
        commerce: &commerce,
        now: NOW,
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("a date"),
        shared: &mercato_engine::inventory::Alone,
    };
    let skus: Vec<String> = (0..CATALOGUE).map(|i| format!("GEN-{i:06}")).collect();
    let mut stock = WarehouseStock::new("wh-madrid");
    for sku in &skus {
        for event in stock.decide(&Cmd::ReceiveStock { sku: sku.clone(), quantity: 1_000_000 }, &ctx).expect("received")
        {
            stock.apply_owned(event);
        }
    }
    let run = |stock: &mut WarehouseStock, command: &Cmd| {
        for event in stock.decide(command, &ctx).expect("accepted") {
            stock.apply_owned(event);
        }
    };
    // Carts on SKUs spread over the catalogue (a stride coprime with its size).
    let order: Vec<&String> = (0..ROUND).map(|i| &skus[(i * 7_919) % CATALOGUE]).collect();
    let reserves: Vec<Cmd> = order
        .iter()
        .enumerate()
        .map(|(i, sku)| Cmd::Reserve {
            reservation: format!("cart-{i:08}/{sku}"),
            sku: (*sku).clone(),
            quantity: 1,
            expires_at: EXPIRES,
        })
        .collect();
    let releases: Vec<Cmd> = order.iter().enumerate().map(|(i, sku)| release(&format!("cart-{i:08}/{sku}"))).collect();
    let mut group = c.benchmark_group("inventory/engine");
    group.throughput(Throughput::Elements(1));
    group.bench_function("reserve_in_100k_skus", |b| {
        b.iter_custom(|iterations| {
            timed_rounds(iterations, Timed::Reserves, |commands, round| {
                let commands = if commands == Timed::Reserves { &reserves } else { &releases };
                for command in &commands[..round] {
                    run(&mut stock, command);
                }
            })
        })
    });
    group.finish();
}

/// A warehouse actor with a million keyboards, on `arbiter` (or the current thread).
fn start_actor(arbiter: Option<&ArbiterHandle>) -> Addr<WarehouseActor> {
    let commerce = Arc::new(ArcSwap::from_pointee(demo_commerce()));
    let actor = WarehouseActor::new("wh-madrid", commerce, Clock::starting_at(NOW));
    match arbiter {
        Some(arbiter) => actor.start_bounded_in(arbiter),
        None => actor.start_bounded(),
    }
}

async fn stock_up(addr: &Addr<WarehouseActor>) {
    let receive = Execute(Cmd::ReceiveStock { sku: SKU.into(), quantity: 1_000_000_000 });
    addr.send(receive).await.expect("running").expect("received");
}

/// Reserve then release, awaiting each reply before the next request.
async fn round_trips(addr: &Addr<WarehouseActor>, iterations: u64) -> Duration {
    let one = reserve("cart-x/KEYBOARD");
    let undo = release("cart-x/KEYBOARD");
    let start = Instant::now();
    for _ in 0..iterations {
        addr.send(Execute(one.clone())).await.expect("running").expect("reserved");
        addr.send(Execute(undo.clone())).await.expect("running").expect("released");
    }
    start.elapsed()
}

/// `iterations` reserves for distinct carts with up to `PIPELINE_DEPTH` in flight, in
/// rounds of `ROUND` carts; each round's releases run afterwards, untimed.
async fn pipelined(addr: &Addr<WarehouseActor>, iterations: u64) -> Duration {
    let names = ids(ROUND);
    let mut elapsed = Duration::ZERO;
    for size in rounds(iterations) {
        let round = &names[..size];
        let start = Instant::now();
        for chunk in round.chunks(PIPELINE_DEPTH) {
            let requests: Vec<_> = chunk.iter().map(|id| addr.send(Execute(reserve(id)))).collect();
            for request in requests {
                request.await.expect("running").expect("reserved");
            }
        }
        elapsed += start.elapsed();
        release_all(addr, round).await;
    }
    elapsed
}

async fn release_all(addr: &Addr<WarehouseActor>, names: &[String]) {
    for chunk in names.chunks(PIPELINE_DEPTH) {
        let releases = ExecuteAll(chunk.iter().map(|id| release(id)).collect());
        for outcome in addr.send(releases).await.expect("running") {
            outcome.expect("released");
        }
    }
}

/// `iterations` reserves for distinct carts sent `BATCH` commands per message, with up to
/// `PIPELINE_DEPTH` commands in flight, in rounds of `ROUND` carts; releases are untimed.
async fn batched(addr: &Addr<WarehouseActor>, iterations: u64) -> Duration {
    let names = ids(ROUND);
    let mut elapsed = Duration::ZERO;
    for size in rounds(iterations) {
        let round = &names[..size];
        let start = Instant::now();
        for window in round.chunks(PIPELINE_DEPTH) {
            let requests: Vec<_> = window
                .chunks(BATCH)
                .map(|batch| addr.send(ExecuteAll(batch.iter().map(|id| reserve(id)).collect())))
                .collect();
            for request in requests {
                for outcome in request.await.expect("running") {
                    outcome.expect("reserved");
                }
            }
        }
        elapsed += start.elapsed();
        release_all(addr, round).await;
    }
    elapsed
}

/// A warehouse actor on the current thread that logs every change to a fresh log on the
/// project's disk (mode `sync`: each reply waits for its batch's `fdatasync`).
fn start_durable_actor() -> (Addr<WarehouseActor>, Log) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("inventory-bench-wal");
    let _ = std::fs::remove_dir_all(&dir);
    let (log, _) = Log::open(Arc::new(OsStorage), LogOptions::new(&dir), 0, |_| Ok(())).expect("opens");
    let commerce = Arc::new(ArcSwap::from_pointee(demo_commerce()));
    let stock = WarehouseStock::new("wh-madrid");
    let actor = WarehouseActor::recovered(stock, commerce, Clock::starting_at(NOW), Journal::Log(log.handle()));
    (actor.start_bounded(), log)
}

fn actor(c: &mut Criterion) {
    let system = System::new();
    let other = Arbiter::new();
    let (here, there, (durable, log)) = system.block_on(async {
        let here = start_actor(None);
        let there = start_actor(Some(&other.handle()));
        let durable = start_durable_actor();
        stock_up(&here).await;
        stock_up(&there).await;
        stock_up(&durable.0).await;
        (here, there, durable)
    });
    let mut group = c.benchmark_group("inventory/actor");
    group.throughput(Throughput::Elements(2));
    group.bench_function("reserve_release_round_trip_same_thread", |b| {
        b.iter_custom(|iterations| system.block_on(round_trips(&here, iterations)))
    });
    group.bench_function("reserve_release_round_trip_cross_thread", |b| {
        b.iter_custom(|iterations| system.block_on(round_trips(&there, iterations)))
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("reserve_pipelined_same_thread", |b| {
        b.iter_custom(|iterations| system.block_on(pipelined(&here, iterations)))
    });
    group.bench_function("reserve_pipelined_cross_thread", |b| {
        b.iter_custom(|iterations| system.block_on(pipelined(&there, iterations)))
    });
    group.bench_function("reserve_batched_same_thread", |b| {
        b.iter_custom(|iterations| system.block_on(batched(&here, iterations)))
    });
    group.bench_function("reserve_batched_cross_thread", |b| {
        b.iter_custom(|iterations| system.block_on(batched(&there, iterations)))
    });
    group.bench_function("reserve_pipelined_same_thread_durable", |b| {
        b.iter_custom(|iterations| system.block_on(pipelined(&durable, iterations)))
    });
    group.finish();
    other.stop();
    log.close();
}

criterion_group!(benches, engine, actor);
criterion_main!(benches);
