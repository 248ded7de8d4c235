//! Format 7: the marketplace's money. An order line keeps its seller and the commission it
//! pays, fixed at placement (`order.rs`), and a settings record may hold payouts made to
//! merchants. Every other type is format 6's. Frozen once released: a change is a new
//! format with its own module.

pub(crate) mod order;

use mercato_persistence::codec;
use mercato_persistence::PersistenceError;
use rust_decimal::Decimal;

pub use super::v6::{
    Answer, CartCopy, CartRecord, CartsPart, CatalogPart, CatalogRecord, DataKind, ImportProgress, InventoryEvent,
    ProductVersion, Remembered, Stamp, StockLevel, WarehousePart, WarehouseRecord, WarehouseStock,
};
pub use order::{Order, OrderEvent};

use crate::stored::convert::{stored_struct, Convert};
use crate::stored::{self as memory, PartKind, PartOf, Record, RECORD_ORDER, RECORD_SETTINGS};

pub const VERSION: u8 = 7;

stored_struct! {
    /// An order's change.
    OrderRecord => memory::OrderEntry {
        commerce: String,
        order: String,
        at: i64,
        by: String,
        events: Vec<OrderEvent>,
        remembered: Option<Remembered>,
    }
}

stored_struct! {
    /// A commerce's orders.
    OrdersPart => memory::OrdersSnapshot { commerce: String, orders: Vec<Order>, remembered: Vec<Remembered> }
}

stored_struct! {
    Payout => memory::Payout {
        id: String,
        merchant: String,
        currency: String,
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
    }
}

stored_struct! {
    PayoutBatch => memory::PayoutBatch { id: String, payouts: Vec<Payout>, stamp: Option<Stamp> }
}

/// A change of the settings or the data, or payouts.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum SettingsChange {
    Seed { document: String },
    Reload { document: String },
    Put { kind: DataKind, item: String },
    Remove { kind: DataKind, code: String },
    Payouts { batch: PayoutBatch },
}

/// A settings record: when, by whom, and the change.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SettingsRecord {
    pub commerce: String,
    pub at: i64,
    pub by: String,
    pub change: SettingsChange,
}

/// A settings change as this format stores it: format 6's, or payouts.
pub(super) fn settings_record(entry: &memory::SettingsEntry) -> Result<SettingsRecord, PersistenceError> {
    use super::v6::SettingsChange as Six;
    let change = match &entry.change {
        memory::SettingsChange::Payouts(batch) => SettingsChange::Payouts { batch: PayoutBatch::from_engine(batch) },
        _ => match super::v6::settings_record(entry)?.change {
            Six::Seed { document } => SettingsChange::Seed { document },
            Six::Reload { document } => SettingsChange::Reload { document },
            Six::Put { kind, item } => SettingsChange::Put { kind, item },
            Six::Remove { kind, code } => SettingsChange::Remove { kind, code },
        },
    };
    Ok(SettingsRecord { commerce: entry.commerce.clone(), at: entry.at.0, by: entry.by.clone(), change })
}

fn settings_entry(record: SettingsRecord) -> Result<memory::SettingsEntry, PersistenceError> {
    use super::v6::SettingsChange as Six;
    let six = match record.change {
        SettingsChange::Payouts { batch } => {
            return Ok(memory::SettingsEntry {
                commerce: record.commerce,
                at: mercato_engine::inventory::Timestamp(record.at),
                by: record.by,
                change: memory::SettingsChange::Payouts(Box::new(batch.into_engine())),
            })
        }
        SettingsChange::Seed { document } => Six::Seed { document },
        SettingsChange::Reload { document } => Six::Reload { document },
        SettingsChange::Put { kind, item } => Six::Put { kind, item },
        SettingsChange::Remove { kind, code } => Six::Remove { kind, code },
    };
    let record = super::v6::SettingsRecord { commerce: record.commerce, at: record.at, by: record.by, change: six };
    super::v6::settings_entry(record)
}

/// A log record of format 7, read.
pub(super) fn decode_record(kind: u8, payload: &[u8]) -> Result<Record, PersistenceError> {
    Ok(match kind {
        RECORD_ORDER => Record::Order(codec::decode::<OrderRecord>(payload)?.into_engine()),
        RECORD_SETTINGS => Record::Settings(settings_entry(codec::decode::<SettingsRecord>(payload)?)?),
        other => super::v6::decode_record(other, payload)?,
    })
}

/// A snapshot part of format 7, read; `kind` is what its key says it holds.
pub(super) fn decode_part(kind: PartKind, bytes: &[u8]) -> Result<PartOf, PersistenceError> {
    match kind {
        PartKind::Orders => Ok(PartOf::Orders(codec::decode_part::<OrdersPart>(bytes)?.into_engine())),
        other => super::v6::decode_part(other, bytes),
    }
}

/// A commerce's catalogue and document as a snapshot part in this format (format 6's).
pub(super) fn catalog_part(part: &memory::CatalogSnapshot) -> Result<Vec<u8>, PersistenceError> {
    super::v6::catalog_part(part)
}

/// A warehouse's snapshot part in this format (format 3's).
pub(super) fn warehouse_part(part: &memory::WarehouseSnapshot) -> Result<Vec<u8>, PersistenceError> {
    super::v6::warehouse_part(part)
}
