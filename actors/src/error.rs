//! `ActorError`: why an actor did not make a change or answer a request. One type for
//! every actor (warehouses, carts, orders, the gateways they call), with one stable
//! `code()` each variant shows clients; the HTTP adapter maps it to a status in one place.

use mercato_engine::DomainError;

use crate::journal::NotDurable;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActorError {
    /// The engine refused it: nothing changed.
    #[error(transparent)]
    Refused(#[from] DomainError),
    /// The log could not take it (nothing changed), or failed after taking it (the outcome
    /// is unknown: the node stops and recovers from the log).
    #[error(transparent)]
    NotDurable(#[from] NotDurable),
    /// A warehouse's mailbox was full: the request was not sent; retry shortly.
    #[error("warehouse \"{0}\" is busy; retry shortly")]
    Busy(String),
    /// A warehouse did not answer in time (or is not running): it may still make the
    /// change.
    #[error("warehouse \"{0}\" did not answer; retry shortly")]
    Unavailable(String),
    /// An actor other than a warehouse stopped before it answered (the node is stopping).
    #[error("{0} stopped before answering; retry shortly")]
    Stopped(String),
    /// The payment gateway could not be asked or did not answer in time: nothing was
    /// charged that the node knows of (an approval that comes later is voided).
    #[error("payment gateway \"{0}\" did not answer; retry shortly")]
    Gateway(String),
}

impl ActorError {
    /// The stable code a client sees: the engine's for a refusal; `unavailable` when the
    /// log did not take the change (nothing applied, safe to retry); `outcome_unknown`
    /// when it failed after taking it; then who did not answer.
    pub fn code(&self) -> &'static str {
        match self {
            ActorError::Refused(error) => error.code(),
            ActorError::NotDurable(NotDurable { queued: false, .. }) => "unavailable",
            ActorError::NotDurable(NotDurable { queued: true, .. }) => "outcome_unknown",
            ActorError::Busy(_) => "warehouse_busy",
            ActorError::Unavailable(_) => "warehouse_unavailable",
            ActorError::Stopped(_) => "unavailable",
            ActorError::Gateway(_) => "gateway_unavailable",
        }
    }

    /// Whether the change certainly did not happen (so its idempotency key is free again).
    pub fn nothing_changed(&self) -> bool {
        !matches!(self, ActorError::NotDurable(NotDurable { queued: true, .. }))
    }
}
