//! Source selection for a cart: which warehouses serve which units.
//!
//! Candidates are the channel's warehouses its area qualifies, in the channel's priority
//! order, whose logistic center delivers to the destination. Then:
//! 1. the fewest logistic centers whose warehouses can serve the whole cart from on-hand
//!    (among equally few, the set whose centers come first in priority order), each SKU
//!    taken from their warehouses in priority order, split across them when one is short;
//! 2. failing that, each SKU on its own: on-hand from every candidate in priority order,
//!    then what the policies allow beyond it, earliest date first (ties by priority).
//!
//! The demand of a SKU is the sum of its lines, so one SKU on two lines is counted once.
//! The result depends only on the inputs: the same stock always gives the same answer.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::availability::Availability;
use crate::commerce::model::Place;
use crate::commerce::Commerce;
use crate::error::DomainError;

/// Logistic centers searched exhaustively for the fewest that serve a cart from on-hand;
/// beyond this many, the per-SKU pass decides. Bounds the search at 2^16 sets.
pub const SELECTION_CENTERS_SEARCHED_MAX: usize = 16;

/// A warehouse that may supply the cart, with the availability of the cart's SKUs there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub warehouse: String,
    pub logistic_center: String,
    /// By SKU; a SKU missing here has no supply in this warehouse.
    pub stock: BTreeMap<String, Availability>,
}

/// Units of one SKU a warehouse is to reserve, all ready by `ready_date`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceAssignment {
    pub warehouse: String,
    pub sku: String,
    pub quantity: u32,
    pub ready_date: NaiveDate,
}

/// The channel's warehouses that may supply a cart bound for `destination`, in priority
/// order, as (warehouse, logistic center). A destination known only by a country the
/// commerce does not sell to (a `browse_only` visitor's, before any address) is served
/// from every warehouse of the channel: the cart may be filled, and the address it gets
/// (in a country the commerce sells to) decides where its units can go.
pub fn candidate_warehouses(commerce: &Commerce, channel: &str, destination: &Place) -> Vec<(String, String)> {
    let Some(members) = commerce.qualified(channel) else { return Vec::new() };
    let browsing = destination.region.is_none()
        && destination.postal_code.is_none()
        && !commerce.sales_countries().any(|country| country == destination.country);
    members
        .warehouses
        .iter()
        .filter_map(|code| {
            let warehouse = commerce.warehouse(code)?;
            let center = commerce.logistic_center(&warehouse.logistic_center)?;
            (browsing || commerce.delivers_to(center, destination)).then(|| (code.clone(), center.code.clone()))
        })
        .collect()
}

/// The total demand per SKU, in the order SKUs first appear.
fn total_demand(lines: &[(String, u32)]) -> Result<Vec<(&str, u32)>, DomainError> {
    let mut totals: Vec<(&str, u32)> = Vec::new();
    for (sku, quantity) in lines {
        if *quantity == 0 {
            return Err(DomainError::InvalidQuantity { quantity: 0, reason: "it must be at least 1" });
        }
        match totals.iter_mut().find(|(s, _)| s == sku) {
            Some((_, total)) => {
                *total = total.checked_add(*quantity).ok_or(DomainError::InvalidQuantity {
                    quantity: i64::from(*quantity),
                    reason: "the total of the lines exceeds the largest quantity",
                })?;
            }
            None => totals.push((sku, *quantity)),
        }
    }
    Ok(totals)
}

/// Chooses the warehouses that serve `lines` (SKU, quantity), or says which SKU cannot be
/// served and how many units of it could.
pub fn select_sources(
    candidates: &[Candidate],
    lines: &[(String, u32)],
    today: NaiveDate,
) -> Result<Vec<SourceAssignment>, DomainError> {
    let demand = total_demand(lines)?;
    if let Some(assignments) = from_fewest_centers(candidates, &demand, today) {
        return Ok(assignments);
    }
    let mut assignments = Vec::new();
    for (sku, quantity) in demand {
        assignments.extend(by_date(candidates, sku, quantity, today)?);
    }
    Ok(assignments)
}

fn on_hand(candidate: &Candidate, sku: &str) -> u32 {
    candidate.stock.get(sku).map_or(0, |a| a.now)
}

/// Pass 1: the fewest logistic centers serving everything from on-hand, if any do.
fn from_fewest_centers(
    candidates: &[Candidate],
    demand: &[(&str, u32)],
    today: NaiveDate,
) -> Option<Vec<SourceAssignment>> {
    let mut centers: Vec<&str> = Vec::new();
    for candidate in candidates {
        if !centers.contains(&candidate.logistic_center.as_str()) {
            centers.push(&candidate.logistic_center);
        }
    }
    centers.truncate(SELECTION_CENTERS_SEARCHED_MAX);
    let serves = |chosen: &[&str]| {
        demand.iter().all(|(sku, quantity)| {
            let held: u64 = candidates
                .iter()
                .filter(|c| chosen.contains(&c.logistic_center.as_str()))
                .map(|c| u64::from(on_hand(c, sku)))
                .sum();
            held >= u64::from(*quantity)
        })
    };
    let chosen = (1..=centers.len()).find_map(|size| first_combination(&centers, size, &serves))?;
    let mut assignments = Vec::new();
    for (sku, quantity) in demand {
        let mut remaining = *quantity;
        for candidate in candidates.iter().filter(|c| chosen.contains(&c.logistic_center.as_str())) {
            let taken = remaining.min(on_hand(candidate, sku));
            if taken > 0 {
                assignments.push(SourceAssignment {
                    warehouse: candidate.warehouse.clone(),
                    sku: (*sku).to_owned(),
                    quantity: taken,
                    ready_date: today,
                });
                remaining -= taken;
            }
        }
    }
    Some(assignments)
}

/// The first `size`-element subset of `items` (in lexicographic order of positions) that
/// `accept` takes.
fn first_combination<'a>(items: &[&'a str], size: usize, accept: &impl Fn(&[&'a str]) -> bool) -> Option<Vec<&'a str>> {
    let mut positions: Vec<usize> = (0..size).collect();
    loop {
        let chosen: Vec<&str> = positions.iter().map(|&i| items[i]).collect();
        if accept(&chosen) {
            return Some(chosen);
        }
        // Advance to the next combination: the rightmost position that can move, moves.
        let movable = (0..size).rev().find(|&slot| positions[slot] < items.len() - size + slot)?;
        positions[movable] += 1;
        for slot in movable + 1..size {
            positions[slot] = positions[slot - 1] + 1;
        }
    }
}

/// Pass 2 for one SKU: on-hand in priority order, then later sources earliest first.
fn by_date(
    candidates: &[Candidate],
    sku: &str,
    quantity: u32,
    today: NaiveDate,
) -> Result<Vec<SourceAssignment>, DomainError> {
    // (date, candidate position, units; none = unlimited)
    let mut supplies: Vec<(NaiveDate, usize, Option<u32>)> = Vec::new();
    for (position, candidate) in candidates.iter().enumerate() {
        if let Some(availability) = candidate.stock.get(sku) {
            supplies.push((today, position, Some(availability.now)));
        }
    }
    let mut later: Vec<(NaiveDate, usize, Option<u32>)> = Vec::new();
    for (position, candidate) in candidates.iter().enumerate() {
        if let Some(availability) = candidate.stock.get(sku) {
            later.extend(availability.later.iter().map(|s| (s.date, position, s.quantity)));
        }
    }
    later.sort_by_key(|(date, position, _)| (*date, *position));
    supplies.extend(later);

    let mut taken: Vec<(usize, u32, NaiveDate)> = Vec::new();
    let mut remaining = quantity;
    for (date, position, units) in supplies {
        if remaining == 0 {
            break;
        }
        let take = units.map_or(remaining, |units| units.min(remaining));
        if take == 0 {
            continue;
        }
        remaining -= take;
        match taken.iter_mut().find(|(p, _, _)| *p == position) {
            Some((_, units, ready)) => {
                *units += take;
                *ready = (*ready).max(date);
            }
            None => taken.push((position, take, date)),
        }
    }
    if remaining > 0 {
        return Err(DomainError::InsufficientStock {
            sku: sku.to_owned(),
            requested: quantity,
            available: quantity - remaining,
        });
    }
    taken.sort_by_key(|(position, _, _)| *position);
    Ok(taken
        .into_iter()
        .map(|(position, quantity, ready_date)| SourceAssignment {
            warehouse: candidates[position].warehouse.clone(),
            sku: sku.to_owned(),
            quantity,
            ready_date,
        })
        .collect())
}
