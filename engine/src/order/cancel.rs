//! Cancellation of units not yet sent: the whole order (every such unit) or some units of
//! some lines.
//!
//! Units come out of the shipments that have not left, latest delivery first, so what is
//! ready soonest still goes; a shipment left with none is cancelled and its shipping is no
//! longer owed. What the units held in the warehouses is released under their keys
//! (`Pick`s; the warehouse lets go of the furthest supply first). Money follows from the
//! order's worth before and after (`money::worth`): a paid order gets a refund of the
//! difference (through the gateway, or by hand for an offline payment) and, when
//! invoiced, a credit note for it; an unpaid order simply owes less.

use rust_decimal::Decimal;

use super::fulfil::Pick;
use super::{documents, Order, OrderCtx, OrderEvent, OrderStatus, Refund, RefundReason};
use crate::error::DomainError;
use crate::inventory::Timestamp;
use crate::pricing::minor_units;

/// Units of a line taken out of a shipment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemCut {
    pub shipment: String,
    pub line: String,
    pub quantity: u32,
}

/// What one cancellation does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancellation {
    /// Units cancelled per line.
    pub lines: Vec<(String, u32)>,
    pub cuts: Vec<ItemCut>,
    /// What the warehouses release, per key.
    pub releases: Vec<Pick>,
    /// The refund of a paid order.
    pub refund: Option<Refund>,
    /// How much less an unpaid order owes.
    pub owed_less: Decimal,
}

impl Cancellation {
    pub(super) fn describe(&self) -> String {
        let lines: Vec<String> = self.lines.iter().map(|(line, units)| format!("{units} of line {line}")).collect();
        let refund = self.refund.as_ref().map(|r| format!(", refund {} of {}", r.id, r.amount)).unwrap_or_default();
        format!("{}{refund}", lines.join(", "))
    }
}

impl Order {
    /// Units of `line` that may still be cancelled: in shipments that have not left.
    pub fn cancellable(&self, line: &str) -> u32 {
        self.shipments
            .iter()
            .filter(|s| !s.has_left())
            .flat_map(|s| s.items.iter())
            .filter(|i| i.line == line)
            .map(|i| i.quantity)
            .sum()
    }

    /// The units a request names, checked: every line known and named once, each
    /// quantity at least 1 and at most what may be cancelled. None names every unit not
    /// sent.
    fn requested(&self, lines: Option<&[(String, u32)]>) -> Result<Vec<(String, u32)>, DomainError> {
        let Some(lines) = lines else {
            let all: Vec<(String, u32)> = self
                .lines
                .iter()
                .map(|l| (l.id.clone(), self.cancellable(&l.id)))
                .filter(|(_, units)| *units > 0)
                .collect();
            if all.is_empty() {
                let status = self.status.as_str();
                return Err(DomainError::OrderStatus { id: self.id.clone(), status, action: "cancelled" });
            }
            return Ok(all);
        };
        if lines.is_empty() {
            return Err(DomainError::NothingToCancel);
        }
        for (index, (line, units)) in lines.iter().enumerate() {
            if self.line(line).is_none() {
                return Err(DomainError::UnknownOrderLineId { order: self.id.clone(), line: line.clone() });
            }
            if lines[..index].iter().any(|(other, _)| other == line) {
                return Err(DomainError::LineNamedTwice { line: line.clone() });
            }
            if *units == 0 {
                return Err(DomainError::InvalidQuantity { quantity: 0, reason: "cancel at least 1 unit" });
            }
            let possible = self.cancellable(line);
            if *units > possible {
                return Err(DomainError::UnitsNotAvailable {
                    line: line.clone(),
                    requested: *units,
                    possible,
                    action: "cancelled",
                });
            }
        }
        Ok(lines.to_vec())
    }

    /// Which shipments lose the units: those that have not left, latest delivery first.
    fn cuts(&self, requested: &[(String, u32)]) -> Vec<ItemCut> {
        let mut order: Vec<usize> = (0..self.shipments.len()).filter(|&i| !self.shipments[i].has_left()).collect();
        order.sort_by(|&a, &b| self.shipments[b].delivery_date.cmp(&self.shipments[a].delivery_date).then(b.cmp(&a)));
        let mut cuts = Vec::new();
        for (line, units) in requested {
            let mut left = *units;
            for &index in &order {
                let shipment = &self.shipments[index];
                let held: u32 = shipment.items.iter().filter(|i| &i.line == line).map(|i| i.quantity).sum();
                let take = left.min(held);
                if take > 0 {
                    cuts.push(ItemCut { shipment: shipment.id.clone(), line: line.clone(), quantity: take });
                    left -= take;
                }
            }
        }
        cuts
    }

    /// What the warehouses release for the cut units: the line's keys in each shipment's
    /// logistic center, latest first.
    fn releases(&self, cuts: &[ItemCut], ctx: &OrderCtx<'_>) -> Vec<Pick> {
        let mut planned: Vec<Pick> = Vec::new();
        for cut in cuts {
            let Ok(shipment) = self.shipment(&cut.shipment) else { continue };
            let Some(line) = self.line(&cut.line) else { continue };
            let in_center = |warehouse: &str| {
                shipment.center.is_empty()
                    || ctx.commerce.warehouse(warehouse).is_none_or(|w| w.logistic_center == shipment.center)
            };
            let mut left = cut.quantity;
            for allocation in line.allocations.iter().rev().filter(|a| in_center(&a.warehouse)) {
                let taken: u32 = planned.iter().filter(|p| p.key == allocation.key).map(|p| p.quantity).sum();
                let take = left.min(allocation.held().saturating_sub(taken));
                if take > 0 {
                    match planned.iter_mut().find(|p| p.key == allocation.key) {
                        Some(pick) => pick.quantity += take,
                        None => planned.push(Pick {
                            warehouse: allocation.warehouse.clone(),
                            key: allocation.key.clone(),
                            quantity: take,
                        }),
                    }
                    left -= take;
                }
                if left == 0 {
                    break;
                }
            }
        }
        planned
    }

    pub(super) fn decide_cancel(
        &self,
        lines: Option<&[(String, u32)]>,
        ctx: &OrderCtx<'_>,
    ) -> Result<Vec<OrderEvent>, DomainError> {
        if self.status == OrderStatus::Cancelled {
            return Err(DomainError::OrderStatus { id: self.id.clone(), status: "cancelled", action: "cancelled" });
        }
        let requested = self.requested(lines)?;
        let cuts = self.cuts(&requested);
        let releases = self.releases(&cuts, ctx);
        let mut cancellation =
            Cancellation { lines: requested, cuts, releases, refund: None, owed_less: Decimal::ZERO };
        let mut after = self.clone();
        after.apply_cancel(&cancellation, ctx.now);
        let units = minor_units(ctx.commerce, &self.context.currency);
        let gone = self.worth_now(units).total - after.worth_now(units).total;
        if self.is_paid() {
            if gone > Decimal::ZERO {
                cancellation.refund = Some(Refund {
                    id: format!("{}-R{}", self.id, self.refunds.len() + 1),
                    amount: gone,
                    reason: RefundReason::Cancellation,
                    online: self.payment.online,
                    requested_at: ctx.now,
                    reference: None,
                    settled_at: None,
                });
            }
        } else {
            cancellation.owed_less = gone;
        }
        let credit = documents::credit_note(self, &after, ctx)?;
        let mut events = vec![OrderEvent::UnitsCancelled { cancellation: Box::new(cancellation) }];
        events.extend(credit.map(|invoice| OrderEvent::InvoiceIssued { invoice: Box::new(invoice) }));
        Ok(events)
    }

    pub(super) fn apply_cancel(&mut self, cancellation: &Cancellation, _at: Timestamp) {
        for (id, units) in &cancellation.lines {
            let line = self.lines.iter_mut().find(|l| &l.id == id).expect("decide found the line");
            line.cancelled = line
                .cancelled
                .checked_add(*units)
                .filter(|&c| c <= line.amount.quantity)
                .expect("cancels at most what was ordered");
        }
        for cut in &cancellation.cuts {
            let shipment = self.shipments.iter_mut().find(|s| s.id == cut.shipment).expect("decide found the shipment");
            let mut left = cut.quantity;
            for item in shipment.items.iter_mut().rev().filter(|i| i.line == cut.line) {
                let take = left.min(item.quantity);
                item.quantity -= take;
                left -= take;
            }
            assert_eq!(left, 0, "a cut takes at most what the shipment holds of the line");
            if shipment.units() == 0 && !shipment.has_left() {
                shipment.status = crate::commerce::model::ShipmentStatus::Cancelled;
            }
        }
        for pick in &cancellation.releases {
            let allocation = self
                .lines
                .iter_mut()
                .flat_map(|l| l.allocations.iter_mut())
                .find(|a| a.key == pick.key)
                .expect("a release names an allocation of the order");
            assert!(allocation.held() >= pick.quantity, "allocation {} releases more than it holds", pick.key);
            allocation.released += pick.quantity;
        }
        if let Some(refund) = &cancellation.refund {
            self.refunds.push(refund.clone());
        }
        self.payment.amount -= cancellation.owed_less;
    }
}
