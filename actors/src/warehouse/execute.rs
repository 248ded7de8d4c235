//! `Execute`, `ExecuteAll`, `ExecuteQueued` and `ExpireNow`: commands on the stock.

use super::*;

/// Runs one inventory command now; replies with the events it caused once they are
/// durable.
#[derive(Message)]
#[rtype(result = "Result<Vec<InventoryEvent>, ActorError>")]
pub struct Execute(pub InventoryCommand);

impl Handler<Execute> for WarehouseActor {
    type Result = Reply<Result<Vec<InventoryEvent>, ActorError>>;

    fn handle(&mut self, message: Execute, _: &mut Self::Context) -> Self::Result {
        let now = self.clock.now();
        let executed = self.execute(&message.0, now);
        self.answer(executed)
    }
}

/// Runs several commands in order, each decided against the state the previous one left,
/// and replies with each one's outcome: one mailbox round trip for a whole cart's lines
/// or a back-office file. A refusal affects only its own command.
#[derive(Message)]
#[rtype(result = "Vec<Result<Vec<InventoryEvent>, ActorError>>")]
pub struct ExecuteAll(pub Vec<InventoryCommand>);

impl Handler<ExecuteAll> for WarehouseActor {
    type Result = Reply<Vec<Result<Vec<InventoryEvent>, ActorError>>>;

    fn handle(&mut self, message: ExecuteAll, _: &mut Self::Context) -> Self::Result {
        let now = self.clock.now();
        let executed: Vec<_> = message.0.iter().map(|command| self.execute(command, now)).collect();
        if executed.iter().all(|outcome| matches!(outcome, Err(_) | Ok((_, None)))) {
            return self.settle(executed.into_iter().map(|outcome| outcome.map(|(events, _)| events)).collect());
        }
        Reply::Durable(Box::pin(async move {
            let mut outcomes = Vec::with_capacity(executed.len());
            for outcome in executed {
                outcomes.push(match outcome {
                    Ok((events, receipt)) => durable(events, receipt).await,
                    Err(error) => Err(error),
                });
            }
            outcomes
        }))
    }
}

/// Runs one command and replies as soon as its events are applied and their record is
/// queued on the log, without waiting for the record to be durable. For a holder (a cart)
/// that logs its own record of the outcome afterwards and answers its client only once
/// that later record is durable: the log makes a record durable only after every record
/// before it. A refusal still waits for the changes it was decided against, like every
/// answer here.
#[derive(Message)]
#[rtype(result = "Result<Queued, ActorError>")]
pub struct ExecuteQueued(pub InventoryCommand);

/// What `ExecuteQueued` did: the events, and for a reservation made, the day each of its
/// parts can leave the warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub events: Vec<InventoryEvent>,
    pub ready_dates: Vec<chrono::NaiveDate>,
}

impl Handler<ExecuteQueued> for WarehouseActor {
    type Result = Reply<Result<Queued, ActorError>>;

    fn handle(&mut self, message: ExecuteQueued, _: &mut Self::Context) -> Self::Result {
        let now = self.clock.now();
        match self.execute(&message.0, now) {
            Ok((events, receipt)) if !events.is_empty() => {
                let ready_dates = match events.first() {
                    Some(InventoryEvent::StockReserved { reservation }) => {
                        let today = date_of(now);
                        let held = self.stock.reservation(&reservation.id).unwrap_or(reservation);
                        self.stock.ready_dates(held, &self.commerce.load(), today)
                    }
                    _ => Vec::new(),
                };
                // The receipt is dropped: the record stays queued, and the holder's own
                // later record is what its client waits for.
                drop(receipt);
                Reply::Ready(Ok(Queued { events, ready_dates }))
            }
            other => self.answer(other.map(|(events, receipt)| (Queued { events, ready_dates: Vec::new() }, receipt))),
        }
    }
}

/// Expires every reservation whose time has come, now, and replies once that is durable
/// with how many went. At start it releases what expired while the node was down, before
/// the node reports ready.
#[derive(Message)]
#[rtype(result = "Result<usize, ActorError>")]
pub struct ExpireNow;

impl Handler<ExpireNow> for WarehouseActor {
    type Result = Reply<Result<usize, ActorError>>;

    fn handle(&mut self, _: ExpireNow, _: &mut Self::Context) -> Self::Result {
        let now = self.clock.now();
        let executed = self.execute(&InventoryCommand::ExpireReservations, now);
        self.answer(executed.map(|(events, receipt)| (events.len(), receipt)))
    }
}
