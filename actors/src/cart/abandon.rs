//! `Abandon`: a cart created whole whose later part was refused ends at once.

use super::*;

/// Ends the cart now, as its expiry would: recorded, its holds let go, the actor stopped.
/// A cart created with its lines is abandoned when a later part of the creation is
/// refused, so the refusal leaves nothing held. Answers once the end is durable.
#[derive(Message)]
#[rtype(result = "Result<(), ActorError>")]
pub struct Abandon;

impl Handler<Abandon> for CartActor {
    type Result = AtomicResponse<Self, Result<(), ActorError>>;

    fn handle(&mut self, _: Abandon, _: &mut Self::Context) -> Self::Result {
        let now = self.shared.clock.now();
        let commerce = self.shared.published.load_full();
        let holds: Vec<Hold> = self.cart.holds().cloned().collect();
        let recorded = self
            .cart
            .decide(&CartCommand::Expire, &commerce, now)
            .map_err(ActorError::from)
            .and_then(|events| self.record(events, now, None, None::<fn(&Arc<Cart>) -> Remembered>));
        let receipt = match recorded {
            Ok((receipt, _)) => receipt,
            Err(error) => return AtomicResponse::new(Box::pin(wrap_future(async move { Err(error) }))),
        };
        tracing::debug!(cart = %self.cart.id, holds = holds.len(), "cart abandoned");
        let warehouses = self.shared.warehouses.clone();
        let ended = async move {
            if let Some(receipt) = receipt {
                receipt.await.map_err(|failure| NotDurable::unknown(failure.reason))?;
            }
            send_all(warehouses, releases(&holds)).await;
            Ok(())
        };
        // The cart is ended in memory already; the actor stops once the answer is ready.
        AtomicResponse::new(Box::pin(wrap_future::<_, Self>(ended).map(|ended, _, ctx: &mut Context<Self>| {
            ctx.stop();
            ended
        })))
    }
}
