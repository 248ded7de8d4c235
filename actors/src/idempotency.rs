//! Idempotency keys: a client that retries a change with the same `Idempotency-Key` gets
//! the original answer, and the change is made once.
//!
//! The answer is remembered in the same log record as the change's events (the actor
//! builds it from the state the change left), so a retry after a crash gets it too. Each
//! warehouse keeps the answers it gave for `IDEMPOTENCY_RETENTION_MS` and hands them to
//! its snapshot; the node-wide [`Idempotency`] table finds them by (scope, key).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use mercato_engine::inventory::Timestamp;

/// How long an answer is kept: a retry within this time gets it.
pub const IDEMPOTENCY_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;
/// The longest key accepted.
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 255;
/// How long a key may stay in flight. A request whose message never reached its actor (its
/// caller gave up first) leaves its key in flight; past this it counts as never sent. Far
/// beyond any reply timeout, so a change still on its way is never run twice.
pub const IDEMPOTENCY_IN_FLIGHT_MAX_MS: i64 = 120_000;

/// Who sent a request with which key, and a digest of what it asked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Stamp {
    /// The API key's scope: a key seen from another API key is another key.
    pub scope: String,
    pub key: String,
    /// SHA-256 of the request (method, path and the command it carried).
    pub request: [u8; 32],
}

/// An answer as it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// An answer remembered under its stamp, from `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    pub stamp: Stamp,
    pub answer: Answer,
    pub at: Timestamp,
}

impl Remembered {
    pub fn expired(&self, now: Timestamp) -> bool {
        now.0.saturating_sub(self.at.0) >= IDEMPOTENCY_RETENTION_MS
    }
}

/// What to do with a request carrying a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// First time: go ahead (the key is now in flight).
    Fresh,
    /// Done before: send this answer again.
    Replay(Answer),
    /// The same request is being handled right now.
    InFlight,
    /// The key was used for a different request.
    Mismatch,
}

enum Entry {
    InFlight { request: [u8; 32], since: Timestamp },
    Done(Remembered),
}

impl Entry {
    /// Whether the entry no longer counts at `now`.
    fn stale(&self, now: Timestamp) -> bool {
        match self {
            Entry::InFlight { since, .. } => now.0.saturating_sub(since.0) >= IDEMPOTENCY_IN_FLIGHT_MAX_MS,
            Entry::Done(done) => done.expired(now),
        }
    }
}

/// The node's keys, by (scope, key). Clones share one table.
#[derive(Clone, Default)]
pub struct Idempotency {
    table: Arc<Mutex<HashMap<(String, String), Entry>>>,
}

impl Idempotency {
    fn table(&self) -> MutexGuard<'_, HashMap<(String, String), Entry>> {
        self.table.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn begin(&self, stamp: &Stamp, now: Timestamp) -> Begin {
        let mut table = self.table();
        let id = (stamp.scope.clone(), stamp.key.clone());
        match table.get(&id).filter(|entry| !entry.stale(now)) {
            Some(Entry::Done(done)) if done.stamp.request == stamp.request => Begin::Replay(done.answer.clone()),
            Some(Entry::InFlight { request, .. }) if *request == stamp.request => Begin::InFlight,
            Some(_) => Begin::Mismatch,
            None => {
                table.insert(id, Entry::InFlight { request: stamp.request, since: now });
                Begin::Fresh
            }
        }
    }

    /// Keeps an answer (once its change is durable, or at recovery).
    pub fn remember(&self, remembered: Remembered) {
        let id = (remembered.stamp.scope.clone(), remembered.stamp.key.clone());
        self.table().insert(id, Entry::Done(remembered));
    }

    /// Lets a key go that never reached a change (refused, or not recorded): a retry runs.
    pub fn abandon(&self, stamp: &Stamp) {
        let mut table = self.table();
        let id = (stamp.scope.clone(), stamp.key.clone());
        if matches!(table.get(&id), Some(Entry::InFlight { .. })) {
            table.remove(&id);
        }
    }

    /// Drops answers older than the retention, and keys in flight for too long.
    pub fn purge(&self, now: Timestamp) -> usize {
        let mut table = self.table();
        let before = table.len();
        table.retain(|_, entry| !entry.stale(now));
        before - table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(key: &str, request: u8) -> Stamp {
        Stamp { scope: "demo/admin".into(), key: key.into(), request: [request; 32] }
    }

    // Proves the table's answers: fresh, in flight, replay, mismatch, abandon, expiry.
    #[test]
    fn begin_remember_abandon_and_expire() {
        let table = Idempotency::default();
        let now = Timestamp(1_000);
        assert_eq!(table.begin(&stamp("a", 1), now), Begin::Fresh);
        assert_eq!(table.begin(&stamp("a", 1), now), Begin::InFlight);
        assert_eq!(table.begin(&stamp("a", 2), now), Begin::Mismatch);
        let answer = Answer { status: 201, body: b"{}".to_vec() };
        table.remember(Remembered { stamp: stamp("a", 1), answer: answer.clone(), at: now });
        assert_eq!(table.begin(&stamp("a", 1), now), Begin::Replay(answer));
        assert_eq!(table.begin(&stamp("a", 2), now), Begin::Mismatch);
        let other_scope = Stamp { scope: "demo/merchant".into(), ..stamp("a", 2) };
        assert_eq!(table.begin(&other_scope, now), Begin::Fresh, "keys are scoped per API key");

        assert_eq!(table.begin(&stamp("b", 1), now), Begin::Fresh);
        table.abandon(&stamp("b", 1));
        assert_eq!(table.begin(&stamp("b", 1), now), Begin::Fresh, "abandoned keys run again");

        assert_eq!(table.begin(&stamp("c", 1), now), Begin::Fresh);
        let stuck = Timestamp(now.0 + IDEMPOTENCY_IN_FLIGHT_MAX_MS);
        assert_eq!(table.begin(&stamp("c", 1), stuck), Begin::Fresh, "a key stuck in flight frees itself");

        let later = Timestamp(now.0 + IDEMPOTENCY_RETENTION_MS);
        assert_eq!(table.purge(later), 4, "the answer and the three keys left in flight");
        assert_eq!(table.begin(&stamp("a", 2), later), Begin::Fresh, "an expired key is free");
    }
}
