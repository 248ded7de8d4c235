//! Persisted formats: what the log's records and the snapshots' parts hold, as types of
//! their own, one module per format version, apart from the engine's in-memory structs.
//!
//! The engine's types change as features come (an order gains invoices, a shipment its
//! tracking); the bytes in a data folder do not. So nothing the engine holds is encoded as
//! it is: every record and part is converted to the stored types of the current format
//! (`v7` today) and encoded with them, and read back with the types of the version its
//! segment or snapshot states (`Replayed::format`, `Loaded::format`), then converted to
//! the engine's types. Each stored type is declared field by field next to the engine type
//! it keeps (`convert::stored_struct!`), so a field added to the engine type fails to
//! build here until the format says what becomes of it.
//!
//! To change an encoding: copy the types that change into a module `v3` (the others are
//! reused from `v2`), write the new ones, make `v3` current below, bump
//! `mercato_persistence::codec::FORMAT_VERSION` (and the event-codec test's digest), keep
//! `v2`'s reading conversions (filling what format 2 did not hold) and its fixtures in
//! `actors/tests/fixtures/format-2/`, and add fixtures of format 3. `FORMAT_OLDEST` moves
//! only when a version is no longer read. Formats 4 (a warehouse record's time and stock
//! levels) and 5 (the live catalogue: a record kind and a part kind of its own) were made
//! the same way.
//!
//! The in-memory side of records and parts (`WarehouseEntry`, `CartsSnapshot`, ...) holds
//! engine types and is what the actors and recovery use.

pub(crate) mod convert;
pub mod v2;
pub mod v3;
pub mod v4;
pub mod v5;
pub mod v6;
pub mod v7;

use mercato_engine::cart::{Cart, CartEvent};
use mercato_engine::catalog::{Catalog, CatalogEvent};
use mercato_engine::commerce::data::DataChange;
use mercato_engine::commerce::model::CommerceConfig;
use mercato_engine::inventory::{InventoryEvent, Timestamp, WarehouseStock};
use mercato_engine::order::{Order, OrderEvent};
use mercato_persistence::codec::{self, FORMAT_OLDEST, FORMAT_VERSION};
use mercato_persistence::log::Lsn;
use mercato_persistence::PersistenceError;

use crate::idempotency::Remembered;
use convert::Convert;
use v7 as current;

const _: () = assert!(current::VERSION == FORMAT_VERSION, "the current stored types are not the log's format");

/// The record kind of a warehouse's change.
pub const RECORD_WAREHOUSE: u8 = 1;
/// The record kind of a cart's change.
pub const RECORD_CART: u8 = 2;
/// The record kind of an order's change (its placement ends its cart).
pub const RECORD_ORDER: u8 = 3;
/// The record kind of a catalogue change (format 5 on).
pub const RECORD_CATALOG: u8 = 4;
/// The record kind of a settings reload or a change of back-office data (format 6 on).
pub const RECORD_SETTINGS: u8 = 5;

/// One warehouse's change: the events of one command, and the answer it gave when the
/// request carried an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarehouseEntry {
    pub commerce: String,
    pub warehouse: String,
    /// When the change was made (none in records of formats 2 and 3).
    pub at: Option<Timestamp>,
    pub events: Vec<InventoryEvent>,
    /// The units on hand nobody holds of each SKU the change touched, before and after it
    /// (none in records of formats 2 and 3): what stock alerts are derived from.
    pub levels: Vec<StockLevel>,
    pub remembered: Option<Remembered>,
}

/// A SKU's units on hand nobody holds in a warehouse, before and after one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockLevel {
    pub sku: String,
    pub before: u32,
    pub after: u32,
}

/// One cart's change: its events, and the answer kept under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartEntry {
    pub commerce: String,
    pub cart: String,
    pub events: Vec<CartEvent>,
    pub remembered: Option<Remembered>,
}

/// One order's change: its events, and the answer kept under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEntry {
    pub commerce: String,
    pub order: String,
    /// When the change was made and by whom (the key's principal, or the node).
    pub at: Timestamp,
    pub by: String,
    pub events: Vec<OrderEvent>,
    pub remembered: Option<Remembered>,
}

/// A catalogue change: the product versions it made, when and by whom (the key's
/// principal, or `configuration` for a fresh folder's seed), the answer kept for it, and,
/// for a batch of an import job, how far the job got with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    pub commerce: String,
    pub at: Timestamp,
    pub by: String,
    pub events: Vec<CatalogEvent>,
    pub remembered: Option<Remembered>,
    pub import: Option<ImportMark>,
}

/// A change of a commerce's settings or back-office data, when and by whom (the key's
/// principal, or `configuration` for a seed or a reload from the file).
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsEntry {
    pub commerce: String,
    pub at: Timestamp,
    pub by: String,
    pub change: SettingsChange,
}

/// What a settings record changes.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingsChange {
    /// A fresh folder's seed: the file's whole document (settings and data, no product).
    Seed(Box<CommerceConfig>),
    /// A reload: the file's settings; the data stays.
    Reload(Box<CommerceConfig>),
    /// One item of data put or removed.
    Data(DataChange),
    /// Money paid out to merchants (format 7 on): the settings stay as they are.
    Payouts(Box<PayoutBatch>),
}

/// One `POST …/payouts`: each merchant's payout in each currency it was decided for (what
/// its ledger had available then), and the request's stamp when it carried an idempotency
/// key, so a retry finds what it made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutBatch {
    pub id: String,
    pub payouts: Vec<Payout>,
    pub stamp: Option<crate::idempotency::Stamp>,
}

/// Money paid to one merchant in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    pub id: String,
    pub merchant: String,
    pub currency: String,
    pub amount: rust_decimal::Decimal,
}

/// A row an import refused: its number (the file's first row of products is 1) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRefusal {
    pub row: u64,
    pub sku: String,
    pub problems: Vec<String>,
}

/// One batch of an import job, in the record that applies it: the last row it covers,
/// what it applied, what it found unchanged and what it refused, and whether it ended
/// the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportMark {
    pub job: String,
    pub through_row: u64,
    pub applied: u64,
    pub unchanged: u64,
    pub refused: Vec<RowRefusal>,
    pub done: bool,
}

/// The most refusals an import job keeps to show (it counts them all).
pub const IMPORT_REFUSALS_KEPT: usize = 10_000;

/// An import job's progress, folded from its batches' marks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportProgress {
    pub job: String,
    /// Every row up to this one is applied or refused.
    pub through_row: u64,
    pub applied: u64,
    pub unchanged: u64,
    pub refused: u64,
    /// The first `IMPORT_REFUSALS_KEPT` refusals, by row.
    pub refusals: Vec<RowRefusal>,
    pub done: bool,
}

impl ImportProgress {
    /// The progress after one more batch.
    pub fn fold(&mut self, mark: &ImportMark) {
        self.job.clone_from(&mark.job);
        self.through_row = self.through_row.max(mark.through_row);
        self.applied += mark.applied;
        self.unchanged += mark.unchanged;
        self.refused += mark.refused.len() as u64;
        let room = IMPORT_REFUSALS_KEPT.saturating_sub(self.refusals.len());
        self.refusals.extend(mark.refused.iter().take(room).cloned());
        self.done |= mark.done;
    }
}

/// A log record, read.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Warehouse(WarehouseEntry),
    Cart(CartEntry),
    Order(OrderEntry),
    Catalog(CatalogEntry),
    Settings(SettingsEntry),
}

/// A commerce's catalogue as a snapshot part holds it: every product with its versions,
/// and the answers its changes gave under idempotency keys, still kept.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogSnapshot {
    pub commerce: String,
    pub catalog: Catalog,
    pub remembered: Vec<Remembered>,
    /// The import jobs' progress, by job.
    pub imports: Vec<ImportProgress>,
    /// The settings and back-office data in force (none in parts of format 5).
    pub settings: Option<Box<CommerceConfig>>,
}

/// A warehouse's state as a snapshot part holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarehouseSnapshot {
    pub commerce: String,
    pub warehouse: String,
    pub stock: WarehouseStock,
    /// The answers this warehouse's changes gave under idempotency keys, still kept.
    pub remembered: Vec<Remembered>,
}

/// A cart as a snapshot holds it: its state, and the last LSN the log had handed out when
/// it was copied (every change of this cart at or below it is in the state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartCopy {
    pub cart: Cart,
    pub covers: Lsn,
}

/// A commerce's open carts as a snapshot part holds them, with the answers their changes
/// gave under idempotency keys, still kept (a cart that ended takes its answers with it
/// only when they expire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartsSnapshot {
    pub commerce: String,
    pub carts: Vec<CartCopy>,
    pub remembered: Vec<Remembered>,
}

/// A commerce's orders as a snapshot part holds them, with the answers kept under keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersSnapshot {
    pub commerce: String,
    pub orders: Vec<Order>,
    pub remembered: Vec<Remembered>,
}

/// A snapshot part, read or to be written.
#[derive(Debug, Clone, PartialEq)]
pub enum PartOf {
    Warehouse(WarehouseSnapshot),
    Carts(CartsSnapshot),
    Orders(OrdersSnapshot),
    Catalog(CatalogSnapshot),
}

/// What a snapshot part holds, as its key says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    Warehouse,
    Carts,
    Orders,
    Catalog,
}

impl PartKind {
    /// The kind a part key names, or none for a key of no known kind.
    pub fn of(key: &str) -> Option<PartKind> {
        let (prefix, _) = key.split_once('\u{1f}')?;
        match prefix {
            "warehouse" => Some(PartKind::Warehouse),
            "carts" => Some(PartKind::Carts),
            "orders" => Some(PartKind::Orders),
            "catalog" => Some(PartKind::Catalog),
            _ => None,
        }
    }
}

impl PartOf {
    /// The key the part is stored under.
    pub fn key(&self) -> String {
        match self {
            PartOf::Warehouse(part) => warehouse_part_key(&part.commerce, &part.warehouse),
            PartOf::Carts(part) => carts_part_key(&part.commerce),
            PartOf::Orders(part) => orders_part_key(&part.commerce),
            PartOf::Catalog(part) => catalog_part_key(&part.commerce),
        }
    }
}

/// The snapshot part key of a warehouse (the unit separator cannot appear in a code).
pub fn warehouse_part_key(commerce: &str, warehouse: &str) -> String {
    format!("warehouse\u{1f}{commerce}\u{1f}{warehouse}")
}

/// The snapshot part key of a commerce's carts.
pub fn carts_part_key(commerce: &str) -> String {
    format!("carts\u{1f}{commerce}")
}

/// The snapshot part key of a commerce's orders.
pub fn orders_part_key(commerce: &str) -> String {
    format!("orders\u{1f}{commerce}")
}

/// The snapshot part key of a commerce's catalogue.
pub fn catalog_part_key(commerce: &str) -> String {
    format!("catalog\u{1f}{commerce}")
}

fn unread(format: u8) -> PersistenceError {
    PersistenceError::Codec(format!(
        "format {format} is not one this build reads ({FORMAT_OLDEST} to {FORMAT_VERSION})"
    ))
}

/// A log record written in `format`, read into the engine's types.
pub fn decode_record(format: u8, kind: u8, payload: &[u8]) -> Result<Record, PersistenceError> {
    match format {
        2 => v2::decode_record(kind, payload),
        3 => v3::decode_record(kind, payload),
        4 => v4::decode_record(kind, payload),
        5 => v5::decode_record(kind, payload),
        6 => v6::decode_record(kind, payload),
        7 => v7::decode_record(kind, payload),
        other => Err(unread(other)),
    }
}

/// A snapshot part written in `format` under `key`, read into the engine's types.
pub fn decode_part(format: u8, key: &str, bytes: &[u8]) -> Result<PartOf, PersistenceError> {
    let kind = PartKind::of(key).ok_or_else(|| PersistenceError::Codec("a part of no known kind".into()))?;
    let part = match format {
        2 => v2::decode_part(kind, bytes)?,
        3 | 4 => v3::decode_part(kind, bytes)?,
        5 => v5::decode_part(kind, bytes)?,
        6 => v6::decode_part(kind, bytes)?,
        7 => v7::decode_part(kind, bytes)?,
        other => return Err(unread(other)),
    };
    if part.key() != key {
        return Err(PersistenceError::Codec(format!("it holds the part {:?}", part.key())));
    }
    Ok(part)
}

/// A warehouse's snapshot part in the current format.
pub fn warehouse_part(part: &WarehouseSnapshot) -> Result<Vec<u8>, PersistenceError> {
    current::warehouse_part(part)
}

/// A commerce's carts as a snapshot part in the current format.
pub fn carts_part(part: &CartsSnapshot) -> Result<Vec<u8>, PersistenceError> {
    codec::encode_part(&current::CartsPart::from_engine(part))
}

/// A commerce's catalogue as a snapshot part in the current format.
pub fn catalog_part(part: &CatalogSnapshot) -> Result<Vec<u8>, PersistenceError> {
    current::catalog_part(part)
}

/// A catalogue change made at `at` by `by` as a record of the current format, with the
/// mark of the import batch it applies.
pub fn catalog_record(
    commerce: &str,
    (at, by): (Timestamp, &str),
    events: &[CatalogEvent],
    (remembered, import): (Option<&Remembered>, Option<&ImportMark>),
) -> Result<Vec<u8>, PersistenceError> {
    codec::encode(&current::CatalogRecord {
        commerce: commerce.to_owned(),
        at: at.0,
        by: by.to_owned(),
        events: events.iter().map(Convert::from_engine).collect(),
        remembered: remembered.map(Convert::from_engine),
        import: import.map(Convert::from_engine),
    })
}

/// A settings change as a record of the current format.
pub fn settings_record(entry: &SettingsEntry) -> Result<Vec<u8>, PersistenceError> {
    codec::encode(&current::settings_record(entry)?)
}

/// A commerce's orders as a snapshot part in the current format.
pub fn orders_part(part: &OrdersSnapshot) -> Result<Vec<u8>, PersistenceError> {
    codec::encode_part(&current::OrdersPart::from_engine(part))
}

/// A warehouse's change made at `at` as a record of the current format, with the stock
/// levels it moved.
pub fn warehouse_record(
    (commerce, warehouse): (&str, &str),
    at: Timestamp,
    events: &[InventoryEvent],
    levels: &[StockLevel],
    remembered: Option<&Remembered>,
) -> Result<Vec<u8>, PersistenceError> {
    codec::encode(&current::WarehouseRecord {
        commerce: commerce.to_owned(),
        warehouse: warehouse.to_owned(),
        at: Some(at.0),
        events: events.iter().map(Convert::from_engine).collect(),
        levels: levels.iter().map(Convert::from_engine).collect(),
        remembered: remembered.map(Convert::from_engine),
    })
}

/// A cart's change as a record of the current format.
pub fn cart_record(
    commerce: &str,
    cart: &str,
    events: &[CartEvent],
    remembered: Option<&Remembered>,
) -> Result<Vec<u8>, PersistenceError> {
    codec::encode(&current::CartRecord {
        commerce: commerce.to_owned(),
        cart: cart.to_owned(),
        events: events.iter().map(Convert::from_engine).collect(),
        remembered: remembered.map(Convert::from_engine),
    })
}

/// An order's change as a record of the current format, made at `at` by `by`.
pub fn order_record(
    commerce: &str,
    order: &str,
    (at, by): (Timestamp, &str),
    events: &[OrderEvent],
    remembered: Option<&Remembered>,
) -> Result<Vec<u8>, PersistenceError> {
    codec::encode(&current::OrderRecord {
        commerce: commerce.to_owned(),
        order: order.to_owned(),
        at: at.0,
        by: by.to_owned(),
        events: events.iter().map(Convert::from_engine).collect(),
        remembered: remembered.map(Convert::from_engine),
    })
}

/// An order's placement as a record of the current format (the order is copied once,
/// into the stored type, not into an event first; an order paid already holds its
/// invoice).
pub fn order_placed_record(
    commerce: &str,
    order: &Order,
    remembered: Option<&Remembered>,
) -> Result<Vec<u8>, PersistenceError> {
    let events = vec![current::OrderEvent::Placed { order: Box::new(current::Order::from_engine(order)) }];
    codec::encode(&current::OrderRecord {
        commerce: commerce.to_owned(),
        order: order.id.clone(),
        at: order.placed_at.0,
        by: order.placed_by.clone(),
        events,
        remembered: remembered.map(Convert::from_engine),
    })
}

/// A finished order as the archive keeps it: the format's version, then the order in the
/// current format.
pub fn archived_order(order: &Order) -> Result<Vec<u8>, PersistenceError> {
    let mut bytes = vec![FORMAT_VERSION];
    bytes.extend(codec::encode_part(&current::Order::from_engine(order))?);
    Ok(bytes)
}

/// An archived order read back with the types of the format it was written in.
pub fn decode_archived_order(bytes: &[u8]) -> Result<Order, PersistenceError> {
    match bytes.split_first() {
        Some((7, rest)) => Ok(codec::decode_part::<v7::Order>(rest)?.into_engine()),
        Some((other, _)) => Err(unread(*other)),
        None => Err(PersistenceError::Codec("an archived order of no bytes".into())),
    }
}
