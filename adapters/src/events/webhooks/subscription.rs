//! A subscription and its delivery cursor, as the event store keeps them (JSON).

use mercato_persistence::events::{EventStore, Position, Table};
use serde::{Deserialize, Serialize};

use super::{commerce_prefix, hook_key};

/// A signing secret: `whsec_` and 32 random bytes in base64. A rotated-out secret still
/// signs until it expires, so receivers can switch without losing a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret {
    pub secret: String,
    /// Milliseconds since the Unix epoch; none for the current secret.
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub commerce: String,
    pub url: String,
    /// The types it receives; empty for every type.
    pub types: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
    /// Why it was disabled (by the administrator, or a 410 from the receiver).
    pub disabled_reason: Option<String>,
    pub secrets: Vec<Secret>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub created_by: String,
    /// Set for a notification rule: its channel, recipients and templates (`notify.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<super::notify::Notify>,
}

impl Subscription {
    /// Whether it receives events of `kind`.
    pub fn wants(&self, kind: &str) -> bool {
        self.types.is_empty() || self.types.iter().any(|t| t == kind)
    }

    /// The secrets that sign at `now` (ms): the current one and those not yet expired.
    pub fn signing(&self, now: i64) -> Vec<&str> {
        self.secrets.iter().filter(|s| s.expires_at.is_none_or(|at| at > now)).map(|s| s.secret.as_str()).collect()
    }
}

/// Where a subscription's delivery stands: every event at or before `after` is done
/// (delivered, given up, or not of its types) except those in `pending` (waiting, in
/// flight or retrying: sent again after a restart).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cursor {
    pub after: (u64, u16),
    pub pending: Vec<(u64, u16)>,
    /// Attempts made so far.
    pub attempts: u64,
    /// Events delivered and given up so far.
    pub delivered: u64,
    pub given_up: u64,
}

impl Cursor {
    pub fn after(&self) -> Position {
        Position { lsn: self.after.0, index: self.after.1 }
    }
}

pub fn load(store: &EventStore, commerce: &str, id: &str) -> Option<Subscription> {
    let bytes = store.fetch(Table::Hooks, &hook_key(commerce, id)).ok().flatten()?;
    serde_json::from_slice(&bytes).ok()
}

/// A commerce's subscriptions, by id.
pub fn of_commerce(store: &EventStore, commerce: &str) -> Vec<Subscription> {
    let rows = store.scan(Table::Hooks, &commerce_prefix(commerce), None, usize::MAX).unwrap_or_default();
    rows.into_iter().filter_map(|(_, v)| serde_json::from_slice(&v).ok()).collect()
}

/// Every subscription of the node.
pub fn all(store: &EventStore) -> Vec<Subscription> {
    let rows = store.scan(Table::Hooks, b"", None, usize::MAX).unwrap_or_default();
    rows.into_iter().filter_map(|(_, v)| serde_json::from_slice(&v).ok()).collect()
}

/// A subscription's cursor; none when it has none (deleted), an error when the store
/// could not be read.
pub fn cursor(store: &EventStore, commerce: &str, id: &str) -> Result<Option<Cursor>, String> {
    let bytes = store.fetch(Table::Cursors, &hook_key(commerce, id)).map_err(|e| e.to_string())?;
    bytes.map(|b| serde_json::from_slice(&b).map_err(|e| e.to_string())).transpose()
}
