//! The event store: the events the node derived from its durable log records, kept (`kv`)
//! by commerce and log position, with what deriving them needs to carry on (a
//! sequence per aggregate, small notes) and how far it got; beside them, tables for
//! whoever delivers the events (webhook subscriptions, their cursors, their attempts).
//!
//! Bytes only: the shell decides what an event holds. One batch of events, the sequences
//! and notes it moved and the position it reached are written together (one transaction,
//! atomic but not yet durable), so after a crash the store is at some position and
//! everything it holds is what deriving up to that position made; the log's records after
//! it are derived again. `sync` makes every batch so far durable: the log keeps every
//! record after the position last synced.

use std::ops::Bound;
use std::path::Path;

use crate::error::PersistenceError;
use crate::kv::Kv;
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
    /// Sequences moved: key, new value (0 removes the sequence: it reads as never moved).
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

/// Writes that are not durable yet (events, delivery cursors and attempts) are made so
/// on this timer too: a crash loses at most this much of the delivery log.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

const EVENTS: &str = "events";
const HOOKS: &str = "hooks";
const CURSORS: &str = "cursors";
const ATTEMPTS: &str = "attempts";

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
    kv: Kv,
}

impl EventStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path, cache_capacity_bytes: u64) -> Result<Self, PersistenceError> {
        let kv = Kv::open(dir, &[EVENTS, HOOKS, CURSORS, ATTEMPTS], cache_capacity_bytes)?;
        Ok(Self { kv: kv.flushing_every(FLUSH_EVERY) })
    }

    /// The last log record whose events the store holds (0 for none).
    pub fn through(&self) -> Result<Lsn, PersistenceError> {
        Ok(self.kv.get(EVENTS, THROUGH)?.map(|v| read_u64(&v)).unwrap_or(0))
    }

    /// A sequence's value (0 when it never moved).
    pub fn sequence(&self, key: &[u8]) -> Result<u64, PersistenceError> {
        Ok(self.kv.get(EVENTS, &tagged(SEQUENCE, key))?.map(|v| read_u64(&v)).unwrap_or(0))
    }

    /// A note's bytes.
    pub fn note(&self, key: &[u8]) -> Result<Option<Vec<u8>>, PersistenceError> {
        self.kv.get(EVENTS, &tagged(NOTE, key))
    }

    /// Writes a batch at once (atomic; durable at the next `sync`).
    pub fn write(&self, batch: EventBatch) -> Result<(), PersistenceError> {
        self.kv.write(false, |out| {
            for (commerce, position, bytes) in &batch.events {
                out.insert(EVENTS, &event_key(commerce, *position), bytes)?;
            }
            for (key, value) in &batch.sequences {
                match value {
                    0 => out.remove(EVENTS, &tagged(SEQUENCE, key))?,
                    _ => out.insert(EVENTS, &tagged(SEQUENCE, key), &value.to_be_bytes())?,
                }
            }
            for (key, bytes) in &batch.notes {
                match bytes {
                    Some(bytes) => out.insert(EVENTS, &tagged(NOTE, key), bytes)?,
                    None => out.remove(EVENTS, &tagged(NOTE, key))?,
                }
            }
            out.insert(EVENTS, THROUGH, &batch.through.to_be_bytes())
        })
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
        for entry in self.kv.range(EVENTS, Bound::Included(&start), Bound::Unbounded)? {
            let (key, value) = entry?;
            if !key.starts_with(&tagged_prefix) || out.len() >= limit {
                break;
            }
            out.push((key[1..].to_vec(), value));
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
        for (looked, entry) in self.kv.range(EVENTS, Bound::Included(&start), Bound::Included(&end))?.enumerate() {
            if found.len() >= limit || looked >= budget {
                break;
            }
            let (key, value) = entry?;
            let Some(position) = position_of(&key) else { continue };
            last = Some(position);
            if keep(&value) {
                found.push(StoredEvent { position, bytes: value });
            }
        }
        Ok((found, last))
    }

    /// Removes a commerce's oldest events while `expired` says so, oldest first, at most
    /// `limit` of them: how many went (durable at the next `sync`). Stops at the first event
    /// kept: events are in log order, which is the order of their times.
    pub fn remove_expired(
        &self,
        commerce: &str,
        limit: usize,
        mut expired: impl FnMut(&[u8]) -> bool,
    ) -> Result<usize, PersistenceError> {
        let start = event_key(commerce, Position::default());
        let end = event_key(commerce, Position { lsn: u64::MAX, index: u16::MAX });
        let mut doomed = Vec::new();
        for entry in self.kv.range(EVENTS, Bound::Included(&start), Bound::Included(&end))? {
            let (key, value) = entry?;
            if doomed.len() >= limit || !expired(&value) {
                break;
            }
            doomed.push(key);
        }
        if !doomed.is_empty() {
            self.kv.write(false, |out| doomed.iter().try_for_each(|key| out.remove(EVENTS, key)))?;
        }
        Ok(doomed.len())
    }

    /// One event.
    pub fn get(&self, commerce: &str, position: Position) -> Result<Option<Vec<u8>>, PersistenceError> {
        self.kv.get(EVENTS, &event_key(commerce, position))
    }

    /// Writes rows of the subscriptions' and cursors' tables at once (one transaction),
    /// durable when this returns.
    pub fn put_all(&self, rows: &[(Table, Vec<u8>, Vec<u8>)]) -> Result<(), PersistenceError> {
        self.kv.write(true, |out| {
            for (table, key, value) in rows {
                out.insert(table.name(), key, value)?;
            }
            Ok(())
        })
    }

    /// Writes one row (durable at the next `sync`).
    pub fn put(&self, table: Table, key: &[u8], value: &[u8]) -> Result<(), PersistenceError> {
        self.kv.write(false, |out| out.insert(table.name(), key, value))
    }

    pub fn fetch(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, PersistenceError> {
        self.kv.get(table.name(), key)
    }

    /// Removes one row (durable at the next `sync`).
    pub fn remove(&self, table: Table, key: &[u8]) -> Result<(), PersistenceError> {
        self.kv.write(false, |out| out.remove(table.name(), key))
    }

    /// Removes the entries whose key starts with `prefix` and sorts before `below`, at most
    /// `limit` of them, oldest key first: how many went.
    pub fn remove_before(
        &self,
        table: Table,
        prefix: &[u8],
        below: &[u8],
        limit: usize,
    ) -> Result<usize, PersistenceError> {
        let mut doomed = Vec::new();
        for entry in self.kv.range(table.name(), Bound::Included(prefix), Bound::Excluded(below))? {
            let (key, _) = entry?;
            if doomed.len() >= limit || !key.starts_with(prefix) {
                break;
            }
            doomed.push(key);
        }
        if !doomed.is_empty() {
            self.kv.write(false, |out| doomed.iter().try_for_each(|key| out.remove(table.name(), key)))?;
        }
        Ok(doomed.len())
    }

    /// Entries whose key starts with `prefix` and comes after `after` (all of them for
    /// none), at most `limit`.
    pub fn scan(
        &self,
        table: Table,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, PersistenceError> {
        let lower = match after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        let mut out = Vec::new();
        for entry in self.kv.range(table.name(), lower, Bound::Unbounded)? {
            let (key, value) = entry?;
            if !key.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push((key, value));
        }
        Ok(out)
    }

    /// Makes everything written so far durable: answers the position it covers.
    pub fn sync(&self) -> Result<Lsn, PersistenceError> {
        let through = self.through()?;
        self.kv.sync()?;
        Ok(through)
    }

    /// Makes everything written so far durable.
    pub fn flush(&self) -> Result<(), PersistenceError> {
        self.kv.sync()
    }
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Hooks => HOOKS,
            Table::Cursors => CURSORS,
            Table::Attempts => ATTEMPTS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{EventBatch, EventStore, Position};

    // Proves expired events leave oldest first, at most the limit a time, stopping at the
    // first one kept, and only the commerce's own: another commerce's stay.
    #[test]
    fn expired_events_leave_oldest_first_and_stop_at_the_first_kept() {
        let dir = std::env::temp_dir().join(format!("mercato-events-expired-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = EventStore::open(&dir, 1 << 20).expect("a store");
        let event = |commerce: &str, lsn: u64, age: u8| (commerce.to_owned(), Position { lsn, index: 0 }, vec![age]);
        // The byte is the event's age: 1 is old, 0 is new; an old one after a new one stays.
        let events = vec![
            event("a", 1, 1),
            event("a", 2, 1),
            event("a", 3, 1),
            event("a", 4, 0),
            event("a", 5, 1),
            event("b", 1, 1),
        ];
        store.write(EventBatch { events, through: 5, ..EventBatch::default() }).expect("written");
        let old = |bytes: &[u8]| bytes == [1];
        assert_eq!(store.remove_expired("a", 2, old).expect("removed"), 2);
        assert_eq!(store.remove_expired("a", 10, old).expect("removed"), 1);
        assert_eq!(store.remove_expired("a", 10, old).expect("removed"), 0);
        let left = |commerce: &str| {
            let (found, _) = store.read(commerce, Position::default(), 10, 10, |_| true).expect("read");
            found.iter().map(|e| e.position.lsn).collect::<Vec<_>>()
        };
        assert_eq!(left("a"), [4, 5]);
        assert_eq!(left("b"), [1]);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
