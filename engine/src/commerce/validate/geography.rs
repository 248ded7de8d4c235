//! Rules for languages, currencies, countries, domains, areas and out-of-area behaviour.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::{entity, Declared, Report};
use crate::commerce::model::{CommerceConfig, OutOfAreaBehaviour};

/// The largest minor unit ISO 4217 uses (4, for the Chilean UF).
const MINOR_UNITS_MAX: u32 = 4;

pub(super) fn check(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    languages_and_currencies(c, report);
    countries(c, d, report);
    domains(c, d, report);
    areas(c, d, report);
    out_of_area(c, d, report);
}

pub(crate) fn is_language_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    match bytes.len() {
        2 => bytes.iter().all(u8::is_ascii_lowercase),
        5 => {
            bytes[..2].iter().all(u8::is_ascii_lowercase)
                && bytes[2] == b'-'
                && bytes[3..].iter().all(u8::is_ascii_uppercase)
        }
        _ => false,
    }
}

pub(crate) fn is_country_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

pub(crate) fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

fn languages_and_currencies(c: &CommerceConfig, report: &mut Report) {
    for language in &c.languages {
        if !is_language_code(&language.code) {
            let at = entity("language", &language.code);
            report.push(
                &at,
                "invalid_format",
                format!("code \"{}\" must be ISO 639-1 like \"en\" or \"pt-BR\"", language.code),
            );
        }
    }
    for currency in &c.currencies {
        let at = entity("currency", &currency.code);
        if !is_currency_code(&currency.code) {
            report.push(
                &at,
                "invalid_format",
                format!("code \"{}\" must be three uppercase letters (ISO 4217)", currency.code),
            );
        }
        if let Some(&minor_units) = report.required(&at, "minor_units", &currency.minor_units) {
            if minor_units > MINOR_UNITS_MAX {
                report.push(&at, "invalid_value", format!("minor_units {minor_units} exceeds {MINOR_UNITS_MAX}"));
            }
        }
        let is_main = currency.code == c.main_currency;
        match currency.rate {
            Some(rate) if is_main && rate != Decimal::ONE => {
                report.push(&at, "invalid_value", format!("the main currency's rate must be 1, not {rate}"));
            }
            Some(rate) if rate <= Decimal::ZERO => {
                report.push(&at, "invalid_value", format!("rate {rate} must be positive"));
            }
            None if !is_main => {
                report.push(&at, "missing", "rate to the main currency is required".into());
            }
            _ => {}
        }
    }
}

fn countries(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    for country in &c.countries {
        let at = entity("country", &country.code);
        if !is_country_code(&country.code) {
            report.push(
                &at,
                "invalid_format",
                format!("code \"{}\" must be two uppercase letters (ISO 3166-1)", country.code),
            );
        }
        report.refs(&at, "language", &country.languages, &d.languages);
        report.no_repeats(&at, "language", &country.languages);
        if let Some(default) = &country.default_language {
            if !d.languages.contains(default.as_str()) {
                report.push(&at, "undefined_reference", format!("default_language \"{default}\" is not defined"));
            } else if !country.languages.is_empty() && !country.languages.contains(default) {
                report.push(&at, "conflict", format!("default_language \"{default}\" is not among its languages"));
            }
        }
        if let Some(currency) = &country.default_currency {
            report.refs(&at, "currency", [currency], &d.currencies);
        }
        if !country.sellable_countries.is_empty() {
            let linked = c.domains.iter().any(|domain| domain.country.as_ref() == Some(&country.code));
            if !linked {
                let message = "sellable_countries applies only to a country a domain is linked to".into();
                report.push(&at, "unused", message);
            } else if !country.sellable_countries.contains(&country.code) {
                let message = format!("sellable_countries must include \"{}\" itself", country.code);
                report.push(&at, "conflict", message);
            }
        }
        for sellable in &country.sellable_countries {
            if !d.sales_countries.contains(sellable.as_str()) {
                report.push(
                    &at,
                    "undefined_reference",
                    format!("sellable country \"{sellable}\" is not in the sales areas"),
                );
            }
        }
    }
}

fn domains(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    let mut by_language: HashMap<&str, &str> = HashMap::new();
    let mut by_country: HashMap<&str, &str> = HashMap::new();
    for domain in &c.domains {
        let at = entity("domain", &domain.host);
        let host_ok = !domain.host.is_empty()
            && domain.host.len() <= 253
            && domain.host.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !host_ok {
            let message = format!("host \"{}\" must be a lowercase host name without port", domain.host);
            report.push(&at, "invalid_format", message);
        }
        if let Some(language) = &domain.language {
            report.refs(&at, "language", [language], &d.languages);
            if let Some(other) = by_language.insert(language, &domain.host) {
                let message = format!("language \"{language}\" is already linked to domain \"{other}\"");
                report.push(&at, "conflict", message);
            }
        }
        if let Some(country) = &domain.country {
            report.refs(&at, "country", [country], &d.countries);
            if let Some(other) = by_country.insert(country, &domain.host) {
                let message = format!("country \"{country}\" is already linked to domain \"{other}\"");
                report.push(&at, "conflict", message);
            }
            // The linked country's language list applies on this domain: its own language
            // must be among them, or resolution could never use it.
            let linked = c.countries.iter().find(|x| &x.code == country);
            if let (Some(language), Some(linked)) = (&domain.language, linked) {
                if !linked.languages.is_empty() && !linked.languages.contains(language) {
                    let message =
                        format!("language \"{language}\" is not among the languages of country \"{country}\"");
                    report.push(&at, "conflict", message);
                }
            }
        }
    }
}

fn areas(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    for area in &c.areas {
        let at = entity("area", &area.code);
        if area.members.is_empty() {
            report.push(&at, "missing", "at least one member country is required".into());
        }
        for member in &area.members {
            report.refs(&at, "country", [&member.country], &d.countries);
            if member.regions.iter().chain(&member.postal_prefixes).any(String::is_empty) {
                report.push(
                    &at,
                    "invalid_value",
                    format!("member \"{}\" lists an empty region or postal prefix", member.country),
                );
            }
        }
    }
}

fn out_of_area(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    let policy = &c.out_of_area;
    if policy.behaviour != OutOfAreaBehaviour::Redirect {
        if !policy.versions.is_empty() || policy.otherwise.is_some() {
            let message = "versions and otherwise apply only to behaviour \"redirect\"";
            report.push("out_of_area", "conflict", message.into());
        }
        return;
    }
    if policy.versions.is_empty() {
        report.push("out_of_area", "missing", "redirect needs at least one commerce version".into());
    }
    let mut seen = HashMap::new();
    for version in &policy.versions {
        let at = format!("out_of_area version \"{}\"", version.commerce);
        if version.commerce.is_empty() || version.commerce == c.code {
            report.push(&at, "invalid_value", "commerce must name another commerce version".into());
        }
        if !(version.url.starts_with("https://") || version.url.starts_with("http://")) {
            report.push(&at, "invalid_format", format!("url \"{}\" must be an http(s) URL", version.url));
        }
        if version.countries.is_empty() {
            report.push(&at, "missing", "at least one country is required".into());
        }
        for country in &version.countries {
            if !is_country_code(country) {
                report.push(&at, "invalid_format", format!("country \"{country}\" must be two uppercase letters"));
            } else if d.sales_countries.contains(country.as_str()) {
                report.push(&at, "conflict", format!("country \"{country}\" is in this commerce's sales areas"));
            }
            if let Some(other) = seen.insert(country.as_str(), version.commerce.as_str()) {
                report.push(&at, "conflict", format!("country \"{country}\" already redirects to \"{other}\""));
            }
        }
    }
}
