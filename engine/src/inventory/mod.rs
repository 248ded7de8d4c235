//! Inventory (IMS) for one warehouse: stock records per SKU, incoming batches, and the
//! reservations carts hold, under the four stock policies.
//!
//! Every change follows one shape: `decide` validates a command against the state and
//! returns the events it causes (changing nothing); `apply` folds an event into the state
//! (infallible, deterministic). Replaying the events onto an empty state rebuilds it.
//!
//! # Layout
//! - `record`: `StockRecord`, `Batch`, `Reservation` and the quantities they hold.
//! - `supply`: which sources serve a quantity under a policy, and their ready dates.
//! - `arrival`: batch arrival and automatic allocation (oldest order first, then carts).
//! - `availability`: what a SKU can still be sold as, now and by date.
//! - `selection`: which warehouses serve a cart (fewest logistic centers from on-hand first).
//! - `invariants`: the rules every state must keep, checked after every event in tests.

mod arrival;
mod availability;
mod invariants;
mod record;
mod selection;
mod supply;
mod table;

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use availability::{availability, earliest_date_across, Availability, DatedSupply};
pub use invariants::check_invariants;
pub use record::{Batch, Commitments, OrderLineStock, Parts, Reservation, Source, StockRecord, SupplyPart, Timestamp};
pub use selection::{
    candidate_warehouses, select_sources, Candidate, SourceAssignment, SELECTION_CENTERS_SEARCHED_MAX,
};
pub use supply::{plan, ready_date};

use crate::commerce::Commerce;
use crate::error::DomainError;
use table::ReservationTable;

/// What a decision may read: the commerce (products and their policies) and the time.
pub struct InventoryCtx<'a> {
    pub commerce: &'a Commerce,
    pub now: Timestamp,
    pub today: NaiveDate,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarehouseStock {
    pub warehouse: String,
    /// Keyed by shared SKU strings that reservations reuse, so reserving copies no text.
    /// Hashed: in a warehouse of 100,000 SKUs an ordered map's lookup cost most of a
    /// reserve (1.25 µs against 0.33 µs). Whatever lists them sorts first (`records`).
    records: FxHashMap<Arc<str>, StockRecord>,
    /// Hashed, not ordered: reserve and release are the hottest path. Whatever iterates it
    /// and emits events sorts first, so decisions stay deterministic.
    reservations: ReservationTable,
    order_lines: BTreeMap<String, OrderLineStock>,
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
    /// does not sell.
    pub fn availability_of(&self, sku: &str, commerce: &Commerce, today: NaiveDate) -> Option<Availability> {
        let policy = commerce.stock_policy(sku, &self.warehouse)?;
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

    /// Validates a command; returns the events it causes. Changes nothing.
    pub fn decide(&self, command: &InventoryCommand, ctx: &InventoryCtx) -> Result<Vec<InventoryEvent>, DomainError> {
        match command {
            InventoryCommand::ReceiveStock { sku, quantity } => {
                let events = self.decide_receive(sku, *quantity, ctx)?;
                Ok(self.serve_at_risk(sku, events, *quantity, None, ctx.today))
            }
            InventoryCommand::AnnounceBatch { sku, batch, quantity, expected_date } => {
                let events = self.decide_announce(sku, batch, *quantity, *expected_date, ctx)?;
                let room = (batch.clone(), *expected_date, *quantity);
                Ok(self.serve_at_risk(sku, events, 0, Some(room), ctx.today))
            }
            InventoryCommand::ChangeBatch { sku, batch, quantity, expected_date } => {
                self.decide_change_batch(sku, batch, *quantity, *expected_date, ctx)
            }
            InventoryCommand::AdjustStock { sku, delta, reason } => {
                let events = self.decide_adjust(sku, *delta, *reason, ctx)?;
                let found = u32::try_from(*delta).unwrap_or(0);
                Ok(self.serve_at_risk(sku, events, found, None, ctx.today))
            }
            InventoryCommand::Reserve { reservation, sku, quantity, expires_at } => {
                self.decide_reserve(reservation, sku, *quantity, *expires_at, ctx)
            }
            InventoryCommand::RenewReservation { reservation, expires_at } => {
                self.unexpired(reservation, ctx)?;
                Ok(vec![InventoryEvent::ReservationRenewed {
                    reservation: reservation.clone(),
                    expires_at: *expires_at,
                }])
            }
            InventoryCommand::ReleaseReservation { reservation } => {
                self.existing(reservation)?;
                Ok(vec![InventoryEvent::ReservationReleased { reservation: reservation.clone() }])
            }
            InventoryCommand::ReduceReservation { reservation, quantity } => {
                let held = self.unexpired(reservation, ctx)?;
                positive(*quantity)?;
                if u64::from(*quantity) >= held.quantity() {
                    return Err(DomainError::InvalidQuantity {
                        quantity: i64::from(*quantity),
                        reason: "a reservation can only be reduced by fewer units than it holds",
                    });
                }
                Ok(vec![InventoryEvent::ReservationReduced { reservation: reservation.clone(), quantity: *quantity }])
            }
            InventoryCommand::ExpireReservations => {
                let mut due: Vec<&str> =
                    self.reservations.values().filter(|r| r.expires_at <= ctx.now).map(|r| r.id.as_str()).collect();
                due.sort_unstable();
                Ok(due
                    .into_iter()
                    .map(|id| InventoryEvent::ReservationExpired { reservation: id.to_owned() })
                    .collect())
            }
            InventoryCommand::CommitReservation { reservation, order_line, quantity } => {
                self.decide_commit(reservation, order_line, *quantity, ctx)
            }
            InventoryCommand::UncommitReservation { order_line, reservation, expires_at } => {
                self.decide_uncommit(order_line, reservation, *expires_at)
            }
            InventoryCommand::ShipOrderLine { order_line } => self.decide_ship(order_line),
            InventoryCommand::CancelOrderLine { order_line } => self.decide_cancel(order_line),
            InventoryCommand::RestockReturn { sku, quantity } => self.decide_restock(sku, *quantity, ctx),
            InventoryCommand::ReceiveBatch { sku, batch, quantity } => {
                self.decide_receive_batch(sku, batch, *quantity, ctx)
            }
        }
    }

    fn existing(&self, reservation: &str) -> Result<&Reservation, DomainError> {
        self.reservations.get(reservation).ok_or_else(|| DomainError::UnknownReservation { id: reservation.to_owned() })
    }

    /// A reservation that exists and whose time has not come. One past its expiry is gone
    /// for every purpose but release, even before the expiry timer removes it.
    fn unexpired(&self, reservation: &str, ctx: &InventoryCtx) -> Result<&Reservation, DomainError> {
        let held = self.existing(reservation)?;
        if held.expires_at <= ctx.now {
            return Err(DomainError::ReservationExpired { id: reservation.to_owned() });
        }
        Ok(held)
    }

    fn existing_line(&self, order_line: &str) -> Result<&OrderLineStock, DomainError> {
        self.order_lines.get(order_line).ok_or_else(|| DomainError::UnknownOrderLine { id: order_line.to_owned() })
    }

    fn decide_commit(
        &self,
        reservation: &str,
        order_line: &str,
        expected: Option<u32>,
        ctx: &InventoryCtx,
    ) -> DecideResult {
        let held = self.unexpired(reservation, ctx)?;
        if let Some(expected) = expected.filter(|e| u64::from(*e) != held.quantity()) {
            return Err(DomainError::ReservationChanged {
                id: reservation.to_owned(),
                expected,
                held: u32::try_from(held.quantity()).unwrap_or(u32::MAX),
            });
        }
        if order_line.is_empty() || self.order_lines.contains_key(order_line) {
            return Err(DomainError::DuplicateOrderLine { id: order_line.to_owned() });
        }
        Ok(vec![InventoryEvent::ReservationCommitted {
            reservation: reservation.to_owned(),
            order_line: order_line.to_owned(),
            placed_at: ctx.now,
        }])
    }

    fn decide_ship(&self, order_line: &str) -> DecideResult {
        let quantity = self.existing_line(order_line)?.allocated();
        if quantity == 0 {
            return Err(DomainError::NothingToShip { id: order_line.to_owned() });
        }
        Ok(vec![InventoryEvent::OrderLineShipped { order_line: order_line.to_owned(), quantity }])
    }

    fn decide_uncommit(&self, order_line: &str, reservation: &str, expires_at: Timestamp) -> DecideResult {
        let line = self.existing_line(order_line)?;
        if reservation.is_empty() || self.reservations.get(reservation).is_some() {
            return Err(DomainError::DuplicateReservation { id: reservation.to_owned() });
        }
        if line.parts.iter().any(|p| p.source == Source::AtRisk) {
            return Err(DomainError::UncommitRefused { id: order_line.to_owned() });
        }
        Ok(vec![InventoryEvent::ReservationUncommitted {
            order_line: order_line.to_owned(),
            reservation: reservation.to_owned(),
            expires_at,
        }])
    }

    fn decide_cancel(&self, order_line: &str) -> DecideResult {
        self.existing_line(order_line)?;
        Ok(vec![InventoryEvent::OrderLineCancelled { order_line: order_line.to_owned() }])
    }

    /// Zero units is a batch that never came: everything counting on it moves or is at risk.
    fn decide_receive_batch(&self, sku: &str, batch: &str, quantity: u32, ctx: &InventoryCtx) -> DecideResult {
        self.receivable(sku, quantity, ctx)?;
        let unknown = || DomainError::UnknownBatch { sku: sku.to_owned(), id: batch.to_owned() };
        let record = self.records.get(sku).filter(|r| r.batch(batch).is_some()).ok_or_else(unknown)?;
        Ok(arrival::arrival_events(self, record, sku, batch, quantity, ctx.today))
    }

    fn decide_restock(&self, sku: &str, quantity: u32, ctx: &InventoryCtx) -> DecideResult {
        self.decide_receive(sku, quantity, ctx)?;
        let events = vec![InventoryEvent::ReturnRestocked { sku: sku.to_owned(), quantity }];
        Ok(self.serve_at_risk(sku, events, quantity, None, ctx.today))
    }

    /// Appends to `events` what serves at-risk order lines of `sku`, oldest order first:
    /// allocations from the on-hand nobody holds plus `arriving` units, then promises
    /// against `room` (a batch announced or enlarged, with its free units).
    fn serve_at_risk(
        &self,
        sku: &str,
        mut events: Vec<InventoryEvent>,
        arriving: u32,
        room: Option<(String, NaiveDate, u32)>,
        today: NaiveDate,
    ) -> Vec<InventoryEvent> {
        let Some(record) = self.records.get(sku) else { return events };
        let mut left = record.available().saturating_add(arriving);
        let mut later: Vec<_> = room.into_iter().collect();
        events.extend(arrival::at_risk_events(self, sku, &mut left, &mut later, today));
        events
    }

    fn known_sku(&self, sku: &str, ctx: &InventoryCtx) -> Result<(), DomainError> {
        match ctx.commerce.product(sku) {
            Some(_) => Ok(()),
            None => Err(DomainError::UnknownSku { sku: sku.to_owned() }),
        }
    }

    fn decide_receive(&self, sku: &str, quantity: u32, ctx: &InventoryCtx) -> Result<Vec<InventoryEvent>, DomainError> {
        positive(quantity)?;
        self.receivable(sku, quantity, ctx)?;
        Ok(vec![InventoryEvent::StockReceived { sku: sku.to_owned(), quantity }])
    }

    /// Units of a SKU the commerce sells that on-hand can take in.
    fn receivable(&self, sku: &str, quantity: u32, ctx: &InventoryCtx) -> Result<(), DomainError> {
        self.known_sku(sku, ctx)?;
        let on_hand = self.records.get(sku).map_or(0, |r| r.on_hand);
        if on_hand.checked_add(quantity).is_none() {
            return Err(DomainError::InvalidQuantity {
                quantity: i64::from(quantity),
                reason: "on-hand would exceed the largest quantity",
            });
        }
        Ok(())
    }

    fn decide_announce(
        &self,
        sku: &str,
        batch: &str,
        quantity: u32,
        expected_date: NaiveDate,
        ctx: &InventoryCtx,
    ) -> Result<Vec<InventoryEvent>, DomainError> {
        self.known_sku(sku, ctx)?;
        batch_terms(quantity, expected_date, ctx)?;
        if batch.is_empty() || self.records.get(sku).is_some_and(|r| r.batch(batch).is_some()) {
            return Err(DomainError::DuplicateBatch { sku: sku.to_owned(), id: batch.to_owned() });
        }
        Ok(vec![InventoryEvent::BatchAnnounced {
            sku: sku.to_owned(),
            batch: batch.to_owned(),
            quantity,
            expected_date,
        }])
    }

    fn decide_change_batch(
        &self,
        sku: &str,
        batch: &str,
        quantity: u32,
        expected_date: NaiveDate,
        ctx: &InventoryCtx,
    ) -> Result<Vec<InventoryEvent>, DomainError> {
        self.known_sku(sku, ctx)?;
        let unknown = || DomainError::UnknownBatch { sku: sku.to_owned(), id: batch.to_owned() };
        let current = self.records.get(sku).and_then(|r| r.batch(batch)).ok_or_else(unknown)?;
        batch_terms(quantity, expected_date, ctx)?;
        // Never promise more than is coming: a batch cannot shrink below what it backs.
        if u64::from(quantity) < current.committed.total() {
            return Err(DomainError::BatchBelowCommitted {
                id: batch.to_owned(),
                quantity,
                committed: u32::try_from(current.committed.total()).unwrap_or(u32::MAX),
            });
        }
        let events = vec![InventoryEvent::BatchChanged {
            sku: sku.to_owned(),
            batch: batch.to_owned(),
            quantity,
            expected_date,
        }];
        let room = (batch.to_owned(), expected_date, record::free_of(u64::from(quantity), current.committed.total()));
        Ok(self.serve_at_risk(sku, events, 0, Some(room), ctx.today))
    }

    fn decide_adjust(
        &self,
        sku: &str,
        delta: i64,
        reason: AdjustmentReason,
        ctx: &InventoryCtx,
    ) -> Result<Vec<InventoryEvent>, DomainError> {
        self.known_sku(sku, ctx)?;
        if delta == 0 {
            return Err(DomainError::InvalidQuantity { quantity: 0, reason: "an adjustment must change on-hand" });
        }
        let (on_hand, committed) =
            self.records.get(sku).map_or((0, 0), |r| (r.on_hand, u64::from(r.reserved) + u64::from(r.allocated)));
        // i64 holds any u32 plus any delta that leaves a u32, so overflow means "too large".
        let after = i64::from(on_hand).checked_add(delta);
        match after {
            Some(after) if after > i64::from(u32::MAX) => Err(DomainError::InvalidQuantity {
                quantity: delta,
                reason: "on-hand would exceed the largest quantity",
            }),
            None => Err(DomainError::InvalidQuantity {
                quantity: delta,
                reason: "on-hand would exceed the largest quantity",
            }),
            Some(after) if after < 0 || after.unsigned_abs() < committed => {
                Err(DomainError::AdjustmentBelowCommitted {
                    delta,
                    on_hand_after: after,
                    committed: u32::try_from(committed).unwrap_or(u32::MAX),
                })
            }
            Some(_) => Ok(vec![InventoryEvent::StockAdjusted { sku: sku.to_owned(), delta, reason }]),
        }
    }

    fn decide_reserve(
        &self,
        reservation: &str,
        sku: &str,
        quantity: u32,
        expires_at: Timestamp,
        ctx: &InventoryCtx,
    ) -> Result<Vec<InventoryEvent>, DomainError> {
        let policy = ctx
            .commerce
            .stock_policy(sku, &self.warehouse)
            .ok_or_else(|| DomainError::UnknownSku { sku: sku.to_owned() })?;
        positive(quantity)?;
        if reservation.is_empty() || self.reservations.contains(reservation) {
            return Err(DomainError::DuplicateReservation { id: reservation.to_owned() });
        }
        let empty = StockRecord::default();
        let (key, record) = match self.records.get_key_value(sku) {
            Some((key, record)) => (Arc::clone(key), record),
            None => (Arc::from(sku), &empty),
        };
        let parts = plan(record, policy, quantity, ctx.today).map_err(|available| DomainError::InsufficientStock {
            sku: sku.to_owned(),
            requested: quantity,
            available,
        })?;
        Ok(vec![InventoryEvent::StockReserved {
            reservation: Reservation { id: reservation.to_owned(), sku: key, expires_at, parts },
        }])
    }

    /// `apply` for an event the caller no longer needs: a reservation moves into the table
    /// instead of being copied. The hot path (decide, log, apply) and replay use this.
    pub fn apply_owned(&mut self, event: InventoryEvent) {
        match event {
            InventoryEvent::StockReserved { reservation } => self.hold(reservation),
            other => self.apply(&other),
        }
    }

    /// Counts a new reservation's parts on their sources and files it.
    fn hold(&mut self, reservation: Reservation) {
        let record = match self.records.get_mut(&reservation.sku) {
            Some(record) => record,
            None => self.records.entry(Arc::clone(&reservation.sku)).or_default(),
        };
        for part in &reservation.parts {
            count(record, part, Holder::Cart, Direction::Add);
        }
        let filed = self.reservations.insert(reservation);
        assert!(filed.is_ok(), "decide refused a duplicate reservation id");
    }

    /// Folds one event into the state. Events come from `decide` (or the log, which only
    /// holds what `decide` produced), so a violated precondition is a programmer error.
    pub fn apply(&mut self, event: &InventoryEvent) {
        match event {
            InventoryEvent::StockReceived { sku, quantity } | InventoryEvent::ReturnRestocked { sku, quantity } => {
                let record = self.record_mut(sku);
                record.on_hand = record.on_hand.checked_add(*quantity).expect("decide bounds on-hand");
            }
            InventoryEvent::BatchAnnounced { sku, batch, quantity, expected_date } => {
                let record = self.record_mut(sku);
                record.batches.push(Batch {
                    id: batch.clone(),
                    quantity: *quantity,
                    expected_date: *expected_date,
                    committed: Commitments::default(),
                });
                record.sort_batches();
            }
            InventoryEvent::BatchChanged { sku, batch, quantity, expected_date } => {
                let record = self.records.get_mut(sku.as_str()).expect("decide checked the record");
                let target = record.batch_mut(batch).expect("decide checked the batch");
                target.quantity = *quantity;
                target.expected_date = *expected_date;
                record.sort_batches();
            }
            InventoryEvent::StockAdjusted { sku, delta, .. } => {
                let record = self.record_mut(sku);
                let after = i64::from(record.on_hand) + delta;
                record.on_hand = u32::try_from(after).expect("decide bounds the adjustment");
            }
            InventoryEvent::StockReserved { reservation } => self.hold(reservation.clone()),
            InventoryEvent::ReservationRenewed { reservation, expires_at } => {
                let held = self.reservations.get_mut(reservation.as_str()).expect("decide checked the reservation");
                held.expires_at = *expires_at;
            }
            InventoryEvent::ReservationReleased { reservation }
            | InventoryEvent::ReservationExpired { reservation } => {
                let held = self.reservations.remove(reservation.as_str()).expect("decide checked the reservation");
                let record = self.records.get_mut(&held.sku).expect("a reservation's record exists");
                for part in &held.parts {
                    count(record, part, Holder::Cart, Direction::Remove);
                }
            }
            InventoryEvent::ReservationReduced { reservation, quantity } => {
                let held = self.reservations.get_mut(reservation.as_str()).expect("decide checked the reservation");
                let record = self.records.get_mut(&held.sku).expect("a reservation's record exists");
                let mut left = *quantity;
                while left > 0 {
                    let last = held.parts.last_mut().expect("decide bounds the reduction");
                    let taken = left.min(last.quantity);
                    count(
                        record,
                        &SupplyPart { source: last.source.clone(), quantity: taken },
                        Holder::Cart,
                        Direction::Remove,
                    );
                    last.quantity -= taken;
                    left -= taken;
                    if last.quantity == 0 {
                        held.parts.pop();
                    }
                }
            }
            InventoryEvent::ReservationCommitted { reservation, order_line, placed_at } => {
                let held = self.reservations.remove(reservation.as_str()).expect("decide checked the reservation");
                let record = self.records.get_mut(&held.sku).expect("a reservation's record exists");
                for part in &held.parts {
                    count(record, part, Holder::Cart, Direction::Remove);
                    count(record, part, Holder::Order, Direction::Add);
                }
                let line = OrderLineStock {
                    order_line: order_line.clone(),
                    sku: held.sku,
                    placed_at: *placed_at,
                    parts: held.parts,
                };
                self.order_lines.insert(order_line.clone(), line);
            }
            InventoryEvent::OrderLineShipped { order_line, quantity } => {
                let line = self.order_lines.get_mut(order_line).expect("decide checked the order line");
                let record = self.records.get_mut(&line.sku).expect("an order line's record exists");
                record.allocated = record.allocated.checked_sub(*quantity).expect("shipped units were allocated");
                record.on_hand = record.on_hand.checked_sub(*quantity).expect("allocated units are on hand");
                line.parts.retain(|part| part.source != Source::OnHand);
                if line.parts.is_empty() {
                    self.order_lines.remove(order_line);
                }
            }
            InventoryEvent::ReservationUncommitted { order_line, reservation, expires_at } => {
                let line = self.order_lines.remove(order_line).expect("decide checked the order line");
                let record = self.records.get_mut(&line.sku).expect("an order line's record exists");
                for part in &line.parts {
                    count(record, part, Holder::Order, Direction::Remove);
                }
                self.hold(Reservation {
                    id: reservation.clone(),
                    sku: line.sku,
                    expires_at: *expires_at,
                    parts: line.parts,
                });
            }
            InventoryEvent::OrderLineCancelled { order_line } => {
                let line = self.order_lines.remove(order_line).expect("decide checked the order line");
                let record = self.records.get_mut(&line.sku).expect("an order line's record exists");
                for part in &line.parts {
                    count(record, part, Holder::Order, Direction::Remove);
                }
            }
            InventoryEvent::BatchArrived { sku, quantity, .. } => {
                let record = self.records.get_mut(sku.as_str()).expect("decide checked the record");
                record.on_hand = record.on_hand.checked_add(*quantity).expect("decide bounds on-hand");
            }
            InventoryEvent::PromiseAllocated { order_line, batch, quantity, .. } => {
                self.shift_line(order_line, Source::Batch(batch.clone()), Source::OnHand, *quantity);
            }
            InventoryEvent::PromiseMoved { order_line, from, to, quantity, .. } => {
                self.shift_line(order_line, Source::Batch(from.clone()), Source::Batch(to.clone()), *quantity);
            }
            InventoryEvent::PromiseAtRisk { order_line, batch, quantity } => {
                self.shift_line(order_line, Source::Batch(batch.clone()), Source::AtRisk, *quantity);
            }
            InventoryEvent::AtRiskAllocated { order_line, quantity, .. } => {
                self.shift_line(order_line, Source::AtRisk, Source::OnHand, *quantity);
            }
            InventoryEvent::AtRiskPromised { order_line, batch, quantity, .. } => {
                self.shift_line(order_line, Source::AtRisk, Source::Batch(batch.clone()), *quantity);
            }
            InventoryEvent::ReservationSourced { reservation, batch, quantity } => {
                self.shift_reservation(reservation, batch, Some(Source::OnHand), *quantity);
            }
            InventoryEvent::ReservationMoved { reservation, from, to, quantity } => {
                self.shift_reservation(reservation, from, Some(Source::Batch(to.clone())), *quantity);
            }
            InventoryEvent::ReservationShortened { reservation, batch, quantity } => {
                self.shift_reservation(reservation, batch, None, *quantity);
            }
            InventoryEvent::BatchClosed { sku, batch } => {
                let record = self.records.get_mut(sku.as_str()).expect("decide checked the record");
                let closing = record.batch(batch).expect("decide checked the batch");
                assert_eq!(closing.committed.total(), 0, "a batch closes only when nothing counts on it");
                record.batches.retain(|b| &b.id != batch);
            }
        }
    }

    /// The record of `sku`, created empty on first use; no allocation when it exists.
    fn record_mut(&mut self, sku: &str) -> &mut StockRecord {
        if !self.records.contains_key(sku) {
            self.records.insert(Arc::from(sku), StockRecord::default());
        }
        self.records.get_mut(sku).expect("inserted above")
    }

    /// Moves an order line's units from one source to another, keeping the counters.
    fn shift_line(&mut self, order_line: &str, from: Source, to: Source, quantity: u32) {
        let line = self.order_lines.get_mut(order_line).expect("decide named an existing order line");
        let record = self.records.get_mut(&line.sku).expect("an order line's record exists");
        count(record, &SupplyPart { source: from.clone(), quantity }, Holder::Order, Direction::Remove);
        count(record, &SupplyPart { source: to.clone(), quantity }, Holder::Order, Direction::Add);
        record::shift(&mut line.parts, &from, Some(to), quantity);
    }

    /// Moves a reservation's units from a batch to another source, or drops them.
    fn shift_reservation(&mut self, reservation: &str, batch: &str, to: Option<Source>, quantity: u32) {
        let held = self.reservations.get_mut(reservation).expect("decide named an existing reservation");
        let record = self.records.get_mut(&held.sku).expect("a reservation's record exists");
        let from = Source::Batch(batch.to_owned());
        count(record, &SupplyPart { source: from.clone(), quantity }, Holder::Cart, Direction::Remove);
        if let Some(to) = &to {
            count(record, &SupplyPart { source: to.clone(), quantity }, Holder::Cart, Direction::Add);
        }
        record::shift(&mut held.parts, &from, to, quantity);
        if held.parts.is_empty() {
            self.reservations.remove(reservation);
        }
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Add,
    Remove,
}

/// Who holds units, and so which counter of their source they count on: a cart's
/// reservation (`reserved`) or a placed order line (`allocated` on-hand, else `promised`).
#[derive(Clone, Copy)]
enum Holder {
    Cart,
    Order,
}

/// Adds or removes a part's units on the counter its source keeps for `holder`.
fn count(record: &mut StockRecord, part: &SupplyPart, holder: Holder, direction: Direction) {
    let counter = match (&part.source, holder) {
        (Source::OnHand, Holder::Cart) => &mut record.reserved,
        (Source::OnHand, Holder::Order) => &mut record.allocated,
        (Source::Batch(id), holder) => {
            let committed = &mut record.batch_mut(id).expect("a held batch exists").committed;
            match holder {
                Holder::Cart => &mut committed.reserved,
                Holder::Order => &mut committed.promised,
            }
        }
        (Source::LeadTime, Holder::Cart) => &mut record.lead_time.reserved,
        (Source::LeadTime, Holder::Order) => &mut record.lead_time.promised,
        (Source::Preorder, Holder::Cart) => &mut record.preorder.reserved,
        (Source::Preorder, Holder::Order) => &mut record.preorder.promised,
        // At-risk units are promised against nothing.
        (Source::AtRisk, Holder::Order) => return,
        (Source::AtRisk, Holder::Cart) => unreachable!("reservations never hold at-risk units"),
    };
    *counter = match direction {
        Direction::Add => counter.checked_add(part.quantity),
        Direction::Remove => counter.checked_sub(part.quantity),
    }
    .expect("held units stay within their sources");
}
