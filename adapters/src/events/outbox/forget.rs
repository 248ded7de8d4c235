//! Archived orders leave the event store. An order the archive took takes no more records,
//! so what the outbox kept to derive its events (its note, its order's and shipments'
//! sequences) goes once every record of it is derived: the archive tells the outbox of
//! each order it took with the LSN it was taken at, and the outbox removes them when its
//! position reaches that LSN. A removal a crash cut short (the archive's word is not
//! durable) is found at the next start: the outbox sweeps the orders' notes a piece at a
//! time and lets go of those the archive holds. So the store follows open orders, not
//! history.

use std::sync::Arc;

use crossbeam_channel::Receiver;
use mercato_persistence::archive::{Archive, Left};
use mercato_persistence::PersistenceError;

use super::{sequence_key, Noted, Outbox};
use crate::events::derive::{forget_order, order_of_key, ORDER_NOTES};

/// Order notes the start's sweep looks at per turn of the outbox.
const SWEEP_NOTES: usize = 1_000;

/// What the outbox needs to let go of archived orders.
pub(super) struct Forgetting {
    archive: Arc<Archive>,
    told: Receiver<Vec<Left>>,
    /// Orders archived whose records are not all derived yet.
    waiting: Vec<Left>,
    /// Where the sweep of the orders' notes goes on from (none: done).
    sweep: Option<Vec<u8>>,
}

impl Outbox {
    /// The outbox, letting go of the orders `archive` takes (it tells `told`) and, at
    /// first, of any it holds already.
    #[must_use]
    pub fn forgetting(mut self, archive: Arc<Archive>, told: Receiver<Vec<Left>>) -> Self {
        let sweep = Some(ORDER_NOTES.as_bytes().to_vec());
        self.forgetting = Some(Forgetting { archive, told, waiting: Vec::new(), sweep });
        self
    }

    /// Whether the start's sweep still has notes to look at.
    pub(super) fn sweeping(&self) -> bool {
        self.forgetting.as_ref().is_some_and(|f| f.sweep.is_some())
    }

    /// Takes the archive's word, sweeps one piece of the notes, and lets go of every
    /// order whose records are all derived (written with the next batch).
    pub(super) fn forget(&mut self) -> Result<(), PersistenceError> {
        let Some(forgetting) = &mut self.forgetting else { return Ok(()) };
        while let Ok(left) = forgetting.told.try_recv() {
            forgetting.waiting.extend(left);
        }
        sweep_piece(&self.store, forgetting)?;
        let through = self.batch.through;
        let (done, waiting): (Vec<Left>, Vec<Left>) =
            std::mem::take(&mut forgetting.waiting).into_iter().partition(|(_, _, lsn)| *lsn <= through);
        forgetting.waiting = waiting;
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
        match forgetting.archive.get(commerce, order) {
            Ok(Some((lsn, _))) => forgetting.waiting.push((commerce.to_owned(), order.to_owned(), lsn)),
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
    /// it: before, its later records would be derived without its note.
    #[test]
    fn an_archived_order_waits_for_its_records_to_be_derived() {
        let dir = std::env::temp_dir().join(format!("mercato-forget-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Arc::new(EventStore::open(&dir.join("events"), 1 << 20).expect("opens"));
        let notes =
            ["early", "late"].map(|o| (format!("{ORDER_NOTES}demo\u{1f}{o}").into_bytes(), Some(b"{}".to_vec())));
        let sequences = vec![(b"demo\x1forder\x1fearly".to_vec(), 3), (b"demo\x1forder\x1flate".to_vec(), 2)];
        store
            .write(EventBatch { notes: notes.to_vec(), sequences, through: 5, ..EventBatch::default() })
            .expect("written");
        let archive = Arc::new(Archive::open(&dir.join("archive"), 1 << 20).expect("opens"));
        let (tell, told) = crossbeam_channel::unbounded();
        let (outbox, _) = Outbox::open(Arc::clone(&store), Arc::new(HashMap::new())).expect("opens");
        let mut outbox = outbox.forgetting(archive, told);

        tell.send(vec![("demo".into(), "early".into(), 5), ("demo".into(), "late".into(), 9)]).expect("sent");
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
}
