//! Model test of the inventory: random command sequences (many carts on the same SKUs,
//! expiries, arrivals and short deliveries, commits, shipments, cancellations, returns,
//! adjustments) on one SKU of each stock policy. After every event the invariants hold;
//! units are conserved against a naive reference count kept from the events alone; and
//! replaying all events onto an empty state rebuilds the state exactly.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use mercato_engine::inventory::{
    check_invariants, AdjustmentReason, InventoryCommand as Cmd, InventoryCtx, InventoryEvent, Timestamp,
    WarehouseStock,
};
use mercato_engine::{Commerce, KNOWN_GATEWAYS};
use proptest::prelude::*;

const DEMO: &str = include_str!("../../config/demo.toml");

/// One SKU per policy: stock only, backorder against batches, capped lead time, preorder.
const SKUS: [&str; 4] = ["MOUSE", "HEADPHONES", "TABLE-OAK", "BOOK-NEXT-ED"];

#[derive(Debug, Clone)]
enum Op {
    Receive {
        sku: usize,
        quantity: u32,
    },
    Announce {
        sku: usize,
        batch: usize,
        quantity: u32,
        in_days: u64,
    },
    Arrive {
        sku: usize,
        batch: usize,
        quantity: u32,
    },
    Adjust {
        sku: usize,
        delta: i64,
    },
    Reserve {
        cart: usize,
        sku: usize,
        quantity: u32,
    },
    Release {
        cart: usize,
    },
    Renew {
        cart: usize,
    },
    Commit {
        cart: usize,
    },
    Ship {
        line: usize,
    },
    Cancel {
        line: usize,
    },
    Restock {
        sku: usize,
        quantity: u32,
    },
    /// Time passes (milliseconds), then due reservations expire.
    Wait {
        millis: i64,
    },
    /// A day passes.
    NextDay,
}

fn op() -> impl Strategy<Value = Op> {
    let sku = 0..SKUS.len();
    prop_oneof![
        1 => (sku.clone(), 1..6u32).prop_map(|(sku, quantity)| Op::Receive { sku, quantity }),
        1 => (sku.clone(), 0..3usize, 1..8u32, 0..20u64)
            .prop_map(|(sku, batch, quantity, in_days)| Op::Announce { sku, batch, quantity, in_days }),
        1 => (sku.clone(), 0..3usize, 1..10u32).prop_map(|(sku, batch, quantity)| Op::Arrive { sku, batch, quantity }),
        1 => (sku.clone(), -4..4i64).prop_map(|(sku, delta)| Op::Adjust { sku, delta }),
        3 => (0..8usize, sku.clone(), 1..8u32).prop_map(|(cart, sku, quantity)| Op::Reserve { cart, sku, quantity }),
        1 => (0..8usize).prop_map(|cart| Op::Release { cart }),
        1 => (0..8usize).prop_map(|cart| Op::Renew { cart }),
        2 => (0..8usize).prop_map(|cart| Op::Commit { cart }),
        1 => (0..12usize).prop_map(|line| Op::Ship { line }),
        1 => (0..12usize).prop_map(|line| Op::Cancel { line }),
        1 => (sku.clone(), 1..3u32).prop_map(|(sku, quantity)| Op::Restock { sku, quantity }),
        1 => (1..2_000i64).prop_map(|millis| Op::Wait { millis }),
        1 => Just(Op::NextDay),
    ]
}

/// The reservation and order-line ids a cart or line index stands for. A cart reserves
/// afresh each time, so its reservation id carries a generation.
struct Names {
    generation: BTreeMap<usize, u32>,
    lines: u32,
}

impl Names {
    fn reservation(&self, cart: usize) -> String {
        format!("cart-{cart}-{}", self.generation.get(&cart).copied().unwrap_or(0))
    }
}

/// Net units in and out per SKU, counted from events alone.
#[derive(Default)]
struct UnitLedger {
    net: BTreeMap<String, i64>,
}

impl UnitLedger {
    fn record(&mut self, event: &InventoryEvent, stock: &WarehouseStock) {
        let (sku, change) = match event {
            InventoryEvent::StockReceived { sku, quantity }
            | InventoryEvent::ReturnRestocked { sku, quantity }
            | InventoryEvent::BatchArrived { sku, quantity, .. } => (sku.clone(), i64::from(*quantity)),
            InventoryEvent::StockAdjusted { sku, delta, .. } => (sku.clone(), *delta),
            InventoryEvent::OrderLineShipped { order_line, quantity } => {
                let sku = stock.order_line(order_line).map(|l| l.sku.clone()).unwrap_or_default();
                (sku, -i64::from(*quantity))
            }
            _ => return,
        };
        *self.net.entry(sku).or_default() += change;
    }
}

fn command(op: &Op, names: &mut Names, today: NaiveDate, now: i64) -> Cmd {
    let batch_id = |sku: usize, batch: usize| format!("po-{sku}-{batch}");
    match *op {
        Op::Receive { sku, quantity } => Cmd::ReceiveStock { sku: SKUS[sku].into(), quantity },
        Op::Announce { sku, batch, quantity, in_days } => Cmd::AnnounceBatch {
            sku: SKUS[sku].into(),
            batch: batch_id(sku, batch),
            quantity,
            expected_date: today.checked_add_days(Days::new(in_days)).unwrap_or(today),
        },
        Op::Arrive { sku, batch, quantity } => {
            Cmd::ReceiveBatch { sku: SKUS[sku].into(), batch: batch_id(sku, batch), quantity }
        }
        Op::Adjust { sku, delta } => {
            Cmd::AdjustStock { sku: SKUS[sku].into(), delta, reason: AdjustmentReason::CountCorrection }
        }
        Op::Reserve { cart, sku, quantity } => {
            *names.generation.entry(cart).or_default() += 1;
            Cmd::Reserve {
                reservation: names.reservation(cart),
                sku: SKUS[sku].into(),
                quantity,
                expires_at: Timestamp(now + 1_000),
            }
        }
        Op::Release { cart } => Cmd::ReleaseReservation { reservation: names.reservation(cart) },
        Op::Renew { cart } => {
            Cmd::RenewReservation { reservation: names.reservation(cart), expires_at: Timestamp(now + 1_000) }
        }
        Op::Commit { cart } => {
            names.lines += 1;
            Cmd::CommitReservation { reservation: names.reservation(cart), order_line: format!("line-{}", names.lines) }
        }
        Op::Ship { line } => Cmd::ShipOrderLine { order_line: format!("line-{line}") },
        Op::Cancel { line } => Cmd::CancelOrderLine { order_line: format!("line-{line}") },
        Op::Restock { sku, quantity } => Cmd::RestockReturn { sku: SKUS[sku].into(), quantity },
        Op::Wait { .. } | Op::NextDay => Cmd::ExpireReservations,
    }
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let commerce = Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("demo is valid");
    let mut stock = WarehouseStock::new("wh-madrid");
    let mut names = Names { generation: BTreeMap::new(), lines: 0 };
    let mut ledger = UnitLedger::default();
    let mut history = Vec::new();
    let mut today = NaiveDate::from_ymd_opt(2026, 11, 21).expect("a date");
    let mut now = 0i64;
    for op in ops {
        match op {
            Op::Wait { millis } => now += millis,
            Op::NextDay => today = today.succ_opt().unwrap_or(today),
            _ => {}
        }
        let command = command(op, &mut names, today, now);
        let ctx = InventoryCtx { commerce: &commerce, now: Timestamp(now), today };
        // A refused command changes nothing: `decide` takes the state by shared reference.
        let Ok(events) = stock.decide(&command, &ctx) else { continue };
        for event in &events {
            ledger.record(event, &stock);
            stock.apply(event);
            let broken = check_invariants(&stock, &commerce);
            prop_assert!(broken.is_empty(), "after {:?} from {:?}: {:?}", event, op, broken);
        }
        if matches!(op, Op::Wait { .. }) {
            prop_assert!(stock.reservations().all(|r| r.expires_at.0 > now), "a due reservation survived expiry");
        }
        history.extend(events);
    }
    for (sku, record) in stock.records() {
        let net = ledger.net.get(sku).copied().unwrap_or(0);
        prop_assert_eq!(net, i64::from(record.on_hand), "units in - units out = on-hand for {}", sku);
    }
    let mut replayed = WarehouseStock::new("wh-madrid");
    for event in &history {
        replayed.apply(event);
    }
    prop_assert_eq!(replayed, stock);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    // Proves the invariants, conservation of units and replay hold for any sequence.
    #[test]
    fn random_sequences_keep_every_invariant(ops in proptest::collection::vec(op(), 1..80)) {
        run(&ops)?;
    }
}
