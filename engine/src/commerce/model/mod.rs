//! The commerce model of seed 001 as it is written in configuration: one `CommerceConfig`
//! per commerce, deserialised from TOML and then validated as a whole.

mod catalog;
mod geography;
mod operations;
mod organisation;
mod pricing;

pub use catalog::{
    Media, MediaKind, Product, QuantityRules, StockPolicy, StockPolicyConfig, StockPolicyKind, Weight, WeightUnit,
};
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
    ApiKey, ApiRole, Channel, ChannelCriteria, Device, InvoiceSeries, InvoicingCompany, Merchant, MerchantAction,
    MerchantLegal, MerchantRatingRules, MerchantStatus, MerchantTransition, TaxRate, User, UserGroup, UserRole,
    MERCHANT_HISTORY_MAX,
};
pub use pricing::{CommissionRule, Discount, DiscountKind, PriceRule};

use serde::{Deserialize, Serialize};

/// The kinds of back-office data, each changed item by item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataKind {
    PriceRule,
    Discount,
    User,
    UserGroup,
    ApiKey,
    Merchant,
    CommissionRule,
    ProductProposal,
}

impl DataKind {
    /// How a refusal names one: `price rule "vip"`.
    pub fn noun(self) -> &'static str {
        match self {
            DataKind::PriceRule => "price rule",
            DataKind::Discount => "discount",
            DataKind::User => "user",
            DataKind::UserGroup => "user group",
            DataKind::ApiKey => "api key",
            DataKind::Merchant => "merchant",
            DataKind::CommissionRule => "commission rule",
            DataKind::ProductProposal => "product proposal",
        }
    }
}

/// One commerce: the principal entity and everything it relates to. A commerce needs at
/// least one language, currency, country (one of them in the sales areas), domain,
/// channel, invoicing company, warehouse, logistic center, payment system, carrier,
/// product, tax class and shipping class, and a `super_admin` user. Every field has a
/// default so that an incomplete file still deserialises and validation can name every
/// missing piece at once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct CommerceConfig {
    /// The commerce's code: the `{c}` of every route. Required: 1 to 64 of a-z, 0-9, '-',
    /// '_'.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub code: String,
    /// The commerce's display name. Required.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub name: String,
    /// The language used when neither the visitor, the domain nor the country decides one.
    /// Required; must be a defined language.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub default_language: String,
    /// The currency prices are entered in and other currencies convert from; every
    /// product needs a price in it. Required; must be a defined currency.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub main_currency: String,
    /// The country assumed when a visitor's country is neither given nor implied by the
    /// domain; none (the default) means the visitor must say. Must be a defined country.
    pub default_country: Option<String>,
    /// What the commerce does with visitors from countries outside its sales areas.
    /// Defaults to `block`.
    pub out_of_area: OutOfArea,
    /// Whether and how a delivery may split into several shipments. Defaults to disabled,
    /// with preference `as_available`.
    pub multi_shipment: MultiShipment,
    /// The tax classes products are taxed by (`standard`, `reduced`); every invoicing
    /// company needs a default rate for each. Required (at least one); each non-empty and
    /// listed once.
    #[schemars(extend("x-required" = true), length(min = 1), inner(length(min = 1)))]
    pub tax_classes: Vec<String>,
    /// The shipping classes products are shipped by (`small`, `bulky`); carriers' shipping
    /// types accept some. Required (at least one); each non-empty and listed once.
    #[schemars(extend("x-required" = true), length(min = 1), inner(length(min = 1)))]
    pub shipping_classes: Vec<String>,
    /// Product families (`books`) that products, price rules and discounts refer to.
    /// Defaults to none; each non-empty and listed once.
    #[schemars(inner(length(min = 1)))]
    pub families: Vec<String>,
    /// The browsing languages; every product needs a name in each. Required (at least
    /// one).
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub languages: Vec<Language>,
    /// The active currencies, the main currency included. Required (at least one).
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub currencies: Vec<Currency>,
    /// The countries the commerce knows. Required (at least one); at least one must be in
    /// the sales areas (`sales_area = true`).
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub countries: Vec<Country>,
    /// The website's domains (host names). Required (at least one).
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub domains: Vec<Domain>,
    /// Named sets of places that channels, invoicing companies, warehouses, logistic
    /// centers, physical locations, shipping types and price rules refer to. Defaults to
    /// none.
    pub areas: Vec<Area>,
    /// The lines of business. Required (at least one); exactly one is the default.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub channels: Vec<Channel>,
    /// The fiscal entities that invoice sales. Required (at least one).
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub invoicing_companies: Vec<InvoicingCompany>,
    /// The places stock is held. Required (at least one).
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub warehouses: Vec<Warehouse>,
    /// The groups of warehouses shipments leave from. Required (at least one).
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub logistic_centers: Vec<LogisticCenter>,
    /// The means of payment. Required (at least one).
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub payment_systems: Vec<PaymentSystem>,
    /// Stores and pick-up or return points. Defaults to none.
    pub physical_locations: Vec<PhysicalLocation>,
    /// The companies that deliver shipments. Required (at least one).
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub carriers: Vec<Carrier>,
    /// Groups of users that channels and price rules filter by. Defaults to none.
    pub user_groups: Vec<UserGroup>,
    /// Accounts known from configuration. Required: at least one with role
    /// `super_admin`.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub users: Vec<User>,
    /// The sellers of a marketplace commerce. Defaults to none.
    pub merchants: Vec<Merchant>,
    /// The products on sale. Required (at least one).
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub products: Vec<Product>,
    /// The bearer keys that may call the API for this commerce. Defaults to none.
    pub api_keys: Vec<ApiKey>,
    /// Prices that replace products' base prices for some shoppers, quantities or
    /// families. Defaults to none.
    pub price_rules: Vec<PriceRule>,
    /// Product and cart discounts. Defaults to none.
    pub discounts: Vec<Discount>,
    /// The commissions charged on merchants' sales (see `CommissionRule`). Defaults to
    /// none: each merchant's `commission_percent`.
    pub commission_rules: Vec<CommissionRule>,
    /// Merchants' product changes waiting for (or decided by) the back office, made
    /// through the API when `merchant_product_review` is set. Defaults to none.
    pub product_proposals: Vec<crate::commerce::proposals::ProductProposal>,
    /// Whether a merchant's product changes wait as proposals the back office accepts or
    /// rejects; none (the default) means they go live at once.
    pub merchant_product_review: Option<bool>,
    /// The tax class shipping is taxed as, at the invoicing company's rate for the
    /// destination; none (the default) leaves shipping untaxed. Must be a defined tax
    /// class.
    pub shipping_tax_class: Option<String>,
    /// How long a cart and the units it holds last without activity, in seconds, 5 to
    /// 86400 (a day); none (the default) means 900 (15 minutes).
    #[schemars(range(min = 5, max = 86400))]
    pub cart_lifetime_seconds: Option<u32>,
    /// How many days after delivery a customer may ask to return units, 0 to 365; none
    /// (the default) means 30.
    #[schemars(range(max = 365))]
    pub return_window_days: Option<u32>,
    /// Stock seeded into a fresh data folder only, once (see `OpeningStock`). Defaults to
    /// none.
    pub opening_stock: Vec<OpeningStock>,
    /// The version of the terms a merchant accepts at onboarding (a marketplace's
    /// contract with its sellers): onboarding with another version is refused. None (the
    /// default) means merchants cannot onboard through the API.
    #[schemars(length(min = 1, max = 64))]
    pub merchant_terms_version: Option<String>,
    /// How long an invitation to a merchant lasts, in hours, 1 to 2160 (90 days); none
    /// (the default) means 168 (a week).
    #[schemars(range(min = 1, max = 2160))]
    pub merchant_invitation_hours: Option<u32>,
    /// How many days a merchant's earnings wait before a payout may take them (refunds and
    /// returns come in that time), 0 to 365; none (the default) means 14.
    #[schemars(range(max = 365))]
    pub payout_hold_days: Option<u32>,
    /// How merchants are rated (`[merchant_rating]`). Defaults to a 90-day window with
    /// weights 50 (late deliveries), 25 (cancellations) and 25 (returns).
    pub merchant_rating: MerchantRatingRules,
}

/// How long an invitation lasts when the commerce does not say: a week.
pub const MERCHANT_INVITATION_HOURS_DEFAULT: u32 = 7 * 24;
/// The longest invitation a commerce may set: 90 days.
pub const MERCHANT_INVITATION_HOURS_MAX: u32 = 90 * 24;

/// How long earnings wait for a payout when the commerce does not say: two weeks.
pub const PAYOUT_HOLD_DAYS_DEFAULT: u32 = 14;
/// The longest payout hold a commerce may set: a year.
pub const PAYOUT_HOLD_DAYS_MAX: u32 = 365;

/// A cart's lifetime when the commerce does not set one: 15 minutes.
pub const CART_LIFETIME_SECONDS_DEFAULT: u32 = 15 * 60;
/// The shortest cart lifetime a commerce may set.
pub const CART_LIFETIME_SECONDS_MIN: u32 = 5;
/// The longest cart lifetime a commerce may set: a day.
pub const CART_LIFETIME_SECONDS_MAX: u32 = 24 * 60 * 60;

impl CommerceConfig {
    /// How long an invitation to a merchant lasts, in milliseconds.
    pub fn merchant_invitation_ms(&self) -> i64 {
        i64::from(self.merchant_invitation_hours.unwrap_or(MERCHANT_INVITATION_HOURS_DEFAULT)) * 3_600_000
    }

    /// How long earnings wait before a payout may take them, in days.
    pub fn payout_hold_days(&self) -> u32 {
        self.payout_hold_days.unwrap_or(PAYOUT_HOLD_DAYS_DEFAULT)
    }

    /// How long a cart lives without activity, in milliseconds.
    pub fn cart_lifetime_ms(&self) -> i64 {
        i64::from(self.cart_lifetime_seconds.unwrap_or(CART_LIFETIME_SECONDS_DEFAULT)) * 1000
    }
}
