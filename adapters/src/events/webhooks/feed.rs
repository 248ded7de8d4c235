//! One reader of the event store for every dispatcher. Each time the outbox writes, the
//! feed reads each followed commerce's new events once, parses what a dispatcher needs of
//! each (type, aggregate, id) once, and hands the batch to that commerce's dispatchers
//! through a broadcast channel. A dispatcher takes a batch only when it starts at or
//! before where the dispatcher stands; otherwise (it lagged, its window was full, it just
//! started) it reads the store after its own cursor until it has caught up, as before.
//! So a hundred subscriptions read the store once per write, not a hundred times.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use mercato_persistence::events::{EventStore, Position};
use mercato_persistence::log::Lsn;
use tokio::sync::{broadcast, watch};

use crate::events::envelope::Envelope;

/// Events read from the store at a time per commerce.
pub const READ_EVENTS: usize = 1_000;
/// Batches a commerce's channel keeps for a dispatcher that has not taken them yet; one
/// that falls further behind reads the store itself.
const BATCHES_KEPT: usize = 64;

/// An event as a dispatcher needs it.
#[derive(Debug, Clone)]
pub struct Fed {
    pub position: Position,
    pub kind: String,
    /// `{type}/{id}` of its aggregate: the lane it is sent in.
    pub aggregate: String,
    /// Its id (the `webhook-id`).
    pub id: String,
    pub json: Arc<Vec<u8>>,
}

/// What a dispatcher reads of an event's JSON; the rest (its data) is skipped unparsed.
#[derive(serde::Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    aggregate: AggregateHead<'a>,
}

#[derive(serde::Deserialize)]
struct AggregateHead<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
}

impl Fed {
    /// The event stored at `position`, read (none when the bytes are not an event).
    pub fn parse(position: Position, bytes: &[u8]) -> Option<Fed> {
        let envelope = Envelope::parse(bytes)?;
        let head: Head<'_> = serde_json::from_slice(envelope.json).ok()?;
        Some(Fed {
            position,
            kind: envelope.kind.to_owned(),
            aggregate: format!("{}/{}", head.aggregate.kind, head.aggregate.id),
            id: head.id.into_owned(),
            json: Arc::new(envelope.json.to_vec()),
        })
    }
}

/// A commerce's events in `(after, last]`, every one of them (none filtered).
#[derive(Debug)]
pub struct Batch {
    pub after: Position,
    pub last: Position,
    pub events: Vec<Fed>,
}

struct Followed {
    sender: broadcast::Sender<Arc<Batch>>,
    /// The last position read.
    after: Position,
}

/// The commerces followed, each with its channel and where its reading stands.
#[derive(Clone)]
pub struct Feed {
    followed: Arc<Mutex<HashMap<String, Followed>>>,
    head: watch::Receiver<Lsn>,
}

impl Feed {
    pub fn new(head: watch::Receiver<Lsn>) -> Self {
        Self { followed: Arc::default(), head }
    }

    /// The batches of a commerce's events from now on; the commerce is followed from the
    /// outbox's head when nobody followed it yet.
    pub fn subscribe(&self, commerce: &str) -> broadcast::Receiver<Arc<Batch>> {
        let mut followed = self.followed.lock().unwrap_or_else(PoisonError::into_inner);
        let head = *self.head.borrow();
        followed
            .entry(commerce.to_owned())
            .or_insert_with(|| Followed {
                sender: broadcast::channel(BATCHES_KEPT).0,
                after: Position { lsn: head, index: u16::MAX },
            })
            .sender
            .subscribe()
    }

    /// Reads and hands out every followed commerce's new events each time the outbox
    /// writes, until the outbox is gone. A commerce nobody listens to any more is no
    /// longer followed.
    pub async fn run(self, store: Arc<EventStore>) {
        let mut head = self.head.clone();
        loop {
            if head.changed().await.is_err() {
                return;
            }
            head.borrow_and_update();
            while self.read_once(&store) {
                // A commerce had more than one read's worth: the others get their turn,
                // and so does every dispatcher, before the next read.
                tokio::task::yield_now().await;
            }
        }
    }

    /// One read per followed commerce; answers whether one of them may have more.
    fn read_once(&self, store: &EventStore) -> bool {
        let reading: Vec<(String, Position)> = {
            let mut followed = self.followed.lock().unwrap_or_else(PoisonError::into_inner);
            followed.retain(|_, f| f.sender.receiver_count() > 0);
            followed.iter().map(|(commerce, f)| (commerce.clone(), f.after)).collect()
        };
        let mut more = false;
        for (commerce, after) in reading {
            let (events, last) = match store.read(&commerce, after, READ_EVENTS, READ_EVENTS, |_| true) {
                Ok((events, Some(last))) => (events, last),
                Ok((_, None)) => continue,
                Err(error) => {
                    // Not moved: read again at the next write. Dispatchers that see the
                    // gap read the store themselves.
                    tracing::error!(%error, %commerce, "webhooks: the feed could not read the events");
                    continue;
                }
            };
            more |= events.len() >= READ_EVENTS;
            let events = events.iter().filter_map(|e| Fed::parse(e.position, &e.bytes)).collect();
            let batch = Arc::new(Batch { after, last, events });
            let mut followed = self.followed.lock().unwrap_or_else(PoisonError::into_inner);
            // Followed again since (nobody listened, then someone did): read from its new start.
            if let Some(f) = followed.get_mut(&commerce).filter(|f| f.after == after) {
                f.after = last;
                // Nobody listening: dropped at the next read.
                let _ = f.sender.send(batch);
            }
        }
        more
    }
}
