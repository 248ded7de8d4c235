//! Warehouses, logistic centers, carriers, payment systems and physical locations: where
//! goods are kept, where they leave from, who carries them and how they are paid.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::geography::Address;

/// A stock-holding place, physical (with an address) or virtual, in one logistic center.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warehouse {
    pub code: String,
    pub kind: WarehouseKind,
    pub logistic_center: String,
    #[serde(default)]
    pub address: Option<Address>,
    /// Area of influence; none means unrestricted.
    #[serde(default)]
    pub area: Option<String>,
    /// The merchant that owns it (marketplace); none means the commerce itself.
    #[serde(default)]
    pub merchant: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarehouseKind {
    Physical,
    Virtual,
}

/// A group of warehouses sharing one origin address: the source of shipments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogisticCenter {
    pub code: String,
    pub address: Address,
    /// The area it can deliver shipments to.
    pub area: String,
}

/// A means of payment: an online gateway plugin (`gateway`) or an offline method an
/// administrator confirms (`offline`). Exactly one of the two is set; validation checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentSystem {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub gateway: Option<String>,
    #[serde(default)]
    pub offline: Option<OfflineMethod>,
}

impl PaymentSystem {
    /// Whether the gateway answers at once (online) or an administrator confirms (offline).
    pub fn is_online(&self) -> bool {
        self.gateway.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfflineMethod {
    CashOnDelivery,
    BankTransfer,
}

/// A store, franchise or point on the map; may serve as pick-up and/or return point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhysicalLocation {
    pub code: String,
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default)]
    pub address: Option<Address>,
    #[serde(default)]
    pub pickup: bool,
    #[serde(default)]
    pub returns: bool,
    /// Customers within this distance of the location are offered it.
    pub radius_km: u32,
    #[serde(default)]
    pub area: Option<String>,
}

/// A company that delivers shipments, with its shipping types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carrier {
    pub code: String,
    pub name: String,
    pub shipping_types: Vec<ShippingType>,
    /// The carrier's own status names mapped to the commerce's shipment statuses.
    #[serde(default)]
    pub status_map: std::collections::BTreeMap<String, ShipmentStatus>,
}

/// One service of a carrier (standard, express, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingType {
    pub code: String,
    /// Areas it delivers to.
    pub areas: Vec<String>,
    /// Shipping classes it accepts.
    pub shipping_classes: Vec<String>,
    pub transit_days: u32,
    pub rates: RateTable,
}

/// The price of a shipment by total weight or total value; the first range whose bound
/// the order does not exceed applies. Prices are in the main currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateTable {
    pub basis: RateBasis,
    pub ranges: Vec<RateRange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateBasis {
    /// Bounds are grams.
    Weight,
    /// Bounds are amounts in the main currency.
    Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateRange {
    /// Inclusive upper bound; none on the last range means open-ended.
    #[serde(default)]
    pub up_to: Option<Decimal>,
    pub price: Decimal,
}

/// The commerce's shipment statuses; carrier statuses map onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    AwaitingStock,
    Ready,
    Sent,
    Delivered,
    Returned,
}

/// Whether and how a delivery may split into several shipments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiShipment {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub default_preference: ShipmentPreference,
}

impl Default for MultiShipment {
    fn default() -> Self {
        Self {
            enabled: false,
            default_preference: ShipmentPreference::AsAvailable,
        }
    }
}

/// A customer's choice between speed and fewer parcels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentPreference {
    /// Ship each part by its own date.
    #[default]
    AsAvailable,
    /// Regroup shipments with the same source and shipping type (date = the latest).
    FewestShipments,
}
