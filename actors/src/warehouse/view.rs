//! `ExecuteAndView`: a back-office change answered with the stock it left, in the same step.

use super::*;

/// Builds the answer to remember from a change's events and the stock it left.
pub type Respond = Box<dyn FnOnce(&[InventoryEvent], Option<&StockView>) -> Answer + Send>;

/// A request's idempotency key, and how to build the answer to keep under it.
pub struct Remember {
    pub stamp: Stamp,
    pub respond: Respond,
}

/// What an `ExecuteAndView` did: the events, the SKU's stock after them, and the answer
/// remembered under the request's idempotency key (when it carried one and the change
/// was made).
pub type Viewed = (Vec<InventoryEvent>, Option<StockView>, Option<Answer>);

/// Runs one command, then reads the SKU's stock in the same step, so the view shows
/// exactly the state the command left (a back-office change answers with it). With
/// `remember`, the answer is built from that and kept in the change's own log record.
#[derive(Message)]
#[rtype(result = "Result<Viewed, ActorError>")]
pub struct ExecuteAndView {
    pub command: InventoryCommand,
    pub sku: String,
    pub remember: Option<Remember>,
}

impl Handler<ExecuteAndView> for WarehouseActor {
    type Result = Reply<Result<Viewed, ActorError>>;

    fn handle(&mut self, message: ExecuteAndView, _: &mut Self::Context) -> Self::Result {
        let now = self.clock.now();
        let sku = message.sku;
        let stamp = message.remember.as_ref().map(|r| r.stamp.clone());
        let executed = match message.remember {
            None => self.execute_then(&message.command, now, |_, _| None),
            Some(Remember { stamp, respond }) => self.execute_then(&message.command, now, |actor, events| {
                let answer = respond(events, actor.view(&sku).as_ref());
                Some(Remembered { stamp, answer, at: now })
            }),
        };
        let view = self.view(&sku);
        let table = self.idempotency.clone();
        // A key is freed only when the outcome is certainly "nothing changed"; when it is
        // unknown, the key stays in flight until it is known (or times out).
        let nothing_changed = match &executed {
            Ok((_, _, remembered)) => remembered.is_none(),
            Err(error) => error.nothing_changed(),
        };
        if let (true, Some(stamp)) = (nothing_changed, &stamp) {
            table.abandon(stamp);
        }
        match executed {
            Ok((events, receipt, remembered)) => {
                let answer = remembered.as_ref().map(|r| r.answer.clone());
                let reply = self.answer(Ok(((events, view, answer), receipt)));
                match (reply, remembered) {
                    (reply, None) => reply,
                    // The table learns the answer once the change is durable.
                    (Reply::Ready(outcome), Some(remembered)) => {
                        if outcome.is_ok() {
                            table.remember(remembered);
                        }
                        Reply::Ready(outcome)
                    }
                    (Reply::Durable(pending), Some(remembered)) => Reply::Durable(Box::pin(async move {
                        let outcome = pending.await;
                        if outcome.is_ok() {
                            table.remember(remembered);
                        }
                        outcome
                    })),
                }
            }
            Err(error) => self.answer(Err(error)),
        }
    }
}
