//! One subscription's dispatcher. Events of its types are read after its cursor into a
//! lane per aggregate; each lane sends its first event and nothing after it until that one
//! is delivered or given up (order per aggregate), lanes run in parallel. Only a lane's
//! first event is held in memory, the rest are positions, so one receiver failing one
//! aggregate for days holds up neither the other aggregates nor memory. Where delivery
//! stands (the position read, the events pending) is written after changes, at most every
//! `CURSOR_SAVE_EVERY`: a crash sends again what was pending or delivered in that moment.
//! New events come from the shared feed (`feed.rs`); a dispatcher reads the store itself
//! only to catch up (at start, after lagging or with its window full).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mercato_persistence::events::{EventStore, Position, Table};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, Semaphore};
use tokio::task::JoinSet;

use super::feed::{Batch, Fed, Feed, READ_EVENTS};
use super::subscription::{self, Cursor, Subscription};
use super::{hook_key, DeliveryOptions};
use crate::events::envelope::{Envelope, EventPosition};

/// How often at most a dispatcher writes its cursor when its pending events changed, and
/// when it only read past events it does not want (read past again after a crash).
const CURSOR_SAVE_EVERY: Duration = Duration::from_millis(200);
const CURSOR_MOVE_SAVE_EVERY: Duration = Duration::from_secs(5);
/// Events a dispatcher looks at at most per read of the store.
const READ_BUDGET: usize = 10_000;
/// How often at most a dispatcher deletes its log's old attempts, and how many at a time.
const PRUNE_EVERY: Duration = Duration::from_secs(10);
const PRUNE_ROWS_MAX: usize = 50_000;
/// How long a dispatcher waits before reading its cursor again after the store failed.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// What a dispatcher shares with the others.
#[derive(Clone)]
pub struct Context {
    pub store: Arc<EventStore>,
    pub feed: Feed,
    pub client: reqwest::Client,
    pub permits: Arc<Semaphore>,
    pub options: DeliveryOptions,
    /// The node's SMTP connection, for notification rules by e-mail.
    pub mailer: Option<super::notify::Mailer>,
}

/// An attempt as the delivery log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub number: u64,
    pub event: String,
    pub position: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The event's attempt this was (1 for the first).
    pub attempt: u32,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub took_ms: u64,
    /// `delivered`, `retrying`, `given_up`, `disabled` (410) or `redelivered`/`failed`
    /// for a manual redelivery.
    pub outcome: String,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}

/// An attempt's number in the delivery log: microseconds since the epoch, made strictly
/// increasing within the process, so attempts list in the order they were made and a
/// manual redelivery never takes a dispatcher's number.
fn attempt_number() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now =
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let number = now.max(last.saturating_add(1));
        match LAST.compare_exchange_weak(last, number, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return number,
            Err(seen) => last = seen,
        }
    }
}

/// An event about to be sent.
struct Held {
    id: String,
    kind: String,
    json: Arc<Vec<u8>>,
    attempts: u32,
    first_at: Option<Instant>,
    due: Instant,
    in_flight: bool,
}

impl Held {
    fn new(fed: &Fed) -> Held {
        Held {
            id: fed.id.clone(),
            kind: fed.kind.clone(),
            json: Arc::clone(&fed.json),
            attempts: 0,
            first_at: None,
            due: Instant::now(),
            in_flight: false,
        }
    }

    /// The event stored at a position, read: its aggregate and the event.
    fn read(position: Position, bytes: &[u8]) -> Option<(String, Held)> {
        let fed = Fed::parse(position, bytes)?;
        let held = Held::new(&fed);
        Some((fed.aggregate, held))
    }
}

/// One aggregate's events to send: the first held, the rest as positions.
#[derive(Default)]
struct Lane {
    queue: VecDeque<Position>,
    head: Option<Held>,
}

/// What one call gave.
struct Called {
    aggregate: String,
    position: Position,
    status: Option<u16>,
    error: Option<String>,
    took: Duration,
    at: i64,
}

struct Dispatcher {
    context: Context,
    hook: Subscription,
    cursor: Cursor,
    lanes: HashMap<String, Lane>,
    pending: BTreeSet<Position>,
    /// The last position read (from the store or the feed).
    read: Position,
    /// Whether it must read the store to catch up before it takes the feed's batches.
    behind: bool,
    saved_at: Instant,
    /// The pending events changed since the cursor was saved; or only `read` moved.
    dirty: bool,
    moved: bool,
    /// When the delivery log was last pruned.
    pruned_at: Option<Instant>,
}

/// Runs a subscription's dispatcher until its task is aborted (the subscription changed,
/// was disabled or deleted: the calls it has in flight are aborted with it) or a 410
/// disables it.
pub async fn run(context: Context, hook: Subscription) {
    let cursor = loop {
        match subscription::cursor(&context.store, &hook.commerce, &hook.id) {
            Ok(Some(cursor)) => break cursor,
            Ok(None) => return,
            Err(error) => {
                tracing::error!(%error, webhook = %hook.id, "webhooks: the cursor could not be read; retrying");
                tokio::time::sleep(STORE_RETRY).await;
            }
        }
    };
    let read = cursor.after();
    let mut dispatcher = Dispatcher {
        context,
        hook,
        cursor,
        lanes: HashMap::new(),
        pending: BTreeSet::new(),
        read,
        behind: true,
        saved_at: Instant::now(),
        dirty: false,
        moved: false,
        pruned_at: None,
    };
    // Listening before the first read of the store: nothing falls between the two.
    let mut feed = dispatcher.context.feed.subscribe(&dispatcher.hook.commerce);
    dispatcher.reload();
    let mut calls: JoinSet<Called> = JoinSet::new();
    loop {
        let more = dispatcher.behind && dispatcher.fill();
        let wake = dispatcher.start_due(&mut calls);
        if more {
            tokio::task::yield_now().await;
            continue;
        }
        let until = [wake, dispatcher.save_at(), dispatcher.behind.then(|| Instant::now() + STORE_RETRY)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            biased;
            Some(Ok(called)) = calls.join_next(), if !calls.is_empty() => {
                if !dispatcher.settle(called) {
                    return;
                }
            }
            batch = feed.recv() => match batch {
                Ok(batch) => dispatcher.take(&batch),
                Err(broadcast::error::RecvError::Lagged(_)) => dispatcher.behind = true,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            () = tokio::time::sleep_until(until.into()) => {}
        }
        if dispatcher.save_at().is_some_and(|at| at <= Instant::now()) {
            dispatcher.save_cursor();
        }
        dispatcher.prune_log();
    }
}

impl Dispatcher {
    /// Puts an event in its aggregate's lane (held when it is the lane's first).
    fn enqueue(&mut self, position: Position, aggregate: String, held: Option<Held>) {
        let lane = self.lanes.entry(aggregate).or_default();
        if lane.head.is_none() && lane.queue.is_empty() {
            lane.head = held;
        }
        lane.queue.push_back(position);
        self.pending.insert(position);
        self.dirty = true;
    }

    /// The events pending at the last save, back in their lanes (a restart).
    fn reload(&mut self) {
        let pending: Vec<(u64, u16)> = self.cursor.pending.clone();
        for (lsn, index) in pending {
            let position = Position { lsn, index };
            let Ok(Some(bytes)) = self.context.store.get(&self.hook.commerce, position) else { continue };
            let Some((aggregate, held)) = Held::read(position, &bytes) else { continue };
            self.enqueue(position, aggregate, Some(held));
        }
    }

    /// When the cursor is next due to be written, if it must be.
    fn save_at(&self) -> Option<Instant> {
        if self.dirty {
            Some(self.saved_at + CURSOR_SAVE_EVERY)
        } else {
            self.moved.then(|| self.saved_at + CURSOR_MOVE_SAVE_EVERY)
        }
    }

    /// Reads the store's next events of its types into their lanes, up to the pending
    /// bound; answers whether it read anything (then it reads again at once: the read may
    /// have stopped at its budget). Once a read finds nothing more, it is no longer behind.
    fn fill(&mut self) -> bool {
        let room = self.context.options.window.saturating_sub(self.pending.len()).min(READ_EVENTS);
        if room == 0 {
            return false;
        }
        let hook = &self.hook;
        let read = self.context.store.read(&hook.commerce, self.read, room, READ_BUDGET, |bytes| {
            Envelope::parse(bytes).is_some_and(|e| hook.wants(e.kind))
        });
        let Ok((events, last)) = read else { return false };
        let Some(last) = last else {
            self.behind = false;
            return false;
        };
        for event in events {
            if let Some((aggregate, held)) = Held::read(event.position, &event.bytes) {
                self.enqueue(event.position, aggregate, Some(held));
            }
        }
        self.read = last;
        self.moved = true;
        // Something was read: the next read says whether more is there.
        true
    }

    /// Takes the feed's batch when it follows on from where the dispatcher stands;
    /// otherwise, or when its window fills, the dispatcher is behind and reads the store.
    fn take(&mut self, batch: &Batch) {
        if self.behind || batch.last <= self.read {
            return;
        }
        if batch.after > self.read {
            self.behind = true;
            return;
        }
        self.moved = true;
        let from = self.read;
        for fed in batch.events.iter().filter(|fed| fed.position > from) {
            if self.hook.wants(&fed.kind) {
                if self.pending.len() >= self.context.options.window {
                    self.behind = true;
                    return;
                }
                self.enqueue(fed.position, fed.aggregate.clone(), Some(Held::new(fed)));
            }
            self.read = fed.position;
        }
        self.read = batch.last;
    }

    /// Starts a call for each lane's first event that is due and not in flight; answers
    /// when the next retry falls due.
    fn start_due(&mut self, calls: &mut JoinSet<Called>) -> Option<Instant> {
        let now = Instant::now();
        let mut wake: Option<Instant> = None;
        for (aggregate, lane) in &mut self.lanes {
            let (Some(held), Some(&position)) = (lane.head.as_mut(), lane.queue.front()) else { continue };
            if held.in_flight {
                continue;
            }
            if held.due > now {
                wake = Some(wake.map_or(held.due, |w| w.min(held.due)));
                continue;
            }
            held.in_flight = true;
            held.attempts += 1;
            held.first_at.get_or_insert(now);
            let call = call(self.context.clone(), self.hook.clone(), held.id.clone(), Arc::clone(&held.json));
            let aggregate = aggregate.clone();
            calls.spawn(async move {
                let (status, error, took, at) = call.await;
                Called { aggregate, position, status, error, took, at }
            });
        }
        wake
    }

    /// Takes a call's outcome: delivered, retried later, given up, or the subscription
    /// disabled (410: answers false, the dispatcher ends).
    fn settle(&mut self, called: Called) -> bool {
        let Some(lane) = self.lanes.get_mut(&called.aggregate) else { return true };
        let Some(held) = lane.head.as_mut() else { return true };
        held.in_flight = false;
        let options = self.context.options;
        let outcome = match called.status {
            Some(200..=299) => "delivered",
            Some(410) => "disabled",
            _ if held.first_at.is_some_and(|first| first.elapsed() >= options.retry_for) => "given_up",
            _ => "retrying",
        };
        let attempt = Attempt {
            number: attempt_number(),
            event: held.id.clone(),
            position: EventPosition(called.position).to_string(),
            kind: held.kind.clone(),
            attempt: held.attempts,
            at: called.at,
            status: called.status,
            error: called.error,
            took_ms: u64::try_from(called.took.as_millis()).unwrap_or(u64::MAX),
            outcome: outcome.to_owned(),
        };
        self.cursor.attempts += 1;
        self.dirty = true;
        log_attempt(&self.context.store, &self.hook, &attempt);
        metrics::counter!("mercato_webhook_attempts_total", "outcome" => outcome).increment(1);
        match outcome {
            "retrying" => held.due = Instant::now() + backoff(&options, held.attempts, called.position),
            "disabled" => {
                super::disable(&self.context.store, &self.hook, "the receiver answered 410 Gone");
                self.save_cursor();
                return false;
            }
            _ => {
                if outcome == "delivered" {
                    self.cursor.delivered += 1;
                } else {
                    self.cursor.given_up += 1;
                }
                self.next_in_lane(&called.aggregate);
            }
        }
        true
    }

    /// A lane's first event is done: the next one is read and held, or the lane goes.
    fn next_in_lane(&mut self, aggregate: &str) {
        let Some(lane) = self.lanes.get_mut(aggregate) else { return };
        if let Some(done) = lane.queue.pop_front() {
            self.pending.remove(&done);
        }
        lane.head = None;
        while let Some(&next) = lane.queue.front() {
            let read = self.context.store.get(&self.hook.commerce, next).ok().flatten();
            if let Some((_, held)) = read.as_deref().and_then(|bytes| Held::read(next, bytes)) {
                lane.head = Some(held);
                break;
            }
            // An event that no longer reads (older than the store keeps events, which is
            // never shorter than the retries, or a damaged store) is passed over.
            metrics::counter!("mercato_webhook_events_passed_over_total").increment(1);
            tracing::warn!(webhook = %self.hook.id, lsn = next.lsn, index = next.index, "webhooks: a queued event is gone from the store; passed over");
            lane.queue.pop_front();
            self.pending.remove(&next);
        }
        if lane.queue.is_empty() {
            self.lanes.remove(aggregate);
        }
    }

    /// Drops the delivery log's attempts older than it keeps them, at most every
    /// `PRUNE_EVERY` (or half the time kept, when shorter) and `PRUNE_ROWS_MAX` rows a time.
    fn prune_log(&mut self) {
        let kept_for = self.context.options.log_kept_for;
        let every = PRUNE_EVERY.min(kept_for / 2);
        if self.pruned_at.is_some_and(|at| at.elapsed() < every) {
            return;
        }
        self.pruned_at = Some(Instant::now());
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let cutoff = u64::try_from(now.saturating_sub(kept_for).as_micros()).unwrap_or(u64::MAX);
        let mut prefix = hook_key(&self.hook.commerce, &self.hook.id);
        prefix.push(0x1f);
        let mut below = prefix.clone();
        below.extend_from_slice(&cutoff.to_be_bytes());
        if let Err(error) = self.context.store.remove_before(Table::Attempts, &prefix, &below, PRUNE_ROWS_MAX) {
            tracing::error!(%error, webhook = %self.hook.id, "webhooks: old attempts could not be deleted");
        }
    }

    fn save_cursor(&mut self) {
        self.cursor.after = (self.read.lsn, self.read.index);
        self.cursor.pending = self.pending.iter().map(|p| (p.lsn, p.index)).collect();
        let bytes = serde_json::to_vec(&self.cursor).unwrap_or_default();
        let key = hook_key(&self.hook.commerce, &self.hook.id);
        match self.context.store.put(Table::Cursors, &key, &bytes) {
            Ok(()) => {
                self.dirty = false;
                self.moved = false;
                self.saved_at = Instant::now();
            }
            Err(error) => tracing::error!(%error, "webhooks: a cursor could not be written; retrying"),
        }
    }
}

/// The delay before an event's next attempt: the base doubled per attempt made, at most
/// the maximum, spread by ±20% (from the event's position and attempt, so retries of many
/// events do not fall due together).
fn backoff(options: &DeliveryOptions, attempts: u32, position: Position) -> Duration {
    let doubled = options.retry_base.saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
    let delay = doubled.min(options.retry_delay_max);
    let mut spread = position.lsn ^ (u64::from(position.index) << 48) ^ (u64::from(attempts) << 32);
    spread = spread.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54; // 0..1023
    let per_mille = 800 + spread * 400 / 1023; // 800..1200
    delay.mul_f64(per_mille as f64 / 1000.0)
}

fn log_attempt(store: &EventStore, hook: &Subscription, attempt: &Attempt) {
    let mut key = hook_key(&hook.commerce, &hook.id);
    key.push(0x1f);
    key.extend_from_slice(&attempt.number.to_be_bytes());
    let bytes = serde_json::to_vec(attempt).unwrap_or_default();
    if let Err(error) = store.put(Table::Attempts, &key, &bytes) {
        tracing::error!(%error, "webhooks: an attempt could not be logged");
    }
}

/// One signed call: the status (none when no answer came), the error, how long it took
/// and when it was made.
async fn call(
    context: Context,
    hook: Subscription,
    id: String,
    json: Arc<Vec<u8>>,
) -> (Option<u16>, Option<String>, Duration, i64) {
    let Ok(_permit) = context.permits.acquire().await else {
        return (None, Some("the node is stopping".into()), Duration::ZERO, now_ms());
    };
    let at = now_ms();
    let json = match &hook.notify {
        None => json,
        Some(notify) => {
            let started = Instant::now();
            let event: serde_json::Value = serde_json::from_slice(&json).unwrap_or_default();
            let body = match notify.channel {
                super::notify::Channel::Webhook => super::notify::chat_body(notify, &event),
                super::notify::Channel::Email => {
                    let Some(mailer) = context.mailer.as_ref() else {
                        return (None, Some("the node sends no e-mail (no --smtp-url)".into()), Duration::ZERO, at);
                    };
                    let sent = tokio::time::timeout(context.options.timeout, mailer.send(notify, &event)).await;
                    let outcome = sent.unwrap_or_else(|_| Err("smtp: timed out".into()));
                    return match outcome {
                        Ok(code) => (Some(code), None, started.elapsed(), at),
                        Err(error) => (None, Some(error), started.elapsed(), at),
                    };
                }
            };
            match body {
                Ok(body) => Arc::new(body),
                Err(error) => return (None, Some(error), started.elapsed(), at),
            }
        }
    };
    let timestamp = at / 1000;
    let signatures: Vec<String> = hook
        .signing(at)
        .into_iter()
        .filter_map(|secret| standardwebhooks::Webhook::new(secret).ok()?.sign(&id, timestamp, &json).ok())
        .collect();
    let started = Instant::now();
    let sent = context
        .client
        .post(&hook.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signatures.join(" "))
        .body(json.as_ref().clone())
        .send()
        .await;
    let took = started.elapsed();
    match sent {
        Ok(response) => (Some(response.status().as_u16()), None, took, at),
        Err(error) => {
            let kind = if error.is_timeout() {
                "timed out"
            } else if error.is_connect() {
                "could not connect"
            } else {
                "failed"
            };
            (None, Some(format!("{kind}: {error}")), took, at)
        }
    }
}

/// Sends one event to a subscription once more, outside its order; the attempt is logged.
pub async fn redeliver(context: Context, hook: Subscription, position: Position) {
    let Ok(Some(bytes)) = context.store.get(&hook.commerce, position) else { return };
    let Some(envelope) = Envelope::parse(&bytes) else { return };
    let id = format!("{}:{}", hook.commerce, EventPosition(position));
    let kind = envelope.kind.to_owned();
    let json = Arc::new(envelope.json.to_vec());
    let (status, error, took, at) = call(context.clone(), hook.clone(), id.clone(), json).await;
    let delivered = matches!(status, Some(200..=299));
    let attempt = Attempt {
        number: attempt_number(),
        event: id,
        position: EventPosition(position).to_string(),
        kind,
        attempt: 1,
        at,
        status,
        error,
        took_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        outcome: if delivered { "redelivered" } else { "failed" }.to_owned(),
    };
    log_attempt(&context.store, &hook, &attempt);
}

#[cfg(test)]
#[path = "dispatch_tests.rs"]
mod tests;
