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
use std::sync::{Arc, Mutex, RwLock, Weak};

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
    /// Older segments open for reads, the one read last at the end, and those let go of
    /// that a reader may still hold (a file is opened once at a time).
    sealed: Mutex<Sealed>,
    /// One write at a time (a write may start the next segment).
    writing: Mutex<()>,
}

#[derive(Default)]
struct Sealed {
    open: Vec<(u32, Arc<Kv>)>,
    let_go: Vec<(u32, Weak<Kv>)>,
}

impl Sealed {
    fn find(&mut self, number: u32) -> Option<Arc<Kv>> {
        self.let_go.retain(|(_, kv)| kv.strong_count() > 0);
        if let Some(at) = self.open.iter().position(|(n, _)| *n == number) {
            let found = self.open.remove(at);
            let kv = Arc::clone(&found.1);
            self.open.push(found);
            return Some(kv);
        }
        let kv = self.let_go.iter().find(|(n, _)| *n == number).and_then(|(_, kv)| kv.upgrade())?;
        self.keep(number, Arc::clone(&kv));
        Some(kv)
    }

    fn keep(&mut self, number: u32, kv: Arc<Kv>) {
        self.let_go.retain(|(n, _)| *n != number);
        self.open.push((number, kv));
        if self.open.len() > OPEN_SEALED {
            let (number, kv) = self.open.remove(0);
            self.let_go.push((number, Arc::downgrade(&kv)));
        }
    }
}

impl Segments {
    /// Opens the segments in `dir` (creating the first), the newest taking writes.
    pub(super) fn open(dir: &Path, cache_bytes: u64, limit: u64) -> Result<Self, PersistenceError> {
        std::fs::create_dir_all(dir)?;
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
            sealed: Mutex::new(Sealed::default()),
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
            let next = create(&self.dir, number + 1, self.cache_bytes)?;
            let old =
                std::mem::replace(&mut *self.active.write().map_err(|_| poisoned())?, (number + 1, Arc::new(next)));
            self.sealed.lock().map_err(|_| poisoned())?.keep(old.0, old.1);
            metrics::counter!("mercato_archive_segments_started_total").increment(1);
        }
        Ok(number)
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
        self.sealed.lock().map_or(0, |sealed| sealed.open.len())
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
        if let Some(kv) = sealed.find(number) {
            return Ok(kv);
        }
        // Opened under the lock: a store's file is opened once at a time.
        let kv = Arc::new(Kv::open_existing(&self.dir.join(name(number)), self.cache_bytes)?);
        sealed.keep(number, Arc::clone(&kv));
        Ok(kv)
    }
}

/// Makes segment `number` in `NNNNNNNN.new`, durable, then renames it into place.
fn create(dir: &Path, number: u32, cache_bytes: u64) -> Result<Kv, PersistenceError> {
    let fresh = dir.join(format!("{}.new", name(number)));
    let _ = std::fs::remove_dir_all(&fresh);
    drop(Kv::open(&fresh, &[ORDERS], cache_bytes)?);
    std::fs::File::open(&fresh)?.sync_all()?;
    let placed = dir.join(name(number));
    std::fs::rename(&fresh, &placed)?;
    std::fs::File::open(dir)?.sync_all()?;
    Kv::open(&placed, &[ORDERS], cache_bytes)
}
