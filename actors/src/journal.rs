//! How actors' changes reach the write-ahead log, and how they come back at start.
//!
//! Every change an actor makes is one record: the events it decided, tagged with the
//! actor they belong to. The record is queued on the log before the events are applied,
//! so the log's order is the order changes were made; the client's reply waits until the
//! record is durable. A change the log cannot take (its queue is full, or it has stopped)
//! is not applied at all.

use std::collections::BTreeMap;

use mercato_engine::inventory::{InventoryEvent, WarehouseStock};
use mercato_persistence::codec;
use mercato_persistence::log::{AppendError, LogHandle, Lsn, Receipt};
use mercato_persistence::snapshot::Part;
use mercato_persistence::PersistenceError;
use serde::{Deserialize, Serialize};

/// The record kind of a warehouse's change.
pub const RECORD_WAREHOUSE: u8 = 1;

/// One warehouse's change: the events of one command, as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarehouseEntry {
    pub commerce: String,
    pub warehouse: String,
    pub events: Vec<InventoryEvent>,
}

/// The same record as written, borrowing what it holds (it encodes to the same bytes).
#[derive(Debug, Serialize)]
pub struct WarehouseEntryRef<'a> {
    pub commerce: &'a str,
    pub warehouse: &'a str,
    pub events: &'a [InventoryEvent],
}

/// Why a change could not be made durable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the change was not made durable: {reason}")]
pub struct NotDurable {
    pub reason: String,
    /// Whether the record had reached the log's queue. When it had, the log failed after
    /// taking it: the change may still come back at restart (its outcome is unknown, and a
    /// retry needs its idempotency key). When it had not, nothing was applied.
    pub queued: bool,
}

impl NotDurable {
    pub(crate) fn refused(reason: String) -> Self {
        Self { reason, queued: false }
    }

    pub(crate) fn unknown(reason: String) -> Self {
        Self { reason, queued: true }
    }
}

/// Where an actor's changes go: nowhere (tests and benchmarks of the in-memory core), or
/// the node's log.
#[derive(Clone, Default)]
pub enum Journal {
    #[default]
    Memory,
    Log(LogHandle),
}

impl Journal {
    /// Queues a record on the log; the receipt resolves once it is durable. Nothing is
    /// queued in memory mode.
    pub fn record(&self, kind: u8, entry: &impl Serialize) -> Result<Option<Receipt>, NotDurable> {
        let Journal::Log(log) = self else { return Ok(None) };
        let payload = codec::encode(entry).map_err(|error| NotDurable::refused(error.to_string()))?;
        log.append(kind, payload).map(Some).map_err(|error| {
            if let AppendError::Stopped { .. } = &error {
                tracing::error!(%error, "a change was refused: the log has stopped");
            }
            NotDurable::refused(error.to_string())
        })
    }
}

impl Journal {
    /// The last LSN handed out: every change an actor made so far has an LSN at or below
    /// it, every later one above (0 in memory).
    pub fn covers(&self) -> Lsn {
        match self {
            Journal::Memory => 0,
            Journal::Log(log) => log.last_assigned(),
        }
    }

    /// None when every change up to `lsn` is acknowledged (always, in memory); else what
    /// resolves once it is, or with the failure when the log stops first.
    pub fn unsettled(
        &self,
        lsn: mercato_persistence::log::Lsn,
    ) -> Option<impl std::future::Future<Output = Result<(), mercato_persistence::log::LogFailure>> + 'static> {
        match self {
            Journal::Log(log) if log.progress().acknowledged < lsn => Some(log.reached(lsn, false)),
            _ => None,
        }
    }
}

/// A warehouse's state as a snapshot part holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarehouseSnapshot {
    pub commerce: String,
    pub warehouse: String,
    pub stock: WarehouseStock,
}

/// The snapshot part key of a warehouse (the unit separator cannot appear in a code).
pub fn warehouse_part_key(commerce: &str, warehouse: &str) -> String {
    format!("warehouse\u{1f}{commerce}\u{1f}{warehouse}")
}

/// The warehouses' states rebuilt from a snapshot and the log, by (commerce, warehouse).
#[derive(Debug, Default)]
pub struct Recovered {
    pub warehouses: BTreeMap<(String, String), WarehouseStock>,
    /// Per warehouse, the LSN its snapshot covers: log records at or below it are in the
    /// state already and are skipped.
    covered: BTreeMap<(String, String), Lsn>,
}

impl Recovered {
    /// Starts from a snapshot generation; returns the states and the LSN the log must be
    /// replayed after (the lowest any part covers).
    pub fn from_snapshot(parts: &BTreeMap<String, Part>) -> Result<(Self, Lsn), PersistenceError> {
        let mut recovered = Recovered::default();
        let mut after: Option<Lsn> = None;
        for (key, part) in parts {
            if !key.starts_with("warehouse\u{1f}") {
                return Err(PersistenceError::Codec(format!("snapshot part {key:?} is of no known kind")));
            }
            let snapshot: WarehouseSnapshot = codec::decode_part(&part.bytes)
                .map_err(|error| PersistenceError::Codec(format!("snapshot part {key:?}: {error}")))?;
            let id = (snapshot.commerce, snapshot.warehouse);
            recovered.covered.insert(id.clone(), part.lsn);
            recovered.warehouses.insert(id, snapshot.stock);
            after = Some(after.map_or(part.lsn, |a| a.min(part.lsn)));
        }
        Ok((recovered, after.unwrap_or(0)))
    }

    /// Folds one log record into the states. A record that does not decode is corruption
    /// the checksums missed (or a record from a newer version): recovery refuses it.
    pub fn apply(&mut self, lsn: u64, kind: u8, payload: &[u8]) -> Result<(), PersistenceError> {
        match kind {
            RECORD_WAREHOUSE => {
                let entry: WarehouseEntry = codec::decode(payload)
                    .map_err(|error| PersistenceError::Codec(format!("record {lsn}: {error}")))?;
                let id = (entry.commerce.clone(), entry.warehouse.clone());
                if self.covered.get(&id).is_some_and(|&covered| lsn <= covered) {
                    return Ok(());
                }
                let stock = self
                    .warehouses
                    .entry((entry.commerce, entry.warehouse.clone()))
                    .or_insert_with(|| WarehouseStock::new(entry.warehouse));
                // `apply` trusts its events (the log only holds what `decide` produced); a
                // record that passed its checksum yet breaks that trust must stop the start
                // with a message, not bring the process down.
                let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    for event in entry.events {
                        stock.apply_owned(event);
                    }
                }));
                applied.map_err(|_| {
                    PersistenceError::Codec(format!("record {lsn} does not apply to warehouse {}", stock.warehouse))
                })
            }
            other => Err(PersistenceError::Codec(format!("record {lsn} has unknown kind {other}"))),
        }
    }

    /// The recovered state of a warehouse, taken out (empty when the log never named it).
    pub fn take_warehouse(&mut self, commerce: &str, warehouse: &str) -> WarehouseStock {
        self.warehouses
            .remove(&(commerce.to_owned(), warehouse.to_owned()))
            .unwrap_or_else(|| WarehouseStock::new(warehouse))
    }
}

#[cfg(test)]
mod tests {
    use mercato_engine::inventory::InventoryEvent;

    use super::*;

    // Proves the record as written (borrowed) and as read (owned) are the same bytes.
    #[test]
    fn written_and_read_entries_encode_alike() {
        let events = vec![InventoryEvent::StockReceived { sku: "MOUSE".into(), quantity: 3 }];
        let written = WarehouseEntryRef { commerce: "demo", warehouse: "wh-madrid", events: &events };
        let bytes = codec::encode(&written).expect("encodes");
        let read: WarehouseEntry = codec::decode(&bytes).expect("decodes");
        assert_eq!(read, WarehouseEntry { commerce: "demo".into(), warehouse: "wh-madrid".into(), events });
        assert_eq!(codec::encode(&read).expect("encodes"), bytes);
    }
}
