//! Orders after checkout: `OrderActor`, one per commerce, owns every order of the
//! commerce and every command on one after its placement. Checkout hands it the placed
//! order (`PlaceOrder`: one record that also ends the cart, so an order and its cart never
//! disagree after a crash); later commands (`ExecuteOrder`), reads (`ReadOrder`) and the
//! snapshot's copy (`CopyOrders`) are messages like any other, so the orders of a commerce
//! change one at a time in the order their messages came.
//!
//! A handler never waits: it decides, records and applies in one step and hands back the
//! log's receipt (or the LSN of the order's last record), and `Orders`, the handle the
//! rest of the node holds, waits for the log outside the actor. No client hears of an
//! order, or of a change to one, before its record is acknowledged.
//!
//! # Layout
//! - `actor.rs`: the actor and its table of orders.
//! - `place.rs`, `execute.rs`, `read.rs`, `copy.rs`: one message each.

mod actor;
mod copy;
mod execute;
mod place;
mod read;

use std::collections::HashSet;
use std::sync::Arc;

use actix::prelude::*;
use mercato_engine::order::{Order, OrderCommand};
use mercato_persistence::log::{Lsn, Receipt};

pub use actor::OrderActor;
pub use copy::CopyOrders;
pub use execute::ExecuteOrder;
pub use place::PlaceOrder;
pub use read::{ListOrders, OrderIds, OrderPage, ReadOrder, ORDERS_EXAMINED_PER_SHOWN};

use crate::clock::Clock;
use crate::error::ActorError;
use crate::idempotency::Remembered;
use crate::journal::{Journal, NotDurable};
use crate::stored::OrdersSnapshot;

/// Messages the order actor may queue: checkouts handing orders over and back-office
/// commands, with room for a flash sale's burst of checkouts on one commerce.
pub const ORDERS_MAILBOX_CAPACITY_MAX: usize = 4096;

/// What the rest of the node holds of a commerce's orders.
#[derive(Clone)]
pub struct Orders {
    addr: Addr<OrderActor>,
    journal: Journal,
}

impl Orders {
    /// Starts the commerce's order actor on the current arbiter with the orders and the
    /// answers kept under keys that recovery found.
    pub fn start(
        commerce: &str,
        journal: Journal,
        clock: Clock,
        recovered: Vec<Order>,
        answers: Vec<Remembered>,
    ) -> Self {
        let actor = OrderActor::new(commerce, journal.clone(), clock, recovered, answers);
        let mut context = Context::new();
        context.set_mailbox_capacity(ORDERS_MAILBOX_CAPACITY_MAX);
        let addr = context.run(actor);
        Self { addr, journal }
    }

    /// Records a placed order (with the answer kept under the checkout's key) and lists
    /// it. The receipt resolves once the record is durable.
    pub async fn place(
        &self,
        order: Arc<Order>,
        remembered: Option<Remembered>,
    ) -> Result<Option<Receipt>, NotDurable> {
        self.addr
            .send(PlaceOrder { order, remembered })
            .await
            .map_err(|_| NotDurable::unknown("the order actor stopped before it answered".into()))?
    }

    /// The order once the log has acknowledged its last record (durable in `sync` mode,
    /// written in `async`), or refused as not durable when the log failed first: no client
    /// may see an order, or a change to one, the log could still lose.
    pub async fn read(&self, id: &str) -> Result<Arc<Order>, ActorError> {
        let (order, lsn) = self.ask(ReadOrder { id: id.to_owned() }).await??;
        self.acknowledged(lsn).await?;
        Ok(order)
    }

    /// A page of the order list once the log has acknowledged every record it shows.
    pub async fn list(&self, list: ListOrders) -> Result<OrderPage, ActorError> {
        let page = self.ask(list).await??;
        self.acknowledged(page.lsn).await?;
        Ok(page)
    }

    /// The order as it is in memory, its last change possibly not yet durable: for the
    /// node's own use and its tests. Clients read through `read`.
    pub async fn get(&self, id: &str) -> Option<Arc<Order>> {
        self.ask(ReadOrder { id: id.to_owned() }).await.ok()?.ok().map(|(order, _)| order)
    }

    /// Runs a command on an order: recorded, applied, and answered once durable with the
    /// order as this command left it. A refusal is answered only once the order's last
    /// record is acknowledged too: it was decided on that record's state.
    pub async fn execute(&self, id: &str, command: OrderCommand) -> Result<Arc<Order>, ActorError> {
        match self.ask(ExecuteOrder { id: id.to_owned(), command }).await? {
            Ok((changed, receipt)) => {
                if let Some(receipt) = receipt {
                    receipt.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
                }
                Ok(changed)
            }
            Err((refused, before)) => {
                self.acknowledged(before).await?;
                Err(refused)
            }
        }
    }

    /// Every order for a snapshot, with the LSN the part covers.
    pub async fn snapshot(&self) -> Result<(OrdersSnapshot, Lsn), ActorError> {
        self.ask(CopyOrders).await
    }

    /// The ids of every placed order.
    pub async fn ids(&self) -> Result<HashSet<String>, ActorError> {
        self.ask(OrderIds).await
    }

    /// How many orders are placed.
    pub async fn len(&self) -> usize {
        self.ids().await.map_or(0, |ids| ids.len())
    }

    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }

    async fn ask<M>(&self, message: M) -> Result<M::Result, ActorError>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        OrderActor: Handler<M>,
    {
        self.addr.send(message).await.map_err(|_| ActorError::Stopped("the order actor".into()))
    }

    /// Waits until the log has acknowledged record `lsn`. A failed log refuses outright:
    /// what waits here (a read, a refusal) changed nothing, so its outcome is not unknown.
    async fn acknowledged(&self, lsn: Lsn) -> Result<(), NotDurable> {
        match self.journal.unsettled(lsn) {
            Some(wait) => wait.await.map_err(|failure| NotDurable::refused(failure.reason)),
            None => Ok(()),
        }
    }
}
