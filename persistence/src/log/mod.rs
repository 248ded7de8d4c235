//! The write-ahead log: one ordered stream of records for the whole node, in segment files,
//! written by one thread with group commit.
//!
//! Callers hand a record to [`LogHandle::append`], which never blocks: it takes a place
//! ([`LogHandle::slot`]; at most `queue_capacity` records wait, beyond that it is
//! [`AppendError::Full`], for the caller to answer 503), numbers the record and queues it.
//! The writer thread takes everything queued, writes it with one write call and, in `sync`
//! mode, one `fdatasync`, then acknowledges every record of the batch through its
//! [`Receipt`]. In `async` mode it acknowledges after the write and syncs on an
//! interval. A failed write or sync acknowledges nothing of its batch, fails every later
//! append and stops the writer: the node must stop and recover from the log. An fsync is
//! never retried.

mod recovery;
mod spare;
mod writer;

use writer::{start_segment, Writer};
mod segment;

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use tokio::sync::{oneshot, watch};

pub use recovery::{oldest_record, recover, Recovered, Replayed, TruncatedTail};
use segment::{encode_frame, segment_header, segment_name, FRAME_HEADER_BYTES};
pub use segment::{Lsn, Record};

use crate::codec::RECORD_PAYLOAD_BYTES_MAX;
use crate::error::PersistenceError;
use crate::storage::{AppendFile, Storage};

/// Records the writer takes from the queue into one batch at most.
pub const LOG_BATCH_RECORDS_MAX: usize = 16_384;
/// Bytes of frames one batch holds at most (one record may exceed it alone).
pub const LOG_BATCH_BYTES_MAX: usize = 8 * 1024 * 1024;
/// After a batch of at least this many records, the next batch waits for as many again
/// before it is written, for at most half the last sync's time and `LOG_GATHER_WAIT_MAX`.
pub const LOG_GATHER_FROM_RECORDS: usize = 64;
pub const LOG_GATHER_WAIT_MAX: Duration = Duration::from_millis(2);
/// The shortest async sync interval: a shorter one would keep an idle writer spinning.
pub const LOG_ASYNC_INTERVAL_MIN: Duration = Duration::from_millis(1);
/// Segments are filled with zeros ahead of the records, this much at a time (and never past
/// `segment_bytes`): records then overwrite space the file system already holds, and a
/// sync of them commits no new size or blocks. In the log bench that made a sync of a few
/// records take 0.14 to 0.19 ms instead of 0.22 to 0.27 ms (p50), with a third less of
/// the writer's CPU. Zeroing a step is one longer sync every `LOG_PREALLOCATE_STEP` bytes
/// of records.
pub const LOG_PREALLOCATE_STEP: u64 = 1024 * 1024;

/// When a record counts as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Acknowledge after the batch is durable (the default).
    Sync,
    /// Acknowledge after the batch is written; sync at least every `interval`.
    Async { interval: Duration },
}

#[derive(Debug, Clone)]
pub struct LogOptions {
    pub dir: PathBuf,
    /// A segment is closed and a new one started once it reaches this size.
    pub segment_bytes: u64,
    pub mode: SyncMode,
    /// Records waiting for the writer at most; beyond it appends are refused.
    pub queue_capacity: usize,
    /// Where every record goes once it is durable, in LSN order, a batch at a time (the
    /// node's outbox reads its events from them). Never blocks the writer: the channel is
    /// unbounded, and a receiver gone is ignored.
    pub tap: Option<Tap>,
    /// Run first on each thread the log starts (the node sets their priorities there: the
    /// writer is on every change's path, the spare's zeroing is background work).
    pub thread_start: Option<fn(LogThread)>,
}

/// The threads a log runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogThread {
    /// The writer: every append waits for it.
    Writer,
    /// Makes the next segment ahead (`spare`): zeroes a file, nothing waits for it.
    Spare,
}

/// A record made durable, as the tap hands it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durable {
    pub lsn: Lsn,
    pub kind: u8,
    pub payload: Vec<u8>,
}

/// The sending end of a log's tap.
pub type Tap = Sender<Vec<Durable>>;

impl LogOptions {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            segment_bytes: 64 * 1024 * 1024,
            mode: SyncMode::Sync,
            queue_capacity: 65_536,
            tap: None,
            thread_start: None,
        }
    }
}

/// Why an append was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    #[error("the log queue is full ({capacity} records waiting)")]
    Full { capacity: usize },
    #[error("a record of {len} bytes exceeds the limit of {RECORD_PAYLOAD_BYTES_MAX}")]
    TooLarge { len: usize },
    #[error("the log has stopped: {reason}")]
    Stopped { reason: String },
}

/// The log failed before the record became durable; the node must stop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the log failed: {reason}")]
pub struct LogFailure {
    pub reason: String,
}

/// Why records are refused after a clean close.
const CLOSED: &str = "the log is closed";

/// Resolves with the record's LSN once it is durable (or written, in `async` mode). The
/// LSN is known from the moment the record is queued.
#[derive(Debug)]
pub struct Receipt(oneshot::Receiver<Result<Lsn, LogFailure>>, Lsn);

impl Receipt {
    /// The record's LSN (for a sync request: none is assigned, 0).
    pub fn lsn(&self) -> Lsn {
        self.1
    }

    /// Waits on this thread (for callers outside an async runtime).
    pub fn wait(self) -> Result<Lsn, LogFailure> {
        self.0.blocking_recv().unwrap_or_else(|_| Err(stopped()))
    }
}

fn stopped() -> LogFailure {
    LogFailure { reason: "the log writer stopped".to_owned() }
}

impl Future for Receipt {
    type Output = Result<Lsn, LogFailure>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|answer| answer.unwrap_or_else(|_| Err(stopped())))
    }
}

enum Request {
    Append {
        lsn: Lsn,
        kind: u8,
        payload: Vec<u8>,
        ack: oneshot::Sender<Result<Lsn, LogFailure>>,
        /// When it was queued (the writer reports how long a batch's oldest waited).
        queued_at: Instant,
    },
    /// Delete segments whose records are all below `below`.
    Retain { below: Lsn, ack: oneshot::Sender<Result<usize, String>> },
    /// Make everything written so far durable, then answer (any mode).
    Sync { ack: oneshot::Sender<Result<Lsn, LogFailure>> },
    /// Write and sync what came before, then stop.
    Close,
}

/// The writer has stopped (the reason is in `Shared::failure`).
struct Stopped;

struct Shared {
    failure: OnceLock<String>,
    capacity: usize,
    /// Appends admitted (slots taken) that the writer has not taken yet.
    queued: AtomicUsize,
    /// The LSN the next append gets. Held while the record is queued, so LSNs follow the
    /// queue's order whichever thread appends.
    next: Mutex<Lsn>,
    /// What the writer has answered so far, for callers waiting on an LSN they know.
    progress: watch::Sender<Progress>,
}

/// How far the log has got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Highest LSN whose receipt was answered (durable in `sync` mode, written in `async`).
    pub acknowledged: Lsn,
    /// Highest LSN known durable.
    pub durable: Lsn,
    /// The log stopped: nothing further will be acknowledged.
    pub failed: bool,
}

impl Shared {
    fn record_failure(&self, reason: String) {
        let _ = self.failure.set(reason);
        self.progress.send_modify(|p| p.failed = true);
    }
}

/// A cheap, clonable way to append. Appends never block.
#[derive(Clone)]
pub struct LogHandle {
    queue: Sender<Request>,
    shared: Arc<Shared>,
}

impl LogHandle {
    pub fn append(&self, kind: u8, payload: Vec<u8>) -> Result<Receipt, AppendError> {
        self.slot()?.append(kind, payload)
    }

    /// Takes a place in the queue, so that one later append cannot be refused for a full
    /// queue: an actor takes one before it applies a change and appends the record after,
    /// with what only the applied state can tell (an answer to remember). An unused slot
    /// is given back when dropped.
    pub fn slot(&self) -> Result<Slot, AppendError> {
        if let Some(reason) = self.shared.failure.get() {
            return Err(AppendError::Stopped { reason: reason.clone() });
        }
        if self.shared.queued.fetch_add(1, Ordering::AcqRel) >= self.shared.capacity {
            self.shared.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(AppendError::Full { capacity: self.shared.capacity });
        }
        Ok(Slot { log: self.clone(), taken: true })
    }

    /// Makes everything appended before it durable, in any mode.
    pub fn sync(&self) -> Result<Receipt, AppendError> {
        let (ack, receipt) = oneshot::channel();
        self.send(Request::Sync { ack })?;
        Ok(Receipt(receipt, 0))
    }

    /// The last LSN handed out (records up to it are queued, written or durable).
    pub fn last_assigned(&self) -> Lsn {
        *self.shared.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner) - 1
    }

    /// How far the log has got, now.
    pub fn progress(&self) -> Progress {
        *self.shared.progress.borrow()
    }

    /// Resolves once record `lsn` is acknowledged (or, with `durable`, durable), or with
    /// the failure when the log stops first.
    pub fn reached(&self, lsn: Lsn, durable: bool) -> impl Future<Output = Result<(), LogFailure>> + 'static {
        let mut progress = self.shared.progress.subscribe();
        let shared = Arc::clone(&self.shared);
        async move {
            let reached = |p: &Progress| p.failed || lsn <= if durable { p.durable } else { p.acknowledged };
            let seen = progress
                .wait_for(reached)
                .await
                .map(|p| *p)
                .unwrap_or(Progress { failed: true, ..Progress::default() });
            // Asked for durability, a failed log answers no: it may not have synced what it
            // says, and nothing should be built on it (a snapshot above all).
            if seen.failed && (durable || lsn > seen.acknowledged) {
                return Err(LogFailure { reason: shared.failure.get().cloned().unwrap_or_else(|| stopped().reason) });
            }
            Ok(())
        }
    }

    /// Deletes the segments whose records all lie below `below` (a snapshot covers them);
    /// answers how many went. The newest segment always stays.
    pub fn retain_from(&self, below: Lsn) -> Result<oneshot::Receiver<Result<usize, String>>, AppendError> {
        let (ack, answer) = oneshot::channel();
        self.send(Request::Retain { below, ack })?;
        Ok(answer)
    }

    /// Sends a request. The queue itself is unbounded: appends are bounded by slots, and
    /// the other requests are rare and small.
    fn send(&self, request: Request) -> Result<(), AppendError> {
        if let Some(reason) = self.shared.failure.get() {
            return Err(AppendError::Stopped { reason: reason.clone() });
        }
        self.queue.send(request).map_err(|_| AppendError::Stopped {
            reason: self.shared.failure.get().cloned().unwrap_or_else(|| CLOSED.to_owned()),
        })
    }

    /// Stops the log from outside the writer: every later append is refused, and the
    /// node's watch stops the node. For a change applied whose record could not be queued.
    pub fn stop(&self, reason: String) {
        tracing::error!(%reason, "log: stopped by its user; the node must restart and recover");
        self.shared.record_failure(reason);
    }

    /// Why the log stopped, if it did.
    pub fn failure(&self) -> Option<String> {
        self.shared.failure.get().cloned()
    }

    /// Records waiting for the writer (slots taken included).
    pub fn queue_depth(&self) -> usize {
        self.shared.queued.load(Ordering::Acquire)
    }
}

/// A place in the log's queue, taken by [`LogHandle::slot`].
pub struct Slot {
    log: LogHandle,
    taken: bool,
}

impl Slot {
    /// Appends a record in the place taken. Refused only when the record is too large or
    /// the log has stopped.
    pub fn append(mut self, kind: u8, payload: Vec<u8>) -> Result<Receipt, AppendError> {
        if payload.len() > RECORD_PAYLOAD_BYTES_MAX {
            return Err(AppendError::TooLarge { len: payload.len() });
        }
        let (ack, receipt) = oneshot::channel();
        let shared = Arc::clone(&self.log.shared);
        let mut next = shared.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let lsn = *next;
        let Some(after) = lsn.checked_add(1) else {
            return Err(AppendError::Stopped { reason: "the log has run out of record numbers".to_owned() });
        };
        self.log.send(Request::Append { lsn, kind, payload, ack, queued_at: Instant::now() })?;
        // The writer gives the place back when it takes the record.
        self.taken = false;
        *next = after;
        Ok(Receipt(receipt, lsn))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.taken {
            self.log.shared.queued.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// The log: its handle and its writer thread. Dropping it (or [`Log::close`]) lets the
/// writer finish what is queued, sync and stop.
pub struct Log {
    handle: Option<LogHandle>,
    writer: Option<JoinHandle<()>>,
}

impl Log {
    /// Recovers the log in `options.dir` (see [`recover`]), handing every record after
    /// `after` to `visit`, then starts the writer on a fresh segment.
    pub fn open(
        storage: Arc<dyn Storage>,
        options: LogOptions,
        after: Lsn,
        visit: impl FnMut(Replayed<'_>) -> Result<(), PersistenceError>,
    ) -> Result<(Log, Recovered), PersistenceError> {
        let started = Instant::now();
        let recovered = recover(storage.as_ref(), &options.dir, after, visit)?;
        metrics::histogram!("mercato_log_recovery_seconds").record(started.elapsed().as_secs_f64());
        metrics::counter!("mercato_log_records_replayed_total").increment(recovered.records_replayed);
        if let Some(tail) = &recovered.truncated {
            metrics::counter!("mercato_log_tails_truncated_total").increment(1);
            tracing::warn!(segment = %tail.segment, offset = tail.offset, bytes = tail.bytes, "log: cut off a torn tail");
        }
        let next = recovered.next_lsn;
        let shared = Arc::new(Shared {
            failure: OnceLock::new(),
            capacity: options.queue_capacity,
            next: Mutex::new(next),
            queued: AtomicUsize::new(0),
            progress: watch::Sender::new(Progress { acknowledged: next - 1, durable: next - 1, failed: false }),
        });
        let mut segments: VecDeque<Lsn> = recovered.segments.iter().copied().collect();
        spare::remove_leftover(storage.as_ref(), &options.dir);
        let (file, allocated) = start_segment(storage.as_ref(), &options, next)?;
        segments.push_back(next);
        let (queue, requests) = crossbeam_channel::unbounded();
        let thread_start = options.thread_start;
        let writer = Writer {
            storage,
            options,
            file,
            segment_len: segment::SEGMENT_HEADER_BYTES as u64,
            allocated,
            segments,
            next_lsn: next,
            synced_lsn: next - 1,
            written_lsn: next - 1,
            last_sync: Instant::now(),
            last_batch: 0,
            last_sync_took: Duration::ZERO,
            tapped: Vec::new(),
            spare: None,
            shared: Arc::clone(&shared),
        };
        let watched = Arc::clone(&shared);
        let thread = std::thread::Builder::new().name("mercato-log".into()).spawn(move || {
            if let Some(start) = thread_start {
                start(LogThread::Writer);
            }
            // A panic in the writer is a failure like any other: later appends are refused
            // and the node's watch stops it.
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| writer.run(&requests)));
            if ran.is_err() {
                tracing::error!("log: the writer thread panicked; stopping");
                watched.record_failure("the log writer panicked".to_owned());
            }
        })?;
        Ok((Log { handle: Some(LogHandle { queue, shared }), writer: Some(thread) }, recovered))
    }

    pub fn handle(&self) -> LogHandle {
        self.handle.clone().expect("present until close")
    }

    /// Writes and syncs what is queued, stops the writer and waits for it. Appends after it
    /// are refused.
    pub fn close(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        if let Some(handle) = self.handle.take() {
            // The queue is unbounded: this never blocks; it fails only when the writer is gone.
            let _ = handle.queue.send(Request::Close);
        }
        if let Some(writer) = self.writer.take() {
            if writer.join().is_err() {
                tracing::error!("log: the writer thread panicked");
            }
        }
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        self.shut();
    }
}
