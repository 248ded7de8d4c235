//! `PlaceOrder`: checkout hands a placed order over. One record carries the order (with
//! its invoice when it is paid already, numbered here, where the series has its one
//! writer) and the answer kept under the checkout's key; recovery also ends the cart with
//! it.

use std::sync::Arc;

use actix::prelude::*;
use mercato_engine::inventory::Timestamp;
use mercato_engine::order::{documents, Order, OrderCtx, OrderEvent};
use mercato_persistence::log::Receipt;

use super::actor::OrderActor;
use crate::idempotency::{Answer, Remembered, Stamp};
use crate::journal::{Committed, NotDurable};
use crate::stored::{self, RECORD_ORDER};

/// Builds the answer to keep from the order as a change left it and the change's events.
pub type OrderRespond = Box<dyn FnOnce(&Arc<Order>, &[OrderEvent]) -> Answer + Send>;

/// How a request keeps its answer under its key: built from the order as the change left
/// it (a placed order with its invoice), in the change's own record.
pub struct PlaceRemember {
    pub stamp: Stamp,
    pub at: Timestamp,
    pub respond: OrderRespond,
}

/// The order as placed, its record's receipt and the answer kept under the key.
pub type Placed = (Arc<Order>, Option<Receipt>, Option<Remembered>);

#[derive(Message)]
#[rtype(result = "Result<Placed, NotDurable>")]
pub struct PlaceOrder {
    pub order: Order,
    pub remember: Option<PlaceRemember>,
}

impl Handler<PlaceOrder> for OrderActor {
    type Result = Result<Placed, NotDurable>;

    fn handle(&mut self, message: PlaceOrder, _: &mut Self::Context) -> Self::Result {
        let PlaceOrder { order: mut placed, remember } = message;
        // An order paid already carries its invoice from its first record: the placement
        // record holds the order as the invoice left it.
        let after = self.invoice_at_placement(&placed);
        let (at, by) = (placed.placed_at, placed.placed_by.clone());
        for event in &after {
            placed.apply(event, at, &by);
        }
        let order = Arc::new(placed);
        let remembered = remember.map(|r| Remembered { stamp: r.stamp, answer: (r.respond)(&order, &after), at: r.at });
        let record = |remembered: Option<&Remembered>| {
            self.journal.encode(|| stored::order_placed_record(&self.commerce, &order, remembered))
        };
        let committed = self.journal.commit_answered(RECORD_ORDER, record, remembered, || ());
        let Committed { receipt, remembered, .. } = committed.map_err(|refused| refused.error)?;
        self.noted(&order, &after);
        self.listed.insert(mercato_engine::order::listing::list_key(&order));
        self.file(Arc::clone(&order), receipt.as_ref());
        if let Some(remembered) = &remembered {
            self.forget_expired(remembered.at);
            self.remembered.push_back(remembered.clone());
        }
        self.placed.increment(1);
        Ok((order, receipt, remembered))
    }
}

impl OrderActor {
    /// The invoice of an order paid at checkout (an online payment), numbered next in its
    /// company's series; none for an order not paid yet. An invoice that cannot be made
    /// (the company left the configuration) is logged: the order is placed without it.
    fn invoice_at_placement(&self, order: &Order) -> Vec<OrderEvent> {
        if !order.is_paid() || !order.invoices.is_empty() {
            return Vec::new();
        }
        let commerce = self.published.load_full();
        let next = |series: &str| self.next_number(series);
        let ctx = OrderCtx { now: order.placed_at, commerce: &commerce, next_number: &next };
        match documents::invoice(order, &ctx) {
            Ok(invoice) => vec![OrderEvent::InvoiceIssued { invoice: Box::new(invoice) }],
            Err(error) => {
                tracing::error!(order = %order.id, %error, "a paid order was placed without its invoice");
                Vec::new()
            }
        }
    }
}
