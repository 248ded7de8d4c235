//! `WarehouseActor`: the owner of one warehouse's stock. Every change is one message
//! handled synchronously: decide against the current state, take a place on the log's
//! queue, apply the events and queue their record; the reply waits until the log says they
//! are durable. There is no await
//! between the check and the change, so two carts can never both take the last unit, and
//! no client hears of a change before it is durable. Reservation expiry runs on the actor's own timer, on the same clock as every
//! command, so a reservation expires once, at its time, whatever else is queued.

mod actor;
mod caps;
mod execute;
mod handle;
mod meters;
mod read;
mod repair;
mod view;

pub use caps::CapLedger;
pub use execute::{Execute, ExecuteAll, ExecuteQueued, ExpireNow, Queued};
pub use handle::{Gated, ReserveRequest, Ticket, WarehouseHandle, Warehouses};
pub use meters::{HOT_SKUS, HOT_SKU_SERIES_MAX, HOT_SKU_WINDOW_TICKS};
pub use read::{
    CopyState, ForgetSpentLines, GetAvailability, GetOrderLines, GetStock, PeekAvailability, SnapshotCopy, SpentLines,
    StockView, TakeSnapshot,
};
pub use repair::{FindUnplaced, Unplaced};
pub use view::{ExecuteAndView, Remember, Respond, Viewed};

use meters::Meters;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use arc_swap::ArcSwap;
use chrono::NaiveDate;
use mercato_engine::inventory::{
    Availability, InventoryCommand, InventoryCtx, InventoryEvent, OrderLineStock, Reservation, StockRecord, Timestamp,
    WarehouseStock,
};
use mercato_engine::Commerce;

use crate::clock::{date_of, Clock};
use crate::error::ActorError;
use crate::idempotency::{Answer, Idempotency, Remembered, Stamp};
use crate::journal::{Committed, Journal, NotDurable, Uncommitted};
use crate::stored::{self, RECORD_WAREHOUSE};
use mercato_persistence::log::Receipt;

/// Messages a warehouse actor may queue. Senders that find it full wait (or, on request
/// paths, answer 503): the bound keeps a burst from growing memory without limit.
pub const WAREHOUSE_MAILBOX_CAPACITY_MAX: usize = 4096;

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
    /// What the commerce's warehouses committed of the caps they share.
    caps: Arc<CapLedger>,
    /// Who hears that order lines' units were served or moved (the commerce's orders).
    orders: Option<Recipient<StockMoved>>,
}

/// Units of some order lines (by key) were served or moved here: an arrival allocated or
/// moved promised units, a batch's date changed. The orders refresh their shipments.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct StockMoved {
    pub keys: Vec<String>,
}

/// From now on, tell `0` of every order line whose units move.
#[derive(Message)]
#[rtype(result = "()")]
pub struct NotifyOrders(pub Recipient<StockMoved>);

impl Handler<NotifyOrders> for WarehouseActor {
    type Result = ();

    fn handle(&mut self, message: NotifyOrders, _: &mut Self::Context) {
        self.orders = Some(message.0);
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
async fn durable<T>(value: T, receipt: Option<mercato_persistence::log::Receipt>) -> Result<T, ActorError> {
    if let Some(receipt) = receipt {
        receipt.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
    }
    Ok(value)
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
