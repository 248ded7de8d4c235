//! `ChooseDelivery` and `DeliveryOptions`: how the cart is delivered, and the ways it can be.

use super::*;

/// Chooses how the goods are received, checked against the cart's options; shipments
/// without a chosen shipping type get the cheapest.
#[derive(Message)]
#[rtype(result = "Result<CartReply, ActorError>")]
pub struct ChooseDelivery(pub DeliveryChoice);

impl Handler<ChooseDelivery> for CartActor {
    type Result = AtomicResponse<Self, Result<CartReply, ActorError>>;

    fn handle(&mut self, message: ChooseDelivery, _: &mut Self::Context) -> Self::Result {
        self.choose(message.0, Answering::Durable)
    }
}

/// The ways the cart can be delivered: home-delivery shipments (or why there are none),
/// pick-up points near the address, and the channel's payment systems.
#[derive(Debug, Clone)]
pub struct DeliveryView {
    pub cart: Arc<Cart>,
    pub preference: ShipmentPreference,
    pub multi_shipment: bool,
    pub home: Result<Vec<PlannedShipment>, DomainError>,
    pub pickup: Vec<PickupPoint>,
}

#[derive(Message)]
#[rtype(result = "Result<DeliveryView, ActorError>")]
pub struct DeliveryOptions {
    /// None: the commerce's default preference.
    pub preference: Option<ShipmentPreference>,
}

impl Handler<DeliveryOptions> for CartActor {
    type Result = Reply<Result<DeliveryView, ActorError>>;

    /// Answered once every change the cart made is durable, as reads of the cart are: the
    /// options show the cart.
    fn handle(&mut self, message: DeliveryOptions, _: &mut Self::Context) -> Self::Result {
        let view = self.delivery_view(message);
        self.once_durable(view)
    }
}

impl CartActor {
    pub(super) fn delivery_view(&self, message: DeliveryOptions) -> Result<DeliveryView, ActorError> {
        let commerce = self.shared.published.load_full();
        let today = self.shared.clock.today();
        let settings = commerce.config().multi_shipment;
        let preference = message.preference.unwrap_or(settings.default_preference);
        let priced = price(&commerce, &self.cart, today)?;
        let home = if self.cart.lines.is_empty() {
            Err(DomainError::CartEmpty)
        } else {
            plan(&commerce, &self.cart, &priced, preference, today)
        };
        let pickup = self
            .cart
            .address
            .as_ref()
            .and_then(ShippingAddress::coordinates)
            .map(|at| pickup_points(&commerce, &self.cart.context.channel, at))
            .unwrap_or_default();
        Ok(DeliveryView { cart: Arc::clone(&self.cart), preference, multi_shipment: settings.enabled, home, pickup })
    }
}
