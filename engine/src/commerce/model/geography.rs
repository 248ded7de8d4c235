//! Languages, currencies, countries, domains and areas: where a commerce sells and how it
//! speaks and counts there.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A browsing language. Content must exist in every language of the commerce.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct Language {
    /// ISO 639-1 code, lowercase (`en`, `es`), optionally with an uppercase region (`pt-BR`).
    /// Required; unique among the commerce's languages.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[a-z]{2}(-[A-Z]{2})?$"))]
    pub code: String,
    /// Display name of the language (`Español`). Defaults to empty.
    pub name: String,
}

/// An active (browsing) currency. Prices are entered in the main currency; others may be
/// priced explicitly or converted at `rate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct Currency {
    /// ISO 4217 code, three uppercase letters (`EUR`). Required; unique among the commerce's
    /// currencies.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[A-Z]{3}$"))]
    pub code: String,
    /// Digits after the decimal point of the currency's minor unit (2 for EUR, 0 for JPY),
    /// 0 to 4. Required for every currency, the main one included.
    #[schemars(extend("x-required" = true), range(max = 4))]
    pub minor_units: Option<u32>,
    /// Units of this currency for one unit of the main currency, as a decimal string
    /// (`"1.08"`). Required and positive for every currency but the main one, whose rate may
    /// be omitted and, if given, must be 1.
    pub rate: Option<Decimal>,
}

/// A country the commerce knows: one of its sales areas or one it answers for otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code, uppercase (`ES`). Required; unique among the commerce's
    /// countries.
    #[schemars(extend("x-required" = true), regex(pattern = r"^[A-Z]{2}$"))]
    pub code: String,
    /// Display name of the country (`Spain`). Defaults to empty.
    pub name: String,
    /// Whether the commerce sells (ships) to this country. Defaults to `false`; at least one
    /// country of the commerce must be `true`.
    pub sales_area: bool,
    /// Browsing languages allowed in this country; empty (the default) means all of the
    /// commerce's. Each must be a defined language code, listed once.
    pub languages: Vec<String>,
    /// The default language in this country, overriding the commerce's `default_language`;
    /// none (the default) keeps the commerce's. Must be a defined language and, when
    /// `languages` is not empty, one of them.
    pub default_language: Option<String>,
    /// The default browsing currency in this country, overriding the main currency; none
    /// (the default) keeps the main currency. Must be a defined currency code.
    pub default_currency: Option<String>,
    /// For the version of the commerce whose domain is linked to this country: the only
    /// countries it sells to. Empty (the default) means the commerce's sales areas. When
    /// set, a domain must be linked to this country, the list must include this country's
    /// own code, and each entry must be a country with `sales_area = true`.
    pub sellable_countries: Vec<String>,
}

/// A version of the website. It may determine a language (both ways) and a country.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct Domain {
    /// Host name, lowercase, without port (`demo.example`): 1 to 253 of `a-z`, `0-9`, `.`,
    /// `-`. Required; unique among the commerce's domains.
    #[schemars(extend("x-required" = true), length(min = 1, max = 253), regex(pattern = r"^[a-z0-9.-]+$"))]
    pub host: String,
    /// The language of visits to this domain that ask for none, and the domain visits in that
    /// language browse on; none (the default) links no language. Must be a defined language,
    /// linked to at most one domain and, when the linked `country` lists `languages`, one of
    /// them.
    pub language: Option<String>,
    /// The country assumed for visits to this domain that give none; its languages, defaults
    /// and `sellable_countries` apply to everyone browsing it. None (the default) links no
    /// country. Must be a defined country, linked to at most one domain.
    pub country: Option<String>,
}

/// A named set of places: countries, optionally narrowed to regions or postal-code prefixes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct Area {
    /// The area's code, by which channels, warehouses, logistic centers and others refer to
    /// it. Required; unique among the commerce's areas.
    #[schemars(extend("x-required" = true))]
    pub code: String,
    /// The places the area is made of: a place is in the area when it is in any member.
    /// Required: at least one.
    #[schemars(extend("x-required" = true), length(min = 1))]
    pub members: Vec<AreaMember>,
}

/// One country of an area. With neither `regions` nor `postal_prefixes`, the whole country.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct AreaMember {
    /// The member's country code. Required; must be a defined country.
    #[schemars(extend("x-required" = true))]
    pub country: String,
    /// Regions of the country in the member, compared exactly with a place's region (`MD`).
    /// Defaults to empty; no entry may be empty.
    #[schemars(inner(length(min = 1)))]
    pub regions: Vec<String>,
    /// Postal-code prefixes in the member: a place is in it when its postal code starts with
    /// one of them (`"28"`). Defaults to empty; no entry may be empty.
    #[schemars(inner(length(min = 1)))]
    pub postal_prefixes: Vec<String>,
}

/// A place a request or an address is in: the input to area membership.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Place {
    /// ISO 3166-1 alpha-2 country code, uppercase (`ES`).
    pub country: String,
    /// The region within the country, matched exactly against an area member's `regions`;
    /// none means unknown, and the place is then in no member narrowed to regions.
    pub region: Option<String>,
    /// The postal code, matched by prefix against an area member's `postal_prefixes`; none
    /// means unknown, and the place is then in no member narrowed to postal prefixes.
    pub postal_code: Option<String>,
}

/// A postal address of a logistic center, warehouse or company.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct Address {
    /// Street line (street and number). Defaults to empty.
    pub line: String,
    /// City or town. Defaults to empty.
    pub city: String,
    /// Region, province or state; none (the default) when the address has none.
    pub region: Option<String>,
    /// Postal code. Defaults to empty.
    pub postal_code: String,
    /// Country code. Required; must be a defined country.
    #[schemars(extend("x-required" = true))]
    pub country: String,
}

/// What the commerce does with a visitor from a country outside its sales areas.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct OutOfArea {
    /// What happens to such a visitor. Defaults to `block`.
    pub behaviour: OutOfAreaBehaviour,
    /// For `redirect`: the versions of the commerce that serve other countries. Required (at
    /// least one) with `redirect`; must be empty with any other behaviour. A country may be
    /// listed by one version only.
    pub versions: Vec<CommerceVersion>,
    /// For `redirect`: what happens in a country no version serves; none (the default) means
    /// `block`. Must be absent with any other behaviour.
    pub otherwise: Option<OutOfAreaFallback>,
}

/// How the commerce treats a visitor from a country outside its sales areas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutOfAreaBehaviour {
    /// Tell the visitor they are outside the sales areas; no shopping. The default.
    #[default]
    Block,
    /// Let them browse and fill a cart, but not ship to their country.
    BrowseOnly,
    /// Send them to the commerce version listed in `versions` for their country; in a
    /// country no version lists, apply `otherwise`.
    Redirect,
}

/// The behaviour for a country that no redirect version covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutOfAreaFallback {
    /// Tell the visitor they are outside the sales areas; no shopping.
    Block,
    /// Let them browse and fill a cart, but not ship to their country.
    BrowseOnly,
}

/// Another version of the commerce (another commerce code, possibly on another node) that
/// serves some countries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct CommerceVersion {
    /// The other version's commerce code. Required; must differ from this commerce's `code`.
    #[schemars(extend("x-required" = true))]
    pub commerce: String,
    /// Where its visitors are sent: an `http://` or `https://` URL. Required.
    #[schemars(extend("x-required" = true), regex(pattern = r"^https?://[\s\S]*$"))]
    pub url: String,
    /// The countries it serves, as ISO 3166-1 alpha-2 codes, uppercase (`US`). Required: at
    /// least one. None may be in this commerce's sales areas or be listed twice, in this
    /// version or another.
    #[schemars(extend("x-required" = true), length(min = 1), inner(regex(pattern = r"^[A-Z]{2}$")))]
    pub countries: Vec<String>,
}
