//! The commerce model of seed 001 as it is written in configuration: one `CommerceConfig`
//! per commerce, deserialised from TOML and then validated as a whole.

mod catalog;
mod geography;
mod operations;
mod organisation;
mod pricing;

pub use catalog::{Product, QuantityRules, StockPolicy, StockPolicyConfig, StockPolicyKind};
pub use geography::{
    Address, Area, AreaMember, CommerceVersion, Country, Currency, Domain, Language, OutOfArea, OutOfAreaBehaviour,
    OutOfAreaFallback, Place,
};
pub use operations::{
    Carrier, LogisticCenter, MultiShipment, OfflineMethod, OpeningStock, PaymentSystem, PhysicalLocation, RateBasis,
    RateRange, RateTable, ShipmentPreference, ShipmentStatus, ShippingType, Warehouse, WarehouseKind,
    OPENING_STOCK_UNITS_MAX,
};
pub use organisation::{
    ApiKey, ApiRole, Channel, ChannelCriteria, Device, InvoiceSeries, InvoicingCompany, Merchant, MerchantStatus,
    TaxRate, User, UserGroup, UserRole,
};
pub use pricing::{Discount, DiscountKind, PriceRule};

use serde::{Deserialize, Serialize};

/// One commerce: the principal entity and everything it relates to. Every field has a
/// default so that an incomplete file still deserialises and validation can name every
/// missing piece at once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommerceConfig {
    /// The commerce's code: the `{c}` of every route.
    pub code: String,
    pub name: String,
    pub default_language: String,
    pub main_currency: String,
    /// The country assumed when a visitor's country is neither given nor implied by the
    /// domain; none means the visitor must say.
    pub default_country: Option<String>,
    pub out_of_area: OutOfArea,
    pub multi_shipment: MultiShipment,
    pub tax_classes: Vec<String>,
    pub shipping_classes: Vec<String>,
    pub families: Vec<String>,
    pub languages: Vec<Language>,
    pub currencies: Vec<Currency>,
    pub countries: Vec<Country>,
    pub domains: Vec<Domain>,
    pub areas: Vec<Area>,
    pub channels: Vec<Channel>,
    pub invoicing_companies: Vec<InvoicingCompany>,
    pub warehouses: Vec<Warehouse>,
    pub logistic_centers: Vec<LogisticCenter>,
    pub payment_systems: Vec<PaymentSystem>,
    pub physical_locations: Vec<PhysicalLocation>,
    pub carriers: Vec<Carrier>,
    pub user_groups: Vec<UserGroup>,
    pub users: Vec<User>,
    pub merchants: Vec<Merchant>,
    pub products: Vec<Product>,
    pub api_keys: Vec<ApiKey>,
    pub price_rules: Vec<PriceRule>,
    pub discounts: Vec<Discount>,
    /// The tax class shipping is taxed as; none leaves shipping untaxed.
    pub shipping_tax_class: Option<String>,
    /// How long a cart and the units it holds last without activity, in seconds
    /// (`CART_LIFETIME_SECONDS_MIN` to `CART_LIFETIME_SECONDS_MAX`); none means
    /// `CART_LIFETIME_SECONDS_DEFAULT`, 15 minutes.
    pub cart_lifetime_seconds: Option<u32>,
    /// Stock seeded into a fresh data folder only (see `OpeningStock`).
    pub opening_stock: Vec<OpeningStock>,
}

/// A cart's lifetime when the commerce does not set one: 15 minutes.
pub const CART_LIFETIME_SECONDS_DEFAULT: u32 = 15 * 60;
/// The shortest cart lifetime a commerce may set.
pub const CART_LIFETIME_SECONDS_MIN: u32 = 5;
/// The longest cart lifetime a commerce may set: a day.
pub const CART_LIFETIME_SECONDS_MAX: u32 = 24 * 60 * 60;

impl CommerceConfig {
    /// How long a cart lives without activity, in milliseconds.
    pub fn cart_lifetime_ms(&self) -> i64 {
        i64::from(self.cart_lifetime_seconds.unwrap_or(CART_LIFETIME_SECONDS_DEFAULT)) * 1000
    }
}
