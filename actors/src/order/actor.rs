//! The order actor's state: a commerce's orders by id, each with the LSN of its last
//! record, and the answers kept under checkouts' idempotency keys for the snapshot; the
//! last number of each invoice series, the tracking numbers of sent shipments, and the
//! orders whose stock a change is still reaching.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use actix::prelude::*;
use arc_swap::ArcSwap;
use mercato_engine::order::{documents, Order, OrderEvent};
use mercato_engine::Commerce;
use mercato_persistence::log::{Lsn, Receipt};

use crate::clock::Clock;
use crate::idempotency::Remembered;
use crate::journal::Journal;

/// One commerce's orders.
pub struct OrderActor {
    pub(super) commerce: String,
    pub(super) journal: Journal,
    pub(super) clock: Clock,
    /// Shared with the replies that carry them: placing an order copies no order. A
    /// persistent map, so a snapshot's copy of it costs O(1), not a copy of every order.
    pub(super) orders: imbl::OrdMap<String, Listed>,
    /// The orders with no open work, by the moment they are finished (`Order::finished_at`
    /// with the return window as it was when the order last changed): what the archive
    /// takes next.
    pub(super) finishing: BTreeSet<(mercato_engine::inventory::Timestamp, String)>,
    /// Every order's place in the back office's list (`order::listing::list_key`):
    /// placement time, then id, the same before and after a restart.
    pub(super) listed: BTreeSet<ListKey>,
    /// Answers kept under checkouts' keys, oldest first, for the snapshot.
    pub(super) remembered: VecDeque<Remembered>,
    pub(super) placed: metrics::Counter,
    /// How many orders are in memory (the archive holds the rest).
    pub(super) in_memory: metrics::Gauge,
    pub(super) published: Arc<ArcSwap<Commerce>>,
    /// The last number of each invoice series (`{prefix}-{year}`) of the commerce. This
    /// actor is the series' one writer, and a number is in the record of its invoice, so
    /// a series rebuilt from the orders at start continues where it stopped.
    pub(super) series: HashMap<String, u32>,
    /// Every invoice and credit note: its number, and its order's id.
    pub(super) invoices: std::collections::BTreeMap<String, String>,
    /// Sent shipments by (carrier, tracking number): (order id, shipment id).
    pub(super) tracking: HashMap<(String, String), (String, String)>,
    /// Where finished orders go (for the handles this actor makes of itself).
    pub(super) archive: Option<super::Archived>,
    /// What the orders reach beyond them, once the commerce has started its warehouses.
    pub(super) reach: Option<super::flows::Reach>,
    /// Orders with a change to their stock under way (a shipment leaving, units
    /// released): another such change waits until the warehouses have it.
    pub(super) busy: HashSet<String>,
}

impl Actor for OrderActor {
    type Context = Context<Self>;
}

pub(super) use mercato_engine::order::listing::ListKey;

/// An order in the table, with the LSN of its last record (0 when nothing is logged): a
/// read waits for that record before it shows the order. And when it is finished.
#[derive(Clone)]
pub(super) struct Listed {
    pub(super) order: Arc<Order>,
    pub(super) lsn: Lsn,
    pub(super) finished: Option<mercato_engine::inventory::Timestamp>,
}

impl OrderActor {
    pub(super) fn new(
        commerce: &str,
        journal: Journal,
        clock: Clock,
        published: Arc<ArcSwap<Commerce>>,
        (recovered, answers): (Vec<Order>, Vec<Remembered>),
    ) -> Self {
        let listed = recovered.iter().map(mercato_engine::order::listing::list_key).collect();
        let mut series = HashMap::new();
        let mut tracking = HashMap::new();
        let mut invoices = std::collections::BTreeMap::new();
        for order in &recovered {
            note_documents(&mut series, order.invoices.iter().map(|i| i.number.as_str()));
            for invoice in &order.invoices {
                invoices.insert(invoice.number.clone(), order.id.clone());
            }
            note_tracking(&mut tracking, order);
        }
        let now = clock.now();
        let mut answers: Vec<Remembered> = answers.into_iter().filter(|r| !r.expired(now)).collect();
        answers.sort_by_key(|r| r.at);
        Self {
            commerce: commerce.to_owned(),
            journal,
            clock,
            orders: imbl::OrdMap::new(),
            finishing: BTreeSet::new(),
            listed,
            remembered: answers.into(),
            placed: metrics::counter!("mercato_orders_placed_total", "commerce" => commerce.to_owned()),
            in_memory: metrics::gauge!("mercato_orders_in_memory", "commerce" => commerce.to_owned()),
            published,
            series,
            invoices,
            tracking,
            reach: None,
            archive: None,
            busy: HashSet::new(),
        }
        .filing(recovered)
    }

    fn filing(mut self, recovered: Vec<Order>) -> Self {
        for order in recovered {
            self.file(Arc::new(order), None);
        }
        self
    }

    /// Puts an order as it now is in the table, with the LSN of its last record, and
    /// takes note of when it is finished.
    pub(super) fn file(&mut self, order: Arc<Order>, receipt: Option<&Receipt>) {
        let window = self.published.load().config().return_window_days;
        let finished = order.finished_at(window);
        let id = order.id.clone();
        if let Some(before) = self.orders.get(&id).and_then(|l| l.finished) {
            self.finishing.remove(&(before, id.clone()));
        }
        if let Some(at) = finished {
            self.finishing.insert((at, id.clone()));
        }
        self.orders.insert(id, Listed { order, lsn: receipt.map_or(0, Receipt::lsn), finished });
        self.in_memory.set(self.orders.len() as f64);
    }

    /// A handle on this actor for work it starts outside itself (a refresh).
    pub(super) fn handle_for(&self, ctx: &Context<Self>) -> Option<super::Orders> {
        let reach = self.reach.clone()?;
        Some(super::Orders {
            addr: ctx.address(),
            journal: self.journal.clone(),
            published: Arc::clone(&self.published),
            reach: Some(reach),
            archive: self.archive.clone(),
        })
    }

    /// Raises each series' last number to at least the one given.
    pub(super) fn raise_series(&mut self, series: Vec<(String, u32)>) {
        for (name, last) in series {
            let at = self.series.entry(name).or_insert(0);
            *at = (*at).max(last);
        }
    }

    /// The next number of an invoice series.
    pub(super) fn next_number(&self, series: &str) -> u32 {
        self.series.get(series).copied().unwrap_or(0) + 1
    }

    /// Takes note of what recorded events issued: invoice numbers, tracking numbers.
    pub(super) fn noted(&mut self, order: &Order, events: &[OrderEvent]) {
        let numbers: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                OrderEvent::InvoiceIssued { invoice } => Some(invoice.number.as_str()),
                _ => None,
            })
            .collect();
        for number in &numbers {
            self.invoices.insert((*number).to_owned(), order.id.clone());
        }
        note_documents(&mut self.series, numbers.into_iter());
        if events.iter().any(|e| matches!(e, OrderEvent::ShipmentSent { .. })) {
            note_tracking(&mut self.tracking, order);
        }
    }

    /// Drops the kept answers that are past their retention at `now`.
    pub(super) fn forget_expired(&mut self, now: mercato_engine::inventory::Timestamp) {
        while self.remembered.front().is_some_and(|r| r.expired(now)) {
            self.remembered.pop_front();
        }
    }
}

/// Raises each series' last number to the numbers given.
fn note_documents<'a>(series: &mut HashMap<String, u32>, numbers: impl Iterator<Item = &'a str>) {
    for number in numbers {
        if let Some((name, seq)) = documents::parse_number(number) {
            let last = series.entry(name.to_owned()).or_insert(0);
            *last = (*last).max(seq);
        }
    }
}

/// Files an order's sent shipments under their carriers' tracking numbers.
fn note_tracking(tracking: &mut HashMap<(String, String), (String, String)>, order: &Order) {
    for shipment in &order.shipments {
        let carrier = shipment.carrier.clone().unwrap_or_default();
        for number in &shipment.tracking {
            tracking.insert((carrier.clone(), number.clone()), (order.id.clone(), shipment.id.clone()));
        }
    }
}

/// The orders reach the commerce's warehouses and gateways from now on.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct Reaching(pub(super) super::flows::Reach);

impl Handler<Reaching> for OrderActor {
    type Result = ();

    fn handle(&mut self, message: Reaching, _: &mut Self::Context) {
        self.reach = Some(message.0);
    }
}
