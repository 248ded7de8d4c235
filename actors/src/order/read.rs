//! `ReadOrder`: an order as it is in memory with the LSN of its last record; the caller
//! waits for that record before it shows the order to a client. `OrderIds`: the ids alone.

use std::collections::HashSet;
use std::sync::Arc;

use actix::prelude::*;
use mercato_engine::order::Order;
use mercato_engine::DomainError;
use mercato_persistence::log::Lsn;

use super::actor::OrderActor;

#[derive(Message)]
#[rtype(result = "Result<(Arc<Order>, Lsn), DomainError>")]
pub struct ReadOrder {
    pub id: String,
}

impl Handler<ReadOrder> for OrderActor {
    type Result = Result<(Arc<Order>, Lsn), DomainError>;

    fn handle(&mut self, message: ReadOrder, _: &mut Self::Context) -> Self::Result {
        let listed = self.orders.get(&message.id).ok_or(DomainError::UnknownOrder { id: message.id })?;
        Ok((Arc::clone(&listed.order), listed.lsn))
    }
}

/// The ids of every placed order, without copying the orders (the start-up repair asks).
#[derive(Message)]
#[rtype(result = "HashSet<String>")]
pub struct OrderIds;

impl Handler<OrderIds> for OrderActor {
    type Result = MessageResult<OrderIds>;

    fn handle(&mut self, _: OrderIds, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.orders.keys().cloned().collect())
    }
}
