//! Cart actors: a line holds its units in the warehouses source selection picks, and a
//! change to it reserves or lets go exactly the difference; refusals hold nothing; a cart
//! that sits idle expires and lets everything go, one that is used is renewed; carts come
//! back from the log and from snapshots; carts racing for the last units never oversell.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use mercato_actors::cart::{
    AddLine, Answering, CartError, CartReply, ChangeLine, CheckOut, ChooseDelivery, CopyCart, DeliveryOptions, GetCart,
    Keeping, RemoveLine, SetAddress, CART_LIFETIME_MS,
};
use mercato_actors::idempotency::Idempotency;
use mercato_actors::journal::{carts_part_key, orders_part_key, warehouse_part_key, WarehouseSnapshot};
use mercato_actors::warehouse::{CopyState, GetStock, TakeSnapshot};
use mercato_actors::{Clock, CommerceHandle, Execute, Journal, Recovered};
use mercato_engine::cart::{Alert, CartContext, Supply};
use mercato_engine::commerce::model::ShipmentPreference;
use mercato_engine::inventory::{InventoryCommand as Cmd, Timestamp};
use mercato_engine::order::{DeliveryChoice, Order, OrderCommand, OrderStatus, ShippingAddress};
use mercato_engine::{Commerce, DomainError, KNOWN_GATEWAYS};
use mercato_persistence::codec;
use mercato_persistence::log::{Log, LogOptions};
use mercato_persistence::sim::{FaultPoint, SimStorage};
use mercato_persistence::snapshot::Part;

const DEMO: &str = include_str!("../../config/demo.toml");
/// 2026-11-21T10:00:00Z.
const START: Timestamp = Timestamp(1_795_255_200_000);

fn start(journal: &Journal, recovered: &mut Recovered) -> CommerceHandle {
    let commerce = Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("demo config is valid");
    CommerceHandle::start_durable(commerce, Clock::starting_at(START), journal, recovered, &Idempotency::default())
}

fn memory() -> CommerceHandle {
    start(&Journal::Memory, &mut Recovered::default())
}

fn context() -> CartContext {
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
fn madrid_address() -> ShippingAddress {
    ShippingAddress {
        name: "Ana".into(),
        line: "Gran Vía 1".into(),
        city: "Madrid".into(),
        postal_code: "28013".into(),
        country: "ES".into(),
        ..ShippingAddress::default()
    }
}

async fn receive(handle: &CommerceHandle, warehouse: &str, sku: &str, quantity: u32) {
    let addr = handle.warehouses().get(warehouse).expect("a warehouse");
    addr.send(Execute(Cmd::ReceiveStock { sku: sku.into(), quantity })).await.expect("running").expect("received");
}

/// Units reserved and reservations of a SKU in a warehouse.
async fn held(handle: &CommerceHandle, warehouse: &str, sku: &str) -> (u32, usize) {
    let addr = handle.warehouses().get(warehouse).expect("a warehouse");
    let view = addr.send(GetStock { sku: sku.into() }).await.expect("running").expect("sold");
    (view.record.reserved, view.reservations)
}

async fn open(handle: &CommerceHandle) -> String {
    handle.carts().open(context(), Answering::Durable).await.expect("created").cart.id.clone()
}

async fn add(handle: &CommerceHandle, cart: &str, sku: &str, quantity: u32) -> Result<CartReply, CartError> {
    let addr = handle.carts().get(cart).expect("an open cart");
    addr.send(AddLine { sku: sku.into(), quantity, answering: Answering::Durable }).await.expect("running")
}

/// A Madrid address and home delivery: what checkout needs.
async fn ready_for_home(addr: &actix::Addr<mercato_actors::cart::CartActor>) {
    addr.send(SetAddress(madrid_address())).await.expect("running").expect("set");
    let home = DeliveryChoice::Home { preference: ShipmentPreference::AsAvailable, shipping_types: Vec::new() };
    addr.send(ChooseDelivery(home)).await.expect("running").expect("chosen");
}

/// Checkout paid offline (the order waits for its payment).
fn by_transfer() -> CheckOut {
    CheckOut { payment_system: "bank-transfer".into(), token: None, expected_total: None, remember: None }
}

/// Commits the cart's first hold in Madrid as checkout would for order `lost-order`,
/// whose record never comes: what a crash in the middle of a checkout leaves.
async fn commit_without_order(handle: &CommerceHandle, cart: &str) {
    let shown = handle.carts().get(cart).expect("open").send(GetCart).await.expect("running").expect("durable").cart;
    let hold = shown.lines.values().next().expect("a line").holds[0].clone();
    let commit =
        Cmd::CommitReservation { reservation: hold.reservation, order_line: "lost-order/l1/1".into(), quantity: None };
    let warehouse = handle.warehouses().get("wh-madrid").expect("a warehouse");
    warehouse.send(Execute(commit)).await.expect("running").expect("committed");
}

async fn change(handle: &CommerceHandle, cart: &str, line: &str, quantity: u32) -> Result<CartReply, CartError> {
    let addr = handle.carts().get(cart).expect("an open cart");
    addr.send(ChangeLine { line: line.into(), quantity }).await.expect("running")
}

/// A durable commerce on `sim`, 10 KEYBOARD received in Madrid, and an open cart.
async fn durable_cart(sim: &SimStorage) -> (Log, CommerceHandle, String) {
    let (log, mut recovered) = recover(sim, &BTreeMap::new());
    let handle = start(&Journal::Log(log.handle()), &mut recovered);
    receive(&handle, "wh-madrid", "KEYBOARD", 10).await;
    let cart = open(&handle).await;
    (log, handle, cart)
}

// Proves a line reserves exactly its units, a change reserves or lets go exactly the
// difference (fewer units shrink the reservation rather than re-reserving), and removing
// the line lets everything go; the last units carry the low-stock alert.
#[actix_rt::test]
async fn a_line_holds_exactly_its_units_through_every_change() {
    let handle = memory();
    receive(&handle, "wh-madrid", "KEYBOARD", 6).await;
    let cart = open(&handle).await;

    let added = add(&handle, &cart, "KEYBOARD", 3).await.expect("added");
    let line = added.line.clone().expect("the new line");
    assert_eq!(line, "l1");
    assert_eq!(added.low_stock, Some(3));
    let holds = &added.cart.lines[&line].holds;
    assert_eq!(holds.len(), 1);
    assert_eq!((holds[0].warehouse.as_str(), holds[0].quantity), ("wh-madrid", 3));
    assert_eq!(holds[0].parts[0].supply, Supply::InStock);
    assert_eq!(held(&handle, "wh-madrid", "KEYBOARD").await, (3, 1));

    let grown = change(&handle, &cart, &line, 5).await.expect("grown");
    assert_eq!(grown.cart.lines[&line].quantity, 5);
    assert_eq!(held(&handle, "wh-madrid", "KEYBOARD").await, (5, 2));

    let shrunk = change(&handle, &cart, &line, 2).await.expect("shrunk");
    assert_eq!(shrunk.cart.lines[&line].holds.iter().map(|h| h.quantity).sum::<u32>(), 2);
    assert_eq!(held(&handle, "wh-madrid", "KEYBOARD").await, (2, 1));

    let addr = handle.carts().get(&cart).expect("open");
    let removed = addr.send(RemoveLine { line: line.clone() }).await.expect("running").expect("removed");
    assert!(removed.cart.lines.is_empty());
    assert_eq!(held(&handle, "wh-madrid", "KEYBOARD").await, (0, 0));
}

// Proves adding a SKU the cart already holds grows its line instead of opening a second
// one, and the product's quantity rules apply to the line's total: a maximum cannot be
// passed by adding the product again, and the refused add holds nothing more.
#[actix_rt::test]
async fn adding_a_sku_again_grows_its_line_within_the_quantity_rules() {
    let handle = memory();
    receive(&handle, "wh-madrid", "OLIVE-OIL-5L", 20).await;
    receive(&handle, "wh-madrid", "MOUSE", 20).await;
    let cart = open(&handle).await;
    assert_eq!(add(&handle, &cart, "OLIVE-OIL-5L", 3).await.expect("added").line.as_deref(), Some("l1"));
    assert_eq!(add(&handle, &cart, "MOUSE", 1).await.expect("added").line.as_deref(), Some("l2"));

    let again = add(&handle, &cart, "OLIVE-OIL-5L", 1).await.expect("grown");
    assert_eq!(again.line.as_deref(), Some("l1"));
    assert_eq!(again.cart.lines.len(), 2);
    assert_eq!(again.cart.lines["l1"].quantity, 4);
    assert_eq!(again.cart.lines["l1"].holds.iter().map(|h| h.quantity).sum::<u32>(), 4);
    assert_eq!(held(&handle, "wh-madrid", "OLIVE-OIL-5L").await, (4, 2));

    let refused = add(&handle, &cart, "OLIVE-OIL-5L", 1).await.expect_err("the line would hold 5 of at most 4");
    assert_eq!(refused.code(), "quantity_above_maximum");
    assert_eq!(refused.to_string(), "5 of \"OLIVE-OIL-5L\" is above the maximum of 4");
    assert_eq!(held(&handle, "wh-madrid", "OLIVE-OIL-5L").await, (4, 2), "nothing more held");
    let overflow = add(&handle, &cart, "MOUSE", u32::MAX).await.expect_err("past the largest quantity");
    assert_eq!(overflow.code(), "invalid_quantity", "{overflow}");
    assert_eq!(held(&handle, "wh-madrid", "MOUSE").await, (1, 1));

    let now = handle.carts().get(&cart).expect("open").send(GetCart).await.expect("running").expect("durable");
    assert_eq!(
        now.cart.lines.values().map(|l| (l.sku.as_str(), l.quantity)).collect::<Vec<_>>(),
        [("OLIVE-OIL-5L", 4), ("MOUSE", 1)]
    );
}

// Proves a line larger than one warehouse's stock is split across the warehouses of the
// cart's destination in the channel's priority order, and a warehouse whose logistic
// center does not deliver there (Lyon, for Spain) is not used.
#[actix_rt::test]
async fn a_line_splits_across_the_warehouses_that_serve_the_destination() {
    let handle = memory();
    receive(&handle, "wh-madrid", "MOUSE", 2).await;
    receive(&handle, "wh-dropship", "MOUSE", 3).await;
    receive(&handle, "wh-lyon", "MOUSE", 50).await;
    let cart = open(&handle).await;
    let added = add(&handle, &cart, "MOUSE", 4).await.expect("added");
    let holds: BTreeMap<&str, u32> =
        added.cart.lines["l1"].holds.iter().map(|h| (h.warehouse.as_str(), h.quantity)).collect();
    assert_eq!(holds, BTreeMap::from([("wh-madrid", 2), ("wh-dropship", 2)]));
    assert_eq!(held(&handle, "wh-lyon", "MOUSE").await, (0, 0));

    let short = add(&handle, &cart, "MOUSE", 2).await;
    assert!(
        matches!(&short, Err(CartError::Refused(DomainError::InsufficientStock { available: 1, .. }))),
        "{short:?}"
    );
    assert_eq!(held(&handle, "wh-madrid", "MOUSE").await.0 + held(&handle, "wh-dropship", "MOUSE").await.0, 4);
}

// Proves refusals hold nothing: a quantity the rules forbid (named in the error), a SKU
// the commerce does not sell, a line that does not exist.
#[actix_rt::test]
async fn refusals_hold_nothing() {
    let handle = memory();
    receive(&handle, "wh-madrid", "WATER-CASE-6", 100).await;
    let cart = open(&handle).await;
    let refused = add(&handle, &cart, "WATER-CASE-6", 7).await.expect_err("not a multiple");
    assert_eq!(refused.code(), "not_a_multiple");
    assert!(refused.to_string().contains("order 6 or 12"), "{refused}");
    assert_eq!(add(&handle, &cart, "NO-SUCH", 1).await.expect_err("unknown").code(), "unknown_sku");
    assert_eq!(change(&handle, &cart, "l9", 1).await.expect_err("no line").code(), "unknown_cart_line");
    assert_eq!(held(&handle, "wh-madrid", "WATER-CASE-6").await, (0, 0));
    let cart = handle.carts().get(&cart).expect("open").send(GetCart).await.expect("running").expect("durable").cart;
    assert!(cart.lines.is_empty());
}

// Proves a line sold against an incoming batch says so: backorder, and delayed to the
// batch's date.
#[actix_rt::test]
async fn a_backordered_line_carries_its_alerts() {
    let handle = memory();
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).expect("a date");
    let addr = handle.warehouses().get("wh-madrid").expect("a warehouse");
    let announce =
        Cmd::AnnounceBatch { sku: "HEADPHONES".into(), batch: "po-1".into(), quantity: 10, expected_date: date };
    addr.send(Execute(announce)).await.expect("running").expect("announced");
    let cart = open(&handle).await;
    let added = add(&handle, &cart, "HEADPHONES", 2).await.expect("added");
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("a date");
    assert_eq!(added.cart.lines["l1"].alerts(today), vec![Alert::Backorder, Alert::Delayed { date }]);
    assert_eq!(added.low_stock, None);
}

// Proves an idle cart expires at its time and lets every unit go, once; a cart in use is
// renewed, with its holds, and outlives its first expiry.
#[actix_rt::test]
async fn idle_carts_expire_and_used_carts_are_renewed() {
    tokio::time::pause();
    let handle = memory();
    receive(&handle, "wh-madrid", "KEYBOARD", 10).await;
    let idle = open(&handle).await;
    add(&handle, &idle, "KEYBOARD", 2).await.expect("added");
    let used = open(&handle).await;
    add(&handle, &used, "KEYBOARD", 3).await.expect("added");

    tokio::time::sleep(Duration::from_secs(6 * 60)).await;
    let renewed = add(&handle, &used, "KEYBOARD", 1).await.expect("added");
    assert!(renewed.cart.expires_at.0 > START.0 + CART_LIFETIME_MS, "renewed");

    tokio::time::sleep(Duration::from_secs(9 * 60 + 2)).await;
    assert!(handle.carts().get(&idle).is_none(), "the idle cart ended");
    assert!(handle.carts().get(&used).is_some(), "the used cart lives on");
    assert_eq!(held(&handle, "wh-madrid", "KEYBOARD").await, (4, 2));

    tokio::time::sleep(Duration::from_secs(7 * 60)).await;
    assert!(handle.carts().get(&used).is_none(), "it ended in turn");
    assert_eq!(held(&handle, "wh-madrid", "KEYBOARD").await, (0, 0));
    assert!(handle.carts().is_empty());
}

fn recover(sim: &SimStorage, parts: &BTreeMap<String, Part>) -> (Log, Recovered) {
    let (mut recovered, after) = Recovered::from_snapshot(parts).expect("the snapshot decodes");
    let (log, _) = Log::open(Arc::new(sim.clone()), LogOptions::new("/data/wal"), after, |lsn, kind, payload| {
        recovered.apply(lsn, kind, payload)
    })
    .expect("recovers");
    (log, recovered)
}

// Proves carts come back after a crash exactly as they were acknowledged, from the log
// alone and from a snapshot plus the log after it; their holds are still in the
// warehouses; and an ended cart does not come back.
#[actix_rt::test]
async fn carts_survive_a_crash_from_the_log_and_from_a_snapshot() {
    let sim = SimStorage::default();
    let (log, handle, kept) = durable_cart(&sim).await;
    add(&handle, &kept, "KEYBOARD", 2).await.expect("added");
    let (snapshot, covers) = handle.carts().snapshot().await;
    assert_eq!(snapshot.carts.len(), 1);
    let parts = BTreeMap::from([(
        carts_part_key("demo"),
        Part { lsn: covers, bytes: codec::encode_part(&snapshot).expect("encodes") },
    )]);
    add(&handle, &kept, "MOUSE", 1).await.expect_err("no mice");
    change(&handle, &kept, "l1", 4).await.expect("grown");
    let emptied = open(&handle).await;
    add(&handle, &emptied, "KEYBOARD", 1).await.expect("added");
    let addr = handle.carts().get(&emptied).expect("open");
    addr.send(RemoveLine { line: "l1".into() }).await.expect("running").expect("removed");
    let expected: Vec<_> = {
        let mut carts = Vec::new();
        for id in [&kept, &emptied] {
            carts.push(
                handle
                    .carts()
                    .get(id)
                    .expect("open")
                    .send(GetCart)
                    .await
                    .expect("running")
                    .expect("durable")
                    .cart
                    .as_ref()
                    .clone(),
            );
        }
        carts
    };
    let stock = handle.warehouses().get("wh-madrid").expect("a warehouse").send(CopyState).await.expect("running");
    sim.crash(|_, _| Vec::new());
    drop(log);

    for (from, parts) in [("the log", BTreeMap::new()), ("a snapshot", parts)] {
        let (_log, mut recovered) = recover(&sim, &parts);
        let (carts, _) = recovered.take_carts("demo");
        let mut carts: Vec<_> = carts.into_iter().map(|copy| copy.cart).collect();
        carts.sort_by(|a, b| a.id.cmp(&b.id));
        let mut want = expected.clone();
        want.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(carts, want, "from {from}");
        if from == "the log" {
            assert_eq!(recovered.take_warehouse("demo", "wh-madrid"), stock);
        }
    }
}

// Proves an acknowledged order comes back after a crash, from the log alone and from a
// snapshot (taken while its cart was still open) plus the log, with its later payment;
// its cart does not come back open; its units stay allocated, not reserved.
#[actix_rt::test]
async fn orders_survive_a_crash_and_their_carts_stay_checked_out() {
    let sim = SimStorage::default();
    let (log, handle, cart) = durable_cart(&sim).await;
    add(&handle, &cart, "KEYBOARD", 2).await.expect("added");
    let addr = handle.carts().get(&cart).expect("open");
    ready_for_home(&addr).await;
    let (carts, carts_cover) = handle.carts().snapshot().await;
    assert_eq!(carts.carts.len(), 1, "the cart is open in the snapshot");
    let checkout = by_transfer();
    let placed = addr.send(checkout).await.expect("running").expect("placed");
    let order = placed.order.expect("an order");
    assert_eq!(order.status, OrderStatus::PendingPayment);
    let (orders, orders_cover) = handle.orders().snapshot().await.expect("running");
    let copy = handle.warehouses().get("wh-madrid").expect("a warehouse").send(TakeSnapshot).await.expect("running");
    let warehouse = WarehouseSnapshot {
        commerce: "demo".into(),
        warehouse: "wh-madrid".into(),
        stock: copy.stock,
        remembered: copy.remembered,
    };
    let parts = BTreeMap::from([
        (carts_part_key("demo"), Part { lsn: carts_cover, bytes: codec::encode_part(&carts).expect("encodes") }),
        (orders_part_key("demo"), Part { lsn: orders_cover, bytes: codec::encode_part(&orders).expect("encodes") }),
        (
            warehouse_part_key("demo", "wh-madrid"),
            Part { lsn: copy.covers, bytes: codec::encode_part(&warehouse).expect("encodes") },
        ),
    ]);
    let paid = handle
        .orders()
        .execute(&order.id, OrderCommand::ConfirmPayment { reference: "TR-1".into() })
        .await
        .expect("confirmed");
    assert_eq!(paid.status, OrderStatus::Paid);
    sim.crash(|_, _| Vec::new());
    drop(log);

    for (from, parts) in [("the log", BTreeMap::new()), ("a snapshot", parts)] {
        let (_log, mut recovered) = recover(&sim, &parts);
        let (orders, _) = recovered.take_orders("demo");
        assert_eq!(orders, vec![Order::clone(&paid)], "from {from}");
        let (open, _) = recovered.take_carts("demo");
        assert!(open.is_empty(), "from {from}: the checked-out cart stays closed");
        {
            let stock = recovered.take_warehouse("demo", "wh-madrid");
            let (_, keyboard) = stock.records().find(|(sku, _)| *sku == "KEYBOARD").expect("a record");
            assert_eq!((keyboard.reserved, keyboard.allocated), (0, 2), "from {from}");
        }
    }
}

// Proves that with multi-shipment off a cart's units all come from one logistic center:
// a line the cart's center cannot serve moves the whole cart to the one center that can
// (lower in priority), letting the old holds go; a line no single center can serve with
// the rest is refused naming every line, and the cart is left as it was.
#[actix_rt::test]
async fn with_multi_shipment_off_a_cart_moves_whole_to_the_one_center_that_serves_it() {
    let text = DEMO.replace("[multi_shipment]\nenabled = true", "[multi_shipment]\nenabled = false");
    let commerce = Commerce::from_toml(&text, KNOWN_GATEWAYS).expect("valid");
    assert!(!commerce.config().multi_shipment.enabled);
    let handle = CommerceHandle::start(commerce, Clock::starting_at(START));
    receive(&handle, "wh-madrid", "MOUSE", 10).await;
    receive(&handle, "wh-madrid", "KEYBOARD", 10).await;
    receive(&handle, "wh-lyon", "MOUSE", 10).await;
    receive(&handle, "wh-lyon", "CHARGER", 10).await;
    let french = CartContext { country: "FR".into(), language: "fr".into(), ..context() };
    let cart = handle.carts().open(french, Answering::Durable).await.expect("open").cart.id.clone();
    let where_held = |reply: &CartReply| -> Vec<String> {
        reply.cart.lines.values().flat_map(|l| l.holds.iter().map(|h| format!("{} {}", l.sku, h.warehouse))).collect()
    };
    let first = add(&handle, &cart, "MOUSE", 2).await.expect("added");
    assert_eq!(where_held(&first), ["MOUSE wh-madrid"], "the first line goes to the first center by priority");
    let moved = add(&handle, &cart, "CHARGER", 1).await.expect("added");
    assert_eq!(where_held(&moved), ["MOUSE wh-lyon", "CHARGER wh-lyon"], "the cart moved to Lyon");
    assert_eq!(held(&handle, "wh-madrid", "MOUSE").await, (0, 0), "Madrid's holds were let go");
    assert_eq!(held(&handle, "wh-lyon", "MOUSE").await.0, 2);
    let refused = add(&handle, &cart, "KEYBOARD", 1).await.expect_err("no one center has it all");
    assert_eq!(refused.code(), "single_shipment_impossible");
    assert_eq!(
        refused.to_string(),
        "no single logistic center can serve the whole cart (multi-shipment is off): line l1 (MOUSE x2) only \
         from lc-iberia and lc-france; line l2 (CHARGER x1) only from lc-france; line l3 (KEYBOARD x1) only from \
         lc-iberia"
    );
    let now = handle.carts().get(&cart).expect("open").send(GetCart).await.expect("running").expect("durable");
    assert_eq!(where_held(&now), ["MOUSE wh-lyon", "CHARGER wh-lyon"]);
    assert_eq!(held(&handle, "wh-madrid", "KEYBOARD").await, (0, 0));
}

// Proves checkout revalidates stock: a short batch arrival that cut a cart's reservation
// makes checkout refuse (`stock_lost`, naming the line) and leaves the cart open with
// nothing allocated: the line committed before the refusal gets its reservation back, so
// once the cut line is removed the cart checks out.
#[actix_rt::test]
async fn checkout_refuses_a_reservation_a_short_arrival_cut() {
    let handle = memory();
    let madrid = handle.warehouses().get("wh-madrid").expect("a warehouse");
    let expected_date = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
    let announce = Cmd::AnnounceBatch { sku: "HEADPHONES".into(), batch: "b1".into(), quantity: 5, expected_date };
    madrid.send(Execute(announce)).await.expect("running").expect("announced");
    receive(&handle, "wh-madrid", "MOUSE", 5).await;
    let cart = open(&handle).await;
    add(&handle, &cart, "MOUSE", 2).await.expect("added");
    add(&handle, &cart, "HEADPHONES", 3).await.expect("added");
    let addr = handle.carts().get(&cart).expect("open");
    addr.send(SetAddress(madrid_address())).await.expect("running").expect("set");
    let home = DeliveryChoice::Home { preference: ShipmentPreference::AsAvailable, shipping_types: Vec::new() };
    addr.send(ChooseDelivery(home.clone())).await.expect("running").expect("chosen");
    let short = Cmd::ReceiveBatch { sku: "HEADPHONES".into(), batch: "b1".into(), quantity: 1 };
    madrid.send(Execute(short)).await.expect("running").expect("received");
    let checkout = by_transfer();
    let refused = addr.send(checkout).await.expect("running").expect_err("the hold was cut");
    assert_eq!(refused.code(), "stock_lost", "{refused}");
    assert!(refused.to_string().contains("line \"l2\" (HEADPHONES)"), "{refused}");
    let now = addr.send(GetCart).await.expect("running").expect("durable");
    assert_eq!(now.cart.status, mercato_engine::cart::CartStatus::Open);
    let view = madrid.send(GetStock { sku: "HEADPHONES".into() }).await.expect("running").expect("sold");
    assert_eq!((view.record.allocated, view.record.reserved), (0, 1), "nothing allocated; the cut hold remains");
    let mouse = madrid.send(GetStock { sku: "MOUSE".into() }).await.expect("running").expect("sold");
    assert_eq!((mouse.record.allocated, mouse.record.reserved), (0, 2), "the first line's reservation is back");
    assert!(handle.orders().is_empty().await);
    addr.send(RemoveLine { line: "l2".into() }).await.expect("running").expect("removed");
    addr.send(ChooseDelivery(home)).await.expect("running").expect("chosen again");
    let checkout = by_transfer();
    addr.send(checkout).await.expect("running").expect("placed");
    let mouse = madrid.send(GetStock { sku: "MOUSE".into() }).await.expect("running").expect("sold");
    assert_eq!((mouse.record.allocated, mouse.record.reserved), (2, 0));
}

// Proves carts racing for the last units never oversell: of 20 carts wanting one of 5
// units, exactly 5 get one and the warehouse holds exactly 5.
#[actix_rt::test]
async fn carts_racing_for_the_last_units_never_oversell() {
    let handle = memory();
    receive(&handle, "wh-madrid", "KEYBOARD", 5).await;
    let mut carts = Vec::new();
    for _ in 0..20 {
        carts.push(open(&handle).await);
    }
    let adds: Vec<_> = carts
        .iter()
        .map(|cart| {
            let addr = handle.carts().get(cart).expect("open");
            addr.send(AddLine { sku: "KEYBOARD".into(), quantity: 1, answering: Answering::Durable })
        })
        .collect();
    let mut won = 0;
    for outcome in futures_all(adds).await {
        match outcome.expect("running") {
            Ok(_) => won += 1,
            Err(error) => assert_eq!(error.code(), "insufficient_stock"),
        }
    }
    assert_eq!(won, 5);
    assert_eq!(held(&handle, "wh-madrid", "KEYBOARD").await, (5, 5));
}

async fn futures_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut outputs = Vec::with_capacity(futures.len());
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    for handle in handles {
        outputs.push(handle.await);
    }
    outputs
}

// Proves reads of a cart (the cart itself, its delivery options) wait until the cart's
// changes are durable: when the log fails to sync a line's record that the cart has
// already applied, both are refused as not durable instead of showing the line the log
// lost. (Which
// sync fails first depends on how the writer batches the reservation's and the line's
// records, so fresh logs are tried until the line's record is the one lost.)
#[actix_rt::test]
async fn reads_of_a_cart_wait_until_its_changes_are_durable() {
    let mut lost_lines = 0;
    for _ in 0..50 {
        let sim = SimStorage::default();
        let (_log, handle, cart) = durable_cart(&sim).await;
        let addr = handle.carts().get(&cart).expect("open");
        addr.send(SetAddress(madrid_address())).await.expect("running").expect("set");
        let shown = addr.send(DeliveryOptions { preference: None }).await.expect("running");
        assert!(shown.is_ok_and(|view| view.cart.lines.is_empty()), "a durable empty cart's options are shown");
        sim.fail(FaultPoint::Sync, 0);
        let added = add(&handle, &cart, "KEYBOARD", 1).await;
        assert!(matches!(added, Err(CartError::NotDurable(_))), "{added:?}");
        // The cart as it is in memory, durable or not.
        let applied = addr.send(CopyCart).await.expect("running").cart;
        let options = addr.send(DeliveryOptions { preference: None }).await.expect("running");
        let read = addr.send(GetCart).await.expect("running");
        if applied.lines.is_empty() {
            // The reservation's record failed first: the cart never changed.
            assert!(options.is_ok_and(|view| view.cart.lines.is_empty()));
            assert!(read.is_ok_and(|reply| reply.cart.lines.is_empty()));
        } else {
            assert!(matches!(options, Err(CartError::NotDurable(_))), "{options:?}");
            assert!(matches!(read, Err(CartError::NotDurable(_))), "{read:?}");
            lost_lines += 1;
            break;
        }
    }
    assert_eq!(lost_lines, 1, "no attempt lost the line's own record");
}

// Proves a part of a cart created whole (`Answering::Queued`) answers once its record is
// queued, not synced, and that nothing acknowledged rests on it: with the part's sync
// failing, the queued part still answers, but the durable change after it and every read
// are refused as not durable, and so is a refusal after it. With the sync working, the durable answer after queued
// parts means they are durable too: a crash then keeps all of them.
#[actix_rt::test]
async fn a_queued_part_answers_before_its_sync_and_no_durable_answer_rests_on_it_alone() {
    let sim = SimStorage::default();
    let (_log, handle, cart) = durable_cart(&sim).await;
    let addr = handle.carts().get(&cart).expect("open");
    add(&handle, &cart, "KEYBOARD", 1).await.expect("added");
    sim.fail(FaultPoint::Sync, 0);
    let queued = addr.send(Keeping(SetAddress(madrid_address()), Answering::Queued)).await.expect("running");
    assert!(queued.expect("answered once queued").cart.address.is_some());
    // A refusal after it (no MOUSE in stock) waits for it too, and so is not answered.
    let refused = add(&handle, &cart, "MOUSE", 1).await;
    assert!(matches!(refused, Err(CartError::NotDurable(_))), "{refused:?}");
    let durable = addr.send(Keeping(SetAddress(madrid_address()), Answering::Durable)).await.expect("running");
    assert!(matches!(durable, Err(CartError::NotDurable(_))), "{durable:?}");
    let read = addr.send(GetCart).await.expect("running");
    assert!(matches!(read, Err(CartError::NotDurable(_))), "{read:?}");

    let sim = SimStorage::default();
    let (log, handle, cart) = durable_cart(&sim).await;
    let addr = handle.carts().get(&cart).expect("open");
    let line = AddLine { sku: "KEYBOARD".into(), quantity: 2, answering: Answering::Queued };
    addr.send(line).await.expect("running").expect("answered once queued");
    addr.send(Keeping(SetAddress(madrid_address()), Answering::Queued)).await.expect("running").expect("queued");
    let last = addr.send(ChangeLine { line: "l1".into(), quantity: 3 }).await.expect("running").expect("durable");
    sim.crash(|_, _| Vec::new());
    drop(log);
    let (_log, mut recovered) = recover(&sim, &BTreeMap::new());
    let (carts, _) = recovered.take_carts("demo");
    assert_eq!(carts.len(), 1);
    assert_eq!(carts[0].cart, *last.cart, "every part before the durable answer survived");
    assert_eq!(carts[0].cart.lines["l1"].quantity, 3);
    assert!(carts[0].cart.address.is_some());
    let stock = recovered.take_warehouse("demo", "wh-madrid");
    assert_eq!(stock.record("KEYBOARD").map(|r| r.reserved), Some(3));
}

// Proves no client reads an order the log could still lose: an order whose last record
// (here a payment confirmation whose sync fails) is not durable is changed in memory but
// refused on read, and a refusal decided on that change is not answered either.
#[actix_rt::test]
async fn an_order_is_read_only_once_its_last_record_is_durable() {
    let sim = SimStorage::default();
    let (_log, handle, cart) = durable_cart(&sim).await;
    let addr = handle.carts().get(&cart).expect("open");
    add(&handle, &cart, "KEYBOARD", 1).await.expect("added");
    ready_for_home(&addr).await;
    let order = addr.send(by_transfer()).await.expect("running").expect("placed").order.expect("an order");
    let read = handle.orders().read(&order.id).await.expect("durable");
    assert_eq!(read.status, OrderStatus::PendingPayment);
    sim.fail(FaultPoint::Sync, 0);
    let paid = handle.orders().execute(&order.id, OrderCommand::ConfirmPayment { reference: "TR-1".into() }).await;
    assert!(matches!(paid, Err(CartError::NotDurable(_))), "{paid:?}");
    assert_eq!(handle.orders().get(&order.id).await.expect("listed").status, OrderStatus::Paid, "applied in memory");
    let read = handle.orders().read(&order.id).await;
    assert!(matches!(read, Err(CartError::NotDurable(_))), "the payment is not durable: {read:?}");
    // A retry is refused on the lost payment's state (already paid): that refusal waits for
    // the lost record too, so it is not answered either.
    let again = handle.orders().execute(&order.id, OrderCommand::ConfirmPayment { reference: "TR-1".into() }).await;
    assert!(matches!(again, Err(CartError::NotDurable(_))), "{again:?}");
    let unknown = handle.orders().read("no-such-order").await;
    assert!(matches!(unknown, Err(CartError::Refused(DomainError::UnknownOrder { .. }))), "{unknown:?}");
}

// Proves the repair at start of a checkout a crash cut after its commits and before its
// order record: the committed hold goes back to its still-open cart as the same
// reservation (which then checks out), and an order line no open cart claims is
// cancelled, its units back in stock. Before it, both stayed allocated to no order.
#[actix_rt::test]
async fn commits_without_their_order_are_repaired_at_start() {
    let sim = SimStorage::default();
    let (log, handle, cart) = durable_cart(&sim).await;
    add(&handle, &cart, "KEYBOARD", 2).await.expect("added");
    // What the checkout committed before the crash: the cart's hold, and one of a cart
    // that is gone.
    commit_without_order(&handle, &cart).await;
    let warehouse = handle.warehouses().get("wh-madrid").expect("a warehouse");
    let gone = Timestamp(START.0 + 60_000);
    let held = Cmd::Reserve { reservation: "gone-hold".into(), sku: "KEYBOARD".into(), quantity: 3, expires_at: gone };
    warehouse.send(Execute(held)).await.expect("running").expect("reserved");
    let commit = Cmd::CommitReservation {
        reservation: "gone-hold".into(),
        order_line: "gone-order/l1/1".into(),
        quantity: None,
    };
    warehouse.send(Execute(commit)).await.expect("running").expect("committed");
    let stock = |handle: &CommerceHandle| {
        let warehouse = handle.warehouses().get("wh-madrid").expect("a warehouse").clone();
        async move { warehouse.send(GetStock { sku: "KEYBOARD".into() }).await.expect("running").expect("sold") }
    };
    let before = stock(&handle).await;
    assert_eq!((before.record.allocated, before.record.reserved), (5, 0));
    sim.crash(|_, _| Vec::new());
    drop(log);

    let (_log, mut recovered) = recover(&sim, &BTreeMap::new());
    let handle = start(&Journal::Log(_log.handle()), &mut recovered);
    assert_eq!(handle.repair_unplaced_commits().await, Ok(2));
    let after = stock(&handle).await;
    assert_eq!((after.record.allocated, after.record.reserved, after.reservations), (0, 2, 1));
    assert_eq!(after.record.on_hand, 10);
    assert_eq!(handle.repair_unplaced_commits().await, Ok(0), "nothing left to repair");
    let addr = handle.carts().get(&cart).expect("the cart is still open");
    ready_for_home(&addr).await;
    let checkout = by_transfer();
    addr.send(checkout).await.expect("running").expect("the cart checks out on its hold given back");
    let placed = stock(&handle).await;
    assert_eq!((placed.record.allocated, placed.record.reserved), (2, 0));
    assert_eq!(handle.repair_unplaced_commits().await, Ok(0), "a placed order's lines are its own");
    assert_eq!(stock(&handle).await.record.allocated, 2);
}

// Proves an order line whose cart's time passed while the node was down is cancelled at
// start, not given back to that cart: its units return to stock.
#[actix_rt::test]
async fn commits_of_an_expired_cart_are_cancelled_at_start() {
    let sim = SimStorage::default();
    let (log, handle, cart) = durable_cart(&sim).await;
    // The clock runs on from START, so the cart ends a lifetime after the add, not START.
    let expires_at = add(&handle, &cart, "KEYBOARD", 2).await.expect("added").cart.expires_at;
    assert!(expires_at.0 >= START.0 + CART_LIFETIME_MS);
    commit_without_order(&handle, &cart).await;
    sim.crash(|_, _| Vec::new());
    drop(log);

    let (log, mut recovered) = recover(&sim, &BTreeMap::new());
    let commerce = Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("demo config is valid");
    let later = Clock::starting_at(Timestamp(expires_at.0 + 1));
    let journal = Journal::Log(log.handle());
    let handle = CommerceHandle::start_durable(commerce, later, &journal, &mut recovered, &Idempotency::default());
    assert_eq!(handle.repair_unplaced_commits().await, Ok(1));
    let warehouse = handle.warehouses().get("wh-madrid").expect("a warehouse");
    let view = warehouse.send(GetStock { sku: "KEYBOARD".into() }).await.expect("running").expect("sold");
    assert_eq!((view.record.on_hand, view.record.allocated, view.record.reserved), (10, 0, 0));
}

// Proves the repair cancels an order line its cart cannot take back: a committed line
// whose batch then arrived empty is at risk, the warehouse refuses to turn it back into a
// reservation, and the repair cancels it instead, leaving nothing allocated to no order.
#[actix_rt::test]
async fn an_at_risk_commit_without_its_order_is_cancelled_at_start() {
    let sim = SimStorage::default();
    let (log, mut recovered) = recover(&sim, &BTreeMap::new());
    let handle = start(&Journal::Log(log.handle()), &mut recovered);
    let madrid = handle.warehouses().get("wh-madrid").expect("a warehouse");
    let expected_date = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
    let announce = Cmd::AnnounceBatch { sku: "HEADPHONES".into(), batch: "b1".into(), quantity: 5, expected_date };
    madrid.send(Execute(announce)).await.expect("running").expect("announced");
    let cart = open(&handle).await;
    add(&handle, &cart, "HEADPHONES", 3).await.expect("added");
    commit_without_order(&handle, &cart).await;
    let never_came = Cmd::ReceiveBatch { sku: "HEADPHONES".into(), batch: "b1".into(), quantity: 0 };
    madrid.send(Execute(never_came)).await.expect("running").expect("received");
    sim.crash(|_, _| Vec::new());
    drop(log);

    let (log, mut recovered) = recover(&sim, &BTreeMap::new());
    let handle = start(&Journal::Log(log.handle()), &mut recovered);
    assert_eq!(handle.repair_unplaced_commits().await, Ok(1));
    let madrid = handle.warehouses().get("wh-madrid").expect("a warehouse");
    let view = madrid.send(GetStock { sku: "HEADPHONES".into() }).await.expect("running").expect("known");
    assert_eq!((view.record.allocated, view.record.reserved, view.reservations), (0, 0, 0));
    assert_eq!(handle.repair_unplaced_commits().await, Ok(0), "the order line is gone");
    drop(log);
}
