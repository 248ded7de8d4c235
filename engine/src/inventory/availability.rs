//! What a SKU can still be sold as, by date: units on hand now, then each source the stock
//! policy allows beyond them (incoming batches, the lead-time backlog, the preorder
//! allowance) with the day its units can leave the warehouse. It reads the same counters
//! `plan` reserves from, in the same order, so a quantity is available by a date exactly
//! when a reservation of it would succeed with every part ready by then.

use chrono::NaiveDate;

use super::record::{free_of, StockRecord};
use super::supply::{ready_date, unreleased};
use super::Source;
use crate::commerce::model::StockPolicy;

/// Units of one source that can still be sold, ready on `date`. `quantity` none means
/// unlimited (an uncapped lead time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedSupply {
    pub source: Source,
    pub date: NaiveDate,
    pub quantity: Option<u32>,
}

/// A SKU's sellable supply in one warehouse: on hand now, then later sources in the order
/// reservations take them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    pub policy: StockPolicy,
    /// Units on hand nobody holds, sellable today.
    pub now: u32,
    /// Sources beyond on-hand with units left, in the order a reservation takes them.
    pub later: Vec<DatedSupply>,
}

/// The sellable supply of `record` under `policy` on `today`.
pub fn availability(record: &StockRecord, policy: StockPolicy, today: NaiveDate) -> Availability {
    let hidden = unreleased(policy, today);
    let now = if hidden { 0 } else { record.available() };
    let mut later = Vec::new();
    let mut push = |source: Source, quantity: Option<u32>| {
        if quantity != Some(0) {
            let date = ready_date(record, policy, &source, today);
            later.push(DatedSupply { source, date, quantity });
        }
    };
    match policy {
        StockPolicy::StockOnly => {}
        StockPolicy::BackorderIncoming => {
            for batch in &record.batches {
                push(Source::Batch(batch.id.clone()), Some(batch.free()));
            }
        }
        StockPolicy::BackorderLeadTime { cap, .. } => {
            push(Source::LeadTime, cap.map(|cap| free_of(u64::from(cap), record.lead_time.total())));
        }
        StockPolicy::Preorder { cap, .. } => {
            if hidden {
                push(Source::Preorder, Some(free_of(u64::from(cap), record.preorder.total())));
            }
        }
    }
    Availability { policy, now, later }
}

impl Availability {
    /// Units sellable by `date` (today's units included); none means unlimited.
    pub fn by(&self, date: NaiveDate) -> Option<u64> {
        let mut total = u64::from(self.now);
        for supply in self.later.iter().filter(|s| s.date <= date) {
            total += u64::from(supply.quantity?);
        }
        Some(total)
    }

    /// Units sellable at all, whenever they are ready; none means unlimited.
    pub fn total(&self) -> Option<u64> {
        self.by(NaiveDate::MAX)
    }

    /// The earliest day `quantity` units can all be ready, or none when this warehouse
    /// cannot supply that many. Sources are taken in their order, as a reservation would.
    pub fn earliest_date(&self, quantity: u32, today: NaiveDate) -> Option<NaiveDate> {
        earliest(
            std::iter::once((today, Some(self.now))).chain(self.later.iter().map(|s| (s.date, s.quantity))),
            quantity,
            today,
        )
    }
}

/// The first date by which the supplies, taken in the given order, reach `quantity`
/// (today for nothing at all).
pub(crate) fn earliest(
    supplies: impl Iterator<Item = (NaiveDate, Option<u32>)>,
    quantity: u32,
    today: NaiveDate,
) -> Option<NaiveDate> {
    let mut gathered = 0u64;
    let mut latest = today;
    for (date, units) in supplies {
        if gathered >= u64::from(quantity) {
            break;
        }
        if units == Some(0) {
            continue;
        }
        latest = latest.max(date);
        gathered = units.map_or(u64::MAX, |units| gathered + u64::from(units));
    }
    (gathered >= u64::from(quantity)).then_some(latest)
}

/// A SKU's supply across warehouses, as a cart may gather it (splitting a line across
/// warehouses): every warehouse's sources by date, with the remainder of a cap the
/// warehouses share (`Commerce::shares_cap`) counted once, since each of them reports the
/// same units of that one budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Across {
    today: NaiveDate,
    /// Each source's ready date and units (none: unlimited), by date.
    supplies: Vec<(NaiveDate, Option<u32>)>,
}

impl Across {
    /// The supply of each warehouse's availability, each paired with whether the
    /// warehouse's cap for the SKU is the commerce's shared one.
    pub fn new<'a>(warehouses: impl IntoIterator<Item = (&'a Availability, bool)>, today: NaiveDate) -> Self {
        let mut supplies = Vec::new();
        // The shared cap's remainder: warehouses asked one after another may see it at
        // different moments, so the least of their figures, ready by the latest date.
        let mut shared: Option<(NaiveDate, Option<u32>)> = None;
        for (availability, shares_cap) in warehouses {
            supplies.push((today, Some(availability.now)));
            for supply in &availability.later {
                let from_cap = matches!(supply.source, Source::LeadTime | Source::Preorder);
                if from_cap && shares_cap {
                    shared = Some(match shared {
                        None => (supply.date, supply.quantity),
                        Some((date, units)) => (date.max(supply.date), least(units, supply.quantity)),
                    });
                } else {
                    supplies.push((supply.date, supply.quantity));
                }
            }
        }
        supplies.extend(shared);
        supplies.sort_by_key(|(date, _)| *date);
        Across { today, supplies }
    }

    /// Units sellable today.
    #[must_use]
    pub fn now(&self) -> u64 {
        self.by(self.today).unwrap_or(u64::MAX)
    }

    /// Units sellable by `date`; none means unlimited.
    pub fn by(&self, date: NaiveDate) -> Option<u64> {
        self.supplies
            .iter()
            .filter(|(ready, _)| *ready <= date)
            .try_fold(0u64, |sum, (_, units)| units.map(|units| sum + u64::from(units)))
    }

    /// The days on which supply arrives, today first.
    pub fn dates(&self) -> Vec<NaiveDate> {
        let mut dates: Vec<NaiveDate> = std::iter::once(self.today).chain(self.supplies.iter().map(|s| s.0)).collect();
        dates.sort();
        dates.dedup();
        dates
    }

    /// The earliest day `quantity` units can be gathered, or none when they cannot.
    pub fn earliest_date(&self, quantity: u32) -> Option<NaiveDate> {
        earliest(self.supplies.iter().copied(), quantity, self.today)
    }
}

/// The smaller of two supplies (none: unlimited).
fn least(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}
