//! Reads: `GetStock`, `GetAvailability`, `PeekAvailability`, and the copies for a snapshot
//! (`CopyState`, `TakeSnapshot`).

use super::*;

/// The stock side of some order lines, by key, with the day all of each one's units can
/// leave (none while some are at risk); none for a key this warehouse holds nothing under.
#[derive(Message)]
#[rtype(result = "Vec<Option<(OrderLineStock, Option<NaiveDate>)>>")]
pub struct GetOrderLines {
    pub keys: Vec<String>,
}

impl Handler<GetOrderLines> for WarehouseActor {
    type Result = Reply<Vec<Option<(OrderLineStock, Option<NaiveDate>)>>>;

    fn handle(&mut self, message: GetOrderLines, _: &mut Self::Context) -> Self::Result {
        let commerce = self.commerce.load();
        let today = self.clock.today();
        let found = message
            .keys
            .iter()
            .map(|key| {
                let line = self.stock.order_line(key)?;
                Some((line.clone(), self.stock.line_ready(line, &commerce, today)))
            })
            .collect();
        self.settle(found)
    }
}

/// One SKU's record and what it can still be sold as; none for a SKU the commerce does not
/// sell.
#[derive(Message)]
#[rtype(result = "Option<StockView>")]
pub struct GetStock {
    pub sku: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockView {
    pub record: StockRecord,
    pub availability: Availability,
    /// The reservations holding units of this SKU.
    pub reservations: usize,
}

impl Handler<GetStock> for WarehouseActor {
    type Result = Reply<Option<StockView>>;

    fn handle(&mut self, message: GetStock, _: &mut Self::Context) -> Self::Result {
        self.settle(self.view(&message.sku))
    }
}

/// What each of the SKUs can still be sold as here; SKUs the commerce does not sell are
/// left out.
#[derive(Message)]
#[rtype(result = "BTreeMap<String, Availability>")]
pub struct GetAvailability {
    pub skus: Vec<String>,
}

impl Handler<GetAvailability> for WarehouseActor {
    type Result = Reply<BTreeMap<String, Availability>>;

    fn handle(&mut self, message: GetAvailability, _: &mut Self::Context) -> Self::Result {
        let found = self.availability(message.skus);
        self.settle(found)
    }
}

/// `GetAvailability` answered at once, for a holder choosing where to reserve: the
/// figures are shown to nobody (the reservation that follows is decided on the state
/// itself, and the holder's answer waits for its own later record), so the read need not
/// wait for the changes it saw to be durable.
#[derive(Message)]
#[rtype(result = "BTreeMap<String, Availability>")]
pub struct PeekAvailability {
    pub skus: Vec<String>,
}

impl Handler<PeekAvailability> for WarehouseActor {
    type Result = Reply<BTreeMap<String, Availability>>;

    fn handle(&mut self, message: PeekAvailability, _: &mut Self::Context) -> Self::Result {
        Reply::Ready(self.availability(message.skus))
    }
}

/// A copy of the whole state, for tests.
#[derive(Message)]
#[rtype(result = "WarehouseStock")]
pub struct CopyState;

impl Handler<CopyState> for WarehouseActor {
    type Result = Reply<WarehouseStock>;

    fn handle(&mut self, _: CopyState, _: &mut Self::Context) -> Self::Result {
        self.settle(self.stock.clone())
    }
}

/// The state for a snapshot, with the LSN it covers: the last LSN the log had handed out
/// when it was copied, so every change of this warehouse at or below it is in the state
/// and every later one above it. The caller waits until that LSN is durable before it
/// writes the snapshot, so the log can never lose (and reuse) an LSN a snapshot covers.
#[derive(Message)]
#[rtype(result = "SnapshotCopy")]
pub struct TakeSnapshot;

/// A warehouse's state as `TakeSnapshot` copies it.
#[derive(Debug, Clone)]
pub struct SnapshotCopy {
    pub stock: WarehouseStock,
    pub covers: mercato_persistence::log::Lsn,
    pub remembered: Vec<Remembered>,
}

impl Handler<TakeSnapshot> for WarehouseActor {
    type Result = MessageResult<TakeSnapshot>;

    fn handle(&mut self, _: TakeSnapshot, _: &mut Self::Context) -> Self::Result {
        MessageResult(SnapshotCopy {
            stock: self.stock.clone(),
            covers: self.journal.covers(),
            remembered: self.remembered.iter().cloned().collect(),
        })
    }
}

/// Lets go of the order lines under `keys` that hold nothing any more (their orders left
/// for the archive); how many. Not logged: a line that comes back with an older state
/// after a crash is let go again by the sweep at start.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct ForgetSpentLines {
    pub keys: Vec<String>,
}

impl Handler<ForgetSpentLines> for WarehouseActor {
    type Result = usize;

    fn handle(&mut self, message: ForgetSpentLines, _: &mut Self::Context) -> Self::Result {
        self.stock.forget_spent(&message.keys)
    }
}

/// The keys of the order lines that hold nothing any more (the sweep at start).
#[derive(Message)]
#[rtype(result = "Vec<String>")]
pub struct SpentLines;

impl Handler<SpentLines> for WarehouseActor {
    type Result = MessageResult<SpentLines>;

    fn handle(&mut self, _: SpentLines, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.stock.spent_lines())
    }
}
