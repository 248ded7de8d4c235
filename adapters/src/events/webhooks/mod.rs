//! Webhooks: subscriptions per commerce (a URL, the event types it wants, its secrets),
//! and their delivery. Each subscription has a dispatcher (`dispatch.rs`) that takes the
//! events after its durable cursor (from one shared reader of the store, `feed.rs`) and posts each event signed per the Standard
//! Webhooks specification, in order per aggregate and in parallel across aggregates,
//! retrying with exponential backoff and jitter, disabling itself on 410, and logging
//! every attempt. Dispatchers and their calls run on a thread and runtime of their own
//! (`Webhooks::start`), bounded in number of calls and each timed out: nothing here ever
//! runs on an actor's thread.
//!
//! Subscriptions, cursors and attempts are kept in the event store's tables, not the log:
//! they are the delivery's own bookkeeping. A subscription's change is flushed before it
//! is answered; a cursor is written after each delivery, so a crash redelivers at most what
//! was in flight or delivered in the store's last unflushed moment.

pub mod dispatch;
pub mod feed;
pub mod notify;
pub mod subscription;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mercato_persistence::events::{EventStore, Position, Table};
use mercato_persistence::log::Lsn;
use tokio::sync::{mpsc, watch, Semaphore};

pub use subscription::{Cursor, Secret, Subscription};

/// How deliveries are paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryOptions {
    /// The first retry's delay; each later one doubles, up to `retry_delay_max`.
    pub retry_base: Duration,
    pub retry_delay_max: Duration,
    /// How long an event is retried before it is given up.
    pub retry_for: Duration,
    /// One call's limit, connection included.
    pub timeout: Duration,
    /// Calls in flight at once, across every subscription of the node.
    pub calls_max: usize,
    /// Events a dispatcher holds at once (waiting, in flight or retrying).
    pub window: usize,
    /// How long the delivery log keeps an attempt.
    pub log_kept_for: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        Self {
            retry_base: Duration::from_secs(5),
            retry_delay_max: Duration::from_secs(6 * 3600),
            retry_for: Duration::from_secs(3 * 24 * 3600),
            timeout: Duration::from_secs(10),
            calls_max: 64,
            window: 1_000,
            log_kept_for: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// What the webhook thread is told.
#[derive(Debug)]
pub enum Control {
    /// A subscription was created or changed: its dispatcher stops (its calls in flight
    /// are aborted) and starts again from its cursor, unless it is disabled.
    Changed { commerce: String, id: String },
    /// A subscription was deleted: its dispatcher stops and its cursor goes.
    Removed { commerce: String, id: String },
    /// Send this event to the subscription once more, outside its order.
    Redeliver { commerce: String, id: String, position: Position },
}

/// How the API reaches the deliveries.
#[derive(Clone)]
pub struct Webhooks {
    pub store: Arc<EventStore>,
    /// Whether the node sends e-mail (`--smtp-url`): notification rules by e-mail need it.
    pub mails: bool,
    control: mpsc::UnboundedSender<Control>,
    /// Creations one at a time, so a key's retry finds what the first made.
    pub creating: Arc<tokio::sync::Mutex<()>>,
}

impl Webhooks {
    /// Starts the webhook thread with a dispatcher for every enabled subscription.
    pub fn start(
        store: Arc<EventStore>,
        head: watch::Receiver<Lsn>,
        options: DeliveryOptions,
        smtp: Option<notify::SmtpSettings>,
    ) -> std::io::Result<Self> {
        let (control, commands) = mpsc::unbounded_channel();
        let mails = smtp.is_some();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        // The SMTP pool belongs to the deliveries' runtime.
        let mailer = match smtp {
            Some(smtp) => Some(
                runtime
                    .block_on(async { notify::Mailer::new(&smtp, options.timeout) })
                    .map_err(std::io::Error::other)?,
            ),
            None => None,
        };
        let shared = Arc::clone(&store);
        std::thread::Builder::new().name("mercato-webhooks".into()).spawn(move || {
            // Deliveries are background work: under load the order path gets the
            // cores first, and deliveries catch up when it leaves them time.
            crate::priority::lower_priority(crate::priority::NICE_LOWEST);
            runtime.block_on(manage(shared, head, (options, mailer), commands));
        })?;
        Ok(Self { store, mails, control, creating: Arc::default() })
    }

    /// Tells the deliveries of a change.
    pub fn tell(&self, control: Control) {
        // The thread only ends with the process.
        let _ = self.control.send(control);
    }
}

/// Runs the dispatchers: one per enabled subscription, restarted when it changes.
async fn manage(
    store: Arc<EventStore>,
    head: watch::Receiver<Lsn>,
    (options, mailer): (DeliveryOptions, Option<notify::Mailer>),
    mut commands: mpsc::UnboundedReceiver<Control>,
) {
    let client = match reqwest::Client::builder().timeout(options.timeout).connect_timeout(options.timeout).build() {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "webhooks: no HTTP client; nothing will be delivered");
            return;
        }
    };
    let permits = Arc::new(Semaphore::new(options.calls_max));
    let feed = feed::Feed::new(head);
    tokio::spawn(feed.clone().run(Arc::clone(&store)));
    let context = dispatch::Context { store: Arc::clone(&store), feed, client, permits, options, mailer };
    let mut running: HashMap<(String, String), tokio::task::JoinHandle<()>> = HashMap::new();
    // An e-mail rule on a node without SMTP waits where it stands (nothing is lost): it
    // goes on when the node is started with `--smtp-url`.
    let runs = |s: &Subscription| {
        let parked = s.notify.as_ref().is_some_and(|n| n.channel == notify::Channel::Email) && context.mailer.is_none();
        if parked && s.enabled {
            tracing::warn!(rule = %s.id, "notifications: an e-mail rule waits: this node has no --smtp-url");
        }
        s.enabled && !parked
    };
    for subscription in subscription::all(&store) {
        if runs(&subscription) {
            let key = (subscription.commerce.clone(), subscription.id.clone());
            running.insert(key, tokio::spawn(dispatch::run(context.clone(), subscription)));
        }
    }
    while let Some(command) = commands.recv().await {
        match command {
            Control::Changed { commerce, id } => {
                let key = (commerce, id);
                stop(&mut running, &key).await;
                if let Some(subscription) = subscription::load(&store, &key.0, &key.1).filter(|s| runs(s)) {
                    running.insert(key, tokio::spawn(dispatch::run(context.clone(), subscription)));
                }
            }
            Control::Removed { commerce, id } => {
                let key = (commerce, id);
                stop(&mut running, &key).await;
                if let Err(error) = store.remove(Table::Cursors, &hook_key(&key.0, &key.1)) {
                    tracing::error!(%error, "webhooks: a deleted subscription's cursor could not be removed");
                }
            }
            Control::Redeliver { commerce, id, position } => {
                if let Some(subscription) = subscription::load(&store, &commerce, &id) {
                    tokio::spawn(dispatch::redeliver(context.clone(), subscription, position));
                }
            }
        }
    }
}

/// Stops a dispatcher and waits until it has: its calls in flight are aborted with it, and
/// it writes nothing after.
async fn stop(running: &mut HashMap<(String, String), tokio::task::JoinHandle<()>>, key: &(String, String)) {
    if let Some(task) = running.remove(key) {
        task.abort();
        let _ = task.await;
    }
}

/// Changes a subscription as it is in the store now, one change at a time across the node,
/// and makes it durable: the changed subscription, or none when it is gone.
pub fn update(
    store: &EventStore,
    commerce: &str,
    id: &str,
    change: impl FnOnce(&mut Subscription),
) -> Result<Option<Subscription>, mercato_persistence::PersistenceError> {
    static WRITES: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = WRITES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(mut subscription) = subscription::load(store, commerce, id) else { return Ok(None) };
    change(&mut subscription);
    save(store, &subscription)?;
    Ok(Some(subscription))
}

/// Disables a subscription (a 410), keeping whatever else changed meanwhile.
pub fn disable(store: &EventStore, hook: &Subscription, reason: &str) {
    let disabled = update(store, &hook.commerce, &hook.id, |s| {
        s.enabled = false;
        s.disabled_reason = Some(reason.to_owned());
    });
    if let Err(error) = disabled {
        tracing::error!(%error, "webhooks: a subscription disabled by 410 could not be saved");
    }
}

/// The key a subscription's rows are kept under.
pub fn hook_key(commerce: &str, id: &str) -> Vec<u8> {
    format!("{commerce}\u{1f}{id}").into_bytes()
}

/// The prefix of a commerce's subscriptions.
pub fn commerce_prefix(commerce: &str) -> Vec<u8> {
    format!("{commerce}\u{1f}").into_bytes()
}

/// Writes a subscription (and makes it durable before the caller answers).
pub fn save(store: &EventStore, subscription: &Subscription) -> Result<(), mercato_persistence::PersistenceError> {
    let bytes = serde_json::to_vec(subscription).unwrap_or_default();
    store.put(Table::Hooks, &hook_key(&subscription.commerce, &subscription.id), &bytes)?;
    store.flush()
}
