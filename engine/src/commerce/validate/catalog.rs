//! Rules for products and their classes.

use rust_decimal::Decimal;

use super::{entity, is_sku, Declared, Report};
use crate::commerce::model::{CommerceConfig, Product, StockPolicy, StockPolicyConfig};

/// Ten years: a lead time or longer is a typo, not a supplier.
const LEAD_TIME_DAYS_MAX: u32 = 3_650;

/// Most attributes one product has.
pub const PRODUCT_ATTRIBUTES_MAX: usize = 100;
/// Most media references one product has.
pub const PRODUCT_MEDIA_MAX: usize = 50;
const DESCRIPTION_CHARS_MAX: usize = 20_000;
const TEXT_CHARS_MAX: usize = 1_000;
const NAME_CHARS_MAX: usize = 500;
const URL_CHARS_MAX: usize = 2_048;

pub(super) fn check(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    for product in &c.products {
        check_product(c, d, product, &|sku| d.has_product(sku), report);
    }
}

/// Every rule one product must keep against the commerce's settings; `known` tells which
/// SKUs are products of the commerce (its related products must be).
/// SKUs a product's path could not name: the translations report's segment, and the
/// dot segments an HTTP client resolves away.
const RESERVED_SKUS: [&str; 3] = ["translations", ".", ".."];

pub(super) fn check_product(
    c: &CommerceConfig,
    d: &Declared,
    product: &Product,
    known: &dyn Fn(&str) -> bool,
    report: &mut Report,
) {
    {
        let at = entity("product", &product.sku);
        if !is_sku(&product.sku) {
            let message = format!("sku \"{}\" must be 1 to 64 of A-Z, a-z, 0-9, '-', '_', '.'", product.sku);
            report.push(&at, "invalid_format", message);
        } else if RESERVED_SKUS.contains(&product.sku.as_str()) {
            let message = format!(
                "sku \"{}\" is a path of its own (`…/products/{}`): no product can take it",
                product.sku, product.sku
            );
            report.push(&at, "reserved", message);
        }
        names(c, product, &at, report);
        if product.weight.is_some() {
            report.push(&at, "invalid_value", "weight was not converted to weight_grams".into());
        }
        report.required(&at, "weight_grams", &product.weight_grams);
        report.refs(&at, "tax class", [&product.tax_class], &d.tax_classes);
        report.refs(&at, "shipping class", [&product.shipping_class], &d.shipping_classes);
        shippable(c, product, &at, report);
        if let Some(family) = &product.family {
            report.refs(&at, "family", [family], &d.families);
        }
        if let Some(merchant) = &product.merchant {
            report.refs(&at, "merchant", [merchant], &d.merchants);
        }
        prices(c, product, d, &at, report);
        if let Some(policy) = &product.stock_policy {
            stock_policy(policy, &at, "stock_policy", report);
        }
        for (warehouse, policy) in &product.stock_policy_overrides {
            report.refs(&at, "warehouse", [warehouse], &d.warehouses);
            stock_policy(policy, &at, &format!("stock policy override for \"{warehouse}\""), report);
        }
        quantity(product, &at, report);
        for related in product.related.iter().filter(|sku| **sku != product.sku) {
            if !known(related) {
                report.push(&at, "undefined_reference", format!("related product \"{related}\" is not defined"));
            }
        }
        report.no_repeats(&at, "related product", &product.related);
        if product.related.contains(&product.sku) {
            report.push(&at, "conflict", "a product cannot be related to itself".into());
        }
        texts(d, product, &at, report);
        media(d, product, &at, report);
    }
}

fn too_long(text: &str, max: usize) -> bool {
    text.chars().count() > max
}

/// Descriptions in the commerce's languages, attributes by code, none blank or too long.
fn texts(d: &Declared, product: &Product, at: &str, report: &mut Report) {
    for (language, text) in &product.descriptions {
        if !d.languages.contains(language.as_str()) {
            report.push(at, "undefined_reference", format!("description language \"{language}\" is not defined"));
        }
        if text.trim().is_empty() || too_long(text, DESCRIPTION_CHARS_MAX) {
            let message = format!("description in \"{language}\" must be 1 to {DESCRIPTION_CHARS_MAX} characters");
            report.push(at, "invalid_value", message);
        }
    }
    if product.attributes.len() > PRODUCT_ATTRIBUTES_MAX {
        let message = format!("{} attributes: at most {PRODUCT_ATTRIBUTES_MAX}", product.attributes.len());
        report.push(at, "invalid_value", message);
    }
    for (code, value) in &product.attributes {
        let valid = !code.is_empty()
            && code.len() <= 64
            && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid {
            let message = format!("attribute \"{code}\" must be 1 to 64 of a-z, 0-9, '_', '-'");
            report.push(at, "invalid_format", message);
        }
        if value.trim().is_empty() || too_long(value, TEXT_CHARS_MAX) {
            let message = format!("attribute \"{code}\": value must be 1 to {TEXT_CHARS_MAX} characters");
            report.push(at, "invalid_value", message);
        }
    }
}

/// Media references: a web address and a kind each, alternative texts in the commerce's
/// languages.
fn media(d: &Declared, product: &Product, at: &str, report: &mut Report) {
    if product.media.len() > PRODUCT_MEDIA_MAX {
        report.push(at, "invalid_value", format!("{} media: at most {PRODUCT_MEDIA_MAX}", product.media.len()));
    }
    for (position, media) in product.media.iter().enumerate() {
        let web = media.url.starts_with("https://") || media.url.starts_with("http://");
        if !web
            || media.url.len() <= "https://".len()
            || too_long(&media.url, URL_CHARS_MAX)
            || media.url.contains(char::is_whitespace)
        {
            let message = format!(
                "media {position}: url \"{}\" must be an http(s) address of at most {URL_CHARS_MAX} characters",
                media.url
            );
            report.push(at, "invalid_value", message);
        }
        if media.kind.is_none() {
            report.push(at, "missing", format!("media {position}: kind is required"));
        }
        for (language, text) in &media.alt {
            if !d.languages.contains(language.as_str()) {
                let message = format!("media {position}: alt text language \"{language}\" is not defined");
                report.push(at, "undefined_reference", message);
            }
            if text.trim().is_empty() || too_long(text, TEXT_CHARS_MAX) {
                let message =
                    format!("media {position}: alt text in \"{language}\" must be 1 to {TEXT_CHARS_MAX} characters");
                report.push(at, "invalid_value", message);
            }
        }
    }
}

/// A product no carrier's shipping type accepts could be sold but never delivered.
fn shippable(c: &CommerceConfig, product: &Product, at: &str, report: &mut Report) {
    if product.shipping_class.is_empty() || c.carriers.is_empty() {
        return;
    }
    let accepted = c
        .carriers
        .iter()
        .flat_map(|carrier| &carrier.shipping_types)
        .any(|shipping_type| shipping_type.shipping_classes.contains(&product.shipping_class));
    if !accepted {
        let message = format!("no carrier's shipping type accepts shipping class \"{}\"", product.shipping_class);
        report.push(at, "undeliverable", message);
    }
}

/// A product has a name in the commerce's default language (every other language falls
/// back to it), and none of its names is blank or in a language the commerce lacks. A
/// language without a name is no violation: `GET …/products/translations` reports it.
fn names(c: &CommerceConfig, product: &Product, at: &str, report: &mut Report) {
    if !c.default_language.is_empty() && !product.names.contains_key(&c.default_language) {
        let message = format!("name in the default language \"{}\" is required", c.default_language);
        report.push(at, "missing", message);
    }
    for (language, name) in &product.names {
        if !c.languages.iter().any(|l| &l.code == language) {
            report.push(at, "undefined_reference", format!("language \"{language}\" is not defined"));
        } else if name.trim().is_empty() {
            report.push(at, "missing", format!("name in language \"{language}\" is blank"));
        }
        if too_long(name, NAME_CHARS_MAX) {
            let message = format!("name in language \"{language}\" is longer than {NAME_CHARS_MAX} characters");
            report.push(at, "invalid_value", message);
        }
        if name.chars().any(char::is_control) {
            let message = format!("name in language \"{language}\" holds a control character (a line break, a tab)");
            report.push(at, "invalid_value", message);
        }
    }
}

/// The first price too large: 10^18 (an amount has at most 18 digits before the point).
const PRICE_BOUND: u64 = 1_000_000_000_000_000_000;

fn prices(c: &CommerceConfig, product: &Product, d: &Declared, at: &str, report: &mut Report) {
    if !c.main_currency.is_empty() && !product.prices.contains_key(&c.main_currency) {
        report.push(at, "missing", format!("a price in the main currency \"{}\" is required", c.main_currency));
    }
    for (currency, price) in &product.prices {
        report.refs(at, "currency", [currency], &d.currencies);
        if *price < Decimal::ZERO {
            report.push(at, "invalid_value", format!("price {price} {currency} is negative"));
        } else if *price >= Decimal::from(PRICE_BOUND) {
            // What the API's amounts take: 18 digits before the point.
            report.push(
                at,
                "invalid_value",
                format!("price {price} {currency} has more than 18 digits before the point"),
            );
        }
    }
}

fn stock_policy(config: &StockPolicyConfig, at: &str, what: &str, report: &mut Report) {
    match config.policy() {
        Err(reason) => report.push(at, "invalid_value", format!("{what}: {reason}")),
        Ok(StockPolicy::BackorderLeadTime { days, cap }) => {
            if days == 0 || days > LEAD_TIME_DAYS_MAX {
                let message = format!("{what}: lead time {days} days must be between 1 and {LEAD_TIME_DAYS_MAX}");
                report.push(at, "invalid_value", message);
            }
            if cap == Some(0) {
                report.push(at, "invalid_value", format!("{what}: cap 0 would sell nothing; omit it for no cap"));
            }
        }
        Ok(StockPolicy::Preorder { cap: 0, .. }) => {
            report.push(at, "invalid_value", format!("{what}: preorder cap 0 would sell nothing"));
        }
        Ok(_) => {}
    }
}

fn quantity(product: &Product, at: &str, report: &mut Report) {
    let rules = product.quantity;
    if rules.min == 0 || rules.multiple_of == 0 {
        report.push(at, "invalid_value", "quantity min and multiple_of must be at least 1".into());
        return;
    }
    if !rules.min.is_multiple_of(rules.multiple_of) {
        report.push(at, "conflict", format!("quantity min {} is not a multiple of {}", rules.min, rules.multiple_of));
    }
    if let Some(max) = rules.max {
        if max < rules.min {
            report.push(at, "conflict", format!("quantity max {max} is below min {}", rules.min));
        } else if !max.is_multiple_of(rules.multiple_of) {
            report.push(at, "conflict", format!("quantity max {max} is not a multiple of {}", rules.multiple_of));
        }
    }
}
