//! The commerce model: its configuration document (`model`), the rules that document must
//! keep (`validate`), area geometry (`area`), and `Commerce`, the validated and indexed
//! form every other part of the engine reads.

pub mod area;
pub mod catalog;
pub mod commissions;
pub mod data;
mod live;
pub mod merchants;
pub mod model;
pub mod proposals;
pub mod schema;
mod validate;

// Fx hashing: the keys are configuration codes, not attacker-chosen, and product lookups
// sit on the reserve path.
use rustc_hash::FxHashMap as HashMap;
use std::fmt;

pub(crate) use validate::is_country_code;
pub use validate::{ProductRules, Violation};

use area::qualified_members;
pub use area::QualifiedMembers;
use model::{
    Area, Channel, CommerceConfig, Country, Currency, Domain, Language, LogisticCenter, Merchant, Place, Product,
    StockPolicy, Warehouse,
};
use std::sync::Arc;

use crate::time::Timestamp;
use crate::DomainError;
use catalog::{Catalog, ProductHistory};

/// Why a configuration document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The text is not TOML, or a value has the wrong type or shape.
    #[error("{message}")]
    Syntax { message: String },
    /// The document parsed but breaks rules; every broken rule is listed.
    #[error("{} violation(s):\n{}", violations.len(), ViolationList(violations))]
    Invalid { violations: Vec<Violation> },
}

struct ViolationList<'a>(&'a [Violation]);

impl fmt::Display for ViolationList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for violation in self.0 {
            writeln!(f, "  {violation}")?;
        }
        Ok(())
    }
}

/// A validated commerce: its settings with lookup indexes and, per channel, the members
/// its area of influence qualifies (shared, rebuilt only when the settings change), and its
/// catalogue (a persistent map: a product's change copies O(log n) of it). Immutable: a
/// change makes a new one, which shares what it did not change.
#[derive(Debug, Clone)]
pub struct Commerce {
    settings: Arc<Settings>,
    catalog: Catalog,
}

#[derive(Debug)]
struct Settings {
    /// The configuration; its `products` are moved into the catalogue.
    config: CommerceConfig,
    languages: HashMap<String, usize>,
    currencies: HashMap<String, usize>,
    countries: HashMap<String, usize>,
    domains: HashMap<String, usize>,
    areas: HashMap<String, usize>,
    channels: HashMap<String, usize>,
    warehouses: HashMap<String, usize>,
    merchants: HashMap<String, usize>,
    qualified: Vec<QualifiedMembers>,
    default_channel: usize,
}

/// Splits a path to an unknown field (`products.3.colour`) into the entity it belongs to
/// (`product "TSHIRT-RED-M"`) and the field's path within it (`colour`).
fn entity_of_path(config: &CommerceConfig, path: &str) -> (String, String) {
    let c = config;
    let mut parts = path.splitn(3, '.');
    let top = parts.next().unwrap_or_default();
    let index = parts.next().and_then(|p| p.parse::<usize>().ok());
    let rest = parts.next().unwrap_or_default();
    let code: Option<(&str, &str)> = index.and_then(|i| match top {
        "languages" => c.languages.get(i).map(|x| ("language", x.code.as_str())),
        "currencies" => c.currencies.get(i).map(|x| ("currency", x.code.as_str())),
        "countries" => c.countries.get(i).map(|x| ("country", x.code.as_str())),
        "domains" => c.domains.get(i).map(|x| ("domain", x.host.as_str())),
        "areas" => c.areas.get(i).map(|x| ("area", x.code.as_str())),
        "channels" => c.channels.get(i).map(|x| ("channel", x.code.as_str())),
        "invoicing_companies" => c.invoicing_companies.get(i).map(|x| ("invoicing company", x.code.as_str())),
        "warehouses" => c.warehouses.get(i).map(|x| ("warehouse", x.code.as_str())),
        "logistic_centers" => c.logistic_centers.get(i).map(|x| ("logistic center", x.code.as_str())),
        "payment_systems" => c.payment_systems.get(i).map(|x| ("payment system", x.code.as_str())),
        "physical_locations" => c.physical_locations.get(i).map(|x| ("physical location", x.code.as_str())),
        "carriers" => c.carriers.get(i).map(|x| ("carrier", x.code.as_str())),
        "user_groups" => c.user_groups.get(i).map(|x| ("user group", x.code.as_str())),
        "users" => c.users.get(i).map(|x| ("user", x.id.as_str())),
        "merchants" => c.merchants.get(i).map(|x| ("merchant", x.code.as_str())),
        "products" => c.products.get(i).map(|x| ("product", x.sku.as_str())),
        "api_keys" => c.api_keys.get(i).map(|x| ("api key", x.name.as_str())),
        "price_rules" => c.price_rules.get(i).map(|x| ("price rule", x.code.as_str())),
        "discounts" => c.discounts.get(i).map(|x| ("discount", x.code.as_str())),
        _ => None,
    });
    match code {
        Some((kind, code)) if !rest.is_empty() => (format!("{kind} \"{code}\""), rest.to_owned()),
        _ => ("commerce".to_owned(), path.to_owned()),
    }
}

fn index<T>(items: &[T], key: impl Fn(&T) -> &str) -> HashMap<String, usize> {
    items.iter().enumerate().map(|(position, item)| (key(item).to_owned(), position)).collect()
}

impl Commerce {
    /// Parses and validates a TOML document. Unknown fields are violations too, so a typo
    /// in a key is never silently ignored.
    pub fn from_toml(text: &str, known_gateways: &[&str]) -> Result<Self, ConfigError> {
        let deserializer =
            toml::Deserializer::parse(text).map_err(|error| ConfigError::Syntax { message: error.to_string() })?;
        let mut unknown = Vec::new();
        let mut config: CommerceConfig = serde_ignored::deserialize(deserializer, |path| {
            unknown.push(path.to_string());
        })
        .map_err(|error| ConfigError::Syntax { message: error.to_string() })?;
        let mut violations: Vec<Violation> = unknown
            .iter()
            .map(|path| {
                // serde_ignored writes `?` for the inside of an `Option`; it is no key.
                let path = path.replace(".?", "");
                let (entity, field) = entity_of_path(&config, &path);
                Violation { entity, rule: "unknown_field", message: format!("unknown field \"{field}\"") }
            })
            .collect();
        for product in &mut config.products {
            if let Err(message) = product.normalize_weight() {
                let entity = format!("product \"{}\"", product.sku);
                violations.push(Violation { entity, rule: "invalid_value", message });
            }
        }
        violations.extend(validate::validate(&config, known_gateways));
        if violations.is_empty() {
            Ok(Self::index(config))
        } else {
            Err(ConfigError::Invalid { violations })
        }
    }

    /// Builds the indexes of a document that passed validation; its products become the
    /// catalogue, each at version 1.
    fn index(mut config: CommerceConfig) -> Self {
        let products = std::mem::take(&mut config.products);
        config.digest_keys();
        let mut settings = Settings {
            languages: index(&config.languages, |x| &x.code),
            currencies: index(&config.currencies, |x| &x.code),
            countries: index(&config.countries, |x| &x.code),
            domains: index(&config.domains, |x| &x.host),
            areas: index(&config.areas, |x| &x.code),
            channels: index(&config.channels, |x| &x.code),
            warehouses: index(&config.warehouses, |x| &x.code),
            merchants: index(&config.merchants, |x| &x.code),
            qualified: Vec::new(),
            // Validation guarantees exactly one default channel.
            default_channel: config.channels.iter().position(|ch| ch.default).unwrap_or(0),
            config,
        };
        settings.qualified =
            settings.config.channels.iter().map(|ch| qualified_members(&settings.config, ch)).collect();
        Commerce { settings: Arc::new(settings), catalog: Catalog::seeded(products, Timestamp(0)) }
    }

    pub fn config(&self) -> &CommerceConfig {
        &self.settings.config
    }

    pub fn code(&self) -> &str {
        &self.settings.config.code
    }

    pub fn language(&self, code: &str) -> Option<&Language> {
        self.settings.languages.get(code).map(|&i| &self.settings.config.languages[i])
    }

    pub fn currency(&self, code: &str) -> Option<&Currency> {
        self.settings.currencies.get(code).map(|&i| &self.settings.config.currencies[i])
    }

    pub fn country(&self, code: &str) -> Option<&Country> {
        self.settings.countries.get(code).map(|&i| &self.settings.config.countries[i])
    }

    pub fn domain(&self, host: &str) -> Option<&Domain> {
        self.settings.domains.get(host).map(|&i| &self.settings.config.domains[i])
    }

    pub fn area(&self, code: &str) -> Option<&Area> {
        self.settings.areas.get(code).map(|&i| &self.settings.config.areas[i])
    }

    pub fn channel(&self, code: &str) -> Option<&Channel> {
        self.settings.channels.get(code).map(|&i| &self.settings.config.channels[i])
    }

    pub fn warehouse(&self, code: &str) -> Option<&Warehouse> {
        self.settings.warehouses.get(code).map(|&i| &self.settings.config.warehouses[i])
    }

    pub fn merchant(&self, code: &str) -> Option<&Merchant> {
        self.settings.merchants.get(code).map(|&i| &self.settings.config.merchants[i])
    }

    /// A product as it is now, retired or not.
    pub fn product(&self, sku: &str) -> Option<&Product> {
        self.catalog.get(sku).map(ProductHistory::product)
    }

    /// `sellable`'s product, or none (without the reason) when it may not be sold.
    pub fn sold(&self, sku: &str) -> Option<&Product> {
        let product = self.catalog.get(sku).filter(|history| !history.retired())?.product();
        let trades = product.merchant.as_deref().is_none_or(|merchant| self.merchant_not_trading(merchant).is_none());
        trades.then_some(product)
    }

    /// A product that may be sold: known, not retired, and of no merchant or of one that
    /// trades (not invited, onboarding or blocked).
    pub fn sellable(&self, sku: &str) -> Result<&Product, DomainError> {
        match self.catalog.get(sku) {
            None => Err(DomainError::UnknownSku { sku: sku.to_owned() }),
            Some(history) if history.retired() => Err(DomainError::ProductRetired { sku: sku.to_owned() }),
            Some(history) => {
                let product = history.product();
                if let Some(merchant) = &product.merchant {
                    if let Some(status) = self.merchant_not_trading(merchant) {
                        let (sku, merchant) = (sku.to_owned(), merchant.clone());
                        return Err(DomainError::MerchantNotTrading { sku, merchant, status: status.as_str() });
                    }
                }
                Ok(product)
            }
        }
    }

    /// The products with their histories.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Every product as it is now (retired ones too), by SKU.
    pub fn products(&self) -> impl Iterator<Item = &Product> {
        self.catalog.iter().map(ProductHistory::product)
    }

    /// The stock policy of a product in a warehouse: the warehouse's override if there is
    /// one, else the product's own, else `stock_only`.
    pub fn stock_policy(&self, sku: &str, warehouse: &str) -> Option<StockPolicy> {
        let history = self.catalog.get(sku)?;
        if let Some(policy) = history.policy() {
            return Some(policy);
        }
        let product = history.product();
        let config = product.stock_policy_overrides.get(warehouse).or(product.stock_policy.as_ref());
        // Validation refused every table that describes no policy.
        Some(config.and_then(|c| c.policy().ok()).unwrap_or_default())
    }

    /// Whether `sku`'s cap in `warehouse` is the product's own, one budget shared by every
    /// warehouse without an override of its own (DESIGN.md section 4): a capped preorder or
    /// lead-time policy the warehouse does not override.
    pub fn shares_cap(&self, sku: &str, warehouse: &str) -> bool {
        let Some(history) = self.catalog.get(sku) else { return false };
        let capped = |policy: StockPolicy| {
            matches!(policy, StockPolicy::Preorder { .. } | StockPolicy::BackorderLeadTime { cap: Some(_), .. })
        };
        // Resolved when saved for a product no warehouse overrides: the reserve path's case.
        if let Some(policy) = history.policy() {
            return capped(policy);
        }
        let product = history.product();
        if product.stock_policy_overrides.contains_key(warehouse) {
            return false;
        }
        capped(product.stock_policy.as_ref().and_then(|c| c.policy().ok()).unwrap_or_default())
    }

    pub fn logistic_center(&self, code: &str) -> Option<&LogisticCenter> {
        self.settings.config.logistic_centers.iter().find(|lc| lc.code == code)
    }

    /// Whether a logistic center delivers to `place`. A place known only by its country is
    /// reachable when any part of that country is.
    pub fn delivers_to(&self, center: &LogisticCenter, place: &Place) -> bool {
        let Some(area) = self.area(&center.area) else { return false };
        if place.region.is_none() && place.postal_code.is_none() {
            area.touches_country(&place.country)
        } else {
            area.contains(place)
        }
    }

    /// The members of a channel that its area of influence qualifies.
    pub fn qualified(&self, channel_code: &str) -> Option<&QualifiedMembers> {
        self.settings.channels.get(channel_code).map(|&i| &self.settings.qualified[i])
    }

    /// The domain a language is linked to, if any (the language determines the domain).
    pub fn domain_of_language(&self, language: &str) -> Option<&Domain> {
        self.settings.config.domains.iter().find(|d| d.language.as_deref() == Some(language))
    }

    /// The domain a country is linked to, if any.
    pub fn domain_of_country(&self, country: &str) -> Option<&Domain> {
        self.settings.config.domains.iter().find(|d| d.country.as_deref() == Some(country))
    }

    /// The default channel; validation guarantees exactly one.
    pub fn default_channel(&self) -> &Channel {
        &self.settings.config.channels[self.settings.default_channel]
    }

    /// The countries the commerce sells to.
    pub fn sales_countries(&self) -> impl Iterator<Item = &str> {
        self.settings.config.countries.iter().filter(|c| c.sales_area).map(|c| c.code.as_str())
    }

    /// The countries the version of the commerce seen through `domain` sells to: the
    /// linked country's `sellable_countries` when it restricts them, else every sales
    /// country.
    pub fn sellable_countries<'a>(&'a self, domain: Option<&Domain>) -> Box<dyn Iterator<Item = &'a str> + 'a> {
        let restricted = domain
            .and_then(|d| d.country.as_deref())
            .and_then(|code| self.country(code))
            .filter(|country| !country.sellable_countries.is_empty());
        match restricted {
            Some(country) => Box::new(country.sellable_countries.iter().map(String::as_str)),
            None => Box::new(self.sales_countries()),
        }
    }
}
