//! Batch arrival and automatic allocation. When a batch arrives its units go on hand, and
//! everything that was counting on it is served in a fixed order: order lines promised
//! against it, oldest order first, then cart reservations, earliest expiry first. What a
//! short delivery cannot serve moves to the next batch with room (a new promise date) or,
//! for orders, is marked at risk; carts lose those units. Then the batch closes.

use chrono::NaiveDate;

use super::record::{Source, StockRecord, SupplyPart};
use super::{InventoryEvent, WarehouseStock};

/// Later batches with room, earliest first, as (id, date, free units).
fn later_capacity(record: &StockRecord, arriving: &str) -> Vec<(String, NaiveDate, u32)> {
    record.batches.iter().filter(|b| b.id != arriving).map(|b| (b.id.clone(), b.expected_date, b.free())).collect()
}

/// Serves `wanted` units: first from `left` (on hand), then from later batches; returns
/// the units served now, the moves (batch, date, units) and the units nobody can serve.
fn serve(
    wanted: u32,
    left: &mut u32,
    later: &mut [(String, NaiveDate, u32)],
) -> (u32, Vec<(String, NaiveDate, u32)>, u32) {
    let now = wanted.min(*left);
    *left -= now;
    let mut rest = wanted - now;
    let mut moves = Vec::new();
    for (id, date, free) in later.iter_mut() {
        let moved = rest.min(*free);
        if moved > 0 {
            moves.push((id.clone(), *date, moved));
            *free -= moved;
            rest -= moved;
        }
    }
    (now, moves, rest)
}

/// Order lines of `sku` holding at-risk units, oldest order first, served from `left`
/// on-hand units (reduced by what they take) and then from `later` batches' room: the
/// events that say so.
pub(super) fn at_risk_events(
    stock: &WarehouseStock,
    sku: &str,
    left: &mut u32,
    later: &mut [(String, NaiveDate, u32)],
    today: NaiveDate,
) -> Vec<InventoryEvent> {
    let mut lines: Vec<_> = stock
        .order_lines()
        .filter(|l| &*l.sku == sku && SupplyPart::held_from(&l.parts, &Source::AtRisk) > 0)
        .collect();
    lines.sort_by(|a, b| a.placed_at.cmp(&b.placed_at).then_with(|| a.order_line.cmp(&b.order_line)));
    let mut events = Vec::new();
    for line in lines {
        let wanted = SupplyPart::held_from(&line.parts, &Source::AtRisk);
        let (now, moves, _) = serve(wanted, left, later);
        if now > 0 {
            events.push(InventoryEvent::AtRiskAllocated {
                order_line: line.order_line.clone(),
                quantity: now,
                ready_date: today,
            });
        }
        for (batch, date, quantity) in moves {
            events.push(InventoryEvent::AtRiskPromised {
                order_line: line.order_line.clone(),
                batch,
                quantity,
                ready_date: date.max(today),
            });
        }
    }
    events
}

/// The order lines promised against the arriving `batch`, oldest order first: served now
/// from `left`, moved to a later batch with room, or at risk.
fn order_line_events(
    stock: &WarehouseStock,
    sku: &str,
    batch: &str,
    left: &mut u32,
    later: &mut [(String, NaiveDate, u32)],
    today: NaiveDate,
) -> Vec<InventoryEvent> {
    let arriving = Source::Batch(batch.to_owned());
    let mut events = Vec::new();
    let mut lines: Vec<_> = stock.order_lines().filter(|l| &*l.sku == sku).collect();
    lines.sort_by(|a, b| a.placed_at.cmp(&b.placed_at).then_with(|| a.order_line.cmp(&b.order_line)));
    for line in lines {
        let wanted = SupplyPart::held_from(&line.parts, &arriving);
        if wanted == 0 {
            continue;
        }
        let order_line = line.order_line.clone();
        let (now, moves, rest) = serve(wanted, left, later);
        if now > 0 {
            events.push(InventoryEvent::PromiseAllocated {
                order_line: order_line.clone(),
                batch: batch.to_owned(),
                quantity: now,
                ready_date: today,
            });
        }
        for (to, date, quantity) in moves {
            events.push(InventoryEvent::PromiseMoved {
                order_line: order_line.clone(),
                from: batch.to_owned(),
                to,
                quantity,
                ready_date: date,
            });
        }
        if rest > 0 {
            events.push(InventoryEvent::PromiseAtRisk { order_line, batch: batch.to_owned(), quantity: rest });
        }
    }
    events
}

/// The carts reserved against the arriving `batch`, earliest expiry first: sourced from
/// what is left, moved to a later batch with room, or shortened.
fn cart_events(
    stock: &WarehouseStock,
    sku: &str,
    batch: &str,
    left: &mut u32,
    later: &mut [(String, NaiveDate, u32)],
) -> Vec<InventoryEvent> {
    let arriving = Source::Batch(batch.to_owned());
    let mut events = Vec::new();
    let mut carts: Vec<_> = stock.reservations().filter(|r| &*r.sku == sku).collect();
    carts.sort_by(|a, b| a.expires_at.cmp(&b.expires_at).then_with(|| a.id.cmp(&b.id)));
    for cart in carts {
        let wanted = SupplyPart::held_from(&cart.parts, &arriving);
        if wanted == 0 {
            continue;
        }
        let reservation = cart.id.clone();
        let (now, moves, rest) = serve(wanted, left, later);
        if now > 0 {
            events.push(InventoryEvent::ReservationSourced {
                reservation: reservation.clone(),
                batch: batch.to_owned(),
                quantity: now,
            });
        }
        for (to, _, quantity) in moves {
            events.push(InventoryEvent::ReservationMoved {
                reservation: reservation.clone(),
                from: batch.to_owned(),
                to,
                quantity,
            });
        }
        if rest > 0 {
            events.push(InventoryEvent::ReservationShortened { reservation, batch: batch.to_owned(), quantity: rest });
        }
    }
    events
}

/// The events of `delivered` units of `batch` arriving, given the state before.
pub(super) fn arrival_events(
    stock: &WarehouseStock,
    record: &StockRecord,
    sku: &str,
    batch: &str,
    delivered: u32,
    today: NaiveDate,
) -> Vec<InventoryEvent> {
    let mut events =
        vec![InventoryEvent::BatchArrived { sku: sku.to_owned(), batch: batch.to_owned(), quantity: delivered }];
    // Units free to serve: what arrives plus on-hand nobody holds yet.
    let mut left = record.available().saturating_add(delivered);
    let mut later = later_capacity(record, batch);

    events.extend(order_line_events(stock, sku, batch, &mut left, &mut later, today));
    // Orders come before carts: at-risk lines take what is left before any cart does.
    events.extend(at_risk_events(stock, sku, &mut left, &mut later, today));
    events.extend(cart_events(stock, sku, batch, &mut left, &mut later));
    events.push(InventoryEvent::BatchClosed { sku: sku.to_owned(), batch: batch.to_owned() });
    events
}
