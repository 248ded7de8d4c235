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

/// Runs the engine's hold workflow (`workflow::hold`) for a line: each effect against the
/// warehouses, its outcome fed back, until the line's units are held (with, with
/// multi-shipment off, the lines moved to the one center) or refused with nothing held.
pub(super) async fn hold(shared: Arc<Shared>, request: HoldRequest) -> Result<Held, ActorError> {
    let commerce = shared.published.load_full();
    let (mut machine, mut step) = Holding::start(request, commerce);
    loop {
        let outcome = match step {
            Step::Done(result) => return result,
            Step::Run(Effect::Availability { warehouses, skus }) => {
                Outcome::Availability(availability(&shared, &warehouses, skus).await)
            }
            Step::Run(Effect::Reserve { warehouse, prefix, sku, quantity, expires_at }) => {
                let reservation = format!("{prefix}/{:016x}", shared.ids.token());
                let command = InventoryCommand::Reserve { reservation: reservation.clone(), sku, quantity, expires_at };
                let reserved = reserve_in(&shared, &warehouse, command).await;
                if let Reserved::Failed(ActorError::Unavailable(_)) = &reserved {
                    // No answer in time: the warehouse may still make it. The release,
                    // queued behind it, lets it go either way.
                    let release = InventoryCommand::ReleaseReservation { reservation };
                    send_all(shared.warehouses.clone(), vec![(warehouse.clone(), release)]).await;
                }
                Outcome::Reserved(reserved)
            }
            Step::Run(Effect::Release { holds }) => {
                send_all(shared.warehouses.clone(), releases(&holds)).await;
                Outcome::Released
            }
        };
        step = machine.resume(outcome);
    }
}

/// What each of `warehouses` has now of `skus` (a warehouse this node does not run is
/// left out).
async fn availability(shared: &Shared, warehouses: &[String], skus: Vec<String>) -> Result<Found, ActorError> {
    let mut found = Vec::with_capacity(warehouses.len());
    for warehouse in warehouses {
        let Some(handle) = shared.warehouses.handle(warehouse) else { continue };
        let stock = ask(handle, warehouse, PeekAvailability { skus: skus.clone() }).await?;
        found.push((warehouse.clone(), stock));
    }
    Ok(found)
}

/// One reservation in one warehouse, answered once queued on the log (the cart's own
/// record, queued after it, is what its client waits for).
async fn reserve_in(shared: &Shared, warehouse: &str, command: InventoryCommand) -> Reserved<ActorError> {
    let Some(handle) = shared.warehouses.handle(warehouse) else {
        return Reserved::Failed(ActorError::Unavailable(warehouse.to_owned()));
    };
    match ask(handle, warehouse, ExecuteQueued(command)).await {
        Ok(Ok(queued)) => {
            let made = queued.events.iter().find_map(|event| match event {
                InventoryEvent::StockReserved { reservation } => Some(reservation),
                _ => None,
            });
            match made {
                Some(made) => Reserved::Held(Hold::reserved(warehouse, made, &queued.ready_dates)),
                None => Reserved::Failed(ActorError::Unavailable(warehouse.to_owned())),
            }
        }
        Ok(Err(ActorError::Refused(error))) => Reserved::Refused(error),
        Ok(Err(error)) | Err(error) => Reserved::Failed(error),
    }
}
