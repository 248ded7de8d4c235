//! The commerce model: its configuration document (`model`), the rules that document must
//! keep (`validate`), area geometry (`area`), and `Commerce`, the validated and indexed
//! form every other part of the engine reads.

pub mod area;
pub mod model;
mod validate;

use std::collections::HashMap;
use std::fmt;

pub(crate) use validate::is_country_code;
pub use validate::Violation;

use area::compatible;
use model::{
    Area, Channel, CommerceConfig, Country, Currency, Domain, Language, Product, Warehouse,
};

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

/// A validated commerce with lookup indexes and, per channel, the members its area of
/// influence qualifies. Immutable: a configuration change builds a new one.
#[derive(Debug, Clone)]
pub struct Commerce {
    config: CommerceConfig,
    languages: HashMap<String, usize>,
    currencies: HashMap<String, usize>,
    countries: HashMap<String, usize>,
    domains: HashMap<String, usize>,
    areas: HashMap<String, usize>,
    channels: HashMap<String, usize>,
    warehouses: HashMap<String, usize>,
    products: HashMap<String, usize>,
    qualified: Vec<QualifiedMembers>,
    default_channel: usize,
}

/// The members of one channel that its area of influence does not disqualify, in the
/// channel's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QualifiedMembers {
    pub warehouses: Vec<String>,
    pub invoicing_companies: Vec<String>,
    pub physical_locations: Vec<String>,
    pub payment_systems: Vec<String>,
}

fn index<T>(items: &[T], key: impl Fn(&T) -> &str) -> HashMap<String, usize> {
    items
        .iter()
        .enumerate()
        .map(|(position, item)| (key(item).to_owned(), position))
        .collect()
}

impl Commerce {
    /// Parses and validates a TOML document. Unknown fields are violations too, so a typo
    /// in a key is never silently ignored.
    pub fn from_toml(text: &str, known_gateways: &[&str]) -> Result<Self, ConfigError> {
        let deserializer =
            toml::Deserializer::parse(text).map_err(|error| ConfigError::Syntax {
                message: error.to_string(),
            })?;
        let mut unknown = Vec::new();
        let config: CommerceConfig = serde_ignored::deserialize(deserializer, |path| {
            unknown.push(path.to_string());
        })
        .map_err(|error| ConfigError::Syntax {
            message: error.to_string(),
        })?;
        let mut violations: Vec<Violation> = unknown
            .into_iter()
            .map(|path| Violation {
                entity: "commerce".into(),
                rule: "unknown_field",
                message: format!("unknown field \"{path}\""),
            })
            .collect();
        violations.extend(validate::validate(&config, known_gateways));
        if violations.is_empty() {
            Ok(Self::index(config))
        } else {
            Err(ConfigError::Invalid { violations })
        }
    }

    /// Builds the indexes of a document that passed validation.
    fn index(config: CommerceConfig) -> Self {
        let mut commerce = Commerce {
            languages: index(&config.languages, |x| &x.code),
            currencies: index(&config.currencies, |x| &x.code),
            countries: index(&config.countries, |x| &x.code),
            domains: index(&config.domains, |x| &x.host),
            areas: index(&config.areas, |x| &x.code),
            channels: index(&config.channels, |x| &x.code),
            warehouses: index(&config.warehouses, |x| &x.code),
            products: index(&config.products, |x| &x.sku),
            qualified: Vec::new(),
            // Validation guarantees exactly one default channel.
            default_channel: config
                .channels
                .iter()
                .position(|ch| ch.default)
                .unwrap_or(0),
            config,
        };
        commerce.qualified = commerce
            .config
            .channels
            .iter()
            .map(|ch| commerce.qualify(ch))
            .collect();
        commerce
    }

    fn qualify(&self, channel: &Channel) -> QualifiedMembers {
        let c = &self.config;
        let channel_area = channel.area.as_deref().and_then(|code| self.area(code));
        QualifiedMembers {
            warehouses: self.keep_compatible(&channel.warehouses, channel_area, |code| {
                c.warehouses
                    .iter()
                    .find(|x| x.code == code)
                    .map(|x| x.area.as_deref())
            }),
            invoicing_companies: self.keep_compatible(
                &channel.invoicing_companies,
                channel_area,
                |code| {
                    c.invoicing_companies
                        .iter()
                        .find(|x| x.code == code)
                        .map(|x| x.area.as_deref())
                },
            ),
            physical_locations: self.keep_compatible(
                &channel.physical_locations,
                channel_area,
                |code| {
                    c.physical_locations
                        .iter()
                        .find(|x| x.code == code)
                        .map(|x| x.area.as_deref())
                },
            ),
            payment_systems: if channel.payment_systems.is_empty() {
                c.payment_systems.iter().map(|p| p.code.clone()).collect()
            } else {
                channel.payment_systems.clone()
            },
        }
    }

    /// The codes, in order, of the entities whose area (looked up by `area_of`) is
    /// compatible with the channel's.
    fn keep_compatible<'a>(
        &'a self,
        codes: &[String],
        channel_area: Option<&Area>,
        area_of: impl Fn(&str) -> Option<Option<&'a str>>,
    ) -> Vec<String> {
        codes
            .iter()
            .filter(|code| {
                area_of(code)
                    .is_some_and(|area| compatible(area.and_then(|a| self.area(a)), channel_area))
            })
            .cloned()
            .collect()
    }

    pub fn config(&self) -> &CommerceConfig {
        &self.config
    }

    pub fn code(&self) -> &str {
        &self.config.code
    }

    pub fn language(&self, code: &str) -> Option<&Language> {
        self.languages.get(code).map(|&i| &self.config.languages[i])
    }

    pub fn currency(&self, code: &str) -> Option<&Currency> {
        self.currencies
            .get(code)
            .map(|&i| &self.config.currencies[i])
    }

    pub fn country(&self, code: &str) -> Option<&Country> {
        self.countries.get(code).map(|&i| &self.config.countries[i])
    }

    pub fn domain(&self, host: &str) -> Option<&Domain> {
        self.domains.get(host).map(|&i| &self.config.domains[i])
    }

    pub fn area(&self, code: &str) -> Option<&Area> {
        self.areas.get(code).map(|&i| &self.config.areas[i])
    }

    pub fn channel(&self, code: &str) -> Option<&Channel> {
        self.channels.get(code).map(|&i| &self.config.channels[i])
    }

    pub fn warehouse(&self, code: &str) -> Option<&Warehouse> {
        self.warehouses
            .get(code)
            .map(|&i| &self.config.warehouses[i])
    }

    pub fn product(&self, sku: &str) -> Option<&Product> {
        self.products.get(sku).map(|&i| &self.config.products[i])
    }

    /// The members of a channel that its area of influence qualifies.
    pub fn qualified(&self, channel_code: &str) -> Option<&QualifiedMembers> {
        self.channels.get(channel_code).map(|&i| &self.qualified[i])
    }

    /// The domain a language is linked to, if any (the language determines the domain).
    pub fn domain_of_language(&self, language: &str) -> Option<&Domain> {
        self.config
            .domains
            .iter()
            .find(|d| d.language.as_deref() == Some(language))
    }

    /// The domain a country is linked to, if any.
    pub fn domain_of_country(&self, country: &str) -> Option<&Domain> {
        self.config
            .domains
            .iter()
            .find(|d| d.country.as_deref() == Some(country))
    }

    /// The default channel; validation guarantees exactly one.
    pub fn default_channel(&self) -> &Channel {
        &self.config.channels[self.default_channel]
    }

    /// The countries the commerce sells to.
    pub fn sales_countries(&self) -> impl Iterator<Item = &str> {
        self.config
            .countries
            .iter()
            .filter(|c| c.sales_area)
            .map(|c| c.code.as_str())
    }
}
