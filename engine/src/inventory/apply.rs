//! Applying: each inventory event folded into the stock, keeping its invariants.

use super::*;

impl WarehouseStock {
    /// `apply` for an event the caller no longer needs: a reservation moves into the table
    /// instead of being copied. The hot path (decide, log, apply) and replay use this.
    pub fn apply_owned(&mut self, event: InventoryEvent) {
        match event {
            InventoryEvent::StockReserved { reservation } => self.hold(reservation),
            other => self.apply(&other),
        }
    }

    /// Counts a new reservation's parts on their sources and files it.
    pub(super) fn hold(&mut self, reservation: Reservation) {
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
                    shipped: 0,
                    released: 0,
                };
                self.order_lines.insert(order_line.clone(), line);
            }
            InventoryEvent::OrderLineShipped { order_line, quantity } => {
                let line = self.order_lines.get_mut(order_line).expect("decide checked the order line");
                let record = self.records.get_mut(&line.sku).expect("an order line's record exists");
                record.allocated = record.allocated.checked_sub(*quantity).expect("shipped units were allocated");
                record.on_hand = record.on_hand.checked_sub(*quantity).expect("allocated units are on hand");
                record::shift(&mut line.parts, &Source::OnHand, None, *quantity);
                line.shipped = line.shipped.saturating_add(*quantity);
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
            InventoryEvent::OrderLineReleased { order_line, quantity } => {
                let line = self.order_lines.get_mut(order_line.as_str()).expect("decide checked the order line");
                let record = self.records.get_mut(&line.sku).expect("an order line's record exists");
                for part in release_plan(line, record, *quantity) {
                    count(record, &part, Holder::Order, Direction::Remove);
                    record::shift(&mut line.parts, &part.source, None, part.quantity);
                }
                line.released = line.released.saturating_add(*quantity);
                if line.parts.is_empty() {
                    self.order_lines.remove(order_line.as_str());
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
    pub(super) fn record_mut(&mut self, sku: &str) -> &mut StockRecord {
        if !self.records.contains_key(sku) {
            self.records.insert(Arc::from(sku), StockRecord::default());
        }
        self.records.get_mut(sku).expect("inserted above")
    }

    /// Moves an order line's units from one source to another, keeping the counters.
    pub(super) fn shift_line(&mut self, order_line: &str, from: Source, to: Source, quantity: u32) {
        let line = self.order_lines.get_mut(order_line).expect("decide named an existing order line");
        let record = self.records.get_mut(&line.sku).expect("an order line's record exists");
        count(record, &SupplyPart { source: from.clone(), quantity }, Holder::Order, Direction::Remove);
        count(record, &SupplyPart { source: to.clone(), quantity }, Holder::Order, Direction::Add);
        record::shift(&mut line.parts, &from, Some(to), quantity);
    }

    /// Moves a reservation's units from a batch to another source, or drops them.
    pub(super) fn shift_reservation(&mut self, reservation: &str, batch: &str, to: Option<Source>, quantity: u32) {
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
pub(super) enum Direction {
    Add,
    Remove,
}

/// Which of an order line's units a release of `quantity` lets go of: the furthest
/// supply first (at risk, preorder, lead time, batches latest first, on hand last), so
/// what it keeps is what is ready soonest.
pub(crate) fn release_plan(line: &OrderLineStock, record: &StockRecord, quantity: u32) -> Vec<SupplyPart> {
    let rank = |source: &Source| -> (u8, Option<chrono::NaiveDate>) {
        match source {
            Source::AtRisk => (0, None),
            Source::Preorder => (1, None),
            Source::LeadTime => (2, None),
            Source::Batch(id) => (3, record.batch(id).map(|b| b.expected_date)),
            Source::OnHand => (4, None),
        }
    };
    let mut parts: Vec<&SupplyPart> = line.parts.iter().collect();
    parts.sort_by(|a, b| {
        let (ra, da) = rank(&a.source);
        let (rb, db) = rank(&b.source);
        ra.cmp(&rb).then(db.cmp(&da))
    });
    let mut left = quantity;
    let mut plan = Vec::new();
    for part in parts {
        let take = left.min(part.quantity);
        if take > 0 {
            plan.push(SupplyPart { source: part.source.clone(), quantity: take });
            left -= take;
        }
    }
    plan
}

/// Who holds units, and so which counter of their source they count on: a cart's
/// reservation (`reserved`) or a placed order line (`allocated` on-hand, else `promised`).
#[derive(Clone, Copy)]
pub(super) enum Holder {
    Cart,
    Order,
}

/// Adds or removes a part's units on the counter its source keeps for `holder`.
pub(super) fn count(record: &mut StockRecord, part: &SupplyPart, holder: Holder, direction: Direction) {
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
