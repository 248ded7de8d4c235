//! The event store: the events the node derived from its durable log records, kept in
//! sled by commerce and log position, with what deriving them needs to carry on (a
//! sequence per aggregate, small notes) and how far it got; beside them, tables for
//! whoever delivers the events (webhook subscriptions, their cursors, their attempts).
//!
//! Bytes only: the shell decides what an event holds. One batch of events, the sequences
//! and notes it moved and the position it reached are written together (one sled batch,
//! atomic), so after a crash the store is at some position and everything it holds is
//! what deriving up to that position made; the log's records after it are derived again.
//! sled's own flush is not durable (it ends in `sync_file_range`), so `sync` also
//! `fsync`s the store's files: the log keeps every record after the position last synced.

use std::path::{Path, PathBuf};

use crate::error::PersistenceError;
use crate::log::Lsn;

/// Where an event is: the log record it came from and its place among that record's
/// events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    pub lsn: Lsn,
    pub index: u16,
}

/// An event as stored: its commerce, its position and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub position: Position,
    pub bytes: Vec<u8>,
}

/// What deriving a run of records produced, written at once.
#[derive(Debug, Default)]
pub struct EventBatch {
    /// (commerce, position, bytes), in position order.
    pub events: Vec<(String, Position, Vec<u8>)>,
    /// Sequences moved: key, new value.
    pub sequences: Vec<(Vec<u8>, u64)>,
    /// Notes written (key, bytes) or removed (key, none).
    pub notes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// The last log record this batch covers.
    pub through: Lsn,
}

/// A table's entry: key and value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// The tables kept beside the events, for their delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Webhook subscriptions.
    Hooks,
    /// Each subscription's delivery state.
    Cursors,
    /// Each delivery attempt.
    Attempts,
}

const EVENT: u8 = b'e';
const SEQUENCE: u8 = b's';
const NOTE: u8 = b'n';
const THROUGH: &[u8] = b"w";

fn sled_error(error: sled::Error) -> PersistenceError {
    PersistenceError::Io(std::io::Error::other(error.to_string()))
}

fn event_key(commerce: &str, position: Position) -> Vec<u8> {
    let mut key = Vec::with_capacity(commerce.len() + 12);
    key.push(EVENT);
    key.extend_from_slice(commerce.as_bytes());
    key.push(0x1f);
    key.extend_from_slice(&position.lsn.to_be_bytes());
    key.extend_from_slice(&position.index.to_be_bytes());
    key
}

fn tagged(tag: u8, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 1);
    out.push(tag);
    out.extend_from_slice(key);
    out
}

fn position_of(key: &[u8]) -> Option<Position> {
    let tail = key.len().checked_sub(10).map(|at| &key[at..])?;
    let lsn = u64::from_be_bytes(tail[..8].try_into().ok()?);
    let index = u16::from_be_bytes(tail[8..].try_into().ok()?);
    Some(Position { lsn, index })
}

fn read_u64(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

/// The store (see the module's documentation).
pub struct EventStore {
    db: sled::Db,
    dir: PathBuf,
    events: sled::Tree,
    hooks: sled::Tree,
    cursors: sled::Tree,
    attempts: sled::Tree,
}

impl EventStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path, cache_capacity_bytes: u64) -> Result<Self, PersistenceError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_capacity_bytes)
            .flush_every_ms(Some(100))
            .open()
            .map_err(sled_error)?;
        let tree = |name: &str| db.open_tree(name).map_err(sled_error);
        Ok(Self {
            events: tree("events")?,
            hooks: tree("hooks")?,
            cursors: tree("cursors")?,
            attempts: tree("attempts")?,
            dir: dir.to_owned(),
            db,
        })
    }

    /// The last log record whose events the store holds (0 for none).
    pub fn through(&self) -> Result<Lsn, PersistenceError> {
        Ok(self.events.get(THROUGH).map_err(sled_error)?.map(|v| read_u64(&v)).unwrap_or(0))
    }

    /// A sequence's value (0 when it never moved).
    pub fn sequence(&self, key: &[u8]) -> Result<u64, PersistenceError> {
        Ok(self.events.get(tagged(SEQUENCE, key)).map_err(sled_error)?.map(|v| read_u64(&v)).unwrap_or(0))
    }

    /// A note's bytes.
    pub fn note(&self, key: &[u8]) -> Result<Option<Vec<u8>>, PersistenceError> {
        Ok(self.events.get(tagged(NOTE, key)).map_err(sled_error)?.map(|v| v.to_vec()))
    }

    /// Writes a batch at once (atomic in sled).
    pub fn write(&self, batch: EventBatch) -> Result<(), PersistenceError> {
        let mut out = sled::Batch::default();
        for (commerce, position, bytes) in batch.events {
            out.insert(event_key(&commerce, position), bytes);
        }
        for (key, value) in batch.sequences {
            out.insert(tagged(SEQUENCE, &key), value.to_be_bytes().to_vec());
        }
        for (key, bytes) in batch.notes {
            match bytes {
                Some(bytes) => out.insert(tagged(NOTE, &key), bytes),
                None => out.remove(tagged(NOTE, &key)),
            }
        }
        out.insert(THROUGH, batch.through.to_be_bytes().to_vec());
        self.events.apply_batch(out).map_err(sled_error)
    }

    /// Notes whose key starts with `prefix`, from `from` on (inclusive; the prefix's start
    /// when none), at most `limit`, in key order: (key without the note tag, bytes).
    pub fn notes(&self, prefix: &[u8], from: Option<&[u8]>, limit: usize) -> Result<Vec<Entry>, PersistenceError> {
        let tagged_prefix = tagged(NOTE, prefix);
        let mut start = tagged(NOTE, from.unwrap_or(prefix));
        if start < tagged_prefix {
            start = tagged_prefix.clone();
        }
        let mut out = Vec::new();
        for entry in self.events.range(start..) {
            let (key, value) = entry.map_err(sled_error)?;
            if !key.starts_with(&tagged_prefix) || out.len() >= limit {
                break;
            }
            out.push((key[1..].to_vec(), value.to_vec()));
        }
        Ok(out)
    }

    /// A commerce's events after `after`, in order: at most `limit` that `keep` keeps,
    /// looking at no more than `budget`. Also answers the position of the last event
    /// looked at, so a caller can go on from there.
    pub fn read(
        &self,
        commerce: &str,
        after: Position,
        limit: usize,
        budget: usize,
        mut keep: impl FnMut(&[u8]) -> bool,
    ) -> Result<(Vec<StoredEvent>, Option<Position>), PersistenceError> {
        let mut start = event_key(commerce, after);
        start.push(0); // strictly after
        let end = event_key(commerce, Position { lsn: u64::MAX, index: u16::MAX });
        let mut found = Vec::new();
        let mut last = None;
        for (looked, entry) in self.events.range(start..=end).enumerate() {
            if found.len() >= limit || looked >= budget {
                break;
            }
            let (key, value) = entry.map_err(sled_error)?;
            let Some(position) = position_of(&key) else { continue };
            last = Some(position);
            if keep(&value) {
                found.push(StoredEvent { position, bytes: value.to_vec() });
            }
        }
        Ok((found, last))
    }

    /// One event.
    pub fn get(&self, commerce: &str, position: Position) -> Result<Option<Vec<u8>>, PersistenceError> {
        Ok(self.events.get(event_key(commerce, position)).map_err(sled_error)?.map(|v| v.to_vec()))
    }

    fn table(&self, table: Table) -> &sled::Tree {
        match table {
            Table::Hooks => &self.hooks,
            Table::Cursors => &self.cursors,
            Table::Attempts => &self.attempts,
        }
    }

    /// Writes rows of the subscriptions' and cursors' tables at once (one transaction),
    /// then makes them durable.
    pub fn put_all(&self, rows: &[(Table, Vec<u8>, Vec<u8>)]) -> Result<(), PersistenceError> {
        use sled::Transactional;
        let written: sled::transaction::TransactionResult<(), ()> = (&self.hooks, &self.cursors, &self.attempts)
            .transaction(|(hooks, cursors, attempts)| {
                for (table, key, value) in rows {
                    let tree = match table {
                        Table::Hooks => hooks,
                        Table::Cursors => cursors,
                        Table::Attempts => attempts,
                    };
                    tree.insert(key.as_slice(), value.as_slice())?;
                }
                Ok(())
            });
        written.map_err(|error| match error {
            sled::transaction::TransactionError::Storage(error) => sled_error(error),
            sled::transaction::TransactionError::Abort(()) => PersistenceError::Codec("a transaction aborted".into()),
        })?;
        self.flush()
    }

    pub fn put(&self, table: Table, key: &[u8], value: &[u8]) -> Result<(), PersistenceError> {
        self.table(table).insert(key, value).map(|_| ()).map_err(sled_error)
    }

    pub fn fetch(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, PersistenceError> {
        Ok(self.table(table).get(key).map_err(sled_error)?.map(|v| v.to_vec()))
    }

    pub fn remove(&self, table: Table, key: &[u8]) -> Result<(), PersistenceError> {
        self.table(table).remove(key).map(|_| ()).map_err(sled_error)
    }

    /// Entries whose key starts with `prefix` and comes after `after` (all of them for
    /// none), at most `limit`.
    /// Removes the entries whose key starts with `prefix` and sorts before `below`, at most
    /// `limit` of them, oldest key first: how many went.
    pub fn remove_before(
        &self,
        table: Table,
        prefix: &[u8],
        below: &[u8],
        limit: usize,
    ) -> Result<usize, PersistenceError> {
        let tree = self.table(table);
        let mut removed = 0;
        for key in tree.range(prefix.to_vec()..below.to_vec()).keys() {
            let key = key.map_err(sled_error)?;
            if removed >= limit || !key.starts_with(prefix) {
                break;
            }
            tree.remove(key).map_err(sled_error)?;
            removed += 1;
        }
        Ok(removed)
    }

    pub fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, PersistenceError> {
        let mut start = after.map_or_else(|| prefix.to_vec(), <[u8]>::to_vec);
        if after.is_some() {
            start.push(0); // strictly after
        }
        let mut out = Vec::new();
        for entry in self.table(table).range(start..) {
            let (key, value) = entry.map_err(sled_error)?;
            if !key.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push((key.to_vec(), value.to_vec()));
        }
        Ok(out)
    }

    /// Makes everything written so far durable (sled's flush, then `fsync` of its files):
    /// answers the position it covers.
    pub fn sync(&self) -> Result<Lsn, PersistenceError> {
        let through = self.through()?;
        self.flush()?;
        Ok(through)
    }

    /// Makes everything written so far durable.
    pub fn flush(&self) -> Result<(), PersistenceError> {
        self.db.flush().map_err(sled_error)?;
        crate::snapshot::sync_tree(&self.dir)?;
        Ok(())
    }
}
