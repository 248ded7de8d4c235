//! Inventory scenarios on the demo commerce: each command's outcome and the resulting stock,
//! with the invariants checked after every event and the whole history replayed onto an
//! empty state to prove it rebuilds the same one.

use chrono::NaiveDate;
use expect_test::{expect, Expect};
use mercato_engine::inventory::{
    check_invariants, AdjustmentReason, InventoryCommand as Cmd, InventoryCtx, InventoryEvent, Source, Timestamp,
    WarehouseStock,
};
use mercato_engine::{Commerce, KNOWN_GATEWAYS};

const DEMO: &str = include_str!("../../config/demo.toml");

fn date(text: &str) -> NaiveDate {
    text.parse().expect("a date")
}

/// A step: the day and time it runs at, and the command.
struct Step {
    today: NaiveDate,
    now: Timestamp,
    command: Cmd,
}

fn at(today: &str, now: i64, command: Cmd) -> Step {
    Step { today: date(today), now: Timestamp(now), command }
}

fn on(today: &str, command: Cmd) -> Step {
    at(today, 0, command)
}

fn receive(sku: &str, quantity: u32) -> Cmd {
    Cmd::ReceiveStock { sku: sku.into(), quantity }
}

fn announce(sku: &str, batch: &str, quantity: u32, expected: &str) -> Cmd {
    Cmd::AnnounceBatch { sku: sku.into(), batch: batch.into(), quantity, expected_date: date(expected) }
}

fn reserve(id: &str, sku: &str, quantity: u32, expires_at: i64) -> Cmd {
    Cmd::Reserve { reservation: id.into(), sku: sku.into(), quantity, expires_at: Timestamp(expires_at) }
}

fn render_parts(stock: &WarehouseStock, id: &str) -> String {
    let Some(reservation) = stock.reservation(id) else {
        return String::new();
    };
    let parts: Vec<String> = reservation
        .parts
        .iter()
        .map(|part| {
            let source = match &part.source {
                Source::OnHand => "on_hand".to_owned(),
                Source::Batch(batch) => format!("batch {batch}"),
                Source::LeadTime => "lead_time".to_owned(),
                Source::Preorder => "preorder".to_owned(),
                Source::AtRisk => "nowhere (at risk)".to_owned(),
            };
            format!("{} from {source}", part.quantity)
        })
        .collect();
    format!(" [{}]", parts.join(", "))
}

fn render_stock(stock: &WarehouseStock) -> String {
    let mut out = String::new();
    for line in stock.order_lines() {
        let parts: Vec<String> = line.parts.iter().map(|p| format!("{} from {:?}", p.quantity, p.source)).collect();
        out.push_str(&format!("  order line {} ({}): {}\n", line.order_line, line.sku, parts.join(", ")));
    }
    for (sku, r) in stock.records() {
        let batches: Vec<String> = r
            .batches
            .iter()
            .map(|b| {
                format!(
                    "{}:{}@{} r{} p{}",
                    b.id, b.quantity, b.expected_date, b.committed.reserved, b.committed.promised
                )
            })
            .collect();
        out.push_str(&format!(
            "  {sku}: on_hand {} reserved {} allocated {} available {} batches [{}] lead_time r{} p{} preorder r{} p{}\n",
            r.on_hand,
            r.reserved,
            r.allocated,
            r.available(),
            batches.join(" "),
            r.lead_time.reserved,
            r.lead_time.promised,
            r.preorder.reserved,
            r.preorder.promised
        ));
    }
    out
}

/// Runs the steps in `warehouse`, rendering each outcome and the final stock. Checks the
/// invariants after every event and that replaying every event rebuilds the same state.
fn check(warehouse: &str, steps: Vec<Step>, expect: Expect) {
    let commerce = Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("demo is valid");
    let mut stock = WarehouseStock::new(warehouse);
    let mut history: Vec<InventoryEvent> = Vec::new();
    let mut out = String::new();
    for step in steps {
        let ctx = InventoryCtx { commerce: &commerce, now: step.now, today: step.today };
        match stock.decide(&step.command, &ctx) {
            Ok(events) => {
                for event in &events {
                    stock.apply(event);
                    let broken = check_invariants(&stock, &commerce);
                    assert!(broken.is_empty(), "after {event:?}: {broken:?}");
                }
                let names: Vec<String> = events.iter().map(event_name).collect();
                let parts = match &step.command {
                    Cmd::Reserve { reservation, .. } | Cmd::ReduceReservation { reservation, .. } => {
                        render_parts(&stock, reservation)
                    }
                    _ => String::new(),
                };
                let names = if names.is_empty() { "no events".to_owned() } else { names.join(", ") };
                out.push_str(&format!("ok: {names}{parts}\n"));
                history.extend(events);
            }
            Err(error) => out.push_str(&format!("error {}: {error}\n", error.code())),
        }
    }
    out.push_str(&render_stock(&stock));
    let mut replayed = WarehouseStock::new(warehouse);
    for event in &history {
        replayed.apply(event);
    }
    assert_eq!(replayed, stock, "replaying the events rebuilds the state");
    expect.assert_eq(&out);
}

fn event_name(event: &InventoryEvent) -> String {
    let debug = format!("{event:?}");
    debug.split([' ', '{']).next().unwrap_or_default().to_owned()
}

// Proves stock_only sells exactly what is available and never more, across carts.
#[test]
fn stock_only_never_oversells() {
    check(
        "wh-madrid",
        vec![
            on("2026-11-21", receive("MOUSE", 5)),
            on("2026-11-21", reserve("cart-1", "MOUSE", 3, 1_000)),
            on("2026-11-21", reserve("cart-2", "MOUSE", 3, 1_000)),
            on("2026-11-21", reserve("cart-2", "MOUSE", 2, 1_000)),
            on("2026-11-21", reserve("cart-3", "MOUSE", 1, 1_000)),
        ],
        expect![[r#"
            ok: StockReceived
            ok: StockReserved [3 from on_hand]
            error insufficient_stock: insufficient stock of "MOUSE": 3 requested, 2 available
            ok: StockReserved [2 from on_hand]
            error insufficient_stock: insufficient stock of "MOUSE": 1 requested, 0 available
              MOUSE: on_hand 5 reserved 5 allocated 0 available 0 batches [] lead_time r0 p0 preorder r0 p0
        "#]],
    );
}

// Proves backorder_incoming sells on-hand first, then batches earliest first, never more
// than each batch brings.
// Proves a reduced reservation lets its latest units go first (a batch before on-hand), so
// what a cart keeps is what is ready soonest; the freed units sell again; a reduction by
// all it holds or more is refused (that is a release).
#[test]
fn reducing_a_reservation_lets_its_latest_units_go_first() {
    let reduce = |id: &str, quantity| Cmd::ReduceReservation { reservation: id.into(), quantity };
    check(
        "wh-madrid",
        vec![
            on("2026-11-21", receive("HEADPHONES", 3)),
            on("2026-11-21", announce("HEADPHONES", "po-1", 4, "2026-11-25")),
            on("2026-11-21", reserve("cart-1", "HEADPHONES", 6, 1_000)),
            on("2026-11-21", reduce("cart-1", 2)),
            on("2026-11-21", reduce("cart-1", 2)),
            on("2026-11-21", reduce("cart-1", 2)),
            on("2026-11-21", reduce("cart-1", 0)),
            on("2026-11-21", reserve("cart-2", "HEADPHONES", 5, 1_000)),
            at("2026-11-21", 1_000, reduce("cart-2", 1)),
        ],
        expect![[r#"
            ok: StockReceived
            ok: BatchAnnounced
            ok: StockReserved [3 from on_hand, 3 from batch po-1]
            ok: ReservationReduced [3 from on_hand, 1 from batch po-1]
            ok: ReservationReduced [2 from on_hand]
            error invalid_quantity: quantity 2 is not valid: a reservation can only be reduced by fewer units than it holds
            error invalid_quantity: quantity 0 is not valid: it must be at least 1
            ok: StockReserved [1 from on_hand, 4 from batch po-1]
            error reservation_expired: reservation "cart-2" has expired
              HEADPHONES: on_hand 3 reserved 3 allocated 0 available 0 batches [po-1:4@2026-11-25 r4 p0] lead_time r0 p0 preorder r0 p0
        "#]],
    );
}

#[test]
fn backorder_against_incoming_batches() {
    check(
        "wh-madrid",
        vec![
            on("2026-11-21", receive("HEADPHONES", 2)),
            on("2026-11-21", announce("HEADPHONES", "po-2", 5, "2026-12-01")),
            on("2026-11-21", announce("HEADPHONES", "po-1", 3, "2026-11-25")),
            on("2026-11-21", reserve("cart-1", "HEADPHONES", 6, 1_000)),
            on("2026-11-21", reserve("cart-2", "HEADPHONES", 5, 1_000)),
            on("2026-11-21", reserve("cart-2", "HEADPHONES", 4, 1_000)),
            on(
                "2026-11-21",
                Cmd::ChangeBatch {
                    sku: "HEADPHONES".into(),
                    batch: "po-2".into(),
                    quantity: 4,
                    expected_date: date("2026-12-03"),
                },
            ),
            on(
                "2026-11-21",
                Cmd::ChangeBatch {
                    sku: "HEADPHONES".into(),
                    batch: "po-2".into(),
                    quantity: 5,
                    expected_date: date("2026-12-03"),
                },
            ),
        ],
        expect![[r#"
            ok: StockReceived
            ok: BatchAnnounced
            ok: BatchAnnounced
            ok: StockReserved [2 from on_hand, 3 from batch po-1, 1 from batch po-2]
            error insufficient_stock: insufficient stock of "HEADPHONES": 5 requested, 4 available
            ok: StockReserved [4 from batch po-2]
            error batch_below_committed: batch "po-2" cannot shrink to 4: 5 units are already reserved or promised against it
            ok: BatchChanged
              HEADPHONES: on_hand 2 reserved 2 allocated 0 available 0 batches [po-1:3@2026-11-25 r3 p0 po-2:5@2026-12-03 r5 p0] lead_time r0 p0 preorder r0 p0
        "#]],
    );
}

// Proves lead-time backorders respect an optional cap, preorders sell only their cap before
// release and only on-hand after it, and a warehouse override changes the policy there.
#[test]
fn lead_time_preorder_and_overrides() {
    check(
        "wh-madrid",
        vec![
            on("2026-11-21", reserve("a", "TABLE-OAK", 20, 1_000)),
            on("2026-11-21", reserve("b", "TABLE-OAK", 1, 1_000)),
            on("2026-11-21", reserve("c", "SOFA-3", 1_000, 1_000)),
            on("2026-11-21", receive("BOOK-NEXT-ED", 10)),
            on("2026-11-21", reserve("d", "BOOK-NEXT-ED", 500, 1_000)),
            on("2026-11-21", reserve("e", "BOOK-NEXT-ED", 1, 1_000)),
            on("2027-03-15", reserve("f", "BOOK-NEXT-ED", 10, 1_000)),
            on("2026-11-21", reserve("g", "CERAMIC-MUG", 1, 1_000)),
        ],
        expect![[r#"
            ok: StockReserved [20 from lead_time]
            error insufficient_stock: insufficient stock of "TABLE-OAK": 1 requested, 0 available
            ok: StockReserved [1000 from lead_time]
            ok: StockReceived
            ok: StockReserved [500 from preorder]
            error insufficient_stock: insufficient stock of "BOOK-NEXT-ED": 1 requested, 0 available
            ok: StockReserved [10 from on_hand]
            error insufficient_stock: insufficient stock of "CERAMIC-MUG": 1 requested, 0 available
              BOOK-NEXT-ED: on_hand 10 reserved 10 allocated 0 available 0 batches [] lead_time r0 p0 preorder r500 p0
              SOFA-3: on_hand 0 reserved 0 allocated 0 available 0 batches [] lead_time r1000 p0 preorder r0 p0
              TABLE-OAK: on_hand 0 reserved 0 allocated 0 available 0 batches [] lead_time r20 p0 preorder r0 p0
        "#]],
    );
    check(
        "wh-dropship",
        vec![
            on("2026-11-21", reserve("g", "CERAMIC-MUG", 100, 1_000)),
            on("2026-11-21", reserve("h", "CERAMIC-MUG", 1, 1_000)),
        ],
        expect![[r#"
            ok: StockReserved [100 from lead_time]
            error insufficient_stock: insufficient stock of "CERAMIC-MUG": 1 requested, 0 available
              CERAMIC-MUG: on_hand 0 reserved 0 allocated 0 available 0 batches [] lead_time r100 p0 preorder r0 p0
        "#]],
    );
}

// Proves a reservation past its time is gone for renewal and checkout even before the
// expiry tick removes it; release is still accepted.
#[test]
fn a_reservation_past_its_time_cannot_be_renewed_or_committed() {
    check(
        "wh-madrid",
        vec![
            on("2026-11-21", receive("KEYBOARD", 2)),
            at("2026-11-21", 0, reserve("cart-1", "KEYBOARD", 1, 1_000)),
            at("2026-11-21", 0, reserve("cart-2", "KEYBOARD", 1, 1_000)),
            at(
                "2026-11-21",
                999,
                Cmd::CommitReservation { reservation: "cart-1".into(), order_line: "o-1/1".into(), quantity: None },
            ),
            at(
                "2026-11-21",
                1_000,
                Cmd::RenewReservation { reservation: "cart-2".into(), expires_at: Timestamp(9_000) },
            ),
            at(
                "2026-11-21",
                1_000,
                Cmd::CommitReservation { reservation: "cart-2".into(), order_line: "o-2/1".into(), quantity: None },
            ),
            at("2026-11-21", 1_001, Cmd::ReleaseReservation { reservation: "cart-2".into() }),
        ],
        expect![[r#"
            ok: StockReceived
            ok: StockReserved [1 from on_hand]
            ok: StockReserved [1 from on_hand]
            ok: ReservationCommitted
            error reservation_expired: reservation "cart-2" has expired
            error reservation_expired: reservation "cart-2" has expired
            ok: ReservationReleased
              order line o-1/1 (KEYBOARD): 1 from OnHand
              KEYBOARD: on_hand 2 reserved 0 allocated 1 available 1 batches [] lead_time r0 p0 preorder r0 p0
        "#]],
    );
}

// Proves reservations expire exactly once, at their time, and renewal moves that time.
#[test]
fn expiry_is_exactly_once() {
    check(
        "wh-madrid",
        vec![
            on("2026-11-21", receive("KEYBOARD", 4)),
            at("2026-11-21", 0, reserve("cart-1", "KEYBOARD", 1, 1_000)),
            at("2026-11-21", 0, reserve("cart-2", "KEYBOARD", 2, 2_000)),
            at("2026-11-21", 500, Cmd::RenewReservation { reservation: "cart-1".into(), expires_at: Timestamp(3_000) }),
            at("2026-11-21", 999, Cmd::ExpireReservations),
            at("2026-11-21", 2_000, Cmd::ExpireReservations),
            at("2026-11-21", 2_000, Cmd::ExpireReservations),
            at("2026-11-21", 2_001, Cmd::ReleaseReservation { reservation: "cart-2".into() }),
            at("2026-11-21", 2_001, Cmd::ReleaseReservation { reservation: "cart-1".into() }),
            at("2026-11-21", 3_000, Cmd::ExpireReservations),
        ],
        expect![[r#"
            ok: StockReceived
            ok: StockReserved [1 from on_hand]
            ok: StockReserved [2 from on_hand]
            ok: ReservationRenewed
            ok: no events
            ok: ReservationExpired
            ok: no events
            error unknown_reservation: reservation "cart-2" does not exist
            ok: ReservationReleased
            ok: no events
              KEYBOARD: on_hand 4 reserved 0 allocated 0 available 4 batches [] lead_time r0 p0 preorder r0 p0
        "#]],
    );
}

// Proves bad input is refused with a clear error and changes nothing.
#[test]
fn bad_input_changes_nothing() {
    check(
        "wh-madrid",
        vec![
            on("2026-11-21", receive("NOPE", 1)),
            on("2026-11-21", receive("MOUSE", 0)),
            on("2026-11-21", receive("MOUSE", 3)),
            on("2026-11-21", receive("MOUSE", u32::MAX)),
            on("2026-11-21", announce("MOUSE", "po-1", 5, "2026-11-20")),
            on("2026-11-21", announce("MOUSE", "po-1", 5, "2026-11-21")),
            on("2026-11-21", announce("MOUSE", "po-1", 5, "2026-11-22")),
            on("2026-11-21", reserve("cart", "MOUSE", 2, 1_000)),
            on("2026-11-21", reserve("cart", "MOUSE", 1, 1_000)),
            on("2026-11-21", Cmd::AdjustStock { sku: "MOUSE".into(), delta: -2, reason: AdjustmentReason::Damage }),
            on("2026-11-21", Cmd::AdjustStock { sku: "MOUSE".into(), delta: -1, reason: AdjustmentReason::Damage }),
            on("2026-11-21", Cmd::AdjustStock { sku: "MOUSE".into(), delta: 0, reason: AdjustmentReason::Found }),
            on(
                "2026-11-21",
                Cmd::ChangeBatch {
                    sku: "MOUSE".into(),
                    batch: "po-9".into(),
                    quantity: 1,
                    expected_date: date("2026-12-01"),
                },
            ),
            on("2026-11-21", Cmd::ReleaseReservation { reservation: "other".into() }),
        ],
        expect![[r#"
            error unknown_sku: product "NOPE" is not sold by this commerce
            error invalid_quantity: quantity 0 is not valid: it must be at least 1
            ok: StockReceived
            error invalid_quantity: quantity 4294967295 is not valid: on-hand would exceed the largest quantity
            error date_in_past: date 2026-11-20 is in the past (today is 2026-11-21)
            ok: BatchAnnounced
            error duplicate_batch: batch "po-1" of "MOUSE" already exists
            ok: StockReserved [2 from on_hand]
            error duplicate_reservation: reservation "cart" already exists
            error adjustment_below_committed: an adjustment of -2 would leave 1 on hand, below the 2 units reserved or allocated
            ok: StockAdjusted
            error invalid_quantity: quantity 0 is not valid: an adjustment must change on-hand
            error unknown_batch: batch "po-9" of "MOUSE" does not exist
            error unknown_reservation: reservation "other" does not exist
              MOUSE: on_hand 2 reserved 2 allocated 0 available 0 batches [po-1:5@2026-11-21 r0 p0] lead_time r0 p0 preorder r0 p0
        "#]],
    );
}

// Proves checkout turns a reservation into an order line (allocated from on-hand, promised
// from a batch), shipping removes only the allocated units, cancelling releases the rest,
// and an accepted return restocks.
#[test]
fn commit_ship_cancel_restock() {
    let commit = |reservation: &str, line: &str| Cmd::CommitReservation {
        reservation: reservation.into(),
        order_line: line.into(),
        quantity: None,
    };
    check(
        "wh-madrid",
        vec![
            on("2026-11-21", receive("WEBCAM", 2)),
            on("2026-11-21", announce("WEBCAM", "po-1", 4, "2026-12-01")),
            on("2026-11-21", reserve("cart-1", "WEBCAM", 3, 1_000)),
            at("2026-11-21", 10, commit("cart-1", "order-1/1")),
            on("2026-11-21", commit("cart-1", "order-1/2")),
            on("2026-11-21", reserve("cart-2", "WEBCAM", 1, 1_000)),
            on("2026-11-21", commit("cart-2", "order-1/1")),
            on("2026-11-21", Cmd::ShipOrderLine { order_line: "order-1/1".into() }),
            on("2026-11-21", Cmd::ShipOrderLine { order_line: "order-1/1".into() }),
            on("2026-11-21", Cmd::CancelOrderLine { order_line: "order-1/1".into() }),
            on("2026-11-21", Cmd::CancelOrderLine { order_line: "order-1/1".into() }),
            on("2026-11-21", Cmd::RestockReturn { sku: "WEBCAM".into(), quantity: 1 }),
        ],
        expect![[r#"
            ok: StockReceived
            ok: BatchAnnounced
            ok: StockReserved [2 from on_hand, 1 from batch po-1]
            ok: ReservationCommitted
            error unknown_reservation: reservation "cart-1" does not exist
            ok: StockReserved [1 from batch po-1]
            error duplicate_order_line: order line "order-1/1" already holds stock in this warehouse
            ok: OrderLineShipped
            error nothing_to_ship: order line "order-1/1" has no allocated units to ship yet
            ok: OrderLineCancelled
            error unknown_order_line: order line "order-1/1" has no stock in this warehouse
            ok: ReturnRestocked
              WEBCAM: on_hand 1 reserved 0 allocated 0 available 1 batches [po-1:4@2026-12-01 r1 p0] lead_time r0 p0 preorder r0 p0
        "#]],
    );
}

fn commit(reservation: &str, line: &str) -> Cmd {
    Cmd::CommitReservation { reservation: reservation.into(), order_line: line.into(), quantity: None }
}

fn arrive(sku: &str, batch: &str, quantity: u32) -> Cmd {
    Cmd::ReceiveBatch { sku: sku.into(), batch: batch.into(), quantity }
}

// Proves automatic allocation on arrival: promised order lines are served oldest first, a
// short delivery moves the unserved remainder to the next batch with room, carts come after
// orders and lose what nobody can serve, and the next arrival completes the moved promise.
#[test]
fn arrival_allocates_oldest_first_and_moves_the_shortfall() {
    check(
        "wh-madrid",
        vec![
            on("2026-11-21", announce("HEADPHONES", "po-1", 6, "2026-12-01")),
            on("2026-11-21", announce("HEADPHONES", "po-2", 3, "2026-12-10")),
            at("2026-11-21", 20, reserve("cart-b", "HEADPHONES", 2, 9_000)),
            at("2026-11-21", 10, reserve("cart-a", "HEADPHONES", 3, 9_000)),
            at("2026-11-21", 30, commit("cart-b", "order-b/1")),
            at("2026-11-21", 10, commit("cart-a", "order-a/1")),
            on("2026-11-21", reserve("cart-c", "HEADPHONES", 1, 9_000)),
            on("2026-11-21", reserve("cart-d", "HEADPHONES", 2, 9_000)),
            on("2026-12-01", arrive("HEADPHONES", "po-1", 4)),
            on("2026-12-10", arrive("HEADPHONES", "po-2", 3)),
            on("2026-12-10", arrive("HEADPHONES", "po-2", 3)),
        ],
        expect![[r#"
            ok: BatchAnnounced
            ok: BatchAnnounced
            ok: StockReserved [2 from batch po-1]
            ok: StockReserved [3 from batch po-1]
            ok: ReservationCommitted
            ok: ReservationCommitted
            ok: StockReserved [1 from batch po-1]
            ok: StockReserved [2 from batch po-2]
            ok: BatchArrived, PromiseAllocated, PromiseAllocated, PromiseMoved, ReservationShortened, BatchClosed
            ok: BatchArrived, PromiseAllocated, ReservationSourced, BatchClosed
            error unknown_batch: batch "po-2" of "HEADPHONES" does not exist
              order line order-a/1 (HEADPHONES): 3 from OnHand
              order line order-b/1 (HEADPHONES): 2 from OnHand
              HEADPHONES: on_hand 7 reserved 2 allocated 5 available 0 batches [] lead_time r0 p0 preorder r0 p0
        "#]],
    );
}

// Proves a shortfall with no later batch leaves the promise at risk, a batch announced
// later takes the at-risk units (with its date), and an over-delivery becomes free stock.
#[test]
fn arrival_at_risk_and_over_delivery() {
    check(
        "wh-madrid",
        vec![
            on("2026-11-21", announce("WEBCAM", "po-1", 3, "2026-12-01")),
            on("2026-11-21", reserve("cart-a", "WEBCAM", 3, 9_000)),
            on("2026-11-21", commit("cart-a", "order-a/1")),
            on("2026-12-01", arrive("WEBCAM", "po-1", 1)),
            on("2026-12-01", announce("WEBCAM", "po-2", 2, "2026-12-05")),
            on("2026-12-05", arrive("WEBCAM", "po-2", 5)),
        ],
        expect![[r#"
            ok: BatchAnnounced
            ok: StockReserved [3 from batch po-1]
            ok: ReservationCommitted
            ok: BatchArrived, PromiseAllocated, PromiseAtRisk, BatchClosed
            ok: BatchAnnounced, AtRiskPromised
            ok: BatchArrived, PromiseAllocated, BatchClosed
              order line order-a/1 (WEBCAM): 3 from OnHand
              WEBCAM: on_hand 6 reserved 0 allocated 3 available 3 batches [] lead_time r0 p0 preorder r0 p0
        "#]],
    );
}

// Proves at-risk units are served by stock that comes in later, oldest order first: a
// later batch with room takes what it can at arrival, then
// free receipts, restocked returns and positive adjustments allocate them before any cart
// can reserve those units.
#[test]
fn at_risk_units_are_served_by_later_stock() {
    check(
        "wh-madrid",
        vec![
            on("2026-11-21", announce("WEBCAM", "po-1", 4, "2026-12-01")),
            at("2026-11-21", 1, reserve("cart-a", "WEBCAM", 2, 9_000)),
            at("2026-11-21", 1, commit("cart-a", "order-a/1")),
            at("2026-11-21", 2, reserve("cart-b", "WEBCAM", 2, 9_000)),
            at("2026-11-21", 2, commit("cart-b", "order-b/1")),
            on("2026-11-22", announce("WEBCAM", "po-2", 1, "2026-12-10")),
            on("2026-12-01", arrive("WEBCAM", "po-1", 1)),
            on("2026-12-02", receive("WEBCAM", 1)),
            on("2026-12-02", reserve("cart-c", "WEBCAM", 1, 9_000)),
            on("2026-12-03", Cmd::RestockReturn { sku: "WEBCAM".into(), quantity: 2 }),
            on("2026-12-03", Cmd::AdjustStock { sku: "WEBCAM".into(), delta: 5, reason: AdjustmentReason::Found }),
        ],
        expect![[r#"
            ok: BatchAnnounced
            ok: StockReserved [2 from batch po-1]
            ok: ReservationCommitted
            ok: StockReserved [2 from batch po-1]
            ok: ReservationCommitted
            ok: BatchAnnounced
            ok: BatchArrived, PromiseAllocated, PromiseMoved, PromiseAtRisk, BatchClosed
            ok: StockReceived, AtRiskAllocated
            error insufficient_stock: insufficient stock of "WEBCAM": 1 requested, 0 available
            ok: ReturnRestocked, AtRiskAllocated
            ok: StockAdjusted
              order line order-a/1 (WEBCAM): 1 from OnHand, 1 from Batch("po-2")
              order line order-b/1 (WEBCAM): 2 from OnHand
              WEBCAM: on_hand 9 reserved 0 allocated 3 available 6 batches [po-2:1@2026-12-10 r0 p1] lead_time r0 p0 preorder r0 p0
        "#]],
    );
}

// Proves `oversold_units` counts units held beyond what exists (it never happens through
// `decide`; here a crafted event forces it), so the metric built on it would show it.
#[test]
fn oversold_units_counts_what_is_held_beyond_stock() {
    use mercato_engine::inventory::{Parts, Reservation, Source, SupplyPart};
    let mut stock = WarehouseStock::new("wh-madrid");
    stock.apply(&InventoryEvent::StockReceived { sku: "KEYBOARD".into(), quantity: 1 });
    assert_eq!(stock.oversold_units(), 0);
    let parts: Parts = [SupplyPart { source: Source::OnHand, quantity: 3 }].into_iter().collect();
    let reservation = Reservation { id: "r".into(), sku: "KEYBOARD".into(), expires_at: Timestamp(1), parts };
    stock.apply(&InventoryEvent::StockReserved { reservation });
    assert_eq!(stock.oversold_units(), 2);
    assert_eq!(stock.reservation_count(), 1);
}

// Proves a commit undone gives the cart back exactly what it held (same sources, on hand
// and from a batch), that the invariants hold throughout, that a reservation id in use or
// an unknown order line is refused, and that a commit expecting more units than the
// reservation holds (a short arrival cut it) is refused.
#[test]
fn a_commit_undone_gives_the_reservation_back_whole() {
    let commerce = Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("demo");
    let ctx = InventoryCtx { commerce: &commerce, now: Timestamp(0), today: date("2026-11-21") };
    let mut stock = WarehouseStock::new("wh-madrid");
    let run = |stock: &mut WarehouseStock, command: Cmd| -> Result<(), String> {
        let events = stock.decide(&command, &ctx).map_err(|e| e.code().to_owned())?;
        for event in &events {
            stock.apply(event);
            let broken = check_invariants(stock, &commerce);
            assert!(broken.is_empty(), "{broken:?}");
        }
        Ok(())
    };
    run(&mut stock, receive("HEADPHONES", 2)).expect("received");
    run(&mut stock, announce("HEADPHONES", "b1", 5, "2026-12-01")).expect("announced");
    run(&mut stock, reserve("cart-1", "HEADPHONES", 4, 900_000)).expect("reserved");
    let held = stock.clone();
    let short = Cmd::CommitReservation { reservation: "cart-1".into(), order_line: "o-1/1".into(), quantity: Some(5) };
    assert_eq!(run(&mut stock, short), Err("reservation_changed".into()));
    let whole = Cmd::CommitReservation { reservation: "cart-1".into(), order_line: "o-1/1".into(), quantity: Some(4) };
    run(&mut stock, whole).expect("committed");
    run(&mut stock, reserve("cart-2", "HEADPHONES", 1, 900_000)).expect("reserved");
    let undo = |reservation: &str, line: &str| Cmd::UncommitReservation {
        order_line: line.into(),
        reservation: reservation.into(),
        expires_at: Timestamp(900_000),
    };
    assert_eq!(run(&mut stock, undo("cart-2", "o-1/1")), Err("duplicate_reservation".into()));
    assert_eq!(run(&mut stock, undo("cart-1", "o-9/9")), Err("unknown_order_line".into()));
    run(&mut stock, Cmd::ReleaseReservation { reservation: "cart-2".into() }).expect("released");
    run(&mut stock, undo("cart-1", "o-1/1")).expect("undone");
    assert_eq!(stock, held, "the reservation is back as it was, sources and all");
}
