//! `ExecuteOrder`: a command on a placed order (a payment confirmed). Decided, recorded and
//! applied in one step; the caller waits for the receipt. A refusal carries the LSN of the
//! order's last record, which the caller waits for before it answers.

use std::sync::Arc;

use actix::prelude::*;
use mercato_engine::order::{Order, OrderCommand};
use mercato_engine::DomainError;
use mercato_persistence::log::{Lsn, Receipt};

use super::actor::{Listed, OrderActor};
use crate::error::ActorError;
use crate::journal::Committed;
use crate::stored::{self, RECORD_ORDER};

/// The order as the command left it with its record's receipt, or the refusal with the
/// LSN of the order's last record.
pub type Executed = Result<(Arc<Order>, Option<Receipt>), (ActorError, Lsn)>;

#[derive(Message)]
#[rtype(result = "Executed")]
pub struct ExecuteOrder {
    pub id: String,
    pub command: OrderCommand,
}

impl Handler<ExecuteOrder> for OrderActor {
    type Result = MessageResult<ExecuteOrder>;

    fn handle(&mut self, message: ExecuteOrder, _: &mut Self::Context) -> Self::Result {
        let Some(entry) = self.orders.get_mut(&message.id) else {
            return MessageResult(Err((DomainError::UnknownOrder { id: message.id }.into(), 0)));
        };
        let before = entry.lsn;
        MessageResult(change(&self.commerce, &self.journal, entry, &message).map_err(|error| (error, before)))
    }
}

/// Decides, records and applies one command on a listed order.
fn change(
    commerce: &str,
    journal: &crate::journal::Journal,
    entry: &mut Listed,
    message: &ExecuteOrder,
) -> Result<(Arc<Order>, Option<Receipt>), ActorError> {
    let events = entry.order.decide(&message.command)?;
    let record = |remembered: Option<&crate::idempotency::Remembered>| {
        journal.encode(|| stored::order_record(commerce, &message.id, &events, remembered))
    };
    let committed = journal.commit(RECORD_ORDER, record, || {
        let mut changed = Order::clone(&entry.order);
        for event in &events {
            changed.apply(event);
        }
        (Arc::new(changed), None)
    });
    let Committed { applied: changed, receipt, .. } = committed.map_err(|refused| refused.error)?;
    // The order keeps its place in the list: its placement time and id do not change.
    *entry = Listed::new(Arc::clone(&changed), receipt.as_ref());
    Ok((changed, receipt))
}
