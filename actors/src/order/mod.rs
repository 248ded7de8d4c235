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
//! A change that reaches the order's stock (a shipment leaving, units cancelled) is
//! recorded on the order first, naming the warehouse keys and the units in all shipped or
//! released under each (`Pick`s); then each warehouse is told those totals, which it
//! reaches once however often it is told. So a crash between the two loses nothing: at
//! start, `repair_stock` tells every warehouse the totals again. Refunds through a gateway
//! work the same way: recorded pending, asked with the refund's id, settled by a second
//! record; a pending one is asked again at start.
//!
//! # Layout
//! - `actor.rs`: the actor, its table of orders, its invoice series and tracking numbers.
//! - `place.rs`, `execute.rs`, `read.rs`, `copy.rs`: one message (group) each.
//! - `flows.rs`: the steps of a shipment, a cancellation and the start-up repair.

mod actor;
mod archive;
mod archived_reads;
mod copy;
mod execute;
mod flows;
mod place;
mod read;

use std::collections::HashSet;
use std::sync::Arc;

use actix::prelude::*;
use arc_swap::ArcSwap;
use mercato_engine::order::{Order, OrderCommand};
use mercato_engine::Commerce;
use mercato_persistence::log::Lsn;

pub use actor::OrderActor;
pub use copy::{CopyOrders, OrdersCopy};
pub use execute::{ExecuteOrder, Executed, Release, ReportByTracking};
pub use flows::{Done, Request};
pub use place::{PlaceOrder, PlaceRemember, Placed};
pub use read::{FindInvoices, InvoicePage, ListOrders, OrderIds, OrderPage, ReadOrder, ORDERS_EXAMINED_PER_SHOWN};

use crate::clock::Clock;
use crate::error::ActorError;
use crate::idempotency::Remembered;
use crate::journal::{Journal, NotDurable};

/// Messages the order actor may queue: checkouts handing orders over and back-office
/// commands, with room for a flash sale's burst of checkouts on one commerce.
pub const ORDERS_MAILBOX_CAPACITY_MAX: usize = 4096;

/// What the rest of the node holds of a commerce's orders.
#[derive(Clone)]
pub struct Orders {
    addr: Addr<OrderActor>,
    journal: Journal,
    published: Arc<ArcSwap<Commerce>>,
    /// What the orders' changes reach beyond them: warehouses and gateways.
    reach: Option<flows::Reach>,
    /// Where finished orders go, and are read from once they have left memory.
    archive: Option<Archived>,
}

/// A commerce's part of the archive.
#[derive(Clone)]
pub(crate) struct Archived {
    store: Arc<mercato_persistence::archive::Archive>,
    commerce: String,
    /// An audit replay shows only the orders archived at or before this LSN (those its
    /// snapshot no longer held); none: every one.
    through: Option<Lsn>,
}

impl Orders {
    /// Starts the commerce's order actor on the current arbiter with the orders and the
    /// answers kept under keys that recovery found.
    pub fn start(
        commerce: &str,
        journal: Journal,
        clock: Clock,
        published: Arc<ArcSwap<Commerce>>,
        recovered: (Vec<Order>, Vec<Remembered>),
        (archive, through): (Option<Arc<mercato_persistence::archive::Archive>>, Option<Lsn>),
    ) -> Self {
        let mut actor = OrderActor::new(commerce, journal.clone(), clock, Arc::clone(&published), recovered);
        let archive = archive.map(|store| Archived { store, commerce: commerce.to_owned(), through });
        if let Some(archive) = &archive {
            // The series continue after the numbers of orders that left memory.
            match archive.store.series(commerce) {
                Ok(series) => actor.raise_series(series),
                Err(error) => tracing::error!(%error, commerce, "the archive's invoice series were not read"),
            }
        }
        actor.archive = archive.clone();
        let mut context = Context::new();
        context.set_mailbox_capacity(ORDERS_MAILBOX_CAPACITY_MAX);
        let addr = context.run(actor);
        Self { addr, journal, published, reach: None, archive }
    }

    /// These orders, reaching the commerce's warehouses and payment gateways.
    pub fn reaching(
        mut self,
        warehouses: crate::warehouse::Warehouses,
        gateways: crate::payment::Gateways,
        idempotency: crate::idempotency::Idempotency,
        clock: Clock,
    ) -> Self {
        let published = Arc::clone(&self.published);
        let reach = flows::Reach { warehouses, gateways, published, idempotency, clock };
        self.addr.do_send(actor::Reaching(reach.clone()));
        for (_, addr) in reach.warehouses.iter() {
            addr.do_send(crate::warehouse::NotifyOrders(self.addr.clone().recipient()));
        }
        self.reach = Some(reach);
        self
    }

    /// Records a placed order (with its invoice when paid, and the answer kept under the
    /// checkout's key) and lists it. The receipt resolves once the record is durable.
    pub async fn place(&self, order: Order, remember: Option<PlaceRemember>) -> Result<Placed, NotDurable> {
        self.addr
            .send(PlaceOrder { order, remember })
            .await
            .map_err(|_| NotDurable::unknown("the order actor stopped before it answered".into()))?
    }

    /// The order as it is in memory, its last change possibly not yet durable: for the
    /// node's own use and its tests. Clients read through `read`.
    pub async fn get(&self, id: &str) -> Option<Arc<Order>> {
        self.ask(ReadOrder { id: id.to_owned() }).await.ok()?.ok().map(|(order, _)| order)
    }

    /// Runs a command on an order that reaches nothing beyond it (a payment confirmed, a
    /// refund settled by hand): recorded, applied, and answered once durable with the order
    /// as this command left it.
    pub async fn execute(&self, id: &str, command: OrderCommand) -> Result<Arc<Order>, ActorError> {
        let request = Request { id: id.to_owned(), by: "system".into(), preview: false, remember: None };
        self.run(request, command).await.map(|done| done.order)
    }

    /// Runs one command and waits for it: its record once durable, or, for a refusal, a
    /// preview or a command that changed nothing, the order's last record (it was decided
    /// on that record's state).
    pub(crate) async fn run(&self, request: Request, command: OrderCommand) -> Result<Done, ActorError> {
        let holds_stock = matches!(command, OrderCommand::Ship { .. } | OrderCommand::Cancel { .. });
        let message = ExecuteOrder {
            id: request.id,
            command,
            by: request.by,
            preview: request.preview,
            holds_stock,
            remember: request.remember,
        };
        self.settled(self.ask(message).await?).await
    }

    /// A report of `carrier` on the shipment it carries under `tracking`.
    pub async fn report(
        &self,
        carrier: &str,
        tracking: &str,
        report: mercato_engine::order::CarrierReport,
        remember: Option<PlaceRemember>,
    ) -> Result<Done, ActorError> {
        let message = ReportByTracking { carrier: carrier.to_owned(), tracking: tracking.to_owned(), report, remember };
        self.settled(self.ask(message).await?).await
    }

    async fn settled(&self, executed: execute::ExecuteResult) -> Result<Done, ActorError> {
        match executed {
            Ok(Executed { order, events, receipt, before, remembered }) => {
                match receipt {
                    Some(receipt) => {
                        receipt.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
                    }
                    None => self.acknowledged(before).await?,
                }
                Ok(Done { order, events, remembered })
            }
            Err((refused, before)) => {
                self.acknowledged(before).await?;
                Err(self.archived_refusal(refused).await)
            }
        }
    }

    /// Every order for a snapshot (a copy that costs the actor O(1)), with the LSN the
    /// part covers.
    pub async fn snapshot(&self) -> Result<(OrdersCopy, Lsn), ActorError> {
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
