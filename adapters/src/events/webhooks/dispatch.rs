//! One subscription's dispatcher. Events of its types are read after its cursor into a
//! lane per aggregate; each lane sends its first event and nothing after it until that one
//! is delivered or given up (order per aggregate), lanes run in parallel. Only a lane's
//! first event is held in memory, the rest are positions, so one receiver failing one
//! aggregate for days holds up neither the other aggregates nor memory. Where delivery
//! stands (the position read, the events pending) is written after changes, at most every
//! `CURSOR_SAVE_EVERY`: a crash sends again what was pending or delivered in that moment.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mercato_persistence::events::{EventStore, Position, Table};
use mercato_persistence::log::Lsn;
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use super::subscription::{self, Cursor, Subscription};
use super::{hook_key, DeliveryOptions};
use crate::events::envelope::{Envelope, EventPosition};

/// How often at most a dispatcher writes its cursor.
const CURSOR_SAVE_EVERY: Duration = Duration::from_millis(200);
/// Events a dispatcher reads from the store at a time, and looks at at most per read.
const READ_EVENTS: usize = 1_000;
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
    pub head: watch::Receiver<Lsn>,
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
    /// The event stored at a position, read: its aggregate and the event.
    fn read(bytes: &[u8]) -> Option<(String, Held)> {
        let envelope = Envelope::parse(bytes)?;
        let parsed: serde_json::Value = serde_json::from_slice(envelope.json).ok()?;
        let aggregate = format!("{}/{}", parsed["aggregate"]["type"], parsed["aggregate"]["id"]);
        let held = Held {
            id: parsed["id"].as_str().unwrap_or_default().to_owned(),
            kind: envelope.kind.to_owned(),
            json: Arc::new(envelope.json.to_vec()),
            attempts: 0,
            first_at: None,
            due: Instant::now(),
            in_flight: false,
        };
        Some((aggregate, held))
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
    /// The last position read from the store.
    read: Position,
    saved_at: Instant,
    dirty: bool,
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
        saved_at: Instant::now(),
        dirty: false,
        pruned_at: None,
    };
    dispatcher.reload();
    let mut calls: JoinSet<Called> = JoinSet::new();
    let mut head = dispatcher.context.head.clone();
    loop {
        head.borrow_and_update();
        let more = dispatcher.fill();
        let wake = dispatcher.start_due(&mut calls);
        if more {
            tokio::task::yield_now().await;
            continue;
        }
        let save_at = dispatcher.dirty.then(|| dispatcher.saved_at + CURSOR_SAVE_EVERY);
        let until =
            [wake, save_at].into_iter().flatten().min().unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            biased;
            Some(Ok(called)) = calls.join_next(), if !calls.is_empty() => {
                if !dispatcher.settle(called) {
                    return;
                }
            }
            changed = head.changed() => if changed.is_err() { return },
            () = tokio::time::sleep_until(until.into()) => {}
        }
        if dispatcher.dirty && dispatcher.saved_at.elapsed() >= CURSOR_SAVE_EVERY {
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
    }

    /// The events pending at the last save, back in their lanes (a restart).
    fn reload(&mut self) {
        let pending: Vec<(u64, u16)> = self.cursor.pending.clone();
        for (lsn, index) in pending {
            let position = Position { lsn, index };
            let Ok(Some(bytes)) = self.context.store.get(&self.hook.commerce, position) else { continue };
            let Some((aggregate, held)) = Held::read(&bytes) else { continue };
            self.enqueue(position, aggregate, Some(held));
        }
    }

    /// Reads the next events of its types into their lanes, up to the pending bound;
    /// answers whether it read anything (then it reads again at once: the read may have
    /// stopped at its budget).
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
        let Some(last) = last else { return false };
        for event in events {
            if let Some((aggregate, held)) = Held::read(&event.bytes) {
                self.enqueue(event.position, aggregate, Some(held));
            }
        }
        self.read = last;
        self.dirty = true;
        // Something was read: the next read says whether more is there.
        true
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
            if let Some((_, held)) = read.as_deref().and_then(Held::read) {
                lane.head = Some(held);
                break;
            }
            // An event that no longer reads (a damaged store) is passed over.
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
