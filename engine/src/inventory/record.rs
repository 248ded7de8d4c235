//! The state of one SKU in one warehouse, and the reservations that hold its units.

use std::sync::Arc;

use chrono::NaiveDate;
use smallvec::SmallVec;

pub use crate::time::Timestamp;

/// Units held against a source of supply that is not on hand yet: a batch, the lead-time
/// backlog or the preorder allowance. `reserved` is for carts (expiring), `promised` for
/// placed orders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Commitments {
    pub reserved: u32,
    pub promised: u32,
}

impl Commitments {
    pub fn total(&self) -> u64 {
        u64::from(self.reserved) + u64::from(self.promised)
    }
}

/// Announced incoming stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub id: String,
    pub quantity: u32,
    pub expected_date: NaiveDate,
    pub committed: Commitments,
}

impl Batch {
    /// Units of the batch not yet reserved or promised.
    pub fn free(&self) -> u32 {
        free_of(u64::from(self.quantity), self.committed.total())
    }
}

/// One SKU in one warehouse. `available = on_hand - reserved - allocated`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StockRecord {
    pub on_hand: u32,
    /// Units of on-hand held by carts.
    pub reserved: u32,
    /// Units of on-hand allocated to placed orders not yet shipped.
    pub allocated: u32,
    /// Incoming batches, earliest expected date first (ties by id).
    pub batches: Vec<Batch>,
    pub lead_time: Commitments,
    pub preorder: Commitments,
}

impl StockRecord {
    /// Units on hand that nobody holds.
    pub fn available(&self) -> u32 {
        free_of(u64::from(self.on_hand), u64::from(self.reserved) + u64::from(self.allocated))
    }

    pub fn batch(&self, id: &str) -> Option<&Batch> {
        self.batches.iter().find(|b| b.id == id)
    }

    pub(crate) fn batch_mut(&mut self, id: &str) -> Option<&mut Batch> {
        self.batches.iter_mut().find(|b| b.id == id)
    }

    /// Keeps batches earliest first, ties by id, so supply is always planned in one order.
    pub(crate) fn sort_batches(&mut self) {
        self.batches.sort_by(|a, b| a.expected_date.cmp(&b.expected_date).then_with(|| a.id.cmp(&b.id)));
    }
}

/// `capacity - used`, never below zero, as a quantity.
pub(crate) fn free_of(capacity: u64, used: u64) -> u32 {
    u32::try_from(capacity.saturating_sub(used)).unwrap_or(u32::MAX)
}

/// Where reserved units come from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    OnHand,
    Batch(String),
    LeadTime,
    Preorder,
    /// Promised units a short delivery left without a source: counted against nothing, and
    /// named in a `PromiseAtRisk` event so the customer can be told.
    AtRisk,
}

/// Some units of a reservation and where they come from. The delivery date is not stored:
/// it follows from the source's current state (a batch's date may change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplyPart {
    pub source: Source,
    pub quantity: u32,
}

/// The sources of a reservation or an order line. Nearly always one or two, so they live
/// inline and reserving allocates nothing for them.
pub type Parts = SmallVec<[SupplyPart; 2]>;

/// Units held for a cart until `expires_at`. The SKU is the stock record's own shared key,
/// so reserving copies no SKU text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub id: String,
    pub sku: Arc<str>,
    pub expires_at: Timestamp,
    pub parts: Parts,
}

impl Reservation {
    pub fn quantity(&self) -> u64 {
        self.parts.iter().map(|p| u64::from(p.quantity)).sum()
    }
}

/// The stock side of a placed order line in this warehouse: where its units come from.
/// On-hand units are allocated; units from a batch, the lead-time backlog or the preorder
/// allowance are promised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLineStock {
    pub order_line: String,
    pub sku: Arc<str>,
    /// When the order was placed: arriving stock serves the oldest order first.
    pub placed_at: Timestamp,
    pub parts: Parts,
    /// Units shipped and released (cancelled) so far: the order counts the same under the
    /// same key, so its commands say how many in all (`through`), and one sent twice (a
    /// repair after a crash) changes nothing the second time.
    pub shipped: u32,
    pub released: u32,
}

impl OrderLineStock {
    /// Units it holds from every source.
    pub fn held(&self) -> u32 {
        self.parts.iter().map(|p| p.quantity).sum()
    }

    pub fn allocated(&self) -> u32 {
        self.parts.iter().filter(|p| p.source == Source::OnHand).map(|p| p.quantity).sum()
    }
}

/// Moves `quantity` units of `parts` from `from` to `to` (dropped when `to` is none),
/// removing a part that reaches zero and merging into an existing part of `to`.
pub(crate) fn shift(parts: &mut Parts, from: &Source, to: Option<Source>, quantity: u32) {
    let part = parts.iter_mut().find(|p| &p.source == from).expect("the part to shift exists");
    part.quantity = part.quantity.checked_sub(quantity).expect("a part shifts at most what it holds");
    parts.retain(|p| p.quantity > 0);
    if let Some(to) = to {
        match parts.iter_mut().find(|p| p.source == to) {
            Some(existing) => existing.quantity = existing.quantity.checked_add(quantity).expect("bounded by sources"),
            None => parts.push(SupplyPart { source: to, quantity }),
        }
    }
}

impl SupplyPart {
    /// The units of `parts` held from `source`.
    pub fn held_from(parts: &[SupplyPart], source: &Source) -> u32 {
        parts.iter().filter(|p| &p.source == source).map(|p| p.quantity).sum()
    }
}
