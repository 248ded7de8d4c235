//! What the inventory tests share: the demo commerce, steps and their rendering, and
//! `check`, which runs steps against a warehouse and compares the rendering.

#![allow(dead_code, unused_imports)]

pub use chrono::NaiveDate;
pub use expect_test::{expect, Expect};
pub use mercato_engine::inventory::{
    check_invariants, AdjustmentReason, InventoryCommand as Cmd, InventoryCtx, InventoryEvent, Source, Timestamp,
    WarehouseStock,
};
pub use mercato_engine::{Commerce, KNOWN_GATEWAYS};

pub const DEMO: &str = include_str!("../../../config/demo.toml");

pub fn date(text: &str) -> NaiveDate {
    text.parse().expect("a date")
}

/// A step: the day and time it runs at, and the command.
pub struct Step {
    today: NaiveDate,
    now: Timestamp,
    command: Cmd,
}

pub fn at(today: &str, now: i64, command: Cmd) -> Step {
    Step { today: date(today), now: Timestamp(now), command }
}

pub fn on(today: &str, command: Cmd) -> Step {
    at(today, 0, command)
}

pub fn receive(sku: &str, quantity: u32) -> Cmd {
    Cmd::ReceiveStock { sku: sku.into(), quantity }
}

pub fn announce(sku: &str, batch: &str, quantity: u32, expected: &str) -> Cmd {
    Cmd::AnnounceBatch { sku: sku.into(), batch: batch.into(), quantity, expected_date: date(expected) }
}

pub fn reserve(id: &str, sku: &str, quantity: u32, expires_at: i64) -> Cmd {
    Cmd::Reserve { reservation: id.into(), sku: sku.into(), quantity, expires_at: Timestamp(expires_at) }
}

pub fn render_parts(stock: &WarehouseStock, id: &str) -> String {
    let Some(reservation) = stock.reservation(id) else {
        return String::new();
    };
    let parts: Vec<String> = reservation
        .parts
        .iter()
        .map(|part| {
            let source = match &part.source {
                Source::OnHand => "on_hand".to_owned(),
                Source::Batch(batch) => format!("batch {batch}"),
                Source::LeadTime => "lead_time".to_owned(),
                Source::Preorder => "preorder".to_owned(),
                Source::AtRisk => "nowhere (at risk)".to_owned(),
            };
            format!("{} from {source}", part.quantity)
        })
        .collect();
    format!(" [{}]", parts.join(", "))
}

pub fn render_stock(stock: &WarehouseStock) -> String {
    let mut out = String::new();
    for line in stock.order_lines() {
        let parts: Vec<String> = line.parts.iter().map(|p| format!("{} from {:?}", p.quantity, p.source)).collect();
        out.push_str(&format!("  order line {} ({}): {}\n", line.order_line, line.sku, parts.join(", ")));
    }
    for (sku, r) in stock.records() {
        let batches: Vec<String> = r
            .batches
            .iter()
            .map(|b| {
                format!(
                    "{}:{}@{} r{} p{}",
                    b.id, b.quantity, b.expected_date, b.committed.reserved, b.committed.promised
                )
            })
            .collect();
        out.push_str(&format!(
            "  {sku}: on_hand {} reserved {} allocated {} available {} batches [{}] lead_time r{} p{} preorder r{} p{}\n",
            r.on_hand,
            r.reserved,
            r.allocated,
            r.available(),
            batches.join(" "),
            r.lead_time.reserved,
            r.lead_time.promised,
            r.preorder.reserved,
            r.preorder.promised
        ));
    }
    out
}

/// Runs the steps in `warehouse`, rendering each outcome and the final stock. Checks the
/// invariants after every event and that replaying every event rebuilds the same state.
pub fn check(warehouse: &str, steps: Vec<Step>, expect: Expect) {
    let commerce = Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("demo is valid");
    let mut stock = WarehouseStock::new(warehouse);
    let mut history: Vec<InventoryEvent> = Vec::new();
    let mut out = String::new();
    for step in steps {
        let ctx = InventoryCtx {
            commerce: &commerce,
            now: step.now,
            today: step.today,
            shared: &mercato_engine::inventory::Alone,
        };
        match stock.decide(&step.command, &ctx) {
            Ok(events) => {
                for event in &events {
                    stock.apply(event);
                    let broken = check_invariants(&stock, &commerce);
                    assert!(broken.is_empty(), "after {event:?}: {broken:?}");
                }
                let names: Vec<String> = events.iter().map(event_name).collect();
                let parts = match &step.command {
                    Cmd::Reserve { reservation, .. } | Cmd::ReduceReservation { reservation, .. } => {
                        render_parts(&stock, reservation)
                    }
                    _ => String::new(),
                };
                let names = if names.is_empty() { "no events".to_owned() } else { names.join(", ") };
                out.push_str(&format!("ok: {names}{parts}\n"));
                history.extend(events);
            }
            Err(error) => out.push_str(&format!("error {}: {error}\n", error.code())),
        }
    }
    out.push_str(&render_stock(&stock));
    let mut replayed = WarehouseStock::new(warehouse);
    for event in &history {
        replayed.apply(event);
    }
    assert_eq!(replayed, stock, "replaying the events rebuilds the state");
    expect.assert_eq(&out);
}

pub fn event_name(event: &InventoryEvent) -> String {
    let debug = format!("{event:?}");
    debug.split([' ', '{']).next().unwrap_or_default().to_owned()
}
