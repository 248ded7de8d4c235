//! Finished orders leave memory for the archive (`Orders::archive_finished`), in three
//! steps, each safe to cut short by a crash:
//!
//! 1. the actor hands over the orders finished by now (`TakeFinished`, at most a batch,
//!    none with a change to its stock under way), and the pass waits for their last
//!    records;
//! 2. they are written to the archive in one batch, made durable, off the actors' thread;
//! 3. the actor lets go of each one still as it was handed over (`Forget`), and then the
//!    warehouses let go of their lines, which hold nothing any more.
//!
//! Nothing of this is logged: a crash before step 3 leaves the order in memory and in the
//! archive (the reads show the one in memory, and the next pass writes the same keys
//! again); a crash after it leaves the log and the snapshot without the order once a
//! snapshot no longer holds it. A warehouse line let go of after its order is taken back
//! from an older snapshot with it; one whose order left memory for good is let go of by
//! the sweep at start (`sweep_spent_lines`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use actix::prelude::*;
use mercato_engine::inventory::Timestamp;
use mercato_engine::order::{documents, Order};
use mercato_persistence::archive::ArchivedOrder;
use mercato_persistence::log::Lsn;

use super::actor::OrderActor;
use super::Orders;
use crate::stored;
use crate::warehouse::{ForgetSpentLines, SpentLines};

/// Orders finished by now, at most `max`, oldest finished first, each with the LSN of its
/// last record; and the last LSN the log has handed out.
#[derive(Message)]
#[rtype(result = "(Vec<(Arc<Order>, Lsn)>, Lsn)")]
pub(super) struct TakeFinished {
    pub(super) max: usize,
}

impl Handler<TakeFinished> for OrderActor {
    type Result = MessageResult<TakeFinished>;

    fn handle(&mut self, message: TakeFinished, _: &mut Self::Context) -> Self::Result {
        let now = self.clock.now();
        let window = self.published.load().config().return_window_days;
        let due: Vec<(Timestamp, String)> =
            self.finishing.iter().take_while(|(at, _)| *at <= now).take(message.max).cloned().collect();
        let mut taken = Vec::new();
        for (at, id) in due {
            let Some(listed) = self.orders.get(&id).cloned() else {
                self.finishing.remove(&(at, id));
                continue;
            };
            if self.busy.contains(&id) {
                continue;
            }
            // The return window may have changed since: the order is filed again by it,
            // keeping the LSN of its last record.
            match listed.order.finished_at(window) {
                Some(finished) if finished <= now => taken.push((listed.order, listed.lsn)),
                finished => {
                    self.finishing.remove(&(at, id.clone()));
                    if let Some(later) = finished {
                        self.finishing.insert((later, id.clone()));
                    }
                    self.orders.insert(id, super::actor::Listed { finished, ..listed });
                }
            }
        }
        MessageResult((taken, self.journal.covers()))
    }
}

/// The orders named leave memory, each only if its last record is still the one given
/// (it did not change since it was handed over). The orders that left.
#[derive(Message)]
#[rtype(result = "Vec<Arc<Order>>")]
pub(super) struct Forget {
    pub(super) orders: Vec<(String, Lsn)>,
}

impl Handler<Forget> for OrderActor {
    type Result = MessageResult<Forget>;

    fn handle(&mut self, message: Forget, _: &mut Self::Context) -> Self::Result {
        let mut left = Vec::new();
        for (id, lsn) in message.orders {
            let Some(listed) = self.orders.get(&id) else { continue };
            if listed.lsn != lsn || self.busy.contains(&id) {
                continue;
            }
            let listed = listed.clone();
            if let Some(at) = listed.finished {
                self.finishing.remove(&(at, id.clone()));
            }
            self.orders.remove(&id);
            self.listed.remove(&mercato_engine::order::listing::list_key(&listed.order));
            for invoice in &listed.order.invoices {
                self.invoices.remove(&invoice.number);
            }
            for shipment in &listed.order.shipments {
                let carrier = shipment.carrier.clone().unwrap_or_default();
                for number in &shipment.tracking {
                    self.tracking.remove(&(carrier.clone(), number.clone()));
                }
            }
            left.push(listed.order);
        }
        self.in_memory.set(self.orders.len() as f64);
        MessageResult(left)
    }
}

/// Which of the orders named are in memory.
#[derive(Message)]
#[rtype(result = "HashSet<String>")]
pub(super) struct Holding {
    pub(super) ids: Vec<String>,
}

impl Handler<Holding> for OrderActor {
    type Result = MessageResult<Holding>;

    fn handle(&mut self, message: Holding, _: &mut Self::Context) -> Self::Result {
        MessageResult(message.ids.into_iter().filter(|id| self.orders.contains_key(id)).collect())
    }
}

/// An order as the archive takes it: its bytes, its place in the list, its documents'
/// numbers with their series.
fn archived(order: &Order, lsn: Lsn) -> Result<ArchivedOrder, String> {
    let invoices = order
        .invoices
        .iter()
        .filter_map(|i| documents::parse_number(&i.number).map(|(s, n)| (i.number.clone(), s.to_owned(), n)))
        .collect();
    let bytes = stored::archived_order(order).map_err(|e| format!("order {}: {e}", order.id))?;
    Ok(ArchivedOrder { id: order.id.clone(), placed_at: order.placed_at.0, invoices, bytes, lsn })
}

/// Orders a pass archives at most: one archive batch, one short step of the actor.
pub const ARCHIVE_BATCH_MAX: usize = 2_000;

impl Orders {
    /// Moves the orders finished by now to the archive, a batch at a time, until none is
    /// left; how many left memory. Nothing moves without an archive.
    pub async fn archive_finished(&self) -> Result<usize, String> {
        let Some(archive) = self.archive.clone() else { return Ok(0) };
        let mut moved = 0;
        loop {
            let (taken, at) = self.ask(TakeFinished { max: ARCHIVE_BATCH_MAX }).await.map_err(|e| e.to_string())?;
            if taken.is_empty() {
                return Ok(moved);
            }
            let last = taken.iter().map(|(_, lsn)| *lsn).max().unwrap_or(0);
            self.acknowledged(last).await.map_err(|e| e.to_string())?;
            let named: Vec<(String, Lsn)> = taken.iter().map(|(o, lsn)| (o.id.clone(), *lsn)).collect();
            let count = taken.len();
            let writing = archive.clone();
            let write = move || -> Result<(), String> {
                let orders = taken.iter().map(|(o, _)| archived(o, at)).collect::<Result<Vec<_>, _>>()?;
                writing.store.put(&writing.commerce, &orders).map_err(|e| e.to_string())
            };
            crate::spawn_blocking(write).await.map_err(|e| e.to_string())??;
            let lsn_of: HashMap<String, Lsn> = named.iter().cloned().collect();
            let left = self.ask(Forget { orders: named }).await.map_err(|e| e.to_string())?;
            moved += left.len();
            let told = left.iter().map(|o| (o.id.clone(), lsn_of.get(&o.id).copied().unwrap_or_default()));
            archive.store.tell_left(&archive.commerce, told.collect::<Vec<_>>());
            self.let_go_of_lines(&left).await;
            if count < ARCHIVE_BATCH_MAX {
                return Ok(moved);
            }
        }
    }

    /// Tells each warehouse to let go of the lines of orders that left memory.
    async fn let_go_of_lines(&self, left: &[Arc<Order>]) {
        let Some(reach) = &self.reach else { return };
        let mut by_warehouse: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for allocation in left.iter().flat_map(|o| &o.lines).flat_map(|l| &l.allocations) {
            by_warehouse.entry(allocation.warehouse.as_str()).or_default().push(allocation.key.clone());
        }
        for (warehouse, keys) in by_warehouse {
            if let Some(addr) = reach.warehouses.get(warehouse) {
                let _ = addr.send(ForgetSpentLines { keys }).await;
            }
        }
    }

    /// Lets go of every warehouse line that holds nothing and whose order is no longer
    /// in memory (a crash came between an order leaving and its lines); how many.
    pub async fn sweep_spent_lines(&self) -> usize {
        let Some(reach) = &self.reach else { return 0 };
        if self.archive.is_none() {
            return 0;
        }
        let mut swept = 0;
        for (_, addr) in reach.warehouses.iter() {
            let Ok(spent) = addr.send(SpentLines).await else { continue };
            let order_of = |key: &str| key.split('/').next().unwrap_or_default().to_owned();
            let ids: Vec<String> = spent.iter().map(|k| order_of(k)).collect();
            let Ok(held) = self.ask(Holding { ids }).await else { continue };
            let keys: Vec<String> = spent.into_iter().filter(|k| !held.contains(&order_of(k))).collect();
            if !keys.is_empty() {
                swept += addr.send(ForgetSpentLines { keys }).await.unwrap_or(0);
            }
        }
        swept
    }
}
