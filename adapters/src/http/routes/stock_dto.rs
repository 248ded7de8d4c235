//! JSON shapes of stock: records, availability and the events a stock change caused. Kept
//! apart from the engine's types so the API can stay stable while the engine changes.

use mercato_engine::commerce::model::StockPolicy;
use mercato_engine::inventory::{Availability, InventoryEvent, Source, StockRecord};
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyDto {
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_date: Option<String>,
}

impl From<StockPolicy> for PolicyDto {
    fn from(policy: StockPolicy) -> Self {
        let mut dto = Self { kind: policy.name(), days: None, cap: None, release_date: None };
        match policy {
            StockPolicy::StockOnly | StockPolicy::BackorderIncoming => {}
            StockPolicy::BackorderLeadTime { days, cap } => {
                dto.days = Some(days);
                dto.cap = cap;
            }
            StockPolicy::Preorder { release_date, cap } => {
                dto.release_date = Some(release_date.to_string());
                dto.cap = Some(cap);
            }
        }
        dto
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommitmentsDto {
    pub reserved: u32,
    pub promised: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchDto {
    pub id: String,
    pub quantity: u32,
    pub expected_date: String,
    pub reserved: u32,
    pub promised: u32,
    pub free: u32,
}

/// `on_hand`, `reserved`, `allocated`, `available`, then what comes later.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StockDto {
    pub warehouse: String,
    pub sku: String,
    pub policy: PolicyDto,
    pub on_hand: u32,
    pub reserved: u32,
    pub allocated: u32,
    pub available: u32,
    pub batches: Vec<BatchDto>,
    pub lead_time: CommitmentsDto,
    pub preorder: CommitmentsDto,
    /// Carts holding units of this SKU here.
    pub reservations: usize,
    pub availability: AvailabilityDto,
}

impl StockDto {
    pub fn new(
        warehouse: &str,
        sku: &str,
        record: &StockRecord,
        availability: &Availability,
        reservations: usize,
    ) -> Self {
        Self {
            warehouse: warehouse.to_owned(),
            sku: sku.to_owned(),
            policy: availability.policy.into(),
            on_hand: record.on_hand,
            reserved: record.reserved,
            allocated: record.allocated,
            available: record.available(),
            batches: record
                .batches
                .iter()
                .map(|b| BatchDto {
                    id: b.id.clone(),
                    quantity: b.quantity,
                    expected_date: b.expected_date.to_string(),
                    reserved: b.committed.reserved,
                    promised: b.committed.promised,
                    free: b.free(),
                })
                .collect(),
            lead_time: CommitmentsDto { reserved: record.lead_time.reserved, promised: record.lead_time.promised },
            preorder: CommitmentsDto { reserved: record.preorder.reserved, promised: record.preorder.promised },
            reservations,
            availability: availability.into(),
        }
    }
}

/// Where units come from, as the API names it: `on_hand`, `batch`, `lead_time`,
/// `preorder`, `at_risk`.
fn source_name(source: &Source) -> (&'static str, Option<String>) {
    match source {
        Source::OnHand => ("on_hand", None),
        Source::Batch(id) => ("batch", Some(id.clone())),
        Source::LeadTime => ("lead_time", None),
        Source::Preorder => ("preorder", None),
        Source::AtRisk => ("at_risk", None),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DatedSupplyDto {
    pub source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    pub date: String,
    /// Null means unlimited.
    pub quantity: Option<u32>,
}

/// Units sellable now, then later sources by date.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AvailabilityDto {
    pub now: u32,
    pub later: Vec<DatedSupplyDto>,
    /// Units sellable at all; null means unlimited.
    pub total: Option<u64>,
}

impl From<&Availability> for AvailabilityDto {
    fn from(availability: &Availability) -> Self {
        Self {
            now: availability.now,
            later: availability
                .later
                .iter()
                .map(|s| {
                    let (source, batch) = source_name(&s.source);
                    DatedSupplyDto { source, batch, date: s.date.to_string(), quantity: s.quantity }
                })
                .collect(),
            total: availability.total(),
        }
    }
}

/// One event of a stock change, as `{"type": ..., ...}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventDto {
    StockReceived { sku: String, quantity: u32 },
    BatchAnnounced { sku: String, batch: String, quantity: u32, expected_date: String },
    BatchChanged { sku: String, batch: String, quantity: u32, expected_date: String },
    StockAdjusted { sku: String, delta: i64, reason: &'static str },
    StockReserved { reservation: String, sku: String, quantity: u64 },
    ReservationRenewed { reservation: String },
    ReservationReleased { reservation: String },
    ReservationReduced { reservation: String, quantity: u32 },
    ReservationExpired { reservation: String },
    ReservationCommitted { reservation: String, order_line: String },
    ReservationUncommitted { reservation: String, order_line: String },
    OrderLineShipped { order_line: String, quantity: u32 },
    OrderLineCancelled { order_line: String },
    ReturnRestocked { sku: String, quantity: u32 },
    BatchArrived { sku: String, batch: String, quantity: u32 },
    PromiseAllocated { order_line: String, batch: String, quantity: u32, ready_date: String },
    PromiseMoved { order_line: String, from: String, to: String, quantity: u32, ready_date: String },
    PromiseAtRisk { order_line: String, batch: String, quantity: u32 },
    AtRiskAllocated { order_line: String, quantity: u32, ready_date: String },
    AtRiskPromised { order_line: String, batch: String, quantity: u32, ready_date: String },
    ReservationSourced { reservation: String, batch: String, quantity: u32 },
    ReservationMoved { reservation: String, from: String, to: String, quantity: u32 },
    ReservationShortened { reservation: String, batch: String, quantity: u32 },
    BatchClosed { sku: String, batch: String },
    OrderLineReleased { order_line: String, quantity: u32 },
}

impl From<&InventoryEvent> for EventDto {
    fn from(event: &InventoryEvent) -> Self {
        use InventoryEvent as E;
        match event.clone() {
            E::StockReceived { sku, quantity } => Self::StockReceived { sku, quantity },
            E::BatchAnnounced { sku, batch, quantity, expected_date } => {
                Self::BatchAnnounced { sku, batch, quantity, expected_date: expected_date.to_string() }
            }
            E::BatchChanged { sku, batch, quantity, expected_date } => {
                Self::BatchChanged { sku, batch, quantity, expected_date: expected_date.to_string() }
            }
            E::StockAdjusted { sku, delta, reason } => Self::StockAdjusted { sku, delta, reason: reason.as_str() },
            E::StockReserved { reservation } => Self::StockReserved {
                quantity: reservation.quantity(),
                reservation: reservation.id,
                sku: reservation.sku.to_string(),
            },
            E::ReservationRenewed { reservation, .. } => Self::ReservationRenewed { reservation },
            E::ReservationReleased { reservation } => Self::ReservationReleased { reservation },
            E::ReservationReduced { reservation, quantity } => Self::ReservationReduced { reservation, quantity },
            E::ReservationExpired { reservation } => Self::ReservationExpired { reservation },
            E::ReservationCommitted { reservation, order_line, .. } => {
                Self::ReservationCommitted { reservation, order_line }
            }
            E::ReservationUncommitted { reservation, order_line, .. } => {
                Self::ReservationUncommitted { reservation, order_line }
            }
            E::OrderLineShipped { order_line, quantity } => Self::OrderLineShipped { order_line, quantity },
            E::OrderLineCancelled { order_line } => Self::OrderLineCancelled { order_line },
            E::OrderLineReleased { order_line, quantity } => Self::OrderLineReleased { order_line, quantity },
            E::ReturnRestocked { sku, quantity } => Self::ReturnRestocked { sku, quantity },
            E::BatchArrived { sku, batch, quantity } => Self::BatchArrived { sku, batch, quantity },
            E::PromiseAllocated { order_line, batch, quantity, ready_date } => {
                Self::PromiseAllocated { order_line, batch, quantity, ready_date: ready_date.to_string() }
            }
            E::PromiseMoved { order_line, from, to, quantity, ready_date } => {
                Self::PromiseMoved { order_line, from, to, quantity, ready_date: ready_date.to_string() }
            }
            E::PromiseAtRisk { order_line, batch, quantity } => Self::PromiseAtRisk { order_line, batch, quantity },
            E::AtRiskAllocated { order_line, quantity, ready_date } => {
                Self::AtRiskAllocated { order_line, quantity, ready_date: ready_date.to_string() }
            }
            E::AtRiskPromised { order_line, batch, quantity, ready_date } => {
                Self::AtRiskPromised { order_line, batch, quantity, ready_date: ready_date.to_string() }
            }
            E::ReservationSourced { reservation, batch, quantity } => {
                Self::ReservationSourced { reservation, batch, quantity }
            }
            E::ReservationMoved { reservation, from, to, quantity } => {
                Self::ReservationMoved { reservation, from, to, quantity }
            }
            E::ReservationShortened { reservation, batch, quantity } => {
                Self::ReservationShortened { reservation, batch, quantity }
            }
            E::BatchClosed { sku, batch } => Self::BatchClosed { sku, batch },
        }
    }
}
