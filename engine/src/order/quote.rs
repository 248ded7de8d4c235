//! A cart's quote: its prices, its delivery (planned and, once chosen, priced) and its
//! totals, computed from the cart and the commerce alone. The cart answers with it, the
//! delivery options are read from it, and checkout fixes it into the order.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

use crate::cart::{Cart, DeliveryChoice};
use crate::commerce::model::ShipmentPreference;
use crate::commerce::Commerce;
use crate::delivery::{
    pickup_points, plan_home, sourced, HomeDelivery, PlannedShipment, ShippingOption, PICKUP_TRANSFER_DAYS,
};
use crate::error::DomainError;
use crate::pricing::totals::{price_cart, CartPricing, PricedCart, Totals};
use crate::pricing::{to_main, Shopper};

/// The delivery a cart chose, priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotedDelivery {
    /// Each planned shipment with the shipping type chosen for it.
    Home(Vec<(PlannedShipment, ShippingOption)>),
    /// Pick-up at `location`, ready on `date`.
    Pickup { location: String, date: NaiveDate, centers: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub priced: PricedCart,
    pub totals: Totals,
    pub delivery: Option<QuotedDelivery>,
}

/// Prices a cart's lines for its destination.
pub fn price(commerce: &Commerce, cart: &Cart, today: NaiveDate) -> Result<PricedCart, DomainError> {
    let destination = cart.destination();
    let context = &cart.context;
    let input = CartPricing {
        commerce,
        channel: &context.channel,
        currency: &context.currency,
        shopper: Shopper::of(commerce, context.user.as_deref(), context.group.as_deref(), Some(&destination)),
        destination: &destination,
        lines: cart.lines.values().map(|l| (l.id.as_str(), l.sku.as_str(), l.quantity)).collect(),
        promo_code: cart.promo_code.as_deref(),
        today,
    };
    price_cart(&input)
}

/// Plans home delivery of a cart with its prices.
pub fn plan(
    commerce: &Commerce,
    cart: &Cart,
    priced: &PricedCart,
    preference: ShipmentPreference,
    today: NaiveDate,
) -> Result<Vec<PlannedShipment>, DomainError> {
    let destination = cart.destination();
    let mut unit_values = BTreeMap::new();
    for line in &priced.lines {
        let per_unit = if line.quantity == 0 { Decimal::ZERO } else { line.net() / Decimal::from(line.quantity) };
        unit_values.insert(line.line.clone(), to_main(commerce, per_unit, &priced.currency)?);
    }
    let request = HomeDelivery {
        commerce,
        destination: &destination,
        preference,
        today,
        currency: &priced.currency,
        free_shipping: priced.free_shipping,
        unit_values: &unit_values,
    };
    let lines: Vec<_> = cart.lines.values().collect();
    plan_home(&request, &sourced(commerce, &lines))
}

/// Checks a delivery choice against the cart's options and completes it: every planned
/// shipment gets a shipping type (the chosen one, else the cheapest).
pub fn settle_choice(
    commerce: &Commerce,
    cart: &Cart,
    choice: DeliveryChoice,
    today: NaiveDate,
) -> Result<DeliveryChoice, DomainError> {
    match choice {
        DeliveryChoice::Home { preference, shipping_types } => {
            let priced = price(commerce, cart, today)?;
            let shipments = plan(commerce, cart, &priced, preference, today)?;
            for (id, _) in &shipping_types {
                if !shipments.iter().any(|s| s.id == *id) {
                    return Err(DomainError::UnknownShipment { id: id.clone() });
                }
            }
            let mut chosen = Vec::with_capacity(shipments.len());
            for shipment in &shipments {
                let wanted = shipping_types.iter().find(|(id, _)| *id == shipment.id).map(|(_, key)| key);
                let option = match wanted {
                    Some(key) => shipment.options.iter().find(|o| o.key() == *key).ok_or_else(|| {
                        DomainError::UnknownShippingType {
                            shipment: shipment.id.clone(),
                            code: key.clone(),
                            offered: shipment.options.iter().map(ShippingOption::key).collect::<Vec<_>>().join(", "),
                        }
                    })?,
                    None => shipment.options.first().ok_or_else(|| DomainError::Undeliverable {
                        lines: shipment.items.iter().map(|i| i.line.clone()).collect::<Vec<_>>().join(", "),
                        country: cart.destination().country,
                    })?,
                };
                chosen.push((shipment.id.clone(), option.key()));
            }
            Ok(DeliveryChoice::Home { preference, shipping_types: chosen })
        }
        DeliveryChoice::Pickup { location } => {
            let offered = cart
                .address
                .as_ref()
                .and_then(|a| a.coordinates())
                .map(|at| pickup_points(commerce, &cart.context.channel, at))
                .unwrap_or_default();
            if !offered.iter().any(|p| p.code == location) {
                let offered = offered.iter().map(|p| p.code.clone()).collect::<Vec<_>>().join(", ");
                return Err(DomainError::UnknownPickupPoint { code: location, offered });
            }
            Ok(DeliveryChoice::Pickup { location })
        }
    }
}

/// The cart's quote: prices and, once a delivery is chosen, its shipments and shipping.
/// A chosen shipping type no longer offered (the plan changed) is an error naming it.
pub fn quote(commerce: &Commerce, cart: &Cart, today: NaiveDate) -> Result<Quote, DomainError> {
    let priced = price(commerce, cart, today)?;
    let delivery = match &cart.delivery {
        None => None,
        Some(DeliveryChoice::Home { preference, shipping_types }) => {
            let shipments = plan(commerce, cart, &priced, *preference, today)?;
            let mut quoted = Vec::with_capacity(shipments.len());
            for shipment in shipments {
                let key = shipping_types.iter().find(|(id, _)| *id == shipment.id).map(|(_, key)| key.clone());
                let option = key.as_ref().and_then(|key| shipment.options.iter().find(|o| o.key() == *key)).cloned();
                let Some(option) = option else {
                    return Err(DomainError::UnknownShippingType {
                        shipment: shipment.id.clone(),
                        code: key.unwrap_or_default(),
                        offered: shipment.options.iter().map(ShippingOption::key).collect::<Vec<_>>().join(", "),
                    });
                };
                quoted.push((shipment, option));
            }
            Some(QuotedDelivery::Home(quoted))
        }
        Some(DeliveryChoice::Pickup { location }) => {
            // Still offered for this address (configuration may have changed).
            settle_choice(commerce, cart, DeliveryChoice::Pickup { location: location.clone() }, today)?;
            let lines: Vec<_> = cart.lines.values().collect();
            let units = sourced(commerce, &lines);
            let ready = units.iter().map(|u| u.ready_date).max().unwrap_or(today).max(today);
            let date = ready.checked_add_days(Days::new(PICKUP_TRANSFER_DAYS)).unwrap_or(ready);
            let mut centers: Vec<String> = units.iter().map(|u| u.center.clone()).collect();
            centers.sort();
            centers.dedup();
            Some(QuotedDelivery::Pickup { location: location.clone(), date, centers })
        }
    };
    let shipping = match &delivery {
        Some(QuotedDelivery::Home(quoted)) => quoted.iter().map(|(_, option)| option.price).sum(),
        _ => Decimal::ZERO,
    };
    let totals = priced.totals(shipping);
    Ok(Quote { priced, totals, delivery })
}
