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
//! Activity keeps a cart: when less than two thirds of its time is left, a change renews
//! it (and every hold) for the commerce's cart lifetime (`cart_lifetime_seconds`, 15
//! minutes unless set). When its time comes the cart records its expiry and releases its
//! holds. An ended cart (checked out or expired) still answers for `ENDED_CART_KEPT` (or
//! until `kept_until`, when sooner), then stops and leaves memory; one a restart brings
//! back answers for as long again.

mod abandon;
mod actor;
mod add_line;
mod address;
mod carts;
mod change_line;
mod checkout;
mod delivery;
mod one_center;
mod read;
mod remove_line;
mod reserve;

pub use abandon::Abandon;
pub use add_line::AddLine;
pub use address::{Keeping, SetAddress, SetPromoCode};
pub use carts::{Carts, CartsSetup};
pub use change_line::ChangeLine;
pub use checkout::CheckOut;
pub use delivery::{ChooseDelivery, DeliveryOptions, DeliveryView};
pub use read::{CopyCart, GetCart};
pub use remove_line::RemoveLine;

use actor::settle;
use reserve::{ask, hold, releases, send_all};

use std::collections::hash_map::RandomState;
use std::collections::VecDeque;
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
use mercato_engine::cart::{
    Cart, CartCommand, CartContext, CartEvent, CartStatus, DeliveryChoice, Hold, ShippingAddress,
};
use mercato_engine::commerce::model::ShipmentPreference;
use mercato_engine::delivery::{pickup_points, PickupPoint, PlannedShipment};
use mercato_engine::inventory::{InventoryCommand, InventoryEvent, Timestamp};
use mercato_engine::order::quote::{plan, price, settle_choice};
use mercato_engine::order::Order;
use mercato_engine::workflow::hold::{Effect, Found, Held, HoldRequest, Holding, Mode, Outcome, Reserved, Step};
use mercato_engine::{Commerce, DomainError};
use mercato_persistence::log::{Lsn, Receipt};

use crate::clock::Clock;
use crate::error::ActorError;
use crate::idempotency::{Answer, Idempotency, Remembered, Stamp};
use crate::journal::{Committed, Journal, NotDurable};
use crate::order::Orders;
use crate::payment::Gateways;
use crate::stored::{self, CartCopy, CartsSnapshot, RECORD_CART};
use crate::warehouse::{ExecuteQueued, Gated, PeekAvailability, Reply, WarehouseActor, WarehouseHandle, Warehouses};

/// How long a cart (and what it holds) lives without activity when its commerce does not
/// set a lifetime (`cart_lifetime_seconds`).
pub const CART_LIFETIME_MS: i64 = mercato_engine::commerce::model::CART_LIFETIME_SECONDS_DEFAULT as i64 * 1000;

/// A change renews a cart of `lifetime_ms` when less than this is left: a third of its
/// life has passed.
pub fn renew_below_ms(lifetime_ms: i64) -> i64 {
    lifetime_ms * 2 / 3
}

/// The longest the warehouses hold a cart's units past the cart's own time.
pub const HOLD_GRACE_MS_MAX: i64 = 60_000;

/// Until when the warehouses hold the units of a cart that lasts until `expires_at`: a
/// little longer than the cart (a third of its lifetime, at most `HOLD_GRACE_MS_MAX`). The
/// cart lets them go itself when its time comes; the warehouses' own expiry is the backstop
/// for a cart that is gone, and the grace keeps a renewal, which reaches them after the
/// cart recorded it, from arriving after they let the units go (a cart renewed just before
/// its end lost its units and its checkout was refused `stock_lost`).
pub fn held_until(expires_at: Timestamp, lifetime_ms: i64) -> Timestamp {
    Timestamp(expires_at.0.saturating_add((lifetime_ms / 3).min(HOLD_GRACE_MS_MAX)))
}

/// Until when a cart stays in memory to answer: an open or checked-out cart until its own
/// time ends; an expired one for another lifetime after it (`lifetime_ms`), so that the
/// shopper reads it as expired and a checkout of it is refused `cart_expired`, not
/// `unknown_cart`.
pub fn kept_until(cart: &Cart, lifetime_ms: i64) -> Timestamp {
    match cart.status {
        CartStatus::Expired => Timestamp(cart.expires_at.0.saturating_add(lifetime_ms)),
        CartStatus::Open | CartStatus::CheckedOut => cart.expires_at,
    }
}
/// How long an ended cart stays in memory to answer (at most its lifetime).
pub const ENDED_CART_KEPT: Duration = Duration::from_secs(10);

/// Messages a cart may queue: one shopper's requests, with room for a burst of retries.
pub const CART_MAILBOX_CAPACITY_MAX: usize = 64;
/// How long a cart waits for a warehouse's answer.
pub const CART_WAREHOUSE_TIMEOUT: Duration = Duration::from_secs(4);
/// How soon a cart whose expiry the log could not take tries again.
const CART_EXPIRY_RETRY: Duration = Duration::from_secs(1);

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

type Pending = Pin<Box<dyn Future<Output = Result<CartReply, ActorError>>>>;

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
        if self.cart.status != CartStatus::Open {
            self.leave_later(ctx);
        }
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
