//! `CopyOrders`: every order and kept answer for a snapshot, with the LSN the copy
//! covers. The copy and the LSN are taken in one step of the actor, so an order whose
//! placement the LSN covers is always in the copy. The orders are a persistent map: the
//! copy costs the actor O(1), and the snapshot's own thread turns it into a part.

use actix::prelude::*;
use mercato_engine::order::Order;
use mercato_persistence::log::Lsn;

use super::actor::{Listed, OrderActor};
use crate::idempotency::Remembered;
use crate::stored::OrdersSnapshot;

#[derive(Message)]
#[rtype(result = "(OrdersCopy, Lsn)")]
pub struct CopyOrders;

/// A commerce's orders as they were at one step of its actor.
pub struct OrdersCopy {
    commerce: String,
    orders: imbl::OrdMap<String, Listed>,
    remembered: Vec<Remembered>,
}

impl OrdersCopy {
    /// The snapshot part: every order (by id) and kept answer. Copies each order: run it
    /// off the actors' thread.
    pub fn into_snapshot(self) -> OrdersSnapshot {
        let orders = self.orders.values().map(|l| Order::clone(&l.order)).collect();
        OrdersSnapshot { commerce: self.commerce, orders, remembered: self.remembered }
    }
}

impl Handler<CopyOrders> for OrderActor {
    type Result = MessageResult<CopyOrders>;

    fn handle(&mut self, _: CopyOrders, _: &mut Self::Context) -> Self::Result {
        let covers = self.journal.covers();
        let now = self.clock.now();
        self.forget_expired(now);
        let remembered = self.remembered.iter().cloned().collect();
        MessageResult((OrdersCopy { commerce: self.commerce.clone(), orders: self.orders.clone(), remembered }, covers))
    }
}
