//! How actors' changes reach the write-ahead log, and how they come back at start.
//!
//! Every change an actor makes is one record: the events it decided, tagged with the
//! actor they belong to (and the answer kept under an idempotency key). Before applying,
//! the actor encodes the record and takes a place on the log's queue; a change that is
//! too large or finds the log full or stopped is refused and not applied. It then applies
//! the events and queues the record in the same synchronous step, so the log's order is
//! the order changes were made; the client's reply waits until the record is durable. If
//! queueing still fails (the log stopped in between), the log is stopped for good and the
//! node recovers without the change.

use std::collections::BTreeMap;

use mercato_engine::cart::{Cart, CartEvent, CartStatus};
use mercato_engine::inventory::{InventoryEvent, WarehouseStock};
use mercato_engine::order::{Order, OrderEvent};
use mercato_persistence::codec;
use mercato_persistence::log::{AppendError, LogHandle, Lsn, Receipt, Slot};
use mercato_persistence::snapshot::Part;
use mercato_persistence::PersistenceError;
use serde::{Deserialize, Serialize};

use crate::idempotency::Remembered;

/// The record kind of a warehouse's change.
pub const RECORD_WAREHOUSE: u8 = 1;
/// The record kind of a cart's change.
pub const RECORD_CART: u8 = 2;
/// The record kind of an order's change (its placement ends its cart).
pub const RECORD_ORDER: u8 = 3;

/// One order's change: its events, and the answer kept under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEntry {
    pub commerce: String,
    pub order: String,
    pub events: Vec<OrderEvent>,
    pub remembered: Option<Remembered>,
}

/// The same record as written, borrowing what it holds.
#[derive(Debug, Serialize)]
pub struct OrderEntryRef<'a> {
    pub commerce: &'a str,
    pub order: &'a str,
    pub events: &'a [OrderEvent],
    pub remembered: Option<&'a Remembered>,
}

/// `OrderEvent` as written, borrowing the order it places: it encodes to the same bytes
/// (same variants in the same order), so placing an order copies it once, not per record.
#[derive(Debug, Serialize)]
pub enum OrderEventRef<'a> {
    Placed { order: &'a Order },
}

/// An order's placement record as written.
#[derive(Debug, Serialize)]
pub struct OrderPlacedRef<'a> {
    pub commerce: &'a str,
    pub order: &'a str,
    pub events: &'a [OrderEventRef<'a>],
    pub remembered: Option<&'a Remembered>,
}

/// A commerce's orders as a snapshot part holds them, with the answers kept under keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrdersSnapshot {
    pub commerce: String,
    pub orders: Vec<Order>,
    pub remembered: Vec<Remembered>,
}

/// The snapshot part key of a commerce's orders.
pub fn orders_part_key(commerce: &str) -> String {
    format!("orders\u{1f}{commerce}")
}

/// One cart's change: its events, and the answer kept under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartEntry {
    pub commerce: String,
    pub cart: String,
    pub events: Vec<CartEvent>,
    pub remembered: Option<Remembered>,
}

/// The same record as written, borrowing what it holds.
#[derive(Debug, Serialize)]
pub struct CartEntryRef<'a> {
    pub commerce: &'a str,
    pub cart: &'a str,
    pub events: &'a [CartEvent],
    pub remembered: Option<&'a Remembered>,
}

/// A cart as a snapshot holds it: its state, and the last LSN the log had handed out when
/// it was copied (every change of this cart at or below it is in the state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartCopy {
    pub cart: Cart,
    pub covers: Lsn,
}

/// A commerce's open carts as a snapshot part holds them, with the answers their changes
/// gave under idempotency keys, still kept (a cart that ended takes its answers with it
/// only when they expire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartsSnapshot {
    pub commerce: String,
    pub carts: Vec<CartCopy>,
    pub remembered: Vec<Remembered>,
}

/// The snapshot part key of a commerce's carts.
pub fn carts_part_key(commerce: &str) -> String {
    format!("carts\u{1f}{commerce}")
}

/// One warehouse's change: the events of one command, and the answer it gave when the
/// request carried an idempotency key, as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarehouseEntry {
    pub commerce: String,
    pub warehouse: String,
    pub events: Vec<InventoryEvent>,
    pub remembered: Option<Remembered>,
}

/// The same record as written, borrowing what it holds (it encodes to the same bytes).
#[derive(Debug, Serialize)]
pub struct WarehouseEntryRef<'a> {
    pub commerce: &'a str,
    pub warehouse: &'a str,
    pub events: &'a [InventoryEvent],
    pub remembered: Option<&'a Remembered>,
}

/// Why a change could not be made durable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the change was not made durable: {reason}")]
pub struct NotDurable {
    pub reason: String,
    /// Whether the record had reached the log's queue. When it had, the log failed after
    /// taking it: the change may still come back at restart (its outcome is unknown, and a
    /// retry needs its idempotency key). When it had not, nothing was applied.
    pub queued: bool,
}

impl NotDurable {
    pub(crate) fn refused(reason: String) -> Self {
        Self { reason, queued: false }
    }

    pub(crate) fn unknown(reason: String) -> Self {
        Self { reason, queued: true }
    }
}

/// What a replay answers in place of an answer too large to keep in its record.
const ANSWER_TOO_LARGE: &[u8] = br#"{"detail":"the change was made; its answer was too large to keep for replays"}"#;

/// A change the log took: what its `apply` step made, the record's receipt (none in
/// memory mode), and the answer kept under its idempotency key.
pub struct Committed<T> {
    pub applied: T,
    pub receipt: Option<Receipt>,
    pub remembered: Option<Remembered>,
}

/// A change the log did not take: why, and what `apply` made if it ran (a caller that
/// changed its state in place then holds a change without its record).
pub struct Uncommitted<T> {
    pub error: NotDurable,
    pub applied: Option<T>,
}

impl<T> From<NotDurable> for Uncommitted<T> {
    fn from(error: NotDurable) -> Self {
        Self { error, applied: None }
    }
}

/// Where an actor's changes go: nowhere (tests and benchmarks of the in-memory core), or
/// the node's log.
#[derive(Clone, Default)]
pub enum Journal {
    #[default]
    Memory,
    Log(LogHandle),
}

impl Journal {
    /// The one way a decided change reaches the log, for every actor: the record is encoded
    /// without an answer (one too large refuses the change), a place on the log's queue is
    /// taken (a full or stopped log refuses it), then `apply` makes the change (on a copy,
    /// or in place when the answer to keep must read the state it left) and returns it with
    /// the answer to keep, which goes into the same record (an answer too large for a
    /// record is replaced by a note, so the change is still made once), and the record is
    /// appended. `record` encodes the actor's entry with the answer given. The caller
    /// installs what `apply` made once this returns `Ok`, and answers once the receipt
    /// resolves (durable).
    pub fn commit<T>(
        &self,
        kind: u8,
        record: impl Fn(Option<&Remembered>) -> Result<Option<Vec<u8>>, NotDurable>,
        apply: impl FnOnce() -> (T, Option<Remembered>),
    ) -> Result<Committed<T>, Uncommitted<T>> {
        let bare = record(None)?;
        let slot = self.slot()?;
        let (applied, mut remembered) = apply();
        let payload = match remembered.as_mut() {
            None => Ok(bare),
            Some(remembered) => record(Some(remembered)).or_else(|_| {
                remembered.answer.body = ANSWER_TOO_LARGE.to_vec();
                record(Some(remembered))
            }),
        };
        let appended = payload.and_then(|payload| self.append_in(slot, kind, payload));
        match appended {
            Ok(receipt) => Ok(Committed { applied, receipt, remembered }),
            // Nothing of it reached the queue: the change, if made on a copy, never was.
            Err(error) => Err(Uncommitted { error: NotDurable::refused(error.reason), applied: Some(applied) }),
        }
    }

    /// `commit` for a change whose answer is known before it is made (an order's placement,
    /// whose answer the checkout built): the record is encoded once, with the answer.
    pub fn commit_answered<T>(
        &self,
        kind: u8,
        record: impl Fn(Option<&Remembered>) -> Result<Option<Vec<u8>>, NotDurable>,
        remembered: Option<Remembered>,
        apply: impl FnOnce() -> T,
    ) -> Result<Committed<T>, Uncommitted<T>> {
        let Some(mut remembered) = remembered else {
            return self.commit(kind, record, || (apply(), None));
        };
        let payload = record(Some(&remembered)).or_else(|_| {
            remembered.answer.body = ANSWER_TOO_LARGE.to_vec();
            record(Some(&remembered))
        })?;
        let slot = self.slot()?;
        let applied = apply();
        match self.append_in(slot, kind, payload) {
            Ok(receipt) => Ok(Committed { applied, receipt, remembered: Some(remembered) }),
            Err(error) => Err(Uncommitted { error: NotDurable::refused(error.reason), applied: Some(applied) }),
        }
    }

    /// A record's bytes (none in memory mode); one too large is refused.
    pub fn encode(&self, entry: &impl Serialize) -> Result<Option<Vec<u8>>, NotDurable> {
        match self {
            Journal::Memory => Ok(None),
            Journal::Log(_) => codec::encode(entry).map(Some).map_err(|error| NotDurable::refused(error.to_string())),
        }
    }

    /// Takes a place on the log's queue before a change is applied, so the record written
    /// after it cannot be refused for a full queue (none in memory mode).
    pub fn slot(&self) -> Result<Option<Slot>, NotDurable> {
        let Journal::Log(log) = self else { return Ok(None) };
        log.slot().map(Some).map_err(|error| {
            if let AppendError::Stopped { .. } = &error {
                tracing::error!(%error, "a change was refused: the log has stopped");
            }
            NotDurable::refused(error.to_string())
        })
    }

    /// Queues an encoded record in a place taken by `slot`. Only a stopped log refuses it
    /// (the size was checked by `encode`). A caller that applied its change before (the
    /// warehouse, whose kept answer is built from the state the change left) then holds a
    /// change without its record: the log is stopped for good either way, and the node
    /// stops and recovers without it.
    pub fn append_in(
        &self,
        slot: Option<Slot>,
        kind: u8,
        payload: Option<Vec<u8>>,
    ) -> Result<Option<Receipt>, NotDurable> {
        let (Journal::Log(log), Some(slot), Some(payload)) = (self, slot, payload) else { return Ok(None) };
        slot.append(kind, payload).map(Some).map_err(|error| {
            let reason = error.to_string();
            log.stop(format!("a change could not be recorded: {reason}"));
            NotDurable::unknown(reason)
        })
    }
}

impl Journal {
    /// The last LSN handed out: every change an actor made so far has an LSN at or below
    /// it, every later one above (0 in memory).
    pub fn covers(&self) -> Lsn {
        match self {
            Journal::Memory => 0,
            Journal::Log(log) => log.last_assigned(),
        }
    }

    /// None when every change up to `lsn` is acknowledged (always, in memory); else what
    /// resolves once it is, or with the failure when the log stops first.
    pub fn unsettled(
        &self,
        lsn: mercato_persistence::log::Lsn,
    ) -> Option<impl std::future::Future<Output = Result<(), mercato_persistence::log::LogFailure>> + 'static> {
        match self {
            Journal::Log(log) if log.progress().acknowledged < lsn => Some(log.reached(lsn, false)),
            _ => None,
        }
    }
}

/// A warehouse's state as a snapshot part holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarehouseSnapshot {
    pub commerce: String,
    pub warehouse: String,
    pub stock: WarehouseStock,
    /// The answers this warehouse's changes gave under idempotency keys, still kept.
    pub remembered: Vec<Remembered>,
}

/// Runs `apply` on a record's events; an event that does not fit its state (`apply`
/// asserts: it was never decided) refuses the start naming the record, instead of a panic
/// or a state the log does not describe.
fn refuse_unfit(lsn: Lsn, aggregate: &str, apply: impl FnOnce()) -> Result<(), PersistenceError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(apply))
        .map_err(|_| PersistenceError::Codec(format!("record {lsn} does not apply to {aggregate}")))
}

/// The snapshot part key of a warehouse (the unit separator cannot appear in a code).
pub fn warehouse_part_key(commerce: &str, warehouse: &str) -> String {
    format!("warehouse\u{1f}{commerce}\u{1f}{warehouse}")
}

/// The warehouses' states rebuilt from a snapshot and the log, by (commerce, warehouse).
#[derive(Debug, Default)]
pub struct Recovered {
    pub warehouses: BTreeMap<(String, String), WarehouseStock>,
    /// Per warehouse, the answers it remembers under idempotency keys.
    pub remembered: BTreeMap<(String, String), Vec<Remembered>>,
    /// Per warehouse, the LSN its snapshot covers: log records at or below it are in the
    /// state already and are skipped.
    covered: BTreeMap<(String, String), Lsn>,
    /// Carts by (commerce, cart id), with the LSN each one's state covers.
    pub carts: BTreeMap<(String, String), CartCopy>,
    /// Per commerce, the answers its carts gave under idempotency keys.
    pub cart_answers: BTreeMap<String, Vec<Remembered>>,
    /// Per commerce, the LSN its carts part covers: every cart change at or below it is in
    /// the part (carts that had ended are left out of it).
    carts_covered: BTreeMap<String, Lsn>,
    /// Orders by (commerce, order id).
    pub orders: BTreeMap<(String, String), Order>,
    /// Per commerce, the answers its orders gave under idempotency keys.
    pub order_answers: BTreeMap<String, Vec<Remembered>>,
    /// Per commerce, the LSN its orders part covers.
    orders_covered: BTreeMap<String, Lsn>,
}

impl Recovered {
    /// Starts from a snapshot generation; returns the states and the LSN the log must be
    /// replayed after (the lowest any part covers).
    pub fn from_snapshot(parts: &BTreeMap<String, Part>) -> Result<(Self, Lsn), PersistenceError> {
        let mut recovered = Recovered::default();
        let mut after: Option<Lsn> = None;
        for (key, part) in parts {
            after = Some(after.map_or(part.lsn, |a| a.min(part.lsn)));
            if key.starts_with("carts\u{1f}") {
                let snapshot: CartsSnapshot = codec::decode_part(&part.bytes)
                    .map_err(|error| PersistenceError::Codec(format!("snapshot part {key:?}: {error}")))?;
                recovered.carts_covered.insert(snapshot.commerce.clone(), part.lsn);
                for copy in snapshot.carts {
                    recovered.carts.insert((snapshot.commerce.clone(), copy.cart.id.clone()), copy);
                }
                recovered.cart_answers.insert(snapshot.commerce, snapshot.remembered);
                continue;
            }
            if key.starts_with("orders\u{1f}") {
                let snapshot: OrdersSnapshot = codec::decode_part(&part.bytes)
                    .map_err(|error| PersistenceError::Codec(format!("snapshot part {key:?}: {error}")))?;
                recovered.orders_covered.insert(snapshot.commerce.clone(), part.lsn);
                for order in snapshot.orders {
                    recovered.orders.insert((snapshot.commerce.clone(), order.id.clone()), order);
                }
                recovered.order_answers.insert(snapshot.commerce, snapshot.remembered);
                continue;
            }
            if !key.starts_with("warehouse\u{1f}") {
                return Err(PersistenceError::Codec(format!("snapshot part {key:?} is of no known kind")));
            }
            let snapshot: WarehouseSnapshot = codec::decode_part(&part.bytes)
                .map_err(|error| PersistenceError::Codec(format!("snapshot part {key:?}: {error}")))?;
            let id = (snapshot.commerce, snapshot.warehouse);
            recovered.covered.insert(id.clone(), part.lsn);
            recovered.remembered.insert(id.clone(), snapshot.remembered);
            recovered.warehouses.insert(id, snapshot.stock);
        }
        Ok((recovered, after.unwrap_or(0)))
    }

    /// Folds one log record into the states. A record that does not decode is corruption
    /// the checksums missed (or a record from a newer version): recovery refuses it.
    pub fn apply(&mut self, lsn: u64, kind: u8, payload: &[u8]) -> Result<(), PersistenceError> {
        match kind {
            RECORD_WAREHOUSE => {
                let entry: WarehouseEntry = codec::decode(payload)
                    .map_err(|error| PersistenceError::Codec(format!("record {lsn}: {error}")))?;
                let id = (entry.commerce.clone(), entry.warehouse.clone());
                if self.covered.get(&id).is_some_and(|&covered| lsn <= covered) {
                    return Ok(());
                }
                if let Some(remembered) = entry.remembered {
                    self.remembered.entry(id).or_default().push(remembered);
                }
                let stock = self
                    .warehouses
                    .entry((entry.commerce, entry.warehouse.clone()))
                    .or_insert_with(|| WarehouseStock::new(entry.warehouse));
                // `apply` trusts its events (the log only holds what `decide` produced); a
                // record that passed its checksum yet breaks that trust must stop the start
                // with a message, not bring the process down.
                let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    for event in entry.events {
                        stock.apply_owned(event);
                    }
                }));
                applied.map_err(|_| {
                    PersistenceError::Codec(format!("record {lsn} does not apply to warehouse {}", stock.warehouse))
                })
            }
            RECORD_CART => {
                let entry: CartEntry = codec::decode(payload)
                    .map_err(|error| PersistenceError::Codec(format!("record {lsn}: {error}")))?;
                let cart = entry.cart.clone();
                refuse_unfit(lsn, &cart, || self.apply_cart(lsn, entry))
            }
            RECORD_ORDER => {
                let entry: OrderEntry = codec::decode(payload)
                    .map_err(|error| PersistenceError::Codec(format!("record {lsn}: {error}")))?;
                let order = entry.order.clone();
                refuse_unfit(lsn, &order, || self.apply_order(lsn, entry))
            }
            other => Err(PersistenceError::Codec(format!("record {lsn} has unknown kind {other}"))),
        }
    }

    /// Folds a cart's record in, unless the snapshot holds it already: a record at or
    /// below the part's LSN is in the part (or its cart had ended), and one at or below
    /// the cart's own copy is in that copy.
    fn apply_cart(&mut self, lsn: Lsn, entry: CartEntry) {
        if self.carts_covered.get(&entry.commerce).is_some_and(|&covered| lsn <= covered) {
            return;
        }
        let id = (entry.commerce.clone(), entry.cart.clone());
        if self.carts.get(&id).is_some_and(|copy| lsn <= copy.covers) {
            return;
        }
        if let Some(remembered) = entry.remembered {
            self.cart_answers.entry(entry.commerce.clone()).or_default().push(remembered);
        }
        for event in entry.events {
            match self.carts.get_mut(&id) {
                Some(copy) => {
                    copy.cart.apply(&event);
                    copy.covers = lsn;
                }
                // A cart starts with its first event; a change of a cart the snapshot
                // dropped (it had ended) changes nothing.
                None => {
                    if let Some(cart) = Cart::from_created(&event) {
                        self.carts.insert(id.clone(), CartCopy { cart, covers: lsn });
                    }
                }
            }
        }
    }

    /// Folds an order's record in. Placing an order ends its cart: a cart copy older than
    /// the record is marked checked out even when the orders part holds the order already.
    fn apply_order(&mut self, lsn: Lsn, entry: OrderEntry) {
        for event in &entry.events {
            if let OrderEvent::Placed { order } = event {
                if let Some(copy) = self.carts.get_mut(&(entry.commerce.clone(), order.cart.clone())) {
                    if copy.covers < lsn {
                        copy.cart.apply(&CartEvent::CheckedOut { order: order.id.clone() });
                        copy.covers = lsn;
                    }
                }
            }
        }
        if self.orders_covered.get(&entry.commerce).is_some_and(|&covered| lsn <= covered) {
            return;
        }
        if let Some(remembered) = entry.remembered {
            self.order_answers.entry(entry.commerce.clone()).or_default().push(remembered);
        }
        let id = (entry.commerce, entry.order);
        for event in entry.events {
            match self.orders.get_mut(&id) {
                Some(order) => order.apply(&event),
                None => {
                    if let Some(order) = Order::from_placed(&event) {
                        self.orders.insert(id.clone(), order);
                    }
                }
            }
        }
    }

    /// A commerce's orders and the answers they remember, taken out.
    pub fn take_orders(&mut self, commerce: &str) -> (Vec<Order>, Vec<Remembered>) {
        let ids: Vec<(String, String)> = self
            .orders
            .range((commerce.to_owned(), String::new())..)
            .take_while(|(k, _)| k.0 == commerce)
            .map(|(k, _)| k.clone())
            .collect();
        let orders = ids.into_iter().filter_map(|id| self.orders.remove(&id)).collect();
        (orders, self.order_answers.remove(commerce).unwrap_or_default())
    }

    /// A commerce's carts still open, and the answers its carts remember, taken out.
    pub fn take_carts(&mut self, commerce: &str) -> (Vec<CartCopy>, Vec<Remembered>) {
        let ids: Vec<(String, String)> = self
            .carts
            .range((commerce.to_owned(), String::new())..)
            .take_while(|(k, _)| k.0 == commerce)
            .map(|(k, _)| k.clone())
            .collect();
        let carts = ids
            .into_iter()
            .filter_map(|id| self.carts.remove(&id))
            .filter(|copy| copy.cart.status == CartStatus::Open)
            .collect();
        (carts, self.cart_answers.remove(commerce).unwrap_or_default())
    }

    /// The recovered state of a warehouse, taken out (empty when the log never named it).
    pub fn take_warehouse(&mut self, commerce: &str, warehouse: &str) -> WarehouseStock {
        self.warehouses
            .remove(&(commerce.to_owned(), warehouse.to_owned()))
            .unwrap_or_else(|| WarehouseStock::new(warehouse))
    }

    /// What is left after every configured warehouse took its state: warehouses no longer
    /// configured, as snapshot parts to carry forward.
    pub fn into_orphans(mut self) -> Vec<WarehouseSnapshot> {
        let warehouses = std::mem::take(&mut self.warehouses);
        warehouses
            .into_iter()
            .map(|((commerce, warehouse), stock)| {
                let remembered = self.remembered.remove(&(commerce.clone(), warehouse.clone())).unwrap_or_default();
                WarehouseSnapshot { commerce, warehouse, stock, remembered }
            })
            .collect()
    }

    /// The answers a warehouse remembers, taken out.
    pub fn take_remembered(&mut self, commerce: &str, warehouse: &str) -> Vec<Remembered> {
        self.remembered.remove(&(commerce.to_owned(), warehouse.to_owned())).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use mercato_engine::inventory::InventoryEvent;

    use super::*;

    // Proves the record as written (borrowed) and as read (owned) are the same bytes.
    #[test]
    fn written_and_read_entries_encode_alike() {
        let events = vec![InventoryEvent::StockReceived { sku: "MOUSE".into(), quantity: 3 }];
        let written = WarehouseEntryRef { commerce: "demo", warehouse: "wh-madrid", events: &events, remembered: None };
        let bytes = codec::encode(&written).expect("encodes");
        let read: WarehouseEntry = codec::decode(&bytes).expect("decodes");
        assert_eq!(
            read,
            WarehouseEntry { commerce: "demo".into(), warehouse: "wh-madrid".into(), events, remembered: None }
        );
        assert_eq!(codec::encode(&read).expect("encodes"), bytes);
    }
}
