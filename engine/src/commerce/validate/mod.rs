//! Whole-document validation of a `CommerceConfig`. Every rule runs; every violation is
//! collected, each naming the entity and the rule, so one `mercato check` shows them all.

mod catalog;
mod geography;
pub(crate) use geography::is_country_code;
mod operations;
mod organisation;
mod pricing;

use std::collections::HashSet;

use super::model::{CommerceConfig, CART_LIFETIME_SECONDS_MAX, CART_LIFETIME_SECONDS_MIN};

pub use crate::error::Violation;

/// Collects violations while the rules run.
#[derive(Default)]
pub(crate) struct Report {
    pub(crate) violations: Vec<Violation>,
}

impl Report {
    pub(crate) fn push(&mut self, entity: &str, rule: &'static str, message: String) {
        self.violations.push(Violation { entity: entity.to_owned(), rule, message });
    }

    /// Returns the value of a required field, recording `missing` when it is absent.
    pub(crate) fn required<'v, T>(&mut self, entity: &str, field: &str, value: &'v Option<T>) -> Option<&'v T> {
        if value.is_none() {
            self.push(entity, "missing", format!("{field} is required"));
        }
        value.as_ref()
    }

    /// Records one `undefined_reference` per name of `refs` that `declared` lacks, or
    /// `missing` for an empty name.
    pub(crate) fn refs<'a>(
        &mut self,
        entity: &str,
        kind: &str,
        refs: impl IntoIterator<Item = &'a String>,
        declared: &HashSet<&str>,
    ) {
        for name in refs {
            if name.is_empty() {
                self.push(entity, "missing", format!("{kind} is required"));
            } else if !declared.contains(name.as_str()) {
                self.push(entity, "undefined_reference", format!("{kind} \"{name}\" is not defined"));
            }
        }
    }

    /// Records a `duplicate` for each name listed more than once in one list.
    pub(crate) fn no_repeats<'a>(&mut self, entity: &str, kind: &str, names: impl IntoIterator<Item = &'a String>) {
        let mut seen = HashSet::new();
        for name in names {
            if !seen.insert(name.as_str()) {
                self.push(entity, "duplicate", format!("{kind} \"{name}\" is listed twice"));
            }
        }
    }
}

/// The codes each kind of entity declares, for reference checks.
pub(crate) struct Declared<'a> {
    pub(crate) languages: HashSet<&'a str>,
    pub(crate) currencies: HashSet<&'a str>,
    pub(crate) countries: HashSet<&'a str>,
    pub(crate) sales_countries: HashSet<&'a str>,
    pub(crate) areas: HashSet<&'a str>,
    pub(crate) domains: HashSet<&'a str>,
    pub(crate) invoicing_companies: HashSet<&'a str>,
    pub(crate) warehouses: HashSet<&'a str>,
    pub(crate) logistic_centers: HashSet<&'a str>,
    pub(crate) payment_systems: HashSet<&'a str>,
    pub(crate) physical_locations: HashSet<&'a str>,
    pub(crate) user_groups: HashSet<&'a str>,
    pub(crate) merchants: HashSet<&'a str>,
    pub(crate) products: HashSet<&'a str>,
    pub(crate) tax_classes: HashSet<&'a str>,
    pub(crate) shipping_classes: HashSet<&'a str>,
    pub(crate) families: HashSet<&'a str>,
    /// A live commerce's catalogue, which the document's `products` no longer hold.
    pub(crate) catalog: Option<&'a dyn Fn(&str) -> bool>,
}

/// Collects the codes of one kind, reporting empty and repeated ones.
fn declare<'a>(report: &mut Report, kind: &str, codes: impl IntoIterator<Item = &'a str>) -> HashSet<&'a str> {
    let mut declared = HashSet::new();
    for code in codes {
        if code.is_empty() {
            report.push(kind, "missing", format!("a {kind} has an empty code"));
        } else if !declared.insert(code) {
            report.push(&format!("{kind} \"{code}\""), "duplicate", format!("{kind} \"{code}\" is defined twice"));
        }
    }
    declared
}

impl<'a> Declared<'a> {
    fn collect(config: &'a CommerceConfig, report: &mut Report) -> Self {
        let c = config;
        let strs = |v: &'a [String]| v.iter().map(String::as_str);
        // Nothing refers to channels; declaring them still reports duplicates.
        declare(report, "channel", c.channels.iter().map(|x| x.code.as_str()));
        Declared {
            languages: declare(report, "language", c.languages.iter().map(|x| x.code.as_str())),
            currencies: declare(report, "currency", c.currencies.iter().map(|x| x.code.as_str())),
            countries: declare(report, "country", c.countries.iter().map(|x| x.code.as_str())),
            sales_countries: c.countries.iter().filter(|x| x.sales_area).map(|x| x.code.as_str()).collect(),
            areas: declare(report, "area", c.areas.iter().map(|x| x.code.as_str())),
            domains: declare(report, "domain", c.domains.iter().map(|x| x.host.as_str())),
            invoicing_companies: declare(
                report,
                "invoicing company",
                c.invoicing_companies.iter().map(|x| x.code.as_str()),
            ),
            warehouses: declare(report, "warehouse", c.warehouses.iter().map(|x| x.code.as_str())),
            logistic_centers: declare(report, "logistic center", c.logistic_centers.iter().map(|x| x.code.as_str())),
            payment_systems: declare(report, "payment system", c.payment_systems.iter().map(|x| x.code.as_str())),
            physical_locations: declare(
                report,
                "physical location",
                c.physical_locations.iter().map(|x| x.code.as_str()),
            ),
            user_groups: declare(report, "user group", c.user_groups.iter().map(|x| x.code.as_str())),
            merchants: declare(report, "merchant", c.merchants.iter().map(|x| x.code.as_str())),
            products: declare(report, "product", c.products.iter().map(|x| x.sku.as_str())),
            tax_classes: declare(report, "tax class", strs(&c.tax_classes)),
            shipping_classes: declare(report, "shipping class", strs(&c.shipping_classes)),
            families: declare(report, "family", strs(&c.families)),
            catalog: None,
        }
    }

    /// Whether `sku` is a product of the commerce: of its catalogue when live, else of the
    /// document.
    pub(crate) fn has_product(&self, sku: &str) -> bool {
        match self.catalog {
            Some(known) => known(sku),
            None => self.products.contains(sku),
        }
    }

    /// Records `missing` for an empty SKU, `undefined_reference` for one that is no product.
    pub(crate) fn product_ref(&self, report: &mut Report, at: &str, sku: &str) {
        if sku.is_empty() {
            report.push(at, "missing", "product is required".into());
        } else if !self.has_product(sku) {
            report.push(at, "undefined_reference", format!("product \"{sku}\" is not defined"));
        }
    }
}

/// The rules one product keeps against a commerce's settings, collected once for any
/// number of products (an import's rows).
pub struct ProductRules<'a> {
    config: &'a CommerceConfig,
    declared: Declared<'a>,
}

impl<'a> ProductRules<'a> {
    /// The rules of `config`'s settings (its own `products` are not looked at).
    pub fn new(config: &'a CommerceConfig) -> Self {
        let mut scratch = Report::default();
        let declared = Declared::collect(config, &mut scratch);
        Self { config, declared }
    }

    /// Every rule `product` breaks; `known` tells which SKUs are the commerce's products
    /// (its related products must be).
    pub fn check(&self, product: &super::model::Product, known: &dyn Fn(&str) -> bool) -> Vec<Violation> {
        let mut report = Report::default();
        catalog::check_product(self.config, &self.declared, product, known, &mut report);
        report.violations
    }
}

/// Runs every rule over the document. `known_gateways` are the online payment gateway
/// plugins this build provides.
pub fn validate(config: &CommerceConfig, known_gateways: &[&str]) -> Vec<Violation> {
    run(config, known_gateways, None)
}

/// Runs every rule over a live commerce's settings and data, whose products are its
/// catalogue's (`has_product`), not the document's.
pub(crate) fn validate_live(
    config: &CommerceConfig,
    known_gateways: &[&str],
    has_product: &dyn Fn(&str) -> bool,
) -> Vec<Violation> {
    run(config, known_gateways, Some(has_product))
}

fn run<'a>(
    config: &'a CommerceConfig,
    known_gateways: &[&str],
    catalog: Option<&'a dyn Fn(&str) -> bool>,
) -> Vec<Violation> {
    let mut report = Report::default();
    required_kinds(config, catalog.is_none(), &mut report);
    let mut declared = Declared::collect(config, &mut report);
    declared.catalog = catalog;
    commerce_fields(config, &declared, &mut report);
    geography::check(config, &declared, &mut report);
    organisation::check(config, &declared, &mut report);
    operations::check(config, &declared, known_gateways, &mut report);
    catalog::check(config, &declared, &mut report);
    pricing::check(config, &declared, &mut report);
    report.violations
}

/// The seed's minimum: at least one of each entity kind, a super-administrator and a
/// product.
/// A live commerce's products are its catalogue's (`with_products` false).
fn required_kinds(c: &CommerceConfig, with_products: bool, report: &mut Report) {
    let kinds: [(&str, bool); 12] = [
        ("language", c.languages.is_empty()),
        ("currency", c.currencies.is_empty()),
        ("country", c.countries.is_empty()),
        ("domain", c.domains.is_empty()),
        ("channel", c.channels.is_empty()),
        ("invoicing company", c.invoicing_companies.is_empty()),
        ("warehouse", c.warehouses.is_empty()),
        ("logistic center", c.logistic_centers.is_empty()),
        ("payment system", c.payment_systems.is_empty()),
        ("carrier", c.carriers.is_empty()),
        ("product", with_products && c.products.is_empty()),
        ("tax class", c.tax_classes.is_empty()),
    ];
    for (kind, missing) in kinds {
        if missing {
            report.push("commerce", "missing", format!("at least one {kind} is required"));
        }
    }
    if !c.countries.is_empty() && !c.countries.iter().any(|country| country.sales_area) {
        report.push("commerce", "missing", "at least one country must be in the sales areas".into());
    }
    let super_admins = c.users.iter().filter(|u| u.role == Some(super::model::UserRole::SuperAdmin));
    if super_admins.count() == 0 {
        report.push("commerce", "missing", "at least one super-administrator user is required".into());
    }
    if c.shipping_classes.is_empty() {
        report.push("commerce", "missing", "at least one shipping class is required".into());
    }
}

fn commerce_fields(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    if c.code.is_empty() {
        report.push("commerce", "missing", "code is required".into());
    } else if !is_code(&c.code) {
        report.push("commerce", "invalid_format", format!("code \"{}\" must be 1 to 64 of a-z, 0-9, '-', '_'", c.code));
    }
    if c.name.is_empty() {
        report.push("commerce", "missing", "name is required".into());
    }
    if c.default_language.is_empty() {
        report.push("commerce", "missing", "default_language is required".into());
    } else if !d.languages.contains(c.default_language.as_str()) {
        report.push(
            "commerce",
            "undefined_reference",
            format!("default_language \"{}\" is not defined", c.default_language),
        );
    }
    if c.main_currency.is_empty() {
        report.push("commerce", "missing", "main_currency is required".into());
    } else if !d.currencies.contains(c.main_currency.as_str()) {
        report.push("commerce", "undefined_reference", format!("main_currency \"{}\" is not defined", c.main_currency));
    }
    if let Some(country) = &c.default_country {
        if !d.countries.contains(country.as_str()) {
            report.push("commerce", "undefined_reference", format!("default_country \"{country}\" is not defined"));
        }
    }
    if let Some(seconds) = c.cart_lifetime_seconds {
        if !(CART_LIFETIME_SECONDS_MIN..=CART_LIFETIME_SECONDS_MAX).contains(&seconds) {
            let message = format!(
                "cart_lifetime_seconds {seconds} must be between {CART_LIFETIME_SECONDS_MIN} and \
                 {CART_LIFETIME_SECONDS_MAX}"
            );
            report.push("commerce", "invalid_value", message);
        }
    }
}

/// A code the API can carry in a path: 1 to 64 of `a-z`, `0-9`, `-`, `_` (and `.` or
/// uppercase for SKUs, see `is_sku`).
pub(crate) fn is_code(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

pub(crate) fn is_sku(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

pub(crate) fn entity(kind: &str, code: &str) -> String {
    format!("{kind} \"{code}\"")
}
