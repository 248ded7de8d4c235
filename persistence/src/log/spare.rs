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

/// A spare being made on its own thread, or made.
pub(super) struct Spare {
    thread: Option<JoinHandle<io::Result<Box<dyn AppendFile>>>>,
    made: Option<Box<dyn AppendFile>>,
    cancel: Arc<AtomicBool>,
}

/// Creates the spare and zeros it a step at a time, each step synced (a spare never queues
/// a large write ahead of the log's syncs), stopping between steps when cancelled.
fn make(storage: &dyn Storage, dir: &Path, len: u64, cancel: &AtomicBool) -> io::Result<Box<dyn AppendFile>> {
    let mut file = storage.create(dir, SPARE_NAME)?;
    let mut zeroed = 0;
    while zeroed < len {
        if cancel.load(Ordering::Acquire) {
            return Err(io::Error::other("cancelled"));
        }
        zeroed = zeroed.saturating_add(LOG_PREALLOCATE_STEP).min(len);
        file.preallocate(zeroed)?;
    }
    Ok(file)
}

impl Spare {
    /// Starts making a spare of the segment size in the log's folder (its `thread_start`
    /// run first on the spare's thread); one that fails or is cancelled removes its file
    /// itself.
    pub(super) fn start(storage: Arc<dyn Storage>, options: &LogOptions) -> Option<Spare> {
        let (dir, len, thread_start) = (options.dir.clone(), options.segment_bytes, options.thread_start);
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&cancel);
        let spawned = std::thread::Builder::new().name("mercato-log-spare".into()).spawn(move || {
            if let Some(start) = thread_start {
                start(LogThread::Spare);
            }
            let made = make(storage.as_ref(), &dir, len, &stop);
            if made.is_err() {
                let _ = storage.remove(&dir, SPARE_NAME);
            }
            made
        });
        match spawned {
            Ok(thread) => Some(Spare { thread: Some(thread), made: None, cancel }),
            Err(error) => {
                tracing::warn!(%error, "log: the next segment cannot be made ahead; zeroing on the writer");
                None
            }
        }
    }

    /// Whether the spare is made (its thread joined once it has finished, never before).
    pub(super) fn ready(&mut self) -> bool {
        if self.thread.as_ref().is_some_and(JoinHandle::is_finished) {
            match self.thread.take().map(JoinHandle::join) {
                Some(Ok(Ok(file))) => self.made = Some(file),
                Some(Ok(Err(error))) => {
                    tracing::warn!(%error, "log: the next segment could not be made ahead; zeroing on the writer");
                }
                _ => tracing::warn!("log: the thread making the next segment ahead panicked; zeroing on the writer"),
            }
        }
        self.made.is_some()
    }

    /// Whether making it failed: the writer zeroes on its own until its next segment.
    pub(super) fn failed(&self) -> bool {
        self.thread.is_none() && self.made.is_none()
    }

    /// The spare, when made.
    pub(super) fn take(mut self) -> Option<Box<dyn AppendFile>> {
        self.ready();
        self.made.take()
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

/// Removes a spare a crash left (recovery never reads it). One that cannot be removed is
/// no reason to refuse the start: the next spare then fails to be made, and the writer
/// zeroes on its own.
pub(super) fn remove_leftover(storage: &dyn Storage, dir: &Path) {
    let listed = storage.list(dir).map(|names| names.iter().any(|name| name == SPARE_NAME));
    if let Err(error) = listed.and_then(|found| if found { storage.remove(dir, SPARE_NAME) } else { Ok(()) }) {
        tracing::warn!(%error, "log: a spare segment left by a crash could not be removed");
    }
}
