//! Archived orders leave the event store. An order that left memory for the archive takes
//! no more records, so what the outbox kept to derive its events (its note, its order's
//! and shipments' sequences) goes once every record of it is derived and a snapshot begun
//! after it left is written (before that, a crash would bring it back from the previous
//! snapshot, open to records again): the archive tells the outbox of each order that left
//! with its last record's LSN. A removal a crash cut short (the archive's word is not
//! durable) is found at the next start: the outbox sweeps the orders' notes a piece at a
//! time and lets go of those the archive holds and memory does not. So the store follows
//! open orders, not history.

use std::collections::HashSet;
use std::sync::Arc;

use crossbeam_channel::Receiver;
use mercato_persistence::archive::{Archive, Left, Told};
use mercato_persistence::PersistenceError;

use super::{sequence_key, Noted, Outbox};
use crate::events::derive::{forget_order, order_of_key, ORDER_NOTES};
use crate::snapshots::SnapshotTurns;

/// Order notes the start's sweep looks at per turn of the outbox.
const SWEEP_NOTES: usize = 1_000;

/// What the outbox needs to let go of archived orders.
pub(super) struct Forgetting {
    archive: Arc<Archive>,
    told: Receiver<Told>,
    turns: Arc<SnapshotTurns>,
    /// Orders archived, each with the number of the archive's tell that named it (none:
    /// found by the sweep, out of memory since the start), not let go of yet.
    waiting: Vec<(Left, Option<u64>)>,
    /// Where the sweep of the orders' notes goes on from (none: done).
    sweep: Option<Vec<u8>>,
    /// The orders in memory at the start (commerce, id): the sweep passes them over.
    held: HashSet<(String, String)>,
}

impl Outbox {
    /// The outbox, letting go of the orders that leave memory for `archive` (it tells
    /// `told`) once `turns` says a later snapshot is written, and, at first, of the orders
    /// the archive holds already.
    #[must_use]
    pub fn forgetting(mut self, archive: Arc<Archive>, told: Receiver<Told>, turns: Arc<SnapshotTurns>) -> Self {
        let sweep = Some(ORDER_NOTES.as_bytes().to_vec());
        let held = HashSet::new();
        self.forgetting = Some(Forgetting { archive, told, turns, waiting: Vec::new(), sweep, held });
        self
    }

    /// The orders in memory at the start (commerce, id): the sweep leaves their notes.
    pub fn holding(&mut self, held: HashSet<(String, String)>) {
        if let Some(forgetting) = &mut self.forgetting {
            forgetting.held = held;
        }
    }

    /// Whether the start's sweep still has notes to look at.
    pub(super) fn sweeping(&self) -> bool {
        self.forgetting.as_ref().is_some_and(|f| f.sweep.is_some())
    }

    /// Takes the archive's word, sweeps one piece of the notes, and lets go of every
    /// order whose records are all derived (written with the next batch).
    pub(super) fn forget(&mut self) -> Result<(), PersistenceError> {
        let Some(forgetting) = &mut self.forgetting else { return Ok(()) };
        while let Ok((number, left)) = forgetting.told.try_recv() {
            forgetting.waiting.extend(left.into_iter().map(|left| (left, Some(number))));
        }
        sweep_piece(&self.store, forgetting)?;
        let (through, written) = (self.batch.through, forgetting.turns.written());
        let ready = |((_, _, lsn), told): &(Left, Option<u64>)| *lsn <= through && told.is_none_or(|t| written >= t);
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut forgetting.waiting).into_iter().partition(ready);
        forgetting.waiting = waiting;
        let done: Vec<Left> = done.into_iter().map(|(left, _)| left).collect();
        if done.is_empty() {
            return Ok(());
        }
        let mut notes =
            Noted { store: &self.store, cache: &mut self.notes, dirty: &mut self.dirty_notes, failed: None };
        let mut sequences = Vec::new();
        for (commerce, order, _) in &done {
            let aggregates = forget_order(commerce, order, &mut notes);
            sequences.extend(aggregates.into_iter().map(|(kind, id)| sequence_key(commerce, kind, &id)));
        }
        if let Some(error) = notes.failed {
            return Err(error);
        }
        for key in sequences {
            self.sequences.insert(key.clone(), 0);
            self.dirty_sequences.insert(key, 0);
        }
        metrics::counter!("mercato_events_orders_let_go_total").increment(done.len() as u64);
        Ok(())
    }
}

/// Looks at the next `SWEEP_NOTES` orders' notes: those the archive holds wait to be let
/// go of like any order it tells of.
fn sweep_piece(
    store: &mercato_persistence::events::EventStore,
    forgetting: &mut Forgetting,
) -> Result<(), PersistenceError> {
    let Some(from) = &forgetting.sweep else { return Ok(()) };
    let notes = store.notes(ORDER_NOTES.as_bytes(), Some(from), SWEEP_NOTES + 1)?;
    for (key, _) in notes.iter().take(SWEEP_NOTES) {
        let Some((commerce, order)) = std::str::from_utf8(key).ok().and_then(order_of_key) else { continue };
        if forgetting.held.contains(&(commerce.to_owned(), order.to_owned())) {
            continue;
        }
        match forgetting.archive.lsn(commerce, order) {
            Ok(Some(lsn)) => forgetting.waiting.push(((commerce.to_owned(), order.to_owned(), lsn), None)),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, commerce, order, "events: the archive could not be read; the order's note stays")
            }
        }
    }
    forgetting.sweep = notes.get(SWEEP_NOTES).map(|(key, _)| key.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use mercato_persistence::events::{EventBatch, EventStore};

    use super::*;

    fn note_of(store: &EventStore, order: &str) -> Option<Vec<u8>> {
        store.note(format!("{ORDER_NOTES}demo\u{1f}{order}").as_bytes()).expect("reads")
    }

    /// An archived order is let go of only once the outbox has derived every record of
    /// it (before, its later records would be derived without its note) and a snapshot
    /// begun after it left memory is written (before, a crash brings it back from the
    /// previous one, open to records again).
    #[test]
    fn an_archived_order_waits_for_its_records_and_a_later_snapshot() {
        let dir = std::env::temp_dir().join(format!("mercato-forget-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Arc::new(EventStore::open(&dir.join("events"), 1 << 20).expect("opens"));
        let notes =
            ["early", "late"].map(|o| (format!("{ORDER_NOTES}demo\u{1f}{o}").into_bytes(), Some(b"{}".to_vec())));
        let sequences = vec![(b"demo\x1forder\x1fearly".to_vec(), 3), (b"demo\x1forder\x1flate".to_vec(), 2)];
        store
            .write(EventBatch { notes: notes.to_vec(), sequences, through: 5, ..EventBatch::default() })
            .expect("written");
        let (tell, told) = crossbeam_channel::unbounded();
        let archive = Arc::new(Archive::open(&dir.join("archive"), 1 << 20).expect("opens").telling(tell));
        let turns = Arc::new(SnapshotTurns::default());
        turns.follow(Arc::clone(&archive));
        let (outbox, _) = Outbox::open(Arc::clone(&store), Arc::new(HashMap::new())).expect("opens");
        let mut outbox = outbox.forgetting(Arc::clone(&archive), told, Arc::clone(&turns));
        // A snapshot begun before the orders left memory holds them.
        let before = turns.begin();

        archive.tell_left("demo", [("early".to_owned(), 5), ("late".to_owned(), 9)]);
        outbox.let_go();
        turns.mark_written(before);
        outbox.let_go();
        assert!(note_of(&store, "early").is_some(), "no snapshot begun after it left is written: the note stays");

        let after = turns.begin();
        outbox.let_go();
        assert!(note_of(&store, "early").is_some(), "the later snapshot is not written yet");
        turns.mark_written(after);
        outbox.let_go();
        assert_eq!(note_of(&store, "early"), None);
        assert_eq!(store.sequence(b"demo\x1forder\x1fearly").expect("reads"), 0);
        assert!(note_of(&store, "late").is_some(), "record 9 is not derived yet: the note stays");
        assert_eq!(store.sequence(b"demo\x1forder\x1flate").expect("reads"), 2);

        outbox.pass(9);
        outbox.let_go();
        assert_eq!(note_of(&store, "late"), None);
        assert_eq!(store.sequence(b"demo\x1forder\x1flate").expect("reads"), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The start's sweep lets go of an archived order's note, and passes over an order in
    /// memory (a crash brought it back from a snapshot: it may still take records).
    #[test]
    fn the_sweep_passes_over_orders_in_memory() {
        let dir = std::env::temp_dir().join(format!("mercato-sweep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Arc::new(EventStore::open(&dir.join("events"), 1 << 20).expect("opens"));
        let notes =
            ["gone", "back"].map(|o| (format!("{ORDER_NOTES}demo\u{1f}{o}").into_bytes(), Some(b"{}".to_vec())));
        store.write(EventBatch { notes: notes.to_vec(), through: 5, ..EventBatch::default() }).expect("written");
        let archive = Archive::open(&dir.join("archive"), 1 << 20).expect("opens");
        let archived = |id: &str| mercato_persistence::archive::ArchivedOrder {
            id: id.into(),
            placed_at: 0,
            invoices: Vec::new(),
            bytes: Vec::new(),
            lsn: 4,
        };
        archive.put("demo", &[archived("gone"), archived("back")]).expect("archived");
        let (_tell, told) = crossbeam_channel::unbounded();
        let (outbox, _) = Outbox::open(Arc::clone(&store), Arc::new(HashMap::new())).expect("opens");
        let mut outbox = outbox.forgetting(Arc::new(archive), told, Arc::new(SnapshotTurns::default()));
        outbox.holding([("demo".to_owned(), "back".to_owned())].into());
        while outbox.sweeping() {
            outbox.let_go();
        }
        outbox.let_go();
        assert_eq!(note_of(&store, "gone"), None);
        assert!(note_of(&store, "back").is_some());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
