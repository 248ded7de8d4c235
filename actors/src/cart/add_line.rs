//! `AddLine`: a new line (or more units on a line of the same SKU).

use super::*;

/// Adds a line of `quantity` units of `sku`: checks the quantity rules, reserves the units
/// where source selection says, and records the line with its holds. A SKU the cart
/// already holds grows that line instead (the rules then apply to the line's total).
#[derive(Message)]
#[rtype(result = "Result<CartReply, ActorError>")]
pub struct AddLine {
    pub sku: String,
    pub quantity: u32,
    pub answering: Answering,
}

impl Handler<AddLine> for CartActor {
    type Result = AtomicResponse<Self, Result<CartReply, ActorError>>;

    fn handle(&mut self, message: AddLine, _: &mut Self::Context) -> Self::Result {
        let now = self.shared.clock.now();
        let commerce = self.shared.published.load_full();
        let stamp = message.answering.key_to_free();
        // A SKU the cart already holds grows its line, as a change to the total would: the
        // quantity rules then apply to everything the cart holds of it, so adding the
        // product again cannot pass its maximum.
        if let Some(existing) = self.cart.lines.values().find(|l| l.sku == message.sku) {
            let (line, current) = (existing.id.clone(), existing.quantity);
            let Some(total) = current.checked_add(message.quantity) else {
                let error = DomainError::InvalidQuantity {
                    quantity: i64::from(current) + i64::from(message.quantity),
                    reason: "the line would exceed the largest quantity",
                };
                return self.refuse(error.into(), stamp);
            };
            return self.change_quantity(line, total, message.answering);
        }
        let line = self.cart.next_line_id();
        let probe = CartCommand::AddLine {
            line: line.clone(),
            sku: message.sku.clone(),
            quantity: message.quantity,
            holds: Vec::new(),
        };
        if let Err(error) = self.cart.admit(&probe, &commerce, now) {
            return self.refuse(error.into(), stamp);
        }
        let renew_to = self.renewal(now);
        let expires_at = renew_to.unwrap_or(self.cart.expires_at);
        if !commerce.config().multi_shipment.enabled {
            let lines = self.cart.lines.values().map(|l| (l.id.clone(), l.sku.clone(), l.quantity, l.holds.clone()));
            let mode = Mode::OneCenter { lines: lines.collect() };
            let request = self.hold_request(&line, &message.sku, message.quantity, expires_at, mode);
            return self.add_in_one_center(request, message.answering, renew_to, stamp);
        }
        let request = self.hold_request(&line, &message.sku, message.quantity, expires_at, Mode::Anywhere);
        let AddLine { sku, quantity, answering } = message;
        self.holding(request, move |actor, held| {
            let Held { holds, low_stock, .. } = match held {
                Ok(held) => held,
                Err(error) => return actor.finish(Err(error), stamp),
            };
            let command = CartCommand::AddLine { line: line.clone(), sku, quantity, holds: holds.clone() };
            actor.record_holding(command, holds, renew_to, line, low_stock, answering, stamp)
        })
    }
}
