//! Returns: requested (storefront or back office) for units sent or delivered, whole or in
//! part, a reason per line, within the commerce's return window counted from delivery;
//! accepted or rejected per line by the back office; received per line as resellable
//! (restocked into a warehouse, where it serves at-risk lines like any stock) or damaged.
//! Each receipt is a return order document; it refunds what the units were worth (the
//! same `money::worth` as a cancellation, shipping kept) and, when invoiced, a credit note
//! corrects the invoice.

use rust_decimal::Decimal;

use super::{documents, Order, OrderCtx, OrderEvent, OrderStatus, Refund, RefundReason};
use crate::error::DomainError;
use crate::inventory::Timestamp;
use crate::pricing::minor_units;

/// Where a return line stands in the back office.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnDecision {
    Requested,
    Accepted,
    Rejected,
}

impl ReturnDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnDecision::Requested => "requested",
            ReturnDecision::Accepted => "accepted",
            ReturnDecision::Rejected => "rejected",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnLine {
    pub line: String,
    pub quantity: u32,
    pub reason: String,
    pub decision: ReturnDecision,
    /// Units received back so far.
    pub received: u32,
}

/// Units of one line received back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedUnits {
    pub line: String,
    pub sku: String,
    pub quantity: u32,
    /// Back for sale (restocked), or damaged (not).
    pub resellable: bool,
}

/// One receipt of returned units: the return order document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnReceipt {
    /// `{return id}-{n}`.
    pub number: String,
    pub received_at: Timestamp,
    /// Where resellable units went back on hand.
    pub warehouse: Option<String>,
    pub units: Vec<ReceivedUnits>,
    pub refund: Option<Refund>,
    /// Whether the warehouse has taken the resellable units back.
    pub restocked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Return {
    /// `{order}-RT{n}`.
    pub id: String,
    pub requested_at: Timestamp,
    pub requested_by: String,
    /// The return point the customer brings the units to, if any.
    pub return_point: Option<String>,
    pub lines: Vec<ReturnLine>,
    pub receipts: Vec<ReturnReceipt>,
}

/// A line of a return request: the order line, the units, the customer's reason.
pub type Requested = (String, u32, String);

/// The days a customer has to ask for a return after delivery when the commerce says
/// nothing.
pub const RETURN_WINDOW_DAYS_DEFAULT: u32 = 30;

const DAY_MS: i64 = 86_400_000;

impl Order {
    /// Units of `line` that have left (sent or delivered) and no return claims yet.
    pub fn returnable(&self, line: &str) -> u32 {
        let left: u32 = self
            .shipments
            .iter()
            .filter(|s| s.has_left() && s.status != crate::commerce::model::ShipmentStatus::Returned)
            .flat_map(|s| s.items.iter())
            .filter(|i| i.line == line)
            .map(|i| i.quantity)
            .sum();
        let claimed: u32 = self
            .returns
            .iter()
            .flat_map(|r| r.lines.iter())
            .filter(|l| l.line == line && l.decision != ReturnDecision::Rejected)
            .map(|l| l.quantity)
            .sum();
        left.saturating_sub(claimed)
    }

    fn return_of(&self, id: &str) -> Result<&Return, DomainError> {
        self.returns
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| DomainError::UnknownReturn { order: self.id.clone(), id: id.to_owned() })
    }

    pub(super) fn decide_request_return(
        &self,
        lines: &[Requested],
        return_point: Option<&str>,
        by: &str,
        ctx: &OrderCtx<'_>,
    ) -> Result<Vec<OrderEvent>, DomainError> {
        if lines.is_empty() {
            return Err(DomainError::NothingToReturn);
        }
        if let Some(point) = return_point {
            let known = ctx.commerce.config().physical_locations.iter().any(|l| l.code == point && l.returns);
            if !known {
                return Err(DomainError::UnknownReturnPoint { code: point.to_owned() });
            }
        }
        let window = i64::from(ctx.commerce.config().return_window_days.unwrap_or(RETURN_WINDOW_DAYS_DEFAULT));
        for (index, (line, units, reason)) in lines.iter().enumerate() {
            if self.line(line).is_none() {
                return Err(DomainError::UnknownOrderLineId { order: self.id.clone(), line: line.clone() });
            }
            if lines[..index].iter().any(|(other, _, _)| other == line) {
                return Err(DomainError::LineNamedTwice { line: line.clone() });
            }
            if *units == 0 {
                return Err(DomainError::InvalidQuantity { quantity: 0, reason: "return at least 1 unit" });
            }
            if reason.trim().is_empty() || reason.chars().count() > 200 {
                return Err(DomainError::InvalidReason { line: line.clone() });
            }
            let possible = self.returnable(line);
            if *units > possible {
                return Err(DomainError::UnitsNotAvailable {
                    line: line.clone(),
                    requested: *units,
                    possible,
                    action: "returned",
                });
            }
            let delivered = self
                .shipments
                .iter()
                .filter(|s| s.items.iter().any(|i| &i.line == line))
                .filter_map(|s| s.delivered_at)
                .max();
            if delivered.is_some_and(|at| ctx.now.0 > at.0.saturating_add(window.saturating_mul(DAY_MS))) {
                return Err(DomainError::ReturnWindowClosed { line: line.clone(), days: window });
            }
        }
        let request = Return {
            id: format!("{}-RT{}", self.id, self.returns.len() + 1),
            requested_at: ctx.now,
            requested_by: by.to_owned(),
            return_point: return_point.map(str::to_owned),
            lines: lines
                .iter()
                .map(|(line, quantity, reason)| ReturnLine {
                    line: line.clone(),
                    quantity: *quantity,
                    reason: reason.trim().to_owned(),
                    decision: ReturnDecision::Requested,
                    received: 0,
                })
                .collect(),
            receipts: Vec::new(),
        };
        Ok(vec![OrderEvent::ReturnRequested { request: Box::new(request) }])
    }

    pub(super) fn decide_return_decision(
        &self,
        id: &str,
        decisions: &[(String, bool)],
    ) -> Result<Vec<OrderEvent>, DomainError> {
        let request = self.return_of(id)?;
        if decisions.is_empty() {
            return Err(DomainError::NothingToReturn);
        }
        for (index, (line, _)) in decisions.iter().enumerate() {
            let found = request
                .lines
                .iter()
                .find(|l| &l.line == line)
                .ok_or_else(|| DomainError::UnknownOrderLineId { order: self.id.clone(), line: line.clone() })?;
            if decisions[..index].iter().any(|(other, _)| other == line) {
                return Err(DomainError::LineNamedTwice { line: line.clone() });
            }
            if found.decision != ReturnDecision::Requested {
                return Err(DomainError::ReturnDecided {
                    id: id.to_owned(),
                    line: line.clone(),
                    decision: found.decision.as_str(),
                });
            }
        }
        Ok(vec![OrderEvent::ReturnDecided { id: id.to_owned(), decisions: decisions.to_vec() }])
    }

    pub(super) fn decide_receive_return(
        &self,
        id: &str,
        units: &[(String, u32, bool)],
        warehouse: Option<&str>,
        ctx: &OrderCtx<'_>,
    ) -> Result<Vec<OrderEvent>, DomainError> {
        let request = self.return_of(id)?;
        if units.is_empty() {
            return Err(DomainError::NothingToReturn);
        }
        let mut received = Vec::new();
        for (index, (line, quantity, resellable)) in units.iter().enumerate() {
            let found = request
                .lines
                .iter()
                .find(|l| &l.line == line)
                .ok_or_else(|| DomainError::UnknownOrderLineId { order: self.id.clone(), line: line.clone() })?;
            if units[..index].iter().any(|(other, _, _)| other == line) {
                return Err(DomainError::LineNamedTwice { line: line.clone() });
            }
            let possible = if found.decision == ReturnDecision::Accepted { found.quantity - found.received } else { 0 };
            if *quantity == 0 || *quantity > possible {
                return Err(DomainError::UnitsNotAvailable {
                    line: line.clone(),
                    requested: *quantity,
                    possible,
                    action: "received",
                });
            }
            let sku = self.line(line).map(|l| l.sku.clone()).unwrap_or_default();
            received.push(ReceivedUnits { line: line.clone(), sku, quantity: *quantity, resellable: *resellable });
        }
        let warehouse = match (received.iter().any(|u| u.resellable), warehouse) {
            (false, _) => None,
            (true, None) => return Err(DomainError::WarehouseRequired),
            (true, Some(code)) => {
                ctx.commerce.warehouse(code).ok_or_else(|| DomainError::UnknownWarehouse { code: code.to_owned() })?;
                Some(code.to_owned())
            }
        };
        let mut receipt = ReturnReceipt {
            number: format!("{id}-{}", request.receipts.len() + 1),
            received_at: ctx.now,
            warehouse,
            units: received,
            refund: None,
            restocked: false,
        };
        let mut after = self.clone();
        after.apply_received(id, &receipt);
        let money_units = minor_units(ctx.commerce, &self.context.currency);
        let gone = self.worth_now(money_units).total - after.worth_now(money_units).total;
        if self.is_paid() && gone > Decimal::ZERO {
            receipt.refund = Some(Refund {
                id: format!("{}-R{}", self.id, self.refunds.len() + 1),
                amount: gone,
                reason: RefundReason::Return,
                online: self.payment.online,
                requested_at: ctx.now,
                reference: None,
                settled_at: None,
            });
        }
        receipt.restocked = !receipt.units.iter().any(|u| u.resellable);
        let credit = documents::credit_note(self, &after, ctx)?;
        let mut events = vec![OrderEvent::ReturnReceived { id: id.to_owned(), receipt: Box::new(receipt) }];
        events.extend(credit.map(|invoice| OrderEvent::InvoiceIssued { invoice: Box::new(invoice) }));
        Ok(events)
    }

    pub(super) fn apply_received(&mut self, id: &str, receipt: &ReturnReceipt) {
        for units in &receipt.units {
            let line = self.lines.iter_mut().find(|l| l.id == units.line).expect("decide found the line");
            line.returned = line
                .returned
                .checked_add(units.quantity)
                .filter(|&r| r <= line.amount.quantity)
                .expect("returns at most what was sent");
        }
        let request = self.returns.iter_mut().find(|r| r.id == id).expect("decide found the return");
        for units in &receipt.units {
            let line = request.lines.iter_mut().find(|l| l.line == units.line).expect("decide found the return line");
            line.received += units.quantity;
        }
        if let Some(refund) = &receipt.refund {
            self.refunds.push(refund.clone());
        }
        let request = self.returns.iter_mut().find(|r| r.id == id).expect("decide found the return");
        request.receipts.push(receipt.clone());
    }

    pub(super) fn apply_decided(&mut self, id: &str, decisions: &[(String, bool)]) {
        let request = self.returns.iter_mut().find(|r| r.id == id).expect("decide found the return");
        for (line, accept) in decisions {
            let found = request.lines.iter_mut().find(|l| &l.line == line).expect("decide found the line");
            assert_eq!(found.decision, ReturnDecision::Requested, "return line {line} decided twice");
            found.decision = if *accept { ReturnDecision::Accepted } else { ReturnDecision::Rejected };
        }
    }

    pub(super) fn apply_restocked(&mut self, receipt: &str) {
        let found = self.returns.iter_mut().flat_map(|r| r.receipts.iter_mut()).find(|r| r.number == receipt);
        found.expect("decide found the receipt").restocked = true;
    }

    pub(super) fn decide_restocked(&self, receipt: &str) -> Result<Vec<OrderEvent>, DomainError> {
        let found = self.returns.iter().flat_map(|r| r.receipts.iter()).find(|r| r.number == receipt);
        match found {
            None => Err(DomainError::UnknownReturn { order: self.id.clone(), id: receipt.to_owned() }),
            Some(r) if r.restocked => Ok(Vec::new()),
            Some(_) => Ok(vec![OrderEvent::ReturnRestocked { receipt: receipt.to_owned() }]),
        }
    }

    /// The status returns give an order whose units have otherwise all left: returned when
    /// every unit kept came back, partially returned when some did.
    pub(super) fn returned_status(&self) -> Option<OrderStatus> {
        let returned: u32 = self.lines.iter().map(|l| l.returned).sum();
        if returned == 0 {
            return None;
        }
        Some(if self.lines.iter().all(|l| l.kept() == 0) {
            OrderStatus::Returned
        } else {
            OrderStatus::PartiallyReturned
        })
    }
}
