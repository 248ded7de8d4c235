//! Every engine event survives the log's stored format unchanged: written with the stored
//! types of the current format (`mercato_actors::stored`), read back with the types of the
//! version it was written in. Dates and money are the values serde codecs get wrong, so
//! every variant is encoded and decoded. Format 2's fixtures prove old bytes still read.

use chrono::NaiveDate;
use mercato_actors::idempotency::Remembered;
use mercato_actors::stored::{
    self, CartCopy, CartEntry, CartsSnapshot, OrderEntry, OrdersSnapshot, PartOf, Record, WarehouseEntry,
    WarehouseSnapshot, RECORD_CART, RECORD_ORDER, RECORD_WAREHOUSE,
};
use mercato_engine::cart::{Cart, CartContext, CartEvent, DeliveryChoice, Hold, HoldPart, ShippingAddress, Supply};
use mercato_engine::commerce::model::{ShipmentPreference, ShipmentStatus};
use mercato_engine::inventory::{AdjustmentReason, InventoryEvent, Reservation, Source, SupplyPart, Timestamp};
use mercato_engine::order::{place, quote, Allocation, Checkout, Order, OrderEvent, OrderShipment, Payment};
use mercato_engine::{Commerce, KNOWN_GATEWAYS};
use mercato_persistence::codec::FORMAT_VERSION;

fn read(kind: u8, bytes: &[u8]) -> Record {
    stored::decode_record(FORMAT_VERSION, kind, bytes).expect("decodes")
}

fn warehouse_bytes(entry: &WarehouseEntry) -> Vec<u8> {
    stored::warehouse_record(&entry.commerce, &entry.warehouse, &entry.events, entry.remembered.as_ref())
        .expect("encodes")
}

fn cart_bytes(entry: &CartEntry) -> Vec<u8> {
    stored::cart_record(&entry.commerce, &entry.cart, &entry.events, entry.remembered.as_ref()).expect("encodes")
}

fn order_bytes(entry: &OrderEntry) -> Vec<u8> {
    stored::order_record(&entry.commerce, &entry.order, &entry.events, entry.remembered.as_ref()).expect("encodes")
}

fn every_inventory_event() -> Vec<InventoryEvent> {
    let date = NaiveDate::from_ymd_opt(2027, 3, 15).expect("a date");
    let reservation = Reservation {
        id: "cart-1/line-2".into(),
        sku: "HEADPHONES".into(),
        expires_at: Timestamp(1_795_000_000_000),
        parts: vec![
            SupplyPart { source: Source::OnHand, quantity: 2 },
            SupplyPart { source: Source::Batch("po-1".into()), quantity: 3 },
            SupplyPart { source: Source::LeadTime, quantity: 4 },
            SupplyPart { source: Source::Preorder, quantity: 5 },
        ]
        .into(),
    };
    vec![
        InventoryEvent::StockReceived { sku: "MOUSE".into(), quantity: 7 },
        InventoryEvent::BatchAnnounced { sku: "MOUSE".into(), batch: "po-1".into(), quantity: 9, expected_date: date },
        InventoryEvent::BatchChanged { sku: "MOUSE".into(), batch: "po-1".into(), quantity: 8, expected_date: date },
        InventoryEvent::StockAdjusted { sku: "MOUSE".into(), delta: -3, reason: AdjustmentReason::Damage },
        InventoryEvent::StockReserved { reservation },
        InventoryEvent::ReservationRenewed { reservation: "cart-1/line-2".into(), expires_at: Timestamp(-1) },
        InventoryEvent::ReservationReleased { reservation: "cart-1/line-2".into() },
        InventoryEvent::ReservationReduced { reservation: "cart-1/line-2".into(), quantity: 2 },
        InventoryEvent::ReservationExpired { reservation: "cart-1/line-2".into() },
        InventoryEvent::ReservationCommitted {
            reservation: "cart-1/line-2".into(),
            order_line: "order-9/1".into(),
            placed_at: Timestamp(1_795_000_000_001),
        },
        InventoryEvent::ReservationUncommitted {
            order_line: "order-9/1".into(),
            reservation: "cart-1/line-2".into(),
            expires_at: Timestamp(1_795_000_900_000),
        },
        InventoryEvent::OrderLineShipped { order_line: "order-9/1".into(), quantity: 2 },
        InventoryEvent::OrderLineCancelled { order_line: "order-9/1".into() },
        InventoryEvent::ReturnRestocked { sku: "MOUSE".into(), quantity: 1 },
        InventoryEvent::BatchArrived { sku: "MOUSE".into(), batch: "po-1".into(), quantity: 4 },
        InventoryEvent::PromiseAllocated {
            order_line: "order-9/1".into(),
            batch: "po-1".into(),
            quantity: 2,
            ready_date: date,
        },
        InventoryEvent::PromiseMoved {
            order_line: "order-9/1".into(),
            from: "po-1".into(),
            to: "po-2".into(),
            quantity: 1,
            ready_date: date,
        },
        InventoryEvent::PromiseAtRisk { order_line: "order-9/1".into(), batch: "po-1".into(), quantity: 1 },
        InventoryEvent::ReservationSourced { reservation: "cart-1".into(), batch: "po-1".into(), quantity: 1 },
        InventoryEvent::ReservationMoved {
            reservation: "cart-1".into(),
            from: "po-1".into(),
            to: "po-2".into(),
            quantity: 1,
        },
        InventoryEvent::ReservationShortened { reservation: "cart-1".into(), batch: "po-1".into(), quantity: 1 },
        InventoryEvent::BatchClosed { sku: "MOUSE".into(), batch: "po-1".into() },
        InventoryEvent::AtRiskAllocated { order_line: "order-9/1".into(), quantity: 1, ready_date: date },
        InventoryEvent::AtRiskPromised {
            order_line: "order-9/1".into(),
            batch: "po-3".into(),
            quantity: 1,
            ready_date: date,
        },
    ]
}

// Proves each inventory event variant decodes to exactly what was encoded.
#[test]
fn inventory_events_round_trip() {
    let events = every_inventory_event();
    for event in &events {
        let entry = WarehouseEntry {
            commerce: "demo".into(),
            warehouse: "wh-madrid".into(),
            events: vec![event.clone()],
            remembered: None,
        };
        assert_eq!(read(RECORD_WAREHOUSE, &warehouse_bytes(&entry)), Record::Warehouse(entry));
    }
    // Every variant appears: `variant` matches without a wildcard, so a new variant fails
    // to compile until it is added there and to the list above.
    let seen: std::collections::BTreeSet<usize> = events.iter().map(variant).collect();
    assert_eq!(seen, (0..24).collect());
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
    }
}

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 3, 15).expect("a date")
}

fn every_hold() -> Vec<Hold> {
    vec![
        Hold {
            warehouse: "wh-madrid".into(),
            reservation: "cart-1/l1".into(),
            quantity: 2,
            parts: vec![
                HoldPart { supply: Supply::InStock, quantity: 1, ready_date: date() },
                HoldPart { supply: Supply::Backorder, quantity: 1, ready_date: date() },
            ],
        },
        Hold {
            warehouse: "wh-madrid".into(),
            reservation: "cart-1/l1/2".into(),
            quantity: 1,
            parts: vec![HoldPart { supply: Supply::Preorder, quantity: 1, ready_date: date() }],
        },
    ]
}

fn every_cart_event() -> Vec<CartEvent> {
    let holds = every_hold();
    let context = CartContext {
        channel: "web".into(),
        language: "en".into(),
        currency: "EUR".into(),
        country: "ES".into(),
        user: Some("user-7".into()),
        group: None,
    };
    vec![
        CartEvent::CartCreated { id: "cart-1".into(), context, expires_at: Timestamp(1_795_000_000_000) },
        CartEvent::LineAdded { line: "l1".into(), sku: "KEYBOARD".into(), quantity: 3, holds: holds.clone() },
        CartEvent::LineChanged { line: "l1".into(), quantity: 3, holds },
        CartEvent::LineRemoved { line: "l1".into() },
        CartEvent::CartRenewed { expires_at: Timestamp(1_795_000_900_000) },
        CartEvent::CartExpired,
        CartEvent::AddressSet { address: address() },
        CartEvent::DeliveryChosen {
            choice: DeliveryChoice::Home {
                preference: ShipmentPreference::FewestShipments,
                shipping_types: vec![("s1".into(), "iberpost/standard".into())],
            },
        },
        CartEvent::DeliveryChosen { choice: DeliveryChoice::Pickup { location: "store-madrid".into() } },
        CartEvent::PromoCodeSet { code: Some("WELCOME10".into()) },
        CartEvent::CheckedOut { order: "order-1".into() },
    ]
}

fn address() -> ShippingAddress {
    ShippingAddress {
        name: "Ana".into(),
        line: "Gran Vía 1".into(),
        city: "Madrid".into(),
        region: Some("MD".into()),
        postal_code: "28013".into(),
        country: "ES".into(),
        phone: None,
        email: Some("ana@example.com".into()),
        latitude: Some(40.42),
        longitude: Some(-3.70),
    }
}

/// A placed order built the way checkout builds one: a priced, delivered demo cart.
fn order() -> Order {
    let commerce = Commerce::from_toml(include_str!("../../config/demo.toml"), KNOWN_GATEWAYS).expect("demo");
    let mut cart = Cart::from_created(&every_cart_event()[0]).expect("a cart");
    let events = [
        CartEvent::LineAdded { line: "l1".into(), sku: "KEYBOARD".into(), quantity: 3, holds: every_hold() },
        CartEvent::AddressSet { address: address() },
        CartEvent::PromoCodeSet { code: Some("WELCOME10".into()) },
    ];
    for event in &events {
        cart.apply(event);
    }
    let today = date();
    let priced = quote::price(&commerce, &cart, today).expect("priced");
    let shipments = quote::plan(&commerce, &cart, &priced, ShipmentPreference::AsAvailable, today).expect("planned");
    let chosen = shipments.iter().map(|s| (s.id.clone(), s.options[0].key())).collect();
    cart.apply(&CartEvent::DeliveryChosen {
        choice: DeliveryChoice::Home { preference: ShipmentPreference::AsAvailable, shipping_types: chosen },
    });
    let quoted = quote::quote(&commerce, &cart, today).expect("quoted");
    let company = &commerce.config().invoicing_companies[0];
    let names = |sku: &str| format!("name of {sku}");
    place(Checkout {
        id: "order-1".into(),
        cart: &cart,
        now: Timestamp(1_795_000_000_000),
        address: address(),
        delivery: cart.delivery.clone().expect("chosen"),
        invoicing_company: company,
        totals: quoted.totals,
        shipments: vec![OrderShipment {
            id: "s1".into(),
            center: "lc-iberia".into(),
            carrier: Some("iberpost".into()),
            shipping_type: Some("standard".into()),
            pickup_location: None,
            price: "3.90".parse().expect("a decimal"),
            delivery_date: today,
            status: ShipmentStatus::AwaitingStock,
            items: Vec::new(),
        }],
        allocations: vec![(
            "l1".into(),
            Allocation { warehouse: "wh-madrid".into(), key: "order-1/l1/1".into(), quantity: 3 },
        )],
        payment: Payment {
            system: "card".into(),
            online: true,
            reference: Some("sandbox-1".into()),
            amount: "1.005".parse().expect("a decimal"),
        },
        names: &names,
    })
}

// Proves an order's placement record as written (from the order, without an event made
// first) is the same bytes as the record of its placement event, and reads back as it.
#[test]
fn placement_records_written_and_read_alike() {
    let order = order();
    let bytes = stored::order_placed_record("demo", &order, None).expect("encodes");
    let events = vec![OrderEvent::Placed { order: Box::new(order.clone()) }];
    let entry = OrderEntry { commerce: "demo".into(), order: order.id.clone(), events, remembered: None };
    assert_eq!(read(RECORD_ORDER, &bytes), Record::Order(entry.clone()));
    assert_eq!(order_bytes(&entry), bytes);
}

// Proves each order event variant, a whole placed order with its money, decodes to
// exactly what was encoded.
#[test]
fn order_events_round_trip() {
    let events =
        [OrderEvent::Placed { order: Box::new(order()) }, OrderEvent::PaymentConfirmed { reference: "TR-1".into() }];
    for event in &events {
        let entry = OrderEntry {
            commerce: "demo".into(),
            order: "order-1".into(),
            events: vec![event.clone()],
            remembered: None,
        };
        assert_eq!(read(RECORD_ORDER, &order_bytes(&entry)), Record::Order(entry));
    }
    let OrderEvent::Placed { order } = &events[0] else { panic!("the first event places the order") };
    assert!(!order.totals.taxes.is_empty() && order.totals.total > rust_decimal::Decimal::ZERO);
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
}

impl Stored {
    /// Each record and part as this build writes it, in the order of the fields.
    fn encoded(&self) -> [Vec<u8>; 6] {
        [
            warehouse_bytes(&self.warehouse_entry),
            cart_bytes(&self.cart_entry),
            order_bytes(&self.order_entry),
            stored::warehouse_part(&self.warehouse_snapshot).expect("encodes"),
            stored::carts_part(&self.carts_snapshot).expect("encodes"),
            stored::orders_part(&self.orders_snapshot).expect("encodes"),
        ]
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
            events: every_inventory_event(),
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
    }
}

// Proves the stored bytes are those of this build's format version. The digest covers a
// log record of each kind (every inventory, cart and order event, with a remembered
// answer) and a snapshot part of each kind, as they are encoded: when any of their types'
// encoding changes, it changes. Then bump `FORMAT_VERSION` (logs and snapshots of the old
// version are refused at start instead of misread) and update the digest here. A digest
// that moved only because a fixture's values did (the demo config priced the order
// differently) needs no new version.
#[test]
fn the_encoding_is_the_format_versions() {
    let bytes: Vec<u8> = stored().encoded().concat();
    let digest = format!("format {FORMAT_VERSION}: {} bytes, crc32c {:08x}", bytes.len(), crc32c::crc32c(&bytes));
    expect_test::expect!["format 2: 2934 bytes, crc32c fd9d4d4a"].assert_eq(&digest);
}

/// The bytes of the fixture `name` of format 2; with `MERCATO_WRITE_FIXTURES` set while
/// the current format is 2, writes them from `bytes` first (done once, when the format was
/// 2: fixtures are never rewritten for a later format).
fn fixture(name: &str, bytes: &[u8]) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-2").join(name);
    if std::env::var_os("MERCATO_WRITE_FIXTURES").is_some() && FORMAT_VERSION == 2 {
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
    let stored = stored();
    let names =
        ["warehouse-entry", "cart-entry", "order-entry", "warehouse-snapshot", "carts-snapshot", "orders-snapshot"];
    let bytes: Vec<Vec<u8>> =
        names.iter().zip(stored.encoded()).map(|(name, bytes)| fixture(&format!("{name}.bin"), &bytes)).collect();
    let record = |kind, at: usize| {
        stored::decode_record(2, kind, &bytes[at])
            .unwrap_or_else(|error| panic!("fixture {} no longer decodes: {error}", names[at]))
    };
    assert_eq!(record(RECORD_WAREHOUSE, 0), Record::Warehouse(stored.warehouse_entry));
    assert_eq!(record(RECORD_CART, 1), Record::Cart(stored.cart_entry));
    assert_eq!(record(RECORD_ORDER, 2), Record::Order(stored.order_entry));
    let part = |key: String, at: usize| {
        stored::decode_part(2, &key, &bytes[at])
            .unwrap_or_else(|error| panic!("fixture {} no longer decodes: {error}", names[at]))
    };
    let key = stored::warehouse_part_key("demo", "wh-madrid");
    assert_eq!(part(key, 3), PartOf::Warehouse(stored.warehouse_snapshot));
    assert_eq!(part(stored::carts_part_key("demo"), 4), PartOf::Carts(stored.carts_snapshot));
    assert_eq!(part(stored::orders_part_key("demo"), 5), PartOf::Orders(stored.orders_snapshot));
}

// Proves stored bytes that do not make a state are refused with a message, never read
// into a wrong state or a panic: a format this build does not read, a record of an unknown
// kind, a part under another part's key, and a warehouse whose reservation appears twice.
#[test]
fn stored_bytes_that_make_no_state_are_refused() {
    let stored = stored();
    let [warehouse, _, _, part, carts, _] = stored.encoded();
    fn refused<T>(result: Result<T, mercato_persistence::PersistenceError>) -> String {
        result.map(|_| ()).expect_err("refused").to_string()
    }
    assert!(refused(stored::decode_record(3, RECORD_WAREHOUSE, &warehouse)).contains("format 3"));
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
