//! Delivery: how a cart's units reach the customer. Home delivery splits them into
//! shipments (the multi-shipment system of seed 001), each with the shipping types that
//! can carry it, their price and delivery date; pick-up points are the channel's physical
//! locations near the customer; payment systems are the channel's.
//!
//! A shipment never mixes merchants: units split by merchant first (the commerce's own
//! products are one more seller). With multi-shipment on, each merchant's units split by
//! ready date, shipping class and source (logistic center), and each shipment lists the
//! shipping types that accept its class: the customer picks one per shipment.
//! `as_available` ships each part on its own date; `fewest_shipments` regroups parts with
//! the same source and class into one shipment dated by its latest part. With
//! multi-shipment off there is one shipment per merchant, from one logistic center,
//! carried by a shipping type that accepts every class in it.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::cart::{CartLine, Supply};
use crate::commerce::model::{PaymentSystem, Place, RateBasis, ShipmentPreference, ShippingType};
use crate::commerce::Commerce;
use crate::error::DomainError;
use crate::pricing::from_main;

/// Days a pick-up order takes from the day its last unit is ready to the pick-up point.
pub const PICKUP_TRANSFER_DAYS: u64 = 1;

/// Units of a cart line from one logistic center, ready on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced {
    pub line: String,
    pub sku: String,
    pub quantity: u32,
    pub center: String,
    pub ready_date: NaiveDate,
    /// Whether the units still have to arrive (or be made, or be released).
    pub awaiting_stock: bool,
}

/// The units a cart holds, by line, source and ready date.
pub fn sourced(commerce: &Commerce, lines: &[&CartLine]) -> Vec<Sourced> {
    let mut out: Vec<Sourced> = Vec::new();
    for line in lines {
        for hold in &line.holds {
            let center = commerce.warehouse(&hold.warehouse).map(|w| w.logistic_center.clone()).unwrap_or_default();
            for part in &hold.parts {
                let awaiting = part.supply != Supply::InStock;
                let same = out.iter_mut().find(|s| {
                    s.line == line.id
                        && s.center == center
                        && s.ready_date == part.ready_date
                        && s.awaiting_stock == awaiting
                });
                match same {
                    Some(s) => s.quantity = s.quantity.saturating_add(part.quantity),
                    None => out.push(Sourced {
                        line: line.id.clone(),
                        sku: line.sku.clone(),
                        quantity: part.quantity,
                        center: center.clone(),
                        ready_date: part.ready_date,
                        awaiting_stock: awaiting,
                    }),
                }
            }
        }
    }
    out
}

/// Units of one line in a shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentItem {
    pub line: String,
    pub sku: String,
    pub quantity: u32,
    pub ready_date: NaiveDate,
    pub awaiting_stock: bool,
}

/// One way to carry a shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingOption {
    pub carrier: String,
    pub shipping_type: String,
    /// Before tax, in the cart's currency, free-shipping discounts applied (exact).
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
    pub delivery_date: NaiveDate,
}

impl ShippingOption {
    /// How a customer names it: `{carrier}/{shipping type}`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.carrier, self.shipping_type)
    }
}

/// A shipment the planner proposes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedShipment {
    /// `s1`, `s2`, … in the plan's order.
    pub id: String,
    pub center: String,
    pub shipping_classes: Vec<String>,
    /// When its last unit can leave the center.
    pub ready_date: NaiveDate,
    pub items: Vec<ShipmentItem>,
    /// Cheapest first, then soonest.
    pub options: Vec<ShippingOption>,
}

/// What home delivery is planned with.
pub struct HomeDelivery<'a> {
    pub commerce: &'a Commerce,
    pub destination: &'a Place,
    pub preference: ShipmentPreference,
    pub today: NaiveDate,
    /// The cart's currency, and whether its discounts make shipping free.
    pub currency: &'a str,
    pub free_shipping: bool,
    /// Each line's value per unit in the main currency, before tax, after discounts (for
    /// rates by value).
    pub unit_values: &'a BTreeMap<String, Decimal>,
}

/// The shipping class of a SKU ("" when unknown; validation makes that impossible).
fn class_of<'c>(commerce: &'c Commerce, sku: &str) -> &'c str {
    commerce.product(sku).map_or("", |p| p.shipping_class.as_str())
}

/// How units group into a shipment: merchant, ready date (unless regrouped), center, class rank
/// (unless all classes travel together).
type GroupKey = (Option<String>, Option<NaiveDate>, String, Option<usize>);

/// One shipment of a group's units: an item per line and ready date, its classes in the
/// commerce's order, ready when its last item is. Its id and options come later.
fn shipment_of(
    request: &HomeDelivery<'_>,
    center: String,
    members: &[&Sourced],
    class_rank: &dyn Fn(&str) -> usize,
) -> PlannedShipment {
    let commerce = request.commerce;
    let mut items: Vec<ShipmentItem> = Vec::new();
    for unit in members {
        match items.iter_mut().find(|i| i.line == unit.line && i.ready_date == unit.ready_date) {
            Some(item) => {
                item.quantity = item.quantity.saturating_add(unit.quantity);
                item.awaiting_stock |= unit.awaiting_stock;
            }
            None => items.push(ShipmentItem {
                line: unit.line.clone(),
                sku: unit.sku.clone(),
                quantity: unit.quantity,
                ready_date: unit.ready_date,
                awaiting_stock: unit.awaiting_stock,
            }),
        }
    }
    let mut classes: Vec<String> = items.iter().map(|i| class_of(commerce, &i.sku).to_owned()).collect();
    classes.sort_by_key(|c| class_rank(c));
    classes.dedup();
    let ready_date = items.iter().map(|i| i.ready_date).max().unwrap_or(request.today);
    PlannedShipment { id: String::new(), center, shipping_classes: classes, ready_date, items, options: Vec::new() }
}

/// Splits the units into shipments and prices their options.
pub fn plan_home(request: &HomeDelivery<'_>, units: &[Sourced]) -> Result<Vec<PlannedShipment>, DomainError> {
    let commerce = request.commerce;
    let multi = commerce.config().multi_shipment.enabled;
    let merchant_of = |sku: &str| commerce.product(sku).and_then(|p| p.merchant.clone());
    if !multi {
        one_center_per_merchant(units, &merchant_of)?;
    }
    // Groups keyed by (merchant, ready date or none, center, class or none), in that
    // order: a shipment never mixes merchants, whatever the preference.
    let class_rank = |class: &str| commerce.config().shipping_classes.iter().position(|c| c == class).unwrap_or(0);
    let mut groups: BTreeMap<GroupKey, (usize, Vec<&Sourced>)> = BTreeMap::new();
    for (position, unit) in units.iter().enumerate() {
        let class = class_of(commerce, &unit.sku);
        let merchant = merchant_of(&unit.sku);
        let key = match (multi, request.preference) {
            (false, _) => (merchant, None, unit.center.clone(), None),
            (true, ShipmentPreference::AsAvailable) => {
                (merchant, Some(unit.ready_date), unit.center.clone(), Some(class_rank(class)))
            }
            (true, ShipmentPreference::FewestShipments) => {
                (merchant, None, unit.center.clone(), Some(class_rank(class)))
            }
        };
        groups.entry(key).or_insert((position, Vec::new())).1.push(unit);
    }
    let mut shipments: Vec<(usize, PlannedShipment)> = groups
        .into_iter()
        .map(|((_, _, center, _), (first, members))| (first, shipment_of(request, center, &members, &class_rank)))
        .collect();
    // By ready date, then in the cart's order.
    shipments.sort_by(|(a_first, a), (b_first, b)| a.ready_date.cmp(&b.ready_date).then(a_first.cmp(b_first)));
    let mut shipments: Vec<PlannedShipment> = shipments.into_iter().map(|(_, s)| s).collect();
    for (index, shipment) in shipments.iter_mut().enumerate() {
        shipment.id = format!("s{}", index + 1);
        let lines = || shipment.items.iter().map(|i| format!("line {} ({})", i.line, i.sku)).collect::<Vec<_>>();
        // A center delivers only within its area: units held there cannot go elsewhere,
        // whatever a carrier's shipping types would reach.
        let center_delivers = commerce
            .logistic_center(&shipment.center)
            .is_some_and(|center| commerce.delivers_to(center, request.destination));
        if !center_delivers {
            return Err(DomainError::OutsideCenterArea {
                lines: lines().join(", "),
                center: shipment.center.clone(),
                country: request.destination.country.clone(),
            });
        }
        shipment.options = options(request, shipment)?;
        if shipment.options.is_empty() {
            let lines = lines();
            return Err(DomainError::Undeliverable {
                lines: lines.join(", "),
                country: request.destination.country.clone(),
            });
        }
    }
    Ok(shipments)
}

/// With multi-shipment off: one shipment per merchant (or the commerce itself), each
/// from one center; else the units of the first merchant held in several centers.
fn one_center_per_merchant(units: &[Sourced], merchant_of: &dyn Fn(&str) -> Option<String>) -> Result<(), DomainError> {
    let mut centers: BTreeMap<Option<String>, Vec<&str>> = BTreeMap::new();
    for unit in units {
        let seen = centers.entry(merchant_of(&unit.sku)).or_default();
        if !seen.contains(&unit.center.as_str()) {
            seen.push(&unit.center);
        }
    }
    if let Some((merchant, _)) = centers.iter().find(|(_, seen)| seen.len() > 1) {
        let split: Vec<Sourced> = units.iter().filter(|u| merchant_of(&u.sku) == *merchant).cloned().collect();
        let lines = describe_by_center(&split);
        return Err(DomainError::SingleShipmentImpossible { lines });
    }
    Ok(())
}

/// "line l1 (MOUSE) from lc-iberia; line l2 (…) from lc-france": where each line's units are.
fn describe_by_center(units: &[Sourced]) -> String {
    let mut by_line: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for unit in units {
        let centers = by_line.entry((&unit.line, &unit.sku)).or_default();
        if !centers.contains(&unit.center.as_str()) {
            centers.push(&unit.center);
        }
    }
    let parts: Vec<String> = by_line
        .into_iter()
        .map(|((line, sku), centers)| format!("line {line} ({sku}) from {}", centers.join(" and ")))
        .collect();
    parts.join("; ")
}

/// Whether a shipping type delivers to a place.
fn delivers(commerce: &Commerce, shipping_type: &ShippingType, place: &Place) -> bool {
    shipping_type.areas.iter().filter_map(|a| commerce.area(a)).any(|area| {
        if place.region.is_none() && place.postal_code.is_none() {
            area.touches_country(&place.country)
        } else {
            area.contains(place)
        }
    })
}

/// The shipping types that can carry a shipment, priced: cheapest first, then soonest.
fn options(request: &HomeDelivery<'_>, shipment: &PlannedShipment) -> Result<Vec<ShippingOption>, DomainError> {
    let commerce = request.commerce;
    let grams: u64 = shipment
        .items
        .iter()
        .map(|i| {
            let weight = commerce.product(&i.sku).and_then(|p| p.weight_grams).unwrap_or(0);
            u64::from(weight) * u64::from(i.quantity)
        })
        .sum();
    let value: Decimal = shipment
        .items
        .iter()
        .map(|i| request.unit_values.get(&i.line).copied().unwrap_or_default() * Decimal::from(i.quantity))
        .sum();
    let mut found = Vec::new();
    for carrier in &commerce.config().carriers {
        for shipping_type in &carrier.shipping_types {
            let accepts = shipment.shipping_classes.iter().all(|c| shipping_type.shipping_classes.contains(c));
            if !accepts || !delivers(commerce, shipping_type, request.destination) {
                continue;
            }
            let measure = match shipping_type.rates.basis {
                Some(RateBasis::Weight) => Decimal::from(grams),
                Some(RateBasis::Value) => value,
                None => continue,
            };
            let range = shipping_type.rates.ranges.iter().find(|r| r.up_to.is_none_or(|bound| measure <= bound));
            let Some(price) = range.and_then(|r| r.price) else { continue };
            let price =
                if request.free_shipping { Decimal::ZERO } else { from_main(commerce, price, request.currency)? };
            let leaves = shipment.ready_date.max(request.today);
            let transit = u64::from(shipping_type.transit_days.unwrap_or(0));
            let delivery_date = leaves.checked_add_days(Days::new(transit)).unwrap_or(leaves);
            found.push(ShippingOption {
                carrier: carrier.code.clone(),
                shipping_type: shipping_type.code.clone(),
                price,
                delivery_date,
            });
        }
    }
    found.sort_by(|a, b| a.price.cmp(&b.price).then(a.delivery_date.cmp(&b.delivery_date)));
    Ok(found)
}

/// With multi-shipment off: the logistic center that can serve every line, the first in
/// the channel's priority order. `supply` gives, per (center, SKU), the units the center
/// could give this cart (its own holds there included).
pub fn single_center(
    commerce: &Commerce,
    channel: &str,
    destination: &Place,
    lines: &[(&str, &str, u32)],
    supply: &BTreeMap<(String, String), u32>,
) -> Result<String, DomainError> {
    let centers = centers_in_order(commerce, channel, destination);
    let serves = |center: &str, sku: &str, quantity: u32| {
        supply.get(&(center.to_owned(), sku.to_owned())).is_some_and(|&units| units >= quantity)
    };
    // Lines of the same SKU draw on the same supply.
    let mut demand: BTreeMap<&str, u32> = BTreeMap::new();
    for (_, sku, quantity) in lines {
        let wanted = demand.entry(sku).or_default();
        *wanted = wanted.saturating_add(*quantity);
    }
    if let Some(center) = centers.iter().find(|c| demand.iter().all(|(sku, q)| serves(c, sku, *q))) {
        return Ok(center.clone());
    }
    let described: Vec<String> = lines
        .iter()
        .map(|(line, sku, quantity)| {
            let from: Vec<&str> = centers.iter().filter(|c| serves(c, sku, *quantity)).map(String::as_str).collect();
            let from = if from.is_empty() { "no center".to_owned() } else { from.join(" and ") };
            format!("line {line} ({sku} x{quantity}) only from {from}")
        })
        .collect();
    Err(DomainError::SingleShipmentImpossible { lines: described.join("; ") })
}

/// The logistic centers of a channel's warehouses that deliver to `destination`, in the
/// channel's warehouse priority order.
pub fn centers_in_order(commerce: &Commerce, channel: &str, destination: &Place) -> Vec<String> {
    let mut centers: Vec<String> = Vec::new();
    for (_, center) in crate::inventory::candidate_warehouses(commerce, channel, destination) {
        if !centers.contains(&center) {
            centers.push(center);
        }
    }
    centers
}

/// A pick-up point offered to a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PickupPoint {
    pub code: String,
    pub name: String,
    pub distance_km: f64,
}

/// Great-circle distance in kilometres (haversine, mean Earth radius 6,371 km).
pub fn distance_km(from: (f64, f64), to: (f64, f64)) -> f64 {
    let (lat1, lon1) = (from.0.to_radians(), from.1.to_radians());
    let (lat2, lon2) = (to.0.to_radians(), to.1.to_radians());
    let a = ((lat2 - lat1) / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6_371.0 * a.sqrt().min(1.0).asin()
}

/// The channel's pick-up points within their radius of the customer, nearest first.
pub fn pickup_points(commerce: &Commerce, channel: &str, at: (f64, f64)) -> Vec<PickupPoint> {
    points_near(commerce, channel, at, |l| l.pickup)
}

/// The channel's return points within their radius of the customer, nearest first.
pub fn return_points(commerce: &Commerce, channel: &str, at: (f64, f64)) -> Vec<PickupPoint> {
    points_near(commerce, channel, at, |l| l.returns)
}

fn points_near(
    commerce: &Commerce,
    channel: &str,
    at: (f64, f64),
    serves: impl Fn(&crate::commerce::model::PhysicalLocation) -> bool,
) -> Vec<PickupPoint> {
    let Some(listed) = commerce.channel(channel) else { return Vec::new() };
    let mut points: Vec<PickupPoint> = commerce
        .config()
        .physical_locations
        .iter()
        .filter(|l| serves(l) && listed.physical_locations.contains(&l.code))
        .filter_map(|l| {
            let distance = distance_km(at, (l.latitude?, l.longitude?));
            (distance <= f64::from(l.radius_km)).then(|| PickupPoint {
                code: l.code.clone(),
                name: l.name.clone(),
                distance_km: (distance * 10.0).round() / 10.0,
            })
        })
        .collect();
    points.sort_by(|a, b| a.distance_km.total_cmp(&b.distance_km));
    points
}

/// The payment systems offered in a channel (all of the commerce's when it lists none).
pub fn payment_systems<'c>(commerce: &'c Commerce, channel: &str) -> Vec<&'c PaymentSystem> {
    let listed = commerce.channel(channel).map(|c| c.payment_systems.as_slice()).unwrap_or_default();
    commerce.config().payment_systems.iter().filter(|p| listed.is_empty() || listed.contains(&p.code)).collect()
}
