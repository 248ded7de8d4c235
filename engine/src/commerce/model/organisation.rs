//! Channels, invoicing companies, users, merchants and API keys: who sells, who invoices
//! and who may call the engine.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::geography::Address;

/// A line of business. Selected automatically by criteria, never chosen by the customer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Channel {
    pub code: String,
    /// The channel used when no other channel's criteria all match. Exactly one.
    pub default: bool,
    pub criteria: ChannelCriteria,
    /// Whether displayed prices include taxes.
    pub tax_inclusive: bool,
    /// Area of influence; none means everywhere.
    pub area: Option<String>,
    /// Warehouses that may supply this channel, in priority order.
    pub warehouses: Vec<String>,
    pub physical_locations: Vec<String>,
    pub invoicing_companies: Vec<String>,
    /// Payment systems offered in this channel; empty means all of the commerce's.
    pub payment_systems: Vec<String>,
}

/// What a visitor must match for a channel to apply. Every non-empty criterion must match;
/// within one criterion, any listed value matches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelCriteria {
    pub devices: Vec<Device>,
    pub domains: Vec<String>,
    pub countries: Vec<String>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    Desktop,
    Mobile,
    Tablet,
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

/// A fiscal entity that issues invoices and applies taxes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoicingCompany {
    pub code: String,
    pub legal_name: String,
    pub tax_id: String,
    pub address: Address,
    /// Currencies it invoices in, highest priority first.
    pub accounting_currencies: Vec<String>,
    /// Area of influence: destinations outside it cannot be invoiced by this company.
    pub area: Option<String>,
    pub taxes: Vec<TaxRate>,
    pub invoice_series: InvoiceSeries,
}

/// A tax rate for a tax class, for some destination countries or (none listed) by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxRate {
    pub name: String,
    pub tax_class: String,
    /// Percent, 0 to 100. Required.
    pub rate: Option<Decimal>,
    pub countries: Vec<String>,
}

/// Prefixes of the gapless number series: `{prefix}-{year}-{seq:06}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoiceSeries {
    pub prefix: String,
    pub corrective_prefix: String,
}

/// A back-office or customer account known from configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    pub id: String,
    pub email: String,
    /// Required.
    pub role: Option<UserRole>,
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    SuperAdmin,
    Admin,
    Customer,
}

/// A group of users that channels and prices can filter by (wholesale, staff, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserGroup {
    pub code: String,
    pub name: String,
}

/// A seller on a marketplace commerce.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Merchant {
    pub code: String,
    pub name: String,
    /// Required.
    pub status: Option<MerchantStatus>,
    /// The commerce's commission on the merchant's sales, percent. Required.
    pub commission_percent: Option<Decimal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MerchantStatus {
    Onboarding,
    Active,
    /// Its products cannot be sold.
    Blocked,
}

/// A bearer key and what it may do. Either the key itself (`key`, fine for demos) or its
/// SHA-256 in lowercase hex (`key_sha256`, for real deployments) is configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiKey {
    pub name: String,
    pub key: Option<String>,
    pub key_sha256: Option<String>,
    /// Required.
    pub role: Option<ApiRole>,
    /// For the `merchant` role: the merchant it acts for.
    pub merchant: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiRole {
    /// Everything in its commerce.
    Admin,
    /// The shopping routes of its commerce.
    Storefront,
    /// Its merchant's products, stock and shipments only.
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
