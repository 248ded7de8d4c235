//! Which sources serve a requested quantity under a stock policy: on-hand first, then what
//! the policy allows beyond it. Pure and deterministic: the same record, policy and day
//! always give the same plan.

use chrono::NaiveDate;

use super::record::{free_of, Parts, Source, StockRecord, SupplyPart};
use crate::commerce::model::StockPolicy;

/// The plan for `quantity` units, or how many units could be served at most.
pub fn plan(record: &StockRecord, policy: StockPolicy, quantity: u32, today: NaiveDate) -> Result<Parts, u32> {
    let mut parts = Parts::new();
    let mut remaining = quantity;
    let mut take = |source: Source, free: u32, parts: &mut Parts| {
        let taken = remaining.min(free);
        if taken > 0 {
            parts.push(SupplyPart { source, quantity: taken });
            remaining -= taken;
        }
    };
    let unreleased = unreleased(policy, today);
    if !unreleased {
        take(Source::OnHand, record.available(), &mut parts);
    }
    match policy {
        StockPolicy::StockOnly => {}
        StockPolicy::BackorderIncoming => {
            for batch in &record.batches {
                take(Source::Batch(batch.id.clone()), batch.free(), &mut parts);
            }
        }
        StockPolicy::BackorderLeadTime { cap, .. } => {
            let free = cap.map_or(u32::MAX, |cap| free_of(u64::from(cap), record.lead_time.total()));
            take(Source::LeadTime, free, &mut parts);
        }
        StockPolicy::Preorder { cap, .. } => {
            if unreleased {
                take(Source::Preorder, free_of(u64::from(cap), record.preorder.total()), &mut parts);
            }
        }
    }
    if remaining == 0 {
        Ok(parts)
    } else {
        Err(quantity - remaining)
    }
}

/// Whether the product is not released yet: it then sells only against its preorder
/// allowance, never from on-hand.
pub(crate) fn unreleased(policy: StockPolicy, today: NaiveDate) -> bool {
    matches!(policy, StockPolicy::Preorder { release_date, .. } if today < release_date)
}

/// The date units from `source` can leave the warehouse.
pub fn ready_date(record: &StockRecord, policy: StockPolicy, source: &Source, today: NaiveDate) -> NaiveDate {
    match (source, policy) {
        (Source::Batch(id), _) => record.batch(id).map_or(today, |b| b.expected_date.max(today)),
        (Source::LeadTime, StockPolicy::BackorderLeadTime { days, .. }) => {
            today.checked_add_days(chrono::Days::new(u64::from(days))).unwrap_or(NaiveDate::MAX)
        }
        (Source::Preorder, StockPolicy::Preorder { release_date, .. }) => release_date.max(today),
        _ => today,
    }
}
