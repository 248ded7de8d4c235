//! Format 5: the live catalogue. A catalogue record holds new versions of products (who
//! made them and when), and a catalogue part holds every product of a commerce with all
//! its versions. Every other type is format 4's. Frozen once released: a change is a new
//! format with its own module.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use mercato_engine::catalog as engine_catalog;
use mercato_engine::commerce::model as engine;
use mercato_persistence::codec;
use mercato_persistence::PersistenceError;
use rust_decimal::Decimal;

pub use super::v4::{
    Answer, CartCopy, CartRecord, CartsPart, InventoryEvent, Order, OrderEvent, OrderRecord, OrdersPart, Remembered,
    Stamp, StockLevel, WarehousePart, WarehouseRecord, WarehouseStock,
};

use crate::stored::convert::{stored_enum, stored_struct, Convert};
use crate::stored::{
    self as memory, PartKind, PartOf, Record, RECORD_CART, RECORD_CATALOG, RECORD_ORDER, RECORD_WAREHOUSE,
};

pub const VERSION: u8 = 5;

/// A decimal, kept as its string (bincode cannot read rust_decimal's own serde form).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Amount(#[serde(with = "rust_decimal::serde::str")] pub Decimal);

impl Convert<Decimal> for Amount {
    fn from_engine(value: &Decimal) -> Self {
        Amount(*value)
    }
    fn into_engine(self) -> Decimal {
        self.0
    }
}

stored_enum! {
    MediaKind => engine::MediaKind { Image, Video, Model3d }
}

stored_struct! {
    Media => engine::Media { url: String, kind: Option<MediaKind>, alt: BTreeMap<String, String> }
}

stored_enum! {
    StockPolicyKind => engine::StockPolicyKind { StockOnly, BackorderIncoming, BackorderLeadTime, Preorder }
}

stored_struct! {
    StockPolicyConfig => engine::StockPolicyConfig {
        kind: Option<StockPolicyKind>,
        days: Option<u32>,
        cap: Option<u32>,
        release_date: Option<NaiveDate>,
    }
}

stored_struct! {
    QuantityRules => engine::QuantityRules { min: u32, max: Option<u32>, multiple_of: u32 }
}

stored_struct! {
    /// A product (its weight kept in grams only: a weight given in another unit is
    /// converted before it is kept).
    Product => engine::Product {
        sku: String,
        names: BTreeMap<String, String>,
        descriptions: BTreeMap<String, String>,
        attributes: BTreeMap<String, String>,
        tax_class: String,
        weight_grams: Option<u32>,
        family: Option<String>,
        shipping_class: String,
        merchant: Option<String>,
        prices: BTreeMap<String, Amount>,
        stock_policy: Option<StockPolicyConfig>,
        stock_policy_overrides: BTreeMap<String, StockPolicyConfig>,
        quantity: QuantityRules,
        related: Vec<String>,
        media: Vec<Media>,
    }
    fill { weight: None }
}

impl Convert<Arc<engine::Product>> for Product {
    fn from_engine(value: &Arc<engine::Product>) -> Self {
        Product::from_engine(value.as_ref())
    }
    fn into_engine(self) -> Arc<engine::Product> {
        Arc::new(self.into_engine())
    }
}

stored_enum! {
    CatalogEvent => engine_catalog::CatalogEvent {
        Saved { version: u32, retired: bool, product: Product },
    }
}

stored_struct! {
    /// A row an import refused.
    RowRefusal => memory::RowRefusal { row: u64, sku: String, problems: Vec<String> }
}

stored_struct! {
    /// An import batch's mark.
    ImportMark => memory::ImportMark {
        job: String,
        through_row: u64,
        applied: u64,
        unchanged: u64,
        refused: Vec<RowRefusal>,
        done: bool,
    }
}

stored_struct! {
    /// An import job's progress.
    ImportProgress => memory::ImportProgress {
        job: String,
        through_row: u64,
        applied: u64,
        unchanged: u64,
        refused: u64,
        refusals: Vec<RowRefusal>,
        done: bool,
    }
}

stored_struct! {
    /// A catalogue change: when, by whom, the versions it made, the answer kept for it and
    /// the mark of the import batch it applies.
    CatalogRecord => memory::CatalogEntry {
        commerce: String,
        at: i64,
        by: String,
        events: Vec<CatalogEvent>,
        remembered: Option<Remembered>,
        import: Option<ImportMark>,
    }
}

stored_struct! {
    /// One version of a product.
    ProductVersion => engine_catalog::ProductVersion {
        version: u32,
        at: i64,
        by: String,
        retired: bool,
        product: Product,
    }
}

/// A commerce's catalogue: every product's versions, oldest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CatalogPart {
    pub commerce: String,
    pub products: Vec<Vec<ProductVersion>>,
    pub remembered: Vec<Remembered>,
    pub imports: Vec<ImportProgress>,
}

/// A log record of format 5, read.
pub(super) fn decode_record(kind: u8, payload: &[u8]) -> Result<Record, PersistenceError> {
    Ok(match kind {
        RECORD_CATALOG => Record::Catalog(codec::decode::<CatalogRecord>(payload)?.into_engine()),
        RECORD_WAREHOUSE | RECORD_CART | RECORD_ORDER => super::v4::decode_record(kind, payload)?,
        other => return Err(PersistenceError::Codec(format!("unknown record kind {other}"))),
    })
}

/// A snapshot part of format 5, read; `kind` is what its key says it holds.
pub(super) fn decode_part(kind: PartKind, bytes: &[u8]) -> Result<PartOf, PersistenceError> {
    match kind {
        PartKind::Catalog => catalog_of(codec::decode_part(bytes)?),
        other => super::v3::decode_part(other, bytes),
    }
}

/// A catalogue part read into the engine's types (no document: format 5 held none).
pub(super) fn catalog_of(part: CatalogPart) -> Result<PartOf, PersistenceError> {
    let histories = part.products.into_iter().map(Convert::into_engine);
    let catalog = engine_catalog::Catalog::restore(histories).map_err(PersistenceError::Codec)?;
    Ok(PartOf::Catalog(memory::CatalogSnapshot {
        commerce: part.commerce,
        catalog,
        remembered: part.remembered.into_engine(),
        imports: part.imports.into_engine(),
        settings: None,
    }))
}

/// A commerce's catalogue in this format's types.
pub(super) fn catalog_part_of(part: &memory::CatalogSnapshot) -> CatalogPart {
    CatalogPart {
        commerce: part.commerce.clone(),
        products: part
            .catalog
            .iter()
            .map(|history| history.versions().map(ProductVersion::from_engine).collect())
            .collect(),
        remembered: Convert::from_engine(&part.remembered),
        imports: Convert::from_engine(&part.imports),
    }
}

/// A warehouse's snapshot part in this format (format 3's).
pub(super) fn warehouse_part(part: &memory::WarehouseSnapshot) -> Result<Vec<u8>, PersistenceError> {
    super::v3::warehouse_part(part)
}
