//! Format 4: a warehouse record says when its change was made and how it moved the stock
//! levels of the SKUs it touched (units on hand nobody holds, before and after), so stock
//! alerts and their times are derived from the log alone. Every other type is format 3's.
//! Frozen once released: a change is a new format with its own module.

use mercato_persistence::codec;
use mercato_persistence::PersistenceError;

pub use super::v3::{
    Answer, CartCopy, CartRecord, CartsPart, InventoryEvent, Order, OrderEvent, OrderRecord, OrdersPart, Remembered,
    Stamp, WarehousePart, WarehouseStock,
};

use crate::stored::convert::{stored_struct, Convert};
use crate::stored::{self as memory, Record, RECORD_CART, RECORD_ORDER, RECORD_WAREHOUSE};

pub const VERSION: u8 = 4;

stored_struct! {
    /// A SKU's units on hand nobody holds, before and after a change.
    StockLevel => memory::StockLevel { sku: String, before: u32, after: u32 }
}

stored_struct! {
    /// A warehouse's change: when, the events of one command, the levels they moved and
    /// the answer kept for it.
    WarehouseRecord => memory::WarehouseEntry {
        commerce: String,
        warehouse: String,
        at: Option<i64>,
        events: Vec<InventoryEvent>,
        levels: Vec<StockLevel>,
        remembered: Option<Remembered>,
    }
}

/// A log record of format 4, read.
pub(super) fn decode_record(kind: u8, payload: &[u8]) -> Result<Record, PersistenceError> {
    Ok(match kind {
        RECORD_WAREHOUSE => Record::Warehouse(codec::decode::<WarehouseRecord>(payload)?.into_engine()),
        RECORD_CART => Record::Cart(codec::decode::<CartRecord>(payload)?.into_engine()),
        RECORD_ORDER => Record::Order(codec::decode::<OrderRecord>(payload)?.into_engine()),
        other => return Err(PersistenceError::Codec(format!("unknown record kind {other}"))),
    })
}
