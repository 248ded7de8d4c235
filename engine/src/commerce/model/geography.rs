//! Languages, currencies, countries, domains and areas: where a commerce sells and how it
//! speaks and counts there.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A browsing language. Content must exist in every language of the commerce.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Language {
    /// ISO 639-1 code, lowercase (`en`, `es`).
    pub code: String,
    pub name: String,
}

/// An active (browsing) currency. Prices are entered in the main currency; others may be
/// priced explicitly or converted at `rate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Currency {
    /// ISO 4217 code, uppercase (`EUR`).
    pub code: String,
    /// Digits after the decimal point of the currency's minor unit (2 for EUR, 0 for JPY).
    pub minor_units: Option<u32>,
    /// Units of this currency for one unit of the main currency; the main currency's is 1.
    pub rate: Option<Decimal>,
}

/// A country the commerce knows: one of its sales areas or one it answers for otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code, uppercase (`ES`).
    pub code: String,
    pub name: String,
    /// Whether the commerce sells (ships) to this country.
    pub sales_area: bool,
    /// Browsing languages allowed in this country; empty means all of the commerce's.
    pub languages: Vec<String>,
    /// The default language in this country, overriding the commerce's.
    pub default_language: Option<String>,
    /// The default browsing currency in this country, overriding the main currency.
    pub default_currency: Option<String>,
    /// For the version of the commerce whose domain is linked to this country: the only
    /// countries it sells to. Empty means the commerce's sales areas.
    pub sellable_countries: Vec<String>,
}

/// A version of the website. It may determine a language (both ways) and a country.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Domain {
    /// Host name, lowercase (`demo.example`).
    pub host: String,
    pub language: Option<String>,
    pub country: Option<String>,
}

/// A named set of places: countries, optionally narrowed to regions or postal-code prefixes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Area {
    pub code: String,
    pub members: Vec<AreaMember>,
}

/// One country of an area. With neither `regions` nor `postal_prefixes`, the whole country.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AreaMember {
    pub country: String,
    pub regions: Vec<String>,
    pub postal_prefixes: Vec<String>,
}

/// A place a request or an address is in: the input to area membership.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub country: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
}

/// A postal address of a logistic center, warehouse or company.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    pub line: String,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
}

/// What the commerce does with a visitor from a country outside its sales areas.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutOfArea {
    pub behaviour: OutOfAreaBehaviour,
    /// For `redirect`: the versions of the commerce that serve other countries.
    pub versions: Vec<CommerceVersion>,
    /// For `redirect`: what happens in a country no version serves (default `block`).
    pub otherwise: Option<OutOfAreaFallback>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutOfAreaBehaviour {
    /// Tell the visitor they are outside the sales areas; no shopping.
    #[default]
    Block,
    /// Let them browse and fill a cart, but not ship to their country.
    BrowseOnly,
    /// Send them to the commerce version configured for their country.
    Redirect,
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommerceVersion {
    pub commerce: String,
    pub url: String,
    pub countries: Vec<String>,
}
