//! `RemoveLine`: a line goes, and its units with it.

use super::*;

/// Removes a line: recorded first, then its units let go.
#[derive(Message)]
#[rtype(result = "Result<CartReply, ActorError>")]
pub struct RemoveLine {
    pub line: String,
}

impl Handler<RemoveLine> for CartActor {
    type Result = AtomicResponse<Self, Result<CartReply, ActorError>>;

    fn handle(&mut self, message: RemoveLine, _: &mut Self::Context) -> Self::Result {
        let now = self.shared.clock.now();
        let commerce = self.shared.published.load_full();
        let held = self.cart.lines.get(&message.line).map(|l| releases(&l.holds)).unwrap_or_default();
        let renew_to = self.renewal(now);
        let recorded = self
            .cart
            .decide(&CartCommand::RemoveLine { line: message.line }, &commerce, now)
            .map_err(ActorError::from)
            .and_then(|events| self.commit(events, now, renew_to, None, None, Answering::Durable, held));
        let pending = self.finish(recorded, None);
        AtomicResponse::new(Box::pin(wrap_future(pending)))
    }
}
