//! The rules every inventory state keeps. Tests check them after every event; a violation
//! names the SKU and the rule.

use std::collections::BTreeMap;

use super::record::Source;
use super::WarehouseStock;
use crate::commerce::model::StockPolicy;
use crate::commerce::Commerce;

/// Every broken rule of the state, empty when all hold:
/// - `reserved + allocated <= on_hand` (units held from on-hand exist);
/// - for every batch, `reserved + promised <= quantity` (never promise more than is coming);
/// - preorder and capped lead-time commitments stay within their caps;
/// - each source's `reserved` counter equals the units the reservations hold from it, and
///   each `allocated` or `promised` counter the units the order lines hold from it.
pub fn check_invariants(stock: &WarehouseStock, commerce: &Commerce) -> Vec<String> {
    let mut broken = Vec::new();
    let mut reserved: BTreeMap<(&str, &Source), u64> = BTreeMap::new();
    for reservation in stock.reservations() {
        for part in &reservation.parts {
            *reserved.entry((&*reservation.sku, &part.source)).or_default() += u64::from(part.quantity);
        }
    }
    let mut promised: BTreeMap<(&str, &Source), u64> = BTreeMap::new();
    for line in stock.order_lines() {
        for part in &line.parts {
            *promised.entry((&*line.sku, &part.source)).or_default() += u64::from(part.quantity);
        }
    }
    for (sku, record) in stock.records() {
        let committed = u64::from(record.reserved) + u64::from(record.allocated);
        if committed > u64::from(record.on_hand) {
            broken.push(format!("{sku}: reserved + allocated {committed} exceeds on-hand {}", record.on_hand));
        }
        let mut counters = vec![
            (Source::OnHand, record.reserved, record.allocated),
            (Source::LeadTime, record.lead_time.reserved, record.lead_time.promised),
            (Source::Preorder, record.preorder.reserved, record.preorder.promised),
        ];
        for batch in &record.batches {
            counters.push((Source::Batch(batch.id.clone()), batch.committed.reserved, batch.committed.promised));
            if batch.committed.total() > u64::from(batch.quantity) {
                broken.push(format!(
                    "{sku}: batch {} commits {} of {}",
                    batch.id,
                    batch.committed.total(),
                    batch.quantity
                ));
            }
        }
        for (source, reserved_counter, promised_counter) in counters {
            let held = reserved.get(&(sku, &source)).copied().unwrap_or(0);
            if held != u64::from(reserved_counter) {
                broken.push(format!("{sku}: {source:?} reserved {reserved_counter} but reservations hold {held}"));
            }
            let held = promised.get(&(sku, &source)).copied().unwrap_or(0);
            if held != u64::from(promised_counter) {
                broken.push(format!(
                    "{sku}: {source:?} allocated/promised {promised_counter} but order lines hold {held}"
                ));
            }
        }
        match commerce.stock_policy(sku, &stock.warehouse) {
            Some(StockPolicy::Preorder { cap, .. }) if record.preorder.total() > u64::from(cap) => {
                broken.push(format!("{sku}: preorder commits {} over cap {cap}", record.preorder.total()));
            }
            Some(StockPolicy::BackorderLeadTime { cap: Some(cap), .. })
                if record.lead_time.total() > u64::from(cap) =>
            {
                broken.push(format!("{sku}: lead time commits {} over cap {cap}", record.lead_time.total()));
            }
            _ => {}
        }
    }
    broken
}

/// The caps warehouses share hold across them: for every SKU whose cap is the product's
/// own, what all the warehouses without an override committed of it is within the cap.
pub fn check_shared_caps<'a>(commerce: &Commerce, stocks: impl IntoIterator<Item = &'a WarehouseStock>) -> Vec<String> {
    let mut used: BTreeMap<String, u64> = BTreeMap::new();
    for stock in stocks {
        for (sku, _) in stock.records() {
            if commerce.shares_cap(sku, &stock.warehouse) {
                *used.entry(sku.to_owned()).or_default() += stock.cap_commitments(sku, commerce);
            }
        }
    }
    used.into_iter()
        .filter_map(|(sku, used)| {
            let cap = match commerce.product(&sku)?.stock_policy.as_ref()?.policy().ok()? {
                StockPolicy::Preorder { cap, .. } | StockPolicy::BackorderLeadTime { cap: Some(cap), .. } => cap,
                _ => return None,
            };
            (used > u64::from(cap)).then(|| format!("{sku}: {used} committed across warehouses over its cap {cap}"))
        })
        .collect()
}
