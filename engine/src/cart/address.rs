//! Where a cart's goods go and how the customer receives them: the shipping address and
//! the delivery choice. They belong to the cart, which records them; the order checkout
//! places keeps them as they were.

use serde::{Deserialize, Serialize};

/// Where a cart's goods go: the customer's postal address (and, for pick-up points, where
/// the customer is).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShippingAddress {
    pub name: String,
    pub line: String,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Degrees; with `longitude`, lets pick-up points within their radius be offered.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl Eq for ShippingAddress {}

impl ShippingAddress {
    /// The address as a place for area membership.
    pub fn place(&self) -> crate::commerce::model::Place {
        crate::commerce::model::Place {
            country: self.country.clone(),
            region: self.region.clone(),
            postal_code: Some(self.postal_code.clone()).filter(|p| !p.is_empty()),
        }
    }

    pub fn coordinates(&self) -> Option<(f64, f64)> {
        Some((self.latitude?, self.longitude?))
    }
}

/// How the customer chose to receive the cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryChoice {
    /// Home delivery, with the preference the shipments were planned with and, per planned
    /// shipment id, the chosen shipping type (`carrier/type`).
    Home { preference: crate::commerce::model::ShipmentPreference, shipping_types: Vec<(String, String)> },
    /// Pick-up at a physical location of the channel.
    Pickup { location: String },
}
