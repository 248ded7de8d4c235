//! Cart actors: a line holds its units in the warehouses source selection picks, and a
//! change to it reserves or lets go exactly the difference; refusals hold nothing; a cart
//! that sits idle expires and lets everything go, one that is used is renewed; with
//! multi-shipment off a cart moves whole to one center; carts racing for the last units
//! never oversell.

mod support;

use support::*;

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
        matches!(&short, Err(ActorError::Refused(DomainError::InsufficientStock { available: 1, .. }))),
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
    assert_eq!(status(&handle, &idle).await, Some(CartStatus::Expired), "the idle cart ended");
    assert_eq!(status(&handle, &used).await, Some(CartStatus::Open), "the used cart lives on");
    assert_eq!(held(&handle, "wh-madrid", "KEYBOARD").await, (4, 2));

    // An ended cart answers for ten seconds more (`ENDED_CART_KEPT`), then leaves memory.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(status(&handle, &idle).await, None, "the idle cart is forgotten");
    assert_eq!(status(&handle, &used).await, Some(CartStatus::Open));

    tokio::time::sleep(Duration::from_secs(5 * 60)).await;
    assert_eq!(status(&handle, &used).await, Some(CartStatus::Expired), "it ended in turn");
    assert_eq!(held(&handle, "wh-madrid", "KEYBOARD").await, (0, 0));
    tokio::time::sleep(Duration::from_secs(61)).await;
    assert_eq!(status(&handle, &used).await, None, "then it is forgotten");
    assert!(handle.carts().is_empty());
}

/// The status a cart answers with, or none when it is not kept.
async fn status(handle: &CommerceHandle, cart: &str) -> Option<CartStatus> {
    let addr = handle.carts().get(cart)?;
    Some(addr.send(GetCart).await.ok()?.expect("answers").cart.status)
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
    // Given back before the refusal was answered: the very next look finds it.
    let mouse = madrid.send(GetStock { sku: "MOUSE".into() }).await.expect("running").expect("sold");
    assert_eq!((mouse.record.allocated, mouse.record.reserved), (0, 2), "the first line's reservation is back");
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

// Proves the warehouses hold a cart's units a grace past the cart's own time (a third of
// its lifetime, at most a minute: a minute for the demo's 15), on reserving and on a
// renewal, so a renewal that reaches them after the cart recorded it is never late; the
// cart itself still lets them go at its own time.
#[actix_rt::test]
async fn warehouses_hold_a_carts_units_a_grace_past_its_time() {
    tokio::time::pause();
    let handle = memory();
    receive(&handle, "wh-madrid", "KEYBOARD", 10).await;
    let cart = open(&handle).await;
    let until = |stock: &mercato_engine::inventory::WarehouseStock| {
        stock.reservations().map(|r| r.expires_at.0).collect::<Vec<_>>()
    };
    let added = add(&handle, &cart, "KEYBOARD", 2).await.expect("added");
    let warehouse = handle.warehouses().get("wh-madrid").expect("a warehouse");
    let stock = warehouse.send(CopyState).await.expect("running");
    assert_eq!(until(&stock), vec![added.cart.expires_at.0 + 60_000]);

    tokio::time::sleep(Duration::from_secs(14 * 60 + 59)).await;
    let renewed = add(&handle, &cart, "KEYBOARD", 1).await.expect("added");
    assert!(renewed.cart.expires_at > added.cart.expires_at, "renewed");
    tokio::task::yield_now().await;
    let stock = warehouse.send(CopyState).await.expect("running");
    assert!(until(&stock).iter().all(|&at| at == renewed.cart.expires_at.0 + 60_000), "{:?}", until(&stock));

    tokio::time::sleep(Duration::from_secs(15 * 60 + 1)).await;
    assert_eq!(held(&handle, "wh-madrid", "KEYBOARD").await, (0, 0), "let go at the cart's own time");
}
