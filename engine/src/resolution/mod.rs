//! Context resolution: from what a storefront knows about a visitor (domain, device,
//! country, wishes) to the channel, language, currency and country the engine will use,
//! and whether the visitor may shop here, only browse, or belongs to another version.
//!
//! The rules:
//! - Channel: a channel applies when every criterion it sets (devices, domains, countries,
//!   user groups) matches and its area of influence, if it has one, reaches the visitor's
//!   country; the one setting the most kinds of criteria wins; among equally specific ones
//!   the one declared first; when none applies, the default channel.
//! - Version: a domain linked to a country makes a version of the commerce; that
//!   country's language list, default language, default currency and sellable countries
//!   apply to everyone browsing it.
//! - Language: the requested one if the version offers it, else the domain's, else the
//!   country's default, else the commerce's. A language unknown to the commerce is an
//!   error; one the country does not offer falls back.
//! - Access: a visitor in a sellable country has full access. A visitor in a sales-area
//!   country that another domain version of the same commerce sells to is redirected
//!   there. Otherwise the commerce's out-of-area behaviour applies: `block`,
//!   `browse_only`, or `redirect` to the version configured for that country.
//! - Area compatibility: an entity without an area is unrestricted; otherwise the two areas
//!   must overlap. Regions and postal prefixes cannot be compared without a postal map, so
//!   they count as overlapping; only provable disjointness disqualifies.

mod channel;

use serde::{Deserialize, Serialize};

pub use channel::{select_channel, Visitor};

use crate::commerce::model::{Country, Device, Domain, OutOfAreaBehaviour, OutOfAreaFallback};
use crate::commerce::Commerce;
use crate::error::DomainError;

/// What the storefront knows about the visitor. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextRequest {
    /// The host the visitor reached (`demo.example`); case and a port are ignored.
    pub domain: Option<String>,
    pub device: Option<Device>,
    /// The visitor's country (ISO 3166-1 alpha-2, any case).
    pub country: Option<String>,
    /// The language the visitor asked for.
    pub language: Option<String>,
    /// The currency the visitor asked for.
    pub currency: Option<String>,
    /// The visitor's user groups (from their account).
    pub user_groups: Vec<String>,
}

/// The resolved context of a visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedContext {
    pub commerce: String,
    pub channel: String,
    pub language: String,
    /// Browsing languages offered to this visitor.
    pub languages: Vec<String>,
    pub currency: String,
    /// Browsing currencies offered.
    pub currencies: Vec<String>,
    pub country: String,
    /// The domain to browse on: the one linked to the language, else the one reached.
    pub domain: Option<String>,
    pub tax_inclusive: bool,
    pub access: Access,
    /// Countries this version of the commerce ships to.
    pub sellable_countries: Vec<String>,
}

/// What the visitor may do here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Access {
    /// Browse, buy and ship to their country.
    Full,
    /// Outside the sales areas: browse and fill a cart, but not ship to their country.
    BrowseOnly,
    /// Outside the sales areas: no shopping.
    Blocked,
    /// Another version serves their country.
    Redirect { commerce: String, url: String },
}

/// Resolves a visit. Unknown domains, malformed countries and values the commerce does not
/// have are errors; a language the visitor's country does not offer falls back to that
/// country's default.
pub fn resolve(commerce: &Commerce, request: &ContextRequest) -> Result<ResolvedContext, DomainError> {
    let config = commerce.config();
    let domain = match request.domain.as_deref() {
        Some(raw) => {
            let host = normalize_host(raw);
            Some(commerce.domain(&host).ok_or(DomainError::UnknownDomain { host })?)
        }
        None => None,
    };
    let country = match request.country.as_deref() {
        Some(raw) => normalize_country(raw)?,
        None => domain
            .and_then(|d| d.country.clone())
            .or_else(|| config.default_country.clone())
            .ok_or(DomainError::CountryRequired)?,
    };
    let user_groups = known_groups(commerce, &request.user_groups)?;

    // A domain linked to a country makes a version of the commerce: that country's settings
    // (languages, sellable countries) apply to everyone browsing it.
    let settings_country =
        domain.and_then(|d| d.country.as_deref()).or(Some(country.as_str())).and_then(|code| commerce.country(code));
    let sellable_countries: Vec<String> = commerce.sellable_countries(domain).map(str::to_owned).collect();
    let access = access(commerce, domain, &country, &sellable_countries);

    let languages: Vec<String> = match settings_country {
        Some(c) if !c.languages.is_empty() => c.languages.clone(),
        _ => config.languages.iter().map(|l| l.code.clone()).collect(),
    };
    let language = language(commerce, request, domain, settings_country, &languages)?;
    let currency = currency(commerce, request, settings_country)?;

    let visitor = Visitor {
        device: request.device,
        domain: domain.map(|d| d.host.as_str()),
        country: &country,
        user_groups: &user_groups,
    };
    let channel = select_channel(commerce, &visitor);
    let browse_domain = commerce.domain_of_language(&language).or(domain).map(|d| d.host.clone());

    Ok(ResolvedContext {
        commerce: config.code.clone(),
        channel: channel.code.clone(),
        language,
        languages,
        currency,
        currencies: config.currencies.iter().map(|c| c.code.clone()).collect(),
        country,
        domain: browse_domain,
        tax_inclusive: channel.tax_inclusive,
        access,
        sellable_countries,
    })
}

/// The visit's language: the one asked for, else the domain's, else the country's default,
/// else the commerce's, the first of them the country offers.
fn language(
    commerce: &Commerce,
    request: &ContextRequest,
    domain: Option<&Domain>,
    settings_country: Option<&Country>,
    languages: &[String],
) -> Result<String, DomainError> {
    let config = commerce.config();
    let requested_language = match request.language.as_deref() {
        Some(raw) => {
            let code = normalize_language(raw);
            commerce.language(&code).ok_or(DomainError::UnknownLanguage { code: code.clone() })?;
            Some(code)
        }
        None => None,
    };
    Ok([
        requested_language,
        domain.and_then(|d| d.language.clone()),
        settings_country.and_then(|c| c.default_language.clone()),
        Some(config.default_language.clone()),
    ]
    .into_iter()
    .flatten()
    .find(|code| languages.contains(code))
    .or_else(|| languages.first().cloned())
    .unwrap_or_else(|| config.default_language.clone()))
}

/// The visit's currency: the one asked for, else the country's default, else the main one.
fn currency(
    commerce: &Commerce,
    request: &ContextRequest,
    settings_country: Option<&Country>,
) -> Result<String, DomainError> {
    match request.currency.as_deref() {
        Some(raw) => {
            let code = raw.trim().to_ascii_uppercase();
            commerce.currency(&code).ok_or(DomainError::UnknownCurrency { code: code.clone() })?;
            Ok(code)
        }
        None => Ok(settings_country
            .and_then(|c| c.default_currency.clone())
            .unwrap_or_else(|| commerce.config().main_currency.clone())),
    }
}

/// Whether a visitor from `country` may shop in this version, and if not, what happens.
fn access(commerce: &Commerce, current: Option<&Domain>, country: &str, sellable_countries: &[String]) -> Access {
    if sellable_countries.iter().any(|c| c == country) {
        return Access::Full;
    }
    // Another domain version of this same commerce may sell there: the one linked to the
    // visitor's country first, then any other that sells there, in declaration order.
    if commerce.sales_countries().any(|c| c == country) {
        let others =
            || commerce.config().domains.iter().filter(|d| Some(d.host.as_str()) != current.map(|c| c.host.as_str()));
        let sells = |d: &&Domain| commerce.sellable_countries(Some(d)).any(|c| c == country);
        let target =
            others().filter(|d| d.country.as_deref() == Some(country)).find(sells).or_else(|| others().find(sells));
        if let Some(domain) = target {
            return Access::Redirect { commerce: commerce.code().to_owned(), url: format!("https://{}/", domain.host) };
        }
    }
    let policy = &commerce.config().out_of_area;
    match policy.behaviour {
        OutOfAreaBehaviour::Block => Access::Blocked,
        OutOfAreaBehaviour::BrowseOnly => Access::BrowseOnly,
        OutOfAreaBehaviour::Redirect => match policy.versions.iter().find(|v| v.countries.iter().any(|c| c == country))
        {
            Some(version) => Access::Redirect { commerce: version.commerce.clone(), url: version.url.clone() },
            None => match policy.otherwise.unwrap_or(OutOfAreaFallback::Block) {
                OutOfAreaFallback::Block => Access::Blocked,
                OutOfAreaFallback::BrowseOnly => Access::BrowseOnly,
            },
        },
    }
}

fn known_groups(commerce: &Commerce, groups: &[String]) -> Result<Vec<String>, DomainError> {
    let declared = &commerce.config().user_groups;
    groups
        .iter()
        .map(|group| {
            let code = group.trim().to_ascii_lowercase();
            if declared.iter().any(|g| g.code == code) {
                Ok(code)
            } else {
                Err(DomainError::UnknownUserGroup { code })
            }
        })
        .collect()
}

/// Host names are case-insensitive and a port does not change the site.
fn normalize_host(raw: &str) -> String {
    let host = raw.trim().to_ascii_lowercase();
    match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name.to_owned(),
        _ => host,
    }
}

/// An ISO 3166-1 alpha-2 code (either case) in upper case, or the error naming what was given.
pub fn normalize_country(raw: &str) -> Result<String, DomainError> {
    let code = raw.to_ascii_uppercase();
    if crate::commerce::is_country_code(&code) {
        Ok(code)
    } else {
        Err(DomainError::InvalidCountry { value: raw.to_owned() })
    }
}

/// `EN`, `en`, `pt-br` and `pt_BR` all name the same language codes as configured.
fn normalize_language(raw: &str) -> String {
    let trimmed = raw.trim().replace('_', "-");
    match trimmed.split_once('-') {
        Some((language, region)) => format!("{}-{}", language.to_ascii_lowercase(), region.to_ascii_uppercase()),
        None => trimmed.to_ascii_lowercase(),
    }
}
