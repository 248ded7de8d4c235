//! Warehouses, logistic centers, carriers, payment systems and physical locations: where
//! goods are kept, where they leave from, who carries them and how they are paid.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::geography::Address;

/// Units a warehouse holds when the node starts on a fresh data folder: data the file
/// seeds once (as receipts, recorded like any other), never applied again. Each warehouse
/// and SKU pair may appear once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OpeningStock {
    /// The warehouse that receives the units. Required; must be the code of a declared
    /// warehouse.
    #[schemars(extend("x-required" = true))]
    pub warehouse: String,
    /// The product received, by SKU. Required; must be the SKU of a declared product.
    #[schemars(extend("x-required" = true))]
    pub sku: String,
    /// Units received: 1 to `OPENING_STOCK_UNITS_MAX` (1,000,000). Required (the default 0
    /// is refused).
    #[schemars(extend("x-required" = true), range(min = 1, max = OPENING_STOCK_UNITS_MAX))]
    pub quantity: u32,
}

/// The most units one opening-stock entry may seed.
pub const OPENING_STOCK_UNITS_MAX: u32 = 1_000_000;

/// A stock-holding place, physical (with an address) or virtual, in one logistic center.
/// A commerce needs at least one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct Warehouse {
    /// Unique among warehouses: 1 to 64 of a-z, 0-9, '-', '_'. Required.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub code: String,
    /// Required; optional here only so that its absence is reported with every other
    /// violation. A `physical` warehouse needs an `address`.
    #[schemars(extend("x-required" = true))]
    pub kind: Option<WarehouseKind>,
    /// The logistic center its shipments leave from. Required; must be the code of a
    /// declared logistic center.
    #[schemars(extend("x-required" = true))]
    pub logistic_center: String,
    /// Its postal address: required when `kind` is `physical`, optional for `virtual`
    /// (none by default). Its `country` must be a declared country.
    pub address: Option<Address>,
    /// Area of influence; none means unrestricted. Must be a declared area; a channel whose
    /// area does not overlap it does not use the warehouse.
    pub area: Option<String>,
    /// The merchant that owns it (marketplace); none means the commerce itself. Must be the
    /// code of a declared merchant.
    pub merchant: Option<String>,
}

/// Whether a warehouse is a place with an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WarehouseKind {
    /// A real place; the warehouse needs an `address`.
    Physical,
    /// Stock not kept at a place of its own (a supplier's, for drop-shipping); `address`
    /// is optional.
    Virtual,
}

/// A group of warehouses sharing one origin address: the source of shipments. It must
/// group at least one warehouse; a commerce needs at least one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct LogisticCenter {
    /// Unique among logistic centers: 1 to 64 of a-z, 0-9, '-', '_'. Required.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub code: String,
    /// The origin address of its shipments (an `Address` table). Required: its `country`
    /// must be a declared country.
    #[schemars(extend("x-required" = true))]
    pub address: Address,
    /// The area it can deliver shipments to. Required; must be a declared area. Every
    /// sales country must be in the area of some logistic center.
    #[schemars(extend("x-required" = true))]
    pub area: String,
}

/// A means of payment: an online gateway plugin (`gateway`) or an offline method an
/// administrator confirms (`offline`). Exactly one of the two is set; validation checks it.
/// A commerce needs at least one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct PaymentSystem {
    /// Unique among payment systems: 1 to 64 of a-z, 0-9, '-', '_'. Required.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub code: String,
    /// Display name; free text, empty by default.
    pub name: String,
    /// For an online payment: the gateway plugin that takes it, one this build provides
    /// (`sandbox`). Set exactly one of `gateway` and `offline`.
    pub gateway: Option<String>,
    /// For an offline payment: the method, which an administrator confirms. Set exactly one
    /// of `gateway` and `offline`.
    pub offline: Option<OfflineMethod>,
}

impl PaymentSystem {
    /// Whether the gateway answers at once (online) or an administrator confirms (offline).
    pub fn is_online(&self) -> bool {
        self.gateway.is_some()
    }
}

/// A payment method taken outside the system and confirmed by an administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfflineMethod {
    /// The customer pays when the shipment is delivered.
    CashOnDelivery,
    /// The customer pays by bank transfer.
    BankTransfer,
}

/// A store, franchise or point on the map; may serve as pick-up and/or return point.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct PhysicalLocation {
    /// Unique among physical locations: 1 to 64 of a-z, 0-9, '-', '_'. Required.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub code: String,
    /// Display name, shown with the pick-up points offered; free text, empty by default.
    pub name: String,
    /// Required (degrees, -90 to 90).
    #[schemars(extend("x-required" = true), range(min = -90, max = 90))]
    pub latitude: Option<f64>,
    /// Required (degrees, -180 to 180).
    #[schemars(extend("x-required" = true), range(min = -180, max = 180))]
    pub longitude: Option<f64>,
    /// Its postal address; none by default. When given, its `country` must be a declared
    /// country.
    pub address: Option<Address>,
    /// Whether it is a pick-up point, offered in the channels that list it to customers
    /// within `radius_km`; default false.
    pub pickup: bool,
    /// Whether it accepts returns; default false.
    pub returns: bool,
    /// Customers within this distance of the location are offered it, in km (great-circle),
    /// 1 to 20038 (half the Earth's circumference). Required (the default 0 is refused).
    #[schemars(extend("x-required" = true), range(min = 1, max = 20_038))]
    pub radius_km: u32,
    /// Area of influence; none means unrestricted. Must be a declared area; a channel whose
    /// area does not overlap it does not use the location.
    pub area: Option<String>,
}

/// A company that delivers shipments, with its shipping types. A commerce needs at least
/// one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct Carrier {
    /// 1 to 64 of a-z, 0-9, '-', '_'. Required.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub code: String,
    /// Display name; free text, empty by default.
    pub name: String,
    /// Its services. At least one is required; their codes are unique within the carrier.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub shipping_types: Vec<ShippingType>,
    /// The carrier's own status names mapped to the commerce's shipment statuses a carrier
    /// reports (`sent`, `delivered`, `returned`); empty by default. A carrier status name
    /// may not be empty. A status the map lacks is kept in the shipment's carrier history
    /// and moves nothing.
    #[schemars(extend(
        "propertyNames" = { "minLength": 1 },
        "additionalProperties" = { "type": "string", "enum": ["sent", "delivered", "returned"] }
    ))]
    pub status_map: std::collections::BTreeMap<String, ShipmentStatus>,
}

/// One service of a carrier (standard, express, ...). It is offered for a shipment whose
/// destination is in one of its `areas` and all of whose shipping classes it accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct ShippingType {
    /// Unique within its carrier: 1 to 64 of a-z, 0-9, '-', '_'. Required.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub code: String,
    /// Areas it delivers to. At least one is required; each must be a declared area. Every
    /// sales country must be in an area of some shipping type.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub areas: Vec<String>,
    /// Shipping classes it accepts. At least one is required; each must be a declared
    /// shipping class. Every product's shipping class must be accepted by some shipping type.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub shipping_classes: Vec<String>,
    /// Days from the date a shipment leaves to its delivery date, 0 to 365; 0 is same-day
    /// delivery. Required.
    #[schemars(extend("x-required" = true), range(min = 0, max = 365))]
    pub transit_days: Option<u32>,
    /// Its price by weight or value. Required: a `basis` and at least one range.
    #[schemars(extend("x-required" = true))]
    pub rates: RateTable,
}

/// The price of a shipment by its total weight or total value; the first range whose
/// bound the shipment does not exceed applies, and when none does the shipping type is not
/// offered. Prices are in the main currency, before tax.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct RateTable {
    /// Required: what the ranges' bounds measure.
    #[schemars(extend("x-required" = true))]
    pub basis: Option<RateBasis>,
    /// The ranges, in increasing order of `up_to`. At least one is required.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub ranges: Vec<RateRange>,
}

/// What a rate table's bounds measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RateBasis {
    /// Bounds are grams: the shipment's total weight (each product's `weight_grams` times
    /// its quantity; a product without a weight counts 0).
    Weight,
    /// Bounds are amounts in the main currency: the shipment's goods value after
    /// discounts, before tax.
    Value,
}

/// One range of a rate table: up to a bound, this price.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct RateRange {
    /// Inclusive upper bound, in grams or main-currency amount per the table's `basis`;
    /// none on the last range means open-ended. Must be above 0 and above the previous
    /// range's bound; only the last range may omit it.
    pub up_to: Option<Decimal>,
    /// The shipment's price: a decimal amount in the main currency, before tax, 0 or more
    /// (0 is free). Required.
    #[schemars(extend("x-required" = true))]
    pub price: Option<Decimal>,
}

/// The commerce's shipment statuses; carrier statuses map onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    /// Some of its units are not in stock yet.
    AwaitingStock,
    /// All its units are in stock; it can be sent.
    Ready,
    /// Handed to the carrier.
    Sent,
    /// Delivered to the customer.
    Delivered,
    /// Came back to the commerce.
    Returned,
    /// Every unit it carried was cancelled before it left. Not a carrier's status.
    Cancelled,
}

impl ShipmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentStatus::AwaitingStock => "awaiting_stock",
            ShipmentStatus::Ready => "ready",
            ShipmentStatus::Sent => "sent",
            ShipmentStatus::Delivered => "delivered",
            ShipmentStatus::Returned => "returned",
            ShipmentStatus::Cancelled => "cancelled",
        }
    }

    /// How far along a carrier has taken it: a carrier's report moves a shipment only
    /// forward. Delivered and returned are both ends.
    pub fn carrier_rank(self) -> u8 {
        match self {
            ShipmentStatus::AwaitingStock | ShipmentStatus::Ready | ShipmentStatus::Cancelled => 0,
            ShipmentStatus::Sent => 1,
            ShipmentStatus::Delivered | ShipmentStatus::Returned => 2,
        }
    }
}

/// Whether and how a delivery may split into several shipments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct MultiShipment {
    /// Whether a delivery may split into several shipments (by logistic center, shipping
    /// class and, per the customer's preference, ready date); default false, which refuses
    /// a delivery whose units would leave from more than one logistic center.
    pub enabled: bool,
    /// The preference applied when the customer states none; default `as_available`. It
    /// matters only when `enabled`.
    pub default_preference: ShipmentPreference,
}

impl Default for MultiShipment {
    fn default() -> Self {
        Self { enabled: false, default_preference: ShipmentPreference::AsAvailable }
    }
}

/// A customer's choice between speed and fewer parcels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentPreference {
    /// Ship each part by its own date. The default.
    #[default]
    AsAvailable,
    /// Regroup shipments with the same source (logistic center) and shipping class
    /// (date = the latest).
    FewestShipments,
}
