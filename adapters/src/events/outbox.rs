//! The outbox: takes each durable log record (from the log's tap while the node runs, from
//! recovery at start for the records after the store's position), derives its events,
//! gives each its position and its aggregate's next sequence, and writes them with the
//! sequences and notes they moved and the position reached, as one batch. Runs on a thread
//! of its own: nothing here ever waits on an actor, and no actor waits on it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::Receiver;
use mercato_actors::stored::{self, Record, SettingsChange};
use mercato_engine::inventory::Timestamp;
use mercato_engine::Commerce;
use mercato_persistence::codec::FORMAT_VERSION;
use mercato_persistence::events::{EventBatch, EventStore, Position};
use mercato_persistence::log::{Durable, Lsn};
use mercato_persistence::PersistenceError;
use tokio::sync::watch;

use super::derive::{derive, Notes};
use super::envelope::{self, AggregateDto, EventPosition, PublishedEventDto};
use super::{Commerces, Events};
use crate::http::routes::carts::timestamp;

mod forget;

/// Cached sequences and notes beyond this many are dropped after a write (they are read
/// back from the store when next needed), so the outbox's memory stays bounded: an order's
/// note is about 1 KB. They are dropped too whenever no record came for a while.
const CACHE_ENTRIES_MAX: usize = 20_000;
/// Records of recovery derived before their events are written.
const RECOVERY_BATCH_RECORDS: usize = 2_000;
/// How long a failed write waits before it is tried again.
const RETRY_WRITE_AFTER: Duration = Duration::from_secs(1);
/// How often events older than the store keeps them are looked for, and how many go at
/// most each time per commerce (a day of a busy node's events goes in a few passes).
const TRIM_EVERY: Duration = Duration::from_secs(1);
const TRIM_ROWS_MAX: usize = 20_000;

fn sequence_key(commerce: &str, aggregate: &str, id: &str) -> Vec<u8> {
    format!("{commerce}\u{1f}{aggregate}\u{1f}{id}").into_bytes()
}

fn commerce_of(record: &Record) -> &str {
    match record {
        Record::Warehouse(e) => &e.commerce,
        Record::Cart(e) => &e.commerce,
        Record::Order(e) => &e.commerce,
        Record::Catalog(e) => &e.commerce,
        Record::Settings(e) => &e.commerce,
    }
}

/// A to-do queue's size as a gauge (`mercato_todo_items{commerce, queue}`), for a note
/// that counts one.
fn gauge_queue(key: &[u8], value: Option<&[u8]>) {
    let Ok(key) = std::str::from_utf8(key) else { return };
    let mut parts = key.split('\u{1f}');
    let (Some("count"), Some(commerce), Some(queue)) = (parts.next(), parts.next(), parts.next()) else { return };
    let count = value.and_then(|v| serde_json::from_slice::<u64>(v).ok()).unwrap_or(0);
    metrics::gauge!("mercato_todo_items", "commerce" => commerce.to_owned(), "queue" => queue.to_owned())
        .set(count as f64);
}

/// The outbox's state between writes.
pub struct Outbox {
    store: Arc<EventStore>,
    /// Each commerce as the log has made it so far (`follow`).
    commerces: HashMap<String, Arc<Commerce>>,
    /// The commerces as of the last write: a failed write starts again from them, so a
    /// record is never derived against a state later records made.
    written: HashMap<String, Arc<Commerce>>,
    sequences: HashMap<Vec<u8>, u64>,
    /// Notes read or written, by key (none: removed).
    notes: HashMap<String, Option<Vec<u8>>>,
    /// What the next write holds.
    batch: EventBatch,
    dirty_sequences: HashMap<Vec<u8>, u64>,
    dirty_notes: HashMap<String, Option<Vec<u8>>>,
    head: watch::Sender<Lsn>,
    /// How long an event is kept (none: for ever), and when they were last trimmed.
    keep: Option<Duration>,
    trimmed_at: Option<std::time::Instant>,
    /// Archived orders let go of (none: every order's note is kept).
    forgetting: Option<forget::Forgetting>,
}

/// Notes read through the outbox's cache, changes kept for the next write.
struct Noted<'a> {
    store: &'a EventStore,
    cache: &'a mut HashMap<String, Option<Vec<u8>>>,
    dirty: &'a mut HashMap<String, Option<Vec<u8>>>,
    /// A read the store failed: what was derived must not be written.
    failed: Option<PersistenceError>,
}

impl Notes for Noted<'_> {
    fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        if let Some(cached) = self.cache.get(key) {
            return cached.clone();
        }
        match self.store.note(key.as_bytes()) {
            Ok(stored) => {
                self.cache.insert(key.to_owned(), stored.clone());
                stored
            }
            Err(error) => {
                self.failed.get_or_insert(error);
                None
            }
        }
    }

    fn set(&mut self, key: &str, bytes: Option<Vec<u8>>) {
        self.cache.insert(key.to_owned(), bytes.clone());
        self.dirty.insert(key.to_owned(), bytes);
    }
}

impl Outbox {
    /// The outbox over `store`, and what the API reads through.
    pub fn open(store: Arc<EventStore>, commerces: Commerces) -> Result<(Self, Events), PersistenceError> {
        let through = store.through()?;
        let (head, watched) = watch::channel(through);
        let events = Events { store: Arc::clone(&store), head: watched };
        let batch = EventBatch { through, ..EventBatch::default() };
        let outbox = Outbox {
            store,
            commerces: commerces.as_ref().clone(),
            written: commerces.as_ref().clone(),
            sequences: HashMap::new(),
            notes: HashMap::new(),
            batch,
            dirty_sequences: HashMap::new(),
            dirty_notes: HashMap::new(),
            head,
            keep: None,
            trimmed_at: None,
            forgetting: None,
        };
        Ok((outbox, events))
    }

    /// Sets the to-do queues' gauges from what the store holds (at start).
    pub fn export_gauges(&self) {
        for (key, value) in self.store.notes(b"count\x1f", None, usize::MAX).unwrap_or_default() {
            gauge_queue(&key, Some(&value));
        }
    }

    /// The last record whose events are written or waiting to be.
    pub fn through(&self) -> Lsn {
        self.batch.through
    }

    fn next_sequence(&mut self, key: Vec<u8>) -> Result<u64, PersistenceError> {
        let current = match self.sequences.get(&key) {
            Some(&value) => value,
            None => self.store.sequence(&key)?,
        };
        let next = current + 1;
        self.sequences.insert(key.clone(), next);
        self.dirty_sequences.insert(key, next);
        Ok(next)
    }

    /// Drops the cached sequences and notes, with the room they took.
    fn let_caches_go(&mut self) {
        if !self.sequences.is_empty() || !self.notes.is_empty() {
            self.sequences = HashMap::new();
            self.notes = HashMap::new();
        }
    }

    /// Forgets everything derived and not written (after a failure): the records are
    /// derived again from what the store holds.
    fn reset(&mut self) {
        self.batch = EventBatch { through: *self.head.borrow(), ..EventBatch::default() };
        self.commerces.clone_from(&self.written);
        self.sequences.clear();
        self.notes.clear();
        self.dirty_sequences.clear();
        self.dirty_notes.clear();
    }

    /// Derives one record's events into the next write. A record at or below what the
    /// store holds is skipped.
    pub fn take(&mut self, lsn: Lsn, record: &Record, now: Timestamp) -> Result<(), PersistenceError> {
        if lsn <= self.batch.through {
            return Ok(());
        }
        self.follow(record);
        let mut notes =
            Noted { store: &self.store, cache: &mut self.notes, dirty: &mut self.dirty_notes, failed: None };
        let drafts = derive(record, &self.commerces, &mut notes, now);
        if let Some(error) = notes.failed {
            return Err(error);
        }
        let commerce = commerce_of(record).to_owned();
        metrics::counter!("mercato_events_derived_total").increment(drafts.len() as u64);
        for (index, draft) in drafts.into_iter().enumerate() {
            let Ok(index) = u16::try_from(index) else {
                tracing::error!(lsn, "events: a record stands for more than 65536 events; the rest are passed over");
                break;
            };
            let position = Position { lsn, index };
            let (aggregate, id) = draft.aggregate;
            let sequence = self.next_sequence(sequence_key(&commerce, aggregate, &id))?;
            let dto = PublishedEventDto {
                id: format!("{commerce}:{}", EventPosition(position)),
                position: EventPosition(position).to_string(),
                commerce: commerce.clone(),
                kind: draft.kind,
                time: timestamp(draft.time),
                aggregate: AggregateDto { kind: aggregate, id },
                sequence,
                data: draft.data,
            };
            let json = serde_json::to_vec(&dto).unwrap_or_default();
            self.batch.events.push((commerce.clone(), position, envelope::encode(draft.kind, &draft.merchants, &json)));
        }
        self.batch.through = lsn;
        Ok(())
    }

    /// Starts each commerce from what a snapshot held (its settings and data, its
    /// catalogue), the records after it being followed one by one.
    pub fn start_from(&mut self, recovered: &mercato_actors::Recovered) {
        for (code, commerce) in &mut self.commerces {
            let mut now = match recovered.settings.get(code) {
                Some(recorded) => Commerce::from_recorded(commerce.config().clone().with_data_of(recorded))
                    .with_catalog(commerce.catalog().clone()),
                None => commerce.as_ref().clone(),
            };
            if let Some(catalog) = recovered.catalogs.get(code) {
                now = now.with_catalog(catalog.clone());
            }
            *commerce = Arc::new(now);
        }
        self.written.clone_from(&self.commerces);
    }

    /// Follows a record whose events the store holds already (recovery replays it for the
    /// state): only a catalogue's or the settings' change moves the commerces.
    pub fn follow_only(&mut self, format: u8, kind: u8, payload: &[u8]) {
        if kind != stored::RECORD_CATALOG && kind != stored::RECORD_SETTINGS {
            return;
        }
        if let Ok(record) = stored::decode_record(format, kind, payload) {
            self.follow(&record);
        }
    }

    /// Keeps each commerce as the log makes it: a catalogue record's product versions, a
    /// settings record's change. A record's events then name the products, merchants and
    /// settings in force when it was written, whether the API or the file made them.
    fn follow(&mut self, record: &Record) {
        match record {
            Record::Catalog(entry) => {
                let Some(commerce) = self.commerces.get_mut(&entry.commerce) else { return };
                let mut catalog = commerce.catalog().clone();
                let by: Arc<str> = entry.by.as_str().into();
                for event in &entry.events {
                    catalog.catch_up(event, entry.at, &by);
                }
                *commerce = Arc::new(commerce.with_catalog(catalog));
            }
            Record::Settings(entry) => {
                let Some(commerce) = self.commerces.get_mut(&entry.commerce) else { return };
                let catalog = commerce.catalog().clone();
                let next = match &entry.change {
                    SettingsChange::Seed(document) => Commerce::from_recorded(document.as_ref().clone()),
                    SettingsChange::Reload(document) => {
                        Commerce::from_recorded(document.as_ref().clone().with_data_of(commerce.config()))
                    }
                    SettingsChange::Data(change) => commerce.apply_data(change),
                    SettingsChange::Payouts(_) => return,
                };
                *commerce = Arc::new(next.with_catalog(catalog));
            }
            _ => {}
        }
    }

    /// A record that could not be read: passed over, so the outbox goes on.
    pub fn pass(&mut self, lsn: Lsn) {
        self.batch.through = self.batch.through.max(lsn);
    }

    /// Writes what was derived since the last write, and moves the head.
    pub fn write(&mut self) -> Result<(), PersistenceError> {
        let through = self.batch.through;
        if self.batch.events.is_empty()
            && self.dirty_sequences.is_empty()
            && self.dirty_notes.is_empty()
            && through == *self.head.borrow()
        {
            return Ok(());
        }
        let mut batch = std::mem::take(&mut self.batch);
        batch.sequences = self.dirty_sequences.iter().map(|(k, v)| (k.clone(), *v)).collect();
        batch.notes = self.dirty_notes.iter().map(|(k, v)| (k.clone().into_bytes(), v.clone())).collect();
        if let Err(error) = self.store.write(batch) {
            // Derived again from the records by the caller.
            self.reset();
            return Err(error);
        }
        self.batch = EventBatch { through, ..EventBatch::default() };
        self.written.clone_from(&self.commerces);
        self.dirty_sequences.clear();
        for (key, value) in self.dirty_notes.drain() {
            gauge_queue(key.as_bytes(), value.as_deref());
        }
        if self.sequences.len() > CACHE_ENTRIES_MAX || self.notes.len() > CACHE_ENTRIES_MAX {
            self.let_caches_go();
        }
        self.head.send_replace(through);
        Ok(())
    }

    /// Derives a record recovery hands over (the log's records after the store's
    /// position), writing every `RECOVERY_BATCH_RECORDS`.
    pub fn recover(&mut self, lsn: Lsn, format: u8, kind: u8, payload: &[u8]) -> Result<(), PersistenceError> {
        match stored::decode_record(format, kind, payload) {
            Ok(record) => self.take(lsn, &record, mercato_actors::Clock::system().now())?,
            Err(error) => {
                tracing::error!(lsn, %error, "events: a record could not be read; its events are passed over");
                self.pass(lsn);
            }
        }
        if self.batch.events.len() >= RECOVERY_BATCH_RECORDS {
            self.write()?;
        }
        Ok(())
    }

    /// Keeps each event for `keep` after its change was made; older ones are removed as the
    /// outbox runs (`--event-keep-s`).
    pub fn keeping(mut self, keep: Duration) -> Self {
        self.keep = Some(keep);
        self
    }

    /// Removes the events older than the store keeps them, at most every `TRIM_EVERY` and
    /// `TRIM_ROWS_MAX` per commerce a time. An event whose time does not read goes too.
    fn trim(&mut self) {
        let Some(keep) = self.keep else { return };
        if self.trimmed_at.is_some_and(|at| at.elapsed() < TRIM_EVERY) {
            return;
        }
        self.trimmed_at = Some(std::time::Instant::now());
        let now = mercato_actors::Clock::system().now().0;
        let keep = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
        let Some(cutoff) = chrono::DateTime::from_timestamp_millis(now.saturating_sub(keep)) else { return };
        for commerce in self.commerces.keys() {
            let expired = |bytes: &[u8]| envelope::time_of(bytes).is_none_or(|time| time < cutoff);
            match self.store.remove_expired(commerce, TRIM_ROWS_MAX, expired) {
                Ok(0) => {}
                Ok(removed) => metrics::counter!("mercato_events_trimmed_total").increment(removed as u64),
                Err(error) => tracing::error!(%error, commerce, "events: old events could not be removed"),
            }
        }
    }

    /// Lets go of the archived orders whose records are all derived, and writes it. A
    /// failure is logged and forgotten: the next start's sweep finds those orders again.
    fn let_go(&mut self) {
        if let Err(error) = self.forget().and_then(|()| self.write()) {
            self.reset();
            tracing::error!(%error, "events: archived orders could not be let go of; the next start finds them");
        }
    }

    /// Derives a run of durable records.
    fn take_all(&mut self, records: &[Durable], now: Timestamp) -> Result<(), PersistenceError> {
        for durable in records {
            match stored::decode_record(FORMAT_VERSION, durable.kind, &durable.payload) {
                Ok(record) => self.take(durable.lsn, &record, now)?,
                Err(error) => {
                    tracing::error!(lsn = durable.lsn, %error, "events: a record could not be read; passed over");
                    self.pass(durable.lsn);
                }
            }
        }
        Ok(())
    }

    /// Runs until the log's tap closes: each batch of durable records is derived and
    /// written; a write that fails is tried again (the log keeps the records meanwhile).
    pub fn run(mut self, tap: Receiver<Vec<Durable>>) {
        loop {
            self.trim();
            self.let_go();
            // While the start's sweep of archived orders goes on, it goes on between batches.
            let wait = if self.sweeping() { Duration::ZERO } else { TRIM_EVERY };
            let first = match tap.recv_timeout(wait) {
                Ok(first) => first,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    // Nothing came for a while: what was cached for the last records goes.
                    self.let_caches_go();
                    continue;
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            };
            let mut records = first;
            while let Ok(more) = tap.try_recv() {
                records.extend(more);
                if records.len() >= RECOVERY_BATCH_RECORDS {
                    break;
                }
            }
            let now = mercato_actors::Clock::system().now();
            let mut failures = 0;
            while let Err(error) = self.take_all(&records, now).and_then(|()| self.write()) {
                // Nothing of it was written: derived again from the store's position.
                self.reset();
                failures += 1;
                tracing::error!(%error, failures, "events: deriving or writing failed; retrying");
                std::thread::sleep(RETRY_WRITE_AFTER);
            }
        }
        if let Err(error) = self.write() {
            tracing::error!(%error, "events: the last write failed; the next start derives them again");
        }
    }
}
