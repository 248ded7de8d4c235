//! Cart actors across crashes: carts and orders come back from the log and from snapshots
//! exactly as acknowledged; reads wait until what they show is durable; a checkout a crash
//! cut between its commits and its order is repaired at start.

mod support;

use support::*;

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
        Part { lsn: covers, bytes: mercato_actors::stored::carts_part(&snapshot).expect("encodes") },
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
        (
            carts_part_key("demo"),
            Part { lsn: carts_cover, bytes: mercato_actors::stored::carts_part(&carts).expect("encodes") },
        ),
        (
            orders_part_key("demo"),
            Part {
                lsn: orders_cover,
                bytes: mercato_actors::stored::orders_part(&orders.into_snapshot()).expect("encodes"),
            },
        ),
        (
            warehouse_part_key("demo", "wh-madrid"),
            Part { lsn: copy.covers, bytes: mercato_actors::stored::warehouse_part(&warehouse).expect("encodes") },
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
        let (carts, _) = recovered.take_carts("demo");
        let statuses: Vec<_> = carts.iter().map(|copy| (copy.cart.status, copy.cart.order.clone())).collect();
        let closed = vec![(CartStatus::CheckedOut, Some(order.id.clone()))];
        assert_eq!(statuses, closed, "from {from}: the checked-out cart stays closed, with its order");
        {
            let stock = recovered.take_warehouse("demo", "wh-madrid");
            let (_, keyboard) = stock.records().find(|(sku, _)| *sku == "KEYBOARD").expect("a record");
            assert_eq!((keyboard.reserved, keyboard.allocated), (0, 2), "from {from}");
        }
    }
}

// Proves reads of a cart (the cart itself, its delivery options) wait until the cart's
// changes are durable: when the log fails to sync a change the cart has already applied
// (a line cut to fewer units, whose record is the first queued after the fault), the
// change answers as of unknown outcome and both reads are refused as not durable instead
// of showing what the log lost.
#[actix_rt::test]
async fn reads_of_a_cart_wait_until_its_changes_are_durable() {
    let sim = SimStorage::default();
    let (_log, handle, cart) = durable_cart(&sim).await;
    let addr = handle.carts().get(&cart).expect("open");
    add(&handle, &cart, "KEYBOARD", 2).await.expect("added");
    addr.send(SetAddress(madrid_address())).await.expect("running").expect("set");
    let shown = addr.send(DeliveryOptions { preference: None }).await.expect("running");
    assert!(shown.is_ok_and(|view| view.cart.lines["l1"].quantity == 2), "a durable cart's options are shown");
    sim.fail(FaultPoint::Sync, 0);
    let changed = change(&handle, &cart, "l1", 1).await;
    assert!(matches!(changed, Err(ActorError::NotDurable(NotDurable { queued: true, .. }))), "{changed:?}");
    let applied = addr.send(CopyCart).await.expect("running").cart;
    assert_eq!(applied.lines["l1"].quantity, 1, "the cart applied the change before its sync failed");
    let options = addr.send(DeliveryOptions { preference: None }).await.expect("running");
    assert!(matches!(options, Err(ActorError::NotDurable(_))), "{options:?}");
    let read = addr.send(GetCart).await.expect("running");
    assert!(matches!(read, Err(ActorError::NotDurable(_))), "{read:?}");
}

// Proves no read shows a line the log never took, whichever record the failing sync hits
// (the warehouse's reservation or the cart's line, as the writer batches them): a cart
// that shows the line refuses every read of it, and one that does not shows none. Run
// many times, since the log may stop between the cart's place on the log and its record:
// then the cart must not have changed at all.
#[actix_rt::test]
async fn no_read_shows_a_line_the_log_never_took() {
    for _ in 0..50 {
        let sim = SimStorage::default();
        let (_log, handle, cart) = durable_cart(&sim).await;
        let addr = handle.carts().get(&cart).expect("open");
        addr.send(SetAddress(madrid_address())).await.expect("running").expect("set");
        sim.fail(FaultPoint::Sync, 0);
        let added = add(&handle, &cart, "KEYBOARD", 1).await;
        assert!(matches!(added, Err(ActorError::NotDurable(_))), "{added:?}");
        let applied = addr.send(CopyCart).await.expect("running").cart;
        let options = addr.send(DeliveryOptions { preference: None }).await.expect("running");
        let read = addr.send(GetCart).await.expect("running");
        if applied.lines.is_empty() {
            assert!(options.as_ref().is_ok_and(|view| view.cart.lines.is_empty()), "{options:?}");
            assert!(read.as_ref().is_ok_and(|reply| reply.cart.lines.is_empty()), "{read:?}");
        } else {
            assert!(matches!(options, Err(ActorError::NotDurable(_))), "{options:?}");
            assert!(matches!(read, Err(ActorError::NotDurable(_))), "{read:?}");
        }
    }
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
    assert!(matches!(refused, Err(ActorError::NotDurable(_))), "{refused:?}");
    let durable = addr.send(Keeping(SetAddress(madrid_address()), Answering::Durable)).await.expect("running");
    assert!(matches!(durable, Err(ActorError::NotDurable(_))), "{durable:?}");
    let read = addr.send(GetCart).await.expect("running");
    assert!(matches!(read, Err(ActorError::NotDurable(_))), "{read:?}");

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
    assert!(matches!(paid, Err(ActorError::NotDurable(_))), "{paid:?}");
    assert_eq!(handle.orders().get(&order.id).await.expect("listed").status, OrderStatus::Paid, "applied in memory");
    let read = handle.orders().read(&order.id).await;
    assert!(matches!(read, Err(ActorError::NotDurable(_))), "the payment is not durable: {read:?}");
    // A retry is refused on the lost payment's state (already paid): that refusal waits for
    // the lost record too, so it is not answered either.
    let again = handle.orders().execute(&order.id, OrderCommand::ConfirmPayment { reference: "TR-1".into() }).await;
    assert!(matches!(again, Err(ActorError::NotDurable(_))), "{again:?}");
    let unknown = handle.orders().read("no-such-order").await;
    assert!(matches!(unknown, Err(ActorError::Refused(DomainError::UnknownOrder { .. }))), "{unknown:?}");
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

// Proves the repair gives a committed hold back to its own open cart, never to a cart
// that ended: carts checked out with the same line, hold, SKU and units miss their
// reservations too (theirs became their orders' lines), and one of them taking the units
// would leave the open cart's checkout without its stock.
#[actix_rt::test]
async fn commits_go_back_to_their_open_cart_not_an_ended_one() {
    let sim = SimStorage::default();
    let (log, handle, cart) = durable_cart(&sim).await;
    // Four ended carts and the open one take the 10 keyboards on hand.
    for _ in 0..4 {
        let ended = open(&handle).await;
        add(&handle, &ended, "KEYBOARD", 2).await.expect("added");
        let addr = handle.carts().get(&ended).expect("open");
        ready_for_home(&addr).await;
        addr.send(by_transfer()).await.expect("running").expect("checked out");
    }
    add(&handle, &cart, "KEYBOARD", 2).await.expect("added");
    commit_without_order(&handle, &cart).await;
    sim.crash(|_, _| Vec::new());
    drop(log);

    let (log, mut recovered) = recover(&sim, &BTreeMap::new());
    let handle = start(&Journal::Log(log.handle()), &mut recovered);
    assert_eq!(handle.repair_unplaced_commits().await, Ok(1));
    let addr = handle.carts().get(&cart).expect("the cart is still open");
    ready_for_home(&addr).await;
    addr.send(by_transfer()).await.expect("running").expect("the open cart checks out on its hold given back");
    drop(log);
}
