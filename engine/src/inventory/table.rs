//! The reservations of a warehouse, found by id. Each reservation is stored once, and the
//! table finds it by hashing its own `id`: no second copy of the id as a key, so filing a
//! reservation moves it in whole and allocates nothing beyond the table's own growth.

use std::fmt;
use std::hash::BuildHasher;

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use super::record::Reservation;

#[derive(Clone, Default)]
pub(crate) struct ReservationTable {
    table: HashTable<Reservation>,
}

fn hash(id: &str) -> u64 {
    FxBuildHasher.hash_one(id)
}

impl ReservationTable {
    pub(crate) fn get(&self, id: &str) -> Option<&Reservation> {
        self.table.find(hash(id), |r| &*r.id == id)
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut Reservation> {
        self.table.find_mut(hash(id), |r| &*r.id == id)
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// Files a reservation; gives it back when one with its id is already filed.
    pub(crate) fn insert(&mut self, reservation: Reservation) -> Result<(), Reservation> {
        match self.table.entry(hash(&reservation.id), |r| r.id == reservation.id, |r| hash(&r.id)) {
            Entry::Occupied(_) => Err(reservation),
            Entry::Vacant(slot) => {
                slot.insert(reservation);
                Ok(())
            }
        }
    }

    pub(crate) fn remove(&mut self, id: &str) -> Option<Reservation> {
        self.table.find_entry(hash(id), |r| &*r.id == id).ok().map(|entry| entry.remove().0)
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// In no particular order: whoever emits events from it sorts first.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Reservation> {
        self.table.iter()
    }

    fn sorted(&self) -> Vec<&Reservation> {
        let mut all: Vec<&Reservation> = self.table.iter().collect();
        all.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        all
    }
}

impl PartialEq for ReservationTable {
    fn eq(&self, other: &Self) -> bool {
        self.table.len() == other.table.len() && self.values().all(|r| other.get(&r.id) == Some(r))
    }
}

impl Eq for ReservationTable {}

impl fmt::Debug for ReservationTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.sorted()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::inventory::{Parts, Source, SupplyPart, Timestamp};

    fn reservation(id: &str, quantity: u32) -> Reservation {
        let parts: Parts = [SupplyPart { source: Source::OnHand, quantity }].into_iter().collect();
        Reservation { id: id.to_owned(), sku: Arc::from("MOUSE"), expires_at: Timestamp(1), parts }
    }

    // Proves a duplicate id is refused and handed back, removal finds by id, and equality
    // ignores the order reservations were filed in.
    #[test]
    fn files_and_finds_by_id() {
        let mut table = ReservationTable::default();
        for id in ["cart-b", "cart-a", "cart-c"] {
            table.insert(reservation(id, 1)).expect("a new id");
        }
        let refused = table.insert(reservation("cart-a", 9)).expect_err("a duplicate id");
        assert_eq!(refused.parts[0].quantity, 9);
        assert_eq!(table.get("cart-a").map(|r| r.parts[0].quantity), Some(1));
        assert_eq!(table.remove("cart-c").map(|r| r.id), Some("cart-c".to_owned()));
        assert!(!table.contains("cart-c") && table.remove("cart-c").is_none());

        let mut other = ReservationTable::default();
        for id in ["cart-a", "cart-b"] {
            other.insert(reservation(id, 1)).expect("a new id");
        }
        assert_eq!(table, other);
    }
}
