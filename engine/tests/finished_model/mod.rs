//! The model's check that a finished order takes no more changes.

use mercato_engine::inventory::Timestamp;
use mercato_engine::order::{OrderCommand, OrderCtx};
use mercato_engine::{Commerce, KNOWN_GATEWAYS};

use super::{World, DEMO};

/// From the moment `finished_at` gives (with the commerce's window, and with a window of
/// 0 days), every command the model can send changes nothing or is refused.
pub fn check_finished(world: &World<'_>) {
    let (order, commerce, document, now) = (&world.order, world.commerce, DEMO, Timestamp(world.now));
    let stock = world.key_stock();
    let next_number = &|series: &str| world.series.get(series).copied().unwrap_or(0) + 1;
    static NO_WINDOW: std::sync::OnceLock<Commerce> = std::sync::OnceLock::new();
    let no_window = NO_WINDOW.get_or_init(|| {
        let anchor = "merchant_terms_version = \"2026-01\"";
        let text = document.replacen(anchor, &format!("{anchor}\nreturn_window_days = 0"), 1);
        Commerce::from_toml(&text, KNOWN_GATEWAYS).expect("the commerce with no return window")
    });
    for (window, commerce) in [(commerce.config().return_window_days, commerce), (Some(0), no_window)] {
        let Some(at) = order.finished_at(window) else { continue };
        let ctx = OrderCtx { now: Timestamp(at.0.max(now.0) + 1_000), commerce, next_number };
        let mut commands = vec![
            OrderCommand::ConfirmPayment { reference: "late".into() },
            OrderCommand::Cancel { lines: None },
            OrderCommand::Refresh { stock: stock.to_vec() },
        ];
        for shipment in &order.shipments {
            let (shipment, tracking) = (shipment.id.clone(), vec!["late".into()]);
            commands.push(OrderCommand::Ship { shipment, tracking, allocated: stock.to_vec() });
        }
        for line in &order.lines {
            let lines = vec![(line.id.clone(), 1, "late".into())];
            commands.push(OrderCommand::RequestReturn { lines, return_point: None, by: "model".into() });
        }
        for command in commands {
            let events = order.decide(&command, &ctx).unwrap_or_default();
            assert!(events.is_empty(), "a finished order (window {window:?}) changed by {command:?}: {events:?}");
        }
    }
}
