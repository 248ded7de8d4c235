//! Holding units in the warehouses for a line: candidate warehouses, availability,
//! source selection and the reservations, with what a failed attempt lets go.

use super::*;

/// Sends a request to a warehouse through its gate, bounded in time.
pub(super) async fn ask<M>(warehouse: &WarehouseHandle, code: &str, message: M) -> Result<M::Result, ActorError>
where
    M: Message + Send + 'static,
    M::Result: Send,
    WarehouseActor: Handler<Gated<M>>,
{
    let request = warehouse.send(message)?;
    request.timeout(CART_WAREHOUSE_TIMEOUT).await.map_err(|_| ActorError::Unavailable(code.to_owned()))
}

/// Commands for warehouses that need no answer for the cart to go on (releases and
/// renewals after the cart recorded its change): sent in order, waiting for mailbox room;
/// one that fails is logged, since what it would have let go expires anyway.
pub(super) async fn send_all(warehouses: Warehouses, commands: Vec<(String, InventoryCommand)>) {
    for (code, command) in commands {
        let Some(addr) = warehouses.get(&code) else { continue };
        match addr.send(ExecuteQueued(command)).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::debug!(warehouse = %code, %error, "a cart's release or renewal found nothing to do")
            }
            Err(error) => tracing::warn!(warehouse = %code, %error, "a cart's release or renewal was not delivered"),
        }
    }
}

pub(super) fn releases(holds: &[Hold]) -> Vec<(String, InventoryCommand)> {
    holds
        .iter()
        .map(|h| (h.warehouse.clone(), InventoryCommand::ReleaseReservation { reservation: h.reservation.clone() }))
        .collect()
}

/// What a line's new units need: where to look and how long to hold them.
#[derive(Clone)]
pub(super) struct Wanted {
    pub(super) commerce: Arc<Commerce>,
    pub(super) channel: String,
    pub(super) destination: Place,
    /// Reservation ids start with this (the cart and line).
    pub(super) prefix: String,
    pub(super) sku: String,
    pub(super) quantity: u32,
    pub(super) expires_at: Timestamp,
    /// With multi-shipment off: the one logistic center the units must come from.
    pub(super) only_center: Option<String>,
}

/// Reserves `quantity` units of a SKU across the warehouses that may serve the cart, one
/// reservation per warehouse, as source selection splits them. All or nothing: when a
/// warehouse refuses, what the others reserved is released. Availability may change
/// between reading it and reserving: a shortfall is retried once with fresh figures.
/// Returns the holds and, when units came from stock that is running out, what is left.
pub(super) async fn reserve(shared: Arc<Shared>, wanted: Wanted) -> Result<(Vec<Hold>, Option<u32>), ActorError> {
    let mut candidates = candidate_warehouses(&wanted.commerce, &wanted.channel, &wanted.destination);
    if let Some(center) = &wanted.only_center {
        candidates.retain(|(_, c)| c == center);
    }
    let mut attempts = 0;
    loop {
        attempts += 1;
        let today = shared.clock.today();
        let found = availability_in(&shared, &candidates, &wanted.sku).await?;
        if found.is_empty() {
            return Err(DomainError::InsufficientStock {
                sku: wanted.sku.clone(),
                requested: wanted.quantity,
                available: 0,
            }
            .into());
        }
        let on_hand: u64 = found.iter().flat_map(|c| c.stock.values()).map(|a| u64::from(a.now)).sum();
        let assignments = select_sources(&found, &[(wanted.sku.clone(), wanted.quantity)], today)?;
        let mut per_warehouse: Vec<(String, u32)> = Vec::new();
        for assignment in assignments {
            match per_warehouse.iter_mut().find(|(w, _)| *w == assignment.warehouse) {
                Some((_, quantity)) => *quantity = quantity.saturating_add(assignment.quantity),
                None => per_warehouse.push((assignment.warehouse, assignment.quantity)),
            }
        }
        let (holds, failure) = reserve_in(&shared, &wanted, per_warehouse).await;
        let Some(error) = failure else {
            let from_stock: u64 = holds
                .iter()
                .flat_map(|h| &h.parts)
                .filter(|p| p.supply == Supply::InStock)
                .map(|p| u64::from(p.quantity))
                .sum();
            let left = u32::try_from(on_hand.saturating_sub(from_stock)).unwrap_or(u32::MAX);
            let low_stock = (from_stock > 0 && left <= LOW_STOCK_UNITS).then_some(left);
            return Ok((holds, low_stock));
        };
        send_all(shared.warehouses.clone(), releases(&holds)).await;
        let shortfall = matches!(error, ActorError::Refused(DomainError::InsufficientStock { .. }));
        if !(shortfall && attempts < 2) {
            return Err(error);
        }
    }
}

/// What each candidate warehouse has of `sku`, as source selection takes it.
async fn availability_in(
    shared: &Shared,
    candidates: &[(String, String)],
    sku: &str,
) -> Result<Vec<Candidate>, ActorError> {
    let mut found = Vec::with_capacity(candidates.len());
    for (warehouse, center) in candidates {
        let Some(handle) = shared.warehouses.handle(warehouse) else { continue };
        let mut stock = ask(handle, warehouse, PeekAvailability { skus: vec![sku.to_owned()] }).await?;
        if let Some(availability) = stock.remove(sku) {
            found.push(Candidate {
                warehouse: warehouse.clone(),
                logistic_center: center.clone(),
                stock: BTreeMap::from([(sku.to_owned(), availability)]),
            });
        }
    }
    Ok(found)
}

/// Reserves each warehouse's share, in order, stopping at the first refusal: the holds
/// made, and the refusal if there was one (the caller lets the holds go then).
async fn reserve_in(
    shared: &Shared,
    wanted: &Wanted,
    per_warehouse: Vec<(String, u32)>,
) -> (Vec<Hold>, Option<ActorError>) {
    let mut holds = Vec::with_capacity(per_warehouse.len());
    for (warehouse, quantity) in per_warehouse {
        let Some(handle) = shared.warehouses.handle(&warehouse) else {
            return (holds, Some(ActorError::Unavailable(warehouse)));
        };
        let reservation = format!("{}/{:016x}", wanted.prefix, shared.ids.token());
        let command =
            InventoryCommand::Reserve { reservation, sku: wanted.sku.clone(), quantity, expires_at: wanted.expires_at };
        match ask(handle, &warehouse, ExecuteQueued(command)).await {
            Ok(Ok(queued)) => {
                let made = queued.events.iter().find_map(|event| match event {
                    InventoryEvent::StockReserved { reservation } => Some(reservation),
                    _ => None,
                });
                if let Some(made) = made {
                    holds.push(Hold::reserved(&warehouse, made, &queued.ready_dates));
                }
            }
            Ok(Err(error)) => return (holds, Some(error)),
            Err(error) => return (holds, Some(error)),
        }
    }
    (holds, None)
}
