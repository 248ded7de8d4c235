//! The marketplace's side of the order money model: money conserved between the customer,
//! the merchants' ledgers and the commerce after every event.

use std::collections::HashMap;

use mercato_engine::commerce::commissions::sale;
use mercato_engine::commerce::model::ShipmentStatus;
use mercato_engine::order::{Order, OrderShipment};
use rust_decimal::Decimal;

/// Money is conserved, exact to the cent: what the customer pays for the units kept
/// (captured less refunded once paid; owed before) is what the merchants' postings
/// earned (their sales less commissions) plus the commissions, plus the merchant lines'
/// sales not yet earned (units kept but not delivered), plus what the commerce keeps:
/// its own lines, the shipping, and the taxes (added to the lines, or inside the
/// merchant lines' amounts). Each merchant line's postings add up to what its earned
/// units are worth, computed here from the order alone.
pub fn check_money(order: &Order, ledgers: &HashMap<String, (Decimal, Decimal)>) {
    let units = 2;
    let worth = order.worth_now(units);
    let balance = order.balance();
    let paid = if order.is_paid() { balance.captured - balance.refunded } else { worth.total };
    let inclusive = order.totals.tax_inclusive;
    let delivered: Vec<&OrderShipment> =
        order.shipments.iter().filter(|s| s.status == ShipmentStatus::Delivered || s.delivered_at.is_some()).collect();
    let (mut pending, mut keeps, mut expected) = (Decimal::ZERO, worth.shipping, HashMap::<String, Decimal>::new());
    for (index, line) in order.lines.iter().enumerate() {
        let Some(seller) = &line.seller else {
            keeps += worth.lines[index];
            continue;
        };
        let carried: u32 =
            delivered.iter().flat_map(|s| &s.items).filter(|i| i.line == line.id).map(|i| i.quantity).sum();
        let earned = carried.saturating_sub(line.returned).min(line.amount.quantity);
        let sold = |n| sale(&line.amount, n, inclusive, units);
        let commission = seller.commission.for_units(&line.amount, earned, inclusive, units);
        *expected.entry(seller.merchant.clone()).or_default() += sold(earned) - commission;
        pending += sold(line.kept()) - sold(earned.min(line.kept()));
        keeps += worth.lines[index] - sold(line.kept());
    }
    if !inclusive {
        keeps += worth.taxes.iter().map(|t| t.tax).sum::<Decimal>();
    }
    let earned: Decimal = ledgers.values().map(|(sales, commissions)| sales - commissions).sum();
    let commissions: Decimal = ledgers.values().map(|(_, commissions)| *commissions).sum();
    for (merchant, want) in &expected {
        let (sales, commissions) = ledgers.get(merchant).copied().unwrap_or_default();
        assert_eq!(sales - commissions, *want, "merchant {merchant}'s postings add up to its earned units");
    }
    assert!(ledgers.keys().all(|m| expected.contains_key(m)), "only the lines' merchants have postings");
    assert_eq!(
        paid,
        earned + commissions + pending + keeps,
        "paid {paid} = earned {earned} + commissions {commissions} + not yet earned {pending} + kept {keeps}"
    );
}

/// What the units kept are worth, computed naively: each line and the shipping shared
/// out by what is kept, taxes (when added) in proportion to the amounts kept.
pub fn naive_worth(order: &Order) -> Decimal {
    let totals = &order.totals;
    let mut kept = Decimal::ZERO;
    let mut by_rate: HashMap<Decimal, (Decimal, Decimal)> = HashMap::new();
    for line in &order.lines {
        let share = line.amount.amount * Decimal::from(line.kept()) / Decimal::from(line.amount.quantity);
        kept += share;
        let row = by_rate.entry(line.amount.tax_rate).or_default();
        row.0 += share;
        row.1 += line.amount.amount;
    }
    let all: Decimal = order.shipments.iter().map(|s| s.price).sum();
    let live: Decimal = order.shipments.iter().filter(|s| s.status != ShipmentStatus::Cancelled).map(|s| s.price).sum();
    let shipping = if all.is_zero() { Decimal::ZERO } else { totals.shipping * live / all };
    kept += shipping;
    if let Some(rate) = order.shipping_tax_rate {
        let row = by_rate.entry(rate).or_default();
        row.0 += shipping;
        row.1 += totals.shipping;
    }
    if !totals.tax_inclusive {
        for tax in &totals.taxes {
            let (part, whole) = by_rate.get(&tax.rate).copied().unwrap_or_default();
            if !whole.is_zero() {
                kept += tax.tax * part / whole;
            }
        }
    }
    kept
}
