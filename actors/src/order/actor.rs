//! The order actor's state: a commerce's orders by id, each with the LSN of its last
//! record, and the answers kept under checkouts' idempotency keys for the snapshot.

use std::collections::{BTreeMap, HashMap, VecDeque};
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
    /// Every order's place in the back office's list: placement time, then the order in
    /// which this actor took them (ids are random: two orders of one millisecond list in
    /// the order they were placed).
    pub(super) listed: BTreeMap<ListKey, String>,
    pub(super) next_seq: u64,
    /// Answers kept under checkouts' keys, oldest first, for the snapshot.
    pub(super) remembered: VecDeque<Remembered>,
    pub(super) placed: metrics::Counter,
}

impl Actor for OrderActor {
    type Context = Context<Self>;
}

/// Where an order stands in the list: placement time, then the sequence it was taken in.
pub(super) type ListKey = (mercato_engine::inventory::Timestamp, u64);

/// An order in the table, with the LSN of its last record (0 when nothing is logged): a
/// read waits for that record before it shows the order.
pub(super) struct Listed {
    pub(super) order: Arc<Order>,
    pub(super) lsn: Lsn,
    pub(super) key: ListKey,
}

impl Listed {
    pub(super) fn new(order: Arc<Order>, receipt: Option<&Receipt>, seq: u64) -> Self {
        let key = (order.placed_at, seq);
        Self { order, lsn: receipt.map_or(0, Receipt::lsn), key }
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
        // Recovered orders of one millisecond list by id: the order they were taken in is
        // not kept.
        let mut recovered = recovered;
        recovered.sort_by(|a, b| (a.placed_at, &a.id).cmp(&(b.placed_at, &b.id)));
        let mut orders = HashMap::with_capacity(recovered.len());
        let mut listed = BTreeMap::new();
        for (seq, order) in (0u64..).zip(recovered) {
            let entry = Listed::new(Arc::new(order), None, seq);
            listed.insert(entry.key, entry.order.id.clone());
            orders.insert(entry.order.id.clone(), entry);
        }
        let next_seq = u64::try_from(orders.len()).unwrap_or(u64::MAX);
        let now = clock.now();
        let mut answers: Vec<Remembered> = answers.into_iter().filter(|r| !r.expired(now)).collect();
        answers.sort_by_key(|r| r.at);
        Self {
            commerce: commerce.to_owned(),
            journal,
            clock,
            orders,
            listed,
            next_seq,
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
