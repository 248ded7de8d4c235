//! `ReadOrder`: an order as it is in memory with the LSN of its last record; the caller
//! waits for that record before it shows the order to a client. `OrderIds`: the ids alone.
//! `ListOrders`: a page of the back office's order list.

use std::collections::HashSet;
use std::ops::Bound;
use std::sync::Arc;

use actix::prelude::*;
use mercato_engine::order::listing::{list_key, ListKey, OrderFilter};
use mercato_engine::order::Order;
use mercato_engine::{Commerce, DomainError};
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

/// A page of the back office's order list: the orders `filter` keeps, newest first,
/// after the order `after` (the last of the previous page), at most `limit` of them,
/// looking at no more than `ORDERS_EXAMINED_PER_SHOWN` orders per order the page may show:
/// a filter that keeps few orders answers a short page and where to go on, rather than
/// holding the actor (and the checkouts queued behind it) for a walk of the whole history.
#[derive(Message)]
#[rtype(result = "Result<OrderPage, DomainError>")]
pub struct ListOrders {
    pub filter: OrderFilter,
    pub commerce: Arc<Commerce>,
    pub after: Option<String>,
    pub limit: usize,
}

/// How many orders a page may look at for each order it may show.
pub const ORDERS_EXAMINED_PER_SHOWN: usize = 100;

/// A page of orders, the LSN of the newest record among them (the caller waits for it
/// before it shows them), and, when the list goes on, the id to continue after: the last
/// order shown, or the last one looked at when the page ran out of its budget first.
pub struct OrderPage {
    pub orders: Vec<Arc<Order>>,
    pub lsn: Lsn,
    pub next_after: Option<String>,
}

/// A page of the orders in memory, newest first, below `upper` (the place of the order
/// the page continues after, wherever that order is now), as `ListOrders` says, with the
/// place of the last order it looked at when it stopped before the end.
#[derive(Message)]
#[rtype(result = "MemoryPage")]
pub(super) struct ListPage {
    pub(super) filter: OrderFilter,
    pub(super) commerce: Arc<Commerce>,
    pub(super) upper: Option<ListKey>,
    pub(super) limit: usize,
}

pub(super) struct MemoryPage {
    pub(super) orders: Vec<Arc<Order>>,
    pub(super) lsn: Lsn,
    pub(super) stopped_at: Option<ListKey>,
}

/// The list's upper bound: below the cursor's place, and below the end of the `to` day.
pub(super) fn upper_bound(filter: &OrderFilter, after: Option<ListKey>) -> Bound<ListKey> {
    let mut upper = after.map_or(Bound::Unbounded, Bound::Excluded);
    if let Some(end) = filter.placed_before() {
        let end = (end, String::new());
        let earlier = match &upper {
            Bound::Excluded(key) => *key > end,
            _ => true,
        };
        if earlier {
            upper = Bound::Excluded(end);
        }
    }
    upper
}

impl Handler<ListPage> for OrderActor {
    type Result = MessageResult<ListPage>;

    fn handle(&mut self, message: ListPage, _: &mut Self::Context) -> Self::Result {
        let ListPage { filter, commerce, upper, limit } = message;
        // Newest first, from the cursor or the end of the `to` day, whichever comes first,
        // down to the start of the `from` day.
        let upper = upper_bound(&filter, upper);
        let from = filter.placed_from();
        let mut page = MemoryPage { orders: Vec::new(), lsn: 0, stopped_at: None };
        let mut budget = limit.saturating_mul(ORDERS_EXAMINED_PER_SHOWN);
        let examined = self
            .listed
            .range((Bound::Unbounded, upper))
            .rev()
            .take_while(|(placed_at, _)| from.is_none_or(|from| *placed_at >= from))
            .filter_map(|(_, id)| self.orders.get(id));
        let mut last_examined = None;
        for listed in examined {
            if page.orders.len() == limit || budget == 0 {
                // More follow: after the last shown, or the last looked at.
                page.stopped_at = last_examined;
                break;
            }
            budget -= 1;
            // What the page shows and what it leaves out were both decided on this
            // order's state: the page waits for its last record either way.
            page.lsn = page.lsn.max(listed.lsn);
            last_examined = Some(list_key(&listed.order));
            if filter.keeps(&listed.order, &commerce) {
                page.orders.push(Arc::clone(&listed.order));
            }
        }
        MessageResult(page)
    }
}

/// The place in the list of the order `id` while it is in memory.
#[derive(Message)]
#[rtype(result = "Option<ListKey>")]
pub(super) struct PlaceOf(pub(super) String);

impl Handler<PlaceOf> for OrderActor {
    type Result = Option<ListKey>;

    fn handle(&mut self, message: PlaceOf, _: &mut Self::Context) -> Self::Result {
        self.orders.get(&message.0).map(|l| list_key(&l.order))
    }
}

/// Orders whose changes may not all have reached the warehouses or the gateway yet:
/// any that shipped or released units, or has an online refund pending (for the start-up
/// repair).
#[derive(Message)]
#[rtype(result = "Vec<Arc<Order>>")]
pub struct Unfinished;

impl Handler<Unfinished> for OrderActor {
    type Result = MessageResult<Unfinished>;

    fn handle(&mut self, _: Unfinished, _: &mut Self::Context) -> Self::Result {
        let unfinished = |order: &Order| {
            order.lines.iter().flat_map(|l| &l.allocations).any(|a| a.shipped > 0 || a.released > 0)
                || order.refunds.iter().any(|r| r.online && r.reference.is_none())
                || order.returns.iter().flat_map(|r| &r.receipts).any(|r| !r.restocked)
        };
        MessageResult(self.orders.values().filter(|l| unfinished(&l.order)).map(|l| Arc::clone(&l.order)).collect())
    }
}

/// Invoices and credit notes: the one numbered `number`, or those of the series
/// `prefixes` name (one company's) issued within `from..=to`, by number, after `after`, at
/// most `limit`.
#[derive(Message)]
#[rtype(result = "Result<InvoicePage, DomainError>")]
pub struct FindInvoices {
    pub number: Option<String>,
    pub prefixes: Vec<String>,
    pub from: Option<mercato_engine::inventory::Timestamp>,
    pub to: Option<mercato_engine::inventory::Timestamp>,
    pub after: Option<String>,
    pub limit: usize,
}

/// A page of invoices with their orders' ids and currencies, the LSN of the last record of any order
/// shown, and the number to continue after when there may be more.
#[derive(Debug, Clone)]
pub struct InvoicePage {
    pub invoices: Vec<(mercato_engine::order::Invoice, String, String)>,
    pub lsn: Lsn,
    pub next_after: Option<String>,
}

impl Handler<FindInvoices> for OrderActor {
    type Result = Result<InvoicePage, DomainError>;

    fn handle(&mut self, find: FindInvoices, _: &mut Self::Context) -> Self::Result {
        let mut page = InvoicePage { invoices: Vec::new(), lsn: 0, next_after: None };
        let take = |number: &str, order: &str, page: &mut InvoicePage| {
            let Some(listed) = self.orders.get(order) else { return };
            let Some(invoice) = listed.order.invoices.iter().find(|i| i.number == number) else { return };
            let within = find.from.is_none_or(|from| invoice.issued_at >= from)
                && find.to.is_none_or(|to| invoice.issued_at <= to);
            if within {
                page.lsn = page.lsn.max(listed.lsn);
                page.invoices.push((invoice.clone(), order.to_owned(), listed.order.context.currency.clone()));
            }
        };
        if let Some(number) = &find.number {
            let order =
                self.invoices.get(number).ok_or_else(|| DomainError::UnknownInvoice { number: number.clone() })?;
            take(number, order, &mut page);
            return Ok(page);
        }
        // Each series is a contiguous range of numbers: walked in their order, a page
        // continues after `after` and skips the series wholly before it.
        let mut series: Vec<String> = find.prefixes.iter().map(|p| format!("{p}-")).collect();
        series.sort_unstable();
        series.dedup();
        for prefix in &series {
            let start = match &find.after {
                Some(after) if after.starts_with(prefix.as_str()) => Bound::Excluded(after.clone()),
                Some(after) if after.as_str() > prefix.as_str() => continue,
                _ => Bound::Included(prefix.clone()),
            };
            let in_series =
                self.invoices.range((start, Bound::Unbounded)).take_while(|(n, _)| n.starts_with(prefix.as_str()));
            for (number, order) in in_series {
                if page.invoices.len() == find.limit {
                    page.next_after = page.invoices.last().map(|(i, _, _)| i.number.clone());
                    return Ok(page);
                }
                take(number, order, &mut page);
            }
        }
        Ok(page)
    }
}

/// The ids of the orders with a shipment waiting for stock.
#[derive(Message)]
#[rtype(result = "Vec<String>")]
pub struct Waiting;

impl Handler<Waiting> for OrderActor {
    type Result = MessageResult<Waiting>;

    fn handle(&mut self, _: Waiting, _: &mut Self::Context) -> Self::Result {
        let waiting = |order: &Order| {
            order.shipments.iter().any(|s| s.status == mercato_engine::commerce::model::ShipmentStatus::AwaitingStock)
        };
        MessageResult(self.orders.values().filter(|l| waiting(&l.order)).map(|l| l.order.id.clone()).collect())
    }
}

/// Warehouses served or moved some orders' units: each such order with a shipment still
/// to leave reads its keys again (off the actor) and is refreshed.
impl Handler<crate::warehouse::StockMoved> for OrderActor {
    type Result = ();

    fn handle(&mut self, message: crate::warehouse::StockMoved, ctx: &mut Self::Context) {
        let mut ids: Vec<String> = message
            .keys
            .iter()
            .filter_map(|key| key.split('/').next())
            .filter(|id| {
                self.orders.get(*id).is_some_and(|l| {
                    l.order
                        .shipments
                        .iter()
                        .any(|s| s.status == mercato_engine::commerce::model::ShipmentStatus::AwaitingStock)
                })
            })
            .map(str::to_owned)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return;
        }
        let Some(orders) = self.handle_for(ctx) else { return };
        actix::spawn(async move {
            for id in ids {
                if let Err(error) = orders.refresh(&id).await {
                    tracing::warn!(order = %id, %error, "an order whose stock moved was not refreshed");
                }
            }
        });
    }
}
