//! How changes come back at start: `Recovered` folds the snapshot's parts and the log's
//! records after them into each actor's state, refusing a record whose events do not fit.

use std::collections::BTreeMap;

use mercato_engine::cart::{Cart, CartEvent};
use mercato_engine::inventory::WarehouseStock;
use mercato_engine::order::{Order, OrderEvent, OrderStatus};
use mercato_persistence::log::{Lsn, Replayed};
use mercato_persistence::snapshot::Part;
use mercato_persistence::PersistenceError;

use crate::idempotency::Remembered;
use mercato_engine::catalog::Catalog;
use mercato_engine::commerce::model::CommerceConfig;

use crate::stored::{
    self, CartCopy, CartEntry, CatalogEntry, ImportProgress, OrderEntry, PartOf, Record, SettingsChange, SettingsEntry,
    WarehouseEntry, WarehouseSnapshot,
};

/// Whether `event` confirms the payment `order` already shows confirmed, with the same
/// reference.
pub(super) fn already_paid(order: &Order, event: &OrderEvent) -> bool {
    match event {
        OrderEvent::PaymentConfirmed { reference } => {
            order.status != OrderStatus::PendingPayment
                && order.payment.reference.as_deref() == Some(reference.as_str())
        }
        _ => false,
    }
}

/// Runs `apply` on a record's events; an event that does not fit its state (`apply`
/// asserts: it was never decided) refuses the start naming the record, instead of a panic
/// or a state the log does not describe.
pub(super) fn refuse_unfit(lsn: Lsn, aggregate: &str, apply: impl FnOnce()) -> Result<(), PersistenceError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(apply))
        .map_err(|_| PersistenceError::Codec(format!("record {lsn} does not apply to {aggregate}")))
}

/// The warehouses' states rebuilt from a snapshot and the log, by (commerce, warehouse).
#[derive(Debug, Default)]
pub struct Recovered {
    pub warehouses: BTreeMap<(String, String), WarehouseStock>,
    /// Per warehouse, the answers it remembers under idempotency keys.
    pub remembered: BTreeMap<(String, String), Vec<Remembered>>,
    /// Per warehouse, the LSN its snapshot covers: log records at or below it are in the
    /// state already and are skipped.
    pub(super) covered: BTreeMap<(String, String), Lsn>,
    /// Carts by (commerce, cart id), with the LSN each one's state covers.
    pub carts: BTreeMap<(String, String), CartCopy>,
    /// Per commerce, the answers its carts gave under idempotency keys.
    pub cart_answers: BTreeMap<String, Vec<Remembered>>,
    /// Per commerce, the LSN its carts part covers: every cart change at or below it is in
    /// the part (carts that had ended are left out of it).
    pub(super) carts_covered: BTreeMap<String, Lsn>,
    /// Orders by (commerce, order id).
    pub orders: BTreeMap<(String, String), Order>,
    /// Where finished orders go and are read from (none: they stay in memory).
    pub archive: Option<std::sync::Arc<mercato_persistence::archive::Archive>>,
    /// An audit replay: each commerce shows only the orders archived at or before the LSN
    /// its orders' snapshot part covers (none without one); the later ones its snapshot
    /// still held, or its log replays.
    pub archive_replay: bool,
    /// Per commerce, the answers its orders gave under idempotency keys.
    pub order_answers: BTreeMap<String, Vec<Remembered>>,
    /// Per commerce, the LSN its orders part covers.
    pub(super) orders_covered: BTreeMap<String, Lsn>,
    /// Per commerce, its catalogue, when a snapshot part or a record held one.
    pub catalogs: BTreeMap<String, Catalog>,
    /// Per commerce, the answers its catalogue changes gave under idempotency keys.
    pub catalog_answers: BTreeMap<String, Vec<Remembered>>,
    /// Per commerce, the LSN its catalogue part covers.
    pub(super) catalogs_covered: BTreeMap<String, Lsn>,
    /// Per commerce, its import jobs' progress, by job.
    pub imports: BTreeMap<String, BTreeMap<String, ImportProgress>>,
    /// Per commerce, its settings and back-office data as recorded (its catalogue part's
    /// LSN covers them too), with who changed them last and when.
    pub settings: BTreeMap<String, CommerceConfig>,
}

impl Recovered {
    /// Starts from a snapshot generation written in `format`; returns the states and the
    /// LSN the log must be replayed after (the lowest any part covers).
    pub fn from_snapshot(format: u8, parts: &BTreeMap<String, Part>) -> Result<(Self, Lsn), PersistenceError> {
        let mut recovered = Recovered::default();
        let mut after: Option<Lsn> = None;
        for (key, part) in parts {
            after = Some(after.map_or(part.lsn, |a| a.min(part.lsn)));
            let read = stored::decode_part(format, key, &part.bytes)
                .map_err(|error| PersistenceError::Codec(format!("snapshot part {key:?}: {error}")))?;
            recovered.add_part(read, part.lsn);
        }
        Ok((recovered, after.unwrap_or(0)))
    }

    fn add_part(&mut self, part: PartOf, lsn: Lsn) {
        match part {
            PartOf::Carts(snapshot) => {
                self.carts_covered.insert(snapshot.commerce.clone(), lsn);
                for copy in snapshot.carts {
                    self.carts.insert((snapshot.commerce.clone(), copy.cart.id.clone()), copy);
                }
                self.cart_answers.insert(snapshot.commerce, snapshot.remembered);
            }
            PartOf::Orders(snapshot) => {
                self.orders_covered.insert(snapshot.commerce.clone(), lsn);
                for order in snapshot.orders {
                    self.orders.insert((snapshot.commerce.clone(), order.id.clone()), order);
                }
                self.order_answers.insert(snapshot.commerce, snapshot.remembered);
            }
            PartOf::Catalog(snapshot) => {
                self.catalogs_covered.insert(snapshot.commerce.clone(), lsn);
                self.catalog_answers.insert(snapshot.commerce.clone(), snapshot.remembered);
                let imports = snapshot.imports.into_iter().map(|p| (p.job.clone(), p)).collect();
                self.imports.insert(snapshot.commerce.clone(), imports);
                if let Some(settings) = snapshot.settings {
                    self.settings.insert(snapshot.commerce.clone(), *settings);
                }
                self.catalogs.insert(snapshot.commerce, snapshot.catalog);
            }
            PartOf::Warehouse(snapshot) => {
                let id = (snapshot.commerce, snapshot.warehouse);
                self.covered.insert(id.clone(), lsn);
                self.remembered.insert(id.clone(), snapshot.remembered);
                self.warehouses.insert(id, snapshot.stock);
            }
        }
    }

    /// Folds one log record into the states, read with the types of the format its segment
    /// was written in. A record that does not decode is corruption the checksums missed
    /// (or a record of a format this build does not read): recovery refuses it.
    pub fn apply(&mut self, record: Replayed<'_>) -> Result<(), PersistenceError> {
        let lsn = record.lsn;
        let read = stored::decode_record(record.format, record.kind, record.payload)
            .map_err(|error| PersistenceError::Codec(format!("record {lsn}: {error}")))?;
        match read {
            Record::Warehouse(entry) => self.apply_warehouse(lsn, entry),
            Record::Cart(entry) => {
                let cart = entry.cart.clone();
                refuse_unfit(lsn, &cart, || self.apply_cart(lsn, entry))
            }
            Record::Order(entry) => {
                let order = entry.order.clone();
                refuse_unfit(lsn, &order, || self.apply_order(lsn, entry))
            }
            Record::Catalog(entry) => {
                let commerce = format!("the catalogue of {}", entry.commerce);
                refuse_unfit(lsn, &commerce, || self.apply_catalog(lsn, entry))
            }
            Record::Settings(entry) => {
                self.apply_settings(lsn, entry);
                Ok(())
            }
        }
    }

    /// Folds a settings change in, unless the catalogue's part holds it already. A reload
    /// or a data change before any seed (a folder of format 5) starts from an empty
    /// document: the start refuses what does not validate.
    pub(super) fn apply_settings(&mut self, lsn: Lsn, entry: SettingsEntry) {
        if self.catalogs_covered.get(&entry.commerce).is_some_and(|&covered| lsn <= covered) {
            return;
        }
        // Payouts are the events' fold's (the merchants' ledgers): the settings stay.
        if let SettingsChange::Payouts(_) = entry.change {
            return;
        }
        let document = self.settings.entry(entry.commerce).or_default();
        match entry.change {
            SettingsChange::Seed(config) => *document = *config,
            SettingsChange::Reload(config) => *document = config.with_data_of(document),
            SettingsChange::Data(change) => {
                document.apply_data(&change);
            }
            SettingsChange::Payouts(_) => {}
        }
    }

    /// A commerce's settings and data as the log recorded them, taken out; none when no
    /// record or part held them (a fresh folder, or one of format 5: seeded from the file).
    pub fn take_settings(&mut self, commerce: &str) -> Option<CommerceConfig> {
        self.settings.remove(commerce)
    }

    /// Folds a catalogue change in, unless the catalogue's part holds it already.
    pub(super) fn apply_catalog(&mut self, lsn: Lsn, entry: CatalogEntry) {
        if self.catalogs_covered.get(&entry.commerce).is_some_and(|&covered| lsn <= covered) {
            return;
        }
        if let Some(remembered) = entry.remembered {
            self.catalog_answers.entry(entry.commerce.clone()).or_default().push(remembered);
        }
        if let Some(mark) = &entry.import {
            let jobs = self.imports.entry(entry.commerce.clone()).or_default();
            jobs.entry(mark.job.clone()).or_default().fold(mark);
        }
        let by: std::sync::Arc<str> = entry.by.into();
        let catalog = self.catalogs.entry(entry.commerce).or_default();
        for event in &entry.events {
            catalog.apply(event, entry.at, &by);
        }
    }

    /// A commerce's import jobs' progress, taken out.
    pub fn take_imports(&mut self, commerce: &str) -> Vec<ImportProgress> {
        self.imports.remove(commerce).map(|jobs| jobs.into_values().collect()).unwrap_or_default()
    }

    /// A commerce's catalogue as a snapshot and the log left it, with the answers its
    /// changes keep, taken out; none when neither ever held it (a fresh data folder, or
    /// one written before catalogues were kept: seeded from the file).
    pub fn take_catalog(&mut self, commerce: &str) -> Option<(Catalog, Vec<Remembered>)> {
        let catalog = self.catalogs.remove(commerce)?;
        Some((catalog, self.catalog_answers.remove(commerce).unwrap_or_default()))
    }

    /// Folds a warehouse's record in, unless its snapshot part holds it already.
    fn apply_warehouse(&mut self, lsn: Lsn, entry: WarehouseEntry) -> Result<(), PersistenceError> {
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
        let name = stock.warehouse.clone();
        // `apply` trusts its events (the log only holds what `decide` produced); a record
        // that passed its checksum yet breaks that trust must stop the start with a
        // message, not bring the process down.
        refuse_unfit(lsn, &format!("warehouse {name}"), || {
            for event in entry.events {
                stock.apply_owned(event);
            }
        })
    }

    /// Folds a cart's record in, unless the snapshot holds it already: a record at or
    /// below the part's LSN is in the part (or its cart had ended), and one at or below
    /// the cart's own copy is in that copy.
    pub(super) fn apply_cart(&mut self, lsn: Lsn, entry: CartEntry) {
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
    pub(super) fn apply_order(&mut self, lsn: Lsn, entry: OrderEntry) {
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
                // A build before the order actor could copy an order into a snapshot with
                // a payment confirmed after the LSN its part covers: that record is in
                // the copy already.
                Some(order) if already_paid(order, &event) => {}
                Some(order) => order.apply(&event, entry.at, &entry.by),
                None => {
                    if let Some(order) = Order::from_placed(&event) {
                        self.orders.insert(id.clone(), order);
                    }
                }
            }
        }
    }

    /// A commerce's orders and the answers they remember, taken out.
    /// The archived orders a commerce shows: those archived at or before this LSN (an
    /// audit replay), or every one (none).
    pub fn archive_through(&self, commerce: &str) -> Option<Lsn> {
        self.archive_replay.then(|| self.orders_covered.get(commerce).copied().unwrap_or(0))
    }

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

    /// A commerce's carts, open or ended (an ended cart still answers until its time is
    /// over: `Carts::start` leaves out those whose time is), and the answers its carts
    /// remember, taken out.
    pub fn take_carts(&mut self, commerce: &str) -> (Vec<CartCopy>, Vec<Remembered>) {
        let ids: Vec<(String, String)> = self
            .carts
            .range((commerce.to_owned(), String::new())..)
            .take_while(|(k, _)| k.0 == commerce)
            .map(|(k, _)| k.clone())
            .collect();
        let carts = ids.into_iter().filter_map(|id| self.carts.remove(&id)).collect();
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
