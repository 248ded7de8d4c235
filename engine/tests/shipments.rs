//! The multi-shipment system on the demo commerce, from the scenario file
//! `data/shipments.toml`: each case stocks warehouses, sources a cart's lines the way a
//! cart does (with multi-shipment off, from the one center that can serve them all) and
//! compares the planned shipments and their shipping types with the expected text.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use mercato_engine::cart::{CartLine, Hold};
use mercato_engine::commerce::model::{Place, ShipmentPreference};
use mercato_engine::delivery::{plan_home, single_center, sourced, HomeDelivery, PlannedShipment};
use mercato_engine::inventory::{
    candidate_warehouses, select_sources, Candidate, InventoryCommand as Cmd, InventoryCtx, InventoryEvent, Timestamp,
    WarehouseStock,
};
use mercato_engine::{Commerce, DomainError, KNOWN_GATEWAYS};
use rust_decimal::Decimal;
use serde::Deserialize;

const DEMO: &str = include_str!("../../config/demo.toml");
const SCENARIOS: &str = include_str!("data/shipments.toml");
const TODAY: &str = "2026-11-21";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default = "yes")]
    multi_shipment: bool,
    #[serde(default)]
    preference: ShipmentPreference,
    destination: Place,
    /// Where the cart was sourced for, when not its destination (a cart filled before its
    /// address, knowing only the country).
    sourced_for: Option<Place>,
    /// A logistic center's area replaced for the case.
    center_area: Option<CenterArea>,
    /// Configuration appended to the demo's (areas of the case's own).
    #[serde(default)]
    extra: String,
    stock: Vec<Stock>,
    cart: Vec<Line>,
    expect: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CenterArea {
    center: String,
    area: String,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stock {
    warehouse: String,
    sku: String,
    receive: Option<u32>,
    batch: Option<String>,
    quantity: Option<u32>,
    date: Option<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    sku: String,
    qty: u32,
}

fn today() -> NaiveDate {
    TODAY.parse().expect("a date")
}

fn commerce(case: &Case) -> Commerce {
    let mut text = DEMO.to_owned();
    if !case.multi_shipment {
        let on = "[multi_shipment]\nenabled = true";
        assert!(text.contains(on), "the demo turns multi-shipment on");
        text = text.replace(on, "[multi_shipment]\nenabled = false");
    }
    if let Some(CenterArea { center, area }) = &case.center_area {
        let at = text.find(&format!("code = \"{center}\"")).expect("a demo center");
        let line = at + text[at..].find("area = \"").expect("its area");
        let end = line + text[line..].find('\n').expect("a line");
        text.replace_range(line..end, &format!("area = \"{area}\""));
    }
    text.push_str(&case.extra);
    Commerce::from_toml(&text, KNOWN_GATEWAYS).expect("the demo is valid")
}

/// Stocks the warehouses, sources and reserves the cart, and plans its home delivery.
fn plan(case: &Case) -> Result<Vec<PlannedShipment>, DomainError> {
    let commerce = commerce(case);
    let ctx = InventoryCtx {
        commerce: &commerce,
        now: Timestamp(0),
        today: today(),
        shared: &mercato_engine::inventory::Alone,
    };
    let mut stocks: BTreeMap<String, WarehouseStock> = BTreeMap::new();
    let run = |stocks: &mut BTreeMap<String, WarehouseStock>, warehouse: &str, command: Cmd| {
        let stock = stocks.entry(warehouse.to_owned()).or_insert_with(|| WarehouseStock::new(warehouse));
        let events = stock.decide(&command, &ctx).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        for event in &events {
            stock.apply(event);
        }
        events
    };
    for s in &case.stock {
        let command = match (s.receive, &s.batch) {
            (Some(quantity), None) => Cmd::ReceiveStock { sku: s.sku.clone(), quantity },
            (None, Some(batch)) => Cmd::AnnounceBatch {
                sku: s.sku.clone(),
                batch: batch.clone(),
                quantity: s.quantity.expect("a batch quantity"),
                expected_date: s.date.expect("a batch date"),
            },
            _ => panic!("{}: a stock row receives or announces a batch", case.name),
        };
        run(&mut stocks, &s.warehouse, command);
    }
    let lines: Vec<(String, String, u32)> =
        case.cart.iter().enumerate().map(|(i, l)| (format!("l{}", i + 1), l.sku.clone(), l.qty)).collect();
    let sourced_for = case.sourced_for.as_ref().unwrap_or(&case.destination);
    let mut candidates = candidate_warehouses(&commerce, "web", sourced_for);
    if !case.multi_shipment {
        // What each center could give, then source only from the one chosen.
        let mut supply: BTreeMap<(String, String), u32> = BTreeMap::new();
        for (warehouse, center) in &candidates {
            for (_, sku, _) in &lines {
                let units = stocks
                    .get(warehouse)
                    .and_then(|s| s.availability_of(sku, &commerce, today()))
                    .and_then(|a| a.total())
                    .unwrap_or(0);
                let entry = supply.entry((center.clone(), sku.clone())).or_default();
                *entry = entry.saturating_add(u32::try_from(units).unwrap_or(u32::MAX));
            }
        }
        let wanted: Vec<(&str, &str, u32)> = lines.iter().map(|(l, s, q)| (l.as_str(), s.as_str(), *q)).collect();
        let center = single_center(&commerce, "web", &case.destination, &wanted, &supply)?;
        candidates.retain(|(_, c)| *c == center);
    }
    let mut cart = Vec::new();
    for (line, sku, quantity) in &lines {
        let found: Vec<Candidate> = candidates
            .iter()
            .map(|(warehouse, center)| Candidate {
                warehouse: warehouse.clone(),
                logistic_center: center.clone(),
                stock: stocks
                    .get(warehouse)
                    .and_then(|s| s.availability_of(sku, &commerce, today()))
                    .map(|a| BTreeMap::from([(sku.clone(), a)]))
                    .unwrap_or_default(),
            })
            .collect();
        let mut holds = Vec::new();
        for row in select_sources(&found, &[(sku.clone(), *quantity)], today())? {
            let command = Cmd::Reserve {
                reservation: format!("{line}/{}", row.warehouse),
                sku: sku.clone(),
                quantity: row.quantity,
                expires_at: Timestamp(1),
            };
            for event in run(&mut stocks, &row.warehouse, command) {
                if let InventoryEvent::StockReserved { reservation } = event {
                    let dates = stocks[&row.warehouse].ready_dates(&reservation, &commerce, today());
                    holds.push(Hold::reserved(&row.warehouse, &reservation, &dates));
                }
            }
        }
        cart.push(CartLine { id: line.clone(), sku: sku.clone(), quantity: *quantity, holds });
    }
    let unit_values: BTreeMap<String, Decimal> = lines
        .iter()
        .map(|(line, sku, _)| {
            (
                line.clone(),
                commerce.product(sku).expect("a demo product").prices.get("EUR").copied().expect("a price in EUR"),
            )
        })
        .collect();
    let request = HomeDelivery {
        commerce: &commerce,
        destination: &case.destination,
        preference: case.preference,
        today: today(),
        currency: "EUR",
        free_shipping: false,
        unit_values: &unit_values,
    };
    let lines: Vec<&CartLine> = cart.iter().collect();
    plan_home(&request, &sourced(&commerce, &lines))
}

fn render(shipments: &[PlannedShipment]) -> String {
    let mut out = String::new();
    for s in shipments {
        let items: Vec<String> = s.items.iter().map(|i| format!("{} {} x{}", i.line, i.sku, i.quantity)).collect();
        let awaiting = if s.items.iter().any(|i| i.awaiting_stock) { " (awaiting stock)" } else { "" };
        out.push_str(&format!(
            "{} {} {} {}{awaiting}: {}\n",
            s.id,
            s.center,
            s.shipping_classes.join(","),
            s.ready_date,
            items.join(", ")
        ));
        for o in &s.options {
            out.push_str(&format!("  {} {:.2} {}\n", o.key(), o.price, o.delivery_date));
        }
    }
    out
}

// Proves every scenario of the file plans the shipments (or the refusal) it expects.
#[test]
fn multi_shipment_scenarios() {
    let file: File = toml::from_str(SCENARIOS).expect("the scenario file parses");
    let mut failures = Vec::new();
    for case in &file.case {
        let got = match plan(case) {
            Ok(shipments) => render(&shipments),
            Err(error) => format!("{}: {error}", error.code()),
        };
        let want = match (&case.expect, &case.error) {
            (Some(expect), None) => expect.clone(),
            (None, Some(error)) => error.clone(),
            _ => panic!("{}: a case gives expect or error", case.name),
        };
        if got.trim() != want.trim() {
            failures.push(format!("--- {}\nwant:\n{}\ngot:\n{}", case.name, want.trim(), got.trim()));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), file.case.len(), failures.join("\n"));
}
