//! `WarehouseActor`: the owner of one warehouse's stock. Every change is one message
//! handled synchronously: decide against the current state, take a place on the log's
//! queue, apply the events and queue their record; the reply waits until the log says they
//! are durable. There is no await
//! between the check and the change, so two carts can never both take the last unit, and
//! no client hears of a change before it is durable. Reservation expiry runs on the actor's own timer, on the same clock as every
//! command, so a reservation expires once, at its time, whatever else is queued.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use arc_swap::ArcSwap;
use mercato_engine::inventory::{
    Availability, InventoryCommand, InventoryCtx, InventoryEvent, OrderLineStock, Reservation, StockRecord, Timestamp,
    WarehouseStock,
};
use mercato_engine::{Commerce, DomainError};

use crate::clock::{date_of, Clock};
use crate::idempotency::{Answer, Idempotency, Remembered, Stamp};
use crate::journal::{Journal, NotDurable, WarehouseEntryRef, RECORD_WAREHOUSE};
use mercato_persistence::log::Receipt;

/// Messages a warehouse actor may queue. Senders that find it full wait (or, on request
/// paths, answer 503): the bound keeps a burst from growing memory without limit.
pub const WAREHOUSE_MAILBOX_CAPACITY_MAX: usize = 4096;

/// What a replay answers in place of an answer too large to keep in its record.
const ANSWER_TOO_LARGE: &[u8] = br#"{"detail":"the change was made; its answer was too large to keep for replays"}"#;

/// How often a warehouse looks for reservations whose time has come. Expiry is exact to
/// within one tick.
pub const EXPIRY_TICK: Duration = Duration::from_secs(1);

pub struct WarehouseActor {
    stock: WarehouseStock,
    commerce: Arc<ArcSwap<Commerce>>,
    clock: Clock,
    journal: Journal,
    /// The LSN of the last change this actor queued on the log (0: none yet).
    last_lsn: mercato_persistence::log::Lsn,
    /// Answers given under idempotency keys, oldest first, kept for the retention.
    remembered: std::collections::VecDeque<Remembered>,
    /// The node's table of keys, told of each answer once its change is durable.
    idempotency: Idempotency,
    meters: Meters,
}

/// This warehouse's metrics, with handles made once (the reserve path only increments).
struct Meters {
    created: metrics::Counter,
    released: metrics::Counter,
    expired: metrics::Counter,
    converted: metrics::Counter,
    active: metrics::Gauge,
    oversold: metrics::Gauge,
    /// A change happened since the last oversold count.
    dirty: bool,
    contention: Contention,
}

/// How many SKUs a window reports as hot.
pub const HOT_SKUS: usize = 5;
/// Seconds (expiry ticks) a contention window lasts.
pub const HOT_SKU_WINDOW_TICKS: u32 = 10;
/// SKUs that get their own series, per warehouse, over the process's life; later hot SKUs
/// are reported as `other`, so scraping never meets an unbounded set of series.
pub const HOT_SKU_SERIES_MAX: usize = 32;
/// SKUs counted per window; beyond that a window counts only the SKUs it already has.
const HOT_SKU_COUNTED_MAX: usize = 10_000;

/// The hottest SKUs' contention: reservation attempts and insufficient-stock refusals per
/// SKU over a window, the top `HOT_SKUS` published as per-second rates.
#[derive(Default)]
struct Contention {
    labels: Vec<(String, String)>,
    window: std::collections::HashMap<String, (u32, u32)>,
    ticks: u32,
    /// SKU (or `other`) -> (attempts gauge, refusals gauge), registered once.
    series: Vec<(String, metrics::Gauge, metrics::Gauge)>,
    /// The series set last window (zeroed when they drop out).
    shown: Vec<usize>,
}

impl Contention {
    fn attempt(&mut self, sku: &str, refused: bool) {
        if !self.window.contains_key(sku) {
            if self.window.len() >= HOT_SKU_COUNTED_MAX {
                return;
            }
            self.window.insert(sku.to_owned(), (0, 0));
        }
        let Some(counted) = self.window.get_mut(sku) else { return };
        counted.0 = counted.0.saturating_add(1);
        if refused {
            counted.1 = counted.1.saturating_add(1);
        }
    }

    fn series(&mut self, sku: &str) -> usize {
        if let Some(index) = self.series.iter().position(|(s, ..)| s == sku) {
            return index;
        }
        let name = if self.series.len() < HOT_SKU_SERIES_MAX - 1 { sku } else { "other" };
        if let Some(index) = self.series.iter().position(|(s, ..)| s == name) {
            return index;
        }
        let mut labels = self.labels.clone();
        labels.push(("sku".to_owned(), name.to_owned()));
        let attempts = metrics::gauge!("mercato_hot_sku_reservations_per_second", &labels);
        let refusals = metrics::gauge!("mercato_hot_sku_refusals_per_second", &labels);
        self.series.push((name.to_owned(), attempts, refusals));
        self.series.len() - 1
    }

    /// Once a window: publishes the hottest SKUs' rates and zeroes those no longer hot.
    fn tick(&mut self) {
        self.ticks += 1;
        if self.ticks < HOT_SKU_WINDOW_TICKS {
            return;
        }
        self.ticks = 0;
        let mut hottest: Vec<(String, (u32, u32))> = self.window.drain().collect();
        hottest.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then_with(|| a.0.cmp(&b.0)));
        hottest.truncate(HOT_SKUS);
        let seconds = f64::from(HOT_SKU_WINDOW_TICKS);
        let mut shown = Vec::with_capacity(hottest.len());
        for (sku, (attempts, refused)) in hottest {
            let index = self.series(&sku);
            let (_, attempts_gauge, refusals_gauge) = &self.series[index];
            attempts_gauge.set(f64::from(attempts) / seconds);
            refusals_gauge.set(f64::from(refused) / seconds);
            shown.push(index);
        }
        for index in std::mem::replace(&mut self.shown, shown.clone()) {
            if !shown.contains(&index) {
                let (_, attempts_gauge, refusals_gauge) = &self.series[index];
                attempts_gauge.set(0.0);
                refusals_gauge.set(0.0);
            }
        }
    }
}

impl Meters {
    fn new(commerce: &str, warehouse: &str) -> Self {
        let labels = [("commerce", commerce.to_owned()), ("warehouse", warehouse.to_owned())];
        Self {
            created: metrics::counter!("mercato_reservations_created_total", &labels),
            released: metrics::counter!("mercato_reservations_released_total", &labels),
            expired: metrics::counter!("mercato_reservations_expired_total", &labels),
            converted: metrics::counter!("mercato_reservations_converted_total", &labels),
            active: metrics::gauge!("mercato_reservations_active", &labels),
            oversold: metrics::gauge!("mercato_units_oversold", &labels),
            dirty: false,
            contention: Contention {
                labels: labels.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
                ..Contention::default()
            },
        }
    }

    /// Counts a change's reservation events.
    fn count(&mut self, events: &[InventoryEvent], stock: &WarehouseStock) {
        for event in events {
            match event {
                InventoryEvent::StockReserved { .. } => self.created.increment(1),
                InventoryEvent::ReservationReleased { .. } => self.released.increment(1),
                InventoryEvent::ReservationExpired { .. } => self.expired.increment(1),
                InventoryEvent::ReservationCommitted { .. } => self.converted.increment(1),
                _ => {}
            }
        }
        self.active.set(stock.reservation_count() as f64);
        self.dirty = true;
    }

    /// Recounts units oversold (a scan of the records, once a tick, when anything changed).
    fn check_oversold(&mut self, stock: &WarehouseStock) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let oversold = stock.oversold_units();
        if oversold > 0 {
            tracing::error!(warehouse = %stock.warehouse, oversold, "units oversold");
        }
        self.oversold.set(oversold as f64);
    }
}

impl Default for Meters {
    fn default() -> Self {
        Self {
            created: metrics::Counter::noop(),
            released: metrics::Counter::noop(),
            expired: metrics::Counter::noop(),
            converted: metrics::Counter::noop(),
            active: metrics::Gauge::noop(),
            oversold: metrics::Gauge::noop(),
            dirty: false,
            contention: Contention::default(),
        }
    }
}

/// Why a command made no change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The engine refused it.
    #[error(transparent)]
    Refused(#[from] DomainError),
    /// The log could not take it (full or stopped): nothing was applied. Or, once applied,
    /// the log failed before it was durable: the node stops and recovers from the log.
    #[error(transparent)]
    NotDurable(#[from] NotDurable),
}

impl CommandError {
    /// A stable code: the engine's for a refusal; `not_recorded` when the log did not take
    /// the change (nothing applied, safe to retry); `outcome_unknown` when the log failed
    /// after taking it.
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::Refused(error) => error.code(),
            CommandError::NotDurable(NotDurable { queued: false, .. }) => "not_recorded",
            CommandError::NotDurable(NotDurable { queued: true, .. }) => "outcome_unknown",
        }
    }
}

/// The events of one command, and the receipt that resolves once they are durable.
type Executed = (Vec<InventoryEvent>, Option<Receipt>);

/// `Executed`, with the answer kept under an idempotency key.
type ExecutedRemembering = (Vec<InventoryEvent>, Option<Receipt>, Option<Remembered>);

/// A reply that is ready at once (memory mode, refusals, reads) or once the log says the
/// change is durable. A ready reply goes straight back; only a pending one costs a task.
pub enum Reply<T> {
    Ready(T),
    Durable(std::pin::Pin<Box<dyn std::future::Future<Output = T>>>),
}

impl<A, M, T> actix::dev::MessageResponse<A, M> for Reply<T>
where
    A: Actor,
    M: Message<Result = T>,
    T: 'static,
{
    fn handle(self, _: &mut A::Context, tx: Option<actix::dev::OneshotSender<T>>) {
        let send = |value: T| {
            if let Some(tx) = tx {
                // A caller that stopped waiting is no error.
                let _ = tx.send(value);
            }
        };
        match self {
            Reply::Ready(value) => send(value),
            Reply::Durable(pending) => {
                actix::spawn(async move { send(pending.await) });
            }
        }
    }
}

/// Waits until a change is durable, then gives its result.
async fn durable<T>(value: T, receipt: Option<mercato_persistence::log::Receipt>) -> Result<T, CommandError> {
    if let Some(receipt) = receipt {
        receipt.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
    }
    Ok(value)
}

impl WarehouseActor {
    /// An actor whose changes live only in memory.
    pub fn new(warehouse: &str, commerce: Arc<ArcSwap<Commerce>>, clock: Clock) -> Self {
        Self::recovered(WarehouseStock::new(warehouse), commerce, clock, Journal::Memory)
    }

    /// An actor that starts from `stock` (recovered from the log) and logs every change.
    pub fn recovered(stock: WarehouseStock, commerce: Arc<ArcSwap<Commerce>>, clock: Clock, journal: Journal) -> Self {
        Self {
            stock,
            commerce,
            clock,
            journal,
            last_lsn: 0,
            remembered: std::collections::VecDeque::new(),
            idempotency: Idempotency::default(),
            meters: Meters::default(),
        }
    }

    /// Takes the answers this warehouse gave under idempotency keys (recovered), and the
    /// node's table to tell of new ones; the table learns the recovered ones at once.
    pub fn remembering(mut self, remembered: Vec<Remembered>, idempotency: Idempotency) -> Self {
        let now = self.clock.now();
        for answer in remembered.into_iter().filter(|r| !r.expired(now)) {
            idempotency.remember(answer.clone());
            self.remembered.push_back(answer);
        }
        self.idempotency = idempotency;
        self
    }

    /// The reply to one executed command: its value once its events are durable. A command
    /// that changed nothing (or was refused) still answers only once every change it was
    /// decided against is durable, so no answer rests on a change the log may lose.
    fn answer<T: 'static>(
        &self,
        executed: Result<(T, Option<mercato_persistence::log::Receipt>), CommandError>,
    ) -> Reply<Result<T, CommandError>> {
        match executed {
            Ok((value, receipt @ Some(_))) => Reply::Durable(Box::pin(durable(value, receipt))),
            other => {
                let outcome = other.map(|(value, _)| value);
                match self.journal.unsettled(self.last_lsn) {
                    None => Reply::Ready(outcome),
                    Some(wait) => Reply::Durable(Box::pin(async move {
                        // What this answer rests on may or may not survive.
                        wait.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
                        outcome
                    })),
                }
            }
        }
    }

    /// A read's reply, once every change the state it shows includes is acknowledged.
    fn settle<T: 'static>(&self, value: T) -> Reply<T> {
        match self.journal.unsettled(self.last_lsn) {
            None => Reply::Ready(value),
            Some(wait) => Reply::Durable(Box::pin(async move {
                // When the log fails the node stops; the read is answered either way.
                let _ = wait.await;
                value
            })),
        }
    }

    /// Starts the actor on the current arbiter with a bounded mailbox.
    pub fn start_bounded(self) -> Addr<Self> {
        // The capacity is set before the actor runs, so it bounds the very first messages.
        let mut context = Context::new();
        context.set_mailbox_capacity(WAREHOUSE_MAILBOX_CAPACITY_MAX);
        context.run(self)
    }

    /// Starts the actor on another arbiter (thread) with a bounded mailbox.
    pub fn start_bounded_in(self, arbiter: &ArbiterHandle) -> Addr<Self> {
        Self::start_in_arbiter(arbiter, move |context| {
            context.set_mailbox_capacity(WAREHOUSE_MAILBOX_CAPACITY_MAX);
            self
        })
    }

    /// Decides one command at `now`, takes a place on the log's queue, applies the events
    /// and queues their record, in one synchronous step. A change the log has no room for
    /// is not applied.
    fn execute(&mut self, command: &InventoryCommand, now: Timestamp) -> Result<Executed, CommandError> {
        self.execute_then(command, now, |_, _| None).map(|(events, receipt, _)| (events, receipt))
    }

    /// `execute`, with `remember` building (from the state the change left) an answer to
    /// keep in the same record.
    fn execute_then(
        &mut self,
        command: &InventoryCommand,
        now: Timestamp,
        remember: impl FnOnce(&Self, &[InventoryEvent]) -> Option<Remembered>,
    ) -> Result<ExecutedRemembering, CommandError> {
        let commerce = self.commerce.load();
        let ctx = InventoryCtx { commerce: &commerce, now, today: date_of(now) };
        let decided = self.stock.decide(command, &ctx);
        if let InventoryCommand::Reserve { sku, .. } = command {
            let refused = matches!(decided, Err(mercato_engine::DomainError::InsufficientStock { .. }));
            self.meters.contention.attempt(sku, refused);
        }
        let events = decided?;
        if events.is_empty() {
            return Ok((events, None, None));
        }
        // Everything that can refuse the change does so before it is applied: the record
        // (without an answer) must fit, and the log must have room for it.
        let warehouse = self.stock.warehouse.clone();
        let entry =
            WarehouseEntryRef { commerce: commerce.code(), warehouse: &warehouse, events: &events, remembered: None };
        let bare = self.journal.encode(&entry)?;
        let slot = self.journal.slot()?;
        for event in &events {
            self.stock.apply(event);
        }
        let mut remembered = remember(self, &events);
        let payload = match remembered.as_mut() {
            None => bare,
            Some(remembered) => match self.journal.encode(&WarehouseEntryRef { remembered: Some(remembered), ..entry })
            {
                Ok(payload) => payload,
                // An answer too large to keep: the change is still made once, and a replay
                // says so instead of repeating it.
                Err(_) => {
                    remembered.answer.body = ANSWER_TOO_LARGE.to_vec();
                    self.journal.encode(&WarehouseEntryRef { remembered: Some(remembered), ..entry })?
                }
            },
        };
        let receipt = self.journal.append_in(slot, RECORD_WAREHOUSE, payload)?;
        if let Some(receipt) = &receipt {
            self.last_lsn = receipt.lsn();
        }
        if let Some(remembered) = &remembered {
            self.remembered.push_back(remembered.clone());
        }
        self.meters.count(&events, &self.stock);
        Ok((events, receipt, remembered))
    }

    /// One SKU's record and availability now; none for a SKU the commerce does not sell.
    /// Counting its reservations scans them all: a back-office read, not a cart path.
    fn view(&self, sku: &str) -> Option<StockView> {
        let commerce = self.commerce.load();
        let availability = self.stock.availability_of(sku, &commerce, self.clock.today())?;
        let record = self.stock.record(sku).cloned().unwrap_or_default();
        let reservations = self.stock.reservations().filter(|r| &*r.sku == sku).count();
        Some(StockView { record, availability, reservations })
    }

    fn expire_due(&mut self) {
        let now = self.clock.now();
        while self.remembered.front().is_some_and(|r| r.expired(now)) {
            self.remembered.pop_front();
        }
        // Nobody waits for an expiry to be durable; one the log cannot take now is retried
        // at the next tick.
        match self.execute(&InventoryCommand::ExpireReservations, now) {
            Ok((events, _)) if !events.is_empty() => {
                tracing::debug!(warehouse = %self.stock.warehouse, expired = events.len(), "reservations expired");
            }
            Ok(_) => {}
            // Expiry refuses nothing; a refusal here would be an engine defect worth a log line.
            Err(error) => tracing::error!(warehouse = %self.stock.warehouse, %error, "expiry refused"),
        }
    }
}

impl Actor for WarehouseActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let commerce = self.commerce.load().code().to_owned();
        self.meters = Meters::new(&commerce, &self.stock.warehouse);
        self.meters.active.set(self.stock.reservation_count() as f64);
        self.meters.oversold.set(self.stock.oversold_units() as f64);
        ctx.run_interval(EXPIRY_TICK, |actor, _| {
            actor.expire_due();
            actor.meters.check_oversold(&actor.stock);
            actor.meters.contention.tick();
        });
    }
}

/// Runs one inventory command now; replies with the events it caused once they are
/// durable.
#[derive(Message)]
#[rtype(result = "Result<Vec<InventoryEvent>, CommandError>")]
pub struct Execute(pub InventoryCommand);

impl Handler<Execute> for WarehouseActor {
    type Result = Reply<Result<Vec<InventoryEvent>, CommandError>>;

    fn handle(&mut self, message: Execute, _: &mut Self::Context) -> Self::Result {
        let now = self.clock.now();
        let executed = self.execute(&message.0, now);
        self.answer(executed)
    }
}

/// Runs several commands in order, each decided against the state the previous one left,
/// and replies with each one's outcome: one mailbox round trip for a whole cart's lines
/// or a back-office file. A refusal affects only its own command.
#[derive(Message)]
#[rtype(result = "Vec<Result<Vec<InventoryEvent>, CommandError>>")]
pub struct ExecuteAll(pub Vec<InventoryCommand>);

impl Handler<ExecuteAll> for WarehouseActor {
    type Result = Reply<Vec<Result<Vec<InventoryEvent>, CommandError>>>;

    fn handle(&mut self, message: ExecuteAll, _: &mut Self::Context) -> Self::Result {
        let now = self.clock.now();
        let executed: Vec<_> = message.0.iter().map(|command| self.execute(command, now)).collect();
        if executed.iter().all(|outcome| matches!(outcome, Err(_) | Ok((_, None)))) {
            return self.settle(executed.into_iter().map(|outcome| outcome.map(|(events, _)| events)).collect());
        }
        Reply::Durable(Box::pin(async move {
            let mut outcomes = Vec::with_capacity(executed.len());
            for outcome in executed {
                outcomes.push(match outcome {
                    Ok((events, receipt)) => durable(events, receipt).await,
                    Err(error) => Err(error),
                });
            }
            outcomes
        }))
    }
}

/// Runs one command and replies as soon as its events are applied and their record is
/// queued on the log, without waiting for the record to be durable. For a holder (a cart)
/// that logs its own record of the outcome afterwards and answers its client only once
/// that later record is durable: the log makes a record durable only after every record
/// before it. A refusal still waits for the changes it was decided against, like every
/// answer here.
#[derive(Message)]
#[rtype(result = "Result<Queued, CommandError>")]
pub struct ExecuteQueued(pub InventoryCommand);

/// What `ExecuteQueued` did: the events, and for a reservation made, the day each of its
/// parts can leave the warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub events: Vec<InventoryEvent>,
    pub ready_dates: Vec<chrono::NaiveDate>,
}

impl Handler<ExecuteQueued> for WarehouseActor {
    type Result = Reply<Result<Queued, CommandError>>;

    fn handle(&mut self, message: ExecuteQueued, _: &mut Self::Context) -> Self::Result {
        let now = self.clock.now();
        match self.execute(&message.0, now) {
            Ok((events, receipt)) if !events.is_empty() => {
                let ready_dates = match events.first() {
                    Some(InventoryEvent::StockReserved { reservation }) => {
                        let today = date_of(now);
                        let held = self.stock.reservation(&reservation.id).unwrap_or(reservation);
                        self.stock.ready_dates(held, &self.commerce.load(), today)
                    }
                    _ => Vec::new(),
                };
                // The receipt is dropped: the record stays queued, and the holder's own
                // later record is what its client waits for.
                drop(receipt);
                Reply::Ready(Ok(Queued { events, ready_dates }))
            }
            other => self.answer(other.map(|(events, receipt)| (Queued { events, ready_dates: Vec::new() }, receipt))),
        }
    }
}

/// Expires every reservation whose time has come, now, and replies once that is durable
/// with how many went. At start it releases what expired while the node was down, before
/// the node reports ready.
#[derive(Message)]
#[rtype(result = "Result<usize, CommandError>")]
pub struct ExpireNow;

impl Handler<ExpireNow> for WarehouseActor {
    type Result = Reply<Result<usize, CommandError>>;

    fn handle(&mut self, _: ExpireNow, _: &mut Self::Context) -> Self::Result {
        let now = self.clock.now();
        let executed = self.execute(&InventoryCommand::ExpireReservations, now);
        self.answer(executed.map(|(events, receipt)| (events.len(), receipt)))
    }
}

/// One SKU's record and what it can still be sold as; none for a SKU the commerce does not
/// sell.
#[derive(Message)]
#[rtype(result = "Option<StockView>")]
pub struct GetStock {
    pub sku: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockView {
    pub record: StockRecord,
    pub availability: Availability,
    /// The reservations holding units of this SKU.
    pub reservations: usize,
}

impl Handler<GetStock> for WarehouseActor {
    type Result = Reply<Option<StockView>>;

    fn handle(&mut self, message: GetStock, _: &mut Self::Context) -> Self::Result {
        self.settle(self.view(&message.sku))
    }
}

/// Builds the answer to remember from a change's events and the stock it left.
pub type Respond = Box<dyn FnOnce(&[InventoryEvent], Option<&StockView>) -> Answer + Send>;

/// A request's idempotency key, and how to build the answer to keep under it.
pub struct Remember {
    pub stamp: Stamp,
    pub respond: Respond,
}

/// What an `ExecuteAndView` did: the events, the SKU's stock after them, and the answer
/// remembered under the request's idempotency key (when it carried one and the change
/// was made).
pub type Viewed = (Vec<InventoryEvent>, Option<StockView>, Option<Answer>);

/// Runs one command, then reads the SKU's stock in the same step, so the view shows
/// exactly the state the command left (a back-office change answers with it). With
/// `remember`, the answer is built from that and kept in the change's own log record.
#[derive(Message)]
#[rtype(result = "Result<Viewed, CommandError>")]
pub struct ExecuteAndView {
    pub command: InventoryCommand,
    pub sku: String,
    pub remember: Option<Remember>,
}

impl Handler<ExecuteAndView> for WarehouseActor {
    type Result = Reply<Result<Viewed, CommandError>>;

    fn handle(&mut self, message: ExecuteAndView, _: &mut Self::Context) -> Self::Result {
        let now = self.clock.now();
        let sku = message.sku;
        let stamp = message.remember.as_ref().map(|r| r.stamp.clone());
        let executed = match message.remember {
            None => self.execute_then(&message.command, now, |_, _| None),
            Some(Remember { stamp, respond }) => self.execute_then(&message.command, now, |actor, events| {
                let answer = respond(events, actor.view(&sku).as_ref());
                Some(Remembered { stamp, answer, at: now })
            }),
        };
        let view = self.view(&sku);
        let table = self.idempotency.clone();
        // A key is freed only when the outcome is certainly "nothing changed"; when it is
        // unknown, the key stays in flight until it is known (or times out).
        let nothing_changed = match &executed {
            Ok((_, _, remembered)) => remembered.is_none(),
            Err(CommandError::Refused(_)) => true,
            Err(CommandError::NotDurable(not_durable)) => !not_durable.queued,
        };
        if let (true, Some(stamp)) = (nothing_changed, &stamp) {
            table.abandon(stamp);
        }
        match executed {
            Ok((events, receipt, remembered)) => {
                let answer = remembered.as_ref().map(|r| r.answer.clone());
                let reply = self.answer(Ok(((events, view, answer), receipt)));
                match (reply, remembered) {
                    (reply, None) => reply,
                    // The table learns the answer once the change is durable.
                    (Reply::Ready(outcome), Some(remembered)) => {
                        if outcome.is_ok() {
                            table.remember(remembered);
                        }
                        Reply::Ready(outcome)
                    }
                    (Reply::Durable(pending), Some(remembered)) => Reply::Durable(Box::pin(async move {
                        let outcome = pending.await;
                        if outcome.is_ok() {
                            table.remember(remembered);
                        }
                        outcome
                    })),
                }
            }
            Err(error) => self.answer(Err(error)),
        }
    }
}

/// What each of the SKUs can still be sold as here; SKUs the commerce does not sell are
/// left out.
#[derive(Message)]
#[rtype(result = "BTreeMap<String, Availability>")]
pub struct GetAvailability {
    pub skus: Vec<String>,
}

impl WarehouseActor {
    fn availability(&self, skus: Vec<String>) -> BTreeMap<String, Availability> {
        let commerce = self.commerce.load();
        let today = self.clock.today();
        skus.into_iter()
            .filter_map(|sku| self.stock.availability_of(&sku, &commerce, today).map(|a| (sku, a)))
            .collect()
    }
}

impl Handler<GetAvailability> for WarehouseActor {
    type Result = Reply<BTreeMap<String, Availability>>;

    fn handle(&mut self, message: GetAvailability, _: &mut Self::Context) -> Self::Result {
        let found = self.availability(message.skus);
        self.settle(found)
    }
}

/// `GetAvailability` answered at once, for a holder choosing where to reserve: the
/// figures are shown to nobody (the reservation that follows is decided on the state
/// itself, and the holder's answer waits for its own later record), so the read need not
/// wait for the changes it saw to be durable.
#[derive(Message)]
#[rtype(result = "BTreeMap<String, Availability>")]
pub struct PeekAvailability {
    pub skus: Vec<String>,
}

impl Handler<PeekAvailability> for WarehouseActor {
    type Result = Reply<BTreeMap<String, Availability>>;

    fn handle(&mut self, message: PeekAvailability, _: &mut Self::Context) -> Self::Result {
        Reply::Ready(self.availability(message.skus))
    }
}

/// What the start-up repair of a checkout cut short needs, without copying the state:
/// the order lines whose order `placed` does not know, and which of `holds` (reservation
/// ids carts hold here) the warehouse no longer has.
#[derive(Message)]
#[rtype(result = "Unplaced")]
pub struct FindUnplaced {
    /// Whether an order line's key belongs to a placed order.
    pub placed: Box<dyn Fn(&str) -> bool + Send>,
    pub holds: Vec<String>,
}

pub struct Unplaced {
    pub lines: Vec<OrderLineStock>,
    pub missing: HashSet<String>,
}

impl Handler<FindUnplaced> for WarehouseActor {
    type Result = Reply<Unplaced>;

    fn handle(&mut self, message: FindUnplaced, _: &mut Self::Context) -> Self::Result {
        let stock = &self.stock;
        let lines = stock.order_lines().filter(|l| !(message.placed)(&l.order_line)).cloned().collect();
        let missing = message.holds.into_iter().filter(|id| stock.reservation(id).is_none()).collect();
        self.settle(Unplaced { lines, missing })
    }
}

/// A copy of the whole state, for tests.
#[derive(Message)]
#[rtype(result = "WarehouseStock")]
pub struct CopyState;

impl Handler<CopyState> for WarehouseActor {
    type Result = Reply<WarehouseStock>;

    fn handle(&mut self, _: CopyState, _: &mut Self::Context) -> Self::Result {
        self.settle(self.stock.clone())
    }
}

/// The state for a snapshot, with the LSN it covers: the last LSN the log had handed out
/// when it was copied, so every change of this warehouse at or below it is in the state
/// and every later one above it. The caller waits until that LSN is durable before it
/// writes the snapshot, so the log can never lose (and reuse) an LSN a snapshot covers.
#[derive(Message)]
#[rtype(result = "SnapshotCopy")]
pub struct TakeSnapshot;

/// A warehouse's state as `TakeSnapshot` copies it.
#[derive(Debug, Clone)]
pub struct SnapshotCopy {
    pub stock: WarehouseStock,
    pub covers: mercato_persistence::log::Lsn,
    pub remembered: Vec<Remembered>,
}

impl Handler<TakeSnapshot> for WarehouseActor {
    type Result = MessageResult<TakeSnapshot>;

    fn handle(&mut self, _: TakeSnapshot, _: &mut Self::Context) -> Self::Result {
        MessageResult(SnapshotCopy {
            stock: self.stock.clone(),
            covers: self.journal.covers(),
            remembered: self.remembered.iter().cloned().collect(),
        })
    }
}

/// Units one warehouse is asked to reserve for a holder (a cart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveRequest {
    pub warehouse: String,
    pub reservation: String,
    pub sku: String,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReserveError {
    #[error("warehouse \"{warehouse}\": {error}")]
    Refused { warehouse: String, error: DomainError },
    #[error("warehouse \"{warehouse}\": {error}")]
    NotDurable { warehouse: String, error: NotDurable },
    #[error("warehouse \"{warehouse}\" is not running on this node")]
    Unavailable { warehouse: String },
}

/// A place in a warehouse's mailbox, held by a request from the moment it is sent until
/// the actor takes it up (or drops it, when its caller gave up first).
pub struct Ticket {
    waiting: Arc<AtomicUsize>,
    gauge: metrics::Gauge,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        self.gauge.decrement(1.0);
    }
}

/// A request admitted through a warehouse's gate.
pub struct Gated<M> {
    pub message: M,
    pub ticket: Ticket,
}

impl<M: Message> Message for Gated<M> {
    type Result = M::Result;
}

/// Each request a route sends through the gate: its place is given back as the actor takes
/// it up, then it is handled as itself.
macro_rules! gated {
    ($($message:ty),*) => {$(
        impl Handler<Gated<$message>> for WarehouseActor {
            type Result = <Self as Handler<$message>>::Result;

            fn handle(&mut self, gated: Gated<$message>, ctx: &mut Self::Context) -> Self::Result {
                let Gated { message, ticket } = gated;
                drop(ticket);
                <Self as Handler<$message>>::handle(self, message, ctx)
            }
        }
    )*};
}

gated!(Execute, ExecuteAll, ExecuteAndView, ExecuteQueued, GetStock, GetAvailability, PeekAvailability);

/// The mailbox is full: the request was not sent (answer 503 and let the client retry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the warehouse's mailbox is full")]
pub struct Busy;

/// A warehouse actor with the gate that keeps requests within its mailbox: a request is
/// refused at once (`Busy`) rather than queued to wait for room.
#[derive(Clone)]
pub struct WarehouseHandle {
    pub addr: Addr<WarehouseActor>,
    waiting: Arc<AtomicUsize>,
    /// `mercato_mailbox_waiting`: requests sent and not yet taken up.
    gauge: metrics::Gauge,
}

impl WarehouseHandle {
    /// A gate without a metric (tests).
    pub fn new(addr: Addr<WarehouseActor>) -> Self {
        Self { addr, waiting: Arc::new(AtomicUsize::new(0)), gauge: metrics::Gauge::noop() }
    }

    /// A gate whose depth is published as `mercato_mailbox_waiting{commerce, warehouse}`.
    pub fn metered(addr: Addr<WarehouseActor>, commerce: &str, warehouse: &str) -> Self {
        let labels = [("commerce", commerce.to_owned()), ("warehouse", warehouse.to_owned())];
        Self { gauge: metrics::gauge!("mercato_mailbox_waiting", &labels), ..Self::new(addr) }
    }

    /// Sends a request if the mailbox has room for it.
    pub fn send<M>(&self, message: M) -> Result<actix::dev::Request<WarehouseActor, Gated<M>>, Busy>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        WarehouseActor: Handler<Gated<M>>,
    {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= WAREHOUSE_MAILBOX_CAPACITY_MAX {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy);
        }
        self.gauge.increment(1.0);
        let ticket = Ticket { waiting: Arc::clone(&self.waiting), gauge: self.gauge.clone() };
        Ok(self.addr.send(Gated { message, ticket }))
    }

    /// Requests sent and not yet taken up (the mailbox depth, as far as requests go).
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }
}

/// The warehouse actors of one commerce, by code.
#[derive(Clone, Default)]
pub struct Warehouses {
    actors: Arc<BTreeMap<String, WarehouseHandle>>,
}

impl Warehouses {
    pub fn new(actors: BTreeMap<String, WarehouseHandle>) -> Self {
        Self { actors: Arc::new(actors) }
    }

    pub fn get(&self, code: &str) -> Option<&Addr<WarehouseActor>> {
        self.actors.get(code).map(|handle| &handle.addr)
    }

    /// The warehouse with its gate, for requests that must not wait for mailbox room.
    pub fn handle(&self, code: &str) -> Option<&WarehouseHandle> {
        self.actors.get(code)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Addr<WarehouseActor>)> {
        self.actors.iter().map(|(code, handle)| (code.as_str(), &handle.addr))
    }

    /// Reserves every request or none. Requests run one at a time in a fixed order
    /// (warehouse, then reservation id), so two holders wanting the same units always meet
    /// in the same warehouse first; when one is refused, the ones already made are released
    /// before the error returns, so no unit is left held.
    pub async fn reserve_all(
        &self,
        mut requests: Vec<ReserveRequest>,
        expires_at: Timestamp,
    ) -> Result<Vec<Reservation>, ReserveError> {
        requests.sort_by(|a, b| a.warehouse.cmp(&b.warehouse).then_with(|| a.reservation.cmp(&b.reservation)));
        let mut made: Vec<(&Addr<WarehouseActor>, Reservation)> = Vec::new();
        let mut failure = None;
        for request in &requests {
            let Some(addr) = self.get(&request.warehouse) else {
                failure = Some(ReserveError::Unavailable { warehouse: request.warehouse.clone() });
                break;
            };
            let command = InventoryCommand::Reserve {
                reservation: request.reservation.clone(),
                sku: request.sku.clone(),
                quantity: request.quantity,
                expires_at,
            };
            match addr.send(Execute(command)).await {
                Ok(Ok(events)) => {
                    let reservation = events.into_iter().find_map(|event| match event {
                        InventoryEvent::StockReserved { reservation } => Some(reservation),
                        _ => None,
                    });
                    made.extend(reservation.map(|r| (addr, r)));
                }
                Ok(Err(CommandError::Refused(error))) => {
                    failure = Some(ReserveError::Refused { warehouse: request.warehouse.clone(), error });
                    break;
                }
                Ok(Err(CommandError::NotDurable(error))) => {
                    failure = Some(ReserveError::NotDurable { warehouse: request.warehouse.clone(), error });
                    break;
                }
                Err(_) => {
                    failure = Some(ReserveError::Unavailable { warehouse: request.warehouse.clone() });
                    break;
                }
            }
        }
        let Some(failure) = failure else {
            return Ok(made.into_iter().map(|(_, reservation)| reservation).collect());
        };
        for (addr, reservation) in made.into_iter().rev() {
            let release = InventoryCommand::ReleaseReservation { reservation: reservation.id.clone() };
            // A reservation that expired meanwhile is already released; nothing else can fail.
            if let Ok(Err(error)) = addr.send(Execute(release)).await {
                tracing::debug!(reservation = %reservation.id, %error, "rollback found the reservation gone");
            }
        }
        Err(failure)
    }
}
