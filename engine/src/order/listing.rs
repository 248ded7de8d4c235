//! The back office's order list: which orders a filter keeps. The order actor lists them
//! newest first and pages after the last order of the page before.

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
            && self
                .email
                .as_ref()
                .is_none_or(|email| order.address.email.as_ref().is_some_and(|given| given.eq_ignore_ascii_case(email)))
            && self.merchant.as_ref().is_none_or(|merchant| {
                order.lines.iter().any(|line| {
                    commerce.product(&line.sku).and_then(|p| p.merchant.as_ref()).is_some_and(|m| m == merchant)
                })
            })
    }
}

fn placed_day(at: Timestamp) -> Option<NaiveDate> {
    DateTime::from_timestamp_millis(at.0).map(|t| t.date_naive())
}
