//! Events out: the log is the outbox. Every durable record is turned into the business
//! events it stands for (`derive`), numbered by the record's log position and a sequence
//! per aggregate, and kept in the event store (`outbox`), from which the API pages and
//! streams them and webhooks deliver them.
//!
//! # Layout
//! - `catalogue.rs`: the event types and what each means.
//! - `derive.rs`: a log record's events, in the API's JSON shapes.
//! - `outbox.rs`: the thread that takes durable records from the log's tap (and from
//!   recovery), derives their events and writes them with their sequences.
//! - `envelope.rs`: an event as stored and as answered.
//! - `reports.rs`: live reports and to-do queues, folded from the same records.
//! - `ledger.rs`: merchants' ledgers (sales earned, commissions, reversals, payouts),
//!   folded from the same records.
//! - `webhooks/`: subscriptions and their delivery.

pub mod catalogue;
pub mod derive;
pub mod envelope;
pub mod ledger;
pub mod outbox;
pub mod reports;
pub mod webhooks;

use std::collections::HashMap;
use std::sync::Arc;

use mercato_engine::Commerce;
use mercato_persistence::events::EventStore;
use mercato_persistence::log::Lsn;
use tokio::sync::watch;

pub use envelope::{Envelope, EventPosition};

/// The commerces events are derived for, by code.
pub type Commerces = Arc<HashMap<String, Arc<Commerce>>>;

/// What the API and the deliveries share: the store and how far it has got.
#[derive(Clone)]
pub struct Events {
    pub store: Arc<EventStore>,
    /// The last log record whose events are in the store; moves as the outbox writes.
    pub head: watch::Receiver<Lsn>,
}
