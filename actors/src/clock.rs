//! The node's clock. The engine never reads time; actors pass it in from here.
//!
//! Wall time is read once, when the clock is made; after that, time advances with the
//! runtime's monotonic clock (`tokio::time::Instant`). Actor timers run on that same clock,
//! so a test that pauses the runtime's time and advances it moves both together: expiry
//! fires exactly when the engine's `now` reaches it, and no test sleeps.

use actix::clock::Instant;
use chrono::{DateTime, NaiveDate};
use mercato_engine::inventory::Timestamp;

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Timestamp,
    started: Instant,
    /// A replay's clock: it reads `origin` always, and nothing expires by it.
    frozen: bool,
}

impl Clock {
    /// A clock reading the system's wall time now. Must be made inside a runtime.
    pub fn system() -> Self {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX));
        Self::starting_at(Timestamp(millis))
    }

    /// A clock that reads `origin` now and advances with the runtime's time.
    pub fn starting_at(origin: Timestamp) -> Self {
        Self { origin, started: Instant::now(), frozen: false }
    }

    /// A clock stopped at `at`: an audit replay answers as of then, and its actors let
    /// nothing expire (whatever expired by then is in the log).
    pub fn frozen_at(at: Timestamp) -> Self {
        Self { origin: at, started: Instant::now(), frozen: true }
    }

    /// Whether time stands still (a replay): timers that change state do nothing.
    pub fn is_frozen(&self) -> bool {
        self.frozen
    }

    pub fn now(&self) -> Timestamp {
        if self.frozen {
            return self.origin;
        }
        let elapsed = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.origin.0.saturating_add(elapsed))
    }

    /// Today's date in UTC.
    pub fn today(&self) -> NaiveDate {
        date_of(self.now())
    }
}

/// The UTC date of a timestamp.
pub fn date_of(at: Timestamp) -> NaiveDate {
    DateTime::from_timestamp_millis(at.0).map_or(NaiveDate::MAX, |moment| moment.date_naive())
}
