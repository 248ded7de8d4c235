//! With multi-shipment off every unit of a cart comes from one logistic center: a line
//! the cart's center cannot serve moves the whole cart to the first center that can (the
//! engine's hold workflow decides the move); this records it with the new line.

use super::*;

impl CartActor {
    /// Adds a line with multi-shipment off: reserved in the cart's one center, or the
    /// whole cart moved to the one center that can serve it (recorded with the line, one
    /// record; the old holds let go after it).
    pub(super) fn add_in_one_center(
        &mut self,
        request: HoldRequest,
        answering: Answering,
        renew_to: Option<Timestamp>,
        stamp: Option<Stamp>,
    ) -> AtomicResponse<Self, Result<CartReply, ActorError>> {
        let (line, sku, quantity) = (request.line.clone(), request.sku.clone(), request.quantity);
        let reserved = hold(Arc::clone(&self.shared), request);
        AtomicResponse::new(Box::pin(wrap_future::<_, Self>(reserved).then(move |reserved, actor, _| {
            let got = match reserved {
                Ok(got) => got,
                Err(error) => return wrap_future::<_, Self>(actor.finish(Err(error), stamp)),
            };
            let now = actor.shared.clock.now();
            let commerce = actor.shared.published.load_full();
            let mut made: Vec<Hold> = got.holds.clone();
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
            commands.push(CartCommand::AddLine { line: line.clone(), sku, quantity, holds: got.holds });
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
