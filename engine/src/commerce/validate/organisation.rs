//! Rules for channels, invoicing companies, users, merchants and API keys.

use std::collections::{BTreeSet, HashMap, HashSet};

use rust_decimal::Decimal;

use super::{entity, is_code, Declared, Report};
use crate::commerce::area::qualified_members;
use crate::commerce::merchants::BLOCK_REASON_CHARS_MAX;
use crate::commerce::model::{
    ApiRole, Channel, ChannelCriteria, CommerceConfig, InvoicingCompany, Merchant, MerchantStatus,
    MERCHANT_INVITATION_HOURS_MAX, PAYOUT_HOLD_DAYS_MAX,
};

/// The shortest bearer key accepted: 8 characters keeps a typo or a placeholder from being
/// a working key.
const API_KEY_LEN_MIN: usize = 8;

pub(super) fn check(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    channels(c, d, report);
    invoicing_companies(c, d, report);
    users_and_merchants(c, d, report);
    marketplace_settings(c, report);
    api_keys(c, d, report);
}

fn channels(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    let defaults: Vec<&str> = c.channels.iter().filter(|ch| ch.default).map(|ch| ch.code.as_str()).collect();
    if !c.channels.is_empty() && defaults.len() != 1 {
        let found = if defaults.is_empty() { "none".to_owned() } else { defaults.join(", ") };
        report.push("commerce", "conflict", format!("exactly one channel must be the default (found: {found})"));
    }
    let mut criteria_seen: HashMap<String, &str> = HashMap::new();
    for channel in &c.channels {
        let at = entity("channel", &channel.code);
        if !is_code(&channel.code) {
            report.push(
                &at,
                "invalid_format",
                format!("code \"{}\" must be 1 to 64 of a-z, 0-9, '-', '_'", channel.code),
            );
        }
        channel_criteria(channel, d, &at, report);
        // A channel without criteria is either the default or already reported above.
        if channel.criteria.specificity() > 0 {
            let key = criteria_key(&channel.criteria);
            if let Some(other) = criteria_seen.insert(key, &channel.code) {
                report.push(&at, "conflict", format!("its criteria are the same as channel \"{other}\"'s"));
            }
        }
        channel_members(channel, c, d, &at, report);
    }
    // A company must be able to invoice in at least one channel: listed there and not
    // disqualified by the channel's area.
    let qualified: Vec<_> = c.channels.iter().map(|ch| qualified_members(c, ch)).collect();
    for company in &c.invoicing_companies {
        if !qualified.iter().any(|q| q.invoicing_companies.contains(&company.code)) {
            let message = "it must be associated with at least one channel whose area it is compatible with";
            report.push(&entity("invoicing company", &company.code), "unused", message.into());
        }
    }
}

fn channel_criteria(channel: &Channel, d: &Declared, at: &str, report: &mut Report) {
    let criteria = &channel.criteria;
    if !channel.default && criteria.specificity() == 0 {
        report.push(at, "missing", "a channel that is not the default needs at least one criterion".into());
    }
    report.refs(at, "domain", &criteria.domains, &d.domains);
    report.refs(at, "country", &criteria.countries, &d.countries);
    report.refs(at, "user group", &criteria.user_groups, &d.user_groups);
    report.no_repeats(at, "domain", &criteria.domains);
    report.no_repeats(at, "country", &criteria.countries);
    report.no_repeats(at, "user group", &criteria.user_groups);
    let devices: Vec<String> = criteria.devices.iter().map(|x| x.as_str().to_owned()).collect();
    report.no_repeats(at, "device", &devices);
}

/// A canonical form of a channel's criteria: two channels with the same one can never be
/// told apart.
fn criteria_key(criteria: &ChannelCriteria) -> String {
    let sorted =
        |values: Vec<&str>| values.into_iter().collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(",");
    format!(
        "d[{}] h[{}] c[{}] g[{}]",
        sorted(criteria.devices.iter().map(|x| x.as_str()).collect()),
        sorted(criteria.domains.iter().map(String::as_str).collect()),
        sorted(criteria.countries.iter().map(String::as_str).collect()),
        sorted(criteria.user_groups.iter().map(String::as_str).collect()),
    )
}

fn channel_members(channel: &Channel, c: &CommerceConfig, d: &Declared, at: &str, report: &mut Report) {
    if let Some(area) = &channel.area {
        report.refs(at, "area", [area], &d.areas);
    }
    if channel.warehouses.is_empty() {
        report.push(at, "missing", "at least one warehouse is required".into());
    }
    report.refs(at, "warehouse", &channel.warehouses, &d.warehouses);
    report.no_repeats(at, "warehouse", &channel.warehouses);
    if channel.invoicing_companies.is_empty() {
        report.push(at, "missing", "at least one invoicing company is required".into());
    }
    report.refs(at, "invoicing company", &channel.invoicing_companies, &d.invoicing_companies);
    report.no_repeats(at, "invoicing company", &channel.invoicing_companies);
    report.refs(at, "physical location", &channel.physical_locations, &d.physical_locations);
    report.no_repeats(at, "physical location", &channel.physical_locations);
    report.refs(at, "payment system", &channel.payment_systems, &d.payment_systems);
    report.no_repeats(at, "payment system", &channel.payment_systems);

    let qualified = qualified_members(c, channel);
    if !channel.warehouses.is_empty() && qualified.warehouses.is_empty() {
        let message = "none of its warehouses fits the channel's area (by its own area and its logistic center's)";
        report.push(at, "disqualified", message.into());
    }
    if !channel.invoicing_companies.is_empty() && qualified.invoicing_companies.is_empty() {
        let message = "none of its invoicing companies has an area compatible with the channel's";
        report.push(at, "disqualified", message.into());
    }
}

fn invoicing_companies(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    let mut prefixes: HashMap<&str, &str> = HashMap::new();
    for company in &c.invoicing_companies {
        let at = entity("invoicing company", &company.code);
        if company.legal_name.is_empty() || company.tax_id.is_empty() {
            report.push(&at, "missing", "legal_name and tax_id are required".into());
        }
        report.refs(&at, "country", [&company.address.country], &d.countries);
        if company.accounting_currencies.is_empty() {
            report.push(&at, "missing", "at least one accounting currency is required".into());
        }
        report.refs(&at, "currency", &company.accounting_currencies, &d.currencies);
        report.no_repeats(&at, "accounting currency", &company.accounting_currencies);
        if let Some(national) = &company.national_currency {
            report.refs(&at, "currency", [national], &d.currencies);
        }
        if let Some(area) = &company.area {
            report.refs(&at, "area", [area], &d.areas);
        }
        taxes(company, d, &at, report);
        let series = &company.invoice_series;
        for prefix in [&series.prefix, &series.corrective_prefix] {
            let well_formed = (1..=10).contains(&prefix.len())
                && prefix.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if !well_formed {
                report.push(&at, "invalid_format", format!("series prefix \"{prefix}\" must be 1 to 10 of A-Z, 0-9"));
            } else if let Some(other) = prefixes.insert(prefix, &company.code) {
                report.push(&at, "conflict", format!("series prefix \"{prefix}\" is already used by \"{other}\""));
            }
        }
    }
}

fn taxes(company: &InvoicingCompany, d: &Declared, at: &str, report: &mut Report) {
    if company.taxes.is_empty() {
        report.push(at, "missing", "at least one tax is required".into());
    }
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    for tax in &company.taxes {
        report.refs(at, "tax class", [&tax.tax_class], &d.tax_classes);
        report.refs(at, "country", &tax.countries, &d.countries);
        if let Some(rate) = report.required(at, &format!("tax \"{}\" rate", tax.name), &tax.rate) {
            if *rate < Decimal::ZERO || *rate > Decimal::ONE_HUNDRED {
                let message = format!("tax \"{}\" rate {rate} must be between 0 and 100", tax.name);
                report.push(at, "invalid_value", message);
            }
        }
        let scopes: Vec<&str> =
            if tax.countries.is_empty() { vec!["*"] } else { tax.countries.iter().map(String::as_str).collect() };
        for scope in scopes {
            if !seen.insert((tax.tax_class.as_str(), scope)) {
                let place = if scope == "*" { "by default".to_owned() } else { format!("for \"{scope}\"") };
                report.push(at, "duplicate", format!("tax class \"{}\" has two rates {place}", tax.tax_class));
            }
        }
    }
    let mut classes: Vec<&&str> = d.tax_classes.iter().collect();
    classes.sort();
    for class in classes {
        if !seen.contains(&(*class, "*")) {
            let message = format!("tax class \"{class}\" needs a default rate (one without countries)");
            report.push(at, "missing", message);
        }
    }
}

fn users_and_merchants(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    for group in &c.user_groups {
        if !is_code(&group.code) {
            let message = format!("code \"{}\" must be 1 to 64 of a-z, 0-9, '-', '_'", group.code);
            report.push(&entity("user group", &group.code), "invalid_format", message);
        }
    }
    let mut ids = HashSet::new();
    for user in &c.users {
        let at = entity("user", &user.id);
        if user.id.is_empty() {
            report.push("user", "missing", "a user has an empty id".into());
        } else if !ids.insert(user.id.as_str()) {
            report.push(&at, "duplicate", format!("user \"{}\" is defined twice", user.id));
        }
        if !user.email.contains('@') {
            report.push(&at, "invalid_format", format!("email \"{}\" is not an address", user.email));
        }
        report.required(&at, "role", &user.role);
        report.refs(&at, "user group", &user.groups, &d.user_groups);
    }
    for merchant in &c.merchants {
        let at = entity("merchant", &merchant.code);
        if !is_code(&merchant.code) {
            let message = format!("code \"{}\" must be 1 to 64 of a-z, 0-9, '-', '_'", merchant.code);
            report.push(&at, "invalid_format", message);
        }
        let status = report.required(&at, "status", &merchant.status).copied();
        if let Some(commission) = report.required(&at, "commission_percent", &merchant.commission_percent) {
            if *commission < Decimal::ZERO || *commission > Decimal::ONE_HUNDRED {
                let message = format!("commission_percent {commission} must be between 0 and 100");
                report.push(&at, "invalid_value", message);
            }
        }
        merchant_lifecycle(merchant, status, d, &at, report);
    }
}

/// A merchant's contact, legal data and block reason; the fields the node keeps (its
/// invitation and history) are never given by a file.
fn merchant_lifecycle(
    merchant: &Merchant,
    status: Option<MerchantStatus>,
    d: &Declared,
    at: &str,
    report: &mut Report,
) {
    let email = &merchant.email;
    if (!email.is_empty() || status == Some(MerchantStatus::Invited)) && !is_email(email) {
        report.push(at, "invalid_format", format!("email \"{email}\" is not an address"));
    }
    if merchant.name.chars().count() > TEXT_CHARS_MAX {
        report.push(at, "invalid_value", format!("name must be at most {TEXT_CHARS_MAX} characters"));
    }
    if let Some(legal) = &merchant.legal {
        let fields = [
            ("legal_name", &legal.legal_name, TEXT_CHARS_MAX),
            ("tax_id", &legal.tax_id, 64),
            ("address", &legal.address, 500),
        ];
        for (field, value, most) in fields {
            let count = value.trim().chars().count();
            if count == 0 || count > most {
                report.push(at, "invalid_value", format!("legal.{field} \"{value}\" must be 1 to {most} characters"));
            }
        }
        if !super::geography::is_country_code(&legal.country) {
            let message = format!("legal.country \"{}\" is not an ISO 3166-1 alpha-2 code", legal.country);
            report.push(at, "invalid_format", message);
        }
    }
    if let Some(reason) = &merchant.block_reason {
        if reason.trim().is_empty() || reason.chars().count() > BLOCK_REASON_CHARS_MAX {
            let message = format!("block_reason must be 1 to {BLOCK_REASON_CHARS_MAX} characters");
            report.push(at, "invalid_value", message);
        }
        if status != Some(MerchantStatus::Blocked) {
            report.push(at, "conflict", "a block_reason is only for a blocked merchant".into());
        }
    }
    let kept = merchant.invitation_sha256.is_some() || merchant.invitation_expires_at.is_some();
    if d.catalog.is_none() && (kept || !merchant.history.is_empty()) {
        let message = "invitation_sha256, invitation_expires_at and history are kept by the node, not given";
        report.push(at, "unknown_field", message.into());
    }
}

/// The terms merchants accept and how long an invitation lasts.
fn marketplace_settings(c: &CommerceConfig, report: &mut Report) {
    if let Some(version) = &c.merchant_terms_version {
        let count = version.chars().count();
        if count == 0 || count > 64 || version.chars().any(char::is_control) {
            let message = format!("merchant_terms_version \"{version}\" must be 1 to 64 characters, none a control");
            report.push("commerce", "invalid_value", message);
        }
    }
    let rating = &c.merchant_rating;
    if rating.window_days.is_some_and(|days| !(1..=365).contains(&days)) {
        let message = format!("merchant_rating.window_days {} must be between 1 and 365", rating.window());
        report.push("commerce", "invalid_value", message);
    }
    let weights = [
        ("late_weight", rating.late_weight),
        ("cancel_weight", rating.cancel_weight),
        ("return_weight", rating.return_weight),
    ];
    for (field, weight) in weights {
        if let Some(weight) = weight.filter(|w| *w < Decimal::ZERO || *w > Decimal::ONE_HUNDRED) {
            report.push(
                "commerce",
                "invalid_value",
                format!("merchant_rating.{field} {weight} must be between 0 and 100"),
            );
        }
    }
    if let Some(hours) = c.merchant_invitation_hours {
        if !(1..=MERCHANT_INVITATION_HOURS_MAX).contains(&hours) {
            let message =
                format!("merchant_invitation_hours {hours} must be between 1 and {MERCHANT_INVITATION_HOURS_MAX}");
            report.push("commerce", "invalid_value", message);
        }
    }
    if let Some(days) = c.payout_hold_days.filter(|d| *d > PAYOUT_HOLD_DAYS_MAX) {
        let message = format!("payout_hold_days {days} must be between 0 and {PAYOUT_HOLD_DAYS_MAX}");
        report.push("commerce", "invalid_value", message);
    }
}

/// The longest name a merchant or its legal data may have, in characters.
const TEXT_CHARS_MAX: usize = 200;

/// `local@domain`, as the API's document states it: one '@', no whitespace, a '.' inside
/// the domain.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else { return false };
    let dotted = domain.char_indices().any(|(at, c)| c == '.' && at > 0 && at + 1 < domain.len());
    !local.is_empty() && dotted && !domain.contains('@') && !text.chars().any(char::is_whitespace)
}

fn api_keys(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    let mut secrets = HashSet::new();
    let mut names = HashSet::new();
    for key in &c.api_keys {
        let at = entity("api key", &key.name);
        if key.name.trim().is_empty() {
            report.push("api key", "missing", "an api key has an empty name".into());
        } else if !names.insert(key.name.as_str()) {
            report.push(&at, "duplicate", format!("api key name \"{}\" is used twice", key.name));
        }
        match (&key.key, &key.key_sha256) {
            (Some(plain), None) => {
                if plain.len() < API_KEY_LEN_MIN || plain.chars().any(char::is_whitespace) {
                    let message = format!("key must be at least {API_KEY_LEN_MIN} characters without spaces");
                    report.push(&at, "invalid_value", message);
                }
                if !secrets.insert(plain.as_str()) {
                    report.push(&at, "duplicate", "the same key is configured twice".into());
                }
            }
            (None, Some(hash)) => {
                if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                    report.push(&at, "invalid_format", "key_sha256 must be 64 lowercase hex digits".into());
                }
                if !secrets.insert(hash.as_str()) {
                    report.push(&at, "duplicate", "the same key is configured twice".into());
                }
            }
            _ => report.push(&at, "conflict", "exactly one of key and key_sha256 is required".into()),
        }
        match (report.required(&at, "role", &key.role), &key.merchant) {
            (Some(ApiRole::Merchant), Some(merchant)) => report.refs(&at, "merchant", [merchant], &d.merchants),
            (Some(ApiRole::Merchant), None) => {
                report.push(&at, "missing", "a merchant key must name its merchant".into());
            }
            (Some(role), Some(_)) => {
                report.push(&at, "conflict", format!("a {} key cannot name a merchant", role.as_str()));
            }
            _ => {}
        }
    }
}
