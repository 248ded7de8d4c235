//! One subscription's dispatcher: a window of events read after its cursor, each
//! aggregate's earliest one in flight at a time, retried with backoff and jitter until it
//! is delivered or given up, the cursor written after each outcome, every attempt logged.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mercato_persistence::events::{EventStore, Position, Table};
use mercato_persistence::log::Lsn;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch, Semaphore};

use super::subscription::{self, Cursor, Subscription};
use super::{hook_key, DeliveryOptions};
use crate::events::envelope::{Envelope, EventPosition};

/// What a dispatcher shares with the others.
#[derive(Clone)]
pub struct Context {
    pub store: Arc<EventStore>,
    pub head: watch::Receiver<Lsn>,
    pub client: reqwest::Client,
    pub permits: Arc<Semaphore>,
    pub options: DeliveryOptions,
}

/// What a dispatcher is told.
#[derive(Debug)]
pub enum Order {
    Stop,
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

/// The position just before `position` (reading strictly after it reads `position`).
fn before(position: Position) -> Position {
    match position.index {
        0 => Position { lsn: position.lsn.saturating_sub(1), index: u16::MAX },
        index => Position { lsn: position.lsn, index: index - 1 },
    }
}

/// The first position after `position`.
fn next(position: Position) -> Position {
    match position.index {
        u16::MAX => Position { lsn: position.lsn.saturating_add(1), index: 0 },
        index => Position { lsn: position.lsn, index: index + 1 },
    }
}

/// An attempt's number in the delivery log: microseconds since the epoch, made strictly
/// increasing within the process, so attempts list in the order they were made and a
/// manual redelivery never takes a dispatcher's number.
fn attempt_number() -> u64 {
    static LAST: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let mut last = LAST.load(std::sync::atomic::Ordering::Relaxed);
    loop {
        let number = now.max(last + 1);
        match LAST.compare_exchange_weak(
            last,
            number,
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
        ) {
            Ok(_) => return number,
            Err(seen) => last = seen,
        }
    }
}

/// An event the dispatcher holds.
struct Held {
    id: String,
    kind: String,
    aggregate: String,
    json: Arc<Vec<u8>>,
    attempts: u32,
    first_at: Option<Instant>,
    due: Instant,
    in_flight: bool,
}

/// What one call gave.
struct Called {
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
    done: BTreeSet<Position>,
    window: BTreeMap<Position, Held>,
    /// The last position read into the window.
    read: Position,
    outcomes: mpsc::UnboundedSender<Called>,
}

/// Starts a subscription's dispatcher; answers how to stop it.
pub fn spawn(context: Context, hook: Subscription) -> mpsc::UnboundedSender<Order> {
    let (orders, mut stop) = mpsc::unbounded_channel();
    let (outcomes, mut called) = mpsc::unbounded_channel();
    let cursor = subscription::cursor(&context.store, &hook.commerce, &hook.id);
    let done = cursor.done.iter().map(|&(lsn, index)| Position { lsn, index }).collect();
    let read = cursor.after();
    let mut dispatcher = Dispatcher { context, hook, cursor, done, window: BTreeMap::new(), read, outcomes };
    tokio::spawn(async move {
        let mut head = dispatcher.context.head.clone();
        loop {
            head.borrow_and_update();
            dispatcher.fill();
            let wake = dispatcher.start_due();
            let sleep =
                tokio::time::sleep_until(wake.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600)).into());
            tokio::select! {
                Some(called) = called.recv() => {
                    if !dispatcher.settle(called) {
                        return;
                    }
                }
                changed = head.changed() => if changed.is_err() { return },
                () = sleep => {}
                _ = stop.recv() => return,
            }
        }
    });
    orders
}

impl Dispatcher {
    /// Reads events after the window into it, up to the window's size.
    fn fill(&mut self) {
        let room = self.context.options.window.saturating_sub(self.window.len());
        if room == 0 {
            return;
        }
        let hook = &self.hook;
        let read = self.context.store.read(&hook.commerce, self.read, room, 10_000, |bytes| {
            Envelope::parse(bytes).is_some_and(|e| hook.wants(e.kind))
        });
        let Ok((events, last)) = read else { return };
        for event in events {
            if self.done.contains(&event.position) {
                continue;
            }
            let Some(envelope) = Envelope::parse(&event.bytes) else { continue };
            let parsed: serde_json::Value = serde_json::from_slice(envelope.json).unwrap_or_default();
            let aggregate = format!("{}/{}", parsed["aggregate"]["type"], parsed["aggregate"]["id"]);
            let held = Held {
                id: parsed["id"].as_str().unwrap_or_default().to_owned(),
                kind: envelope.kind.to_owned(),
                aggregate,
                json: Arc::new(envelope.json.to_vec()),
                attempts: 0,
                first_at: None,
                due: Instant::now(),
                in_flight: false,
            };
            self.window.insert(event.position, held);
        }
        if let Some(last) = last {
            self.read = last;
            if self.window.is_empty() {
                self.advance();
            }
        }
    }

    /// Starts a call for each aggregate's earliest event that is due and not in flight;
    /// answers when the next retry falls due.
    fn start_due(&mut self) -> Option<Instant> {
        let now = Instant::now();
        let mut seen: HashSet<String> = HashSet::new();
        let mut wake: Option<Instant> = None;
        let mut start = Vec::new();
        for (position, held) in &self.window {
            if !seen.insert(held.aggregate.clone()) || held.in_flight {
                continue;
            }
            if held.due <= now {
                start.push(*position);
            } else {
                wake = Some(wake.map_or(held.due, |w| w.min(held.due)));
            }
        }
        for position in start {
            let Some(held) = self.window.get_mut(&position) else { continue };
            held.in_flight = true;
            held.attempts += 1;
            held.first_at.get_or_insert(now);
            let call = call(self.context.clone(), self.hook.clone(), held.id.clone(), Arc::clone(&held.json));
            let outcomes = self.outcomes.clone();
            tokio::spawn(async move {
                let (status, error, took, at) = call.await;
                let _ = outcomes.send(Called { position, status, error, took, at });
            });
        }
        wake
    }

    /// Takes a call's outcome: delivered, retried later, given up, or the subscription
    /// disabled (410: answers false, the dispatcher ends).
    fn settle(&mut self, called: Called) -> bool {
        let Some(held) = self.window.get_mut(&called.position) else { return true };
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
        log_attempt(&self.context.store, &self.hook, &attempt);
        metrics::counter!("mercato_webhook_attempts_total", "outcome" => outcome).increment(1);
        match outcome {
            "retrying" => {
                held.due = Instant::now() + backoff(&options, held.attempts, called.position);
            }
            "disabled" => {
                self.hook.enabled = false;
                self.hook.disabled_reason = Some("the receiver answered 410 Gone".to_owned());
                if let Err(error) = super::save(&self.context.store, &self.hook) {
                    tracing::error!(%error, "webhooks: a subscription disabled by 410 could not be saved");
                }
                self.save_cursor();
                return false;
            }
            _ => {
                if outcome == "delivered" {
                    self.cursor.delivered += 1;
                } else {
                    self.cursor.given_up += 1;
                }
                self.window.remove(&called.position);
                self.done.insert(called.position);
                self.advance();
            }
        }
        true
    }

    /// Moves the cursor up to the first event still held, and writes it.
    fn advance(&mut self) {
        let after = match self.window.keys().next() {
            Some(&first) => before(first),
            None => self.read,
        };
        self.done = self.done.split_off(&next(after));
        self.cursor.after = (after.lsn, after.index);
        self.cursor.done = self.done.iter().map(|p| (p.lsn, p.index)).collect();
        self.save_cursor();
    }

    fn save_cursor(&self) {
        let bytes = serde_json::to_vec(&self.cursor).unwrap_or_default();
        if let Err(error) =
            self.context.store.put(Table::Cursors, &hook_key(&self.hook.commerce, &self.hook.id), &bytes)
        {
            tracing::error!(%error, "webhooks: a cursor could not be written; those events may be sent again");
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
pub fn redeliver(context: Context, hook: Subscription, position: Position) {
    tokio::spawn(async move {
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
    });
}
