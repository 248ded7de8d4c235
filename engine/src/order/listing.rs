//! The back office's order list: which orders a filter keeps, and where each stands in it
//! (newest first: placement time, then id, both descending, so that the list reads the
//! same before and after a restart), so that a page continues after the last order of the
//! page before.

use chrono::{DateTime, NaiveDate};

use super::{Order, OrderStatus};
use crate::commerce::Commerce;
use crate::inventory::Timestamp;

/// What an order list keeps; every criterion given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub channel: Option<String>,
    /// Orders with at least one line of the merchant's products.
    pub merchant: Option<String>,
    /// Placed on or after this day (UTC).
    pub from: Option<NaiveDate>,
    /// Placed on or before this day (UTC).
    pub to: Option<NaiveDate>,
    /// The customer's e-mail address as given with the shipping address, in any case.
    pub email: Option<String>,
}

impl OrderFilter {
    pub fn keeps(&self, order: &Order, commerce: &Commerce) -> bool {
        let day = placed_day(order.placed_at);
        self.status.is_none_or(|status| order.status == status)
            && self.channel.as_ref().is_none_or(|channel| order.context.channel == *channel)
            && self.from.is_none_or(|from| day.is_some_and(|day| day >= from))
            && self.to.is_none_or(|to| day.is_some_and(|day| day <= to))
            && self.email.as_ref().is_none_or(|email| {
                order.address.email.as_ref().is_some_and(|given| given.to_lowercase() == email.to_lowercase())
            })
            && self.merchant.as_ref().is_none_or(|merchant| {
                order.lines.iter().any(|line| {
                    commerce.product(&line.sku).and_then(|p| p.merchant.as_ref()).is_some_and(|m| m == merchant)
                })
            })
    }
}

/// Where an order stands in the list: its placement time, then its id.
pub type ListKey = (Timestamp, String);

pub fn list_key(order: &Order) -> ListKey {
    (order.placed_at, order.id.clone())
}

/// The list's bounds a filter's days give: no order placed after the end of `to` (UTC)
/// is kept, none before the start of `from`.
impl OrderFilter {
    pub fn placed_before(&self) -> Option<Timestamp> {
        let end = self.to?.succ_opt()?.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
        Some(Timestamp(end))
    }

    pub fn placed_from(&self) -> Option<Timestamp> {
        Some(Timestamp(self.from?.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis()))
    }
}

fn placed_day(at: Timestamp) -> Option<NaiveDate> {
    DateTime::from_timestamp_millis(at.0).map(|t| t.date_naive())
}
