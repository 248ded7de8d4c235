//! Deciding: each inventory command checked against the stock, answered with the events
//! it causes or why it is refused. Nothing here changes the stock.

use super::*;

impl WarehouseStock {
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
            InventoryCommand::ShipOrderUnits { order_line, through } => self.decide_ship_units(order_line, *through),
            InventoryCommand::ReleaseOrderUnits { order_line, through } => {
                self.decide_release_units(order_line, *through, ctx)
            }
            InventoryCommand::RestockReturn { sku, quantity } => self.decide_restock(sku, *quantity, ctx),
            InventoryCommand::ReceiveBatch { sku, batch, quantity } => {
                self.decide_receive_batch(sku, batch, *quantity, ctx)
            }
        }
    }

    pub(super) fn existing(&self, reservation: &str) -> Result<&Reservation, DomainError> {
        self.reservations.get(reservation).ok_or_else(|| DomainError::UnknownReservation { id: reservation.to_owned() })
    }

    /// A reservation that exists and whose time has not come. One past its expiry is gone
    /// for every purpose but release, even before the expiry timer removes it.
    pub(super) fn unexpired(&self, reservation: &str, ctx: &InventoryCtx) -> Result<&Reservation, DomainError> {
        let held = self.existing(reservation)?;
        if held.expires_at <= ctx.now {
            return Err(DomainError::ReservationExpired { id: reservation.to_owned() });
        }
        Ok(held)
    }

    pub(super) fn existing_line(&self, order_line: &str) -> Result<&OrderLineStock, DomainError> {
        self.order_lines.get(order_line).ok_or_else(|| DomainError::UnknownOrderLine { id: order_line.to_owned() })
    }

    pub(super) fn decide_commit(
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

    pub(super) fn decide_ship(&self, order_line: &str) -> DecideResult {
        let quantity = self.existing_line(order_line)?.allocated();
        if quantity == 0 {
            return Err(DomainError::NothingToShip { id: order_line.to_owned() });
        }
        Ok(vec![InventoryEvent::OrderLineShipped { order_line: order_line.to_owned(), quantity }])
    }

    pub(super) fn decide_ship_units(&self, order_line: &str, through: u32) -> DecideResult {
        let line = self.existing_line(order_line)?;
        let quantity = through.saturating_sub(line.shipped);
        if quantity == 0 {
            return Ok(Vec::new());
        }
        if quantity > line.allocated() {
            return Err(DomainError::NothingToShip { id: order_line.to_owned() });
        }
        Ok(vec![InventoryEvent::OrderLineShipped { order_line: order_line.to_owned(), quantity }])
    }

    /// Releasing on-hand units frees them for at-risk lines of other orders at once.
    pub(super) fn decide_release_units(&self, order_line: &str, through: u32, ctx: &InventoryCtx) -> DecideResult {
        let line = self.existing_line(order_line)?;
        let quantity = through.saturating_sub(line.released);
        if quantity == 0 {
            return Ok(Vec::new());
        }
        if quantity > line.held() {
            return Err(DomainError::InsufficientStock {
                sku: line.sku.to_string(),
                requested: quantity,
                available: line.held(),
            });
        }
        let record = self.records.get(&line.sku).expect("an order line's record exists");
        let on_hand: u32 = crate::inventory::apply::release_plan(line, record, quantity)
            .iter()
            .filter(|p| p.source == Source::OnHand)
            .map(|p| p.quantity)
            .sum();
        let events = vec![InventoryEvent::OrderLineReleased { order_line: order_line.to_owned(), quantity }];
        Ok(self.serve_at_risk(&line.sku, events, on_hand, None, ctx.today))
    }

    pub(super) fn decide_uncommit(&self, order_line: &str, reservation: &str, expires_at: Timestamp) -> DecideResult {
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

    pub(super) fn decide_cancel(&self, order_line: &str) -> DecideResult {
        self.existing_line(order_line)?;
        Ok(vec![InventoryEvent::OrderLineCancelled { order_line: order_line.to_owned() }])
    }

    /// Zero units is a batch that never came: everything counting on it moves or is at risk.
    pub(super) fn decide_receive_batch(
        &self,
        sku: &str,
        batch: &str,
        quantity: u32,
        ctx: &InventoryCtx,
    ) -> DecideResult {
        self.receivable(sku, quantity, ctx)?;
        let unknown = || DomainError::UnknownBatch { sku: sku.to_owned(), id: batch.to_owned() };
        let record = self.records.get(sku).filter(|r| r.batch(batch).is_some()).ok_or_else(unknown)?;
        Ok(arrival::arrival_events(self, record, sku, batch, quantity, ctx.today))
    }

    pub(super) fn decide_restock(&self, sku: &str, quantity: u32, ctx: &InventoryCtx) -> DecideResult {
        self.decide_receive(sku, quantity, ctx)?;
        let events = vec![InventoryEvent::ReturnRestocked { sku: sku.to_owned(), quantity }];
        Ok(self.serve_at_risk(sku, events, quantity, None, ctx.today))
    }

    /// Appends to `events` what serves at-risk order lines of `sku`, oldest order first:
    /// allocations from the on-hand nobody holds plus `arriving` units, then promises
    /// against `room` (a batch announced or enlarged, with its free units).
    pub(super) fn serve_at_risk(
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

    pub(super) fn known_sku(&self, sku: &str, ctx: &InventoryCtx) -> Result<(), DomainError> {
        match ctx.commerce.product(sku) {
            Some(_) => Ok(()),
            None => Err(DomainError::UnknownSku { sku: sku.to_owned() }),
        }
    }

    pub(super) fn decide_receive(
        &self,
        sku: &str,
        quantity: u32,
        ctx: &InventoryCtx,
    ) -> Result<Vec<InventoryEvent>, DomainError> {
        positive(quantity)?;
        self.receivable(sku, quantity, ctx)?;
        Ok(vec![InventoryEvent::StockReceived { sku: sku.to_owned(), quantity }])
    }

    /// Units of a SKU the commerce sells that on-hand can take in.
    pub(super) fn receivable(&self, sku: &str, quantity: u32, ctx: &InventoryCtx) -> Result<(), DomainError> {
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

    pub(super) fn decide_announce(
        &self,
        sku: &str,
        batch: &str,
        quantity: u32,
        expected_date: NaiveDate,
        ctx: &InventoryCtx,
    ) -> Result<Vec<InventoryEvent>, DomainError> {
        self.known_sku(sku, ctx)?;
        crate::error::client_id("batch", batch)?;
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

    pub(super) fn decide_change_batch(
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

    pub(super) fn decide_adjust(
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

    pub(super) fn decide_reserve(
        &self,
        reservation: &str,
        sku: &str,
        quantity: u32,
        expires_at: Timestamp,
        ctx: &InventoryCtx,
    ) -> Result<Vec<InventoryEvent>, DomainError> {
        let policy = self
            .policy(sku, ctx.commerce, ctx.shared)
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
}
