//! The steps of a change that reaches beyond the order: a shipment leaving (the
//! warehouses' figures read, the order recorded, the units shipped), units cancelled (the
//! order recorded, the units released, the refund asked of the gateway), and the start-up
//! repair that finishes what a crash cut short.
//!
//! Each runs as a task of its own: a client that goes away does not stop it halfway, and
//! the order stays busy (another stock change to it is refused) until the warehouses have
//! it. What the warehouses are told is a total per key (`through`), so telling them again
//! changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use mercato_engine::inventory::InventoryCommand;
use mercato_engine::order::{KeyStock, Order, OrderCommand, OrderEvent};
use mercato_engine::{Commerce, DomainError};

use super::execute::Release;
use super::place::PlaceRemember;
use super::read::Unfinished;
use super::Orders;
use crate::error::ActorError;
use crate::idempotency::{Answer, Begin, Idempotency, Remembered, Stamp};
use crate::payment::{Gateways, RefundCall};
use crate::warehouse::{Execute, ExecuteAll, ExecuteAndView, GetOrderLines, Remember, Warehouses};

/// What an order's changes reach beyond it.
#[derive(Clone)]
pub(crate) struct Reach {
    pub warehouses: Warehouses,
    pub gateways: Gateways,
    pub published: Arc<ArcSwap<Commerce>>,
    /// The node's table of kept answers: a restock is made once under its receipt's key.
    pub idempotency: Idempotency,
    pub clock: crate::clock::Clock,
}

/// Who asks for a change to which order, and how.
pub struct Request {
    pub id: String,
    /// The key's principal.
    pub by: String,
    /// Decide and show what would happen; record nothing.
    pub preview: bool,
    /// The answer to keep under the request's idempotency key.
    pub remember: Option<PlaceRemember>,
}

/// A change made (or previewed): the order as it left it, its events, the answer kept.
pub struct Done {
    pub order: Arc<Order>,
    pub events: Vec<OrderEvent>,
    pub remembered: Option<Remembered>,
}

impl Orders {
    fn reach(&self) -> Result<&Reach, ActorError> {
        self.reach.as_ref().ok_or_else(|| ActorError::Stopped("the commerce's warehouses".into()))
    }

    /// Ships a ready shipment with its tracking numbers: recorded on the order, then the
    /// units leave the warehouses.
    pub async fn ship(&self, request: Request, shipment: String, tracking: Vec<String>) -> Result<Done, ActorError> {
        let this = self.clone();
        let task = actix::spawn(async move {
            let order = this.read(&request.id).await?;
            let allocated = this.key_stock(&order).await?;
            let id = request.id.clone();
            let preview = request.preview;
            let done = this.run(request, OrderCommand::Ship { shipment, tracking, allocated }).await?;
            if !preview {
                this.reach_stock(&id, &done).await;
            }
            Ok(done)
        });
        task.await.map_err(|_| ActorError::Stopped("a shipment's steps".into()))?
    }

    /// Cancels units not yet sent (every such unit when `lines` is none): recorded on the
    /// order, then what they held is released and the refund asked of the gateway.
    pub async fn cancel(&self, request: Request, lines: Option<Vec<(String, u32)>>) -> Result<Done, ActorError> {
        let this = self.clone();
        let task = actix::spawn(async move {
            let id = request.id.clone();
            let preview = request.preview;
            let done = this.run(request, OrderCommand::Cancel { lines }).await?;
            if !preview && !done.events.is_empty() {
                this.reach_stock(&id, &done).await;
            }
            Ok(done)
        });
        task.await.map_err(|_| ActorError::Stopped("a cancellation's steps".into()))?
    }

    /// Refreshes an order from what the warehouses hold under its keys: a shipment whose
    /// units are all allocated becomes ready, a waiting one's dates follow its stock.
    pub async fn refresh(&self, id: &str) -> Result<Done, ActorError> {
        let order = self.read(id).await?;
        let stock = self.key_stock(&order).await?;
        let request = Request { id: id.to_owned(), by: "system".into(), preview: false, remember: None };
        self.run(request, OrderCommand::Refresh { stock }).await
    }

    /// Records a return request (units sent or delivered, a reason each).
    pub async fn request_return(
        &self,
        request: Request,
        lines: Vec<mercato_engine::order::returns::Requested>,
        return_point: Option<String>,
    ) -> Result<Done, ActorError> {
        let by = request.by.clone();
        self.run(request, OrderCommand::RequestReturn { lines, return_point, by }).await
    }

    /// Records the back office's decision on lines of a return.
    pub async fn decide_return(
        &self,
        request: Request,
        id: String,
        decisions: Vec<(String, bool)>,
    ) -> Result<Done, ActorError> {
        self.run(request, OrderCommand::DecideReturn { id, decisions }).await
    }

    /// Receives returned units: recorded on the order (with its refund and credit note),
    /// then the resellable ones go back on hand in their warehouse, the refund is asked of
    /// the gateway.
    pub async fn receive_return(
        &self,
        request: Request,
        id: String,
        units: Vec<(String, u32, bool)>,
        warehouse: Option<String>,
    ) -> Result<Done, ActorError> {
        let this = self.clone();
        let task = actix::spawn(async move {
            let done = this.run(request, OrderCommand::ReceiveReturn { id, units, warehouse }).await?;
            if let Ok(reach) = this.reach() {
                this.restock(reach, &done.order).await;
                this.refund_pending(reach, &done.order).await;
            }
            Ok(done)
        });
        task.await.map_err(|_| ActorError::Stopped("a return's steps".into()))?
    }

    /// Puts every receipt's resellable units not yet restocked back on hand, each once
    /// under the receipt's key, and records each receipt done.
    async fn restock(&self, reach: &Reach, order: &Order) {
        let now = reach.clock.now();
        for receipt in order.returns.iter().flat_map(|r| &r.receipts).filter(|r| !r.restocked) {
            let Some(code) = &receipt.warehouse else { continue };
            let Some(addr) = reach.warehouses.get(code) else {
                tracing::error!(order = %order.id, warehouse = %code, "a return's warehouse is not running");
                continue;
            };
            let mut all = true;
            for units in receipt.units.iter().filter(|u| u.resellable) {
                let stamp = Stamp {
                    scope: "returns".into(),
                    key: format!("{}/{}", receipt.number, units.line),
                    request: [0; 32],
                };
                match reach.idempotency.begin(&stamp, now) {
                    Begin::Replay(_) => continue,
                    Begin::Fresh => {}
                    Begin::InFlight | Begin::Mismatch => {
                        all = false;
                        continue;
                    }
                }
                let command = InventoryCommand::RestockReturn { sku: units.sku.clone(), quantity: units.quantity };
                let respond: crate::warehouse::Respond = Box::new(|_, _| Answer { status: 200, body: Vec::new() });
                let message =
                    ExecuteAndView { command, sku: units.sku.clone(), remember: Some(Remember { stamp, respond }) };
                match addr.send(message).await {
                    Ok(Ok(_)) => {}
                    outcome => {
                        tracing::error!(order = %order.id, receipt = %receipt.number, ?outcome, "returned units not restocked yet");
                        all = false;
                    }
                }
            }
            if all {
                let request = Request { id: order.id.clone(), by: "system".into(), preview: false, remember: None };
                if let Err(error) = self.run(request, OrderCommand::Restocked { receipt: receipt.number.clone() }).await
                {
                    tracing::error!(order = %order.id, receipt = %receipt.number, %error, "a restock was not recorded");
                }
            }
        }
    }

    /// Settles a refund paid back by hand (an administrator confirms it).
    pub async fn settle_refund(&self, request: Request, refund: String, reference: String) -> Result<Done, ActorError> {
        self.run(request, OrderCommand::SettleRefund { refund, reference }).await
    }

    /// What the warehouses hold under each of the order's keys.
    async fn key_stock(&self, order: &Order) -> Result<Vec<KeyStock>, ActorError> {
        let reach = self.reach()?;
        let mut by_warehouse: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for allocation in order.lines.iter().flat_map(|l| &l.allocations) {
            by_warehouse.entry(allocation.warehouse.as_str()).or_default().push(allocation.key.clone());
        }
        let mut found = Vec::new();
        for (warehouse, keys) in by_warehouse {
            let Some(addr) = reach.warehouses.get(warehouse) else { continue };
            let lines = addr
                .send(GetOrderLines { keys: keys.clone() })
                .await
                .map_err(|_| ActorError::Unavailable(warehouse.to_owned()))?;
            for (key, line) in keys.into_iter().zip(lines) {
                let stock = match line {
                    Some((l, ready)) => {
                        KeyStock { key, allocated: l.allocated(), shipped: l.shipped, released: l.released, ready }
                    }
                    None => KeyStock { key, allocated: 0, shipped: 0, released: 0, ready: None },
                };
                found.push(stock);
            }
        }
        Ok(found)
    }

    /// Tells the warehouses what a recorded change shipped or released, asks the gateway
    /// for its refund, and lets the order take another stock change.
    async fn reach_stock(&self, id: &str, done: &Done) {
        if let Ok(reach) = self.reach() {
            tell_warehouses(&reach.warehouses, &done.order, Some(&done.events)).await;
            self.refund_pending(reach, &done.order).await;
        }
        let _ = self.addr.send(Release { id: id.to_owned() }).await;
    }

    /// Asks the gateway for every online refund of the order still pending, and records
    /// each one it makes.
    async fn refund_pending(&self, reach: &Reach, order: &Order) {
        let commerce = reach.published.load_full();
        let gateway = commerce
            .config()
            .payment_systems
            .iter()
            .find(|p| p.code == order.payment.system)
            .and_then(|p| p.gateway.clone());
        let (Some(gateway), Some(approval)) = (gateway, order.payment.reference.clone()) else { return };
        for refund in order.refunds.iter().filter(|r| r.online && r.reference.is_none()) {
            let call = RefundCall {
                reference: approval.clone(),
                refund: refund.id.clone(),
                amount: refund.amount,
                currency: order.context.currency.clone(),
            };
            match reach.gateways.refund(&gateway, call).await {
                Ok(reference) => {
                    let settle = OrderCommand::SettleRefund { refund: refund.id.clone(), reference };
                    let request = Request { id: order.id.clone(), by: "system".into(), preview: false, remember: None };
                    if let Err(error) = self.run(request, settle).await {
                        tracing::error!(order = %order.id, refund = %refund.id, %error, "a refund made was not recorded");
                    }
                }
                Err(reason) => {
                    tracing::warn!(order = %order.id, refund = %refund.id, %reason, "a refund stays pending")
                }
            }
        }
    }

    /// At start, before the node answers: tells the warehouses again what every order
    /// shipped and released (a crash may have cut that short; what they have already
    /// changes nothing), and asks the gateways for the refunds still pending. The number
    /// of warehouse changes and refunds it made.
    pub async fn repair_stock(&self) -> Result<usize, String> {
        let reach = self.reach().map_err(|e| e.to_string())?;
        let orders = self.addr.send(Unfinished).await.map_err(|e| e.to_string())?;
        let mut repaired = 0;
        // A notice of moved stock a crash lost: every order still waiting looks again.
        let waiting = self.addr.send(super::read::Waiting).await.map_err(|e| e.to_string())?;
        for id in &waiting {
            match self.refresh(id).await {
                Ok(done) => repaired += done.events.len(),
                Err(error) => tracing::warn!(order = %id, %error, "an order waiting for stock was not refreshed"),
            }
        }
        for order in &orders {
            repaired += tell_warehouses(&reach.warehouses, order, None).await;
            self.restock(reach, order).await;
            let pending = order.refunds.iter().filter(|r| r.online && r.reference.is_none()).count();
            if pending > 0 {
                self.refund_pending(reach, order).await;
                repaired += pending;
            }
        }
        Ok(repaired)
    }
}

/// Tells each warehouse the totals shipped and released under the order's keys (only
/// those `events` name, or all); the number of warehouse changes this made.
async fn tell_warehouses(warehouses: &Warehouses, order: &Order, events: Option<&[OrderEvent]>) -> usize {
    let named = |key: &str| match events {
        None => true,
        Some(events) => events.iter().any(|event| match event {
            OrderEvent::ShipmentSent { picks, .. } => picks.iter().any(|p| p.key == key),
            OrderEvent::UnitsCancelled { cancellation } => cancellation.releases.iter().any(|p| p.key == key),
            _ => false,
        }),
    };
    let mut by_warehouse: BTreeMap<&str, Vec<InventoryCommand>> = BTreeMap::new();
    for allocation in order.lines.iter().flat_map(|l| &l.allocations).filter(|a| named(&a.key)) {
        let commands = by_warehouse.entry(allocation.warehouse.as_str()).or_default();
        if allocation.shipped > 0 {
            commands.push(InventoryCommand::ShipOrderUnits {
                order_line: allocation.key.clone(),
                through: allocation.shipped,
            });
        }
        if allocation.released > 0 {
            let through = allocation.released;
            commands.push(InventoryCommand::ReleaseOrderUnits { order_line: allocation.key.clone(), through });
        }
    }
    let mut changed = 0;
    for (warehouse, commands) in by_warehouse.into_iter().filter(|(_, c)| !c.is_empty()) {
        let Some(addr) = warehouses.get(warehouse) else {
            tracing::error!(order = %order.id, warehouse, "an order's warehouse is not running");
            continue;
        };
        let outcomes = match commands.len() {
            1 => vec![addr.send(Execute(commands[0].clone())).await.unwrap_or_else(|_| Err(stopped(warehouse)))],
            _ => addr.send(ExecuteAll(commands)).await.unwrap_or_else(|_| vec![Err(stopped(warehouse))]),
        };
        for outcome in outcomes {
            match outcome {
                Ok(events) if !events.is_empty() => changed += 1,
                // Everything under the key has left already: nothing to tell.
                Ok(_) | Err(ActorError::Refused(DomainError::UnknownOrderLine { .. })) => {}
                Err(error) => {
                    tracing::error!(order = %order.id, warehouse, %error, "a warehouse did not take an order's change")
                }
            }
        }
    }
    changed
}

fn stopped(warehouse: &str) -> ActorError {
    ActorError::Unavailable(warehouse.to_owned())
}
