//! Model test of the inventory: random command sequences (many carts on the same SKUs,
//! expiries, arrivals and short deliveries, commits, shipments, cancellations, returns,
//! adjustments) on one SKU of each stock policy. After every event the invariants hold;
//! units are conserved against a naive reference count kept from the events alone; and
//! replaying all events onto an empty state rebuilds the state exactly.
//!
//! A naive reference model, written here without the engine's `plan` or `availability`,
//! says how many units each SKU can still sell. It knows the demo policies by hand
//! (`RefPolicy`) and reads only the public state: on-hand and each batch's quantity from
//! the record, and the parts every reservation and order line holds, summed source by
//! source (never the `reserved`, `allocated` or `promised` counters). A source's free
//! units are its capacity (on-hand, a batch's quantity, the lead-time or preorder cap)
//! minus the parts held from it. A SKU sells from on-hand (not before a preorder's
//! release), then, by policy, from its batches earliest first, from the lead-time cap
//! (unlimited when uncapped) or from the preorder cap (only before release).
//!
//! Before every reservation the engine must agree with the model: it reserves exactly when
//! the quantity fits the model's total (no overselling, no underselling), a refusal reports
//! the model's total as available, and a reservation takes on-hand first and every source
//! within its free units, in the model's order. After every command the engine's
//! availability reports the model's on-hand as `now` and the model's total as `total()`.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use mercato_engine::commerce::model::StockPolicy;
use mercato_engine::inventory::{
    check_invariants, AdjustmentReason, InventoryCommand as Cmd, InventoryCtx, InventoryEvent, Source, SupplyPart,
    Timestamp, WarehouseStock,
};
use mercato_engine::{Commerce, DomainError, KNOWN_GATEWAYS};
use proptest::prelude::*;

const DEMO: &str = include_str!("../../config/demo.toml");

/// One SKU per policy: stock only, backorder against batches, capped lead time, preorder.
const SKUS: [&str; 4] = ["MOUSE", "HEADPHONES", "TABLE-OAK", "BOOK-NEXT-ED"];

/// The warehouse the sequences run in; none of `SKUS` overrides its policy there.
const WAREHOUSE: &str = "wh-madrid";

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a valid calendar date")
}

/// The first day of most sequences, long before BOOK-NEXT-ED's release.
fn first_day() -> NaiveDate {
    date(2026, 11, 21)
}

/// The day before BOOK-NEXT-ED's release (2027-03-15): one `NextDay` crosses it.
fn eve_of_release() -> NaiveDate {
    date(2027, 3, 14)
}

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
    Reduce {
        cart: usize,
        quantity: u32,
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
        1 => (0..8usize, 1..6u32).prop_map(|(cart, quantity)| Op::Reduce { cart, quantity }),
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
                let sku = stock.order_line(order_line).map(|l| l.sku.to_string()).unwrap_or_default();
                (sku, -i64::from(*quantity))
            }
            _ => return,
        };
        *self.net.entry(sku).or_default() += change;
    }
}

/// The stock policies of `SKUS` in the reference model, copied by hand from
/// `config/demo.toml` (`reference_policies_match_the_demo_config` keeps the two in step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefPolicy {
    StockOnly,
    BackorderIncoming,
    /// None: uncapped, so unlimited.
    LeadTime {
        cap: Option<u32>,
    },
    Preorder {
        release: NaiveDate,
        cap: u32,
    },
}

fn ref_policy(sku: &str) -> RefPolicy {
    match sku {
        "MOUSE" => RefPolicy::StockOnly,
        "HEADPHONES" => RefPolicy::BackorderIncoming,
        "TABLE-OAK" => RefPolicy::LeadTime { cap: Some(20) },
        "BOOK-NEXT-ED" => RefPolicy::Preorder { release: date(2027, 3, 15), cap: 500 },
        other => panic!("the reference model has no policy for {other}"),
    }
}

/// Units of `sku` held from `source` by all reservations and order lines, summed by hand.
fn held_from(stock: &WarehouseStock, sku: &str, source: &Source) -> u64 {
    let carts = stock.reservations().filter(|r| &*r.sku == sku).flat_map(|r| r.parts.iter());
    let lines = stock.order_lines().filter(|l| &*l.sku == sku).flat_map(|l| l.parts.iter());
    carts.chain(lines).filter(|p| &p.source == source).map(|p| u64::from(p.quantity)).sum()
}

/// The reference model of one SKU on one day: the sources it may sell from, in the order a
/// reservation takes them, each with its free units (none means unlimited).
#[derive(Debug)]
struct Sellable {
    sources: Vec<(Source, Option<u64>)>,
}

impl Sellable {
    fn of(stock: &WarehouseStock, sku: &str, today: NaiveDate) -> Self {
        let free = |capacity: u64, source: &Source| capacity.saturating_sub(held_from(stock, sku, source));
        let record = stock.record(sku);
        let policy = ref_policy(sku);
        let released = match policy {
            RefPolicy::Preorder { release, .. } => today >= release,
            _ => true,
        };
        let mut sources = Vec::new();
        if released {
            let on_hand = record.map_or(0, |r| u64::from(r.on_hand));
            sources.push((Source::OnHand, Some(free(on_hand, &Source::OnHand))));
        }
        match policy {
            RefPolicy::StockOnly => {}
            RefPolicy::BackorderIncoming => {
                let mut batches: Vec<_> = record.map(|r| r.batches.iter().collect()).unwrap_or_default();
                batches.sort_by(|a, b| a.expected_date.cmp(&b.expected_date).then_with(|| a.id.cmp(&b.id)));
                for batch in batches {
                    let source = Source::Batch(batch.id.clone());
                    let units = free(u64::from(batch.quantity), &source);
                    sources.push((source, Some(units)));
                }
            }
            RefPolicy::LeadTime { cap } => {
                sources.push((Source::LeadTime, cap.map(|cap| free(u64::from(cap), &Source::LeadTime))));
            }
            RefPolicy::Preorder { cap, .. } => {
                if !released {
                    sources.push((Source::Preorder, Some(free(u64::from(cap), &Source::Preorder))));
                }
            }
        }
        Self { sources }
    }

    /// Units sellable from on-hand today.
    fn on_hand(&self) -> u64 {
        self.free(&Source::OnHand).flatten().unwrap_or(0)
    }

    /// Units sellable in all, on-hand included; none means unlimited.
    fn total(&self) -> Option<u64> {
        self.sources.iter().map(|(_, units)| *units).sum()
    }

    /// The free units of `source`: none when the SKU may not sell from it at all.
    fn free(&self, source: &Source) -> Option<Option<u64>> {
        self.sources.iter().find(|(s, _)| s == source).map(|(_, units)| *units)
    }

    /// The parts a reservation of `quantity` takes: each source in turn, all it has free.
    fn fill(&self, quantity: u32) -> Vec<SupplyPart> {
        let mut remaining = u64::from(quantity);
        let mut parts = Vec::new();
        for (source, units) in &self.sources {
            let taken = units.map_or(remaining, |units| units.min(remaining));
            if taken > 0 {
                let quantity = u32::try_from(taken).expect("a part is at most the requested quantity");
                parts.push(SupplyPart { source: source.clone(), quantity });
                remaining -= taken;
            }
        }
        parts
    }
}

/// Checks the engine's answer to reserving `quantity` units of `sku` against `model`, the
/// reference model of the state just before.
fn check_reserve(
    model: &Sellable,
    sku: &str,
    quantity: u32,
    outcome: &Result<Vec<InventoryEvent>, DomainError>,
) -> Result<(), TestCaseError> {
    let total = model.total();
    let fits = total.is_none_or(|total| u64::from(quantity) <= total);
    match outcome {
        Ok(events) => {
            prop_assert!(fits, "oversold: reserved {} x{} but the model sells at most {:?}", sku, quantity, total);
            let [InventoryEvent::StockReserved { reservation }] = events.as_slice() else {
                return Err(TestCaseError::fail(format!("a reservation is one StockReserved event, got {events:?}")));
            };
            let parts = &reservation.parts;
            let sum: u64 = parts.iter().map(|p| u64::from(p.quantity)).sum();
            prop_assert_eq!(sum, u64::from(quantity), "the parts of {:?} sum to the quantity", parts);
            let on_hand: u64 = parts.iter().filter(|p| p.source == Source::OnHand).map(|p| u64::from(p.quantity)).sum();
            prop_assert_eq!(on_hand, u64::from(quantity).min(model.on_hand()), "on-hand part of {:?}", parts);
            if on_hand > 0 {
                prop_assert_eq!(
                    parts.first().map(|p| &p.source),
                    Some(&Source::OnHand),
                    "on-hand first in {:?}",
                    parts
                );
            }
            for part in parts {
                prop_assert!(part.quantity > 0, "empty part in {:?}", parts);
                match model.free(&part.source) {
                    None => prop_assert!(false, "{:?} takes from a source {} may not sell from", part, sku),
                    Some(None) => {}
                    Some(Some(free)) => prop_assert!(
                        u64::from(part.quantity) <= free,
                        "oversold: {:?} but the source has {} free",
                        part,
                        free
                    ),
                }
            }
            let expected = model.fill(quantity);
            prop_assert_eq!(parts.as_slice(), expected.as_slice(), "sources taken in the model's order");
        }
        Err(DomainError::InsufficientStock { sku: refused, requested, available }) => {
            prop_assert!(!fits, "under-sold: refused {} x{} but the model sells {:?}", sku, quantity, total);
            prop_assert_eq!(refused.as_str(), sku);
            prop_assert_eq!(*requested, quantity);
            let total = total.expect("only a limited supply refuses");
            prop_assert_eq!(u64::from(*available), total.min(u64::from(u32::MAX)), "available reported for {}", sku);
        }
        Err(other) => {
            return Err(TestCaseError::fail(format!("reserving {sku} x{quantity} refused for another reason: {other}")))
        }
    }
    Ok(())
}

/// Checks the engine's availability of every SKU on `today` against the reference model.
fn check_availability(
    stock: &WarehouseStock,
    commerce: &Commerce,
    today: NaiveDate,
    after: &Op,
) -> Result<(), TestCaseError> {
    for sku in SKUS {
        let model = Sellable::of(stock, sku, today);
        let availability = stock.availability_of(sku, commerce, today).expect("the demo sells every SKU of the test");
        prop_assert_eq!(
            u64::from(availability.now),
            model.on_hand(),
            "{} sellable now on {} after {:?}: {:?}",
            sku,
            today,
            after,
            availability
        );
        prop_assert_eq!(
            availability.total(),
            model.total(),
            "{} sellable in all on {} after {:?}: {:?}",
            sku,
            today,
            after,
            availability
        );
    }
    Ok(())
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
        Op::Reduce { cart, quantity } => Cmd::ReduceReservation { reservation: names.reservation(cart), quantity },
        Op::Renew { cart } => {
            Cmd::RenewReservation { reservation: names.reservation(cart), expires_at: Timestamp(now + 1_000) }
        }
        Op::Commit { cart } => {
            names.lines += 1;
            Cmd::CommitReservation {
                reservation: names.reservation(cart),
                order_line: format!("line-{}", names.lines),
                quantity: None,
            }
        }
        Op::Ship { line } => Cmd::ShipOrderLine { order_line: format!("line-{line}") },
        Op::Cancel { line } => Cmd::CancelOrderLine { order_line: format!("line-{line}") },
        Op::Restock { sku, quantity } => Cmd::RestockReturn { sku: SKUS[sku].into(), quantity },
        Op::Wait { .. } | Op::NextDay => Cmd::ExpireReservations,
    }
}

fn run(ops: &[Op], first_day: NaiveDate) -> Result<(), TestCaseError> {
    let commerce = Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("demo is valid");
    let mut stock = WarehouseStock::new(WAREHOUSE);
    let mut names = Names { generation: BTreeMap::new(), lines: 0 };
    let mut ledger = UnitLedger::default();
    let mut history = Vec::new();
    let mut today = first_day;
    let mut now = 0i64;
    for op in ops {
        match op {
            Op::Wait { millis } => now += millis,
            Op::NextDay => today = today.succ_opt().unwrap_or(today),
            _ => {}
        }
        let command = command(op, &mut names, today, now);
        let ctx =
            InventoryCtx { commerce: &commerce, now: Timestamp(now), today, shared: &mercato_engine::inventory::Alone };
        let before = match *op {
            Op::Reserve { sku, quantity, .. } => Some((Sellable::of(&stock, SKUS[sku], today), SKUS[sku], quantity)),
            _ => None,
        };
        let outcome = stock.decide(&command, &ctx);
        if let Some((model, sku, quantity)) = before {
            check_reserve(&model, sku, quantity, &outcome)?;
        }
        // A refused command changes nothing: `decide` takes the state by shared reference.
        if let Ok(events) = outcome {
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
        check_availability(&stock, &commerce, today, op)?;
    }
    for (sku, record) in stock.records() {
        let net = ledger.net.get(sku).copied().unwrap_or(0);
        prop_assert_eq!(net, i64::from(record.on_hand), "units in - units out = on-hand for {}", sku);
    }
    let mut replayed = WarehouseStock::new(WAREHOUSE);
    for event in &history {
        replayed.apply(event);
    }
    prop_assert_eq!(replayed, stock);
    Ok(())
}

// Proves the hand-written policies of the reference model are the demo's, so the model
// checks the engine against the configuration it actually runs.
#[test]
fn reference_policies_match_the_demo_config() {
    let commerce = Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("demo is valid");
    for sku in SKUS {
        let engine = commerce.stock_policy(sku, WAREHOUSE).expect("the demo sells every SKU of the test");
        let same = match (ref_policy(sku), engine) {
            (RefPolicy::StockOnly, StockPolicy::StockOnly)
            | (RefPolicy::BackorderIncoming, StockPolicy::BackorderIncoming) => true,
            (RefPolicy::LeadTime { cap }, StockPolicy::BackorderLeadTime { cap: engine_cap, .. }) => cap == engine_cap,
            (RefPolicy::Preorder { release, cap }, StockPolicy::Preorder { release_date, cap: engine_cap }) => {
                release == release_date && cap == engine_cap
            }
            _ => false,
        };
        assert!(same, "{sku}: reference model {:?}, demo config {engine:?}", ref_policy(sku));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    // Proves the invariants, conservation of units and replay hold for any sequence, and
    // that the engine neither oversells nor under-sells: every reservation and every
    // availability agrees with the reference model.
    #[test]
    fn random_sequences_keep_every_invariant(ops in proptest::collection::vec(op(), 1..80)) {
        run(&ops, first_day())?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    // Proves the same across BOOK-NEXT-ED's release: before it only the preorder allowance
    // sells, from it only on-hand, and the engine agrees with the reference model on both
    // sides while reservations and order lines taken before the release are still held.
    #[test]
    fn random_sequences_across_a_preorder_release_keep_every_invariant(
        ops in proptest::collection::vec(op(), 1..80)
    ) {
        run(&ops, eve_of_release())?;
    }
}
