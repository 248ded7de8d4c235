//! The next segment, made ahead. Zeroing a segment a step at a time on the writer's thread
//! stalls every record queued behind it (a step's write and sync, about 1.5 ms here, and
//! far more while the disk is busy): a spare file is zeroed to the segment size and synced
//! on a thread of its own instead, and the writer starts its next segment in it (a header,
//! a sync, a rename and the folder's sync) once the segment it writes needs more zeros.
//! The spare's name is no segment's, so recovery passes over it; a spare left by a crash
//! is removed when the log opens.

use super::*;

/// The spare's file name (not a segment name: recovery passes over it).
pub(super) const SPARE_NAME: &str = "next.spare";

/// A spare being made (or made) on its own thread.
pub(super) struct Spare {
    thread: Option<JoinHandle<io::Result<Box<dyn AppendFile>>>>,
    cancel: Arc<AtomicBool>,
}

impl Spare {
    /// Starts making a spare of `len` bytes in `dir`: created, zeroed a step at a time
    /// (each step synced, so a spare never queues a large write ahead of the log's syncs),
    /// stopped between steps when cancelled.
    pub(super) fn start(storage: Arc<dyn Storage>, dir: PathBuf, len: u64) -> Option<Spare> {
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&cancel);
        let spawned = std::thread::Builder::new().name("mercato-log-spare".into()).spawn(move || {
            let mut file = storage.create(&dir, SPARE_NAME)?;
            let mut zeroed = 0;
            while zeroed < len {
                if stop.load(Ordering::Acquire) {
                    return Err(io::Error::other("cancelled"));
                }
                zeroed = zeroed.saturating_add(LOG_PREALLOCATE_STEP).min(len);
                file.preallocate(zeroed)?;
            }
            Ok(file)
        });
        match spawned {
            Ok(thread) => Some(Spare { thread: Some(thread), cancel }),
            Err(error) => {
                tracing::warn!(%error, "log: the next segment cannot be made ahead; zeroing on the writer");
                None
            }
        }
    }

    pub(super) fn is_ready(&self) -> bool {
        self.thread.as_ref().is_some_and(JoinHandle::is_finished)
    }

    /// The spare made, once ready; none (and the file removed) when making it failed.
    pub(super) fn take(mut self, storage: &dyn Storage, dir: &Path) -> Option<Box<dyn AppendFile>> {
        let made = self.thread.take()?.join();
        match made {
            Ok(Ok(file)) => Some(file),
            Ok(Err(error)) => {
                tracing::warn!(%error, "log: the next segment could not be made ahead; zeroing on the writer");
                let _ = storage.remove(dir, SPARE_NAME);
                None
            }
            Err(_) => {
                let _ = storage.remove(dir, SPARE_NAME);
                None
            }
        }
    }
}

impl Drop for Spare {
    /// Stops the thread between steps and waits for it (one step at most): a log reopened
    /// in the same folder never meets a spare still being written.
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Makes the spare `file` segment `first`: its header written over the zeros and synced,
/// then renamed to the segment's name and the folder synced, before any record goes in
/// (a crash before the rename leaves a spare, removed at open; after it, an empty
/// segment). Returns the file and how far it is zeroed.
pub(super) fn adopt(
    storage: &dyn Storage,
    options: &LogOptions,
    mut file: Box<dyn AppendFile>,
    first: Lsn,
) -> Result<(Box<dyn AppendFile>, u64), PersistenceError> {
    file.write_all(&segment::segment_header(first))?;
    file.sync_data()?;
    storage.rename(&options.dir, SPARE_NAME, &segment_name(first))?;
    storage.sync_dir(&options.dir)?;
    Ok((file, options.segment_bytes.max(segment::SEGMENT_HEADER_BYTES as u64)))
}

/// Removes a spare a crash left (recovery never reads it).
pub(super) fn remove_leftover(storage: &dyn Storage, dir: &Path) -> Result<(), PersistenceError> {
    if storage.list(dir)?.iter().any(|name| name == SPARE_NAME) {
        storage.remove(dir, SPARE_NAME)?;
    }
    Ok(())
}
