//! Every engine event survives the log's stored format unchanged: written with the stored
//! types of the current format (`mercato_actors::stored`), read back with the types of the
//! version it was written in. Dates and money are the values serde codecs get wrong, so
//! every variant is encoded and decoded. Each format's fixtures prove old bytes still read.

mod codec_values;

use codec_values::*;
use mercato_actors::idempotency::Remembered;
use mercato_actors::stored::{
    self, CartCopy, CartEntry, CartsSnapshot, CatalogEntry, CatalogSnapshot, OrderEntry, OrdersSnapshot, PartOf,
    Record, SettingsEntry, StockLevel, WarehouseEntry, WarehouseSnapshot, RECORD_CART, RECORD_CATALOG, RECORD_ORDER,
    RECORD_SETTINGS, RECORD_WAREHOUSE,
};
use mercato_engine::cart::{Cart, CartEvent};
use mercato_engine::inventory::{InventoryEvent, Reservation, Source, SupplyPart, Timestamp};
use mercato_engine::order::OrderEvent;
use mercato_persistence::codec::FORMAT_VERSION;

fn read(kind: u8, bytes: &[u8]) -> Record {
    stored::decode_record(FORMAT_VERSION, kind, bytes).expect("decodes")
}

/// A warehouse entry's record as this build writes it (a record always has its time now:
/// one without is written at 0).
fn warehouse_bytes(entry: &WarehouseEntry) -> Vec<u8> {
    let at = entry.at.unwrap_or(Timestamp(0));
    stored::warehouse_record(
        (&entry.commerce, &entry.warehouse),
        at,
        &entry.events,
        &entry.levels,
        entry.remembered.as_ref(),
    )
    .expect("encodes")
}

fn cart_bytes(entry: &CartEntry) -> Vec<u8> {
    stored::cart_record(&entry.commerce, &entry.cart, &entry.events, entry.remembered.as_ref()).expect("encodes")
}

fn order_bytes(entry: &OrderEntry) -> Vec<u8> {
    stored::order_record(&entry.commerce, &entry.order, (entry.at, &entry.by), &entry.events, entry.remembered.as_ref())
        .expect("encodes")
}

fn catalog_bytes(entry: &CatalogEntry) -> Vec<u8> {
    let kept = (entry.remembered.as_ref(), entry.import.as_ref());
    stored::catalog_record(&entry.commerce, (entry.at, &entry.by), &entry.events, kept).expect("encodes")
}

// Proves each inventory event variant decodes to exactly what was encoded.
#[test]
fn inventory_events_round_trip() {
    let events = every_inventory_event_now();
    for event in &events {
        let entry = WarehouseEntry {
            commerce: "demo".into(),
            warehouse: "wh-madrid".into(),
            at: Some(Timestamp(1_795_000_000_005)),
            events: vec![event.clone()],
            levels: vec![StockLevel { sku: "MOUSE".into(), before: 6, after: 0 }],
            remembered: None,
        };
        assert_eq!(read(RECORD_WAREHOUSE, &warehouse_bytes(&entry)), Record::Warehouse(entry));
    }
    // Every variant appears: `variant` matches without a wildcard, so a new variant fails
    // to compile until it is added there and to the list above.
    let seen: std::collections::BTreeSet<usize> = events.iter().map(variant).collect();
    assert_eq!(seen, (0..25).collect());
}

fn variant(event: &InventoryEvent) -> usize {
    match event {
        InventoryEvent::StockReceived { .. } => 0,
        InventoryEvent::BatchAnnounced { .. } => 1,
        InventoryEvent::BatchChanged { .. } => 2,
        InventoryEvent::StockAdjusted { .. } => 3,
        InventoryEvent::StockReserved { .. } => 4,
        InventoryEvent::ReservationRenewed { .. } => 5,
        InventoryEvent::ReservationReleased { .. } => 6,
        InventoryEvent::ReservationExpired { .. } => 7,
        InventoryEvent::ReservationCommitted { .. } => 8,
        InventoryEvent::OrderLineShipped { .. } => 9,
        InventoryEvent::OrderLineCancelled { .. } => 10,
        InventoryEvent::ReturnRestocked { .. } => 11,
        InventoryEvent::BatchArrived { .. } => 12,
        InventoryEvent::PromiseAllocated { .. } => 13,
        InventoryEvent::PromiseMoved { .. } => 14,
        InventoryEvent::PromiseAtRisk { .. } => 15,
        InventoryEvent::ReservationSourced { .. } => 16,
        InventoryEvent::ReservationMoved { .. } => 17,
        InventoryEvent::ReservationShortened { .. } => 18,
        InventoryEvent::BatchClosed { .. } => 19,
        InventoryEvent::AtRiskAllocated { .. } => 20,
        InventoryEvent::AtRiskPromised { .. } => 21,
        InventoryEvent::ReservationReduced { .. } => 22,
        InventoryEvent::ReservationUncommitted { .. } => 23,
        InventoryEvent::OrderLineReleased { .. } => 24,
    }
}

// Proves an order's placement record as written (from the order, without an event made
// first) is the same bytes as the record of its placement event, and reads back as it.
#[test]
fn placement_records_written_and_read_alike() {
    let order = order_now();
    let bytes = stored::order_placed_record("demo", &order, None).expect("encodes");
    let events = vec![OrderEvent::Placed { order: Box::new(order.clone()) }];
    let (at, by) = (order.placed_at, order.placed_by.clone());
    let entry = OrderEntry { commerce: "demo".into(), order: order.id.clone(), at, by, events, remembered: None };
    assert_eq!(read(RECORD_ORDER, &bytes), Record::Order(entry.clone()));
    assert_eq!(order_bytes(&entry), bytes);
}

// Proves each order event variant, a whole placed order with its money, decodes to
// exactly what was encoded.
#[test]
fn order_events_round_trip() {
    let mut events = every_order_event();
    events.push(OrderEvent::Placed { order: Box::new(order_now()) });
    events.push(OrderEvent::PaymentConfirmed { reference: "TR-1".into() });
    events.push(OrderEvent::ShipmentReady { shipment: "s1".into() });
    let day = |d| chrono::NaiveDate::from_ymd_opt(2027, 3, d).expect("a day");
    events.push(OrderEvent::PromiseChanged { shipment: "s1".into(), ready_date: day(15), delivery_date: day(18) });
    for event in &events {
        let entry = OrderEntry {
            commerce: "demo".into(),
            order: "order-1".into(),
            at: Timestamp(1_795_000_000_003),
            by: "demo admin".into(),
            events: vec![event.clone()],
            remembered: None,
        };
        assert_eq!(read(RECORD_ORDER, &order_bytes(&entry)), Record::Order(entry));
    }
    let OrderEvent::Placed { order } = &events[0] else { panic!("the first event places the order") };
    assert!(!order.totals.taxes.is_empty() && order.totals.total > rust_decimal::Decimal::ZERO);
    let now = order_now();
    assert!(now.history.len() == 11 && now.refunds[0].reference.is_some() && now.delivery_notes.len() == 1, "{now:?}");
    assert!(now.returns[0].receipts[0].restocked && now.lines[0].returned == 1, "{now:?}");
    let seen: std::collections::BTreeSet<usize> = events.iter().map(order_variant).collect();
    assert_eq!(seen, (0..13).collect());
}

fn order_variant(event: &OrderEvent) -> usize {
    match event {
        OrderEvent::Placed { .. } => 0,
        OrderEvent::PaymentConfirmed { .. } => 1,
        OrderEvent::InvoiceIssued { .. } => 2,
        OrderEvent::ShipmentSent { .. } => 3,
        OrderEvent::CarrierReported { .. } => 4,
        OrderEvent::UnitsCancelled { .. } => 5,
        OrderEvent::RefundSettled { .. } => 6,
        OrderEvent::ShipmentReady { .. } => 7,
        OrderEvent::PromiseChanged { .. } => 8,
        OrderEvent::ReturnRequested { .. } => 9,
        OrderEvent::ReturnDecided { .. } => 10,
        OrderEvent::ReturnReceived { .. } => 11,
        OrderEvent::ReturnRestocked { .. } => 12,
    }
}

// Proves each cart event variant decodes to exactly what was encoded.
#[test]
fn cart_events_round_trip() {
    let events = every_cart_event();
    for event in &events {
        let entry =
            CartEntry { commerce: "demo".into(), cart: "cart-1".into(), events: vec![event.clone()], remembered: None };
        assert_eq!(read(RECORD_CART, &cart_bytes(&entry)), Record::Cart(entry));
    }
    let seen: std::collections::BTreeSet<usize> = events.iter().map(cart_variant).collect();
    assert_eq!(seen, (0..10).collect());
}

fn cart_variant(event: &CartEvent) -> usize {
    match event {
        CartEvent::CartCreated { .. } => 0,
        CartEvent::LineAdded { .. } => 1,
        CartEvent::LineChanged { .. } => 2,
        CartEvent::LineRemoved { .. } => 3,
        CartEvent::CartRenewed { .. } => 4,
        CartEvent::CartExpired => 5,
        CartEvent::AddressSet { .. } => 6,
        CartEvent::DeliveryChosen { .. } => 7,
        CartEvent::PromoCodeSet { .. } => 8,
        CartEvent::CheckedOut { .. } => 9,
    }
}

/// One log record and one snapshot part of each kind, holding every event variant and a
/// kept answer: what the format digest and the fixtures are made of.
struct Stored {
    warehouse_entry: WarehouseEntry,
    cart_entry: CartEntry,
    order_entry: OrderEntry,
    warehouse_snapshot: WarehouseSnapshot,
    carts_snapshot: CartsSnapshot,
    orders_snapshot: OrdersSnapshot,
    /// A catalogue record and part (format 5 on).
    catalog: Option<(CatalogEntry, CatalogSnapshot)>,
    /// Settings records (format 6 on).
    settings: Vec<SettingsEntry>,
}

impl Stored {
    /// Each record and part as this build writes it, in the order of the fields.
    fn encoded(&self) -> Vec<Vec<u8>> {
        let mut encoded = vec![
            warehouse_bytes(&self.warehouse_entry),
            cart_bytes(&self.cart_entry),
            order_bytes(&self.order_entry),
            stored::warehouse_part(&self.warehouse_snapshot).expect("encodes"),
            stored::carts_part(&self.carts_snapshot).expect("encodes"),
            stored::orders_part(&self.orders_snapshot).expect("encodes"),
        ];
        if let Some((entry, snapshot)) = &self.catalog {
            encoded.push(catalog_bytes(entry));
            encoded.push(stored::catalog_part(snapshot).expect("encodes"));
        }
        for entry in &self.settings {
            encoded.push(stored::settings_record(entry).expect("encodes"));
        }
        encoded
    }
}

fn stored() -> Stored {
    use mercato_actors::idempotency::{Answer, Stamp};
    use mercato_engine::inventory::WarehouseStock;

    let remembered = Remembered {
        stamp: Stamp { scope: "demo-storefront".into(), key: "key-1".into(), request: [7; 32] },
        answer: Answer { status: 201, body: br#"{"id":"cart-1"}"#.to_vec() },
        at: Timestamp(1_795_000_000_002),
    };
    let mut stock = WarehouseStock::default();
    let on_hand = |quantity| SupplyPart { source: Source::OnHand, quantity };
    let reserve = |id: &str, parts: Vec<SupplyPart>| InventoryEvent::StockReserved {
        reservation: Reservation {
            id: id.into(),
            sku: "MOUSE".into(),
            expires_at: Timestamp(1_795_000_000_000),
            parts: parts.into(),
        },
    };
    for event in [
        InventoryEvent::StockReceived { sku: "MOUSE".into(), quantity: 7 },
        InventoryEvent::BatchAnnounced {
            sku: "MOUSE".into(),
            batch: "po-1".into(),
            quantity: 9,
            expected_date: date(),
        },
        reserve("cart-1/l1/1", vec![on_hand(2), SupplyPart { source: Source::Batch("po-1".into()), quantity: 1 }]),
        reserve("cart-1/l2/1", vec![on_hand(1)]),
        InventoryEvent::ReservationCommitted {
            reservation: "cart-1/l2/1".into(),
            order_line: "order-9/l2/1".into(),
            placed_at: Timestamp(1_795_000_000_001),
        },
    ] {
        stock.apply(&event);
    }
    let order_events = vec![
        OrderEvent::Placed { order: Box::new(order()) },
        OrderEvent::PaymentConfirmed { reference: "TR-1".into() },
    ];
    let (commerce, kept) = (String::from("demo"), Some(remembered.clone()));
    let cart = Cart::from_created(&every_cart_event()[0]).expect("a cart");
    Stored {
        warehouse_entry: WarehouseEntry {
            commerce: commerce.clone(),
            warehouse: "wh-madrid".into(),
            at: None,
            events: every_inventory_event(),
            levels: Vec::new(),
            remembered: kept.clone(),
        },
        cart_entry: CartEntry {
            commerce: commerce.clone(),
            cart: "cart-1".into(),
            events: every_cart_event(),
            remembered: kept.clone(),
        },
        order_entry: OrderEntry {
            commerce: commerce.clone(),
            order: "order-1".into(),
            at: Timestamp(0),
            by: String::new(),
            events: order_events,
            remembered: kept,
        },
        warehouse_snapshot: WarehouseSnapshot {
            commerce: commerce.clone(),
            warehouse: "wh-madrid".into(),
            stock,
            remembered: vec![remembered.clone()],
        },
        carts_snapshot: CartsSnapshot {
            commerce: commerce.clone(),
            carts: vec![CartCopy { cart, covers: 41 }],
            remembered: vec![remembered.clone()],
        },
        orders_snapshot: OrdersSnapshot { commerce, orders: vec![order()], remembered: vec![remembered] },
        catalog: None,
        settings: Vec::new(),
    }
}

// Proves the stored bytes are those of this build's format version. The digest covers a
// log record of each kind (every inventory, cart and order event, with a remembered
// answer) and a snapshot part of each kind, as they are encoded: when any of their types'
// encoding changes, it changes. Then bump `FORMAT_VERSION` (logs and snapshots of the old
// version are refused at start instead of misread) and update the digest here. A digest
// that moved only because a fixture's values did (the demo config priced the order
// differently), or because a document kept as JSON gained an optional field (format 6's
// documents and items read old JSON with the field absent, as the fixtures prove), needs
// no new version.
#[test]
fn the_encoding_is_the_format_versions() {
    let bytes: Vec<u8> = stored_7().encoded().concat();
    let digest = format!("format {FORMAT_VERSION}: {} bytes, crc32c {:08x}", bytes.len(), crc32c::crc32c(&bytes));
    expect_test::expect!["format 7: 41783 bytes, crc32c b1c85271"].assert_eq(&digest);
}

/// What format 7 added: a line's seller and commission, and payouts in settings records.
fn stored_7() -> Stored {
    use mercato_actors::idempotency::Stamp;
    use mercato_actors::stored::{Payout, PayoutBatch, SettingsChange};
    use mercato_engine::commerce::commissions::Commission;
    use mercato_engine::order::Seller;

    let mut now = stored_6();
    let seller = Seller {
        merchant: "artisan-co".into(),
        commission: Commission {
            rule: Some("mugs".into()),
            percent: "12.5".parse().expect("a decimal"),
            fixed_per_unit: "0.005".parse().expect("a decimal"),
        },
    };
    let sold = |order: &mut mercato_engine::order::Order| order.lines[0].seller = Some(seller.clone());
    for event in &mut now.order_entry.events {
        if let OrderEvent::Placed { order } = event {
            sold(order);
        }
    }
    now.orders_snapshot.orders.iter_mut().for_each(sold);
    let payout = |n: u32, amount: &str| Payout {
        id: format!("PO-1-{n}"),
        merchant: "artisan-co".into(),
        currency: if n == 1 { "EUR".into() } else { "USD".into() },
        amount: amount.parse().expect("a decimal"),
    };
    let batches = [
        PayoutBatch {
            id: "PO-1".into(),
            payouts: vec![payout(1, "42.24"), payout(2, "-0.01")],
            stamp: Some(Stamp { scope: "demo/demo admin".into(), key: "p-1".into(), request: [9; 32] }),
        },
        PayoutBatch { id: "PO-2".into(), payouts: Vec::new(), stamp: None },
    ];
    for (n, batch) in batches.into_iter().enumerate() {
        now.settings.push(SettingsEntry {
            commerce: "demo".into(),
            at: Timestamp(1_795_000_000_100 + i64::try_from(n).expect("small")),
            by: "demo admin".into(),
            change: SettingsChange::Payouts(Box::new(batch)),
        });
    }
    now
}

/// What format 6 added: settings records of each kind, and the document a catalogue part
/// holds.
fn stored_6() -> Stored {
    let mut now = stored_5();
    let (entries, document) = settings_6();
    if let Some((_, part)) = now.catalog.as_mut() {
        part.settings = Some(Box::new(document));
    }
    now.settings = entries;
    now
}

/// What format 5 added: the catalogue's record and part.
fn stored_5() -> Stored {
    let mut now = stored_4();
    let remembered = now.orders_snapshot.remembered[0].clone();
    now.catalog = Some(catalog_5(remembered));
    now
}

/// What format 4 added: a warehouse record's time and the stock levels it moved.
fn stored_4() -> Stored {
    let mut now = stored_now();
    now.warehouse_entry.at = Some(Timestamp(1_795_000_000_006));
    now.warehouse_entry.levels = vec![
        StockLevel { sku: "MOUSE".into(), before: 6, after: 5 },
        StockLevel { sku: "KEYBOARD".into(), before: 1, after: u32::MAX },
    ];
    now
}

/// What format 3 added, in a record and a part of each kind: every inventory event, every
/// order event with when and by whom, an order shipped, cancelled in part, refunded,
/// invoiced and credited, and a warehouse's order line that shipped and released units.
fn stored_now() -> Stored {
    let mut now = stored();
    now.warehouse_entry.events = every_inventory_event_now();
    now.order_entry.at = Timestamp(1_795_000_000_004);
    now.order_entry.by = "demo admin".into();
    now.order_entry.events = every_order_event();
    for event in [
        InventoryEvent::StockReceived { sku: "MOUSE".into(), quantity: 1 },
        InventoryEvent::OrderLineShipped { order_line: "order-9/l2/1".into(), quantity: 1 },
    ] {
        now.warehouse_snapshot.stock.apply(&event);
    }
    now.orders_snapshot.orders = vec![order_now()];
    now
}

/// The bytes of the fixture `name` of format `version`; with `MERCATO_WRITE_FIXTURES` set
/// while the current format is `version`, writes them from `bytes` first (done once, when
/// the format was current: fixtures are never rewritten for a later format).
fn fixture(version: u8, name: &str, bytes: &[u8]) -> Vec<u8> {
    let folder = format!("tests/fixtures/format-{version}");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(folder).join(name);
    if std::env::var_os("MERCATO_WRITE_FIXTURES").is_some() && FORMAT_VERSION == version {
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("the fixtures folder");
        std::fs::write(&path, bytes).expect("written");
    }
    std::fs::read(&path).unwrap_or_else(|error| panic!("fixture {name}: {error}"))
}

// Proves data folders written by format 2 stay readable: a log record and a snapshot part
// of each kind, written by the build of format 2 (before the stored types were their own,
// when the engine's structs were encoded as they were) and kept in
// `tests/fixtures/format-2/`, read with format 2's stored types to the values they were
// written from. A change to a stored type that breaks this needs a new format version
// whose build still reads these bytes (and this test kept).
#[test]
fn records_and_parts_of_format_2_still_decode() {
    decode_fixtures(2, stored());
}

// Proves data folders written by format 3 stay readable: its fixtures in
// `tests/fixtures/format-3/`, read with format 3's stored types.
#[test]
fn records_and_parts_of_format_3_still_decode() {
    decode_fixtures(3, stored_now());
}

// Proves data folders written by format 4 stay readable: its fixtures in
// `tests/fixtures/format-4/`, read with format 4's stored types.
#[test]
fn records_and_parts_of_format_4_still_decode() {
    decode_fixtures(4, stored_4());
}

// Proves data folders written by format 5 stay readable: its fixtures in
// `tests/fixtures/format-5/` (the catalogue's record and part among them), read with
// format 5's stored types.
#[test]
fn records_and_parts_of_format_5_still_decode() {
    decode_fixtures(5, stored_5());
}

// Proves data folders written by format 6 stay readable: its fixtures in
// `tests/fixtures/format-6/` (settings records of every kind, and a catalogue part with
// its document), read with format 6's stored types.
#[test]
fn records_and_parts_of_format_6_still_decode() {
    decode_fixtures(6, stored_6());
}

// Proves data folders of format 7 stay readable (`tests/fixtures/format-7/`).
#[test]
fn records_and_parts_of_format_7_still_decode() {
    decode_fixtures(7, stored_7());
}

/// Reads the fixtures of format `version` and compares them with what they were written
/// from.
fn decode_fixtures(version: u8, stored: Stored) {
    let names = [
        "warehouse-entry",
        "cart-entry",
        "order-entry",
        "warehouse-snapshot",
        "carts-snapshot",
        "orders-snapshot",
        "catalog-entry",
        "catalog-snapshot",
    ];
    let settings: Vec<String> = (0..stored.settings.len()).map(|at| format!("settings-{at}")).collect();
    let names: Vec<&str> = names.iter().copied().chain(settings.iter().map(String::as_str)).collect();
    let bytes: Vec<Vec<u8>> = names
        .iter()
        .zip(stored.encoded())
        .map(|(name, bytes)| fixture(version, &format!("{name}.bin"), &bytes))
        .collect();
    let record = |kind, at: usize| {
        stored::decode_record(version, kind, &bytes[at])
            .unwrap_or_else(|error| panic!("fixture {} no longer decodes: {error}", names[at]))
    };
    assert_eq!(record(RECORD_WAREHOUSE, 0), Record::Warehouse(stored.warehouse_entry));
    assert_eq!(record(RECORD_CART, 1), Record::Cart(stored.cart_entry));
    assert_eq!(record(RECORD_ORDER, 2), Record::Order(stored.order_entry));
    let part = |key: String, at: usize| {
        stored::decode_part(version, &key, &bytes[at])
            .unwrap_or_else(|error| panic!("fixture {} no longer decodes: {error}", names[at]))
    };
    let key = stored::warehouse_part_key("demo", "wh-madrid");
    assert_eq!(part(key, 3), PartOf::Warehouse(stored.warehouse_snapshot));
    assert_eq!(part(stored::carts_part_key("demo"), 4), PartOf::Carts(stored.carts_snapshot));
    assert_eq!(part(stored::orders_part_key("demo"), 5), PartOf::Orders(stored.orders_snapshot));
    if let Some((entry, snapshot)) = stored.catalog {
        assert_eq!(record(RECORD_CATALOG, 6), Record::Catalog(entry));
        assert_eq!(part(stored::catalog_part_key("demo"), 7), PartOf::Catalog(snapshot));
    }
    for (at, entry) in stored.settings.into_iter().enumerate() {
        assert_eq!(record(RECORD_SETTINGS, 8 + at), Record::Settings(entry));
    }
}

// Proves stored bytes that do not make a state are refused with a message, never read
// into a wrong state or a panic: a format this build does not read, a record of an unknown
// kind, a part under another part's key, and a warehouse whose reservation appears twice.
#[test]
fn stored_bytes_that_make_no_state_are_refused() {
    let stored = stored();
    let [warehouse, _, _, part, carts, _] = <[Vec<u8>; 6]>::try_from(stored.encoded()).expect("six");
    fn refused<T>(result: Result<T, mercato_persistence::PersistenceError>) -> String {
        result.map(|_| ()).expect_err("refused").to_string()
    }
    assert!(refused(stored::decode_record(8, RECORD_WAREHOUSE, &warehouse)).contains("format 8"));
    assert!(refused(stored::decode_record(FORMAT_VERSION, 9, &warehouse)).contains("kind 9"));
    let error = refused(stored::decode_part(FORMAT_VERSION, &stored::carts_part_key("other"), &carts));
    assert!(error.contains("holds the part") && error.contains("demo"), "{error}");
    assert!(refused(stored::decode_part(FORMAT_VERSION, "stock\u{1f}demo", &part)).contains("no known kind"));

    let mut twice = stored.warehouse_snapshot.clone();
    let reservation = twice.stock.reservations().next().expect("a reservation").clone();
    let mut reservations: Vec<_> = twice.stock.reservations().cloned().collect();
    reservations.push(reservation.clone());
    let records = twice.stock.records().map(|(sku, record)| (sku.into(), record.clone())).collect();
    let lines = twice.stock.order_lines().cloned().collect();
    assert!(mercato_engine::inventory::WarehouseStock::from_parts("wh-madrid".into(), records, reservations, lines)
        .is_err_and(|error| error.contains(&reservation.id)));
    twice.stock = mercato_engine::inventory::WarehouseStock::new("wh-madrid");
    let empty = stored::warehouse_part(&twice).expect("encodes");
    let key = stored::warehouse_part_key("demo", "wh-madrid");
    assert!(stored::decode_part(FORMAT_VERSION, &key, &empty).is_ok());
}

// Proves recovery reads what a build before the order actor could leave: an orders
// snapshot part holding a payment confirmed after the LSN the part covers, whose record
// then replays onto the paid order. The same confirmation is already in the copy; another
// one does not fit the order and refuses the start naming its record.
#[test]
fn a_payment_the_snapshot_already_holds_replays_as_nothing() {
    use std::collections::BTreeMap;

    use mercato_actors::stored::orders_part_key;
    use mercato_actors::Recovered;
    use mercato_persistence::log::Replayed;
    use mercato_persistence::snapshot::Part;

    let paid = order();
    let snapshot = OrdersSnapshot { commerce: "demo".into(), orders: vec![paid.clone()], remembered: Vec::new() };
    let parts = BTreeMap::from([(
        orders_part_key("demo"),
        Part { lsn: 1, bytes: stored::orders_part(&snapshot).expect("encodes") },
    )]);
    let confirmed = |reference: &str| OrderEntry {
        commerce: "demo".into(),
        order: paid.id.clone(),
        at: Timestamp(1_795_000_000_009),
        by: "demo admin".into(),
        events: vec![OrderEvent::PaymentConfirmed { reference: reference.into() }],
        remembered: None,
    };
    let (mut recovered, after) = Recovered::from_snapshot(FORMAT_VERSION, &parts).expect("the snapshot decodes");
    assert_eq!(after, 1);
    let replayed = |payload| Replayed { lsn: 2, format: FORMAT_VERSION, kind: RECORD_ORDER, payload };
    let same = order_bytes(&confirmed("sandbox-1"));
    recovered.apply(replayed(&same)).expect("the copy holds it already");
    let (orders, _) = recovered.take_orders("demo");
    assert_eq!(orders, vec![paid.clone()]);

    let (mut recovered, _) = Recovered::from_snapshot(FORMAT_VERSION, &parts).expect("the snapshot decodes");
    let other = order_bytes(&confirmed("TR-9"));
    let error = recovered.apply(replayed(&other)).expect_err("refused");
    assert!(error.to_string().contains("record 2 does not apply"), "{error}");
}
