//! `PlaceOrder`: checkout hands a placed order over. One record carries the order and the
//! answer kept under the checkout's key; recovery also ends the cart with it.

use std::sync::Arc;

use actix::prelude::*;
use mercato_engine::order::Order;
use mercato_persistence::log::Receipt;

use super::actor::{Listed, OrderActor};
use crate::idempotency::Remembered;
use crate::journal::{Committed, NotDurable};
use crate::stored::{self, RECORD_ORDER};

#[derive(Message)]
#[rtype(result = "Result<Option<Receipt>, NotDurable>")]
pub struct PlaceOrder {
    pub order: Arc<Order>,
    pub remembered: Option<Remembered>,
}

impl Handler<PlaceOrder> for OrderActor {
    type Result = Result<Option<Receipt>, NotDurable>;

    fn handle(&mut self, message: PlaceOrder, _: &mut Self::Context) -> Self::Result {
        let PlaceOrder { order, remembered } = message;
        let record = |remembered: Option<&Remembered>| {
            self.journal.encode(|| stored::order_placed_record(&self.commerce, &order, remembered))
        };
        let committed = self.journal.commit_answered(RECORD_ORDER, record, remembered, || ());
        let Committed { receipt, remembered, .. } = committed.map_err(|refused| refused.error)?;
        self.listed.insert(mercato_engine::order::listing::list_key(&order));
        self.orders.insert(order.id.clone(), Listed::new(Arc::clone(&order), receipt.as_ref()));
        if let Some(remembered) = remembered {
            self.forget_expired(remembered.at);
            self.remembered.push_back(remembered);
        }
        self.placed.increment(1);
        Ok(receipt)
    }
}
