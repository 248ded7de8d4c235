//! Channels, invoicing companies, users, merchants and API keys: who sells, who invoices
//! and who may call the engine.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::geography::Address;

/// A line of business. Selected automatically by criteria, never chosen by the customer:
/// a channel applies when every criterion it sets matches the visitor and its area, if any,
/// reaches the visitor's country; the one setting the most kinds of criteria wins, ties
/// going to the one listed first; when none applies, the default channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct Channel {
    /// The channel's code: 1 to 64 of a-z, 0-9, '-', '_'. Required; unique among the
    /// commerce's channels.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub code: String,
    /// The channel used when no other channel's criteria all match. Exactly one channel of
    /// the commerce has `default = true`. Defaults to false.
    pub default: bool,
    /// What a visitor must match for the channel to apply; defaults to none. A channel that
    /// is not the default needs at least one criterion, and no two channels may set the
    /// same criteria (the same values in any order).
    pub criteria: ChannelCriteria,
    /// Whether displayed prices include taxes. Defaults to false.
    pub tax_inclusive: bool,
    /// Area of influence: the channel applies only to visitors whose country the area
    /// reaches, and members whose area does not overlap it are disqualified here. None (the
    /// default) means everywhere. Must be a defined area.
    pub area: Option<String>,
    /// Warehouses that may supply this channel, in priority order. Required (at least one);
    /// each a defined warehouse, listed once. At least one must fit the channel's area: its
    /// own area and its logistic center's area both overlap the channel's (no area means
    /// unrestricted).
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub warehouses: Vec<String>,
    /// Physical locations (stores, pick-up and return points) of this channel; defaults to
    /// none. Each a defined physical location, listed once.
    pub physical_locations: Vec<String>,
    /// Invoicing companies of this channel, in priority order: the first whose area takes
    /// the destination invoices. Required (at least one); each a defined invoicing company,
    /// listed once. At least one must have no area or an area overlapping the channel's.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub invoicing_companies: Vec<String>,
    /// Payment systems offered in this channel; empty (the default) means all of the
    /// commerce's. Each a defined payment system, listed once.
    pub payment_systems: Vec<String>,
}

/// What a visitor must match for a channel to apply. Every non-empty criterion must match;
/// within one criterion, any listed value matches. Every criterion defaults to empty (not
/// set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct ChannelCriteria {
    /// The visitor's device is one of these; a visitor whose device is unknown does not
    /// match. Each listed once.
    pub devices: Vec<Device>,
    /// The visitor reached one of these domains (host names); each a defined domain, listed
    /// once.
    pub domains: Vec<String>,
    /// The visitor's country is one of these; each a defined country code, listed once.
    pub countries: Vec<String>,
    /// The visitor belongs to at least one of these user groups; each a defined user group
    /// code, listed once.
    pub user_groups: Vec<String>,
}

impl ChannelCriteria {
    /// How many kinds of criteria are set: the more, the more specific the channel.
    pub fn specificity(&self) -> usize {
        [self.devices.is_empty(), self.domains.is_empty(), self.countries.is_empty(), self.user_groups.is_empty()]
            .iter()
            .filter(|empty| !**empty)
            .count()
    }
}

/// The kind of device a visitor browses with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// A desktop or laptop browser.
    Desktop,
    /// A phone's browser.
    Mobile,
    /// A tablet's browser.
    Tablet,
    /// A native app.
    App,
}

impl Device {
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Mobile => "mobile",
            Device::Tablet => "tablet",
            Device::App => "app",
        }
    }
}

/// A fiscal entity that issues invoices and applies taxes. Each must be listed by at least
/// one channel whose area it is compatible with (either has no area, or the areas overlap).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct InvoicingCompany {
    /// The company's code, by which channels refer to it. Required; unique among the
    /// commerce's invoicing companies.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub code: String,
    /// The registered legal name printed on its invoices. Required.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub legal_name: String,
    /// The tax identification number printed on its invoices (`ESB12345678`). Required.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub tax_id: String,
    /// Its registered address. The address's `country` is required and must be a defined
    /// country.
    #[schemars(extend("x-required" = true))]
    pub address: Address,
    /// Currencies it invoices in, highest priority first. Required (at least one); each a
    /// defined currency, listed once.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub accounting_currencies: Vec<String>,
    /// The currency its tax authority counts in: an invoice issued in another currency
    /// also states its tax totals in this one, at the configured rates (EU VAT directive,
    /// article 230). None (the default) is its first accounting currency. Must be a
    /// defined currency.
    pub national_currency: Option<String>,
    /// Area of influence: destinations outside it cannot be invoiced by this company, and a
    /// channel whose area does not overlap it cannot use it. None (the default) means
    /// everywhere. Must be a defined area.
    pub area: Option<String>,
    /// Its tax rates. Required (at least one). Every tax class of the commerce needs a
    /// default rate (one without countries); a tax class has at most one default rate and
    /// at most one rate per country.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub taxes: Vec<TaxRate>,
    /// The prefixes of its invoice numbers. Required.
    #[schemars(extend("x-required" = true))]
    pub invoice_series: InvoiceSeries,
}

/// A tax rate for a tax class, for some destination countries or (none listed) by default.
/// The rate listed for the destination country applies, else the class's default rate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct TaxRate {
    /// The tax's name, given with the tax it computes (`IVA general`). Defaults to empty.
    pub name: String,
    /// The tax class it taxes. Required; must be a defined tax class.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub tax_class: String,
    /// Percent, as a decimal string: "21" means 21 %. Required; 0 to 100.
    #[schemars(extend("x-required" = true), range(min = 0, max = 100))]
    pub rate: Option<Decimal>,
    /// Destination countries it applies to; empty (the default) makes it the tax class's
    /// default rate. Each a defined country code.
    pub countries: Vec<String>,
}

/// Prefixes of the gapless number series: `{prefix}-{year}-{seq:06}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct InvoiceSeries {
    /// The prefix of invoice numbers: 1 to 10 of A-Z, 0-9. Required; unique among all
    /// prefixes of all invoicing companies, corrective ones included.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[A-Z0-9]{1,10}$"))]
    pub prefix: String,
    /// The prefix of corrective invoice numbers: 1 to 10 of A-Z, 0-9. Required; unique
    /// among all prefixes of all invoicing companies, its own `prefix` included.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[A-Z0-9]{1,10}$"))]
    pub corrective_prefix: String,
}

/// A back-office or customer account known from configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct User {
    /// The user's id, by which price rules and carts refer to it. Required; unique among
    /// the commerce's users.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub id: String,
    /// The user's email address. Required; must contain '@'.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[\s\S]*@[\s\S]*$"))]
    pub email: String,
    /// What the account is. Required.
    #[schemars(extend("x-required" = true))]
    pub role: Option<UserRole>,
    /// User groups the user belongs to; defaults to none. Each a defined user group code.
    pub groups: Vec<String>,
}

/// What a user account is. A commerce needs at least one `super_admin` user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    /// The commerce's top administrator.
    SuperAdmin,
    /// A back-office administrator.
    Admin,
    /// A shopper.
    Customer,
}

/// A group of users that channels and prices can filter by (wholesale, staff, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct UserGroup {
    /// The group's code: 1 to 64 of a-z, 0-9, '-', '_'. Required; unique among the
    /// commerce's user groups.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub code: String,
    /// Display name. Defaults to empty.
    pub name: String,
}

/// A seller on a marketplace commerce. A file declares a merchant with its code, name,
/// status and commission; the node keeps the rest as the merchant goes through its
/// lifecycle (invited, onboarding, active, blocked): the invitation's digest and expiry,
/// the terms accepted, the legal data and every transition with who and when.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct Merchant {
    /// The merchant's code, by which products, warehouses and API keys refer to it: 1 to 64
    /// of a-z, 0-9, '-', '_'. Required; unique among the commerce's merchants.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[a-z0-9_-]{1,64}$"))]
    pub code: String,
    /// Display name. Defaults to empty.
    pub name: String,
    /// The address the commerce writes to. Defaults to none; an invitation needs one.
    pub email: String,
    /// Where the merchant stands with the commerce. Required.
    #[schemars(extend("x-required" = true))]
    pub status: Option<MerchantStatus>,
    /// The commerce's commission on the merchant's sales, percent, as a decimal string:
    /// "12" means 12 %. Required; 0 to 100.
    #[schemars(extend("x-required" = true), range(min = 0, max = 100))]
    pub commission_percent: Option<Decimal>,
    /// Why the merchant is blocked; only with status `blocked`. Defaults to none.
    pub block_reason: Option<String>,
    /// The version of the commerce's merchant terms the merchant accepted. Defaults to
    /// none.
    pub terms_version: Option<String>,
    /// The merchant's legal data, given at onboarding. Defaults to none.
    pub legal: Option<MerchantLegal>,
    /// Kept by the node: the SHA-256 (hex) of the open invitation's token.
    #[schemars(skip)]
    pub invitation_sha256: Option<String>,
    /// Kept by the node: when the open invitation expires (milliseconds since the epoch).
    #[schemars(skip)]
    pub invitation_expires_at: Option<i64>,
    /// Kept by the node: every transition of the merchant's status, oldest first (the
    /// last `MERCHANT_HISTORY_MAX`).
    #[schemars(skip)]
    pub history: Vec<MerchantTransition>,
}

/// How merchants are rated: over the last `window_days` days, 100 less the weighted mean
/// of three shares (deliveries after the promised day among delivered shipments, units
/// cancelled and units returned among units sold), rounded to one decimal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct MerchantRatingRules {
    /// The window, in days, 1 to 365; none (the default) means 90.
    #[schemars(range(min = 1, max = 365))]
    pub window_days: Option<u32>,
    /// The weight of late deliveries, 0 to 100 as a decimal string; none means 50.
    #[schemars(range(min = 0, max = 100))]
    pub late_weight: Option<Decimal>,
    /// The weight of cancelled units, 0 to 100; none means 25.
    #[schemars(range(min = 0, max = 100))]
    pub cancel_weight: Option<Decimal>,
    /// The weight of returned units, 0 to 100; none means 25.
    #[schemars(range(min = 0, max = 100))]
    pub return_weight: Option<Decimal>,
}

/// The most transitions a merchant keeps in its history.
pub const MERCHANT_HISTORY_MAX: usize = 200;

/// A merchant's legal data, as it gives it at onboarding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct MerchantLegal {
    /// The registered name. Required: 1 to 200 characters.
    pub legal_name: String,
    /// The tax or company registration number. Required: 1 to 64 characters.
    pub tax_id: String,
    /// The country of registration, ISO 3166-1 alpha-2. Required.
    pub country: String,
    /// The registered address. Required: 1 to 500 characters.
    pub address: String,
}

/// One step of a merchant's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MerchantAction {
    /// Invited by the back office (or invited again: a new token).
    Invited,
    /// The merchant accepted the terms and gave its legal data.
    Onboarded,
    /// The back office approved it: it trades.
    Approved,
    /// The back office blocked it, with a reason.
    Blocked,
    /// The back office lifted a block.
    Unblocked,
}

impl MerchantAction {
    pub fn as_str(self) -> &'static str {
        match self {
            MerchantAction::Invited => "invited",
            MerchantAction::Onboarded => "onboarded",
            MerchantAction::Approved => "approved",
            MerchantAction::Blocked => "blocked",
            MerchantAction::Unblocked => "unblocked",
        }
    }
}

/// A transition of a merchant's status: what, from and to which status, when, by whom,
/// and why (a block's reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MerchantTransition {
    pub action: MerchantAction,
    pub from: Option<MerchantStatus>,
    pub to: MerchantStatus,
    /// Milliseconds since the epoch.
    pub at: i64,
    /// The key (or invitation) that made it.
    pub by: String,
    pub reason: Option<String>,
}

/// Where a merchant stands with the commerce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MerchantStatus {
    /// Invited; it has not yet accepted the terms. Its products are not sold.
    Invited,
    /// It accepted the terms and gave its legal data; it loads its products, which are
    /// not sold until it is approved.
    Onboarding,
    /// Trading.
    Active,
    /// Blocked by the commerce: its products cannot be added to carts and checkout
    /// refuses carts holding them; orders already placed go on.
    Blocked,
}

impl MerchantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MerchantStatus::Invited => "invited",
            MerchantStatus::Onboarding => "onboarding",
            MerchantStatus::Active => "active",
            MerchantStatus::Blocked => "blocked",
        }
    }
}

/// A bearer key and what it may do. Either the key itself (`key`, fine for demos) or its
/// SHA-256 in lowercase hex (`key_sha256`, for real deployments) is configured: exactly one
/// of the two.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct ApiKey {
    /// A label that identifies the key. Required (not blank); unique among the commerce's
    /// keys.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub name: String,
    /// The key itself, as presented in `Authorization: Bearer`: at least 8 bytes, without
    /// whitespace. Exactly one of `key` and `key_sha256` is required; no two keys of the
    /// commerce may have the same `key`.
    pub key: Option<String>,
    /// The SHA-256 of the key: 64 lowercase hex digits. Exactly one of `key` and
    /// `key_sha256` is required; no two keys of the commerce may have the same
    /// `key_sha256`.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub key_sha256: Option<String>,
    /// What the key may do. Required.
    #[schemars(extend("x-required" = true))]
    pub role: Option<ApiRole>,
    /// For the `merchant` role: the merchant it acts for. Required with role `merchant` and
    /// must be a defined merchant; must be absent with any other role.
    pub merchant: Option<String>,
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiRole {
    /// Everything in its commerce.
    Admin,
    /// The shopping routes of its commerce.
    Storefront,
    /// Its merchant's products, stock and shipments only. The key must name the merchant.
    Merchant,
}

impl ApiRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiRole::Admin => "admin",
            ApiRole::Storefront => "storefront",
            ApiRole::Merchant => "merchant",
        }
    }
}
