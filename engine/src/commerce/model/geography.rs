//! Languages, currencies, countries, domains and areas: where a commerce sells and how it
//! speaks and counts there.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A browsing language. Content must exist in every language of the commerce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Language {
    /// ISO 639-1 code, lowercase (`en`, `es`).
    pub code: String,
    pub name: String,
}

/// An active (browsing) currency. Prices are entered in the main currency; others may be
/// priced explicitly or converted at `rate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Currency {
    /// ISO 4217 code, uppercase (`EUR`).
    pub code: String,
    /// Digits after the decimal point of the currency's minor unit (2 for EUR, 0 for JPY).
    pub minor_units: u32,
    /// Units of this currency for one unit of the main currency; the main currency's is 1.
    #[serde(default)]
    pub rate: Option<Decimal>,
}

/// A country the commerce knows: one of its sales areas or one it answers for otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code, uppercase (`ES`).
    pub code: String,
    pub name: String,
    /// Whether the commerce sells (ships) to this country.
    #[serde(default)]
    pub sales_area: bool,
    /// Browsing languages allowed in this country; empty means all of the commerce's.
    #[serde(default)]
    pub languages: Vec<String>,
    /// The default language in this country, overriding the commerce's.
    #[serde(default)]
    pub default_language: Option<String>,
    /// The default browsing currency in this country, overriding the main currency.
    #[serde(default)]
    pub default_currency: Option<String>,
    /// For the version of the commerce whose domain is linked to this country: the only
    /// countries it sells to. Empty means the commerce's sales areas.
    #[serde(default)]
    pub sellable_countries: Vec<String>,
}

/// A version of the website. It may determine a language (both ways) and a country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    /// Host name, lowercase (`demo.example`).
    pub host: String,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
}

/// A named set of places: countries, optionally narrowed to regions or postal-code prefixes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Area {
    pub code: String,
    pub members: Vec<AreaMember>,
}

/// One country of an area. With neither `regions` nor `postal_prefixes`, the whole country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaMember {
    pub country: String,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub postal_prefixes: Vec<String>,
}

/// A place a request or an address is in: the input to area membership.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub country: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
}

/// A postal address of a logistic center, warehouse or company.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    #[serde(default)]
    pub line: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub postal_code: String,
    pub country: String,
}

/// What the commerce does with a visitor from a country outside its sales areas.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "behaviour", rename_all = "snake_case", deny_unknown_fields)]
pub enum OutOfArea {
    /// Tell the visitor they are outside the sales areas; no shopping.
    #[default]
    Block,
    /// Let them browse and fill a cart, but not ship to their country.
    BrowseOnly,
    /// Send them to the commerce version configured for their country; countries with no
    /// version get `otherwise`.
    Redirect {
        versions: Vec<CommerceVersion>,
        otherwise: OutOfAreaFallback,
    },
}

/// The behaviour for a country that no redirect version covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutOfAreaFallback {
    Block,
    BrowseOnly,
}

/// Another version of the commerce (another commerce code, possibly on another node) that
/// serves some countries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommerceVersion {
    pub commerce: String,
    pub url: String,
    pub countries: Vec<String>,
}
