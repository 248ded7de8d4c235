//! Warehouses, logistic centers, carriers, payment systems and physical locations: where
//! goods are kept, where they leave from, who carries them and how they are paid.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::geography::Address;

/// Units a warehouse holds when the node starts on a fresh data folder: data the file
/// seeds once (as receipts, recorded like any other), never applied again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpeningStock {
    pub warehouse: String,
    pub sku: String,
    /// 1 to `OPENING_STOCK_UNITS_MAX`.
    pub quantity: u32,
}

/// The most units one opening-stock entry may seed.
pub const OPENING_STOCK_UNITS_MAX: u32 = 1_000_000;

/// A stock-holding place, physical (with an address) or virtual, in one logistic center.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Warehouse {
    pub code: String,
    /// Required; optional here only so that its absence is reported with every other
    /// violation.
    pub kind: Option<WarehouseKind>,
    pub logistic_center: String,
    pub address: Option<Address>,
    /// Area of influence; none means unrestricted.
    pub area: Option<String>,
    /// The merchant that owns it (marketplace); none means the commerce itself.
    pub merchant: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarehouseKind {
    Physical,
    Virtual,
}

/// A group of warehouses sharing one origin address: the source of shipments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogisticCenter {
    pub code: String,
    pub address: Address,
    /// The area it can deliver shipments to.
    pub area: String,
}

/// A means of payment: an online gateway plugin (`gateway`) or an offline method an
/// administrator confirms (`offline`). Exactly one of the two is set; validation checks it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentSystem {
    pub code: String,
    pub name: String,
    pub gateway: Option<String>,
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PhysicalLocation {
    pub code: String,
    pub name: String,
    /// Required (degrees, -90 to 90).
    pub latitude: Option<f64>,
    /// Required (degrees, -180 to 180).
    pub longitude: Option<f64>,
    pub address: Option<Address>,
    pub pickup: bool,
    pub returns: bool,
    /// Customers within this distance of the location are offered it.
    pub radius_km: u32,
    pub area: Option<String>,
}

/// A company that delivers shipments, with its shipping types.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Carrier {
    pub code: String,
    pub name: String,
    pub shipping_types: Vec<ShippingType>,
    /// The carrier's own status names mapped to the commerce's shipment statuses.
    pub status_map: std::collections::BTreeMap<String, ShipmentStatus>,
}

/// One service of a carrier (standard, express, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShippingType {
    pub code: String,
    /// Areas it delivers to.
    pub areas: Vec<String>,
    /// Shipping classes it accepts.
    pub shipping_classes: Vec<String>,
    /// Required; 0 is same-day delivery.
    pub transit_days: Option<u32>,
    pub rates: RateTable,
}

/// The price of a shipment by total weight or total value; the first range whose bound
/// the order does not exceed applies. Prices are in the main currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateTable {
    /// Required.
    pub basis: Option<RateBasis>,
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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateRange {
    /// Inclusive upper bound; none on the last range means open-ended.
    pub up_to: Option<Decimal>,
    /// Required.
    pub price: Option<Decimal>,
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
#[serde(default)]
pub struct MultiShipment {
    pub enabled: bool,
    pub default_preference: ShipmentPreference,
}

impl Default for MultiShipment {
    fn default() -> Self {
        Self { enabled: false, default_preference: ShipmentPreference::AsAvailable }
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
