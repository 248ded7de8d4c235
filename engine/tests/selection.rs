//! Source selection and availability on the demo commerce. The web channel lists wh-madrid,
//! wh-dropship (both in lc-iberia, which delivers to ES, PT and FR) and wh-lyon (lc-france,
//! FR only), in that priority order. Each case sets up stock, asks for a cart, and compares
//! the chosen (warehouse, SKU, units, ready date) rows.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use mercato_engine::commerce::model::Place;
use mercato_engine::inventory::{
    candidate_warehouses, select_sources, Across, Availability, Candidate, DatedSupply, InventoryCommand as Cmd,
    InventoryCtx, Source, Timestamp, WarehouseStock,
};
use mercato_engine::{Commerce, KNOWN_GATEWAYS};

const DEMO: &str = include_str!("../../config/demo.toml");
const TODAY: &str = "2026-11-21";

fn date(text: &str) -> NaiveDate {
    text.parse().expect("a date")
}

fn demo() -> Commerce {
    Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("the demo is valid")
}

fn place(country: &str) -> Place {
    Place { country: country.into(), region: None, postal_code: None }
}

/// Warehouses of the demo with stock set up by commands.
struct World {
    commerce: Commerce,
    stock: BTreeMap<String, WarehouseStock>,
}

impl World {
    fn new() -> Self {
        let commerce = demo();
        let stock = ["wh-madrid", "wh-dropship", "wh-lyon"]
            .into_iter()
            .map(|code| (code.to_owned(), WarehouseStock::new(code)))
            .collect();
        Self { commerce, stock }
    }

    fn run(&mut self, warehouse: &str, command: Cmd) -> &mut Self {
        let ctx = InventoryCtx {
            commerce: &self.commerce,
            now: Timestamp(0),
            today: date(TODAY),
            shared: &mercato_engine::inventory::Alone,
        };
        let stock = self.stock.get_mut(warehouse).expect("a demo warehouse");
        for event in stock.decide(&command, &ctx).expect("the setup command is accepted") {
            stock.apply(&event);
        }
        self
    }

    fn receive(&mut self, warehouse: &str, sku: &str, quantity: u32) -> &mut Self {
        self.run(warehouse, Cmd::ReceiveStock { sku: sku.into(), quantity })
    }

    fn announce(&mut self, warehouse: &str, sku: &str, batch: &str, quantity: u32, expected: &str) -> &mut Self {
        self.run(
            warehouse,
            Cmd::AnnounceBatch { sku: sku.into(), batch: batch.into(), quantity, expected_date: date(expected) },
        )
    }

    fn candidates(&self, channel: &str, country: &str, skus: &[&str]) -> Vec<Candidate> {
        candidate_warehouses(&self.commerce, channel, &place(country))
            .into_iter()
            .map(|(warehouse, logistic_center)| {
                let stock = &self.stock[&warehouse];
                let availability = skus
                    .iter()
                    .filter_map(|sku| {
                        stock.availability_of(sku, &self.commerce, date(TODAY)).map(|a| ((*sku).to_owned(), a))
                    })
                    .collect();
                Candidate { warehouse, logistic_center, stock: availability }
            })
            .collect()
    }

    /// The chosen rows as `warehouse sku units ready`, or the error's code and message.
    fn select(&self, channel: &str, country: &str, lines: &[(&str, u32)]) -> Vec<String> {
        let skus: Vec<&str> = lines.iter().map(|(sku, _)| *sku).collect();
        let lines: Vec<(String, u32)> = lines.iter().map(|(sku, q)| ((*sku).to_owned(), *q)).collect();
        match select_sources(&self.candidates(channel, country, &skus), &lines, date(TODAY)) {
            Ok(rows) => {
                rows.iter().map(|r| format!("{} {} {} {}", r.warehouse, r.sku, r.quantity, r.ready_date)).collect()
            }
            Err(error) => vec![format!("{}: {error}", error.code())],
        }
    }
}

#[test]
fn candidates_follow_channel_priority_and_center_reach() {
    let world = World::new();
    let codes = |channel: &str, country: &str| -> Vec<String> {
        candidate_warehouses(&world.commerce, channel, &place(country)).into_iter().map(|(w, _)| w).collect()
    };
    assert_eq!(codes("web", "FR"), ["wh-madrid", "wh-dropship", "wh-lyon"]);
    // lc-france delivers to France only.
    assert_eq!(codes("web", "ES"), ["wh-madrid", "wh-dropship"]);
    assert_eq!(codes("mobile", "FR"), ["wh-madrid", "wh-lyon", "wh-dropship"]);
    // The wholesale channel works in Iberia; wh-lyon's area is France, so it never qualifies.
    assert_eq!(codes("wholesale", "ES"), ["wh-madrid"]);
    // A country the commerce does not sell to (a browse_only visitor's, before any address)
    // is served from every warehouse of the channel; an address there never gets this far.
    assert_eq!(codes("web", "US"), ["wh-madrid", "wh-dropship", "wh-lyon"]);
    assert!(codes("no-such-channel", "ES").is_empty());
}

#[test]
fn two_lines_come_from_one_center_rather_than_two_even_over_priority() {
    let mut world = World::new();
    world.receive("wh-madrid", "KEYBOARD", 5).receive("wh-lyon", "KEYBOARD", 5).receive("wh-lyon", "SPEAKER", 5);
    assert_eq!(
        world.select("web", "FR", &[("KEYBOARD", 1), ("SPEAKER", 1)]),
        ["wh-lyon KEYBOARD 1 2026-11-21", "wh-lyon SPEAKER 1 2026-11-21"]
    );
    // With both SKUs in the higher-priority center too, priority decides.
    world.receive("wh-dropship", "SPEAKER", 5);
    assert_eq!(
        world.select("web", "FR", &[("KEYBOARD", 1), ("SPEAKER", 1)]),
        ["wh-madrid KEYBOARD 1 2026-11-21", "wh-dropship SPEAKER 1 2026-11-21"]
    );
}

#[test]
fn a_line_splits_across_two_warehouses_holding_one_each() {
    let mut world = World::new();
    world.receive("wh-madrid", "KEYBOARD", 1).receive("wh-dropship", "KEYBOARD", 1);
    assert_eq!(
        world.select("web", "ES", &[("KEYBOARD", 2)]),
        ["wh-madrid KEYBOARD 1 2026-11-21", "wh-dropship KEYBOARD 1 2026-11-21"]
    );
    // Across centers too, when no single center has both.
    let mut world = World::new();
    world.receive("wh-madrid", "KEYBOARD", 1).receive("wh-lyon", "KEYBOARD", 1);
    assert_eq!(
        world.select("web", "FR", &[("KEYBOARD", 2)]),
        ["wh-madrid KEYBOARD 1 2026-11-21", "wh-lyon KEYBOARD 1 2026-11-21"]
    );
}

#[test]
fn one_sku_on_two_lines_is_counted_once_as_total_demand() {
    let mut world = World::new();
    world.receive("wh-madrid", "KEYBOARD", 1).receive("wh-lyon", "KEYBOARD", 2);
    // Two lines of 1 need 2 units: wh-madrid alone cannot, wh-lyon's center can.
    assert_eq!(world.select("web", "FR", &[("KEYBOARD", 1), ("KEYBOARD", 1)]), ["wh-lyon KEYBOARD 2 2026-11-21"]);
    assert_eq!(
        world.select("web", "ES", &[("KEYBOARD", 1), ("KEYBOARD", 1)]),
        ["insufficient_stock: insufficient stock of \"KEYBOARD\": 2 requested, 1 available"]
    );
}

#[test]
fn stock_in_a_warehouse_outside_the_channel_area_is_never_used() {
    let mut world = World::new();
    world.receive("wh-lyon", "KEYBOARD", 10);
    assert_eq!(
        world.select("wholesale", "ES", &[("KEYBOARD", 1)]),
        ["insufficient_stock: insufficient stock of \"KEYBOARD\": 1 requested, 0 available"]
    );
    // Nor stock whose center cannot deliver to the destination.
    assert_eq!(
        world.select("web", "ES", &[("KEYBOARD", 1)]),
        ["insufficient_stock: insufficient stock of \"KEYBOARD\": 1 requested, 0 available"]
    );
    world.receive("wh-madrid", "KEYBOARD", 1);
    assert_eq!(world.select("wholesale", "ES", &[("KEYBOARD", 1)]), ["wh-madrid KEYBOARD 1 2026-11-21"]);
}

#[test]
fn beyond_on_hand_the_earliest_batch_wins_then_priority() {
    let mut world = World::new();
    world
        .receive("wh-madrid", "HEADPHONES", 1)
        .announce("wh-madrid", "HEADPHONES", "b-late", 10, "2026-12-20")
        .announce("wh-lyon", "HEADPHONES", "b-early", 2, "2026-12-01");
    assert_eq!(
        world.select("web", "FR", &[("HEADPHONES", 4)]),
        ["wh-madrid HEADPHONES 2 2026-12-20", "wh-lyon HEADPHONES 2 2026-12-01"]
    );
    // Lead time is unlimited without a cap; the ready date is today plus its days.
    assert_eq!(world.select("web", "ES", &[("SOFA-3", 3)]), ["wh-madrid SOFA-3 3 2026-12-12"]);
    // A preorder sells up to its cap and is ready on release.
    assert_eq!(world.select("web", "ES", &[("BOOK-SIGNED", 50)]), ["wh-madrid BOOK-SIGNED 50 2027-01-20"]);
    assert_eq!(
        world.select("web", "ES", &[("BOOK-SIGNED", 101)]),
        ["insufficient_stock: insufficient stock of \"BOOK-SIGNED\": 101 requested, 100 available"]
    );
}

#[test]
fn selection_refuses_a_zero_line() {
    let world = World::new();
    assert_eq!(
        world.select("web", "ES", &[("KEYBOARD", 0)]),
        ["invalid_quantity: quantity 0 is not valid: it must be at least 1"]
    );
}

#[test]
fn availability_by_date_and_earliest_date_for_a_quantity() {
    let mut world = World::new();
    world.receive("wh-madrid", "HEADPHONES", 3).announce("wh-madrid", "HEADPHONES", "b1", 5, "2026-12-01").announce(
        "wh-lyon",
        "HEADPHONES",
        "b2",
        4,
        "2026-11-25",
    );
    let today = date(TODAY);
    let madrid = world.stock["wh-madrid"].availability_of("HEADPHONES", &world.commerce, today).expect("sold");
    assert_eq!(madrid.now, 3);
    assert_eq!(madrid.by(date("2026-11-30")), Some(3));
    assert_eq!(madrid.by(date("2026-12-01")), Some(8));
    assert_eq!(madrid.earliest_date(3, today), Some(today));
    assert_eq!(madrid.earliest_date(4, today), Some(date("2026-12-01")));
    assert_eq!(madrid.earliest_date(9, today), None);
    let lyon = world.stock["wh-lyon"].availability_of("HEADPHONES", &world.commerce, today).expect("sold");
    let across = Across::new([(&madrid, false), (&lyon, false)], today);
    assert_eq!(across.earliest_date(7), Some(date("2026-11-25")));
    assert_eq!(across.earliest_date(8), Some(date("2026-12-01")));
    assert_eq!(across.earliest_date(13), None);
    // Uncapped lead time: any quantity, on today plus its days.
    let sofa = world.stock["wh-madrid"].availability_of("SOFA-3", &world.commerce, today).expect("sold");
    assert_eq!(sofa.total(), None);
    assert_eq!(sofa.earliest_date(1_000_000, today), Some(date("2026-12-12")));
    // A SKU the commerce does not sell has no availability.
    assert!(world.stock["wh-madrid"].availability_of("NOPE", &world.commerce, today).is_none());
}

// Proves the remainder of a cap the warehouses share is counted once across them: each
// warehouse reports the same units of the one budget, and summing them promised a
// product in two warehouses twice what it could sell. A cap of a warehouse's own (an
// override) still adds up.
#[test]
fn a_shared_cap_is_counted_once_across_warehouses() {
    let today = date(TODAY);
    let release = date("2027-03-15");
    let warehouse = |now: u32, left: u32| Availability {
        policy: mercato_engine::commerce::model::StockPolicy::Preorder { release_date: release, cap: 30 },
        now,
        later: vec![DatedSupply { source: Source::Preorder, date: release, quantity: Some(left) }],
    };
    let (madrid, lyon) = (warehouse(2, 30), warehouse(3, 30));
    let shared = Across::new([(&madrid, true), (&lyon, true)], today);
    assert_eq!(shared.now(), 5);
    assert_eq!(shared.by(release), Some(35));
    assert_eq!(shared.earliest_date(35), Some(release));
    assert_eq!(shared.earliest_date(36), None);
    assert_eq!(shared.dates(), vec![today, release]);
    let own = Across::new([(&madrid, true), (&lyon, false)], today);
    assert_eq!(own.by(release), Some(65));
    // Asked one after the other, the warehouses may see the budget at two moments: the
    // smaller remainder is the one that still holds.
    let later = warehouse(3, 28);
    assert_eq!(Across::new([(&madrid, true), (&later, true)], today).by(release), Some(33));
    assert_eq!(Across::new([(&later, true), (&madrid, true)], today).by(release), Some(33));
}
