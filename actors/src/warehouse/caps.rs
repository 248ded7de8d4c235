//! Caps shared across a commerce's warehouses. A product's preorder or lead-time cap is one
//! budget for every warehouse that offers the product without an override of its own
//! (DESIGN.md section 4): a warehouse may reserve only what the others left of it.
//!
//! `CapLedger` keeps what each warehouse has committed (reserved and promised) of each
//! shared cap; a warehouse publishes its figure for a SKU after every change that touched
//! the SKU, and reads the others' when it decides. A reservation of a SKU with a shared cap
//! decides, applies and publishes under the ledger's `serial` lock, so two warehouses
//! (on one thread today, on several later) never both spend the same units.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use mercato_engine::inventory::{InventoryEvent, SharedCaps, WarehouseStock};
use mercato_engine::Commerce;

/// Per SKU, each warehouse's code and the units it committed of the SKU's cap.
type Committed = HashMap<Arc<str>, Vec<(Arc<str>, u64)>>;

/// What each of a commerce's warehouses committed of each shared cap, by SKU.
#[derive(Debug, Default)]
pub struct CapLedger {
    committed: Mutex<Committed>,
    serial: Mutex<()>,
}

impl CapLedger {
    /// Held while a reservation of a SKU with a shared cap is decided, applied and
    /// published.
    pub fn serial(&self) -> MutexGuard<'_, ()> {
        self.serial.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn committed(&self) -> MutexGuard<'_, Committed> {
        self.committed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records what `warehouse` has committed of `sku`'s cap now.
    pub fn set(&self, sku: &str, warehouse: &str, units: u64) {
        let mut committed = self.committed();
        let by_warehouse = committed.entry(Arc::from(sku)).or_default();
        match by_warehouse.iter_mut().find(|(code, _)| &**code == warehouse) {
            Some((_, held)) => *held = units,
            None => by_warehouse.push((Arc::from(warehouse), units)),
        }
    }

    /// What the warehouses other than `warehouse` have committed of `sku`'s cap.
    pub fn elsewhere(&self, sku: &str, warehouse: &str) -> u64 {
        self.committed()
            .get(sku)
            .map_or(0, |by| by.iter().filter(|(code, _)| &**code != warehouse).map(|(_, units)| units).sum())
    }

    /// Publishes `stock`'s figure for each of `skus` that has a shared cap there.
    pub fn publish<'a>(&self, stock: &WarehouseStock, commerce: &Commerce, skus: impl IntoIterator<Item = &'a str>) {
        for sku in skus {
            if commerce.shares_cap(sku, &stock.warehouse) {
                self.set(sku, &stock.warehouse, stock.cap_commitments(sku, commerce));
            }
        }
    }
}

/// The ledger as one warehouse reads it.
pub struct Elsewhere<'a> {
    pub ledger: &'a CapLedger,
    pub warehouse: &'a str,
}

impl SharedCaps for Elsewhere<'_> {
    fn elsewhere(&self, sku: &str) -> u64 {
        self.ledger.elsewhere(sku, self.warehouse)
    }
}

/// The SKUs `events` touch in `stock`, read before they are applied (a released
/// reservation or a cancelled order line is gone after).
pub fn touched(stock: &WarehouseStock, events: &[InventoryEvent]) -> Vec<Arc<str>> {
    let of_reservation = |id: &str| stock.reservation(id).map(|r| Arc::clone(&r.sku));
    let of_line = |id: &str| stock.order_line(id).map(|l| Arc::clone(&l.sku));
    let mut skus: Vec<Arc<str>> = events
        .iter()
        .filter_map(|event| match event {
            InventoryEvent::StockReceived { sku, .. }
            | InventoryEvent::BatchAnnounced { sku, .. }
            | InventoryEvent::BatchChanged { sku, .. }
            | InventoryEvent::StockAdjusted { sku, .. }
            | InventoryEvent::ReturnRestocked { sku, .. }
            | InventoryEvent::BatchArrived { sku, .. }
            | InventoryEvent::BatchClosed { sku, .. } => Some(Arc::from(sku.as_str())),
            InventoryEvent::StockReserved { reservation } => Some(Arc::clone(&reservation.sku)),
            InventoryEvent::ReservationRenewed { reservation, .. }
            | InventoryEvent::ReservationReleased { reservation }
            | InventoryEvent::ReservationReduced { reservation, .. }
            | InventoryEvent::ReservationExpired { reservation }
            | InventoryEvent::ReservationCommitted { reservation, .. }
            | InventoryEvent::ReservationSourced { reservation, .. }
            | InventoryEvent::ReservationMoved { reservation, .. }
            | InventoryEvent::ReservationShortened { reservation, .. } => of_reservation(reservation),
            InventoryEvent::ReservationUncommitted { order_line, .. }
            | InventoryEvent::OrderLineShipped { order_line, .. }
            | InventoryEvent::OrderLineCancelled { order_line }
            | InventoryEvent::OrderLineReleased { order_line, .. }
            | InventoryEvent::PromiseAllocated { order_line, .. }
            | InventoryEvent::PromiseMoved { order_line, .. }
            | InventoryEvent::PromiseAtRisk { order_line, .. }
            | InventoryEvent::AtRiskAllocated { order_line, .. }
            | InventoryEvent::AtRiskPromised { order_line, .. } => of_line(order_line),
        })
        .collect();
    skus.sort_unstable();
    skus.dedup();
    skus
}
