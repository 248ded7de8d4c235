//! `SetAddress`, `SetPromoCode`, and `Keeping`: a part of a cart created whole, answered
//! once queued.

use super::*;

impl CartActor {
    /// Records a change that holds nothing new and lets nothing go, keeping the answer
    /// as `answering` says.
    pub(super) fn change(
        &mut self,
        command: CartCommand,
        answering: Answering,
    ) -> AtomicResponse<Self, Result<CartReply, ActorError>> {
        let now = self.shared.clock.now();
        let commerce = self.shared.published.load_full();
        let stamp = answering.key_to_free();
        let renew_to = self.renewal(now);
        let recorded = self
            .cart
            .decide(&command, &commerce, now)
            .map_err(ActorError::from)
            .and_then(|events| self.commit(events, now, renew_to, None, None, answering, Vec::new()));
        let pending = self.finish(recorded, stamp);
        AtomicResponse::new(Box::pin(wrap_future(pending)))
    }

    pub(super) fn choose(
        &mut self,
        choice: DeliveryChoice,
        answering: Answering,
    ) -> AtomicResponse<Self, Result<CartReply, ActorError>> {
        let commerce = self.shared.published.load_full();
        let now = self.shared.clock.now();
        let stamp = answering.key_to_free();
        let probe = CartCommand::ChooseDelivery { choice: choice.clone() };
        if let Err(error) = self.cart.admit(&probe, &commerce, now) {
            return self.refuse(error.into(), stamp);
        }
        match settle_choice(&commerce, &self.cart, choice, self.shared.clock.today()) {
            Ok(choice) => self.change(CartCommand::ChooseDelivery { choice }, answering),
            Err(error) => self.refuse(error.into(), stamp),
        }
    }
}

/// An address or delivery set as a part of a cart created whole: answered once queued
/// when a part follows it, else once durable (its answer kept under the key, if any).
pub struct Keeping<M>(pub M, pub Answering);

impl<M> Message for Keeping<M> {
    type Result = Result<CartReply, ActorError>;
}

impl Handler<Keeping<SetAddress>> for CartActor {
    type Result = AtomicResponse<Self, Result<CartReply, ActorError>>;

    fn handle(&mut self, message: Keeping<SetAddress>, _: &mut Self::Context) -> Self::Result {
        let Keeping(SetAddress(address), answering) = message;
        self.change(CartCommand::SetAddress { address }, answering)
    }
}

impl Handler<Keeping<ChooseDelivery>> for CartActor {
    type Result = AtomicResponse<Self, Result<CartReply, ActorError>>;

    fn handle(&mut self, message: Keeping<ChooseDelivery>, _: &mut Self::Context) -> Self::Result {
        let Keeping(ChooseDelivery(choice), answering) = message;
        self.choose(choice, answering)
    }
}

/// Sets where the cart's goods go (clearing a delivery choice made for another address).
#[derive(Message)]
#[rtype(result = "Result<CartReply, ActorError>")]
pub struct SetAddress(pub ShippingAddress);

impl Handler<SetAddress> for CartActor {
    type Result = AtomicResponse<Self, Result<CartReply, ActorError>>;

    fn handle(&mut self, message: SetAddress, _: &mut Self::Context) -> Self::Result {
        self.change(CartCommand::SetAddress { address: message.0 }, Answering::Durable)
    }
}

/// Applies a promo code (or, with none, takes it off).
#[derive(Message)]
#[rtype(result = "Result<CartReply, ActorError>")]
pub struct SetPromoCode(pub Option<String>);

impl Handler<SetPromoCode> for CartActor {
    type Result = AtomicResponse<Self, Result<CartReply, ActorError>>;

    fn handle(&mut self, message: SetPromoCode, _: &mut Self::Context) -> Self::Result {
        self.change(CartCommand::SetPromoCode { code: message.0 }, Answering::Durable)
    }
}
