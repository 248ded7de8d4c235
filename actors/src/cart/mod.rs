//! `CartActor`: one per open cart. It owns the cart's lines and the holds (warehouse
//! reservations) their units come from, and makes each change whole: a line that grows
//! reserves its new units in the warehouses first, then records itself; a line that
//! shrinks or goes records itself first, then lets its units go. So a warehouse always
//! holds at least what the cart records (until the reservation's expiry), and a crash
//! between the two steps leaves at most units held that no cart counts, which expire.
//!
//! A change runs as an atomic response: the cart takes no other message while it waits
//! for the warehouses and the log, so two requests on one cart never interleave.
//!
//! A change's warehouse records are queued on the log before the cart's own record, and
//! the client is answered once the cart's record is durable, which makes the warehouse
//! records durable too (the log is one ordered stream): a change costs one wait for the
//! disk, not two.
//!
//! Activity keeps a cart: when less than `CART_RENEW_BELOW_MS` of its time is left, a
//! change renews it (and every hold) for `CART_LIFETIME_MS`. When its time comes the cart
//! records its expiry, releases its holds and stops.

mod checkout;

pub use checkout::CheckOut;

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix::fut::{wrap_future, ActorFutureExt};
use actix::prelude::*;
use arc_swap::ArcSwap;
use dashmap::DashMap;
use mercato_engine::cart::{Cart, CartCommand, CartContext, CartEvent, Hold, Supply, LOW_STOCK_UNITS};
use mercato_engine::commerce::model::Place;
use mercato_engine::commerce::model::ShipmentPreference;
use mercato_engine::delivery::{pickup_points, single_center, PickupPoint, PlannedShipment};
use mercato_engine::inventory::{
    candidate_warehouses, select_sources, Candidate, InventoryCommand, InventoryEvent, Timestamp,
};
use mercato_engine::order::quote::{plan, price, settle_choice};
use mercato_engine::order::{DeliveryChoice, Order, ShippingAddress};
use mercato_engine::{Commerce, DomainError};
use mercato_persistence::log::{Lsn, Receipt};

use crate::clock::Clock;
use crate::idempotency::{Answer, Idempotency, Remembered, Stamp};
use crate::journal::{CartCopy, CartEntryRef, CartsSnapshot, Journal, NotDurable, RECORD_CART};
use crate::order::Orders;
use crate::payment::Gateways;
use crate::warehouse::{
    Busy, CommandError, ExecuteQueued, Gated, PeekAvailability, Reply, WarehouseActor, WarehouseHandle, Warehouses,
};

/// How long a cart (and what it holds) lives without activity.
pub const CART_LIFETIME_MS: i64 = 15 * 60_000;
/// A change renews the cart when less than this is left: a third of its life has passed.
pub const CART_RENEW_BELOW_MS: i64 = CART_LIFETIME_MS * 2 / 3;
/// Messages a cart may queue: one shopper's requests, with room for a burst of retries.
pub const CART_MAILBOX_CAPACITY_MAX: usize = 64;
/// How long a cart waits for a warehouse's answer.
pub const CART_WAREHOUSE_TIMEOUT: Duration = Duration::from_secs(4);
/// How soon a cart whose expiry the log could not take tries again.
const CART_EXPIRY_RETRY: Duration = Duration::from_secs(1);
/// What a replay answers in place of an answer too large to keep in its record.
const ANSWER_TOO_LARGE: &[u8] = br#"{"detail":"the change was made; its answer was too large to keep for replays"}"#;

/// Why a cart change was not made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartError {
    #[error(transparent)]
    Refused(#[from] DomainError),
    #[error(transparent)]
    NotDurable(#[from] NotDurable),
    /// A warehouse's mailbox was full: nothing was held; retry shortly.
    #[error("warehouse \"{0}\" is busy; retry shortly")]
    Busy(String),
    /// A warehouse did not answer in time (or is not running).
    #[error("warehouse \"{0}\" did not answer; retry shortly")]
    Unavailable(String),
    /// The payment gateway could not be asked or did not answer in time: nothing was
    /// charged that the node knows of (an approval that comes later is voided).
    #[error("payment gateway \"{0}\" did not answer; retry shortly")]
    Gateway(String),
}

impl CartError {
    /// A stable code: the engine's for a refusal, then as for warehouse commands.
    pub fn code(&self) -> &'static str {
        match self {
            CartError::Refused(error) => error.code(),
            CartError::NotDurable(NotDurable { queued: false, .. }) => "not_recorded",
            CartError::NotDurable(NotDurable { queued: true, .. }) => "outcome_unknown",
            CartError::Busy(_) => "warehouse_busy",
            CartError::Unavailable(_) => "warehouse_unavailable",
            CartError::Gateway(_) => "gateway_unavailable",
        }
    }

    fn from_command(error: CommandError) -> Self {
        match error {
            CommandError::Refused(error) => CartError::Refused(error),
            CommandError::NotDurable(error) => CartError::NotDurable(error),
        }
    }

    /// Whether the change certainly did not happen (so its idempotency key is free again).
    pub fn nothing_changed(&self) -> bool {
        !matches!(self, CartError::NotDurable(NotDurable { queued: true, .. }))
    }
}

/// What a cart request answers: the cart as the change left it, the line it was about,
/// and, when that line's units came from stock that is running out, the units left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartReply {
    /// Shared with the actor: a reply costs no copy of the cart, and the actor copies it
    /// only if it changes again while a reply still holds it.
    pub cart: Arc<Cart>,
    pub line: Option<String>,
    pub low_stock: Option<u32>,
    /// The answer remembered under the request's idempotency key.
    pub answer: Option<Answer>,
    /// The order checkout placed.
    pub order: Option<Arc<Order>>,
}

/// Builds the answer to keep under an idempotency key from the reply.
pub type CartRespond = Box<dyn FnOnce(&CartReply) -> Answer + Send>;

/// A request's idempotency key, and how to build the answer to keep under it.
pub struct CartRemember {
    pub stamp: Stamp,
    pub respond: CartRespond,
    /// Whether the cart frees the key when the change is refused. The last part of a cart
    /// created whole leaves that to the route, which first ends the half-made cart.
    pub frees_key: bool,
}

impl CartRemember {
    /// The key the cart frees when the change certainly did not happen.
    fn key_to_free(&self) -> Option<Stamp> {
        self.frees_key.then(|| self.stamp.clone())
    }
}

/// When a change answers.
pub enum Answering {
    /// Once its record is durable: a client's own request.
    Durable,
    /// Once durable, the answer kept under the request's idempotency key.
    Kept(CartRemember),
    /// Once its record is queued on the log: a part of a cart created whole that is not
    /// its last. Only the last part's answer reaches the client, and the log acknowledges
    /// a record only after every record before it, so that answer still waits for all of
    /// them; the parts before it no longer wait for a sync each. A refusal still waits
    /// for what the cart recorded before it.
    Queued,
}

impl Answering {
    fn key_to_free(&self) -> Option<Stamp> {
        match self {
            Answering::Kept(remember) => remember.key_to_free(),
            Answering::Durable | Answering::Queued => None,
        }
    }

    /// The key and answer to keep, and whether the answer waits for durability.
    fn split(self) -> (Option<CartRemember>, bool) {
        match self {
            Answering::Durable => (None, true),
            Answering::Kept(remember) => (Some(remember), true),
            Answering::Queued => (None, false),
        }
    }
}

impl From<Option<CartRemember>> for Answering {
    fn from(remember: Option<CartRemember>) -> Self {
        remember.map_or(Answering::Durable, Answering::Kept)
    }
}

type Pending = Pin<Box<dyn Future<Output = Result<CartReply, CartError>>>>;

/// Random-looking ids that do not repeat across restarts: a per-process keyed hash of a
/// counter. A cart id is what a shopper holds, so it must not be guessable from another.
struct Ids {
    key: RandomState,
    next: AtomicU64,
}

impl Ids {
    fn new() -> Self {
        Self { key: RandomState::new(), next: AtomicU64::new(0) }
    }

    fn token(&self) -> u64 {
        let mut hasher = self.key.build_hasher();
        hasher.write_u64(self.next.fetch_add(1, Ordering::Relaxed));
        hasher.finish()
    }

    fn cart(&self) -> String {
        format!("{:016x}{:016x}", self.token(), self.token())
    }
}

/// The carts' metrics, per commerce.
struct Meters {
    active: metrics::Gauge,
    created: metrics::Counter,
    expired: metrics::Counter,
}

/// What every cart of a commerce shares.
struct Shared {
    commerce: String,
    published: Arc<ArcSwap<Commerce>>,
    warehouses: Warehouses,
    clock: Clock,
    journal: Journal,
    idempotency: Idempotency,
    orders: Orders,
    gateways: Gateways,
    actors: DashMap<String, Addr<CartActor>>,
    /// Answers carts gave under idempotency keys, oldest first, kept for the retention
    /// (a cart that ended still answers a retry of its creation).
    remembered: Mutex<VecDeque<Remembered>>,
    ids: Ids,
    meters: Meters,
    /// The arbiter every cart of the commerce runs on: the one the commerce started on,
    /// never an HTTP worker's, which may stop before the node takes its last snapshot.
    arbiter: ArbiterHandle,
    /// Held while a cart is created (its record queued and its actor listed) and while a
    /// snapshot reads the LSN it covers and lists the carts: a cart whose creation record
    /// a snapshot covers is always in it.
    creating: Mutex<()>,
}

impl Shared {
    fn creating(&self) -> MutexGuard<'_, ()> {
        self.creating.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn remembered(&self) -> MutexGuard<'_, VecDeque<Remembered>> {
        self.remembered.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps an answer given under a key (in memory; snapshots carry it).
    fn keep(&self, remembered: &Remembered) {
        let mut kept = self.remembered();
        while kept.front().is_some_and(|r| r.expired(remembered.at)) {
            kept.pop_front();
        }
        kept.push_back(remembered.clone());
    }
}

/// The carts of one commerce: its open carts' actors by id.
#[derive(Clone)]
pub struct Carts {
    shared: Arc<Shared>,
}

/// Where a commerce's carts start from and what they use.
pub struct CartsSetup {
    pub commerce: String,
    pub published: Arc<ArcSwap<Commerce>>,
    pub warehouses: Warehouses,
    pub clock: Clock,
    pub journal: Journal,
    pub idempotency: Idempotency,
    /// Where checkout places orders.
    pub orders: Orders,
    /// The payment gateways checkout asks.
    pub gateways: Gateways,
    /// Open carts recovered from the snapshot and the log.
    pub recovered: Vec<CartCopy>,
    /// Answers carts gave under idempotency keys, recovered.
    pub answers: Vec<Remembered>,
}

impl Carts {
    /// Starts an actor for every recovered open cart on the current arbiter; a cart whose
    /// time passed while the node was down expires as soon as it runs.
    pub fn start(setup: CartsSetup) -> Self {
        let labels = [("commerce", setup.commerce.clone())];
        let shared = Arc::new(Shared {
            commerce: setup.commerce,
            published: setup.published,
            warehouses: setup.warehouses,
            clock: setup.clock,
            journal: setup.journal,
            idempotency: setup.idempotency,
            orders: setup.orders,
            gateways: setup.gateways,
            actors: DashMap::new(),
            remembered: Mutex::new(VecDeque::new()),
            ids: Ids::new(),
            arbiter: Arbiter::current(),
            creating: Mutex::new(()),
            meters: Meters {
                active: metrics::gauge!("mercato_carts_active", &labels),
                created: metrics::counter!("mercato_carts_created_total", &labels),
                expired: metrics::counter!("mercato_carts_expired_total", &labels),
            },
        });
        let now = shared.clock.now();
        let mut answers = setup.answers;
        answers.sort_by_key(|r| r.at);
        answers.dedup();
        for answer in answers.into_iter().filter(|r| !r.expired(now)) {
            shared.idempotency.remember(answer.clone());
            shared.remembered().push_back(answer);
        }
        let carts = Self { shared };
        for copy in setup.recovered {
            carts.run(Arc::new(copy.cart), copy.covers);
        }
        carts
    }

    fn run(&self, cart: Arc<Cart>, last_lsn: Lsn) {
        let id = cart.id.clone();
        let shared = Arc::clone(&self.shared);
        let addr = CartActor::start_in_arbiter(&self.shared.arbiter, move |context: &mut Context<CartActor>| {
            context.set_mailbox_capacity(CART_MAILBOX_CAPACITY_MAX);
            CartActor { cart, shared, last_lsn }
        });
        self.shared.actors.insert(id, addr);
        self.shared.meters.active.set(self.shared.actors.len() as f64);
    }

    /// The arbiter (thread) the carts run on: work that asks a cart several things in turn
    /// runs there, so each ask stays on one thread.
    pub fn arbiter(&self) -> &ArbiterHandle {
        &self.shared.arbiter
    }

    /// The actor of an open cart.
    pub fn get(&self, id: &str) -> Option<Addr<CartActor>> {
        self.shared.actors.get(id).map(|entry| entry.value().clone())
    }

    /// How many carts are open.
    pub fn len(&self) -> usize {
        self.shared.actors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shared.actors.is_empty()
    }

    /// Creates a cart for `context` (validated against the commerce) and answers as
    /// `answering` says.
    pub fn open(
        &self,
        context: CartContext,
        answering: Answering,
    ) -> impl Future<Output = Result<CartReply, CartError>> + 'static {
        let stamp = answering.key_to_free();
        let created = self.create(context, answering);
        let shared = Arc::clone(&self.shared);
        async move {
            match created {
                Ok((reply, receipt, remembered)) => settle(&shared, reply, receipt, remembered, stamp).await,
                Err(error) => {
                    if let (true, Some(stamp)) = (error.nothing_changed(), &stamp) {
                        shared.idempotency.abandon(stamp);
                    }
                    Err(error)
                }
            }
        }
    }

    fn create(
        &self,
        context: CartContext,
        answering: Answering,
    ) -> Result<(CartReply, Option<Receipt>, Option<Remembered>), CartError> {
        let (remember, waits) = answering.split();
        let shared = &self.shared;
        let now = shared.clock.now();
        let id = shared.ids.cart();
        let expires_at = Timestamp(now.0.saturating_add(CART_LIFETIME_MS));
        let event = Cart::create(&id, context, &shared.published.load(), expires_at)?;
        let cart = Cart::from_created(&event).ok_or_else(|| DomainError::UnknownCart { id: id.clone() })?;
        let events = [event];
        let entry = CartEntryRef { commerce: &shared.commerce, cart: &id, events: &events, remembered: None };
        let bare = shared.journal.encode(&entry)?;
        let creating = shared.creating();
        let slot = shared.journal.slot()?;
        let reply = CartReply { cart: Arc::new(cart), line: None, low_stock: None, answer: None, order: None };
        let remembered = remember.map(|r| Remembered { stamp: r.stamp, answer: (r.respond)(&reply), at: now });
        let payload = with_answer(&shared.journal, bare, entry, remembered.as_ref())?;
        let receipt = shared.journal.append_in(slot, RECORD_CART, payload)?;
        if let Some(remembered) = &remembered {
            shared.keep(remembered);
        }
        shared.meters.created.increment(1);
        self.run(Arc::clone(&reply.cart), receipt.as_ref().map_or(0, Receipt::lsn));
        drop(creating);
        let reply = CartReply { answer: remembered.as_ref().map(|r| r.answer.clone()), ..reply };
        Ok((reply, receipt.filter(|_| waits), remembered))
    }

    /// Every open cart's state for a snapshot, with the LSN the part covers: every cart
    /// change at or below it is in the copies (a cart that ended by then is left out).
    pub async fn snapshot(&self) -> (CartsSnapshot, Lsn) {
        let (covers, actors) = {
            let _creating = self.shared.creating();
            let covers = self.shared.journal.covers();
            let actors: Vec<Addr<CartActor>> = self.shared.actors.iter().map(|entry| entry.value().clone()).collect();
            (covers, actors)
        };
        let mut carts = Vec::with_capacity(actors.len());
        for actor in actors {
            // A cart that stopped meanwhile recorded its end; it is left out.
            if let Ok(copy) = actor.send(CopyCart).await {
                carts.push(copy);
            }
        }
        carts.sort_by(|a, b| a.cart.id.cmp(&b.cart.id));
        // Copied after the carts, so it holds every answer their copies include.
        let now = self.shared.clock.now();
        let remembered = {
            let mut kept = self.shared.remembered();
            while kept.front().is_some_and(|r| r.expired(now)) {
                kept.pop_front();
            }
            kept.iter().cloned().collect()
        };
        (CartsSnapshot { commerce: self.shared.commerce.clone(), carts, remembered }, covers)
    }
}

/// The record's bytes with the answer kept under its key; an answer too large for a
/// record is replaced by a note, so the change is still made once.
fn with_answer(
    journal: &Journal,
    bare: Option<Vec<u8>>,
    entry: CartEntryRef<'_>,
    remembered: Option<&Remembered>,
) -> Result<Option<Vec<u8>>, NotDurable> {
    let Some(remembered) = remembered else { return Ok(bare) };
    match journal.encode(&CartEntryRef { remembered: Some(remembered), ..entry }) {
        Ok(payload) => Ok(payload),
        Err(_) => {
            let mut shortened = remembered.clone();
            shortened.answer.body = ANSWER_TOO_LARGE.to_vec();
            journal.encode(&CartEntryRef { remembered: Some(&shortened), ..entry })
        }
    }
}

/// Waits until a change is durable, then tells the key table its answer and replies.
async fn settle(
    shared: &Shared,
    reply: CartReply,
    receipt: Option<Receipt>,
    remembered: Option<Remembered>,
    stamp: Option<Stamp>,
) -> Result<CartReply, CartError> {
    if let Some(receipt) = receipt {
        // The change was applied: its outcome is unknown until the log says; the key stays
        // in flight if the log fails.
        receipt.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
    }
    match remembered {
        Some(remembered) => shared.idempotency.remember(remembered),
        None => {
            if let Some(stamp) = &stamp {
                shared.idempotency.abandon(stamp);
            }
        }
    }
    Ok(reply)
}

/// Sends a request to a warehouse through its gate, bounded in time.
async fn ask<M>(warehouse: &WarehouseHandle, code: &str, message: M) -> Result<M::Result, CartError>
where
    M: Message + Send + 'static,
    M::Result: Send,
    WarehouseActor: Handler<Gated<M>>,
{
    let request = warehouse.send(message).map_err(|Busy| CartError::Busy(code.to_owned()))?;
    request.timeout(CART_WAREHOUSE_TIMEOUT).await.map_err(|_| CartError::Unavailable(code.to_owned()))
}

/// Commands for warehouses that need no answer for the cart to go on (releases and
/// renewals after the cart recorded its change): sent in order, waiting for mailbox room;
/// one that fails is logged, since what it would have let go expires anyway.
async fn send_all(warehouses: Warehouses, commands: Vec<(String, InventoryCommand)>) {
    for (code, command) in commands {
        let Some(addr) = warehouses.get(&code) else { continue };
        match addr.send(ExecuteQueued(command)).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::debug!(warehouse = %code, %error, "a cart's release or renewal found nothing to do")
            }
            Err(error) => tracing::warn!(warehouse = %code, %error, "a cart's release or renewal was not delivered"),
        }
    }
}

fn releases(holds: &[Hold]) -> Vec<(String, InventoryCommand)> {
    holds
        .iter()
        .map(|h| (h.warehouse.clone(), InventoryCommand::ReleaseReservation { reservation: h.reservation.clone() }))
        .collect()
}

/// What a line's new units need: where to look and how long to hold them.
#[derive(Clone)]
struct Wanted {
    commerce: Arc<Commerce>,
    channel: String,
    destination: Place,
    /// Reservation ids start with this (the cart and line).
    prefix: String,
    sku: String,
    quantity: u32,
    expires_at: Timestamp,
    /// With multi-shipment off: the one logistic center the units must come from.
    only_center: Option<String>,
}

/// Reserves `quantity` units of a SKU across the warehouses that may serve the cart, one
/// reservation per warehouse, as source selection splits them. All or nothing: when a
/// warehouse refuses, what the others reserved is released. Availability may change
/// between reading it and reserving: a shortfall is retried once with fresh figures.
/// Returns the holds and, when units came from stock that is running out, what is left.
async fn reserve(shared: Arc<Shared>, wanted: Wanted) -> Result<(Vec<Hold>, Option<u32>), CartError> {
    let mut candidates = candidate_warehouses(&wanted.commerce, &wanted.channel, &wanted.destination);
    if let Some(center) = &wanted.only_center {
        candidates.retain(|(_, c)| c == center);
    }
    let mut attempts = 0;
    loop {
        attempts += 1;
        let today = shared.clock.today();
        let mut found = Vec::with_capacity(candidates.len());
        for (warehouse, center) in &candidates {
            let Some(handle) = shared.warehouses.handle(warehouse) else { continue };
            let mut stock = ask(handle, warehouse, PeekAvailability { skus: vec![wanted.sku.clone()] }).await?;
            if let Some(availability) = stock.remove(&wanted.sku) {
                found.push(Candidate {
                    warehouse: warehouse.clone(),
                    logistic_center: center.clone(),
                    stock: BTreeMap::from([(wanted.sku.clone(), availability)]),
                });
            }
        }
        if found.is_empty() {
            return Err(DomainError::InsufficientStock {
                sku: wanted.sku.clone(),
                requested: wanted.quantity,
                available: 0,
            }
            .into());
        }
        let on_hand: u64 = found.iter().flat_map(|c| c.stock.values()).map(|a| u64::from(a.now)).sum();
        let assignments = select_sources(&found, &[(wanted.sku.clone(), wanted.quantity)], today)?;
        let mut per_warehouse: Vec<(String, u32)> = Vec::new();
        for assignment in assignments {
            match per_warehouse.iter_mut().find(|(w, _)| *w == assignment.warehouse) {
                Some((_, quantity)) => *quantity = quantity.saturating_add(assignment.quantity),
                None => per_warehouse.push((assignment.warehouse, assignment.quantity)),
            }
        }
        let mut holds = Vec::with_capacity(per_warehouse.len());
        let mut failure = None;
        for (warehouse, quantity) in per_warehouse {
            let Some(handle) = shared.warehouses.handle(&warehouse) else {
                failure = Some(CartError::Unavailable(warehouse));
                break;
            };
            let reservation = format!("{}/{:016x}", wanted.prefix, shared.ids.token());
            let command = InventoryCommand::Reserve {
                reservation,
                sku: wanted.sku.clone(),
                quantity,
                expires_at: wanted.expires_at,
            };
            match ask(handle, &warehouse, ExecuteQueued(command)).await {
                Ok(Ok(queued)) => {
                    let made = queued.events.iter().find_map(|event| match event {
                        InventoryEvent::StockReserved { reservation } => Some(reservation),
                        _ => None,
                    });
                    if let Some(made) = made {
                        holds.push(Hold::reserved(&warehouse, made, &queued.ready_dates));
                    }
                }
                Ok(Err(error)) => {
                    failure = Some(CartError::from_command(error));
                    break;
                }
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        let Some(error) = failure else {
            let from_stock: u64 = holds
                .iter()
                .flat_map(|h| &h.parts)
                .filter(|p| p.supply == Supply::InStock)
                .map(|p| u64::from(p.quantity))
                .sum();
            let left = u32::try_from(on_hand.saturating_sub(from_stock)).unwrap_or(u32::MAX);
            let low_stock = (from_stock > 0 && left <= LOW_STOCK_UNITS).then_some(left);
            return Ok((holds, low_stock));
        };
        send_all(shared.warehouses.clone(), releases(&holds)).await;
        let shortfall = matches!(error, CartError::Refused(DomainError::InsufficientStock { .. }));
        if !(shortfall && attempts < 2) {
            return Err(error);
        }
    }
}

pub struct CartActor {
    /// Shared with the replies that show it (copied on write).
    cart: Arc<Cart>,
    shared: Arc<Shared>,
    /// The LSN of the last change this cart queued on the log.
    last_lsn: Lsn,
}

impl Actor for CartActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.schedule_expiry(ctx);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.shared.actors.remove(&self.cart.id);
        self.shared.meters.active.set(self.shared.actors.len() as f64);
    }
}

/// A change's outcome once recorded: the reply, and what remains to do before it is sent.
struct Recorded {
    reply: CartReply,
    receipt: Option<Receipt>,
    remembered: Option<Remembered>,
    /// Releases and renewals to send to warehouses.
    after: Vec<(String, InventoryCommand)>,
}

impl CartActor {
    fn schedule_expiry(&self, ctx: &mut Context<Self>) {
        let left = self.cart.expires_at.0.saturating_sub(self.shared.clock.now().0).max(0);
        let wait = Duration::from_millis(u64::try_from(left).unwrap_or(0));
        ctx.run_later(wait, |actor, ctx| actor.expire_if_due(ctx));
    }

    /// At its time the cart records its expiry, lets its holds go and stops; a renewed
    /// cart waits for its new time.
    fn expire_if_due(&mut self, ctx: &mut Context<Self>) {
        let now = self.shared.clock.now();
        if self.cart.expires_at > now {
            self.schedule_expiry(ctx);
            return;
        }
        let commerce = self.shared.published.load_full();
        let events = match self.cart.decide(&CartCommand::Expire, &commerce, now) {
            Ok(events) => events,
            Err(_) => {
                ctx.stop();
                return;
            }
        };
        let holds: Vec<Hold> = self.cart.holds().cloned().collect();
        match self.record(events, now, None, None::<fn(&Arc<Cart>) -> Remembered>) {
            Ok(_) => {
                self.shared.meters.expired.increment(1);
                tracing::debug!(cart = %self.cart.id, holds = holds.len(), "cart expired");
                actix::spawn(send_all(self.shared.warehouses.clone(), releases(&holds)));
                ctx.stop();
            }
            Err(error) => {
                tracing::warn!(cart = %self.cart.id, %error, "cart expiry not recorded; retried");
                ctx.run_later(CART_EXPIRY_RETRY, |actor, ctx| actor.expire_if_due(ctx));
            }
        }
    }

    /// The time the cart is renewed to by a change at `now`, when it is due.
    fn renewal(&self, now: Timestamp) -> Option<Timestamp> {
        (self.cart.expires_at.0.saturating_sub(now.0) < CART_RENEW_BELOW_MS)
            .then(|| Timestamp(now.0.saturating_add(CART_LIFETIME_MS)))
    }

    /// Takes a place on the log, applies `events` (with the renewal, when due) and queues
    /// their record with the answer `remember` builds from the cart they left.
    fn record(
        &mut self,
        mut events: Vec<CartEvent>,
        now: Timestamp,
        renew_to: Option<Timestamp>,
        remember: Option<impl FnOnce(&Arc<Cart>) -> Remembered>,
    ) -> Result<(Option<Receipt>, Option<Remembered>), CartError> {
        if let Some(expires_at) = renew_to {
            let commerce = self.shared.published.load_full();
            if let Ok(renewed) = self.cart.decide(&CartCommand::Renew { expires_at }, &commerce, now) {
                events.extend(renewed);
            }
        }
        let shared = Arc::clone(&self.shared);
        let id = self.cart.id.clone();
        let entry = CartEntryRef { commerce: &shared.commerce, cart: &id, events: &events, remembered: None };
        let bare = shared.journal.encode(&entry)?;
        let slot = shared.journal.slot()?;
        // The cart changes only once its record is sure to be queued. Without an answer to
        // keep, nothing can fail between here and the append, so the cart changes in place.
        let (remembered, payload) = if let Some(remember) = remember {
            let mut changed = Cart::clone(&self.cart);
            for event in &events {
                changed.apply(event);
            }
            let changed = Arc::new(changed);
            let remembered = Some(remember(&changed));
            let payload = with_answer(&shared.journal, bare, entry, remembered.as_ref())?;
            self.cart = changed;
            (remembered, payload)
        } else {
            let cart = Arc::make_mut(&mut self.cart);
            for event in &events {
                cart.apply(event);
            }
            (None, bare)
        };
        let receipt = shared.journal.append_in(slot, RECORD_CART, payload)?;
        if let Some(receipt) = &receipt {
            self.last_lsn = receipt.lsn();
        }
        if let Some(remembered) = &remembered {
            shared.keep(remembered);
        }
        Ok((receipt, remembered))
    }

    /// Records a decided change and lists what the warehouses must do after it: `after`
    /// (releases), and every hold's renewal when the cart was renewed.
    #[allow(clippy::too_many_arguments)]
    fn commit(
        &mut self,
        events: Vec<CartEvent>,
        now: Timestamp,
        renew_to: Option<Timestamp>,
        line: Option<String>,
        low_stock: Option<u32>,
        answering: Answering,
        mut after: Vec<(String, InventoryCommand)>,
    ) -> Result<Recorded, CartError> {
        let before = self.cart.expires_at;
        let (remember, waits) = answering.split();
        let build = remember.map(|r| {
            |cart: &Arc<Cart>| {
                let reply =
                    CartReply { cart: Arc::clone(cart), line: line.clone(), low_stock, answer: None, order: None };
                Remembered { stamp: r.stamp, answer: (r.respond)(&reply), at: now }
            }
        });
        let (receipt, remembered) = self.record(events, now, renew_to, build)?;
        if self.cart.expires_at != before {
            let expires_at = self.cart.expires_at;
            after.extend(self.cart.holds().map(|h| {
                (
                    h.warehouse.clone(),
                    InventoryCommand::RenewReservation { reservation: h.reservation.clone(), expires_at },
                )
            }));
        }
        let reply = CartReply {
            cart: Arc::clone(&self.cart),
            line,
            low_stock,
            answer: remembered.as_ref().map(|r| r.answer.clone()),
            order: None,
        };
        // A queued answer drops the receipt: the record stays queued, and the last part's
        // own record is what its client waits for.
        Ok(Recorded { reply, receipt: receipt.filter(|_| waits), remembered, after })
    }

    /// Sends what follows a recorded change to the warehouses, then answers once the
    /// change is durable. A refusal is answered, as `refuse` answers one, once every
    /// change the cart made before it is acknowledged: the parts of a cart created whole
    /// before it may only be queued.
    fn finish(&self, recorded: Result<Recorded, CartError>, stamp: Option<Stamp>) -> Pending {
        let shared = Arc::clone(&self.shared);
        let before = recorded.is_err().then(|| shared.journal.unsettled(self.last_lsn)).flatten();
        Box::pin(async move {
            match recorded {
                Ok(Recorded { reply, receipt, remembered, after }) => {
                    send_all(shared.warehouses.clone(), after).await;
                    settle(&shared, reply, receipt, remembered, stamp).await
                }
                Err(error) => {
                    if let (true, Some(stamp)) = (error.nothing_changed(), &stamp) {
                        shared.idempotency.abandon(stamp);
                    }
                    if let Some(wait) = before {
                        wait.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
                    }
                    Err(error)
                }
            }
        })
    }

    /// A refusal before anything was held: answered once every change the cart made is
    /// acknowledged, so no answer rests on a change the log may lose.
    fn refuse(&self, error: CartError, stamp: Option<Stamp>) -> AtomicResponse<Self, Result<CartReply, CartError>> {
        if let (true, Some(stamp)) = (error.nothing_changed(), &stamp) {
            self.shared.idempotency.abandon(stamp);
        }
        let wait = self.shared.journal.unsettled(self.last_lsn);
        AtomicResponse::new(Box::pin(wrap_future(async move {
            if let Some(wait) = wait {
                wait.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
            }
            Err(error)
        })))
    }

    /// Reserves a line's new units, then runs `then` on the cart with them, atomically.
    fn reserving(
        &self,
        wanted: Wanted,
        then: impl FnOnce(&mut Self, Result<(Vec<Hold>, Option<u32>), CartError>) -> Pending + 'static,
    ) -> AtomicResponse<Self, Result<CartReply, CartError>> {
        let reserved = reserve(Arc::clone(&self.shared), wanted);
        AtomicResponse::new(Box::pin(
            wrap_future::<_, Self>(reserved)
                .then(move |reserved, actor, _| wrap_future::<_, Self>(then(actor, reserved))),
        ))
    }

    fn wanted(&self, line: &str, sku: &str, quantity: u32, expires_at: Timestamp) -> Wanted {
        Wanted {
            commerce: self.shared.published.load_full(),
            channel: self.cart.context.channel.clone(),
            destination: self.cart.destination(),
            prefix: format!("{}/{line}", self.cart.id),
            sku: sku.to_owned(),
            quantity,
            expires_at,
            only_center: None,
        }
    }

    /// Records a change whose new holds are `held`: when the cart refuses it (or the log
    /// cannot take it), what was held for it is let go.
    #[allow(clippy::too_many_arguments)]
    fn record_holding(
        &mut self,
        command: CartCommand,
        held: Vec<Hold>,
        renew_to: Option<Timestamp>,
        line: String,
        low_stock: Option<u32>,
        answering: Answering,
        stamp: Option<Stamp>,
    ) -> Pending {
        let now = self.shared.clock.now();
        let commerce = self.shared.published.load_full();
        let recorded = self
            .cart
            .decide(&command, &commerce, now)
            .map_err(CartError::from)
            .and_then(|events| self.commit(events, now, renew_to, Some(line), low_stock, answering, Vec::new()));
        if let Err(error) = &recorded {
            if error.nothing_changed() {
                actix::spawn(send_all(self.shared.warehouses.clone(), releases(&held)));
            }
        }
        self.finish(recorded, stamp)
    }
}

/// Adds a line of `quantity` units of `sku`: checks the quantity rules, reserves the units
/// where source selection says, and records the line with its holds. A SKU the cart
/// already holds grows that line instead (the rules then apply to the line's total).
#[derive(Message)]
#[rtype(result = "Result<CartReply, CartError>")]
pub struct AddLine {
    pub sku: String,
    pub quantity: u32,
    pub answering: Answering,
}

impl Handler<AddLine> for CartActor {
    type Result = AtomicResponse<Self, Result<CartReply, CartError>>;

    fn handle(&mut self, message: AddLine, _: &mut Self::Context) -> Self::Result {
        let now = self.shared.clock.now();
        let commerce = self.shared.published.load_full();
        let stamp = message.answering.key_to_free();
        // A SKU the cart already holds grows its line, as a change to the total would: the
        // quantity rules then apply to everything the cart holds of it, so adding the
        // product again cannot pass its maximum.
        if let Some(existing) = self.cart.lines.values().find(|l| l.sku == message.sku) {
            let (line, current) = (existing.id.clone(), existing.quantity);
            let Some(total) = current.checked_add(message.quantity) else {
                let error = DomainError::InvalidQuantity {
                    quantity: i64::from(current) + i64::from(message.quantity),
                    reason: "the line would exceed the largest quantity",
                };
                return self.refuse(error.into(), stamp);
            };
            return self.change_quantity(line, total, message.answering);
        }
        let line = self.cart.next_line_id();
        let probe = CartCommand::AddLine {
            line: line.clone(),
            sku: message.sku.clone(),
            quantity: message.quantity,
            holds: Vec::new(),
        };
        if let Err(error) = self.cart.admit(&probe, &commerce, now) {
            return self.refuse(error.into(), stamp);
        }
        let renew_to = self.renewal(now);
        let wanted = self.wanted(&line, &message.sku, message.quantity, renew_to.unwrap_or(self.cart.expires_at));
        if !commerce.config().multi_shipment.enabled {
            return self.add_in_one_center(wanted, line, message.answering, renew_to, stamp);
        }
        let AddLine { sku, quantity, answering } = message;
        self.reserving(wanted, move |actor, reserved| {
            let (holds, low_stock) = match reserved {
                Ok(reserved) => reserved,
                Err(error) => return actor.finish(Err(error), stamp),
            };
            let command = CartCommand::AddLine { line: line.clone(), sku, quantity, holds: holds.clone() };
            actor.record_holding(command, holds, renew_to, line, low_stock, answering, stamp)
        })
    }
}

/// Sets a line's quantity: more units are reserved first; fewer are recorded first, then
/// let go, latest sources first, so what the line keeps is what is ready soonest.
#[derive(Message)]
#[rtype(result = "Result<CartReply, CartError>")]
pub struct ChangeLine {
    pub line: String,
    pub quantity: u32,
}

impl Handler<ChangeLine> for CartActor {
    type Result = AtomicResponse<Self, Result<CartReply, CartError>>;

    fn handle(&mut self, message: ChangeLine, _: &mut Self::Context) -> Self::Result {
        self.change_quantity(message.line, message.quantity, Answering::Durable)
    }
}

impl CartActor {
    /// Sets a line's quantity (a `ChangeLine`, or an `AddLine` of a SKU the cart already
    /// holds), answering as `answering` says.
    fn change_quantity(
        &mut self,
        line: String,
        quantity: u32,
        answering: Answering,
    ) -> AtomicResponse<Self, Result<CartReply, CartError>> {
        let now = self.shared.clock.now();
        let commerce = self.shared.published.load_full();
        let stamp = answering.key_to_free();
        let probe = CartCommand::ChangeLine { line: line.clone(), quantity, holds: Vec::new() };
        if let Err(error) = self.cart.admit(&probe, &commerce, now) {
            return self.refuse(error.into(), stamp);
        }
        let Some(current) = self.cart.lines.get(&line).cloned() else {
            return self.refuse(DomainError::UnknownCartLine { id: line }.into(), stamp);
        };
        let renew_to = self.renewal(now);
        if quantity > current.quantity {
            let more = quantity - current.quantity;
            let mut wanted = self.wanted(&line, &current.sku, more, renew_to.unwrap_or(self.cart.expires_at));
            if !commerce.config().multi_shipment.enabled {
                // With multi-shipment off, more units come from the cart's one center.
                wanted.only_center =
                    self.cart.holds().find_map(|h| commerce.warehouse(&h.warehouse).map(|w| w.logistic_center.clone()));
            }
            return self.reserving(wanted, move |actor, reserved| {
                let (added, low_stock) = match reserved {
                    Ok(reserved) => reserved,
                    Err(error) => return actor.finish(Err(error), stamp),
                };
                let mut holds = current.holds.clone();
                holds.extend(added.iter().cloned());
                let command = CartCommand::ChangeLine { line: line.clone(), quantity, holds };
                actor.record_holding(command, added, renew_to, line, low_stock, answering, stamp)
            });
        }
        // Fewer units (or as many): the latest holds go first, the last one kept shrinks.
        let mut kept = current.holds.clone();
        let mut after = Vec::new();
        let mut fewer = current.quantity - quantity;
        while fewer > 0 {
            let Some(last) = kept.pop() else { break };
            match last.reduced(fewer) {
                Some(smaller) => {
                    after.push((
                        last.warehouse.clone(),
                        InventoryCommand::ReduceReservation { reservation: last.reservation.clone(), quantity: fewer },
                    ));
                    kept.push(smaller);
                    fewer = 0;
                }
                None => {
                    fewer -= last.quantity;
                    after.extend(releases(std::slice::from_ref(&last)));
                }
            }
        }
        let command = CartCommand::ChangeLine { line: line.clone(), quantity, holds: kept };
        let recorded = self
            .cart
            .decide(&command, &commerce, now)
            .map_err(CartError::from)
            .and_then(|events| self.commit(events, now, renew_to, Some(line), None, answering, after));
        let pending = self.finish(recorded, stamp);
        AtomicResponse::new(Box::pin(wrap_future(pending)))
    }
}

/// Removes a line: recorded first, then its units let go.
#[derive(Message)]
#[rtype(result = "Result<CartReply, CartError>")]
pub struct RemoveLine {
    pub line: String,
}

impl Handler<RemoveLine> for CartActor {
    type Result = AtomicResponse<Self, Result<CartReply, CartError>>;

    fn handle(&mut self, message: RemoveLine, _: &mut Self::Context) -> Self::Result {
        let now = self.shared.clock.now();
        let commerce = self.shared.published.load_full();
        let held = self.cart.lines.get(&message.line).map(|l| releases(&l.holds)).unwrap_or_default();
        let renew_to = self.renewal(now);
        let recorded = self
            .cart
            .decide(&CartCommand::RemoveLine { line: message.line }, &commerce, now)
            .map_err(CartError::from)
            .and_then(|events| self.commit(events, now, renew_to, None, None, Answering::Durable, held));
        let pending = self.finish(recorded, None);
        AtomicResponse::new(Box::pin(wrap_future(pending)))
    }
}

/// The cart as it stands, once every change it shows is durable (refused as not durable
/// if the log failed: the cart may then show a change the log lost).
#[derive(Message)]
#[rtype(result = "Result<CartReply, CartError>")]
pub struct GetCart;

impl Handler<GetCart> for CartActor {
    type Result = Reply<Result<CartReply, CartError>>;

    fn handle(&mut self, _: GetCart, _: &mut Self::Context) -> Self::Result {
        let reply = CartReply { cart: Arc::clone(&self.cart), line: None, low_stock: None, answer: None, order: None };
        self.once_durable(Ok(reply))
    }
}

impl CartActor {
    /// Answers a read once every change the cart made is durable, or refuses it as not
    /// durable when the log failed: no client may see a change the log could still lose.
    fn once_durable<T: 'static>(&self, read: Result<T, CartError>) -> Reply<Result<T, CartError>> {
        match self.shared.journal.unsettled(self.last_lsn) {
            None => Reply::Ready(read),
            // A read changes nothing: refused outright, not of unknown outcome.
            Some(wait) => Reply::Durable(Box::pin(async move {
                wait.await.map_err(|failure| NotDurable::refused(failure.reason))?;
                read
            })),
        }
    }
}

/// The cart's state for a snapshot, with the last LSN the log had handed out.
#[derive(Message)]
#[rtype(result = "CartCopy")]
pub struct CopyCart;

impl Handler<CopyCart> for CartActor {
    type Result = MessageResult<CopyCart>;

    fn handle(&mut self, _: CopyCart, _: &mut Self::Context) -> Self::Result {
        MessageResult(CartCopy { cart: Cart::clone(&self.cart), covers: self.shared.journal.covers() })
    }
}

impl CartActor {
    /// Records a change that holds nothing new and lets nothing go, keeping the answer
    /// as `answering` says.
    fn change(
        &mut self,
        command: CartCommand,
        answering: Answering,
    ) -> AtomicResponse<Self, Result<CartReply, CartError>> {
        let now = self.shared.clock.now();
        let commerce = self.shared.published.load_full();
        let stamp = answering.key_to_free();
        let renew_to = self.renewal(now);
        let recorded = self
            .cart
            .decide(&command, &commerce, now)
            .map_err(CartError::from)
            .and_then(|events| self.commit(events, now, renew_to, None, None, answering, Vec::new()));
        let pending = self.finish(recorded, stamp);
        AtomicResponse::new(Box::pin(wrap_future(pending)))
    }

    fn choose(
        &mut self,
        choice: DeliveryChoice,
        answering: Answering,
    ) -> AtomicResponse<Self, Result<CartReply, CartError>> {
        let commerce = self.shared.published.load_full();
        let now = self.shared.clock.now();
        let stamp = answering.key_to_free();
        let probe = CartCommand::ChooseDelivery { choice: choice.clone() };
        if let Err(error) = self.cart.admit(&probe, &commerce, now) {
            return self.refuse(error.into(), stamp);
        }
        match settle_choice(&commerce, &self.cart, choice, self.shared.clock.today()) {
            Ok(choice) => self.change(CartCommand::ChooseDelivery { choice }, answering),
            Err(error) => self.refuse(error.into(), stamp),
        }
    }
}

/// An address or delivery set as a part of a cart created whole: answered once queued
/// when a part follows it, else once durable (its answer kept under the key, if any).
pub struct Keeping<M>(pub M, pub Answering);

impl<M> Message for Keeping<M> {
    type Result = Result<CartReply, CartError>;
}

impl Handler<Keeping<SetAddress>> for CartActor {
    type Result = AtomicResponse<Self, Result<CartReply, CartError>>;

    fn handle(&mut self, message: Keeping<SetAddress>, _: &mut Self::Context) -> Self::Result {
        let Keeping(SetAddress(address), answering) = message;
        self.change(CartCommand::SetAddress { address }, answering)
    }
}

impl Handler<Keeping<ChooseDelivery>> for CartActor {
    type Result = AtomicResponse<Self, Result<CartReply, CartError>>;

    fn handle(&mut self, message: Keeping<ChooseDelivery>, _: &mut Self::Context) -> Self::Result {
        let Keeping(ChooseDelivery(choice), answering) = message;
        self.choose(choice, answering)
    }
}

/// Ends the cart now, as its expiry would: recorded, its holds let go, the actor stopped.
/// A cart created with its lines is abandoned when a later part of the creation is
/// refused, so the refusal leaves nothing held. Answers once the end is durable.
#[derive(Message)]
#[rtype(result = "Result<(), CartError>")]
pub struct Abandon;

impl Handler<Abandon> for CartActor {
    type Result = AtomicResponse<Self, Result<(), CartError>>;

    fn handle(&mut self, _: Abandon, _: &mut Self::Context) -> Self::Result {
        let now = self.shared.clock.now();
        let commerce = self.shared.published.load_full();
        let holds: Vec<Hold> = self.cart.holds().cloned().collect();
        let recorded = self
            .cart
            .decide(&CartCommand::Expire, &commerce, now)
            .map_err(CartError::from)
            .and_then(|events| self.record(events, now, None, None::<fn(&Arc<Cart>) -> Remembered>));
        let receipt = match recorded {
            Ok((receipt, _)) => receipt,
            Err(error) => return AtomicResponse::new(Box::pin(wrap_future(async move { Err(error) }))),
        };
        tracing::debug!(cart = %self.cart.id, holds = holds.len(), "cart abandoned");
        let warehouses = self.shared.warehouses.clone();
        let ended = async move {
            if let Some(receipt) = receipt {
                receipt.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
            }
            send_all(warehouses, releases(&holds)).await;
            Ok(())
        };
        // The cart is ended in memory already; the actor stops once the answer is ready.
        AtomicResponse::new(Box::pin(wrap_future::<_, Self>(ended).map(|ended, _, ctx: &mut Context<Self>| {
            ctx.stop();
            ended
        })))
    }
}

/// Sets where the cart's goods go (clearing a delivery choice made for another address).
#[derive(Message)]
#[rtype(result = "Result<CartReply, CartError>")]
pub struct SetAddress(pub ShippingAddress);

impl Handler<SetAddress> for CartActor {
    type Result = AtomicResponse<Self, Result<CartReply, CartError>>;

    fn handle(&mut self, message: SetAddress, _: &mut Self::Context) -> Self::Result {
        self.change(CartCommand::SetAddress { address: message.0 }, Answering::Durable)
    }
}

/// Applies a promo code (or, with none, takes it off).
#[derive(Message)]
#[rtype(result = "Result<CartReply, CartError>")]
pub struct SetPromoCode(pub Option<String>);

impl Handler<SetPromoCode> for CartActor {
    type Result = AtomicResponse<Self, Result<CartReply, CartError>>;

    fn handle(&mut self, message: SetPromoCode, _: &mut Self::Context) -> Self::Result {
        self.change(CartCommand::SetPromoCode { code: message.0 }, Answering::Durable)
    }
}

/// Chooses how the goods are received, checked against the cart's options; shipments
/// without a chosen shipping type get the cheapest.
#[derive(Message)]
#[rtype(result = "Result<CartReply, CartError>")]
pub struct ChooseDelivery(pub DeliveryChoice);

impl Handler<ChooseDelivery> for CartActor {
    type Result = AtomicResponse<Self, Result<CartReply, CartError>>;

    fn handle(&mut self, message: ChooseDelivery, _: &mut Self::Context) -> Self::Result {
        self.choose(message.0, Answering::Durable)
    }
}

/// The ways the cart can be delivered: home-delivery shipments (or why there are none),
/// pick-up points near the address, and the channel's payment systems.
#[derive(Debug, Clone)]
pub struct DeliveryView {
    pub cart: Arc<Cart>,
    pub preference: ShipmentPreference,
    pub multi_shipment: bool,
    pub home: Result<Vec<PlannedShipment>, DomainError>,
    pub pickup: Vec<PickupPoint>,
}

#[derive(Message)]
#[rtype(result = "Result<DeliveryView, CartError>")]
pub struct DeliveryOptions {
    /// None: the commerce's default preference.
    pub preference: Option<ShipmentPreference>,
}

impl Handler<DeliveryOptions> for CartActor {
    type Result = Reply<Result<DeliveryView, CartError>>;

    /// Answered once every change the cart made is durable, as reads of the cart are: the
    /// options show the cart.
    fn handle(&mut self, message: DeliveryOptions, _: &mut Self::Context) -> Self::Result {
        let view = self.delivery_view(message);
        self.once_durable(view)
    }
}

impl CartActor {
    fn delivery_view(&self, message: DeliveryOptions) -> Result<DeliveryView, CartError> {
        let commerce = self.shared.published.load_full();
        let today = self.shared.clock.today();
        let settings = commerce.config().multi_shipment;
        let preference = message.preference.unwrap_or(settings.default_preference);
        let priced = price(&commerce, &self.cart, today)?;
        let home = if self.cart.lines.is_empty() {
            Err(DomainError::CartEmpty)
        } else {
            plan(&commerce, &self.cart, &priced, preference, today)
        };
        let pickup = self
            .cart
            .address
            .as_ref()
            .and_then(ShippingAddress::coordinates)
            .map(|at| pickup_points(&commerce, &self.cart.context.channel, at))
            .unwrap_or_default();
        Ok(DeliveryView { cart: Arc::clone(&self.cart), preference, multi_shipment: settings.enabled, home, pickup })
    }
}

/// Places the order: checks the cart again and prices it, authorises an online payment,
/// turns every hold into the order's allocations or promises, and records the order,
/// which ends the cart. A decline or a failure before the order is recorded leaves the
/// cart and its holds as they were.
/// What `reserve_in_one_center` got: the new line's holds (and low stock), and the lines
/// it moved to the one center with their new holds.
struct OneCenter {
    held: Vec<Hold>,
    low_stock: Option<u32>,
    moved: Vec<(String, Vec<Hold>)>,
}

/// With multi-shipment off a cart's units all come from one logistic center. A new line
/// is reserved in the cart's center; when that center cannot serve it, the first center
/// in the channel's priority that can serve the whole cart is found from the warehouses'
/// availability (and the cart's own holds), and every line is reserved there anew (the
/// caller records the moves and releases the old holds). No such center: an error naming
/// each line and where it could come from.
async fn reserve_in_one_center(
    shared: Arc<Shared>,
    wanted: Wanted,
    cart: String,
    new_line: String,
    lines: Vec<(String, String, u32, Vec<Hold>)>,
) -> Result<OneCenter, CartError> {
    let commerce = Arc::clone(&wanted.commerce);
    let center_of = |warehouse: &str| commerce.warehouse(warehouse).map(|w| w.logistic_center.clone());
    let current = lines.iter().flat_map(|(_, _, _, holds)| holds).find_map(|h| center_of(&h.warehouse));
    if let Some(center) = &current {
        let here = Wanted { only_center: Some(center.clone()), ..wanted.clone() };
        match reserve(Arc::clone(&shared), here).await {
            Ok((held, low_stock)) => return Ok(OneCenter { held, low_stock, moved: Vec::new() }),
            Err(CartError::Refused(DomainError::InsufficientStock { .. })) => {}
            Err(error) => return Err(error),
        }
    }
    // What each center could give the cart: availability plus the cart's own holds there.
    let mut skus: Vec<String> = lines.iter().map(|(_, sku, _, _)| sku.clone()).collect();
    skus.push(wanted.sku.clone());
    skus.sort();
    skus.dedup();
    let mut supply: BTreeMap<(String, String), u32> = BTreeMap::new();
    for (warehouse, center) in candidate_warehouses(&commerce, &wanted.channel, &wanted.destination) {
        let Some(handle) = shared.warehouses.handle(&warehouse) else { continue };
        let found = ask(handle, &warehouse, PeekAvailability { skus: skus.clone() }).await?;
        for (sku, availability) in found {
            let units = availability.total().map_or(u32::MAX, |t| u32::try_from(t).unwrap_or(u32::MAX));
            let entry = supply.entry((center.clone(), sku)).or_default();
            *entry = entry.saturating_add(units);
        }
    }
    for (_, sku, _, holds) in &lines {
        for hold in holds {
            if let Some(center) = center_of(&hold.warehouse) {
                let entry = supply.entry((center, sku.clone())).or_default();
                *entry = entry.saturating_add(hold.quantity);
            }
        }
    }
    let mut wanted_lines: Vec<(&str, &str, u32)> =
        lines.iter().map(|(line, sku, quantity, _)| (line.as_str(), sku.as_str(), *quantity)).collect();
    wanted_lines.push((&new_line, &wanted.sku, wanted.quantity));
    let center = single_center(&commerce, &wanted.channel, &wanted.destination, &wanted_lines, &supply)?;
    if current.as_deref() == Some(center.as_str()) {
        // The cart's center can serve it all after all: the shortfall was a race.
        let here = Wanted { only_center: Some(center), ..wanted };
        let (held, low_stock) = reserve(shared, here).await?;
        return Ok(OneCenter { held, low_stock, moved: Vec::new() });
    }
    let mut moved: Vec<(String, Vec<Hold>)> = Vec::with_capacity(lines.len());
    let mut outcome = Ok(());
    for (line, sku, quantity, _) in &lines {
        let there = Wanted {
            prefix: format!("{cart}/{line}"),
            sku: sku.clone(),
            quantity: *quantity,
            only_center: Some(center.clone()),
            ..wanted.clone()
        };
        match reserve(Arc::clone(&shared), there).await {
            Ok((holds, _)) => moved.push((line.clone(), holds)),
            Err(error) => {
                outcome = Err(error);
                break;
            }
        }
    }
    let new = match outcome {
        Ok(()) => reserve(Arc::clone(&shared), Wanted { only_center: Some(center), ..wanted }).await,
        Err(error) => Err(error),
    };
    match new {
        Ok((held, low_stock)) => Ok(OneCenter { held, low_stock, moved }),
        Err(error) => {
            let made: Vec<Hold> = moved.into_iter().flat_map(|(_, holds)| holds).collect();
            send_all(shared.warehouses.clone(), releases(&made)).await;
            Err(error)
        }
    }
}

impl CartActor {
    /// Adds a line with multi-shipment off: reserved in the cart's one center, or the
    /// whole cart moved to the one center that can serve it (recorded with the line, one
    /// record; the old holds let go after it).
    fn add_in_one_center(
        &mut self,
        wanted: Wanted,
        line: String,
        answering: Answering,
        renew_to: Option<Timestamp>,
        stamp: Option<Stamp>,
    ) -> AtomicResponse<Self, Result<CartReply, CartError>> {
        let lines: Vec<(String, String, u32, Vec<Hold>)> =
            self.cart.lines.values().map(|l| (l.id.clone(), l.sku.clone(), l.quantity, l.holds.clone())).collect();
        let (sku, quantity) = (wanted.sku.clone(), wanted.quantity);
        let reserved =
            reserve_in_one_center(Arc::clone(&self.shared), wanted, self.cart.id.clone(), line.clone(), lines);
        AtomicResponse::new(Box::pin(wrap_future::<_, Self>(reserved).then(move |reserved, actor, _| {
            let got = match reserved {
                Ok(got) => got,
                Err(error) => return wrap_future::<_, Self>(actor.finish(Err(error), stamp)),
            };
            let now = actor.shared.clock.now();
            let commerce = actor.shared.published.load_full();
            let mut made: Vec<Hold> = got.held.clone();
            made.extend(got.moved.iter().flat_map(|(_, holds)| holds.iter().cloned()));
            let mut before: Vec<Hold> = Vec::new();
            let mut scratch = Cart::clone(&actor.cart);
            let mut events = Vec::new();
            let mut decided = Ok(());
            let mut commands: Vec<CartCommand> = got
                .moved
                .into_iter()
                .filter_map(|(moved, holds)| {
                    let current = actor.cart.lines.get(&moved)?;
                    before.extend(current.holds.iter().cloned());
                    Some(CartCommand::ChangeLine { line: moved, quantity: current.quantity, holds })
                })
                .collect();
            commands.push(CartCommand::AddLine { line: line.clone(), sku, quantity, holds: got.held });
            for command in commands {
                match scratch.decide(&command, &commerce, now) {
                    Ok(decided_events) => {
                        for event in &decided_events {
                            scratch.apply(event);
                        }
                        events.extend(decided_events);
                    }
                    Err(error) => {
                        decided = Err(CartError::from(error));
                        break;
                    }
                }
            }
            let recorded = decided.and_then(|()| {
                actor.commit(events, now, renew_to, Some(line), got.low_stock, answering, releases(&before))
            });
            if recorded.as_ref().is_err_and(CartError::nothing_changed) {
                actix::spawn(send_all(actor.shared.warehouses.clone(), releases(&made)));
            }
            wrap_future::<_, Self>(actor.finish(recorded, stamp))
        })))
    }
}
