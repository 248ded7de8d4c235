//! Format 6: settings and back-office data in the log. A settings record holds a fresh
//! folder's seed (the file's whole document), a settings reload (the file's settings), or
//! one item of data put or removed (a price rule, a discount, a user, a user group, an
//! API key, a merchant), each with who made it and when; the catalogue part also holds the document
//! in force. Documents and items are kept as JSON in the configuration's own shapes
//! (decimals as strings): they are the back office's, changed rarely, and the same shapes
//! the API and the file use. Every other type is format 5's. Frozen once released: a
//! change is a new format with its own module.

use mercato_engine::commerce::data as engine_data;
use mercato_engine::commerce::model::CommerceConfig;
use mercato_persistence::codec;
use mercato_persistence::PersistenceError;

pub use super::v5::{
    Answer, CartCopy, CartRecord, CartsPart, CatalogRecord, ImportProgress, InventoryEvent, Order, OrderEvent,
    OrderRecord, OrdersPart, ProductVersion, Remembered, Stamp, StockLevel, WarehousePart, WarehouseRecord,
    WarehouseStock,
};

use crate::stored::convert::{stored_enum, Convert};
use crate::stored::{
    self as memory, PartKind, PartOf, Record, RECORD_CART, RECORD_CATALOG, RECORD_ORDER, RECORD_SETTINGS,
    RECORD_WAREHOUSE,
};

pub const VERSION: u8 = 6;

stored_enum! {
    DataKind => engine_data::DataKind {
        PriceRule, Discount, User, UserGroup, ApiKey, Merchant, CommissionRule, ProductProposal,
    }
}

/// A change of the settings or the data.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum SettingsChange {
    /// A fresh folder's seed: the file's whole document (without its products).
    Seed { document: String },
    /// A reload: the file's settings; the data stays.
    Reload { document: String },
    /// One item put (created or replaced), whole.
    Put { kind: DataKind, item: String },
    /// One item removed.
    Remove { kind: DataKind, code: String },
}

/// A settings record: when, by whom, and the change.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SettingsRecord {
    pub commerce: String,
    pub at: i64,
    pub by: String,
    pub change: SettingsChange,
}

/// A commerce's catalogue and, from format 6, the document in force.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CatalogPart {
    pub commerce: String,
    pub products: Vec<Vec<ProductVersion>>,
    pub remembered: Vec<Remembered>,
    pub imports: Vec<ImportProgress>,
    pub settings: Option<String>,
}

fn codec_error(what: &str, error: impl std::fmt::Display) -> PersistenceError {
    PersistenceError::Codec(format!("{what}: {error}"))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, PersistenceError> {
    serde_json::to_string(value).map_err(|e| codec_error("a document does not encode", e))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, PersistenceError> {
    serde_json::from_str(text).map_err(|e| codec_error("a document does not read", e))
}

fn item_to_json(item: &engine_data::DataItem) -> Result<String, PersistenceError> {
    use engine_data::DataItem as I;
    match item {
        I::PriceRule(x) => to_json(x),
        I::Discount(x) => to_json(x),
        I::User(x) => to_json(x),
        I::UserGroup(x) => to_json(x),
        I::ApiKey(x) => to_json(x),
        I::Merchant(x) => to_json(x),
        I::CommissionRule(x) => to_json(x),
        I::ProductProposal(x) => to_json(x),
    }
}

fn item_from_json(kind: engine_data::DataKind, text: &str) -> Result<engine_data::DataItem, PersistenceError> {
    use engine_data::{DataItem as I, DataKind as K};
    Ok(match kind {
        K::PriceRule => I::PriceRule(from_json(text)?),
        K::Discount => I::Discount(from_json(text)?),
        K::User => I::User(from_json(text)?),
        K::UserGroup => I::UserGroup(from_json(text)?),
        K::ApiKey => I::ApiKey(from_json(text)?),
        K::Merchant => I::Merchant(from_json(text)?),
        K::CommissionRule => I::CommissionRule(from_json(text)?),
        K::ProductProposal => I::ProductProposal(from_json(text)?),
    })
}

/// A settings change as this format stores it.
pub(super) fn settings_record(entry: &memory::SettingsEntry) -> Result<SettingsRecord, PersistenceError> {
    let change = match &entry.change {
        memory::SettingsChange::Seed(config) => SettingsChange::Seed { document: to_json(config.as_ref())? },
        memory::SettingsChange::Reload(config) => SettingsChange::Reload { document: to_json(config.as_ref())? },
        memory::SettingsChange::Data(engine_data::DataChange::Put(item)) => {
            SettingsChange::Put { kind: DataKind::from_engine(&item.kind()), item: item_to_json(item)? }
        }
        memory::SettingsChange::Data(engine_data::DataChange::Remove { kind, code }) => {
            SettingsChange::Remove { kind: DataKind::from_engine(kind), code: code.clone() }
        }
        memory::SettingsChange::Payouts(_) => {
            return Err(PersistenceError::Codec(format!("format {VERSION} holds no payouts")))
        }
    };
    Ok(SettingsRecord { commerce: entry.commerce.clone(), at: entry.at.0, by: entry.by.clone(), change })
}

pub(super) fn settings_entry(record: SettingsRecord) -> Result<memory::SettingsEntry, PersistenceError> {
    let change = match record.change {
        SettingsChange::Seed { document } => memory::SettingsChange::Seed(Box::new(from_json(&document)?)),
        SettingsChange::Reload { document } => memory::SettingsChange::Reload(Box::new(from_json(&document)?)),
        SettingsChange::Put { kind, item } => {
            let item = item_from_json(kind.into_engine(), &item)?;
            memory::SettingsChange::Data(engine_data::DataChange::Put(Box::new(item)))
        }
        SettingsChange::Remove { kind, code } => {
            memory::SettingsChange::Data(engine_data::DataChange::Remove { kind: kind.into_engine(), code })
        }
    };
    Ok(memory::SettingsEntry {
        commerce: record.commerce,
        at: mercato_engine::inventory::Timestamp(record.at),
        by: record.by,
        change,
    })
}

/// A log record of format 6, read.
pub(super) fn decode_record(kind: u8, payload: &[u8]) -> Result<Record, PersistenceError> {
    Ok(match kind {
        RECORD_SETTINGS => Record::Settings(settings_entry(codec::decode::<SettingsRecord>(payload)?)?),
        RECORD_CATALOG | RECORD_WAREHOUSE | RECORD_CART | RECORD_ORDER => super::v5::decode_record(kind, payload)?,
        other => return Err(PersistenceError::Codec(format!("unknown record kind {other}"))),
    })
}

/// A snapshot part of format 6, read; `kind` is what its key says it holds.
pub(super) fn decode_part(kind: PartKind, bytes: &[u8]) -> Result<PartOf, PersistenceError> {
    match kind {
        PartKind::Catalog => {
            let part: CatalogPart = codec::decode_part(bytes)?;
            let settings: Option<CommerceConfig> = part.settings.as_deref().map(from_json).transpose()?;
            let v5 = super::v5::CatalogPart {
                commerce: part.commerce,
                products: part.products,
                remembered: part.remembered,
                imports: part.imports,
            };
            let PartOf::Catalog(mut snapshot) = super::v5::catalog_of(v5)? else {
                return Err(PersistenceError::Codec("a catalogue part reads as another part".into()));
            };
            snapshot.settings = settings.map(Box::new);
            Ok(PartOf::Catalog(snapshot))
        }
        other => super::v5::decode_part(other, bytes),
    }
}

/// A commerce's catalogue and document as a snapshot part in this format.
pub(super) fn catalog_part(part: &memory::CatalogSnapshot) -> Result<Vec<u8>, PersistenceError> {
    let v5 = super::v5::catalog_part_of(part);
    codec::encode_part(&CatalogPart {
        commerce: v5.commerce,
        products: v5.products,
        remembered: v5.remembered,
        imports: v5.imports,
        settings: part.settings.as_deref().map(to_json).transpose()?,
    })
}

/// A warehouse's snapshot part in this format (format 3's).
pub(super) fn warehouse_part(part: &memory::WarehouseSnapshot) -> Result<Vec<u8>, PersistenceError> {
    super::v5::warehouse_part(part)
}
