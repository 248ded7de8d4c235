//! Format 2: the log records and snapshot parts written since format versions were kept
//! until orders gained their life after checkout. Frozen and only read now: a change to
//! any of these types, to their fields or to the order of their variants, would misread
//! the bytes format 2 wrote. Engine fields it did not hold are filled when read.

pub(crate) mod cart;
pub(crate) mod inventory;
pub(crate) mod order;

use mercato_persistence::codec;
use mercato_persistence::PersistenceError;

pub use cart::{Cart, CartEvent};
pub use inventory::{InventoryEvent, WarehouseStock};
pub use order::{Order, OrderEvent};

use crate::idempotency;
use crate::stored::convert::{stored_struct, Convert};
use crate::stored::{self as memory, PartKind, PartOf, Record, RECORD_CART, RECORD_ORDER, RECORD_WAREHOUSE};

pub const VERSION: u8 = 2;

stored_struct! {
    Stamp => idempotency::Stamp { scope: String, key: String, request: [u8; 32] }
}

stored_struct! {
    Answer => idempotency::Answer { status: u16, body: Vec<u8> }
}

stored_struct! {
    /// An answer kept under an idempotency key.
    Remembered => idempotency::Remembered { stamp: Stamp, answer: Answer, at: i64 }
}

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
    /// A cart's change.
    CartRecord => memory::CartEntry {
        commerce: String,
        cart: String,
        events: Vec<CartEvent>,
        remembered: Option<Remembered>,
    }
}

stored_struct! {
    /// An order's change.
    OrderRecord => memory::OrderEntry {
        commerce: String,
        order: String,
        events: Vec<OrderEvent>,
        remembered: Option<Remembered>,
    }
    fill { at: mercato_engine::inventory::Timestamp(0), by: String::new() }
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
    /// An open cart in a snapshot part, with the LSN its state covers.
    CartCopy => memory::CartCopy { cart: Cart, covers: u64 }
}

stored_struct! {
    /// A commerce's open carts.
    CartsPart => memory::CartsSnapshot { commerce: String, carts: Vec<CartCopy>, remembered: Vec<Remembered> }
}

stored_struct! {
    /// A commerce's orders.
    OrdersPart => memory::OrdersSnapshot { commerce: String, orders: Vec<Order>, remembered: Vec<Remembered> }
}

/// A log record of format 2, read.
pub(super) fn decode_record(kind: u8, payload: &[u8]) -> Result<Record, PersistenceError> {
    Ok(match kind {
        RECORD_WAREHOUSE => Record::Warehouse(codec::decode::<WarehouseRecord>(payload)?.into_engine()),
        RECORD_CART => Record::Cart(codec::decode::<CartRecord>(payload)?.into_engine()),
        RECORD_ORDER => Record::Order(codec::decode::<OrderRecord>(payload)?.into_engine()),
        other => return Err(PersistenceError::Codec(format!("unknown record kind {other}"))),
    })
}

/// A snapshot part of format 2, read; `kind` is what its key says it holds.
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
