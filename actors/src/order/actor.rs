//! The order actor's state: a commerce's orders by id, each with the LSN of its last
//! record, and the answers kept under checkouts' idempotency keys for the snapshot.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use actix::prelude::*;
use mercato_engine::order::Order;
use mercato_persistence::log::{Lsn, Receipt};

use crate::clock::Clock;
use crate::idempotency::Remembered;
use crate::journal::Journal;

/// One commerce's orders.
pub struct OrderActor {
    pub(super) commerce: String,
    pub(super) journal: Journal,
    pub(super) clock: Clock,
    /// Shared with the replies that carry them: placing an order copies no order.
    pub(super) orders: HashMap<String, Listed>,
    /// Every order's place in the back office's list (`order::listing::list_key`):
    /// placement time, then id, the same before and after a restart.
    pub(super) listed: BTreeSet<ListKey>,
    /// Answers kept under checkouts' keys, oldest first, for the snapshot.
    pub(super) remembered: VecDeque<Remembered>,
    pub(super) placed: metrics::Counter,
}

impl Actor for OrderActor {
    type Context = Context<Self>;
}

pub(super) use mercato_engine::order::listing::ListKey;

/// An order in the table, with the LSN of its last record (0 when nothing is logged): a
/// read waits for that record before it shows the order.
pub(super) struct Listed {
    pub(super) order: Arc<Order>,
    pub(super) lsn: Lsn,
}

impl Listed {
    pub(super) fn new(order: Arc<Order>, receipt: Option<&Receipt>) -> Self {
        Self { order, lsn: receipt.map_or(0, Receipt::lsn) }
    }
}

impl OrderActor {
    pub(super) fn new(
        commerce: &str,
        journal: Journal,
        clock: Clock,
        recovered: Vec<Order>,
        answers: Vec<Remembered>,
    ) -> Self {
        let listed = recovered.iter().map(mercato_engine::order::listing::list_key).collect();
        let orders =
            recovered.into_iter().map(|order| (order.id.clone(), Listed::new(Arc::new(order), None))).collect();
        let now = clock.now();
        let mut answers: Vec<Remembered> = answers.into_iter().filter(|r| !r.expired(now)).collect();
        answers.sort_by_key(|r| r.at);
        Self {
            commerce: commerce.to_owned(),
            journal,
            clock,
            orders,
            listed,
            remembered: answers.into(),
            placed: metrics::counter!("mercato_orders_placed_total", "commerce" => commerce.to_owned()),
        }
    }

    /// Drops the kept answers that are past their retention at `now`.
    pub(super) fn forget_expired(&mut self, now: mercato_engine::inventory::Timestamp) {
        while self.remembered.front().is_some_and(|r| r.expired(now)) {
            self.remembered.pop_front();
        }
    }
}
