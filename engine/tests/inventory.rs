//! Inventory scenarios on the demo commerce: each command's outcome and the resulting stock,
//! with the invariants checked after every event and the whole history replayed onto an
//! empty state to prove it rebuilds the same one.

mod inventory_support;

use inventory_support::*;

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
