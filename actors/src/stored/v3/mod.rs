//! Format 3: orders after checkout. An order record says when and by whom it was made;
//! an order keeps its invoices, delivery notes, refunds, carrier reports and history; a
//! warehouse's order line counts what it shipped and released. The types format 3 did not
//! change are format 2's (carts, stock records, reservations, amounts). Frozen once
//! released: a change is a new format with its own module.

pub(crate) mod inventory;
pub(crate) mod order;

use mercato_persistence::codec;
use mercato_persistence::PersistenceError;

pub use super::v2::{Answer, CartCopy, CartRecord, CartsPart, Remembered, Stamp};
pub use inventory::{InventoryEvent, WarehouseStock};
pub use order::{Order, OrderEvent};

use crate::stored::convert::{stored_struct, Convert};
use crate::stored::{self as memory, PartKind, PartOf, Record, RECORD_CART, RECORD_ORDER, RECORD_WAREHOUSE};

pub const VERSION: u8 = 3;

stored_struct! {
    /// A warehouse's change: the events of one command and the answer kept for it.
    WarehouseRecord => memory::WarehouseEntry {
        commerce: String,
        warehouse: String,
        events: Vec<InventoryEvent>,
        remembered: Option<Remembered>,
    }
    fill { at: None, levels: Vec::new() }
}

stored_struct! {
    /// An order's change.
    OrderRecord => memory::OrderEntry {
        commerce: String,
        order: String,
        /// When the change was made, and by whom (the key's principal, or the node).
        at: i64,
        by: String,
        events: Vec<OrderEvent>,
        remembered: Option<Remembered>,
    }
}

/// A warehouse's snapshot part.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WarehousePart {
    pub commerce: String,
    pub warehouse: String,
    pub stock: WarehouseStock,
    pub remembered: Vec<Remembered>,
}

stored_struct! {
    /// A commerce's orders.
    OrdersPart => memory::OrdersSnapshot { commerce: String, orders: Vec<Order>, remembered: Vec<Remembered> }
}

/// A log record of format 3, read.
pub(super) fn decode_record(kind: u8, payload: &[u8]) -> Result<Record, PersistenceError> {
    Ok(match kind {
        RECORD_WAREHOUSE => Record::Warehouse(codec::decode::<WarehouseRecord>(payload)?.into_engine()),
        RECORD_CART => Record::Cart(codec::decode::<CartRecord>(payload)?.into_engine()),
        RECORD_ORDER => Record::Order(codec::decode::<OrderRecord>(payload)?.into_engine()),
        other => return Err(PersistenceError::Codec(format!("unknown record kind {other}"))),
    })
}

/// A snapshot part of format 3, read; `kind` is what its key says it holds.
pub(super) fn decode_part(kind: PartKind, bytes: &[u8]) -> Result<PartOf, PersistenceError> {
    Ok(match kind {
        PartKind::Warehouse => {
            let part: WarehousePart = codec::decode_part(bytes)?;
            let stock = part.stock.into_engine().map_err(PersistenceError::Codec)?;
            PartOf::Warehouse(memory::WarehouseSnapshot {
                commerce: part.commerce,
                warehouse: part.warehouse,
                stock,
                remembered: part.remembered.into_engine(),
            })
        }
        PartKind::Carts => PartOf::Carts(codec::decode_part::<CartsPart>(bytes)?.into_engine()),
        PartKind::Orders => PartOf::Orders(codec::decode_part::<OrdersPart>(bytes)?.into_engine()),
        PartKind::Catalog => return Err(PersistenceError::Codec(format!("format {VERSION} holds no catalogue part"))),
    })
}

/// A warehouse's snapshot part in this format.
pub(super) fn warehouse_part(part: &memory::WarehouseSnapshot) -> Result<Vec<u8>, PersistenceError> {
    codec::encode_part(&WarehousePart {
        commerce: part.commerce.clone(),
        warehouse: part.warehouse.clone(),
        stock: WarehouseStock::from_engine(&part.stock),
        remembered: Convert::from_engine(&part.remembered),
    })
}
