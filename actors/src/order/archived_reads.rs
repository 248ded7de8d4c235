//! Reads that reach the archive as well as memory: an order by id, a page of the order
//! list, invoices by number or series. Memory is asked first (on the actor), the archive
//! after (on a blocking thread); an order in both (a crash came between its archive
//! write and its leaving memory) is shown once, as memory holds it. A command on an
//! archived order is refused as `order_archived`.

use std::ops::Bound;
use std::sync::Arc;

use mercato_engine::order::listing::{list_key, ListKey};
use mercato_engine::order::Order;
use mercato_engine::DomainError;

use super::read::{upper_bound, ListPage, MemoryPage, PlaceOf};
use super::{Archived, FindInvoices, InvoicePage, ListOrders, OrderPage, Orders, ReadOrder, ORDERS_EXAMINED_PER_SHOWN};
use crate::error::ActorError;
use crate::stored;

fn failed(error: impl std::fmt::Display) -> ActorError {
    ActorError::Unavailable(format!("the order archive: {error}"))
}

impl Archived {
    /// The archived order `id`, unless it was archived after what a replay shows.
    fn order(&self, id: &str) -> Result<Option<Order>, String> {
        match self.store.get(&self.commerce, id).map_err(|e| e.to_string())? {
            Some((lsn, _)) if self.through.is_some_and(|through| lsn > through) => Ok(None),
            Some((_, bytes)) => stored::decode_archived_order(&bytes).map(Some).map_err(|e| e.to_string()),
            None => Ok(None),
        }
    }

    /// A page of archived orders as `ListPage` takes one from memory.
    fn page(&self, list: &ListOrders, upper: Option<ListKey>) -> Result<MemoryPage, String> {
        let upper = match upper_bound(&list.filter, upper) {
            Bound::Excluded((at, id)) => Some((at.0, id)),
            _ => None,
        };
        let from = list.filter.placed_from().map(|t| t.0);
        let mut page = MemoryPage { orders: Vec::new(), lsn: 0, stopped_at: None };
        let mut budget = list.limit.saturating_mul(ORDERS_EXAMINED_PER_SHOWN);
        let mut last = None;
        for entry in self.store.listed_before(&self.commerce, upper.as_ref().map(|(t, id)| (*t, id.as_str())), from) {
            let (placed_at, id) = entry.map_err(|e| e.to_string())?;
            if page.orders.len() == list.limit || budget == 0 {
                page.stopped_at = last;
                break;
            }
            budget -= 1;
            last = Some((mercato_engine::inventory::Timestamp(placed_at), id.clone()));
            let Some(order) = self.order(&id)? else { continue };
            if list.filter.keeps(&order, &list.commerce) {
                page.orders.push(Arc::new(order));
            }
        }
        Ok(page)
    }
}

impl Orders {
    async fn in_archive<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Archived) -> Result<T, String> + Send + 'static,
    ) -> Result<Option<T>, ActorError> {
        let Some(archive) = self.archive.clone() else { return Ok(None) };
        let found = crate::spawn_blocking(move || read(&archive)).await.map_err(failed)?;
        found.map(Some).map_err(failed)
    }

    /// The order once the log has acknowledged its last record (durable in `sync` mode,
    /// written in `async`), or refused as not durable when the log failed first: no client
    /// may see an order, or a change to one, the log could still lose. An order that left
    /// memory is read from the archive.
    pub async fn read(&self, id: &str) -> Result<Arc<Order>, ActorError> {
        match self.ask(ReadOrder { id: id.to_owned() }).await? {
            Ok((order, lsn)) => {
                self.acknowledged(lsn).await?;
                Ok(order)
            }
            Err(DomainError::UnknownOrder { id }) => {
                let wanted = id.clone();
                let found = self.in_archive(move |archive| archive.order(&wanted)).await?.flatten();
                found.map(Arc::new).ok_or(ActorError::Refused(DomainError::UnknownOrder { id }))
            }
            Err(refused) => Err(refused.into()),
        }
    }

    /// A refusal of a command, as `order_archived` when the order it did not find is in
    /// the archive.
    pub(super) async fn archived_refusal(&self, refused: ActorError) -> ActorError {
        let ActorError::Refused(DomainError::UnknownOrder { id }) = &refused else { return refused };
        let wanted = id.clone();
        match self
            .in_archive(move |archive| archive.store.contains(&archive.commerce, &wanted).map_err(|e| e.to_string()))
            .await
        {
            Ok(Some(true)) => ActorError::Refused(DomainError::OrderArchived { id: id.clone() }),
            _ => refused,
        }
    }

    /// The place in the list of the order `id`, in memory or archived.
    async fn place_of(&self, id: &str) -> Result<ListKey, ActorError> {
        if let Some(key) = self.ask(PlaceOf(id.to_owned())).await? {
            return Ok(key);
        }
        let wanted = id.to_owned();
        let found = self.in_archive(move |archive| archive.order(&wanted)).await?.flatten();
        found.map(|order| list_key(&order)).ok_or_else(|| DomainError::UnknownOrder { id: id.to_owned() }.into())
    }

    /// A page of the order list once the log has acknowledged every record it shows: the
    /// orders in memory and the archived ones, merged in the list's order.
    pub async fn list(&self, list: ListOrders) -> Result<OrderPage, ActorError> {
        let upper = match &list.after {
            Some(id) => Some(self.place_of(id).await?),
            None => None,
        };
        let ask = ListPage {
            filter: list.filter.clone(),
            commerce: Arc::clone(&list.commerce),
            upper: upper.clone(),
            limit: list.limit,
        };
        let memory = self.ask(ask).await?;
        self.acknowledged(memory.lsn).await?;
        let limit = list.limit;
        let archived = self.in_archive(move |archive| archive.page(&list, upper)).await?;
        Ok(merge(memory, archived, limit))
    }

    /// Invoices and credit notes by number, or a page of them, from memory and the
    /// archive.
    pub async fn invoices(&self, find: FindInvoices) -> Result<InvoicePage, ActorError> {
        let by_number = find.number.clone();
        let again = FindInvoices {
            number: find.number.clone(),
            prefixes: find.prefixes.clone(),
            from: find.from,
            to: find.to,
            after: find.after.clone(),
            limit: find.limit,
        };
        let memory = match self.ask(find).await? {
            Ok(page) => {
                self.acknowledged(page.lsn).await?;
                Some(page)
            }
            Err(DomainError::UnknownInvoice { .. }) if self.archive.is_some() => None,
            Err(refused) => return Err(refused.into()),
        };
        // An invoice asked by number and found in memory is the answer.
        let memory = match (by_number.is_some(), memory) {
            (true, Some(page)) => return Ok(page),
            (_, memory) => memory,
        };
        let limit = again.limit;
        let Some(archived) = self.in_archive(move |archive| archived_invoices(archive, &again)).await? else {
            return memory.ok_or_else(|| DomainError::UnknownInvoice { number: by_number.unwrap_or_default() }.into());
        };
        if let Some(number) = by_number {
            if archived.invoices.is_empty() {
                return Err(DomainError::UnknownInvoice { number }.into());
            }
            return Ok(archived);
        }
        Ok(merge_invoices(memory, archived, limit))
    }
}

/// Two pages of the list, each newest first, as one: each side is whole down to where it
/// stopped, so the merged page is whole down to the higher of the two.
fn merge(memory: MemoryPage, archived: Option<MemoryPage>, limit: usize) -> OrderPage {
    let Some(archived) = archived else {
        return OrderPage { orders: memory.orders, lsn: memory.lsn, next_after: memory.stopped_at.map(|(_, id)| id) };
    };
    let boundary = memory.stopped_at.clone().max(archived.stopped_at.clone());
    let mut orders: Vec<Arc<Order>> = memory.orders;
    let held: std::collections::HashSet<String> = orders.iter().map(|o| o.id.clone()).collect();
    orders.extend(archived.orders.into_iter().filter(|o| !held.contains(&o.id)));
    orders.retain(|o| boundary.as_ref().is_none_or(|b| list_key(o) >= *b));
    orders.sort_by_key(|o| std::cmp::Reverse(list_key(o)));
    let mut next_after = boundary.map(|(_, id)| id);
    if orders.len() > limit {
        orders.truncate(limit);
        next_after = orders.last().map(|o| o.id.clone());
    }
    OrderPage { orders, lsn: memory.lsn, next_after }
}

/// The archived invoices `find` asks for, as the actor answers from memory.
fn archived_invoices(archive: &Archived, find: &FindInvoices) -> Result<InvoicePage, String> {
    let mut page = InvoicePage { invoices: Vec::new(), lsn: 0, next_after: None };
    let take = |number: &str, id: &str, page: &mut InvoicePage| -> Result<(), String> {
        let Some(order) = archive.order(id)? else { return Ok(()) };
        let Some(invoice) = order.invoices.iter().find(|i| i.number == number) else { return Ok(()) };
        let within =
            find.from.is_none_or(|from| invoice.issued_at >= from) && find.to.is_none_or(|to| invoice.issued_at <= to);
        if within {
            page.invoices.push((invoice.clone(), order.id.clone(), order.context.currency.clone()));
        }
        Ok(())
    };
    if let Some(number) = &find.number {
        if let Some(id) = archive.store.invoice(&archive.commerce, number).map_err(|e| e.to_string())? {
            take(number, &id, &mut page)?;
        }
        return Ok(page);
    }
    let mut series: Vec<String> = find.prefixes.iter().map(|p| format!("{p}-")).collect();
    series.sort_unstable();
    series.dedup();
    for prefix in &series {
        let (start, exclusive) = match &find.after {
            Some(after) if after.starts_with(prefix.as_str()) => (after.clone(), true),
            Some(after) if after.as_str() > prefix.as_str() => continue,
            _ => (prefix.clone(), false),
        };
        for entry in archive.store.invoices_from(&archive.commerce, prefix, &start, exclusive) {
            let (number, id) = entry.map_err(|e| e.to_string())?;
            if page.invoices.len() == find.limit {
                page.next_after = page.invoices.last().map(|(i, _, _)| i.number.clone());
                return Ok(page);
            }
            take(&number, &id, &mut page)?;
        }
    }
    Ok(page)
}

/// Two pages of invoices, each in number order, as one: whole up to the lower of the
/// two places where a side stopped.
fn merge_invoices(memory: Option<InvoicePage>, archived: InvoicePage, limit: usize) -> InvoicePage {
    let (mut invoices, lsn, memory_next) = match memory {
        Some(page) => (page.invoices, page.lsn, page.next_after),
        None => (Vec::new(), 0, None),
    };
    let boundary = match (memory_next, archived.next_after) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let held: std::collections::HashSet<String> = invoices.iter().map(|(i, _, _)| i.number.clone()).collect();
    invoices.extend(archived.invoices.into_iter().filter(|(i, _, _)| !held.contains(&i.number)));
    invoices.retain(|(i, _, _)| boundary.as_ref().is_none_or(|b| i.number <= *b));
    invoices.sort_by(|a, b| a.0.number.cmp(&b.0.number));
    let mut next_after = boundary;
    if invoices.len() > limit {
        invoices.truncate(limit);
        next_after = invoices.last().map(|(i, _, _)| i.number.clone());
    }
    InvoicePage { invoices, lsn, next_after }
}
