//! `CopyOrders`: every order and kept answer for a snapshot, with the LSN the copy
//! covers. The copy and the LSN are taken in one step of the actor, so an order whose
//! placement the LSN covers is always in the copy.

use actix::prelude::*;
use mercato_engine::order::Order;
use mercato_persistence::log::Lsn;

use super::actor::OrderActor;
use crate::stored::OrdersSnapshot;

#[derive(Message)]
#[rtype(result = "(OrdersSnapshot, Lsn)")]
pub struct CopyOrders;

impl Handler<CopyOrders> for OrderActor {
    type Result = MessageResult<CopyOrders>;

    fn handle(&mut self, _: CopyOrders, _: &mut Self::Context) -> Self::Result {
        let covers = self.journal.covers();
        let mut orders: Vec<Order> = self.orders.values().map(|o| Order::clone(&o.order)).collect();
        orders.sort_by(|a, b| a.id.cmp(&b.id));
        let now = self.clock.now();
        self.forget_expired(now);
        let remembered = self.remembered.iter().cloned().collect();
        MessageResult((OrdersSnapshot { commerce: self.commerce.clone(), orders, remembered }, covers))
    }
}
