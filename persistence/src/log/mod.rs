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
mod segment;

use std::collections::VecDeque;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use tokio::sync::{oneshot, watch};

pub use recovery::{recover, Recovered, TruncatedTail};
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
}

impl LogOptions {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), segment_bytes: 64 * 1024 * 1024, mode: SyncMode::Sync, queue_capacity: 65_536 }
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
    },
    /// Delete segments whose records are all below `below`.
    Retain {
        below: Lsn,
        ack: oneshot::Sender<Result<usize, String>>,
    },
    /// Make everything written so far durable, then answer (any mode).
    Sync {
        ack: oneshot::Sender<Result<Lsn, LogFailure>>,
    },
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
        self.log.send(Request::Append { lsn, kind, payload, ack })?;
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
        visit: impl FnMut(Lsn, u8, &[u8]) -> Result<(), PersistenceError>,
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
        let (file, allocated) = start_segment(storage.as_ref(), &options, next)?;
        segments.push_back(next);
        let (queue, requests) = crossbeam_channel::unbounded();
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
            shared: Arc::clone(&shared),
        };
        let watched = Arc::clone(&shared);
        let thread = std::thread::Builder::new().name("mercato-log".into()).spawn(move || {
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

/// Creates segment `first`: header written and synced, its name made durable, then the
/// first preallocation step zeroed (after the header is durable, so a crash while zeroing
/// leaves a valid header and zeros: an empty segment). Returns the file and its length.
fn start_segment(
    storage: &dyn Storage,
    options: &LogOptions,
    first: Lsn,
) -> Result<(Box<dyn AppendFile>, u64), PersistenceError> {
    let mut file = storage.create(&options.dir, &segment_name(first))?;
    file.write_all(&segment_header(first))?;
    file.sync_data()?;
    storage.sync_dir(&options.dir)?;
    let header = segment::SEGMENT_HEADER_BYTES as u64;
    let allocated = preallocation(header, header, options.segment_bytes);
    // A file that could not be zeroed refuses every later write: the start (or the
    // rotation, which stops the log) fails here instead.
    file.preallocate(allocated)?;
    Ok((file, allocated))
}

/// How long a segment should be made before `needed` bytes of it are written, given that
/// `allocated` bytes are: unchanged while a quarter step is left ahead, else a step past
/// what is needed, but never past `segment_bytes` (a batch that crosses it grows the file).
fn preallocation(allocated: u64, needed: u64, segment_bytes: u64) -> u64 {
    if needed.saturating_add(LOG_PREALLOCATE_STEP / 4) <= allocated || allocated >= segment_bytes {
        return allocated;
    }
    // Here `allocated < segment_bytes`, so the result never shrinks.
    allocated.max(needed).saturating_add(LOG_PREALLOCATE_STEP).min(segment_bytes)
}

struct Writer {
    storage: Arc<dyn Storage>,
    options: LogOptions,
    file: Box<dyn AppendFile>,
    segment_len: u64,
    /// How long the segment was made with zeros ahead of its records.
    allocated: u64,
    /// First LSNs of the segments on disk, oldest first; the last is being written.
    segments: VecDeque<Lsn>,
    next_lsn: Lsn,
    synced_lsn: Lsn,
    written_lsn: Lsn,
    last_sync: Instant,
    /// Requests in the last batch.
    last_batch: usize,
    /// How long the last `fdatasync` took.
    last_sync_took: Duration,
    shared: Arc<Shared>,
}

type Ack = oneshot::Sender<Result<Lsn, LogFailure>>;

impl Writer {
    fn run(mut self, requests: &Receiver<Request>) {
        let mut batch: Vec<Request> = Vec::new();
        let mut frames: Vec<u8> = Vec::new();
        loop {
            let first = match self.options.mode {
                SyncMode::Sync => requests.recv().ok(),
                SyncMode::Async { interval } => {
                    let interval = interval.max(LOG_ASYNC_INTERVAL_MIN);
                    match requests.recv_timeout(interval.saturating_sub(self.last_sync.elapsed())) {
                        Ok(request) => Some(request),
                        Err(RecvTimeoutError::Timeout) => {
                            if let Err(reason) = self.sync() {
                                return self.fail(reason, Vec::new(), requests);
                            }
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => None,
                    }
                }
            };
            let Some(first) = first else {
                // Every handle is gone: make what was written durable and stop.
                self.finish(requests);
                return;
            };
            let mut closing = matches!(first, Request::Close);
            if !closing {
                batch.push(first);
            }
            let mut bytes = 0;
            // Under load (the last batch was large) the writers acknowledged together come
            // back together: gather them for a moment rather than sync a handful alone and
            // make the rest wait a whole extra sync.
            let gather = (self.last_batch >= LOG_GATHER_FROM_RECORDS)
                .then(|| Instant::now() + (self.last_sync_took / 2).min(LOG_GATHER_WAIT_MAX));
            while !closing && batch.len() < LOG_BATCH_RECORDS_MAX && bytes < LOG_BATCH_BYTES_MAX {
                let next = match requests.try_recv() {
                    Ok(request) => Some(request),
                    Err(_) => match gather {
                        Some(deadline) if batch.len() < self.last_batch => requests.recv_deadline(deadline).ok(),
                        _ => None,
                    },
                };
                match next {
                    Some(Request::Close) => closing = true,
                    Some(request) => {
                        if let Request::Append { payload, .. } = &request {
                            bytes += FRAME_HEADER_BYTES + payload.len();
                        }
                        batch.push(request);
                    }
                    None => break,
                }
            }
            self.last_batch = batch.len();
            if self.write_batch(&mut batch, &mut frames, requests).is_err() {
                return;
            }
            if closing {
                self.finish(requests);
                return;
            }
        }
    }

    /// A clean stop: sync what was written, then refuse everything after (waiters on
    /// records that will never be written learn it at once).
    fn finish(&mut self, requests: &Receiver<Request>) {
        match self.sync() {
            Ok(()) => {
                tracing::info!("log: closed, everything written is durable");
                self.refuse_after(CLOSED.to_owned(), Vec::new(), requests);
            }
            Err(reason) => self.fail(reason, Vec::new(), requests),
        }
    }

    /// Writes one batch, syncs it when the mode or a request asks, and answers it.
    fn write_batch(
        &mut self,
        batch: &mut Vec<Request>,
        frames: &mut Vec<u8>,
        requests: &Receiver<Request>,
    ) -> Result<(), Stopped> {
        frames.clear();
        let mut acks: Vec<(Ack, Lsn)> = Vec::new();
        let mut syncs: Vec<Ack> = Vec::new();
        let mut retains: Vec<(Lsn, oneshot::Sender<Result<usize, String>>)> = Vec::new();
        for request in batch.drain(..) {
            match request {
                Request::Append { lsn, kind, payload, ack } => {
                    self.shared.queued.fetch_sub(1, Ordering::AcqRel);
                    // LSNs are handed out in queue order under one lock.
                    debug_assert_eq!(lsn, self.next_lsn, "records arrive in LSN order");
                    encode_frame(frames, self.next_lsn, self.synced_lsn, kind, &payload);
                    acks.push((ack, self.next_lsn));
                    self.next_lsn += 1;
                }
                Request::Sync { ack } => syncs.push(ack),
                Request::Retain { below, ack } => retains.push((below, ack)),
                Request::Close => unreachable!("run cuts a batch at Close"),
            }
        }
        if !frames.is_empty() {
            let wanted =
                preallocation(self.allocated, self.segment_len + frames.len() as u64, self.options.segment_bytes);
            if wanted > self.allocated {
                // Zeroing syncs the file, and with it records written before (async mode):
                // after a failure those may be lost though a later sync succeeds. The log
                // stops, as after a failed sync.
                if let Err(error) = self.file.preallocate(wanted) {
                    let reason = format!("zeroing segment {} ahead: {error}", self.current_name());
                    self.fail(reason, acks.into_iter().map(|(ack, _)| ack).chain(syncs).collect(), requests);
                    return Err(Stopped);
                }
                self.allocated = wanted;
            }
            if let Err(error) = self.file.write_all(frames) {
                let reason = format!("writing {} bytes to segment {}: {error}", frames.len(), self.current_name());
                self.fail(reason, acks.into_iter().map(|(ack, _)| ack).chain(syncs).collect(), requests);
                return Err(Stopped);
            }
            self.segment_len += frames.len() as u64;
            self.written_lsn = self.next_lsn - 1;
            metrics::counter!("mercato_log_appends_total").increment(acks.len() as u64);
            metrics::counter!("mercato_log_bytes_total").increment(frames.len() as u64);
            metrics::histogram!("mercato_log_batch_records").record(acks.len() as f64);
        }
        // In async mode a busy queue never lets the writer's wait time out: the interval is
        // also kept here.
        let due = match self.options.mode {
            SyncMode::Sync => true,
            SyncMode::Async { interval } => self.last_sync.elapsed() >= interval.max(LOG_ASYNC_INTERVAL_MIN),
        };
        let sync_now = due || !syncs.is_empty();
        if sync_now {
            if let Err(reason) = self.sync() {
                self.fail(reason, acks.into_iter().map(|(ack, _)| ack).chain(syncs).collect(), requests);
                return Err(Stopped);
            }
        }
        let acknowledged = self.written_lsn;
        let durable = self.synced_lsn;
        self.shared.progress.send_modify(|p| {
            p.acknowledged = acknowledged;
            p.durable = durable;
        });
        for (ack, lsn) in acks {
            // A caller that stopped waiting is no error.
            let _ = ack.send(Ok(lsn));
        }
        for ack in syncs {
            let _ = ack.send(Ok(self.synced_lsn));
        }
        let holds_records = self.next_lsn > *self.segments.back().expect("the current segment is listed");
        if self.segment_len >= self.options.segment_bytes && holds_records {
            if let Err(reason) = self.rotate() {
                self.fail(reason, Vec::new(), requests);
                return Err(Stopped);
            }
        }
        for (below, ack) in retains {
            let _ = ack.send(self.retain(below));
        }
        Ok(())
    }

    fn current_name(&self) -> String {
        segment_name(*self.segments.back().expect("the current segment is listed"))
    }

    /// Makes everything written durable. The error is the reason the node stops.
    fn sync(&mut self) -> Result<(), String> {
        if self.written_lsn == self.synced_lsn {
            self.last_sync = Instant::now();
            return Ok(());
        }
        let started = Instant::now();
        self.file.sync_data().map_err(|error| format!("syncing segment {}: {error}", self.current_name()))?;
        self.last_sync_took = started.elapsed();
        metrics::histogram!("mercato_log_fsync_seconds").record(self.last_sync_took.as_secs_f64());
        self.synced_lsn = self.written_lsn;
        let durable = self.synced_lsn;
        self.shared.progress.send_modify(|p| p.durable = durable);
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Closes the full segment (synced) and starts the next.
    fn rotate(&mut self) -> Result<(), String> {
        self.sync()?;
        let (file, allocated) = start_segment(self.storage.as_ref(), &self.options, self.next_lsn)
            .map_err(|error| format!("starting segment {}: {error}", segment_name(self.next_lsn)))?;
        self.file = file;
        self.segments.push_back(self.next_lsn);
        self.segment_len = segment::SEGMENT_HEADER_BYTES as u64;
        self.allocated = allocated;
        Ok(())
    }

    /// Deletes segments wholly below `below`, oldest first. A failure is reported to the
    /// caller and leaves the rest in place for a later try; it does not stop the log.
    fn retain(&mut self, below: Lsn) -> Result<usize, String> {
        let mut removed = 0;
        while self.segments.len() > 1 && self.segments[1] <= below {
            let name = segment_name(self.segments[0]);
            self.storage.remove(&self.options.dir, &name).map_err(|error| format!("deleting {name}: {error}"))?;
            self.segments.pop_front();
            removed += 1;
        }
        if removed > 0 {
            self.storage.sync_dir(&self.options.dir).map_err(|error| format!("syncing the log folder: {error}"))?;
        }
        Ok(removed)
    }

    /// Stops the log: `pending` and everything still queued get the failure, later appends
    /// are refused.
    fn fail(&self, reason: String, pending: Vec<Ack>, requests: &Receiver<Request>) {
        if self.shared.failure.get().is_none() {
            tracing::error!(%reason, "log: stopping; the node must restart and recover");
        }
        self.refuse_after(reason, pending, requests);
    }

    /// Records the first reason the log stopped taking records (a failure, or a clean
    /// close) and answers everything pending and queued with it.
    fn refuse_after(&self, reason: String, pending: Vec<Ack>, requests: &Receiver<Request>) {
        let reason = match self.shared.failure.get() {
            Some(first) => first.clone(),
            None => {
                self.shared.record_failure(reason.clone());
                reason
            }
        };
        let failure = LogFailure { reason };
        for ack in pending {
            let _ = ack.send(Err(failure.clone()));
        }
        while let Ok(request) = requests.try_recv() {
            if let Request::Append { .. } = &request {
                self.shared.queued.fetch_sub(1, Ordering::AcqRel);
            }
            match request {
                Request::Append { ack, .. } | Request::Sync { ack } => {
                    let _ = ack.send(Err(failure.clone()));
                }
                Request::Retain { ack, .. } => {
                    let _ = ack.send(Err(failure.reason.clone()));
                }
                Request::Close => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: u64 = LOG_PREALLOCATE_STEP;
    const SEGMENT: u64 = 64 * 1024 * 1024;

    // Proves a segment is zeroed a step at a time once less than a quarter step is left
    // ahead of the records, by at least what a batch needs, and never past the segment size.
    #[test]
    fn segments_are_zeroed_a_step_ahead_up_to_their_size() {
        assert_eq!(preallocation(20, 20, SEGMENT), 20 + STEP, "a new segment gets a step");
        assert_eq!(preallocation(20 + STEP, STEP / 2, SEGMENT), 20 + STEP, "enough left ahead");
        assert_eq!(preallocation(20 + STEP, STEP, SEGMENT), 20 + 2 * STEP, "a quarter step left: one more");
        assert_eq!(preallocation(20 + STEP, 3 * STEP, SEGMENT), 4 * STEP, "a batch beyond: what it needs and a step");
        assert_eq!(preallocation(SEGMENT - 10, SEGMENT - 20, SEGMENT), SEGMENT, "capped at the segment size");
        assert_eq!(preallocation(SEGMENT, SEGMENT + 500, SEGMENT), SEGMENT, "a full segment is not grown");
        assert_eq!(preallocation(20, 20, 2_000), 2_000, "small segments are zeroed whole");
    }
}
