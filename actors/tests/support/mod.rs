//! What the cart actor tests share: a demo commerce in memory or on a simulated disk, a
//! cart and its steps, and recovery from a snapshot and the log. Each test file uses a part
//! of it, so what one of them leaves unused is not dead code.

#![allow(dead_code, unused_imports)]

pub use std::collections::BTreeMap;
pub use std::sync::Arc;
pub use std::time::Duration;

pub use mercato_actors::cart::{
    AddLine, Answering, CartReply, ChangeLine, CheckOut, ChooseDelivery, CopyCart, DeliveryOptions, GetCart, Keeping,
    RemoveLine, SetAddress, CART_LIFETIME_MS,
};
pub use mercato_actors::idempotency::Idempotency;
pub use mercato_actors::stored::{carts_part_key, orders_part_key, warehouse_part_key, WarehouseSnapshot};
pub use mercato_actors::warehouse::{CopyState, GetStock, TakeSnapshot};
pub use mercato_actors::{ActorError, Clock, CommerceHandle, Execute, Journal, NotDurable, Recovered};
pub use mercato_engine::cart::{Alert, CartContext, CartStatus, Supply};
pub use mercato_engine::cart::{DeliveryChoice, ShippingAddress};
pub use mercato_engine::commerce::model::ShipmentPreference;
pub use mercato_engine::inventory::{InventoryCommand as Cmd, Timestamp};
pub use mercato_engine::order::{Order, OrderCommand, OrderStatus};
pub use mercato_engine::{Commerce, DomainError, KNOWN_GATEWAYS};
pub use mercato_persistence::codec;
pub use mercato_persistence::log::{Log, LogOptions};
pub use mercato_persistence::sim::{FaultPoint, SimStorage};
pub use mercato_persistence::snapshot::Part;

pub const DEMO: &str = include_str!("../../../config/demo.toml");
/// 2026-11-21T10:00:00Z.
pub const START: Timestamp = Timestamp(1_795_255_200_000);

pub fn start(journal: &Journal, recovered: &mut Recovered) -> CommerceHandle {
    let commerce = Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("demo config is valid");
    CommerceHandle::start_durable(commerce, Clock::starting_at(START), journal, recovered, &Idempotency::default())
}

pub fn memory() -> CommerceHandle {
    start(&Journal::Memory, &mut Recovered::default())
}

pub fn context() -> CartContext {
    CartContext {
        channel: "web".into(),
        language: "en".into(),
        currency: "EUR".into(),
        country: "ES".into(),
        user: None,
        group: None,
    }
}

/// A shipping address in Madrid.
pub fn madrid_address() -> ShippingAddress {
    ShippingAddress {
        name: "Ana".into(),
        line: "Gran Vía 1".into(),
        city: "Madrid".into(),
        postal_code: "28013".into(),
        country: "ES".into(),
        ..ShippingAddress::default()
    }
}

pub async fn receive(handle: &CommerceHandle, warehouse: &str, sku: &str, quantity: u32) {
    let addr = handle.warehouses().get(warehouse).expect("a warehouse");
    addr.send(Execute(Cmd::ReceiveStock { sku: sku.into(), quantity })).await.expect("running").expect("received");
}

/// Units reserved and reservations of a SKU in a warehouse.
pub async fn held(handle: &CommerceHandle, warehouse: &str, sku: &str) -> (u32, usize) {
    let addr = handle.warehouses().get(warehouse).expect("a warehouse");
    let view = addr.send(GetStock { sku: sku.into() }).await.expect("running").expect("sold");
    (view.record.reserved, view.reservations)
}

pub async fn open(handle: &CommerceHandle) -> String {
    handle.carts().open(context(), Answering::Durable).await.expect("created").cart.id.clone()
}

pub async fn add(handle: &CommerceHandle, cart: &str, sku: &str, quantity: u32) -> Result<CartReply, ActorError> {
    let addr = handle.carts().get(cart).expect("an open cart");
    addr.send(AddLine { sku: sku.into(), quantity, answering: Answering::Durable }).await.expect("running")
}

/// A Madrid address and home delivery: what checkout needs.
pub async fn ready_for_home(addr: &actix::Addr<mercato_actors::cart::CartActor>) {
    addr.send(SetAddress(madrid_address())).await.expect("running").expect("set");
    let home = DeliveryChoice::Home { preference: ShipmentPreference::AsAvailable, shipping_types: Vec::new() };
    addr.send(ChooseDelivery(home)).await.expect("running").expect("chosen");
}

/// Checkout paid offline (the order waits for its payment).
pub fn by_transfer() -> CheckOut {
    CheckOut {
        payment_system: "bank-transfer".into(),
        token: None,
        expected_total: None,
        remember: None,
        by: "test".into(),
    }
}

/// Commits the cart's first hold in Madrid as checkout would for order `lost-order`,
/// whose record never comes: what a crash in the middle of a checkout leaves.
pub async fn commit_without_order(handle: &CommerceHandle, cart: &str) {
    let shown = handle.carts().get(cart).expect("open").send(GetCart).await.expect("running").expect("durable").cart;
    let hold = shown.lines.values().next().expect("a line").holds[0].clone();
    let commit =
        Cmd::CommitReservation { reservation: hold.reservation, order_line: "lost-order/l1/1".into(), quantity: None };
    let warehouse = handle.warehouses().get("wh-madrid").expect("a warehouse");
    warehouse.send(Execute(commit)).await.expect("running").expect("committed");
}

pub async fn change(handle: &CommerceHandle, cart: &str, line: &str, quantity: u32) -> Result<CartReply, ActorError> {
    let addr = handle.carts().get(cart).expect("an open cart");
    addr.send(ChangeLine { line: line.into(), quantity }).await.expect("running")
}

/// A durable commerce on `sim`, 10 KEYBOARD received in Madrid, and an open cart.
pub async fn durable_cart(sim: &SimStorage) -> (Log, CommerceHandle, String) {
    let (log, mut recovered) = recover(sim, &BTreeMap::new());
    let handle = start(&Journal::Log(log.handle()), &mut recovered);
    receive(&handle, "wh-madrid", "KEYBOARD", 10).await;
    let cart = open(&handle).await;
    (log, handle, cart)
}

pub fn recover(sim: &SimStorage, parts: &BTreeMap<String, Part>) -> (Log, Recovered) {
    let (mut recovered, after) =
        Recovered::from_snapshot(mercato_persistence::codec::FORMAT_VERSION, parts).expect("the snapshot decodes");
    let (log, _) =
        Log::open(Arc::new(sim.clone()), LogOptions::new("/data/wal"), after, |record| recovered.apply(record))
            .expect("recovers");
    (log, recovered)
}

pub async fn futures_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut outputs = Vec::with_capacity(futures.len());
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    for handle in handles {
        outputs.push(handle.await);
    }
    outputs
}
