//! A warehouse's stored types in format 3: its events (with the release of cancelled
//! units) and its stock (order lines count what they shipped and released). Stock records,
//! batches, reservations and sources are format 2's.

use chrono::NaiveDate;
use mercato_engine::inventory as engine;

use crate::stored::convert::{stored_enum, stored_struct, Convert};
pub use crate::stored::v2::inventory::{AdjustmentReason, Reservation, StockRecord, SupplyPart};

stored_struct! {
    OrderLineStock => engine::OrderLineStock {
        order_line: String,
        sku: String,
        placed_at: i64,
        parts: Vec<SupplyPart>,
        shipped: u32,
        released: u32,
    }
}

stored_enum! {
    /// A warehouse's event, in the engine's order of variants.
    InventoryEvent => engine::InventoryEvent {
        StockReceived { sku: String, quantity: u32 },
        BatchAnnounced { sku: String, batch: String, quantity: u32, expected_date: NaiveDate },
        BatchChanged { sku: String, batch: String, quantity: u32, expected_date: NaiveDate },
        StockAdjusted { sku: String, delta: i64, reason: AdjustmentReason },
        StockReserved { reservation: Reservation },
        ReservationRenewed { reservation: String, expires_at: i64 },
        ReservationReleased { reservation: String },
        ReservationReduced { reservation: String, quantity: u32 },
        ReservationExpired { reservation: String },
        ReservationCommitted { reservation: String, order_line: String, placed_at: i64 },
        OrderLineShipped { order_line: String, quantity: u32 },
        ReservationUncommitted { order_line: String, reservation: String, expires_at: i64 },
        OrderLineCancelled { order_line: String },
        OrderLineReleased { order_line: String, quantity: u32 },
        ReturnRestocked { sku: String, quantity: u32 },
        BatchArrived { sku: String, batch: String, quantity: u32 },
        PromiseAllocated { order_line: String, batch: String, quantity: u32, ready_date: NaiveDate },
        PromiseMoved { order_line: String, from: String, to: String, quantity: u32, ready_date: NaiveDate },
        PromiseAtRisk { order_line: String, batch: String, quantity: u32 },
        AtRiskAllocated { order_line: String, quantity: u32, ready_date: NaiveDate },
        AtRiskPromised { order_line: String, batch: String, quantity: u32, ready_date: NaiveDate },
        ReservationSourced { reservation: String, batch: String, quantity: u32 },
        ReservationMoved { reservation: String, from: String, to: String, quantity: u32 },
        ReservationShortened { reservation: String, batch: String, quantity: u32 },
        BatchClosed { sku: String, batch: String },
    }
}

/// A warehouse's stock: its records by SKU, its reservations by id and its order lines by
/// id (each as a sequence of pairs, which encodes as a map would).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WarehouseStock {
    pub warehouse: String,
    pub records: Vec<(String, StockRecord)>,
    pub reservations: Vec<Reservation>,
    pub order_lines: Vec<(String, OrderLineStock)>,
}

impl WarehouseStock {
    /// The stock as stored: records and reservations in the order of their keys, so the
    /// same state always gives the same bytes.
    pub fn from_engine(stock: &engine::WarehouseStock) -> Self {
        let mut reservations: Vec<Reservation> = stock.reservations().map(Reservation::from_engine).collect();
        reservations.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        WarehouseStock {
            warehouse: stock.warehouse.clone(),
            records: stock.records().map(|(sku, record)| (sku.to_owned(), StockRecord::from_engine(record))).collect(),
            reservations,
            order_lines: stock
                .order_lines()
                .map(|line| (line.order_line.clone(), OrderLineStock::from_engine(line)))
                .collect(),
        }
    }

    /// The engine's stock, or why these parts do not make one (a key that appears twice,
    /// an order line filed under another id).
    pub fn into_engine(self) -> Result<engine::WarehouseStock, String> {
        let mut order_lines = Vec::with_capacity(self.order_lines.len());
        for (id, line) in self.order_lines {
            if id != line.order_line {
                return Err(format!("order line {} is filed under {id}", line.order_line));
            }
            order_lines.push(line.into_engine());
        }
        engine::WarehouseStock::from_parts(
            self.warehouse,
            self.records.into_iter().map(|(sku, record)| (sku.into(), record.into_engine())).collect(),
            self.reservations.into_iter().map(Reservation::into_engine).collect(),
            order_lines,
        )
    }
}
