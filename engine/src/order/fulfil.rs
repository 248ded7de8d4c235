//! Fulfilment: a ready shipment leaves with its tracking numbers and a delivery note, its
//! units taken from the allocations of its logistic center (`Pick`s, which the warehouses
//! then ship); carriers report on it by tracking number.
//!
//! A carrier's report is kept in the shipment's carrier history whatever it says. A code
//! the carrier's status map knows moves the shipment forward only (sent, then delivered or
//! returned): a late report of an earlier status moves nothing. The carrier's own status
//! is the code of its furthest report (latest among equals). A report whose id the
//! shipment already holds is the same report again and changes nothing.

use super::documents::{DeliveryNote, NoteItem};
use super::{Order, OrderCtx, OrderEvent};
use crate::commerce::model::ShipmentStatus;
use crate::error::{client_id, DomainError};
use crate::inventory::Timestamp;

/// The most tracking numbers one shipment takes.
pub const TRACKING_MAX: usize = 20;

/// Units of an order line a warehouse ships (or releases) under one of its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    pub warehouse: String,
    pub key: String,
    pub quantity: u32,
}

/// What a warehouse holds under one of the order's keys when a shipment is about to
/// leave: units allocated on hand, and the units it has shipped and released so far (the
/// order may have recorded more, on their way to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStock {
    pub key: String,
    pub allocated: u32,
    pub shipped: u32,
    pub released: u32,
    /// The day all its units can leave; none while some are at risk.
    pub ready: Option<chrono::NaiveDate>,
}

/// One report of a carrier on a shipment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierReport {
    /// The carrier's id for the report: the same id again is the same report.
    pub id: String,
    /// The carrier's status code, as it sent it.
    pub code: String,
    /// When the carrier says it happened.
    pub at: Timestamp,
    pub received_at: Timestamp,
    /// The commerce's status the carrier's map gives the code; none for a code it lacks.
    pub status: Option<ShipmentStatus>,
}

impl Order {
    pub(super) fn decide_ship(
        &self,
        id: &str,
        tracking: &[String],
        allocated: &[KeyStock],
        ctx: &OrderCtx<'_>,
    ) -> Result<Vec<OrderEvent>, DomainError> {
        let shipment = self.shipment(id)?;
        if !self.is_paid() {
            return Err(DomainError::OrderStatus {
                id: self.id.clone(),
                status: self.status.as_str(),
                action: "shipped",
            });
        }
        if shipment.status != ShipmentStatus::Ready {
            return Err(DomainError::ShipmentStatus {
                id: id.to_owned(),
                status: shipment.status.as_str(),
                action: "shipped",
            });
        }
        if tracking.len() > TRACKING_MAX {
            return Err(DomainError::InvalidQuantity {
                quantity: i64::try_from(tracking.len()).unwrap_or(i64::MAX),
                reason: "at most 20 tracking numbers",
            });
        }
        for (index, number) in tracking.iter().enumerate() {
            client_id("tracking", number)?;
            if tracking[..index].contains(number) {
                return Err(DomainError::DuplicateTracking {
                    carrier: shipment.carrier.clone().unwrap_or_default(),
                    tracking: number.clone(),
                });
            }
        }
        let picks = self.picks(shipment, allocated, ctx)?;
        let note = DeliveryNote {
            number: format!("{}-D{}", self.id, self.delivery_notes.len() + 1),
            shipment: id.to_owned(),
            issued_at: ctx.now,
            tracking: tracking.to_vec(),
            items: shipment
                .items
                .iter()
                .filter(|i| i.quantity > 0)
                .map(|i| NoteItem {
                    line: i.line.clone(),
                    sku: i.sku.clone(),
                    name: self.line(&i.line).map(|l| l.name.clone()).unwrap_or_default(),
                    quantity: i.quantity,
                })
                .collect(),
        };
        Ok(vec![OrderEvent::ShipmentSent {
            shipment: id.to_owned(),
            tracking: tracking.to_vec(),
            picks,
            note: Box::new(note),
        }])
    }

    /// Which keys the shipment's units are shipped from: the allocations of its lines in
    /// its logistic center (any, for a pick-up parcel from several), as far as the
    /// warehouses hold them allocated on hand.
    fn picks(
        &self,
        shipment: &super::OrderShipment,
        allocated: &[KeyStock],
        ctx: &OrderCtx<'_>,
    ) -> Result<Vec<Pick>, DomainError> {
        let in_center = |warehouse: &str| {
            shipment.center.is_empty()
                || ctx.commerce.warehouse(warehouse).is_some_and(|w| w.logistic_center == shipment.center)
        };
        let mut free = self.free_on_hand(allocated);
        let mut picks: Vec<Pick> = Vec::new();
        for item in shipment.items.iter().filter(|i| i.quantity > 0) {
            let line = self
                .line(&item.line)
                .ok_or_else(|| DomainError::UnknownOrderLineId { order: self.id.clone(), line: item.line.clone() })?;
            let mut needed = item.quantity;
            for allocation in line.allocations.iter().filter(|a| in_center(&a.warehouse)) {
                let Some((_, on_hand)) = free.iter_mut().find(|(key, _)| *key == allocation.key) else { continue };
                let take = needed.min(*on_hand);
                if take == 0 {
                    continue;
                }
                *on_hand -= take;
                needed -= take;
                picks.push(Pick {
                    warehouse: allocation.warehouse.clone(),
                    key: allocation.key.clone(),
                    quantity: take,
                });
                if needed == 0 {
                    break;
                }
            }
            if needed > 0 {
                return Err(DomainError::NotAllocated {
                    id: shipment.id.clone(),
                    line: item.line.clone(),
                    needed: item.quantity,
                    allocated: item.quantity - needed,
                });
            }
        }
        Ok(picks)
    }

    /// Units allocated on hand under each key that no recorded shipment takes: what the
    /// order recorded and the warehouse does not have yet is counted as gone (a release
    /// counted against on-hand units, the last a release takes).
    pub(super) fn free_on_hand(&self, allocated: &[KeyStock]) -> Vec<(String, u32)> {
        allocated
            .iter()
            .map(|stock| {
                let recorded = self.lines.iter().flat_map(|l| &l.allocations).find(|a| a.key == stock.key);
                let (shipped, released) = recorded.map_or((0, 0), |a| (a.shipped, a.released));
                let on_the_way = shipped.saturating_sub(stock.shipped) + released.saturating_sub(stock.released);
                (stock.key.clone(), stock.allocated.saturating_sub(on_the_way))
            })
            .collect()
    }

    pub(super) fn apply_sent(
        &mut self,
        id: &str,
        tracking: &[String],
        picks: &[Pick],
        note: &DeliveryNote,
        at: Timestamp,
    ) {
        let shipment = self.shipments.iter_mut().find(|s| s.id == id).expect("decide found the shipment");
        assert_eq!(shipment.status, ShipmentStatus::Ready, "shipment {id} sent when not ready");
        shipment.status = ShipmentStatus::Sent;
        shipment.tracking = tracking.to_vec();
        shipment.sent_at = Some(at);
        for pick in picks {
            let allocation = self
                .lines
                .iter_mut()
                .flat_map(|l| l.allocations.iter_mut())
                .find(|a| a.key == pick.key)
                .expect("a pick names an allocation of the order");
            assert!(allocation.held() >= pick.quantity, "allocation {} ships more than it holds", pick.key);
            allocation.shipped += pick.quantity;
        }
        self.delivery_notes.push(note.clone());
    }

    pub(super) fn decide_report(&self, id: &str, report: &CarrierReport) -> Result<Vec<OrderEvent>, DomainError> {
        let shipment = self.shipment(id)?;
        if shipment.carrier_events.iter().any(|e| e.id == report.id) {
            return Ok(Vec::new());
        }
        Ok(vec![OrderEvent::CarrierReported { shipment: id.to_owned(), report: report.clone() }])
    }

    pub(super) fn apply_report(&mut self, id: &str, report: &CarrierReport) {
        let shipment = self.shipments.iter_mut().find(|s| s.id == id).expect("decide found the shipment");
        shipment.carrier_events.push(report.clone());
        if let Some(status) = report.status {
            let moves = shipment.has_left() && status.carrier_rank() > shipment.status.carrier_rank();
            if moves {
                shipment.status = status;
                if status == ShipmentStatus::Delivered {
                    shipment.delivered_at = Some(report.at);
                }
            }
        }
        shipment.carrier_status = shipment
            .carrier_events
            .iter()
            .filter_map(|e| e.status.map(|s| (s.carrier_rank(), e.at, &e.code)))
            .max_by_key(|(rank, at, _)| (*rank, *at))
            .map(|(_, _, code)| code.clone());
    }
}
