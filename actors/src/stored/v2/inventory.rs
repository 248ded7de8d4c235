//! A warehouse's stored types in format 2: its events and its stock.

use chrono::NaiveDate;
use mercato_engine::inventory::{self as engine, Parts};

use crate::stored::convert::{stored_enum, stored_struct, Convert};

stored_struct! {
    Commitments => engine::Commitments { reserved: u32, promised: u32 }
}

stored_struct! {
    Batch => engine::Batch { id: String, quantity: u32, expected_date: NaiveDate, committed: Commitments }
}

stored_struct! {
    StockRecord => engine::StockRecord {
        on_hand: u32,
        reserved: u32,
        allocated: u32,
        batches: Vec<Batch>,
        lead_time: Commitments,
        preorder: Commitments,
    }
}

/// Where reserved units come from. A batch's id is a one-field variant in the engine.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Source {
    OnHand,
    Batch(String),
    LeadTime,
    Preorder,
    AtRisk,
}

impl Convert<engine::Source> for Source {
    fn from_engine(value: &engine::Source) -> Self {
        match value {
            engine::Source::OnHand => Source::OnHand,
            engine::Source::Batch(batch) => Source::Batch(batch.clone()),
            engine::Source::LeadTime => Source::LeadTime,
            engine::Source::Preorder => Source::Preorder,
            engine::Source::AtRisk => Source::AtRisk,
        }
    }
    fn into_engine(self) -> engine::Source {
        match self {
            Source::OnHand => engine::Source::OnHand,
            Source::Batch(batch) => engine::Source::Batch(batch),
            Source::LeadTime => engine::Source::LeadTime,
            Source::Preorder => engine::Source::Preorder,
            Source::AtRisk => engine::Source::AtRisk,
        }
    }
}

stored_struct! {
    SupplyPart => engine::SupplyPart { source: Source, quantity: u32 }
}

impl Convert<Parts> for Vec<SupplyPart> {
    fn from_engine(value: &Parts) -> Self {
        value.iter().map(SupplyPart::from_engine).collect()
    }
    fn into_engine(self) -> Parts {
        self.into_iter().map(SupplyPart::into_engine).collect()
    }
}

stored_struct! {
    Reservation => engine::Reservation { id: String, sku: String, expires_at: i64, parts: Vec<SupplyPart> }
}

stored_struct! {
    OrderLineStock => engine::OrderLineStock { order_line: String, sku: String, placed_at: i64, parts: Vec<SupplyPart> }
    fill { shipped: 0, released: 0 }
}

stored_enum! {
    AdjustmentReason => engine::AdjustmentReason { CountCorrection, Damage, Loss, Found }
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
    newer {
        engine::InventoryEvent::OrderLineReleased { order_line, .. } => Self::OrderLineCancelled { order_line: order_line.clone() },
    }
}

/// A warehouse's stock: its records by SKU, its reservations by id and its order lines by
/// id (each as a sequence of pairs, which encodes as the map it was in format 2).
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
