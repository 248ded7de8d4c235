//! The log's writer thread: it takes requests in order, writes each batch of records into
//! the current segment (zeroed a step ahead), syncs once per batch (group commit),
//! acknowledges, rotates and deletes segments; a failed write or sync stops the log.

use super::*;

/// Creates segment `first`: header written and synced, its name made durable, then the
/// first preallocation step zeroed (after the header is durable, so a crash while zeroing
/// leaves a valid header and zeros: an empty segment). Returns the file and its length.
pub(super) fn start_segment(
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
pub(super) fn preallocation(allocated: u64, needed: u64, segment_bytes: u64) -> u64 {
    if needed.saturating_add(LOG_PREALLOCATE_STEP / 4) <= allocated || allocated >= segment_bytes {
        return allocated;
    }
    // Here `allocated < segment_bytes`, so the result never shrinks.
    allocated.max(needed).saturating_add(LOG_PREALLOCATE_STEP).min(segment_bytes)
}

pub(super) struct Writer {
    pub(super) storage: Arc<dyn Storage>,
    pub(super) options: LogOptions,
    pub(super) file: Box<dyn AppendFile>,
    pub(super) segment_len: u64,
    /// How long the segment was made with zeros ahead of its records.
    pub(super) allocated: u64,
    /// First LSNs of the segments on disk, oldest first; the last is being written.
    pub(super) segments: VecDeque<Lsn>,
    pub(super) next_lsn: Lsn,
    pub(super) synced_lsn: Lsn,
    pub(super) written_lsn: Lsn,
    pub(super) last_sync: Instant,
    /// Requests in the last batch.
    pub(super) last_batch: usize,
    /// How long the last `fdatasync` took.
    pub(super) last_sync_took: Duration,
    /// Records written and not yet durable, for the tap (only when there is one).
    pub(super) tapped: Vec<Durable>,
    /// The next segment, being made ahead once this one needed zeroing.
    pub(super) spare: Option<spare::Spare>,
    pub(super) shared: Arc<Shared>,
}

pub(super) type Ack = oneshot::Sender<Result<Lsn, LogFailure>>;

impl Writer {
    pub(super) fn run(mut self, requests: &Receiver<Request>) {
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
    pub(super) fn finish(&mut self, requests: &Receiver<Request>) {
        match self.sync() {
            Ok(()) => {
                if let Some(spare) = self.spare.take() {
                    // Stopped (one made removes no file of its own): a clean stop leaves
                    // segments only.
                    drop(spare);
                    let _ = self.storage.remove(&self.options.dir, spare::SPARE_NAME);
                }
                tracing::info!("log: closed, everything written is durable");
                self.refuse_after(CLOSED.to_owned(), Vec::new(), requests);
            }
            Err(reason) => self.fail(reason, Vec::new(), requests),
        }
    }

    /// Writes one batch, syncs it when the mode or a request asks, and answers it.
    pub(super) fn write_batch(
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
                Request::Append { lsn, kind, payload, ack, queued_at } => {
                    if acks.is_empty() {
                        // The batch's oldest: what a stall of the writer (a long sync, a
                        // segment started) cost the records queued behind it.
                        metrics::histogram!("mercato_log_queue_seconds").record(queued_at.elapsed().as_secs_f64());
                    }
                    self.frame(frames, Durable { lsn, kind, payload });
                    acks.push((ack, lsn));
                }
                Request::Sync { ack } => syncs.push(ack),
                Request::Retain { below, ack } => retains.push((below, ack)),
                Request::Close => unreachable!("run cuts a batch at Close"),
            }
        }
        if !frames.is_empty() {
            if let Err(reason) = self.write_frames(frames, acks.len()) {
                self.fail(reason, acks.into_iter().map(|(ack, _)| ack).chain(syncs).collect(), requests);
                return Err(Stopped);
            }
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
        if self.rotation_due() {
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

    /// Whether the segment, holding records, is full, or short of zeros with a spare made
    /// ahead ready: it is started early then, rather than zeroing more of this one on the
    /// writer's thread.
    fn rotation_due(&mut self) -> bool {
        let holds_records = self.next_lsn > *self.segments.back().expect("the current segment is listed");
        let short_of_zeros = self.segment_len.saturating_add(LOG_PREALLOCATE_STEP / 2) > self.allocated
            && self.allocated < self.options.segment_bytes
            && self.spare.as_mut().is_some_and(spare::Spare::ready);
        (self.segment_len >= self.options.segment_bytes || short_of_zeros) && holds_records
    }

    /// Frames one record at the end of `frames` (and keeps it for the tap).
    fn frame(&mut self, frames: &mut Vec<u8>, record: Durable) {
        self.shared.queued.fetch_sub(1, Ordering::AcqRel);
        // LSNs are handed out in queue order under one lock.
        debug_assert_eq!(record.lsn, self.next_lsn, "records arrive in LSN order");
        encode_frame(frames, self.next_lsn, self.synced_lsn, record.kind, &record.payload);
        if self.options.tap.is_some() {
            self.tapped.push(record);
        }
        self.next_lsn += 1;
    }

    /// Writes a batch's frames (`records` of them) at the end of the current segment,
    /// zeroing it ahead first when it needs room. Zeroing syncs the file, and with it
    /// records written before (async mode): after a failure those may be lost though a
    /// later sync succeeds, so a failed zeroing stops the log as a failed sync does.
    fn write_frames(&mut self, frames: &[u8], records: usize) -> Result<(), String> {
        let wanted = preallocation(self.allocated, self.segment_len + frames.len() as u64, self.options.segment_bytes);
        if wanted > self.allocated {
            if self.spare.is_none() {
                self.spare = spare::Spare::start(Arc::clone(&self.storage), &self.options);
            }
            self.file
                .preallocate(wanted)
                .map_err(|error| format!("zeroing segment {} ahead: {error}", self.current_name()))?;
            self.allocated = wanted;
        }
        self.file
            .write_all(frames)
            .map_err(|error| format!("writing {} bytes to segment {}: {error}", frames.len(), self.current_name()))?;
        self.segment_len += frames.len() as u64;
        self.written_lsn = self.next_lsn - 1;
        metrics::counter!("mercato_log_appends_total").increment(records as u64);
        metrics::counter!("mercato_log_bytes_total").increment(frames.len() as u64);
        metrics::histogram!("mercato_log_batch_records").record(records as f64);
        Ok(())
    }

    pub(super) fn current_name(&self) -> String {
        segment_name(*self.segments.back().expect("the current segment is listed"))
    }

    /// Makes everything written durable. The error is the reason the node stops.
    pub(super) fn sync(&mut self) -> Result<(), String> {
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
        if let Some(tap) = &self.options.tap {
            if !self.tapped.is_empty() {
                // A receiver gone (the node stopping) is no failure of the log.
                let _ = tap.send(std::mem::take(&mut self.tapped));
            }
        }
        Ok(())
    }

    /// Closes the segment (synced; cut to its records when left early for a spare) and
    /// starts the next: the spare when made, else a new file zeroed a step ahead.
    pub(super) fn rotate(&mut self) -> Result<(), String> {
        self.sync()?;
        if self.allocated > self.segment_len {
            // Left early for a spare: its zeros are cut off, durably, before any record goes
            // to the next (recovery reads zeros as the log's end in the newest segment only).
            let name = self.current_name();
            self.storage
                .truncate(&self.options.dir, &name, self.segment_len)
                .map_err(|error| format!("cutting the zeros after segment {name}: {error}"))?;
        }
        // A spare not yet made is left to finish (for the segment after): never waited for.
        // One that failed is let go: the next segment may try again.
        let ready = self.spare.as_mut().is_some_and(spare::Spare::ready);
        if self.spare.as_ref().is_some_and(spare::Spare::failed) {
            self.spare = None;
        }
        let made = ready.then(|| self.spare.take()).flatten().and_then(spare::Spare::take);
        let adopted = made.is_some();
        let started = match made {
            Some(file) => spare::adopt(self.storage.as_ref(), &self.options, file, self.next_lsn),
            None => start_segment(self.storage.as_ref(), &self.options, self.next_lsn),
        };
        let (file, allocated) =
            started.map_err(|error| format!("starting segment {}: {error}", segment_name(self.next_lsn)))?;
        if adopted {
            // Made whole ahead: the one after it is made meanwhile.
            self.spare = spare::Spare::start(Arc::clone(&self.storage), &self.options);
        }
        self.file = file;
        self.segments.push_back(self.next_lsn);
        self.segment_len = segment::SEGMENT_HEADER_BYTES as u64;
        self.allocated = allocated;
        Ok(())
    }

    /// Deletes segments wholly below `below`, oldest first. A failure is reported to the
    /// caller and leaves the rest in place for a later try; it does not stop the log.
    pub(super) fn retain(&mut self, below: Lsn) -> Result<usize, String> {
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
    pub(super) fn fail(&self, reason: String, pending: Vec<Ack>, requests: &Receiver<Request>) {
        if self.shared.failure.get().is_none() {
            tracing::error!(%reason, "log: stopping; the node must restart and recover");
        }
        self.refuse_after(reason, pending, requests);
    }

    /// Records the first reason the log stopped taking records (a failure, or a clean
    /// close) and answers everything pending and queued with it.
    pub(super) fn refuse_after(&self, reason: String, pending: Vec<Ack>, requests: &Receiver<Request>) {
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
    pub(super) fn segments_are_zeroed_a_step_ahead_up_to_their_size() {
        assert_eq!(preallocation(20, 20, SEGMENT), 20 + STEP, "a new segment gets a step");
        assert_eq!(preallocation(20 + STEP, STEP / 2, SEGMENT), 20 + STEP, "enough left ahead");
        assert_eq!(preallocation(20 + STEP, STEP, SEGMENT), 20 + 2 * STEP, "a quarter step left: one more");
        assert_eq!(preallocation(20 + STEP, 3 * STEP, SEGMENT), 4 * STEP, "a batch beyond: what it needs and a step");
        assert_eq!(preallocation(SEGMENT - 10, SEGMENT - 20, SEGMENT), SEGMENT, "capped at the segment size");
        assert_eq!(preallocation(SEGMENT, SEGMENT + 500, SEGMENT), SEGMENT, "a full segment is not grown");
        assert_eq!(preallocation(20, 20, 2_000), 2_000, "small segments are zeroed whole");
    }
}
