//! When an order is finished: nothing a customer, a carrier, a gateway or the back office
//! does can change it any more, so it may leave memory for the archive.
//!
//! An order is open while any of these holds: its payment is awaited; a shipment has not
//! reached an end (waiting for stock, ready, or sent and not yet delivered or returned to
//! the sender); a warehouse still keeps units for it; a refund is not settled; a return
//! is waiting for its decision or for units it accepted; a receipt's units are not yet
//! back on hand. Once none holds, it is finished at its last change, or, when units were
//! delivered and not all of them came back, once the return window after the last
//! delivery has closed (a return is refused from then on).

use super::returns::{ReturnDecision, RETURN_WINDOW_DAYS_DEFAULT};
use super::{Order, OrderStatus};
use crate::commerce::model::ShipmentStatus;
use crate::inventory::Timestamp;

const DAY_MS: i64 = 86_400_000;

impl Order {
    /// Whether some work on the order is still open (see the module's rules).
    pub fn open_work(&self) -> bool {
        let shipment_open = |status: ShipmentStatus| {
            matches!(status, ShipmentStatus::AwaitingStock | ShipmentStatus::Ready | ShipmentStatus::Sent)
        };
        self.status == OrderStatus::PendingPayment
            || self.shipments.iter().any(|s| shipment_open(s.status))
            || self.lines.iter().flat_map(|l| &l.allocations).any(|a| a.held() > 0)
            || self.refunds.iter().any(|r| r.settled_at.is_none())
            || self.returns.iter().flat_map(|r| &r.receipts).any(|r| !r.restocked)
            || self
                .returns
                .iter()
                .flat_map(|r| r.receipts.iter().filter_map(|c| c.refund.as_ref()))
                .any(|r| r.settled_at.is_none())
            || self.returns.iter().flat_map(|r| &r.lines).any(|l| match l.decision {
                ReturnDecision::Requested => true,
                ReturnDecision::Accepted => l.received < l.quantity,
                ReturnDecision::Rejected => false,
            })
    }

    /// The moment from which the order is finished, given the commerce's return window
    /// (`None` for the default), or none while work on it is open.
    pub fn finished_at(&self, return_window_days: Option<u32>) -> Option<Timestamp> {
        if self.open_work() {
            return None;
        }
        let last = self.history.iter().map(|c| c.at).chain([self.placed_at]).max().unwrap_or(self.placed_at);
        let delivered = self.shipments.iter().filter_map(|s| s.delivered_at).max();
        let all_back = matches!(self.status, OrderStatus::Cancelled | OrderStatus::Returned);
        match delivered {
            Some(at) if !all_back => {
                let window = i64::from(return_window_days.unwrap_or(RETURN_WINDOW_DAYS_DEFAULT)).saturating_mul(DAY_MS);
                // A return is refused once `now` is past the delivery plus the window.
                Some(Timestamp(last.0.max(at.0.saturating_add(window).saturating_add(1))))
            }
            _ => Some(last),
        }
    }
}
