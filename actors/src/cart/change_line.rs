//! `ChangeLine`: a line's new quantity.

use super::*;

/// Sets a line's quantity: more units are reserved first; fewer are recorded first, then
/// let go, latest sources first, so what the line keeps is what is ready soonest.
#[derive(Message)]
#[rtype(result = "Result<CartReply, ActorError>")]
pub struct ChangeLine {
    pub line: String,
    pub quantity: u32,
}

impl Handler<ChangeLine> for CartActor {
    type Result = AtomicResponse<Self, Result<CartReply, ActorError>>;

    fn handle(&mut self, message: ChangeLine, _: &mut Self::Context) -> Self::Result {
        self.change_quantity(message.line, message.quantity, Answering::Durable)
    }
}

impl CartActor {
    /// Sets a line's quantity (a `ChangeLine`, or an `AddLine` of a SKU the cart already
    /// holds), answering as `answering` says.
    pub(super) fn change_quantity(
        &mut self,
        line: String,
        quantity: u32,
        answering: Answering,
    ) -> AtomicResponse<Self, Result<CartReply, ActorError>> {
        let now = self.shared.clock.now();
        let commerce = self.shared.published.load_full();
        let stamp = answering.key_to_free();
        let probe = CartCommand::ChangeLine { line: line.clone(), quantity, holds: Vec::new() };
        if let Err(error) = self.cart.admit(&probe, &commerce, now) {
            return self.refuse(error.into(), stamp);
        }
        let Some(current) = self.cart.lines.get(&line).cloned() else {
            return self.refuse(DomainError::UnknownCartLine { id: line }.into(), stamp);
        };
        let renew_to = self.renewal(now);
        if quantity > current.quantity {
            let more = quantity - current.quantity;
            // With multi-shipment off, more units come from the cart's one center.
            let center = (!commerce.config().multi_shipment.enabled)
                .then(|| self.cart.holds().find_map(|h| commerce.warehouse(&h.warehouse)))
                .flatten()
                .map(|w| w.logistic_center.clone());
            let mode = center.map_or(Mode::Anywhere, Mode::Center);
            let request = self.hold_request(&line, &current.sku, more, renew_to.unwrap_or(self.cart.expires_at), mode);
            return self.holding(request, move |actor, held| {
                let Held { holds: added, low_stock, .. } = match held {
                    Ok(held) => held,
                    Err(error) => return actor.finish(Err(error), stamp),
                };
                let mut holds = current.holds.clone();
                holds.extend(added.iter().cloned());
                let command = CartCommand::ChangeLine { line: line.clone(), quantity, holds };
                actor.record_holding(command, added, renew_to, line, low_stock, answering, stamp)
            });
        }
        // Fewer units (or as many): the latest holds go first, the last one kept shrinks.
        let mut kept = current.holds.clone();
        let mut after = Vec::new();
        let mut fewer = current.quantity - quantity;
        while fewer > 0 {
            let Some(last) = kept.pop() else { break };
            match last.reduced(fewer) {
                Some(smaller) => {
                    after.push((
                        last.warehouse.clone(),
                        InventoryCommand::ReduceReservation { reservation: last.reservation.clone(), quantity: fewer },
                    ));
                    kept.push(smaller);
                    fewer = 0;
                }
                None => {
                    fewer -= last.quantity;
                    after.extend(releases(std::slice::from_ref(&last)));
                }
            }
        }
        let command = CartCommand::ChangeLine { line: line.clone(), quantity, holds: kept };
        let recorded = self
            .cart
            .decide(&command, &commerce, now)
            .map_err(ActorError::from)
            .and_then(|events| self.commit(events, now, renew_to, Some(line), None, answering, after));
        let pending = self.finish(recorded, stamp);
        AtomicResponse::new(Box::pin(wrap_future(pending)))
    }
}
