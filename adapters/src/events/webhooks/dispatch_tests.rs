//! How a dispatcher takes the feed's batches and when it reads the store instead.

use std::sync::Arc;

use mercato_persistence::events::{EventBatch, EventStore, Position};
use tokio::sync::{watch, Semaphore};

use super::{Dispatcher, Feed};
use crate::events::envelope;
use crate::events::webhooks::feed::{Batch, Fed};
use crate::events::webhooks::{DeliveryOptions, Subscription};

fn at(lsn: u64) -> Position {
    Position { lsn, index: 0 }
}

/// The stored bytes of an event at `lsn`: even ones are `order.placed`, odd ones
/// `order.paid`, each of its own order.
fn event(lsn: u64) -> Vec<u8> {
    let kind = if lsn.is_multiple_of(2) { "order.placed" } else { "order.paid" };
    let json = serde_json::json!({"id": format!("c:{lsn}.0"), "type": kind,
                                  "aggregate": {"type": "order", "id": format!("o{lsn}")}});
    envelope::encode(kind, &[], json.to_string().as_bytes())
}

fn batch(after: u64, last: u64) -> Batch {
    let events = (after + 1..=last).filter_map(|lsn| Fed::parse(at(lsn), &event(lsn))).collect();
    Batch { after: at(after), last: at(last), events }
}

struct Fixture {
    dir: std::path::PathBuf,
    store: Arc<EventStore>,
}

impl Fixture {
    /// A store holding the events of records 1 to `through`.
    fn new(name: &str, through: u64) -> Fixture {
        let dir = std::env::temp_dir().join(format!("mercato-dispatch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Arc::new(EventStore::open(&dir, 1 << 20).expect("store"));
        let events = (1..=through).map(|lsn| ("c".to_owned(), at(lsn), event(lsn))).collect();
        store.write(EventBatch { events, through, ..EventBatch::default() }).expect("written");
        Fixture { dir, store }
    }

    /// A dispatcher of `order.placed` events holding at most `window`, at its start.
    fn dispatcher(&self, window: usize) -> Dispatcher {
        let (_, head) = watch::channel(0);
        let context = super::Context {
            store: Arc::clone(&self.store),
            feed: Feed::new(head),
            client: reqwest::Client::new(),
            permits: Arc::new(Semaphore::new(1)),
            options: DeliveryOptions { window, ..DeliveryOptions::default() },
            mailer: None,
        };
        let hook = Subscription {
            id: "h".into(),
            commerce: "c".into(),
            url: "http://127.0.0.1:9/".into(),
            types: vec!["order.placed".into()],
            description: None,
            enabled: true,
            disabled_reason: None,
            secrets: Vec::new(),
            created_at: 0,
            created_by: "test".into(),
            notify: None,
        };
        Dispatcher {
            context,
            hook,
            cursor: super::Cursor::default(),
            lanes: std::collections::HashMap::new(),
            pending: std::collections::BTreeSet::new(),
            read: Position::default(),
            behind: true,
            saved_at: std::time::Instant::now(),
            dirty: false,
            moved: false,
            pruned_at: None,
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn pending(dispatcher: &Dispatcher) -> Vec<u64> {
    dispatcher.pending.iter().map(|p| p.lsn).collect()
}

#[test]
fn a_dispatcher_reads_the_store_until_caught_up_then_takes_the_feed() {
    let fixture = Fixture::new("catch-up", 6);
    let mut dispatcher = fixture.dispatcher(100);
    // Behind at start: the feed's batches wait until the store is read.
    dispatcher.take(&batch(6, 8));
    assert!(pending(&dispatcher).is_empty());
    while dispatcher.fill() {}
    assert!(!dispatcher.behind);
    assert_eq!((pending(&dispatcher), dispatcher.read), (vec![2, 4, 6], at(6)));
    // A batch already read is passed over; one that overlaps adds only what is new.
    dispatcher.take(&batch(3, 6));
    dispatcher.take(&batch(4, 8));
    assert_eq!((pending(&dispatcher), dispatcher.read), (vec![2, 4, 6, 8], at(8)));
    // Every event has a lane, each order's own.
    assert_eq!(dispatcher.lanes.len(), 4);
    assert!(dispatcher.dirty);
}

#[test]
fn a_gap_or_a_full_window_sends_the_dispatcher_back_to_the_store() {
    let fixture = Fixture::new("gap", 20);
    let mut dispatcher = fixture.dispatcher(100);
    dispatcher.behind = false;
    dispatcher.read = at(4);
    // Events 5 to 10 were never handed to it (it lagged): it reads them from the store.
    dispatcher.take(&batch(10, 12));
    assert!(dispatcher.behind);
    assert_eq!(dispatcher.read, at(4));
    while dispatcher.fill() {}
    assert_eq!(pending(&dispatcher), vec![6, 8, 10, 12, 14, 16, 18, 20]);

    // A window of 2: the batch is taken up to the window, the rest read from the store
    // once room is made; nothing is skipped and nothing taken twice.
    let mut small = fixture.dispatcher(2);
    small.behind = false;
    small.take(&batch(0, 8));
    assert!(small.behind);
    assert_eq!((pending(&small), small.read), (vec![2, 4], at(5)), "read past 5, not wanted");
    assert!(!small.fill(), "no room");
    small.next_in_lane("order/o2");
    small.next_in_lane("order/o4");
    while small.fill() {}
    assert_eq!((pending(&small), small.read), (vec![6, 8], at(8)));
    assert!(small.behind, "the window is full again before the store's end");
}
