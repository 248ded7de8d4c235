//! Where a cart's goods go and how the customer receives them: the shipping address and
//! the delivery choice. They belong to the cart, which records them; the order checkout
//! places keeps them as they were.

use serde::{Deserialize, Serialize};

use crate::commerce::Commerce;
use crate::error::DomainError;

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

/// Longest text field of an address.
pub const ADDRESS_FIELD_MAX: usize = 200;

/// An address the cart can ship to: every required field present, no field too long, a
/// country the commerce sells to, coordinates on the globe.
pub(super) fn check_address(address: &ShippingAddress, commerce: &Commerce) -> Result<(), DomainError> {
    let fields = [
        ("name", Some(&address.name)),
        ("line", Some(&address.line)),
        ("city", Some(&address.city)),
        ("postal_code", Some(&address.postal_code)),
        ("region", address.region.as_ref()),
        ("phone", address.phone.as_ref()),
        ("email", address.email.as_ref()),
    ];
    for (field, value) in fields {
        let Some(value) = value else { continue };
        if value.trim().is_empty() || value.chars().count() > ADDRESS_FIELD_MAX {
            return Err(DomainError::InvalidAddress {
                field,
                reason: format!("must be 1 to {ADDRESS_FIELD_MAX} characters, not {:?}", truncated(value)),
            });
        }
    }
    if !commerce.sales_countries().any(|c| c == address.country) {
        return Err(DomainError::CountryNotSellable { country: address.country.clone() });
    }
    coordinates(address.latitude, address.longitude)
}

/// Coordinates are given together (or not at all), each within its range in degrees.
fn coordinates(latitude: Option<f64>, longitude: Option<f64>) -> Result<(), DomainError> {
    let (field, reason) = match (latitude, longitude) {
        (Some(_), None) => ("longitude", "longitude is missing: latitude and longitude are given together".to_owned()),
        (None, Some(_)) => ("latitude", "latitude is missing: latitude and longitude are given together".to_owned()),
        (Some(l), _) if !(-90.0..=90.0).contains(&l) => {
            ("latitude", format!("latitude {l} must be between -90 and 90 degrees"))
        }
        (_, Some(l)) if !(-180.0..=180.0).contains(&l) => {
            ("longitude", format!("longitude {l} must be between -180 and 180 degrees"))
        }
        _ => return Ok(()),
    };
    Err(DomainError::InvalidAddress { field, reason })
}

fn truncated(value: &str) -> String {
    value.chars().take(40).collect()
}

#[cfg(test)]
mod coordinate_tests {
    use super::*;

    // Proves a refused coordinate reads as a sentence naming the value and its range (it
    // said "latitude Some(91.0) and longitude Some(3.0) must both be given").
    #[test]
    fn coordinates_are_refused_in_words() {
        let reason = |latitude, longitude| match coordinates(latitude, longitude) {
            Err(DomainError::InvalidAddress { field, reason }) => format!("{field}: {reason}"),
            other => format!("{other:?}"),
        };
        assert_eq!(reason(Some(91.0), Some(3.0)), "latitude: latitude 91 must be between -90 and 90 degrees");
        assert_eq!(
            reason(Some(40.5), Some(-181.25)),
            "longitude: longitude -181.25 must be between -180 and 180 degrees"
        );
        assert_eq!(
            reason(Some(40.5), None),
            "longitude: longitude is missing: latitude and longitude are given together"
        );
        assert_eq!(reason(None, Some(3.0)), "latitude: latitude is missing: latitude and longitude are given together");
        assert_eq!(reason(Some(40.42), Some(-3.7)), "Ok(())");
        assert_eq!(reason(None, None), "Ok(())");
        assert!(!reason(Some(f64::NAN), Some(0.0)).contains("Some("));
    }
}
