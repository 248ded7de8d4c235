//! Orders of a commerce.
//!
//! `Orders` keeps every order of a commerce by id. An order changes rarely and briefly (a
//! payment confirmed), so it needs no actor of its own: each change takes the order's map
//! entry, records the change on the log and applies it in one synchronous step, which
//! orders changes to one order the way a mailbox would. Placing an order is one record
//! that also ends its cart (recovery marks the cart checked out), so an order and its
//! cart never disagree after a crash.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use dashmap::DashMap;
use mercato_engine::order::{Order, OrderCommand};
use mercato_engine::DomainError;
use mercato_persistence::log::{Lsn, Receipt};

use crate::cart::CartError;
use crate::clock::Clock;
use crate::idempotency::Remembered;
use crate::journal::{Journal, NotDurable, OrderEntryRef, OrderEventRef, OrderPlacedRef, OrdersSnapshot, RECORD_ORDER};

struct Shared {
    commerce: String,
    journal: Journal,
    clock: Clock,
    /// Shared with the replies that carry them: placing an order copies no order.
    orders: DashMap<String, Listed>,
    remembered: Mutex<VecDeque<Remembered>>,
    /// Held while an order is placed (recorded and listed) and while a snapshot reads the
    /// LSN it covers and copies the orders.
    placing: Mutex<()>,
    placed: metrics::Counter,
}

/// An order in the table, with the LSN of its last record (0 when nothing is logged): a
/// read waits for that record before it shows the order.
struct Listed {
    order: Arc<Order>,
    lsn: Lsn,
}

impl Listed {
    fn new(order: Arc<Order>, receipt: Option<&Receipt>) -> Self {
        Self { order, lsn: receipt.map_or(0, Receipt::lsn) }
    }
}

/// A commerce's orders.
#[derive(Clone)]
pub struct Orders {
    shared: Arc<Shared>,
}

impl Orders {
    pub fn start(
        commerce: &str,
        journal: Journal,
        clock: Clock,
        recovered: Vec<Order>,
        answers: Vec<Remembered>,
    ) -> Self {
        let orders = DashMap::new();
        for order in recovered {
            orders.insert(order.id.clone(), Listed::new(Arc::new(order), None));
        }
        let now = clock.now();
        let mut answers: Vec<Remembered> = answers.into_iter().filter(|r| !r.expired(now)).collect();
        answers.sort_by_key(|r| r.at);
        Self {
            shared: Arc::new(Shared {
                commerce: commerce.to_owned(),
                journal,
                clock,
                orders,
                remembered: Mutex::new(answers.into()),
                placing: Mutex::new(()),
                placed: metrics::counter!("mercato_orders_placed_total", "commerce" => commerce.to_owned()),
            }),
        }
    }

    fn placing(&self) -> MutexGuard<'_, ()> {
        self.shared.placing.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn remembered(&self) -> MutexGuard<'_, VecDeque<Remembered>> {
        self.shared.remembered.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The answers kept under keys, recovered, for the node's key table.
    pub fn answers(&self) -> Vec<Remembered> {
        self.remembered().iter().cloned().collect()
    }

    /// The order as it is in memory, its last change possibly not yet durable: for the
    /// node's own use. Clients read through `read`.
    pub fn get(&self, id: &str) -> Option<Arc<Order>> {
        self.shared.orders.get(id).map(|o| Arc::clone(&o.order))
    }

    /// The order once the log has acknowledged its last record (durable in `sync` mode,
    /// written in `async`), or refused as not durable when the log failed first: no client
    /// may see an order, or a change to one, the log could still lose (its checkout's
    /// answer may not even have been given yet).
    pub async fn read(&self, id: &str) -> Result<Arc<Order>, CartError> {
        let (order, lsn) = {
            let listed = self.shared.orders.get(id).ok_or_else(|| DomainError::UnknownOrder { id: id.to_owned() })?;
            (Arc::clone(&listed.order), listed.lsn)
        };
        self.acknowledged(lsn).await?;
        Ok(order)
    }

    /// Waits until the log has acknowledged record `lsn`. A failed log refuses outright:
    /// what waits here (a read, a refusal) changed nothing, so its outcome is not unknown.
    async fn acknowledged(&self, lsn: Lsn) -> Result<(), NotDurable> {
        match self.shared.journal.unsettled(lsn) {
            Some(wait) => wait.await.map_err(|failure| NotDurable::refused(failure.reason)),
            None => Ok(()),
        }
    }

    /// Whether the order is placed (without copying it).
    pub fn contains(&self, id: &str) -> bool {
        self.shared.orders.contains_key(id)
    }

    pub fn len(&self) -> usize {
        self.shared.orders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shared.orders.is_empty()
    }

    /// Records a placed order (with the answer kept under the checkout's key) and lists
    /// it. The receipt resolves once the record is durable.
    pub(crate) fn place(
        &self,
        order: &Arc<Order>,
        remembered: Option<&Remembered>,
    ) -> Result<Option<Receipt>, NotDurable> {
        let entry = OrderPlacedRef {
            commerce: &self.shared.commerce,
            order: &order.id,
            events: &[OrderEventRef::Placed { order: order.as_ref() }],
            remembered,
        };
        let payload = self.shared.journal.encode(&entry)?;
        let _placing = self.placing();
        let slot = self.shared.journal.slot()?;
        let receipt = self.shared.journal.append_in(slot, RECORD_ORDER, payload)?;
        self.shared.orders.insert(order.id.clone(), Listed::new(Arc::clone(order), receipt.as_ref()));
        if let Some(remembered) = remembered {
            let mut kept = self.remembered();
            while kept.front().is_some_and(|r| r.expired(remembered.at)) {
                kept.pop_front();
            }
            kept.push_back(remembered.clone());
        }
        self.shared.placed.increment(1);
        Ok(receipt)
    }

    /// Runs a command on an order: recorded, applied, and answered once durable with the
    /// order as this command left it. A refusal is answered only once the order's last
    /// record is acknowledged too: it was decided on that record's state.
    pub async fn execute(&self, id: &str, command: OrderCommand) -> Result<Arc<Order>, CartError> {
        let (changed, before) = {
            let mut entry =
                self.shared.orders.get_mut(id).ok_or_else(|| DomainError::UnknownOrder { id: id.to_owned() })?;
            let before = entry.lsn;
            (self.change(&mut entry, id, &command), before)
        };
        match changed {
            Ok((changed, receipt)) => {
                if let Some(receipt) = receipt {
                    receipt.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
                }
                Ok(changed)
            }
            Err(refused) => {
                self.acknowledged(before).await?;
                Err(refused)
            }
        }
    }

    /// Decides, records and applies one command on a listed order (its map entry held).
    fn change(
        &self,
        entry: &mut Listed,
        id: &str,
        command: &OrderCommand,
    ) -> Result<(Arc<Order>, Option<Receipt>), CartError> {
        let events = entry.order.decide(command)?;
        let record = OrderEntryRef { commerce: &self.shared.commerce, order: id, events: &events, remembered: None };
        let payload = self.shared.journal.encode(&record)?;
        let slot = self.shared.journal.slot()?;
        let mut changed = Order::clone(&entry.order);
        for event in &events {
            changed.apply(event);
        }
        let receipt = self.shared.journal.append_in(slot, RECORD_ORDER, payload)?;
        let changed = Arc::new(changed);
        *entry = Listed::new(Arc::clone(&changed), receipt.as_ref());
        Ok((changed, receipt))
    }

    /// Every order for a snapshot, with the LSN the part covers.
    pub fn snapshot(&self) -> (OrdersSnapshot, Lsn) {
        let _placing = self.placing();
        let covers = self.shared.journal.covers();
        let mut orders: Vec<Order> = self.shared.orders.iter().map(|o| Order::clone(&o.order)).collect();
        orders.sort_by(|a, b| a.id.cmp(&b.id));
        let now = self.shared.clock.now();
        let remembered = {
            let mut kept = self.remembered();
            while kept.front().is_some_and(|r| r.expired(now)) {
                kept.pop_front();
            }
            kept.iter().cloned().collect()
        };
        (OrdersSnapshot { commerce: self.shared.commerce.clone(), orders, remembered }, covers)
    }
}
