//! Warehouse actors: the last-unit race, timer-driven expiry under a paused clock, and
//! reserving across warehouses with rollback.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use arc_swap::ArcSwap;
use mercato_actors::warehouse::{CopyState, ExecuteAll, GetStock, EXPIRY_TICK, WAREHOUSE_MAILBOX_CAPACITY_MAX};
use mercato_actors::{ActorError, Clock, Execute, ReserveRequest, WarehouseActor, Warehouses};
use mercato_engine::inventory::{check_invariants, InventoryCommand as Cmd, Timestamp};
use mercato_engine::{Commerce, DomainError, KNOWN_GATEWAYS};

const DEMO: &str = include_str!("../../config/demo.toml");
/// 2026-11-21T10:00:00Z.
const START: Timestamp = Timestamp(1_795_255_200_000);
const MINUTE: i64 = 60_000;

fn demo() -> Arc<ArcSwap<Commerce>> {
    Arc::new(ArcSwap::from_pointee(Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("demo config is valid")))
}

fn reserve(id: &str, sku: &str, quantity: u32, expires_at: Timestamp) -> Execute {
    Execute(Cmd::Reserve { reservation: id.into(), sku: sku.into(), quantity, expires_at })
}

fn receive(sku: &str, quantity: u32) -> Execute {
    Execute(Cmd::ReceiveStock { sku: sku.into(), quantity })
}

async fn assert_sound(addr: &Addr<WarehouseActor>, commerce: &Arc<ArcSwap<Commerce>>) {
    let state = addr.send(CopyState).await.expect("running");
    assert_eq!(check_invariants(&state, &commerce.load()), Vec::<String>::new());
    assert_eq!(state.oversold_units(), 0, "no unit oversold");
}

// Proves check-and-reserve is one step: 1,000 carts on four threads race for the last unit
// and exactly one gets it; the unit is held once and nothing goes negative.
#[test]
fn last_unit_race_has_exactly_one_winner() {
    let commerce = demo();
    let system = System::new();
    let (addr, arbiter) = system.block_on(async {
        let arbiter = Arbiter::new();
        let addr = WarehouseActor::new("wh-madrid", Arc::clone(&commerce), Clock::starting_at(START))
            .start_bounded_in(&arbiter.handle());
        addr.send(receive("KEYBOARD", 1)).await.expect("running").expect("received");
        (addr, arbiter)
    });
    let expires = Timestamp(START.0 + 15 * MINUTE);
    let racers: Vec<_> = (0..4)
        .map(|thread| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                System::new().block_on(async move {
                    let requests: Vec<_> = (0..250)
                        .map(|i| addr.send(reserve(&format!("cart-{thread}-{i}"), "KEYBOARD", 1, expires)))
                        .collect();
                    let mut won = 0;
                    for request in requests {
                        match request.await.expect("running") {
                            Ok(_) => won += 1,
                            Err(ActorError::Refused(DomainError::InsufficientStock {
                                requested: 1,
                                available: 0,
                                ..
                            })) => {}
                            Err(other) => panic!("unexpected refusal: {other}"),
                        }
                    }
                    won
                })
            })
        })
        .collect();
    let winners: u32 = racers.into_iter().map(|racer| racer.join().expect("racer finished")).sum();
    assert_eq!(winners, 1);
    system.block_on(async {
        let view = addr.send(GetStock { sku: "KEYBOARD".into() }).await.expect("running").expect("sold");
        assert_eq!((view.record.on_hand, view.record.reserved, view.availability.now, view.reservations), (1, 1, 0, 1));
        assert_sound(&addr, &commerce).await;
    });
    arbiter.stop();
}

// Proves expiry is driven by the actor's timer on the runtime's clock: nothing expires a
// moment early, the reservation is released at its time, exactly once, and renewal moves it.
#[actix_rt::test]
async fn reservations_expire_on_the_actor_timer_exactly_once() {
    tokio::time::pause();
    let commerce = demo();
    let clock = Clock::starting_at(START);
    let addr = WarehouseActor::new("wh-madrid", Arc::clone(&commerce), clock).start_bounded();
    addr.send(receive("KEYBOARD", 3)).await.expect("running").expect("received");
    addr.send(reserve("a", "KEYBOARD", 2, Timestamp(START.0 + 15 * MINUTE))).await.expect("running").expect("held");
    addr.send(reserve("b", "KEYBOARD", 1, Timestamp(START.0 + 15 * MINUTE))).await.expect("running").expect("held");
    let renewed = Cmd::RenewReservation { reservation: "b".into(), expires_at: Timestamp(START.0 + 30 * MINUTE) };
    addr.send(Execute(renewed)).await.expect("running").expect("renewed");

    // With the runtime's time paused, a sleep moves virtual time from timer to timer: the
    // actor's ticks run on the way, and nothing really waits.
    tokio::time::sleep(Duration::from_secs(14 * 60 + 59)).await;
    let held = addr.send(GetStock { sku: "KEYBOARD".into() }).await.expect("running").expect("sold");
    assert_eq!((held.record.reserved, held.reservations), (3, 2));

    tokio::time::sleep(Duration::from_secs(1) + EXPIRY_TICK).await;
    let state = addr.send(CopyState).await.expect("running");
    assert!(state.reservation("a").is_none(), "expired at its time");
    assert_eq!(state.record("KEYBOARD").expect("a record").reserved, 1);
    // Released once: releasing again is refused, and later ticks change nothing.
    let again = addr.send(Execute(Cmd::ReleaseReservation { reservation: "a".into() })).await.expect("running");
    assert_eq!(again, Err(ActorError::Refused(DomainError::UnknownReservation { id: "a".into() })));
    tokio::time::sleep(EXPIRY_TICK * 5).await;
    assert_eq!(addr.send(CopyState).await.expect("running").record("KEYBOARD").expect("a record").reserved, 1);

    tokio::time::sleep(Duration::from_secs(15 * 60)).await;
    let state = addr.send(CopyState).await.expect("running");
    assert_eq!(state.reservations().count(), 0);
    assert_eq!(state.record("KEYBOARD").expect("a record").available(), 3);
    assert!(clock.now() > Timestamp(START.0 + 30 * MINUTE), "virtual time moved past the renewed expiry");
    assert_sound(&addr, &commerce).await;
}

fn two_warehouses(commerce: &Arc<ArcSwap<Commerce>>) -> Warehouses {
    let clock = Clock::starting_at(START);
    Warehouses::new(
        ["wh-madrid", "wh-lyon"]
            .into_iter()
            .map(|code| {
                let addr = WarehouseActor::new(code, Arc::clone(commerce), clock).start_bounded();
                (code.to_owned(), mercato_actors::warehouse::WarehouseHandle::new(addr, code))
            })
            .collect(),
    )
}

fn request(warehouse: &str, reservation: &str, sku: &str, quantity: u32) -> ReserveRequest {
    ReserveRequest { warehouse: warehouse.into(), reservation: reservation.into(), sku: sku.into(), quantity }
}

// Proves a cart reserving in two warehouses either holds both or neither: a refusal in the
// second releases what the first reserved.
#[actix_rt::test]
async fn reserving_across_warehouses_rolls_back_a_partial_failure() {
    let commerce = demo();
    let warehouses = two_warehouses(&commerce);
    let madrid = warehouses.get("wh-madrid").expect("started").clone();
    let lyon = warehouses.get("wh-lyon").expect("started").clone();
    madrid.send(receive("KEYBOARD", 5)).await.expect("running").expect("received");
    lyon.send(receive("SPEAKER", 1)).await.expect("running").expect("received");
    let expires = Timestamp(START.0 + 15 * MINUTE);

    // Listed out of order on purpose: wh-lyon comes first by code, so it is reserved first
    // and must be released when wh-madrid refuses.
    let refused = warehouses
        .reserve_all(
            vec![
                request("wh-madrid", "cart-1/KEYBOARD", "KEYBOARD", 6),
                request("wh-lyon", "cart-1/SPEAKER", "SPEAKER", 1),
            ],
            expires,
        )
        .await;
    assert_eq!(
        refused,
        Err(ActorError::Refused(DomainError::InsufficientStock { sku: "KEYBOARD".into(), requested: 6, available: 5 }))
    );
    let speakers = lyon.send(GetStock { sku: "SPEAKER".into() }).await.expect("running").expect("sold");
    assert_eq!((speakers.record.reserved, speakers.reservations, speakers.availability.now), (0, 0, 1));

    let held = warehouses
        .reserve_all(
            vec![
                request("wh-lyon", "cart-1/SPEAKER", "SPEAKER", 1),
                request("wh-madrid", "cart-1/KEYBOARD", "KEYBOARD", 2),
            ],
            expires,
        )
        .await
        .expect("both held");
    assert_eq!(held.iter().map(|r| (&*r.sku, r.quantity())).collect::<Vec<_>>(), [("SPEAKER", 1), ("KEYBOARD", 2)]);

    let unknown = warehouses.reserve_all(vec![request("wh-nowhere", "cart-2/X", "KEYBOARD", 1)], expires).await;
    assert_eq!(unknown, Err(ActorError::Unavailable("wh-nowhere".into())));
    assert_sound(&madrid, &commerce).await;
    assert_sound(&lyon, &commerce).await;
}

// Proves fixed-order reservation leaks nothing under contention: 200 carts each want the
// last unit in both warehouses; exactly one holds both, and no other unit stays held.
#[actix_rt::test]
async fn carts_racing_across_warehouses_leak_no_units() {
    let commerce = demo();
    let warehouses = two_warehouses(&commerce);
    let madrid = warehouses.get("wh-madrid").expect("started").clone();
    let lyon = warehouses.get("wh-lyon").expect("started").clone();
    madrid.send(receive("KEYBOARD", 1)).await.expect("running").expect("received");
    lyon.send(receive("KEYBOARD", 1)).await.expect("running").expect("received");
    let expires = Timestamp(START.0 + 15 * MINUTE);
    let carts: Vec<_> = (0..200)
        .map(|cart| {
            let warehouses = warehouses.clone();
            actix::spawn(async move {
                let id = format!("cart-{cart}/KEYBOARD");
                warehouses
                    .reserve_all(
                        vec![request("wh-lyon", &id, "KEYBOARD", 1), request("wh-madrid", &id, "KEYBOARD", 1)],
                        expires,
                    )
                    .await
                    .is_ok()
            })
        })
        .collect();
    let mut winners = 0;
    for cart in carts {
        winners += u32::from(cart.await.expect("cart task finished"));
    }
    assert_eq!(winners, 1);
    for addr in [&madrid, &lyon] {
        let view = addr.send(GetStock { sku: "KEYBOARD".into() }).await.expect("running").expect("sold");
        assert_eq!((view.record.reserved, view.reservations), (1, 1));
        assert_sound(addr, &commerce).await;
    }
}

// Proves `ExecuteAll` runs commands in order against the state each one leaves, with a
// refusal affecting only its own command.
#[actix_rt::test]
async fn execute_all_runs_in_order_and_refuses_one_at_a_time() {
    let commerce = demo();
    let addr = WarehouseActor::new("wh-madrid", Arc::clone(&commerce), Clock::starting_at(START)).start_bounded();
    let expires = Timestamp(START.0 + 15 * MINUTE);
    let outcomes = addr
        .send(ExecuteAll(vec![
            Cmd::ReceiveStock { sku: "KEYBOARD".into(), quantity: 2 },
            Cmd::Reserve { reservation: "a".into(), sku: "KEYBOARD".into(), quantity: 2, expires_at: expires },
            Cmd::Reserve { reservation: "b".into(), sku: "KEYBOARD".into(), quantity: 1, expires_at: expires },
            Cmd::ReleaseReservation { reservation: "a".into() },
            Cmd::Reserve { reservation: "b".into(), sku: "KEYBOARD".into(), quantity: 1, expires_at: expires },
        ]))
        .await
        .expect("running");
    let codes: Vec<&str> = outcomes.iter().map(|o| o.as_ref().map_or_else(|e| e.code(), |_| "ok")).collect();
    assert_eq!(codes, ["ok", "ok", "insufficient_stock", "ok", "ok"]);
    let view = addr.send(GetStock { sku: "KEYBOARD".into() }).await.expect("running").expect("sold");
    assert_eq!((view.record.reserved, view.reservations), (1, 1));
    assert_sound(&addr, &commerce).await;
}

// Proves the mailbox bound: with the actor unable to run, the mailbox takes its capacity
// and then refuses.
#[actix_rt::test]
async fn mailbox_is_bounded() {
    let addr = WarehouseActor::new("wh-madrid", demo(), Clock::starting_at(START)).start_bounded();
    let accepted = (0..WAREHOUSE_MAILBOX_CAPACITY_MAX * 2).filter(|_| addr.try_send(CopyState).is_ok()).count();
    assert!(
        (WAREHOUSE_MAILBOX_CAPACITY_MAX..=WAREHOUSE_MAILBOX_CAPACITY_MAX + 1).contains(&accepted),
        "accepted {accepted} messages"
    );
    assert!(addr.try_send(CopyState).is_err());
}

// Proves the reservation metrics follow the changes: created, released, expired and
// converted counts, the active gauge, and units oversold at 0.
#[test]
fn reservation_metrics_follow_the_changes() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let system = System::new();
        system.block_on(async {
            let commerce = demo();
            let addr = WarehouseActor::new("wh-madrid", commerce, Clock::starting_at(START)).start_bounded();
            let expires = Timestamp(START.0 + 15 * MINUTE);
            addr.send(receive("KEYBOARD", 5)).await.expect("running").expect("received");
            for cart in ["a", "b", "c"] {
                addr.send(reserve(cart, "KEYBOARD", 1, expires)).await.expect("running").expect("reserved");
            }
            let release = Execute(Cmd::ReleaseReservation { reservation: "a".into() });
            addr.send(release).await.expect("running").expect("released");
            let commit =
                Execute(Cmd::CommitReservation { reservation: "b".into(), order_line: "o-1/1".into(), quantity: None });
            addr.send(commit).await.expect("running").expect("committed");
        });
    });
    let values: std::collections::BTreeMap<String, DebugValue> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().labels().any(|l| l.value() == "wh-madrid"))
        .map(|(key, _, _, value)| (key.key().name().to_owned(), value))
        .collect();
    let count = |name: &str| match values.get(name) {
        Some(DebugValue::Counter(n)) => *n,
        other => panic!("{name}: {other:?}"),
    };
    let gauge = |name: &str| match values.get(name) {
        Some(DebugValue::Gauge(g)) => g.into_inner(),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(count("mercato_reservations_created_total"), 3);
    assert_eq!(count("mercato_reservations_released_total"), 1);
    assert_eq!(count("mercato_reservations_converted_total"), 1);
    assert_eq!(count("mercato_reservations_expired_total"), 0);
    assert_eq!(gauge("mercato_reservations_active"), 1.0);
    assert_eq!(gauge("mercato_units_oversold"), 0.0);
}

// Proves the hottest SKUs' contention is published once a window: reservation attempts
// and insufficient-stock refusals per second for the busiest SKUs, and a SKU that cools
// down drops to zero.
#[test]
fn the_hottest_skus_contention_is_published() {
    use mercato_actors::warehouse::HOT_SKU_WINDOW_TICKS;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let rates = || -> std::collections::BTreeMap<(String, String), f64> {
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(key, ..)| key.key().name().starts_with("mercato_hot_sku"))
            .filter_map(|(key, _, _, value)| {
                let sku = key.key().labels().find(|l| l.key() == "sku")?.value().to_owned();
                match value {
                    DebugValue::Gauge(g) => Some(((key.key().name().to_owned(), sku), g.into_inner())),
                    _ => None,
                }
            })
            .collect()
    };
    let window = std::time::Duration::from_secs(u64::from(HOT_SKU_WINDOW_TICKS));
    let first = metrics::with_local_recorder(&recorder, || {
        let system = System::new();
        system.block_on(async {
            tokio::time::pause();
            let addr = WarehouseActor::new("wh-madrid", demo(), Clock::starting_at(START)).start_bounded();
            let expires = Timestamp(START.0 + 15 * MINUTE);
            addr.send(receive("KEYBOARD", 20)).await.expect("running").expect("received");
            addr.send(receive("MOUSE", 20)).await.expect("running").expect("received");
            for i in 0..30 {
                let _ = addr.send(reserve(&format!("k{i}"), "KEYBOARD", 1, expires)).await.expect("running");
            }
            for i in 0..10 {
                addr.send(reserve(&format!("m{i}"), "MOUSE", 1, expires)).await.expect("running").expect("held");
            }
            tokio::time::sleep(window + std::time::Duration::from_millis(500)).await;
            addr.send(CopyState).await.expect("running");
            let first = rates();
            // A quiet window: both SKUs drop to zero.
            tokio::time::sleep(window).await;
            addr.send(CopyState).await.expect("running");
            first
        })
    });
    let rate = |map: &std::collections::BTreeMap<(String, String), f64>, name: &str, sku: &str| {
        map.get(&(format!("mercato_hot_sku_{name}_per_second"), sku.to_owned())).copied()
    };
    assert_eq!(rate(&first, "reservations", "KEYBOARD"), Some(3.0), "{first:?}");
    assert_eq!(rate(&first, "refusals", "KEYBOARD"), Some(1.0), "10 of 30 refused: {first:?}");
    assert_eq!(rate(&first, "reservations", "MOUSE"), Some(1.0));
    assert_eq!(rate(&first, "refusals", "MOUSE"), Some(0.0));
    let later = rates();
    assert_eq!(rate(&later, "reservations", "KEYBOARD"), Some(0.0), "{later:?}");
}

// Proves the gate refuses a request at once when the mailbox is full, instead of queueing
// it to wait, and gives every place back as the actor takes its requests up.
#[test]
fn the_gate_refuses_at_once_when_the_mailbox_is_full() {
    use mercato_actors::warehouse::{GetStock, WarehouseHandle};

    let system = System::new();
    system.block_on(async {
        let addr = WarehouseActor::new("wh-madrid", demo(), Clock::starting_at(START)).start_bounded();
        let handle = WarehouseHandle::new(addr, "wh-madrid");
        // Nothing runs the actor until this task awaits: the requests pile up.
        let pending: Vec<_> = (0..WAREHOUSE_MAILBOX_CAPACITY_MAX)
            .map(|_| handle.send(GetStock { sku: "KEYBOARD".into() }).expect("room"))
            .collect();
        assert_eq!(handle.waiting(), WAREHOUSE_MAILBOX_CAPACITY_MAX);
        assert!(
            matches!(handle.send(GetStock { sku: "KEYBOARD".into() }), Err(ActorError::Busy(w)) if w == "wh-madrid")
        );
        for request in pending {
            request.await.expect("answered");
        }
        assert_eq!(handle.waiting(), 0, "every place given back");
        let answer = handle.send(GetStock { sku: "KEYBOARD".into() }).expect("room again").await.expect("answered");
        assert!(answer.is_some());
    });
}
