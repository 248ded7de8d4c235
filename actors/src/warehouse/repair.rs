//! `FindUnplaced`: order lines whose order was never recorded, found at start.

use super::*;

/// What the start-up repair of a checkout cut short needs, without copying the state:
/// the order lines whose order `placed` does not know, and which of `holds` (reservation
/// ids carts hold here) the warehouse no longer has.
#[derive(Message)]
#[rtype(result = "Unplaced")]
pub struct FindUnplaced {
    /// Whether an order line's key belongs to a placed order.
    pub placed: Box<dyn Fn(&str) -> bool + Send>,
    pub holds: Vec<String>,
}

pub struct Unplaced {
    pub lines: Vec<OrderLineStock>,
    pub missing: HashSet<String>,
}

impl Handler<FindUnplaced> for WarehouseActor {
    type Result = Reply<Unplaced>;

    fn handle(&mut self, message: FindUnplaced, _: &mut Self::Context) -> Self::Result {
        let stock = &self.stock;
        let lines = stock.order_lines().filter(|l| !(message.placed)(&l.order_line)).cloned().collect();
        let missing = message.holds.into_iter().filter(|id| stock.reservation(id).is_none()).collect();
        self.settle(Unplaced { lines, missing })
    }
}
