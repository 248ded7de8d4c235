//! The values the stored-format tests encode: every event of every aggregate, and orders
//! as format 2 and format 3 keep them.

use chrono::NaiveDate;
use mercato_engine::cart::{Cart, CartContext, CartEvent, DeliveryChoice, Hold, HoldPart, ShippingAddress, Supply};
use mercato_engine::commerce::model::{ShipmentPreference, ShipmentStatus};
use mercato_engine::inventory::{AdjustmentReason, InventoryEvent, Reservation, Source, SupplyPart, Timestamp};
use mercato_engine::order::{
    place, quote, Allocation, Cancellation, CarrierReport, Checkout, DeliveryNote, Invoice, InvoiceLine, ItemCut,
    NationalTaxes, NoteItem, Order, OrderEvent, OrderShipment, Payment, Pick, ReceivedUnits, Refund, RefundReason,
    Return, ReturnDecision, ReturnLine, ReturnReceipt,
};
use mercato_engine::{Commerce, KNOWN_GATEWAYS};

use mercato_actors::idempotency::Remembered;
use mercato_actors::stored::{CatalogEntry, CatalogSnapshot, ImportMark, ImportProgress, RowRefusal};
use mercato_engine::catalog::{Catalog, CatalogEvent, ProductVersion};
use mercato_engine::commerce::model::{Media, MediaKind, Product, QuantityRules, StockPolicyConfig, StockPolicyKind};

pub fn every_inventory_event() -> Vec<InventoryEvent> {
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

/// Every inventory event, those format 3 added included.
pub fn every_inventory_event_now() -> Vec<InventoryEvent> {
    let mut events = every_inventory_event();
    events.push(InventoryEvent::OrderLineReleased { order_line: "order-9/1".into(), quantity: 2 });
    events
}

pub fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 3, 15).expect("a date")
}

pub fn every_hold() -> Vec<Hold> {
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

pub fn every_cart_event() -> Vec<CartEvent> {
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

pub fn address() -> ShippingAddress {
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
pub fn order() -> Order {
    let commerce = Commerce::from_toml(include_str!("../../../config/demo.toml"), KNOWN_GATEWAYS).expect("demo");
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
            tracking: Vec::new(),
            sent_at: None,
            delivered_at: None,
            carrier_status: None,
            carrier_events: Vec::new(),
        }],
        allocations: vec![(
            "l1".into(),
            Allocation {
                warehouse: "wh-madrid".into(),
                key: "order-1/l1/1".into(),
                quantity: 3,
                shipped: 0,
                released: 0,
            },
        )],
        payment: Payment {
            system: "card".into(),
            online: true,
            reference: Some("sandbox-1".into()),
            amount: "1.005".parse().expect("a decimal"),
        },
        names: &names,
        // What format 2 did not hold is as format 2's orders read.
        sellers: &|_| None,
        shipping_tax_rate: None,
        by: String::new(),
    })
}

/// An order as far as format 3 keeps it: shipped, reported on, cancelled in part,
/// refunded, invoiced and credited, with its history.
pub fn order_now() -> Order {
    let mut order = order();
    order.shipments[0].status = ShipmentStatus::Ready;
    let at = Timestamp(1_795_000_100_000);
    for event in every_order_event().iter().skip(1) {
        order.apply(event, at, "demo admin");
    }
    order.shipping_tax_rate = Some("21".parse().expect("a rate"));
    order.placed_by = "demo storefront".into();
    order
}

pub fn invoice(number: &str, corrects: Option<&str>) -> Invoice {
    let amount = |text: &str| text.parse::<rust_decimal::Decimal>().expect("a decimal");
    Invoice {
        number: number.into(),
        corrects: corrects.map(Into::into),
        company: "demo-es".into(),
        seller_legal_name: "Demo Comercio S.L.".into(),
        seller_tax_id: "ESB12345678".into(),
        buyer: address(),
        issued_at: Timestamp(1_795_000_000_500),
        currency: "USD".into(),
        rate: amount("1.08"),
        tax_inclusive: true,
        lines: vec![InvoiceLine {
            line: "l1".into(),
            sku: "KEYBOARD".into(),
            name: "name of KEYBOARD".into(),
            quantity: 1,
            amount: amount("-10.005"),
        }],
        shipping: amount("4.21"),
        taxes: Vec::new(),
        total: amount("-5.80"),
        order_amount: amount("-5.37"),
        national: Some(NationalTaxes {
            currency: "EUR".into(),
            rate: amount("1"),
            taxes: Vec::new(),
            tax_total: amount("0.93"),
        }),
    }
}

/// Every order event, with the money, dates and documents they carry.
pub fn every_order_event() -> Vec<OrderEvent> {
    let pick = Pick { warehouse: "wh-madrid".into(), key: "order-1/l1/1".into(), quantity: 1 };
    let report = |id: &str, status| CarrierReport {
        id: id.into(),
        code: "in_transit".into(),
        at: Timestamp(1_795_000_200_000),
        received_at: Timestamp(1_795_000_200_500),
        status,
    };
    let refund = Refund {
        id: "order-1-R1".into(),
        amount: "10.005".parse().expect("a decimal"),
        reason: RefundReason::Cancellation,
        online: true,
        requested_at: Timestamp(1_795_000_300_000),
        reference: None,
        settled_at: None,
    };
    vec![
        OrderEvent::Placed { order: Box::new(order()) },
        OrderEvent::InvoiceIssued { invoice: Box::new(invoice("ES-2026-000001", None)) },
        OrderEvent::UnitsCancelled {
            cancellation: Box::new(Cancellation {
                lines: vec![("l1".into(), 1)],
                cuts: Vec::<ItemCut>::new(),
                releases: vec![pick.clone()],
                refund: Some(refund),
                owed_less: "0.5".parse().expect("a decimal"),
            }),
        },
        OrderEvent::InvoiceIssued { invoice: Box::new(invoice("ESR-2026-000001", Some("ES-2026-000001"))) },
        OrderEvent::ShipmentSent {
            shipment: "s1".into(),
            tracking: vec!["IB1".into(), "IB2".into()],
            picks: vec![pick],
            note: Box::new(DeliveryNote {
                number: "order-1-D1".into(),
                shipment: "s1".into(),
                issued_at: Timestamp(1_795_000_400_000),
                tracking: vec!["IB1".into()],
                items: vec![NoteItem {
                    line: "l1".into(),
                    sku: "KEYBOARD".into(),
                    name: "Keyboard".into(),
                    quantity: 1,
                }],
            }),
        },
        OrderEvent::CarrierReported { shipment: "s1".into(), report: report("e1", Some(ShipmentStatus::Delivered)) },
        OrderEvent::CarrierReported { shipment: "s1".into(), report: report("e2", None) },
        OrderEvent::RefundSettled { refund: "order-1-R1".into(), reference: "sandbox-order-1-R1".into() },
        OrderEvent::ReturnRequested {
            request: Box::new(Return {
                id: "order-1-RT1".into(),
                requested_at: Timestamp(1_795_000_500_000),
                requested_by: "demo storefront".into(),
                return_point: Some("store-madrid".into()),
                lines: vec![ReturnLine {
                    line: "l1".into(),
                    quantity: 1,
                    reason: "too loud".into(),
                    decision: ReturnDecision::Requested,
                    received: 0,
                }],
                receipts: Vec::new(),
            }),
        },
        OrderEvent::ReturnDecided { id: "order-1-RT1".into(), decisions: vec![("l1".into(), true)] },
        OrderEvent::ReturnReceived {
            id: "order-1-RT1".into(),
            receipt: Box::new(ReturnReceipt {
                number: "order-1-RT1-1".into(),
                received_at: Timestamp(1_795_000_600_000),
                warehouse: Some("wh-madrid".into()),
                units: vec![ReceivedUnits { line: "l1".into(), sku: "KEYBOARD".into(), quantity: 1, resellable: true }],
                refund: None,
                restocked: false,
            }),
        },
        OrderEvent::ReturnRestocked { receipt: "order-1-RT1-1".into() },
    ]
}

/// A product with every field set, the values serde codecs get wrong among them (a price,
/// a date).
pub fn full_product(sku: &str) -> Product {
    let text = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Product {
        sku: sku.into(),
        names: text(&[("en", "Mouse"), ("es", "Ratón")]),
        descriptions: text(&[("en", "A mouse with three buttons.")]),
        attributes: text(&[("colour", "black"), ("dpi", "1600")]),
        tax_class: "standard".into(),
        weight_grams: Some(95),
        weight: None,
        family: Some("peripherals".into()),
        shipping_class: "small".into(),
        merchant: Some("acme".into()),
        prices: [
            ("EUR".to_string(), "19.90".parse().expect("a price")),
            ("USD".into(), "21.5".parse().expect("a price")),
        ]
        .into_iter()
        .collect(),
        stock_policy: Some(StockPolicyConfig {
            kind: Some(StockPolicyKind::Preorder),
            days: None,
            cap: Some(500),
            release_date: Some(date()),
        }),
        stock_policy_overrides: [(
            "wh-madrid".to_string(),
            StockPolicyConfig {
                kind: Some(StockPolicyKind::BackorderLeadTime),
                days: Some(7),
                cap: None,
                release_date: None,
            },
        )]
        .into_iter()
        .collect(),
        quantity: QuantityRules { min: 2, max: Some(10), multiple_of: 2 },
        related: vec!["KEYBOARD".into()],
        media: vec![
            Media {
                url: "https://cdn.example/m.jpg".into(),
                kind: Some(MediaKind::Image),
                alt: text(&[("en", "Top")]),
            },
            Media { url: "https://cdn.example/m.mp4".into(), kind: Some(MediaKind::Video), alt: Default::default() },
            Media { url: "https://cdn.example/m.glb".into(), kind: Some(MediaKind::Model3d), alt: Default::default() },
        ],
    }
}

/// What format 5 added: a catalogue record (a product made, then retired) and a
/// catalogue part (a product with two versions, an answer kept).
pub fn catalog_5(remembered: Remembered) -> (CatalogEntry, CatalogSnapshot) {
    let product = std::sync::Arc::new(full_product("MOUSE"));
    let refusal = RowRefusal { row: 7, sku: "BAD".into(), problems: vec!["tax class \"x\" is not defined".into()] };
    let mark = ImportMark {
        job: "imp-1".into(),
        through_row: 1000,
        applied: 990,
        unchanged: 9,
        refused: vec![refusal],
        done: true,
    };
    let entry = CatalogEntry {
        commerce: "demo".into(),
        at: Timestamp(1_795_000_000_007),
        by: "demo admin".into(),
        events: vec![
            CatalogEvent::Saved { version: 1, retired: false, product: product.clone() },
            CatalogEvent::Saved { version: 2, retired: true, product: product.clone() },
        ],
        remembered: Some(remembered.clone()),
        import: Some(mark.clone()),
    };
    let version = |version, at, retired| ProductVersion {
        version,
        at: Timestamp(at),
        by: "demo admin".into(),
        retired,
        product: product.clone(),
    };
    let catalog = Catalog::restore([vec![version(1, 1_795_000_000_008, false), version(2, 1_795_000_000_009, true)]])
        .expect("a catalogue");
    let mut progress = ImportProgress::default();
    progress.fold(&mark);
    let imports = vec![progress];
    (entry, CatalogSnapshot { commerce: "demo".into(), catalog, remembered: vec![remembered], imports, settings: None })
}

/// A settings record of each kind (format 6 on): a seed, a reload, an item put (a price
/// rule with decimals, a discount with dates, a user, a user group, an API key) and one
/// removed; and the document a catalogue part holds.
pub fn settings_6() -> (Vec<mercato_actors::stored::SettingsEntry>, mercato_engine::commerce::model::CommerceConfig) {
    use mercato_actors::stored::{SettingsChange, SettingsEntry};
    use mercato_engine::commerce::data::{DataChange, DataItem, DataKind};
    use mercato_engine::commerce::model::{
        ApiKey, ApiRole, Discount, DiscountKind, PriceRule, User, UserGroup, UserRole,
    };
    let document = Commerce::from_toml(include_str!("../../../config/demo.toml"), KNOWN_GATEWAYS).expect("demo");
    let mut document = document.config().clone();
    // The demo as format 6's fixtures were written: without terms for merchants, whose
    // merchants were then settings (a reload's document held them).
    document.merchant_terms_version = None;
    let mut settings = document.settings_only();
    settings.merchants.clone_from(&document.merchants);
    settings.name = "Demo, renamed".into();
    let rule = PriceRule {
        code: "vip".into(),
        sku: Some("MOUSE".into()),
        prices: [("EUR".to_owned(), "19.990".parse().expect("a decimal"))].into(),
        min_quantity: 3,
        group: Some("wholesale".into()),
        priority: -2,
        ..PriceRule::default()
    };
    let discount = Discount {
        code: "winter".into(),
        name: "Winter".into(),
        kind: Some(DiscountKind::Cart),
        percent: Some("12.5".parse().expect("a decimal")),
        starts: NaiveDate::from_ymd_opt(2026, 12, 1),
        ends: NaiveDate::from_ymd_opt(2027, 2, 28),
        min_subtotal: Some("100".parse().expect("a decimal")),
        promo_code: Some("WINTER".into()),
        ..Discount::default()
    };
    let user = User {
        id: "u-9".into(),
        email: "nine@example.com".into(),
        role: Some(UserRole::Customer),
        groups: vec!["wholesale".into()],
    };
    let key = ApiKey {
        name: "erp".into(),
        key: None,
        key_sha256: Some(mercato_engine::commerce::data::key_digest("a secret")),
        role: Some(ApiRole::Admin),
        merchant: None,
    };
    let at = |ms: i64| Timestamp(1_795_000_000_010 + ms);
    let entry = |ms, by: &str, change| SettingsEntry { commerce: "demo".into(), at: at(ms), by: by.into(), change };
    let put = |item| SettingsChange::Data(DataChange::Put(Box::new(item)));
    let entries = vec![
        entry(0, "configuration", SettingsChange::Seed(Box::new(document.clone()))),
        entry(1, "SIGHUP", SettingsChange::Reload(Box::new(settings))),
        entry(2, "demo admin", put(DataItem::PriceRule(rule))),
        entry(3, "demo admin", put(DataItem::Discount(discount))),
        entry(4, "demo admin", put(DataItem::User(user))),
        entry(5, "demo admin", put(DataItem::UserGroup(UserGroup { code: "staff".into(), name: "Staff".into() }))),
        entry(6, "demo admin", put(DataItem::ApiKey(key))),
        entry(7, "demo admin", SettingsChange::Data(DataChange::Remove { kind: DataKind::User, code: "u-9".into() })),
    ];
    (entries, document)
}
