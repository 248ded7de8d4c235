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

mod recovered;

pub use recovered::Recovered;

use mercato_persistence::log::{AppendError, LogHandle, Lsn, Receipt, Slot};
use mercato_persistence::PersistenceError;

use crate::idempotency::Remembered;

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
        self.commit_encoding(kind, record, apply, false)
    }

    /// `commit` for a change whose record also states what applying it left (a
    /// warehouse's stock levels, read by `record` from what `apply` leaves): the record is
    /// encoded again after `apply`. The first encoding, which checks the size, must state
    /// the largest values the second can, so the second is never larger.
    pub fn commit_restated<T>(
        &self,
        kind: u8,
        record: impl Fn(Option<&Remembered>) -> Result<Option<Vec<u8>>, NotDurable>,
        apply: impl FnOnce() -> (T, Option<Remembered>),
    ) -> Result<Committed<T>, Uncommitted<T>> {
        self.commit_encoding(kind, record, apply, true)
    }

    fn commit_encoding<T>(
        &self,
        kind: u8,
        record: impl Fn(Option<&Remembered>) -> Result<Option<Vec<u8>>, NotDurable>,
        apply: impl FnOnce() -> (T, Option<Remembered>),
        restate: bool,
    ) -> Result<Committed<T>, Uncommitted<T>> {
        let bare = record(None)?;
        let slot = self.slot()?;
        let (applied, mut remembered) = apply();
        let payload = match remembered.as_mut() {
            None if restate => record(None),
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

    /// A record's bytes, encoded by `encode` with the stored types of the current format
    /// (`crate::stored`); none in memory mode, where nothing is encoded. One too large is
    /// refused.
    pub fn encode(
        &self,
        encode: impl FnOnce() -> Result<Vec<u8>, PersistenceError>,
    ) -> Result<Option<Vec<u8>>, NotDurable> {
        match self {
            Journal::Memory => Ok(None),
            Journal::Log(_) => encode().map(Some).map_err(|error| NotDurable::refused(error.to_string())),
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
    /// Stops the log for good: an actor holds a change it applied in place whose record
    /// could not be made, so the node must stop and recover without it.
    pub fn stop(&self, reason: String) {
        if let Journal::Log(log) = self {
            log.stop(reason);
        }
    }

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
