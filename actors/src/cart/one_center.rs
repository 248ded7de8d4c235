//! With multi-shipment off every unit of a cart comes from one logistic center: a line
//! the cart's center cannot serve moves the whole cart to the first center that can.

use super::*;

/// What `reserve_in_one_center` got: the new line's holds (and low stock), and the lines
/// it moved to the one center with their new holds.
pub(super) struct OneCenter {
    pub(super) held: Vec<Hold>,
    pub(super) low_stock: Option<u32>,
    pub(super) moved: Vec<(String, Vec<Hold>)>,
}

/// With multi-shipment off a cart's units all come from one logistic center. A new line
/// is reserved in the cart's center; when that center cannot serve it, the first center
/// in the channel's priority that can serve the whole cart is found from the warehouses'
/// availability (and the cart's own holds), and every line is reserved there anew (the
/// caller records the moves and releases the old holds). No such center: an error naming
/// each line and where it could come from.
pub(super) async fn reserve_in_one_center(
    shared: Arc<Shared>,
    wanted: Wanted,
    cart: String,
    new_line: String,
    lines: Vec<(String, String, u32, Vec<Hold>)>,
) -> Result<OneCenter, ActorError> {
    let commerce = Arc::clone(&wanted.commerce);
    let center_of = |warehouse: &str| commerce.warehouse(warehouse).map(|w| w.logistic_center.clone());
    let current = lines.iter().flat_map(|(_, _, _, holds)| holds).find_map(|h| center_of(&h.warehouse));
    if let Some(center) = &current {
        let here = Wanted { only_center: Some(center.clone()), ..wanted.clone() };
        match reserve(Arc::clone(&shared), here).await {
            Ok((held, low_stock)) => return Ok(OneCenter { held, low_stock, moved: Vec::new() }),
            Err(ActorError::Refused(DomainError::InsufficientStock { .. })) => {}
            Err(error) => return Err(error),
        }
    }
    let supply = supply_by_center(&shared, &wanted, &lines).await?;
    let mut wanted_lines: Vec<(&str, &str, u32)> =
        lines.iter().map(|(line, sku, quantity, _)| (line.as_str(), sku.as_str(), *quantity)).collect();
    wanted_lines.push((&new_line, &wanted.sku, wanted.quantity));
    let center = single_center(&commerce, &wanted.channel, &wanted.destination, &wanted_lines, &supply)?;
    if current.as_deref() == Some(center.as_str()) {
        // The cart's center can serve it all after all: the shortfall was a race.
        let here = Wanted { only_center: Some(center), ..wanted };
        let (held, low_stock) = reserve(shared, here).await?;
        return Ok(OneCenter { held, low_stock, moved: Vec::new() });
    }
    move_to(&shared, wanted, &cart, &lines, center).await
}

/// What each logistic center could give the cart, by SKU: the warehouses' availability
/// plus the cart's own holds there.
async fn supply_by_center(
    shared: &Shared,
    wanted: &Wanted,
    lines: &[(String, String, u32, Vec<Hold>)],
) -> Result<BTreeMap<(String, String), u32>, ActorError> {
    let commerce = &wanted.commerce;
    let center_of = |warehouse: &str| commerce.warehouse(warehouse).map(|w| w.logistic_center.clone());
    let mut skus: Vec<String> = lines.iter().map(|(_, sku, _, _)| sku.clone()).collect();
    skus.push(wanted.sku.clone());
    skus.sort();
    skus.dedup();
    let mut supply: BTreeMap<(String, String), u32> = BTreeMap::new();
    for (warehouse, center) in candidate_warehouses(commerce, &wanted.channel, &wanted.destination) {
        let Some(handle) = shared.warehouses.handle(&warehouse) else { continue };
        let found = ask(handle, &warehouse, PeekAvailability { skus: skus.clone() }).await?;
        for (sku, availability) in found {
            let units = availability.total().map_or(u32::MAX, |t| u32::try_from(t).unwrap_or(u32::MAX));
            let entry = supply.entry((center.clone(), sku)).or_default();
            *entry = entry.saturating_add(units);
        }
    }
    for (_, sku, _, holds) in lines {
        for hold in holds {
            if let Some(center) = center_of(&hold.warehouse) {
                let entry = supply.entry((center, sku.clone())).or_default();
                *entry = entry.saturating_add(hold.quantity);
            }
        }
    }
    Ok(supply)
}

/// Reserves every line of the cart and the new one in `center`, all or nothing.
async fn move_to(
    shared: &Arc<Shared>,
    wanted: Wanted,
    cart: &str,
    lines: &[(String, String, u32, Vec<Hold>)],
    center: String,
) -> Result<OneCenter, ActorError> {
    let mut moved: Vec<(String, Vec<Hold>)> = Vec::with_capacity(lines.len());
    let mut outcome = Ok(());
    for (line, sku, quantity, _) in lines {
        let there = Wanted {
            prefix: format!("{cart}/{line}"),
            sku: sku.clone(),
            quantity: *quantity,
            only_center: Some(center.clone()),
            ..wanted.clone()
        };
        match reserve(Arc::clone(shared), there).await {
            Ok((holds, _)) => moved.push((line.clone(), holds)),
            Err(error) => {
                outcome = Err(error);
                break;
            }
        }
    }
    let new = match outcome {
        Ok(()) => reserve(Arc::clone(shared), Wanted { only_center: Some(center), ..wanted }).await,
        Err(error) => Err(error),
    };
    match new {
        Ok((held, low_stock)) => Ok(OneCenter { held, low_stock, moved }),
        Err(error) => {
            let made: Vec<Hold> = moved.into_iter().flat_map(|(_, holds)| holds).collect();
            send_all(shared.warehouses.clone(), releases(&made)).await;
            Err(error)
        }
    }
}

impl CartActor {
    /// Adds a line with multi-shipment off: reserved in the cart's one center, or the
    /// whole cart moved to the one center that can serve it (recorded with the line, one
    /// record; the old holds let go after it).
    pub(super) fn add_in_one_center(
        &mut self,
        wanted: Wanted,
        line: String,
        answering: Answering,
        renew_to: Option<Timestamp>,
        stamp: Option<Stamp>,
    ) -> AtomicResponse<Self, Result<CartReply, ActorError>> {
        let lines: Vec<(String, String, u32, Vec<Hold>)> =
            self.cart.lines.values().map(|l| (l.id.clone(), l.sku.clone(), l.quantity, l.holds.clone())).collect();
        let (sku, quantity) = (wanted.sku.clone(), wanted.quantity);
        let reserved =
            reserve_in_one_center(Arc::clone(&self.shared), wanted, self.cart.id.clone(), line.clone(), lines);
        AtomicResponse::new(Box::pin(wrap_future::<_, Self>(reserved).then(move |reserved, actor, _| {
            let got = match reserved {
                Ok(got) => got,
                Err(error) => return wrap_future::<_, Self>(actor.finish(Err(error), stamp)),
            };
            let now = actor.shared.clock.now();
            let commerce = actor.shared.published.load_full();
            let mut made: Vec<Hold> = got.held.clone();
            made.extend(got.moved.iter().flat_map(|(_, holds)| holds.iter().cloned()));
            let mut before: Vec<Hold> = Vec::new();
            let mut scratch = Cart::clone(&actor.cart);
            let mut events = Vec::new();
            let mut decided = Ok(());
            let mut commands: Vec<CartCommand> = got
                .moved
                .into_iter()
                .filter_map(|(moved, holds)| {
                    let current = actor.cart.lines.get(&moved)?;
                    before.extend(current.holds.iter().cloned());
                    Some(CartCommand::ChangeLine { line: moved, quantity: current.quantity, holds })
                })
                .collect();
            commands.push(CartCommand::AddLine { line: line.clone(), sku, quantity, holds: got.held });
            for command in commands {
                match scratch.decide(&command, &commerce, now) {
                    Ok(decided_events) => {
                        for event in &decided_events {
                            scratch.apply(event);
                        }
                        events.extend(decided_events);
                    }
                    Err(error) => {
                        decided = Err(ActorError::from(error));
                        break;
                    }
                }
            }
            let recorded = decided.and_then(|()| {
                actor.commit(events, now, renew_to, Some(line), got.low_stock, answering, releases(&before))
            });
            if recorded.as_ref().is_err_and(ActorError::nothing_changed) {
                actix::spawn(send_all(actor.shared.warehouses.clone(), releases(&made)));
            }
            wrap_future::<_, Self>(actor.finish(recorded, stamp))
        })))
    }
}
