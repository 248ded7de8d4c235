//! `ExecuteOrder`: a command on a placed order (a payment confirmed, a shipment sent, units
//! cancelled, a refund settled), decided, recorded and applied in one step; the caller
//! waits for the receipt. A preview decides and applies on a copy and records nothing. A
//! refusal carries the LSN of the order's last record, which the caller waits for before
//! it answers. `ReportByTracking` finds the shipment a carrier's report is about.
//! `Release` ends a change to an order's stock once the warehouses have it.

use std::sync::Arc;

use actix::prelude::*;
use mercato_engine::order::{CarrierReport, Order, OrderCommand, OrderCtx, OrderEvent};
use mercato_engine::DomainError;
use mercato_persistence::log::{Lsn, Receipt};

use super::actor::OrderActor;
use super::place::PlaceRemember;
use crate::error::ActorError;
use crate::idempotency::Remembered;
use crate::journal::Committed;
use crate::stored::{self, RECORD_ORDER};

/// What a command did: the order as it left it, its events, the record's receipt (none
/// when nothing was recorded: a preview, or a command that changed nothing), the LSN of
/// the order's record before it, and the answer kept under the request's key.
pub struct Executed {
    pub order: Arc<Order>,
    pub events: Vec<OrderEvent>,
    pub receipt: Option<Receipt>,
    pub before: Lsn,
    pub remembered: Option<Remembered>,
}

pub type ExecuteResult = Result<Executed, (ActorError, Lsn)>;

#[derive(Message)]
#[rtype(result = "ExecuteResult")]
pub struct ExecuteOrder {
    pub id: String,
    pub command: OrderCommand,
    /// Who asks (the key's principal, or the node).
    pub by: String,
    /// Decide and show, record nothing.
    pub preview: bool,
    /// The order's stock changes with it: refused while another such change is under way,
    /// and the order stays busy until `Release` (the caller's, once the warehouses have it).
    pub holds_stock: bool,
    pub remember: Option<PlaceRemember>,
}

impl Handler<ExecuteOrder> for OrderActor {
    type Result = MessageResult<ExecuteOrder>;

    fn handle(&mut self, message: ExecuteOrder, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.run(message))
    }
}

/// A carrier's report on the shipment it carries under `tracking`.
#[derive(Message)]
#[rtype(result = "ExecuteResult")]
pub struct ReportByTracking {
    pub carrier: String,
    pub tracking: String,
    pub report: CarrierReport,
    pub remember: Option<PlaceRemember>,
}

impl Handler<ReportByTracking> for OrderActor {
    type Result = MessageResult<ReportByTracking>;

    fn handle(&mut self, message: ReportByTracking, _: &mut Self::Context) -> Self::Result {
        let key = (message.carrier.clone(), message.tracking.clone());
        let Some((order, shipment)) = self.tracking.get(&key).cloned() else {
            let unknown = DomainError::UnknownTracking { carrier: message.carrier, tracking: message.tracking };
            return MessageResult(Err((unknown.into(), 0)));
        };
        MessageResult(self.run(ExecuteOrder {
            id: order,
            command: OrderCommand::CarrierReport { shipment, report: message.report },
            by: format!("carrier:{}", message.carrier),
            preview: false,
            holds_stock: false,
            remember: message.remember,
        }))
    }
}

/// The change to an order's stock is with the warehouses: the order takes another.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Release {
    pub id: String,
}

impl Handler<Release> for OrderActor {
    type Result = ();

    fn handle(&mut self, message: Release, _: &mut Self::Context) {
        self.busy.remove(&message.id);
    }
}

impl OrderActor {
    fn run(&mut self, message: ExecuteOrder) -> ExecuteResult {
        let ExecuteOrder { id, command, by, preview, holds_stock, remember } = message;
        let Some(entry) = self.orders.get(&id) else {
            return Err((DomainError::UnknownOrder { id }.into(), 0));
        };
        let before = entry.lsn;
        let order = Arc::clone(&entry.order);
        if holds_stock && !preview && self.busy.contains(&id) {
            return Err((DomainError::OrderBusy { id }.into(), before));
        }
        let now = self.clock.now();
        let commerce = self.published.load_full();
        let next = |series: &str| self.next_number(series);
        let ctx = OrderCtx { now, commerce: &commerce, next_number: &next };
        let events = order.decide(&command, &ctx).map_err(|refused| (refused.into(), before))?;
        if events.is_empty() {
            return Ok(Executed { order, events, receipt: None, before, remembered: None });
        }
        let mut changed = Order::clone(&order);
        for event in &events {
            changed.apply(event, now, &by);
        }
        let changed = Arc::new(changed);
        if preview {
            return Ok(Executed { order: changed, events, receipt: None, before, remembered: None });
        }
        let journal = self.journal.clone();
        let record = |remembered: Option<&Remembered>| {
            journal.encode(|| stored::order_record(&self.commerce, &id, (now, &by), &events, remembered))
        };
        let committed = journal.commit(RECORD_ORDER, record, || {
            let remembered =
                remember.map(|r| Remembered { stamp: r.stamp, answer: (r.respond)(&changed, &events), at: r.at });
            (Arc::clone(&changed), remembered)
        });
        let Committed { receipt, remembered, .. } = committed.map_err(|refused| (refused.error.into(), before))?;
        self.noted(&changed, &events);
        if holds_stock {
            self.busy.insert(id.clone());
        }
        if let Some(remembered) = &remembered {
            self.forget_expired(remembered.at);
            self.remembered.push_back(remembered.clone());
        }
        // The order keeps its place in the list: its placement time and id do not change.
        self.file(Arc::clone(&changed), receipt.as_ref());
        Ok(Executed { order: changed, events, receipt, before, remembered })
    }
}
