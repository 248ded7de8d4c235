//! The archive's orders, in segment files of bounded size (`DIR/segments/NNNNNNNN/`).
//!
//! Only the newest segment takes writes; once its file passes the segment size, a new one
//! is started and the old one is only read. A store keeps state in memory that grows with
//! its file (redb's allocator state, about 0.2 MB per GB), so one file holding every
//! finished order made the node's memory at rest follow history. Here the node keeps open
//! the newest segment and the few older ones read last (`OPEN_SEALED`), whatever the
//! number of segments.
//!
//! A new segment is made in `NNNNNNNN.new` and renamed into place once its file is
//! durable: a crash at any step leaves either no segment or a whole one (a `.new` left
//! behind is removed at open).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use crate::error::PersistenceError;
use crate::kv::{Batch, Kv};

/// The table each segment holds.
pub(super) const ORDERS: &str = "orders";

/// How many older segments stay open for reads (the ones read last).
const OPEN_SEALED: usize = 4;

/// A segment starts a new one past this size, unless told otherwise.
pub const SEGMENT_BYTES: u64 = 1 << 30;

fn name(number: u32) -> String {
    format!("{number:08}")
}

fn poisoned() -> PersistenceError {
    PersistenceError::Io(std::io::Error::other("an archive segment's lock was poisoned"))
}

pub(super) struct Segments {
    dir: PathBuf,
    cache_bytes: u64,
    limit: u64,
    /// The segment taking writes, with its number.
    active: RwLock<(u32, Arc<Kv>)>,
    /// Older segments open for reads, the one read last at the end. A segment is closed
    /// only here, under this lock, and only once no reader holds it: a file is never
    /// opened while another handle on it is still open or closing.
    sealed: Mutex<Vec<(u32, Arc<Kv>)>>,
    /// One write at a time (a write may start the next segment).
    writing: Mutex<()>,
}

/// Moves segment `number` to the end of the open ones, if open.
fn touch(sealed: &mut Vec<(u32, Arc<Kv>)>, number: u32) -> Option<Arc<Kv>> {
    let at = sealed.iter().position(|(n, _)| *n == number)?;
    let found = sealed.remove(at);
    let kv = Arc::clone(&found.1);
    sealed.push(found);
    Some(kv)
}

/// Adds a segment to the open ones and closes those read longest ago beyond
/// `OPEN_SEALED` that no reader holds (one a reader holds is closed at a later turn).
fn keep(sealed: &mut Vec<(u32, Arc<Kv>)>, number: u32, kv: Arc<Kv>) {
    sealed.push((number, kv));
    let mut over = sealed.len().saturating_sub(OPEN_SEALED);
    sealed.retain(|(_, kv)| {
        let close = over > 0 && Arc::strong_count(kv) == 1;
        over -= usize::from(close);
        !close
    });
}

impl Segments {
    /// Opens the segments in `dir` (creating the first), the newest taking writes.
    pub(super) fn open(dir: &Path, cache_bytes: u64, limit: u64) -> Result<Self, PersistenceError> {
        if !dir.is_dir() {
            std::fs::create_dir_all(dir)?;
            if let Some(parent) = dir.parent() {
                std::fs::File::open(parent)?.sync_all()?;
            }
        }
        let mut newest = 0;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            if file_name.ends_with(".new") {
                std::fs::remove_dir_all(entry.path())?;
            } else if let Ok(number) = file_name.parse::<u32>() {
                newest = newest.max(number);
            }
        }
        let active = if newest == 0 {
            create(dir, 1, cache_bytes)?
        } else {
            Kv::open(&dir.join(name(newest)), &[ORDERS], cache_bytes)?
        };
        Ok(Self {
            dir: dir.to_owned(),
            cache_bytes,
            limit: limit.max(1),
            active: RwLock::new((newest.max(1), Arc::new(active))),
            sealed: Mutex::new(Vec::new()),
            writing: Mutex::new(()),
        })
    }

    /// Writes in the newest segment, durably, and answers its number; starts a new segment
    /// once this one has passed the size.
    pub(super) fn write(
        &self,
        writes: impl FnOnce(&mut Batch<'_>) -> Result<(), PersistenceError>,
    ) -> Result<u32, PersistenceError> {
        let _one = self.writing.lock().map_err(|_| poisoned())?;
        let (number, kv) = {
            let active = self.active.read().map_err(|_| poisoned())?;
            (active.0, Arc::clone(&active.1))
        };
        kv.write(true, writes)?;
        if kv.file_bytes() >= self.limit {
            // The orders are durable in this segment whatever becomes of the next: a
            // segment that could not be started is tried again at the next write.
            if let Err(error) = self.start_next(number) {
                tracing::error!(%error, segment = number + 1, "the archive could not start its next segment");
            }
        }
        Ok(number)
    }

    /// Starts segment `number + 1`; the old one joins the open older ones in the same
    /// turn of the `sealed` lock, so a reader finds it either active or there.
    fn start_next(&self, number: u32) -> Result<(), PersistenceError> {
        let next = number
            .checked_add(1)
            .ok_or_else(|| PersistenceError::Codec(format!("the archive has no segment after {number}")))?;
        let kv = Arc::new(create(&self.dir, next, self.cache_bytes)?);
        let mut sealed = self.sealed.lock().map_err(|_| poisoned())?;
        let old = std::mem::replace(&mut *self.active.write().map_err(|_| poisoned())?, (next, kv));
        keep(&mut sealed, old.0, old.1);
        metrics::counter!("mercato_archive_segments_started_total").increment(1);
        Ok(())
    }

    /// A value of segment `number`.
    pub(super) fn get(&self, number: u32, key: &[u8]) -> Result<Option<Vec<u8>>, PersistenceError> {
        self.segment(number)?.get(ORDERS, key)
    }

    /// How many segments there are (the newest's number).
    pub(super) fn count(&self) -> u32 {
        self.active.read().map_or(0, |active| active.0)
    }

    /// How many older segments are open now.
    pub(super) fn open_sealed(&self) -> usize {
        self.sealed.lock().map_or(0, |sealed| sealed.len())
    }

    fn segment(&self, number: u32) -> Result<Arc<Kv>, PersistenceError> {
        {
            let active = self.active.read().map_err(|_| poisoned())?;
            if active.0 == number {
                return Ok(Arc::clone(&active.1));
            }
            if number == 0 || number > active.0 {
                return Err(PersistenceError::Codec(format!("the archive has no segment {number}")));
            }
        }
        let mut sealed = self.sealed.lock().map_err(|_| poisoned())?;
        if let Some(kv) = touch(&mut sealed, number) {
            return Ok(kv);
        }
        // Opened under the lock, which every close is made under too.
        let kv = Arc::new(Kv::open_existing(&self.dir.join(name(number)), self.cache_bytes)?);
        keep(&mut sealed, number, Arc::clone(&kv));
        Ok(kv)
    }
}

/// Makes segment `number` in `NNNNNNNN.new`, durable, then renames it into place.
fn create(dir: &Path, number: u32, cache_bytes: u64) -> Result<Kv, PersistenceError> {
    let placed = dir.join(name(number));
    if placed.is_dir() {
        // Put in place by an attempt that failed after its rename.
        return Kv::open(&placed, &[ORDERS], cache_bytes);
    }
    let fresh = dir.join(format!("{}.new", name(number)));
    let _ = std::fs::remove_dir_all(&fresh);
    drop(Kv::open(&fresh, &[ORDERS], cache_bytes)?);
    std::fs::File::open(&fresh)?.sync_all()?;
    std::fs::rename(&fresh, &placed)?;
    std::fs::File::open(dir)?.sync_all()?;
    Kv::open(&placed, &[ORDERS], cache_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves a segment a reader still holds is not closed when others are opened past
    // the limit, so asking for it again finds the same handle (a second open of its file
    // would be refused), and it is closed once let go of and others are opened.
    #[test]
    fn a_segment_held_by_a_reader_stays_open() {
        let dir = std::env::temp_dir().join(format!("mercato-segments-held-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let segments = Segments::open(&dir, 1 << 20, 1).unwrap();
        for n in 0..8u8 {
            segments.write(|batch| batch.insert(ORDERS, &[n], &[n])).unwrap();
        }
        assert_eq!(segments.count(), 9);
        let held = segments.segment(1).unwrap();
        for number in 2..=7 {
            let value = u8::try_from(number - 1).unwrap();
            assert_eq!(segments.get(number, &[value]).unwrap(), Some(vec![value]));
        }
        let again = segments.segment(1).unwrap();
        assert!(Arc::ptr_eq(&held, &again));
        assert_eq!(held.get(ORDERS, &[0]).unwrap(), Some(vec![0]));
        drop((held, again));
        for number in 2..=7 {
            segments.get(number, &[0]).unwrap();
        }
        assert!(!segments.sealed.lock().unwrap().iter().any(|(n, _)| *n == 1));
        assert_eq!(segments.open_sealed(), OPEN_SEALED);
        assert_eq!(segments.get(1, &[0]).unwrap(), Some(vec![0]));
        drop(segments);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
