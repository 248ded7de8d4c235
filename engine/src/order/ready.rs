//! A shipment waiting for stock becomes ready by itself, and its promised date follows its
//! stock: after the warehouses serve an order's units (a batch arrived, stock came back
//! from a cancellation or a return) or move them (a batch's date changed, a short
//! delivery), the order is refreshed with what each of its keys holds.
//!
//! Shipments claim the units allocated on hand in their logistic center, ready ones first
//! (they hold theirs already), then those waiting, soonest first: one whose every unit is
//! covered is ready. One still waiting takes as its ready day the latest day its keys can
//! leave (unknown while some units are at risk: it keeps its date), and its delivery date
//! moves by as many days.

use chrono::NaiveDate;

use super::fulfil::KeyStock;
use super::{Order, OrderCtx, OrderEvent, OrderShipment};
use crate::commerce::model::ShipmentStatus;

impl Order {
    pub(super) fn decide_refresh(&self, stock: &[KeyStock], ctx: &OrderCtx<'_>) -> Vec<OrderEvent> {
        let mut free = self.free_on_hand(stock);
        let mut waiting: Vec<&OrderShipment> = Vec::new();
        let mut ready: Vec<&OrderShipment> = Vec::new();
        for shipment in self.shipments.iter().filter(|s| s.units() > 0) {
            match shipment.status {
                ShipmentStatus::Ready => ready.push(shipment),
                ShipmentStatus::AwaitingStock => waiting.push(shipment),
                _ => {}
            }
        }
        waiting.sort_by(|a, b| a.delivery_date.cmp(&b.delivery_date).then_with(|| a.id.cmp(&b.id)));
        let mut events = Vec::new();
        for shipment in ready {
            self.claim(shipment, &mut free, ctx);
        }
        for shipment in waiting {
            if self.claim(shipment, &mut free, ctx) {
                events.push(OrderEvent::ShipmentReady { shipment: shipment.id.clone() });
                continue;
            }
            let Some(day) = self.ready_day(shipment, stock, ctx) else { continue };
            let was = shipment.items.iter().map(|i| i.ready_date).max().unwrap_or(day);
            if day != was {
                let moved = day.signed_duration_since(was);
                let delivery_date = shipment.delivery_date.checked_add_signed(moved).unwrap_or(shipment.delivery_date);
                events.push(OrderEvent::PromiseChanged {
                    shipment: shipment.id.clone(),
                    ready_date: day,
                    delivery_date,
                });
            }
        }
        events
    }

    /// Whether the free units on hand in the shipment's center cover every unit it
    /// carries; if so they are taken.
    fn claim(&self, shipment: &OrderShipment, free: &mut [(String, u32)], ctx: &OrderCtx<'_>) -> bool {
        let mut taken: Vec<(usize, u32)> = Vec::new();
        for item in shipment.items.iter().filter(|i| i.quantity > 0) {
            let Some(line) = self.line(&item.line) else { return false };
            let mut needed = item.quantity;
            for allocation in line.allocations.iter().filter(|a| in_center(shipment, &a.warehouse, ctx)) {
                let Some(at) = free.iter().position(|(key, _)| *key == allocation.key) else { continue };
                let already: u32 = taken.iter().filter(|(i, _)| *i == at).map(|(_, n)| n).sum();
                let take = needed.min(free[at].1.saturating_sub(already));
                if take > 0 {
                    taken.push((at, take));
                    needed -= take;
                }
            }
            if needed > 0 {
                return false;
            }
        }
        for (at, units) in taken {
            free[at].1 -= units;
        }
        true
    }

    /// The latest day the keys of the shipment's lines in its center can leave; none
    /// while some units are at risk or a key is not reported.
    fn ready_day(&self, shipment: &OrderShipment, stock: &[KeyStock], ctx: &OrderCtx<'_>) -> Option<NaiveDate> {
        let mut day: Option<NaiveDate> = None;
        for item in shipment.items.iter().filter(|i| i.quantity > 0) {
            let line = self.line(&item.line)?;
            for allocation in line.allocations.iter().filter(|a| a.held() > 0 && in_center(shipment, &a.warehouse, ctx))
            {
                let ready = stock.iter().find(|s| s.key == allocation.key)?.ready?;
                day = Some(day.map_or(ready, |d| d.max(ready)));
            }
        }
        day
    }

    pub(super) fn apply_ready(&mut self, id: &str) {
        let shipment = self.shipments.iter_mut().find(|s| s.id == id).expect("decide found the shipment");
        assert_eq!(shipment.status, ShipmentStatus::AwaitingStock, "shipment {id} ready twice");
        shipment.status = ShipmentStatus::Ready;
        for item in &mut shipment.items {
            item.awaiting_stock = false;
        }
    }

    pub(super) fn apply_promise(&mut self, id: &str, ready_date: NaiveDate, delivery_date: NaiveDate) {
        let shipment = self.shipments.iter_mut().find(|s| s.id == id).expect("decide found the shipment");
        shipment.delivery_date = delivery_date;
        for item in shipment.items.iter_mut().filter(|i| i.awaiting_stock) {
            item.ready_date = ready_date;
        }
    }
}

fn in_center(shipment: &OrderShipment, warehouse: &str, ctx: &OrderCtx<'_>) -> bool {
    shipment.center.is_empty()
        || ctx.commerce.warehouse(warehouse).is_some_and(|w| w.logistic_center == shipment.center)
}
