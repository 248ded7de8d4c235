//! Rules for warehouses, logistic centers, payment systems, physical locations, carriers
//! and the opening stock.

use rust_decimal::Decimal;

use super::{entity, is_code, Declared, Report};
use crate::commerce::model::{CommerceConfig, RateTable, ShippingType, WarehouseKind, OPENING_STOCK_UNITS_MAX};

/// No carrier quotes transit beyond a year; a larger number is a typo.
const TRANSIT_DAYS_MAX: u32 = 365;
/// Half the Earth's circumference, the farthest two points can be.
const RADIUS_KM_MAX: u32 = 20_038;

pub(super) fn check(c: &CommerceConfig, d: &Declared, known_gateways: &[&str], report: &mut Report) {
    warehouses(c, d, report);
    logistic_centers(c, d, report);
    payment_systems(c, known_gateways, report);
    physical_locations(c, d, report);
    carriers(c, d, report);
    coverage(c, report);
    opening_stock(c, d, report);
}

/// Each entry names a warehouse and a SKU the commerce declares, seeds 1 to
/// `OPENING_STOCK_UNITS_MAX` units, and appears once per warehouse and SKU. The SKU is
/// checked against the file's products only: the opening stock seeds a fresh folder from
/// the file, so a live catalogue that has moved on since does not make it wrong.
fn opening_stock(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    let mut seen = std::collections::HashSet::new();
    for entry in &c.opening_stock {
        let at = format!("opening stock \"{}\" in \"{}\"", entry.sku, entry.warehouse);
        report.refs(&at, "warehouse", [&entry.warehouse], &d.warehouses);
        if d.catalog.is_none() {
            d.product_ref(report, &at, &entry.sku);
        }
        if !(1..=OPENING_STOCK_UNITS_MAX).contains(&entry.quantity) {
            let message = format!("quantity {} must be between 1 and {OPENING_STOCK_UNITS_MAX}", entry.quantity);
            report.push(&at, "invalid_value", message);
        }
        if !seen.insert((entry.warehouse.as_str(), entry.sku.as_str())) {
            report.push(&at, "duplicate", "the warehouse and SKU appear twice in opening_stock".into());
        }
    }
}

fn warehouses(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    for warehouse in &c.warehouses {
        let at = entity("warehouse", &warehouse.code);
        if !is_code(&warehouse.code) {
            let message = format!("code \"{}\" must be 1 to 64 of a-z, 0-9, '-', '_'", warehouse.code);
            report.push(&at, "invalid_format", message);
        }
        report.refs(&at, "logistic center", [&warehouse.logistic_center], &d.logistic_centers);
        if let Some(area) = &warehouse.area {
            report.refs(&at, "area", [area], &d.areas);
        }
        if let Some(merchant) = &warehouse.merchant {
            report.refs(&at, "merchant", [merchant], &d.merchants);
        }
        if let Some(address) = &warehouse.address {
            report.refs(&at, "country", [&address.country], &d.countries);
        }
        let kind = report.required(&at, "kind", &warehouse.kind);
        if kind == Some(&WarehouseKind::Physical) && warehouse.address.is_none() {
            report.push(&at, "missing", "a physical warehouse needs an address".into());
        }
    }
}

fn logistic_centers(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    for center in &c.logistic_centers {
        let at = entity("logistic center", &center.code);
        if !is_code(&center.code) {
            report.push(
                &at,
                "invalid_format",
                format!("code \"{}\" must be 1 to 64 of a-z, 0-9, '-', '_'", center.code),
            );
        }
        report.refs(&at, "country", [&center.address.country], &d.countries);
        report.refs(&at, "area", [&center.area], &d.areas);
        if !c.warehouses.iter().any(|w| w.logistic_center == center.code) {
            report.push(&at, "unused", "it groups no warehouse".into());
        }
    }
}

fn payment_systems(c: &CommerceConfig, known_gateways: &[&str], report: &mut Report) {
    for system in &c.payment_systems {
        let at = entity("payment system", &system.code);
        if !is_code(&system.code) {
            report.push(
                &at,
                "invalid_format",
                format!("code \"{}\" must be 1 to 64 of a-z, 0-9, '-', '_'", system.code),
            );
        }
        match (&system.gateway, &system.offline) {
            (Some(gateway), None) => {
                if !known_gateways.contains(&gateway.as_str()) {
                    let known = known_gateways.join(", ");
                    report.push(
                        &at,
                        "undefined_reference",
                        format!("gateway \"{gateway}\" is not provided (known: {known})"),
                    );
                }
            }
            (None, Some(_)) => {}
            _ => report.push(&at, "conflict", "exactly one of gateway (online) and offline is required".into()),
        }
    }
}

fn physical_locations(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    for location in &c.physical_locations {
        let at = entity("physical location", &location.code);
        if !is_code(&location.code) {
            let message = format!("code \"{}\" must be 1 to 64 of a-z, 0-9, '-', '_'", location.code);
            report.push(&at, "invalid_format", message);
        }
        for (field, value, limit) in [("latitude", &location.latitude, 90.0), ("longitude", &location.longitude, 180.0)]
        {
            if let Some(&degrees) = report.required(&at, field, value) {
                if !(degrees.is_finite() && (-limit..=limit).contains(&degrees)) {
                    let message = format!("{field} {degrees} must be between -{limit} and {limit}");
                    report.push(&at, "invalid_value", message);
                }
            }
        }
        if location.radius_km == 0 || location.radius_km > RADIUS_KM_MAX {
            let message = format!("radius_km {} must be between 1 and {RADIUS_KM_MAX}", location.radius_km);
            report.push(&at, "invalid_value", message);
        }
        if let Some(area) = &location.area {
            report.refs(&at, "area", [area], &d.areas);
        }
        if let Some(address) = &location.address {
            report.refs(&at, "country", [&address.country], &d.countries);
        }
    }
}

fn carriers(c: &CommerceConfig, d: &Declared, report: &mut Report) {
    for carrier in &c.carriers {
        let at = entity("carrier", &carrier.code);
        if !is_code(&carrier.code) {
            report.push(
                &at,
                "invalid_format",
                format!("code \"{}\" must be 1 to 64 of a-z, 0-9, '-', '_'", carrier.code),
            );
        }
        if carrier.shipping_types.is_empty() {
            report.push(&at, "missing", "at least one shipping type is required".into());
        }
        let codes: Vec<String> = carrier.shipping_types.iter().map(|t| t.code.clone()).collect();
        report.no_repeats(&at, "shipping type", &codes);
        for shipping_type in &carrier.shipping_types {
            let at = format!("carrier \"{}\" shipping type \"{}\"", carrier.code, shipping_type.code);
            shipping_type_rules(shipping_type, d, &at, report);
        }
        for (carrier_status, status) in &carrier.status_map {
            if carrier_status.is_empty() {
                report.push(&at, "invalid_value", "status_map has an empty carrier status".into());
            }
            if status.carrier_rank() == 0 {
                let message = format!(
                    "status_map maps \"{carrier_status}\" to \"{}\": a carrier reports only sent, delivered or returned",
                    status.as_str()
                );
                report.push(&at, "invalid_value", message);
            }
        }
    }
}

fn shipping_type_rules(shipping_type: &ShippingType, d: &Declared, at: &str, report: &mut Report) {
    if !is_code(&shipping_type.code) {
        let message = format!("code \"{}\" must be 1 to 64 of a-z, 0-9, '-', '_'", shipping_type.code);
        report.push(at, "invalid_format", message);
    }
    if shipping_type.areas.is_empty() {
        report.push(at, "missing", "at least one delivery area is required".into());
    }
    report.refs(at, "area", &shipping_type.areas, &d.areas);
    if shipping_type.shipping_classes.is_empty() {
        report.push(at, "missing", "at least one accepted shipping class is required".into());
    }
    report.refs(at, "shipping class", &shipping_type.shipping_classes, &d.shipping_classes);
    if let Some(&days) = report.required(at, "transit_days", &shipping_type.transit_days) {
        if days > TRANSIT_DAYS_MAX {
            report.push(at, "invalid_value", format!("transit_days {days} exceeds {TRANSIT_DAYS_MAX}"));
        }
    }
    rate_table(&shipping_type.rates, at, report);
}

fn rate_table(rates: &RateTable, at: &str, report: &mut Report) {
    report.required(at, "rates basis", &rates.basis);
    if rates.ranges.is_empty() {
        report.push(at, "missing", "at least one rate range is required".into());
    }
    let mut previous: Option<Decimal> = None;
    let last = rates.ranges.len().saturating_sub(1);
    for (index, range) in rates.ranges.iter().enumerate() {
        let number = index + 1;
        if let Some(price) = report.required(at, &format!("rate range {number} price"), &range.price) {
            if *price < Decimal::ZERO {
                report.push(at, "invalid_value", format!("rate range {number} price {price} is negative"));
            }
        }
        match range.up_to {
            None if index != last => {
                report.push(at, "invalid_value", format!("rate range {number} has no up_to but is not the last"));
            }
            Some(bound) if bound <= Decimal::ZERO || previous.is_some_and(|p| bound <= p) => {
                let message =
                    format!("rate range {number} up_to {bound} must be positive and above the previous range's");
                report.push(at, "invalid_value", message);
            }
            _ => {}
        }
        previous = range.up_to.or(previous);
    }
}

/// Every country the commerce sells to must be reachable: some logistic center delivers
/// there and some shipping type carries there. Otherwise orders could be taken that no
/// shipment can fulfil.
fn coverage(c: &CommerceConfig, report: &mut Report) {
    let area = |code: &String| c.areas.iter().find(|a| &a.code == code);
    for country in c.countries.iter().filter(|x| x.sales_area) {
        let at = entity("country", &country.code);
        let center_delivers =
            c.logistic_centers.iter().filter_map(|center| area(&center.area)).any(|a| a.touches_country(&country.code));
        if !c.logistic_centers.is_empty() && !center_delivers {
            report.push(&at, "undeliverable", "no logistic center's area delivers to this sales country".into());
        }
        let carried = c
            .carriers
            .iter()
            .flat_map(|carrier| &carrier.shipping_types)
            .flat_map(|shipping_type| shipping_type.areas.iter().filter_map(area))
            .any(|a| a.touches_country(&country.code));
        if !c.carriers.is_empty() && !carried {
            report.push(&at, "undeliverable", "no carrier's shipping type delivers to this sales country".into());
        }
    }
}
