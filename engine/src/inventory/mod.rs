//! Inventory (IMS) for one warehouse: stock records per SKU, incoming batches, and the
//! reservations carts hold, under the four stock policies.
//!
//! Every change follows one shape: `decide` validates a command against the state and
//! returns the events it causes (changing nothing); `apply` folds an event into the state
//! (infallible, deterministic). Replaying the events onto an empty state rebuilds it.
//!
//! # Layout
//! - `mod.rs`: commands, events and `WarehouseStock`'s reads; `decide.rs` and `apply.rs`:
//!   the two halves of every change.
//! - `record`: `StockRecord`, `Batch`, `Reservation` and the quantities they hold;
//!   `table`: the reservations, found by their own id.
//! - `supply`: which sources serve a quantity under a policy, and their ready dates.
//! - `arrival`: batch arrival and automatic allocation (oldest order first, then carts).
//! - `availability`: what a SKU can still be sold as, now and by date.
//! - `selection`: which warehouses serve a cart (fewest logistic centers from on-hand first).
//! - `invariants`: the rules every state must keep, checked after every event in tests.

mod apply;
mod arrival;
mod availability;
mod decide;
mod invariants;
mod record;
mod selection;
mod supply;
mod table;

use std::sync::Arc;

use rustc_hash::FxHashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use availability::{availability, Across, Availability, DatedSupply};
pub use invariants::{check_invariants, check_shared_caps};
pub use record::{Batch, Commitments, OrderLineStock, Parts, Reservation, Source, StockRecord, SupplyPart, Timestamp};
pub use selection::{
    candidate_warehouses, select_sources, Candidate, SourceAssignment, SELECTION_CENTERS_SEARCHED_MAX,
};
pub use supply::{plan, ready_date};

use crate::commerce::model::StockPolicy;
use crate::commerce::Commerce;
use crate::error::DomainError;
use table::ReservationTable;

/// What a decision may read: the commerce (products and their policies), the time, and
/// what the commerce's other warehouses have committed of the caps they share.
pub struct InventoryCtx<'a> {
    pub commerce: &'a Commerce,
    pub now: Timestamp,
    pub today: NaiveDate,
    pub shared: &'a dyn SharedCaps,
}

/// Units of a SKU's shared cap (`Commerce::shares_cap`) committed (reserved or promised)
/// in the commerce's other warehouses.
pub trait SharedCaps {
    fn elsewhere(&self, sku: &str) -> u64;
}

/// A warehouse alone: nothing is committed elsewhere (tests and benchmarks of one
/// warehouse).
pub struct Alone;

impl SharedCaps for Alone {
    fn elsewhere(&self, _: &str) -> u64 {
        0
    }
}

/// Why on-hand was corrected by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentReason {
    CountCorrection,
    Damage,
    Loss,
    Found,
}

impl AdjustmentReason {
    pub fn as_str(self) -> &'static str {
        match self {
            AdjustmentReason::CountCorrection => "count_correction",
            AdjustmentReason::Damage => "damage",
            AdjustmentReason::Loss => "loss",
            AdjustmentReason::Found => "found",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InventoryCommand {
    /// Units received outside any announced batch.
    ReceiveStock {
        sku: String,
        quantity: u32,
    },
    AnnounceBatch {
        sku: String,
        batch: String,
        quantity: u32,
        expected_date: NaiveDate,
    },
    ChangeBatch {
        sku: String,
        batch: String,
        quantity: u32,
        expected_date: NaiveDate,
    },
    AdjustStock {
        sku: String,
        delta: i64,
        reason: AdjustmentReason,
    },
    Reserve {
        reservation: String,
        sku: String,
        quantity: u32,
        expires_at: Timestamp,
    },
    RenewReservation {
        reservation: String,
        expires_at: Timestamp,
    },
    ReleaseReservation {
        reservation: String,
    },
    /// A cart keeps fewer units: `quantity` units leave the reservation, its latest
    /// sources first, so what it keeps is what is ready soonest. Fewer than it holds: to
    /// let go of everything, release it.
    ReduceReservation {
        reservation: String,
        quantity: u32,
    },
    /// Expires every reservation whose time has come (`expires_at <= now`).
    ExpireReservations,
    /// Checkout: the reservation's units become the order line's, allocated from on-hand or
    /// promised from their other sources.
    CommitReservation {
        reservation: String,
        order_line: String,
        /// The units the order counts on: a reservation that holds fewer (a short batch
        /// arrival cut it) is refused, so the order is never placed on units it lacks.
        quantity: Option<u32>,
    },
    /// A checkout that could not finish gives a committed reservation back to its cart:
    /// the order line's units become the reservation `reservation` again (same sources),
    /// held until `expires_at`. Refused once any unit is at risk.
    UncommitReservation {
        order_line: String,
        reservation: String,
        expires_at: Timestamp,
    },
    /// The order line's allocated units leave the warehouse.
    ShipOrderLine {
        order_line: String,
    },
    /// The order line is cancelled: its allocations and promises are released.
    CancelOrderLine {
        order_line: String,
    },
    /// The order has shipped `through` units of the line under this key in all: the
    /// allocated units not shipped yet up to that many leave (none when already shipped).
    ShipOrderUnits {
        order_line: String,
        through: u32,
    },
    /// The order has cancelled `through` units of the line under this key in all: what
    /// they held is released, furthest supply first (none when already released).
    ReleaseOrderUnits {
        order_line: String,
        through: u32,
    },
    /// Units of an accepted return go back on hand.
    RestockReturn {
        sku: String,
        quantity: u32,
    },
    /// An announced batch arrives with `quantity` units (fewer than announced is a short
    /// delivery, more is extra stock); what counted on it is served or moved.
    ReceiveBatch {
        sku: String,
        batch: String,
        quantity: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InventoryEvent {
    StockReceived {
        sku: String,
        quantity: u32,
    },
    BatchAnnounced {
        sku: String,
        batch: String,
        quantity: u32,
        expected_date: NaiveDate,
    },
    BatchChanged {
        sku: String,
        batch: String,
        quantity: u32,
        expected_date: NaiveDate,
    },
    StockAdjusted {
        sku: String,
        delta: i64,
        reason: AdjustmentReason,
    },
    StockReserved {
        reservation: Reservation,
    },
    ReservationRenewed {
        reservation: String,
        expires_at: Timestamp,
    },
    ReservationReleased {
        reservation: String,
    },
    /// `quantity` units left the reservation, latest sources first.
    ReservationReduced {
        reservation: String,
        quantity: u32,
    },
    ReservationExpired {
        reservation: String,
    },
    ReservationCommitted {
        reservation: String,
        order_line: String,
        placed_at: Timestamp,
    },
    OrderLineShipped {
        order_line: String,
        quantity: u32,
    },
    ReservationUncommitted {
        order_line: String,
        reservation: String,
        expires_at: Timestamp,
    },
    OrderLineCancelled {
        order_line: String,
    },
    /// `quantity` units of an order line were cancelled: what they held is released,
    /// furthest supply first (at risk, preorder, lead time, latest batch, then on hand).
    OrderLineReleased {
        order_line: String,
        quantity: u32,
    },
    ReturnRestocked {
        sku: String,
        quantity: u32,
    },
    BatchArrived {
        sku: String,
        batch: String,
        quantity: u32,
    },
    /// Promised units of an order line are now allocated from on-hand, ready `ready_date`.
    PromiseAllocated {
        order_line: String,
        batch: String,
        quantity: u32,
        ready_date: NaiveDate,
    },
    /// A short delivery moved promised units of an order line to a later batch.
    PromiseMoved {
        order_line: String,
        from: String,
        to: String,
        quantity: u32,
        ready_date: NaiveDate,
    },
    /// A short delivery left promised units of an order line with no source.
    PromiseAtRisk {
        order_line: String,
        batch: String,
        quantity: u32,
    },
    /// At-risk units of an order line are allocated from on-hand that came in later.
    AtRiskAllocated {
        order_line: String,
        quantity: u32,
        ready_date: NaiveDate,
    },
    /// At-risk units of an order line are promised against a batch announced or enlarged
    /// later, ready `ready_date`.
    AtRiskPromised {
        order_line: String,
        batch: String,
        quantity: u32,
        ready_date: NaiveDate,
    },
    /// Reserved units of a cart now come from on-hand.
    ReservationSourced {
        reservation: String,
        batch: String,
        quantity: u32,
    },
    ReservationMoved {
        reservation: String,
        from: String,
        to: String,
        quantity: u32,
    },
    /// A short delivery took units away from a cart.
    ReservationShortened {
        reservation: String,
        batch: String,
        quantity: u32,
    },
    BatchClosed {
        sku: String,
        batch: String,
    },
}

/// The inventory of one warehouse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WarehouseStock {
    pub warehouse: String,
    /// Keyed by shared SKU strings that reservations reuse, so reserving copies no text.
    /// Hashed: in a warehouse of 100,000 SKUs an ordered map's lookup cost most of a
    /// reserve (1.25 µs against 0.33 µs). Whatever lists them sorts first (`records`).
    records: FxHashMap<Arc<str>, StockRecord>,
    /// Hashed, not ordered: reserve and release are the hottest path. Whatever iterates it
    /// and emits events sorts first, so decisions stay deterministic.
    reservations: ReservationTable,
    /// A persistent map: a snapshot's copy of the warehouse costs O(1) for its lines,
    /// however many orders are open.
    order_lines: imbl::OrdMap<String, OrderLineStock>,
}

/// The events a command causes, or why it is refused.
type DecideResult = Result<Vec<InventoryEvent>, DomainError>;

/// A batch brings at least one unit and is not expected before today.
fn batch_terms(quantity: u32, expected_date: NaiveDate, ctx: &InventoryCtx) -> Result<(), DomainError> {
    positive(quantity)?;
    if expected_date < ctx.today {
        return Err(DomainError::DateInPast { date: expected_date, today: ctx.today });
    }
    Ok(())
}

fn positive(quantity: u32) -> Result<(), DomainError> {
    if quantity == 0 {
        return Err(DomainError::InvalidQuantity { quantity: 0, reason: "it must be at least 1" });
    }
    Ok(())
}

impl WarehouseStock {
    pub fn new(warehouse: impl Into<String>) -> Self {
        Self { warehouse: warehouse.into(), ..Self::default() }
    }

    /// A warehouse's stock from its records, reservations and order lines as they were
    /// stored; a SKU, reservation or order line that appears twice is refused. Reservations
    /// and order lines share their record's SKU text again.
    pub fn from_parts(
        warehouse: String,
        records: Vec<(Arc<str>, StockRecord)>,
        reservations: Vec<Reservation>,
        order_lines: Vec<OrderLineStock>,
    ) -> Result<Self, String> {
        let mut stock = WarehouseStock::new(warehouse);
        for (sku, record) in records {
            if stock.records.insert(Arc::clone(&sku), record).is_some() {
                return Err(format!("SKU {sku} appears twice"));
            }
        }
        let shared = |records: &FxHashMap<Arc<str>, StockRecord>, sku: Arc<str>| {
            records.get_key_value(&sku).map_or(sku, |(key, _)| Arc::clone(key))
        };
        for mut reservation in reservations {
            reservation.sku = shared(&stock.records, reservation.sku);
            stock.reservations.insert(reservation).map_err(|r| format!("reservation {} appears twice", r.id))?;
        }
        for mut line in order_lines {
            line.sku = shared(&stock.records, line.sku);
            if let Some(line) = stock.order_lines.insert(line.order_line.clone(), line) {
                return Err(format!("order line {} appears twice", line.order_line));
            }
        }
        Ok(stock)
    }

    pub fn record(&self, sku: &str) -> Option<&StockRecord> {
        self.records.get(sku)
    }

    /// Every SKU's record, in SKU order (a sort: for checks and listings, not hot paths).
    pub fn records(&self) -> impl Iterator<Item = (&str, &StockRecord)> {
        let mut all: Vec<(&str, &StockRecord)> = self.records.iter().map(|(sku, record)| (&**sku, record)).collect();
        all.sort_unstable_by_key(|(sku, _)| *sku);
        all.into_iter()
    }

    /// What `sku` can still be sold as here on `today`, or none for a SKU the commerce
    /// does not sell (as if the warehouse were alone: see `availability_shared`).
    pub fn availability_of(&self, sku: &str, commerce: &Commerce, today: NaiveDate) -> Option<Availability> {
        self.availability_shared(sku, commerce, today, &Alone)
    }

    /// The policy `sku` sells under here, its shared cap reduced by what the other
    /// warehouses committed of it.
    pub fn policy(&self, sku: &str, commerce: &Commerce, shared: &dyn SharedCaps) -> Option<StockPolicy> {
        let policy = commerce.stock_policy(sku, &self.warehouse)?;
        Some(match commerce.shares_cap(sku, &self.warehouse) {
            true => policy.with_cap_used_elsewhere(shared.elsewhere(sku)),
            false => policy,
        })
    }

    /// Units of `sku`'s cap committed here: its preorder or lead-time commitments.
    pub fn cap_commitments(&self, sku: &str, commerce: &Commerce) -> u64 {
        let Some(record) = self.records.get(sku) else { return 0 };
        match commerce.stock_policy(sku, &self.warehouse) {
            Some(StockPolicy::Preorder { .. }) => record.preorder.total(),
            Some(StockPolicy::BackorderLeadTime { .. }) => record.lead_time.total(),
            _ => 0,
        }
    }

    /// `availability_of` with the caps this warehouse shares with the others.
    pub fn availability_shared(
        &self,
        sku: &str,
        commerce: &Commerce,
        today: NaiveDate,
        shared: &dyn SharedCaps,
    ) -> Option<Availability> {
        let policy = self.policy(sku, commerce, shared)?;
        let empty = StockRecord::default();
        Some(availability(self.records.get(sku).unwrap_or(&empty), policy, today))
    }

    /// The day each part of a reservation can leave the warehouse, as things stand now (a
    /// batch's date may still change), in the order of its parts.
    pub fn ready_dates(&self, reservation: &Reservation, commerce: &Commerce, today: NaiveDate) -> Vec<NaiveDate> {
        let policy = commerce.stock_policy(&reservation.sku, &self.warehouse).unwrap_or_default();
        let empty = StockRecord::default();
        let record = self.records.get(&reservation.sku).unwrap_or(&empty);
        reservation.parts.iter().map(|part| supply::ready_date(record, policy, &part.source, today)).collect()
    }

    /// The day every unit of an order line can leave the warehouse, as things stand now:
    /// the latest of its parts' days (today for units on hand); none while some are at
    /// risk (no source serves them yet).
    pub fn line_ready(&self, line: &OrderLineStock, commerce: &Commerce, today: NaiveDate) -> Option<NaiveDate> {
        if line.parts.iter().any(|p| p.source == Source::AtRisk) {
            return None;
        }
        let policy = commerce.stock_policy(&line.sku, &self.warehouse).unwrap_or_default();
        let empty = StockRecord::default();
        let record = self.records.get(&line.sku).unwrap_or(&empty);
        line.parts.iter().map(|part| supply::ready_date(record, policy, &part.source, today)).max().or(Some(today))
    }

    /// The order lines holding units of `sku` promised from `batch`.
    pub fn lines_promised_from<'a>(&'a self, sku: &'a str, batch: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.order_lines
            .values()
            .filter(move |l| {
                &*l.sku == sku && l.parts.iter().any(|p| matches!(&p.source, Source::Batch(b) if b == batch))
            })
            .map(|l| l.order_line.as_str())
    }

    pub fn reservation(&self, id: &str) -> Option<&Reservation> {
        self.reservations.get(id)
    }

    pub fn reservations(&self) -> impl Iterator<Item = &Reservation> {
        self.reservations.values()
    }

    /// How many reservations carts hold here.
    pub fn reservation_count(&self) -> usize {
        self.reservations.len()
    }

    /// Units held beyond what exists: on-hand units reserved or allocated past on-hand,
    /// and batch units reserved or promised past the batch. Must always be 0 (the
    /// operators' alarm, and what every test of overselling checks).
    pub fn oversold_units(&self) -> u64 {
        self.records
            .values()
            .map(|record| {
                let on_hand = (u64::from(record.reserved) + u64::from(record.allocated))
                    .saturating_sub(u64::from(record.on_hand));
                let batches: u64 =
                    record.batches.iter().map(|b| b.committed.total().saturating_sub(u64::from(b.quantity))).sum();
                on_hand + batches
            })
            .sum()
    }

    pub fn order_line(&self, id: &str) -> Option<&OrderLineStock> {
        self.order_lines.get(id)
    }

    pub fn order_lines(&self) -> impl Iterator<Item = &OrderLineStock> {
        self.order_lines.values()
    }

    /// Lets go of the order lines under `keys` that hold nothing any more (every unit
    /// shipped or released): their orders are finished and archived, so no command will
    /// name them again. A line still holding units is kept. How many were let go.
    pub fn forget_spent(&mut self, keys: &[String]) -> usize {
        let before = self.order_lines.len();
        for key in keys {
            if self.order_lines.get(key).is_some_and(|line| line.held() == 0) {
                self.order_lines.remove(key);
            }
        }
        before - self.order_lines.len()
    }

    /// The keys of the order lines that hold nothing any more.
    pub fn spent_lines(&self) -> Vec<String> {
        self.order_lines.values().filter(|line| line.held() == 0).map(|line| line.order_line.clone()).collect()
    }
}
