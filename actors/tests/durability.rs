//! Warehouse actors on the write-ahead log (on the simulated disk): every acknowledged
//! change comes back after a crash, a change the log could not make durable is answered
//! as such, and a change the log cannot take is not applied.

use std::sync::Arc;

use actix::prelude::*;
use arc_swap::ArcSwap;
use mercato_actors::warehouse::CopyState;
use mercato_actors::{ActorError, Clock, Execute, Journal, Recovered, WarehouseActor};
use mercato_engine::inventory::{InventoryCommand as Cmd, Timestamp, WarehouseStock};
use mercato_engine::{Commerce, KNOWN_GATEWAYS};
use mercato_persistence::log::{Log, LogOptions};
use mercato_persistence::sim::{FaultPoint, SimStorage};

const DEMO: &str = include_str!("../../config/demo.toml");
/// 2026-11-21T10:00:00Z.
const START: Timestamp = Timestamp(1_795_255_200_000);
const EXPIRES: Timestamp = Timestamp(START.0 + 15 * 60_000);

fn demo() -> Arc<ArcSwap<Commerce>> {
    Arc::new(ArcSwap::from_pointee(Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("demo config is valid")))
}

/// Opens the log on `sim` and rebuilds the warehouses from it.
fn recover(sim: &SimStorage) -> (Log, Recovered) {
    let mut recovered = Recovered::default();
    let (log, _) = Log::open(Arc::new(sim.clone()), LogOptions::new("/data/wal"), 0, |record| recovered.apply(record))
        .expect("recovers");
    (log, recovered)
}

fn start(stock: WarehouseStock, log: &Log) -> Addr<WarehouseActor> {
    WarehouseActor::recovered(stock, demo(), Clock::starting_at(START), Journal::Log(log.handle())).start_bounded()
}

fn reserve(id: &str, quantity: u32) -> Execute {
    Execute(Cmd::Reserve { reservation: id.into(), sku: "KEYBOARD".into(), quantity, expires_at: EXPIRES })
}

// Proves every acknowledged change (receipts, reservations, a release) is in the state
// rebuilt from the log after a crash, and the rebuilt state equals the one in memory.
#[actix_rt::test]
async fn acknowledged_changes_survive_a_crash() {
    let sim = SimStorage::default();
    let (log, mut recovered) = recover(&sim);
    let addr = start(recovered.take_warehouse("demo", "wh-madrid"), &log);
    addr.send(Execute(Cmd::ReceiveStock { sku: "KEYBOARD".into(), quantity: 10 })).await.expect("running").expect("ok");
    for cart in ["a", "b", "c"] {
        addr.send(reserve(cart, 2)).await.expect("running").expect("reserved");
    }
    addr.send(Execute(Cmd::ReleaseReservation { reservation: "b".into() })).await.expect("running").expect("released");
    let before = addr.send(CopyState).await.expect("running");
    sim.crash(|_, _| Vec::new());
    drop(log);

    let (_log, mut recovered) = recover(&sim);
    let after = recovered.take_warehouse("demo", "wh-madrid");
    assert_eq!(after, before);
    let record = after.record("KEYBOARD").expect("a record");
    assert_eq!((record.on_hand, record.reserved), (10, 4));
    assert!(after.reservation("b").is_none());
}

// Proves a change whose sync fails is answered `not_durable`, never as done; the log then
// refuses every later change, which is not applied; after the crash the unsynced change
// is gone and the earlier ones remain.
#[actix_rt::test]
async fn a_failed_sync_is_never_acknowledged_and_stops_later_changes() {
    let sim = SimStorage::default();
    let (log, mut recovered) = recover(&sim);
    let addr = start(recovered.take_warehouse("demo", "wh-madrid"), &log);
    addr.send(Execute(Cmd::ReceiveStock { sku: "KEYBOARD".into(), quantity: 5 })).await.expect("running").expect("ok");
    sim.fail(FaultPoint::Sync, 0);
    let failed = addr.send(reserve("a", 1)).await.expect("running");
    assert!(matches!(&failed, Err(ActorError::NotDurable(e)) if e.queued), "{failed:?}");
    assert_eq!(failed.as_ref().map_err(ActorError::code).err(), Some("outcome_unknown"));
    let held = addr.send(CopyState).await.expect("running");

    let refused = addr.send(reserve("b", 1)).await.expect("running");
    assert!(matches!(&refused, Err(ActorError::NotDurable(_))), "{refused:?}");
    assert_eq!(addr.send(CopyState).await.expect("running"), held, "a refused change is not applied");
    assert!(held.reservation("b").is_none());

    sim.crash(|_, _| Vec::new());
    drop(log);
    let (_log, mut recovered) = recover(&sim);
    let after = recovered.take_warehouse("demo", "wh-madrid");
    assert_eq!(after.record("KEYBOARD").map(|r| (r.on_hand, r.reserved)), Some((5, 0)));
    assert!(after.reservation("a").is_none(), "the change that was never durable is gone");
}

/// Writes `records` (kind and entry) to a fresh log and recovers it: the start's error.
fn recover_records(records: &[(u8, Vec<u8>)]) -> String {
    let sim = SimStorage::default();
    let (log, _) = recover(&sim);
    for (kind, payload) in records {
        log.handle().append(*kind, payload.clone()).expect("queued").wait().expect("durable");
    }
    drop(log);
    let mut recovered = Recovered::default();
    let error = Log::open(Arc::new(sim.clone()), LogOptions::new("/data/wal"), 0, |record| recovered.apply(record))
        .map(|_| ())
        .expect_err("refused");
    error.to_string()
}

// Proves a log record that passes its checksum but cannot be applied stops recovery with a
// message naming the record, instead of bringing the process down: a warehouse's release of
// a reservation that never existed, and a cart's change to a line it does not have
// (`decide` would produce neither; `apply` asserts).
#[test]
fn a_record_that_does_not_apply_refuses_the_start() {
    use mercato_actors::stored::{self, RECORD_CART, RECORD_WAREHOUSE};
    use mercato_engine::cart::{CartContext, CartEvent};
    use mercato_engine::inventory::InventoryEvent;

    let ghost = [InventoryEvent::ReservationReleased { reservation: "ghost".into() }];
    let ghost =
        stored::warehouse_record(("demo", "wh-madrid"), mercato_engine::inventory::Timestamp(0), &ghost, &[], None)
            .expect("encodes");
    let error = recover_records(&[(RECORD_WAREHOUSE, ghost)]);
    assert!(error.contains("record 1 does not apply to warehouse wh-madrid"), "{error}");

    let context = CartContext {
        channel: "web".into(),
        language: "en".into(),
        currency: "EUR".into(),
        country: "ES".into(),
        user: None,
        group: None,
    };
    let cart = |events: &[CartEvent]| stored::cart_record("demo", "cart-1", events, None).expect("encodes");
    let created = cart(&[CartEvent::CartCreated { id: "cart-1".into(), context, expires_at: Timestamp(1) }]);
    let changed = cart(&[CartEvent::LineChanged { line: "l9".into(), quantity: 1, holds: Vec::new() }]);
    let records = [(RECORD_CART, created), (RECORD_CART, changed)];
    let error = recover_records(&records);
    assert!(error.contains("record 2 does not apply to cart-1"), "{error}");
}

// Proves reservations whose time passed while the node was down are released at start by
// `ExpireNow` (which answers how many), and that the release is itself durable.
#[actix_rt::test]
async fn reservations_expired_while_down_are_released_at_start() {
    let sim = SimStorage::default();
    let (log, mut recovered) = recover(&sim);
    let addr = start(recovered.take_warehouse("demo", "wh-madrid"), &log);
    addr.send(Execute(Cmd::ReceiveStock { sku: "KEYBOARD".into(), quantity: 4 })).await.expect("running").expect("ok");
    addr.send(reserve("a", 3)).await.expect("running").expect("reserved");
    sim.crash(|_, _| Vec::new());
    drop(log);

    let later = Clock::starting_at(Timestamp(EXPIRES.0 + 60_000));
    let (log, mut recovered) = recover(&sim);
    let stock = recovered.take_warehouse("demo", "wh-madrid");
    assert!(stock.reservation("a").is_some(), "recovered as it was");
    let addr = WarehouseActor::recovered(stock, demo(), later, Journal::Log(log.handle())).start_bounded();
    let expired = addr.send(mercato_actors::warehouse::ExpireNow).await.expect("running").expect("durable");
    assert_eq!(expired, 1);
    sim.crash(|_, _| Vec::new());
    drop(log);

    let (_log, mut recovered) = recover(&sim);
    let stock = recovered.take_warehouse("demo", "wh-madrid");
    assert!(stock.reservation("a").is_none());
    assert_eq!(stock.record("KEYBOARD").map(|r| (r.on_hand, r.reserved)), Some((4, 0)));
}

// Proves a refusal decided against a change that is not yet durable waits for it, and is
// answered `not_durable` when the log fails instead: no answer rests on a lost change.
#[actix_rt::test]
async fn a_refusal_waits_for_the_changes_it_was_decided_against() {
    let sim = SimStorage::default();
    let (log, mut recovered) = recover(&sim);
    let addr = start(recovered.take_warehouse("demo", "wh-madrid"), &log);
    addr.send(Execute(Cmd::ReceiveStock { sku: "KEYBOARD".into(), quantity: 1 })).await.expect("running").expect("ok");
    sim.fail(FaultPoint::Sync, 0);
    // Both are queued before either answer: "b" is refused (the unit is held by "a"),
    // but "a" never becomes durable.
    let first = addr.send(reserve("a", 1));
    let second = addr.send(reserve("b", 1));
    let (first, second) = (first.await.expect("running"), second.await.expect("running"));
    assert!(matches!(first, Err(ActorError::NotDurable(_))), "{first:?}");
    assert!(matches!(&second, Err(ActorError::NotDurable(e)) if e.queued), "not insufficient_stock: {second:?}");
}

// Proves a warehouse recovered from a snapshot plus the log after it equals the one that
// ran: records the snapshot covers are skipped, later ones applied once.
#[actix_rt::test]
async fn a_snapshot_plus_the_log_after_it_rebuilds_the_state() {
    use mercato_actors::stored::{self, warehouse_part_key, WarehouseSnapshot};
    use mercato_actors::warehouse::TakeSnapshot;
    use mercato_persistence::snapshot::Part;

    let sim = SimStorage::default();
    let (log, mut recovered) = recover(&sim);
    let addr = start(recovered.take_warehouse("demo", "wh-madrid"), &log);
    addr.send(Execute(Cmd::ReceiveStock { sku: "KEYBOARD".into(), quantity: 10 })).await.expect("running").expect("ok");
    addr.send(reserve("a", 2)).await.expect("running").expect("reserved");
    let copy = addr.send(TakeSnapshot).await.expect("running");
    let (stock, covers) = (copy.stock, copy.covers);
    assert_eq!(covers, 2);
    addr.send(reserve("b", 3)).await.expect("running").expect("reserved");
    addr.send(Execute(Cmd::ReleaseReservation { reservation: "a".into() })).await.expect("running").expect("released");
    let ran = addr.send(CopyState).await.expect("running");
    sim.crash(|_, _| Vec::new());
    drop(log);

    let bytes = stored::warehouse_part(&WarehouseSnapshot {
        commerce: "demo".into(),
        warehouse: "wh-madrid".into(),
        stock,
        remembered: Vec::new(),
    })
    .expect("encodes");
    let parts = [(warehouse_part_key("demo", "wh-madrid"), Part { lsn: covers, bytes })].into_iter().collect();
    let (mut recovered, after) =
        Recovered::from_snapshot(mercato_persistence::codec::FORMAT_VERSION, &parts).expect("decodes");
    assert_eq!(after, 2);
    // Replaying the whole log onto the snapshot skips what it covers.
    let (_log, report) =
        Log::open(Arc::new(sim.clone()), LogOptions::new("/data/wal"), 0, |record| recovered.apply(record))
            .expect("recovers");
    assert_eq!(report.records_replayed, 4);
    assert_eq!(recovered.take_warehouse("demo", "wh-madrid"), ran);
}
