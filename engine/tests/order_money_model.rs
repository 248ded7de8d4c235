//! A model test of an order's life after checkout against its warehouse: random sequences
//! of payments, shipments, carriers' reports, cancellations (some lines or everything) and
//! restarts, on random orders (lines, quantities, prices, tax rates, shipments, taxes
//! included or added, paid online at placement or offline later).
//!
//! After every event: the books balance (`captured - refunded = invoiced - credited` once
//! invoiced, no refund beyond what was captured), the warehouse holds exactly what the
//! order's allocations still hold under each key and keeps its own invariants, the
//! invoice numbers have no gap, and the refunds so far are what a naive reference (each
//! line's amount and the shipping shared out by units and shipments kept, taxes added in
//! proportion) says, within a cent per part. A restart (the order and the warehouse
//! rebuilt from their events) changes nothing. Cancelling everything refunds exactly what
//! was captured.

use std::collections::HashMap;

use chrono::NaiveDate;
use mercato_engine::commerce::commissions::Commission;
use mercato_engine::commerce::model::ShipmentStatus;
use mercato_engine::delivery::ShipmentItem;
use mercato_engine::inventory::{
    check_invariants, Alone, InventoryCommand, InventoryCtx, InventoryEvent, Timestamp, WarehouseStock,
};
use mercato_engine::order::settlement::{OrderSales, PostingKind};
use mercato_engine::order::{
    documents, Allocation, CarrierReport, KeyStock, Order, OrderCommand, OrderCtx, OrderEvent, OrderLine,
    OrderShipment, OrderStatus, Payment, Seller,
};
use mercato_engine::pricing::totals::{LineAmount, TaxAmount, Totals};
use mercato_engine::{Commerce, KNOWN_GATEWAYS};
use proptest::prelude::*;
use rust_decimal::Decimal;

mod finished_model;
mod settlement_model;

const DEMO: &str = include_str!("../../config/demo.toml");
const SKUS: [&str; 3] = ["MOUSE", "KEYBOARD", "USB-CABLE"];
const WAREHOUSE: &str = "wh-madrid";

#[derive(Debug, Clone)]
struct LineSpec {
    quantity: u32,
    cents: i64,
    rate: u32,
    shipment: usize,
    /// Its merchant (none: the commerce's own), commission percent and fixed cents per unit.
    seller: Option<(u8, u32, i64)>,
}

#[derive(Debug, Clone)]
struct OrderSpec {
    lines: Vec<LineSpec>,
    shipping_cents: Vec<i64>,
    inclusive: bool,
    shipping_taxed: bool,
    online: bool,
}

#[derive(Debug, Clone)]
enum Op {
    Pay,
    Ship(usize),
    Report(usize, usize),
    /// A shipment sent and reported delivered at once.
    Deliver(usize),
    Cancel(usize, u32),
    CancelAll,
    /// A unit of a line asked back, accepted and received (resellable or damaged).
    Return(usize, bool),
    Restart,
}

fn order_spec() -> impl Strategy<Value = OrderSpec> {
    let seller = prop::option::of((0u8..2, 0u32..=30, 0i64..=99));
    let line = (1u32..=5, 1i64..=20_000, prop::sample::select(vec![21u32, 10, 4]), 0usize..3, seller)
        .prop_map(|(quantity, cents, rate, shipment, seller)| LineSpec { quantity, cents, rate, shipment, seller });
    (
        prop::collection::vec(line, 1..=3),
        prop::collection::vec(0i64..=1_500, 3),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, shipping_cents, inclusive, shipping_taxed, online)| OrderSpec {
            lines,
            shipping_cents,
            inclusive,
            shipping_taxed,
            online,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Pay),
        3 => (0usize..3).prop_map(Op::Ship),
        2 => (0usize..3, 0usize..4).prop_map(|(s, c)| Op::Report(s, c)),
        3 => (0usize..3).prop_map(Op::Deliver),
        3 => (0usize..3, 1u32..=4).prop_map(|(l, q)| Op::Cancel(l, q)),
        1 => Just(Op::CancelAll),
        2 => (0usize..3, any::<bool>()).prop_map(|(l, r)| Op::Return(l, r)),
        1 => Just(Op::Restart),
    ]
}

fn cents(value: i64) -> Decimal {
    Decimal::new(value, 2)
}

fn round2(value: Decimal) -> Decimal {
    mercato_engine::pricing::round(value, 2)
}

/// The order the spec describes, placed in the demo's `demo-es` company, and the
/// warehouse holding its units under one key per line.
fn placed(spec: &OrderSpec, commerce: &Commerce) -> (Order, WarehouseStock, Vec<InventoryEvent>) {
    let day = NaiveDate::from_ymd_opt(2026, 12, 3).expect("a day");
    let mut stock = WarehouseStock::new(WAREHOUSE);
    let mut inventory_events = Vec::new();
    let ctx = InventoryCtx { commerce, now: Timestamp(1_000), today: day, shared: &Alone };
    let mut run = |stock: &mut WarehouseStock, command: InventoryCommand| {
        let events = stock.decide(&command, &ctx).expect("the warehouse takes it");
        for event in &events {
            stock.apply(event);
        }
        inventory_events.extend(events);
    };
    for sku in SKUS {
        run(&mut stock, InventoryCommand::ReceiveStock { sku: sku.into(), quantity: 100 });
    }
    let mut lines = Vec::new();
    let mut rows: HashMap<u32, (Decimal, Decimal)> = HashMap::new();
    let shipment_count = spec.lines.iter().map(|l| l.shipment).max().unwrap_or(0) + 1;
    let mut items: Vec<Vec<ShipmentItem>> = vec![Vec::new(); shipment_count];
    for (index, line) in spec.lines.iter().enumerate() {
        let sku = SKUS[index % SKUS.len()];
        let id = format!("l{}", index + 1);
        let key = format!("O1/{id}/1");
        let reservation = format!("cart/{id}");
        run(
            &mut stock,
            InventoryCommand::Reserve {
                reservation: reservation.clone(),
                sku: sku.into(),
                quantity: line.quantity,
                expires_at: Timestamp(10_000),
            },
        );
        run(&mut stock, InventoryCommand::CommitReservation { reservation, order_line: key.clone(), quantity: None });
        let amount = cents(line.cents) * Decimal::from(line.quantity);
        let rate = Decimal::from(line.rate);
        let net = if spec.inclusive { amount / (Decimal::ONE + rate / Decimal::ONE_HUNDRED) } else { amount };
        let row = rows.entry(line.rate).or_default();
        row.0 += net;
        row.1 += net * rate / Decimal::ONE_HUNDRED;
        lines.push(OrderLine {
            id: id.clone(),
            sku: sku.into(),
            name: sku.into(),
            amount: LineAmount {
                line: id.clone(),
                sku: sku.into(),
                quantity: line.quantity,
                unit_price: cents(line.cents),
                discount: Decimal::ZERO,
                amount,
                tax_rate: rate,
            },
            allocations: vec![Allocation {
                warehouse: WAREHOUSE.into(),
                key,
                quantity: line.quantity,
                shipped: 0,
                released: 0,
            }],
            cancelled: 0,
            returned: 0,
            seller: line.seller.map(|(merchant, percent, fixed)| Seller {
                merchant: format!("m{merchant}"),
                commission: Commission { rule: None, percent: Decimal::from(percent), fixed_per_unit: cents(fixed) },
            }),
        });
        // A line of several units in an even place comes as two items of one shipment (as
        // checkout makes one item per line and ready date): its last unit a day later.
        let split = line.quantity >= 2 && index % 2 == 0;
        let first = if split { line.quantity - 1 } else { line.quantity };
        let item = |quantity, ready_date| ShipmentItem {
            line: id.clone(),
            sku: sku.into(),
            quantity,
            ready_date,
            awaiting_stock: false,
        };
        items[line.shipment].push(item(first, day));
        if split {
            items[line.shipment].push(item(1, day.succ_opt().unwrap_or(day)));
        }
    }
    // Checkout makes no shipment without units.
    let shipments: Vec<OrderShipment> = items
        .into_iter()
        .enumerate()
        .filter(|(_, items)| !items.is_empty())
        .map(|(index, items)| OrderShipment {
            id: format!("s{}", index + 1),
            center: "lc-iberia".into(),
            carrier: Some("iberpost".into()),
            shipping_type: Some("standard".into()),
            pickup_location: None,
            price: cents(spec.shipping_cents[index]),
            delivery_date: day,
            status: ShipmentStatus::Ready,
            items,
            tracking: Vec::new(),
            sent_at: None,
            delivered_at: None,
            carrier_status: None,
            carrier_events: Vec::new(),
        })
        .collect();
    let shipping: Decimal = shipments.iter().map(|s| s.price).sum();
    let shipping_rate = spec.shipping_taxed.then(|| Decimal::from(21));
    if let Some(rate) = shipping_rate {
        let net = if spec.inclusive { shipping / (Decimal::ONE + rate / Decimal::ONE_HUNDRED) } else { shipping };
        let row = rows.entry(21).or_default();
        row.0 += net;
        row.1 += net * rate / Decimal::ONE_HUNDRED;
    }
    let mut taxes: Vec<TaxAmount> = rows
        .into_iter()
        .map(|(rate, (base, tax))| TaxAmount {
            name: format!("IVA {rate}"),
            rate: Decimal::from(rate),
            base: round2(base),
            tax: round2(tax),
        })
        .collect();
    taxes.sort_by_key(|t| t.rate);
    let subtotal: Decimal = lines.iter().map(|l| l.amount.amount).sum();
    let tax_total: Decimal = taxes.iter().map(|t| t.tax).sum();
    let total = if spec.inclusive { subtotal + shipping } else { subtotal + shipping + tax_total };
    let totals = Totals {
        currency: "EUR".into(),
        tax_inclusive: spec.inclusive,
        lines: lines.iter().map(|l| l.amount.clone()).collect(),
        subtotal,
        discounts: Decimal::ZERO,
        shipping,
        taxes,
        total,
        applied_discounts: Vec::new(),
    };
    let address = mercato_engine::cart::ShippingAddress {
        name: "Ana".into(),
        line: "Gran Vía 1".into(),
        city: "Madrid".into(),
        region: None,
        postal_code: "28013".into(),
        country: "ES".into(),
        phone: None,
        email: None,
        latitude: None,
        longitude: None,
    };
    let order = Order {
        id: "O1".into(),
        cart: "cart".into(),
        placed_at: Timestamp(1_000),
        placed_by: "test".into(),
        context: mercato_engine::cart::CartContext {
            channel: "web".into(),
            language: "es".into(),
            currency: "EUR".into(),
            country: "ES".into(),
            user: None,
            group: None,
        },
        address: address.clone(),
        delivery: mercato_engine::cart::DeliveryChoice::Pickup { location: "store-madrid".into() },
        invoicing_company: "demo-es".into(),
        status: if spec.online { OrderStatus::Paid } else { OrderStatus::PendingPayment },
        lines,
        shipments,
        totals: totals.clone(),
        shipping_tax_rate: shipping_rate,
        payment: Payment {
            system: if spec.online { "card".into() } else { "bank-transfer".into() },
            online: spec.online,
            reference: spec.online.then(|| "sandbox-O1".into()),
            amount: total,
        },
        document: mercato_engine::order::OrderDocument {
            number: "O1".into(),
            issued_at: Timestamp(1_000),
            seller_legal_name: "Demo".into(),
            seller_tax_id: "ES1".into(),
            buyer: address,
            language: "es".into(),
            totals,
        },
        invoices: Vec::new(),
        delivery_notes: Vec::new(),
        refunds: Vec::new(),
        returns: Vec::new(),
        history: Vec::new(),
    };
    (order, stock, inventory_events)
}

/// The order, its warehouse and every event each took, with the invoice series.
struct World<'c> {
    commerce: &'c Commerce,
    placed: Order,
    order: Order,
    events: Vec<(Timestamp, OrderEvent)>,
    stock: WarehouseStock,
    stock_events: Vec<InventoryEvent>,
    series: HashMap<String, u32>,
    now: i64,
    captured_at_payment: Option<Decimal>,
    /// The merchants' lines as their ledgers fold them, and each merchant's postings:
    /// (sales less reversals, commissions less reversals).
    sales: OrderSales,
    ledgers: HashMap<String, (Decimal, Decimal)>,
}

impl<'c> World<'c> {
    fn new(spec: &OrderSpec, commerce: &'c Commerce) -> Self {
        let (order, stock, stock_events) = placed(spec, commerce);
        let mut world = World {
            commerce,
            placed: order.clone(),
            order,
            events: Vec::new(),
            stock,
            stock_events,
            series: HashMap::new(),
            now: 2_000,
            captured_at_payment: None,
            sales: OrderSales::default(),
            ledgers: HashMap::new(),
        };
        world.sales = OrderSales::of(&world.order, commerce);
        if spec.online {
            world.captured_at_payment = Some(world.order.payment.amount);
            let next = |series: &str| world.series.get(series).copied().unwrap_or(0) + 1;
            let ctx = OrderCtx { now: Timestamp(1_000), commerce, next_number: &next };
            let invoice = documents::invoice(&world.order, &ctx).expect("an invoice");
            world.record(vec![OrderEvent::InvoiceIssued { invoice: Box::new(invoice) }]);
        }
        world
    }

    fn run(&mut self, command: OrderCommand) -> Result<(), mercato_engine::DomainError> {
        self.now += 1_000;
        let next = |series: &str| self.series.get(series).copied().unwrap_or(0) + 1;
        let ctx = OrderCtx { now: Timestamp(self.now), commerce: self.commerce, next_number: &next };
        let events = self.order.decide(&command, &ctx)?;
        self.record(events);
        Ok(())
    }

    /// Applies events to the order, numbers its documents, then tells the warehouse the
    /// totals under every key the events name.
    fn record(&mut self, events: Vec<OrderEvent>) {
        let at = Timestamp(self.now);
        for event in &events {
            self.order.apply(event, at, "model");
            for posting in self.sales.apply(event) {
                let ledger = self.ledgers.entry(posting.merchant.clone()).or_default();
                match posting.kind {
                    PostingKind::Sale | PostingKind::SaleReversed => ledger.0 += posting.amount,
                    PostingKind::Commission | PostingKind::CommissionReversed => ledger.1 -= posting.amount,
                }
            }
            if let OrderEvent::InvoiceIssued { invoice } = event {
                let (series, seq) = documents::parse_number(&invoice.number).expect("a number");
                let last = self.series.entry(series.to_owned()).or_insert(0);
                assert_eq!(seq, *last + 1, "numbers follow each other: {}", invoice.number);
                *last = seq;
            }
            self.events.push((at, event.clone()));
        }
        for allocation in self.order.lines.iter().flat_map(|l| &l.allocations) {
            for command in [
                InventoryCommand::ShipOrderUnits { order_line: allocation.key.clone(), through: allocation.shipped },
                InventoryCommand::ReleaseOrderUnits {
                    order_line: allocation.key.clone(),
                    through: allocation.released,
                },
            ] {
                let day = NaiveDate::from_ymd_opt(2026, 12, 3).expect("a day");
                let ctx =
                    InventoryCtx { commerce: self.commerce, now: Timestamp(self.now), today: day, shared: &Alone };
                match self.stock.decide(&command, &ctx) {
                    Ok(events) => {
                        for event in &events {
                            self.stock.apply(event);
                        }
                        self.stock_events.extend(events);
                    }
                    Err(mercato_engine::DomainError::UnknownOrderLine { .. }) => {}
                    Err(error) => panic!("the warehouse refused {command:?}: {error}"),
                }
            }
        }
    }

    fn key_stock(&self) -> Vec<KeyStock> {
        self.order
            .lines
            .iter()
            .flat_map(|l| &l.allocations)
            .map(|a| {
                let line = self.stock.order_line(&a.key);
                let (allocated, shipped, released) = line.map_or((0, 0, 0), |l| (l.allocated(), l.shipped, l.released));
                KeyStock { key: a.key.clone(), allocated, shipped, released, ready: None }
            })
            .collect()
    }

    /// Every check the model makes after an event.
    fn check(&self) {
        let balance = self.order.balance();
        assert!(balance.holds(), "{balance:?}");
        for allocation in self.order.lines.iter().flat_map(|l| &l.allocations) {
            let held = self.stock.order_line(&allocation.key).map_or(0, |l| l.held());
            assert_eq!(held, allocation.held(), "key {}: the warehouse holds what the order says", allocation.key);
        }
        let broken = check_invariants(&self.stock, self.commerce);
        assert!(broken.is_empty(), "{broken:?}");
        assert_eq!(self.order.status, self.order.derived_status());
        settlement_model::check_money(&self.order, &self.ledgers);
        if let Some(captured) = self.captured_at_payment {
            let naive = settlement_model::naive_worth(&self.order);
            let tolerance =
                Decimal::new(1, 2) * Decimal::from(self.order.lines.len() + self.order.totals.taxes.len() + 2);
            let refunded = balance.refunded;
            assert!((captured - refunded - naive).abs() <= tolerance, "kept {} vs naive {naive}", captured - refunded);
        }
        finished_model::check_finished(self);
        let returned = self.order.lines.iter().any(|l| l.returned > 0);
        if self.order.lines.iter().all(|l| l.kept() == 0) && self.order.is_paid() && !returned {
            assert_eq!(balance.refunded, balance.captured, "cancelling everything refunds everything");
            if !balance.invoiced.is_zero() {
                assert_eq!(balance.credited, balance.invoiced);
            }
        }
    }

    /// One unit of a line asked back, accepted, received; resellable units go back on hand
    /// and the order records it.
    fn give_back(&mut self, index: usize, resellable: bool) -> Result<(), mercato_engine::DomainError> {
        let Some(line) = self.order.lines.get(index).map(|l| l.id.clone()) else { return Ok(()) };
        let by = "model".to_owned();
        self.run(OrderCommand::RequestReturn { lines: vec![(line.clone(), 1, "why".into())], return_point: None, by })?;
        let id = self.order.returns.last().expect("a return").id.clone();
        self.run(OrderCommand::DecideReturn { id: id.clone(), decisions: vec![(line.clone(), true)] })?;
        let warehouse = Some(WAREHOUSE.to_owned());
        self.run(OrderCommand::ReceiveReturn { id, units: vec![(line, 1, resellable)], warehouse })?;
        let receipt = self.order.returns.last().and_then(|r| r.receipts.last()).expect("a receipt").clone();
        if receipt.restocked {
            return Ok(());
        }
        for units in receipt.units.iter().filter(|u| u.resellable) {
            let day = NaiveDate::from_ymd_opt(2026, 12, 3).expect("a day");
            let ctx = InventoryCtx { commerce: self.commerce, now: Timestamp(self.now), today: day, shared: &Alone };
            let command = InventoryCommand::RestockReturn { sku: units.sku.clone(), quantity: units.quantity };
            let events = self.stock.decide(&command, &ctx).expect("restocked");
            for event in &events {
                self.stock.apply(event);
            }
            self.stock_events.extend(events);
        }
        self.run(OrderCommand::Restocked { receipt: receipt.number })
    }

    /// The order and the warehouse rebuilt from their events equal the live ones.
    fn restart(&self) {
        let mut order = self.placed.clone();
        for (at, event) in &self.events {
            order.apply(event, *at, "model");
        }
        assert_eq!(order, self.order, "the order's events rebuild it");
        let mut stock = WarehouseStock::new(WAREHOUSE);
        for event in &self.stock_events {
            stock.apply(event);
        }
        assert_eq!(stock, self.stock, "the warehouse's events rebuild it");
    }

    fn step(&mut self, op: &Op) {
        let codes = ["in_transit", "delivered", "returned_to_sender", "no_such_code"];
        let outcome = match op {
            Op::Pay => self.run(OrderCommand::ConfirmPayment { reference: "TR-1".into() }).map(|()| {
                self.captured_at_payment.get_or_insert(self.order.payment.amount);
            }),
            Op::Ship(index) => {
                let Some(shipment) = self.order.shipments.get(*index).map(|s| s.id.clone()) else { return };
                let allocated = self.key_stock();
                self.run(OrderCommand::Ship { shipment, tracking: vec![format!("T{index}")], allocated })
            }
            Op::Report(index, code) => {
                let Some(shipment) = self.order.shipments.get(*index).filter(|s| s.has_left()).map(|s| s.id.clone())
                else {
                    return;
                };
                let report = CarrierReport {
                    id: format!("e{}", self.events.len()),
                    code: codes[*code].into(),
                    at: Timestamp(self.now),
                    received_at: Timestamp(self.now),
                    status: self.commerce.config().carriers[0].status_map.get(codes[*code]).copied(),
                };
                self.run(OrderCommand::CarrierReport { shipment, report })
            }
            Op::Deliver(index) => {
                self.step(&Op::Pay);
                self.step(&Op::Ship(*index));
                self.step(&Op::Report(*index, 1));
                return;
            }
            Op::Cancel(index, quantity) => {
                let Some(line) = self.order.lines.get(*index).map(|l| l.id.clone()) else { return };
                self.run(OrderCommand::Cancel { lines: Some(vec![(line, *quantity)]) })
            }
            Op::CancelAll => self.run(OrderCommand::Cancel { lines: None }),
            Op::Return(index, resellable) => self.give_back(*index, *resellable),
            Op::Restart => {
                self.restart();
                Ok(())
            }
        };
        // A refusal changes nothing; the checks below hold either way.
        let _ = outcome;
        self.check();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    // Proves the books balance, the warehouse agrees with the order, invoice numbers have
    // no gap and a restart changes nothing, after every event of random order lives.
    #[test]
    fn an_order_life_keeps_its_books_and_stock(spec in order_spec(), ops in prop::collection::vec(op(), 1..24)) {
        let commerce = Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("the demo");
        let mut world = World::new(&spec, &commerce);
        world.check();
        for op in &ops {
            world.step(op);
        }
        world.restart();
    }
}

// Proves the return window counts from delivery: units delivered may be asked back until
// the commerce's `return_window_days` (30 by default) have passed, not after; units sent
// and not yet delivered may be asked back at once.
#[test]
fn returns_close_with_their_window() {
    let commerce = Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("the demo");
    let spec = OrderSpec {
        lines: vec![LineSpec { quantity: 2, cents: 1_000, rate: 21, shipment: 0, seller: Some((0, 12, 5)) }],
        shipping_cents: vec![300, 0, 0],
        inclusive: true,
        shipping_taxed: true,
        online: true,
    };
    let mut world = World::new(&spec, &commerce);
    let allocated = world.key_stock();
    world.run(OrderCommand::Ship { shipment: "s1".into(), tracking: vec!["T".into()], allocated }).expect("shipped");
    let ask = |units| OrderCommand::RequestReturn {
        lines: vec![("l1".into(), units, "too small".into())],
        return_point: None,
        by: "test".into(),
    };
    world.run(ask(1)).expect("sent units may be asked back before delivery");
    let delivered_at = world.now;
    let report = CarrierReport {
        id: "d".into(),
        code: "delivered".into(),
        at: Timestamp(delivered_at),
        received_at: Timestamp(delivered_at),
        status: Some(ShipmentStatus::Delivered),
    };
    world.run(OrderCommand::CarrierReport { shipment: "s1".into(), report }).expect("reported");
    world.now = delivered_at + 30 * 86_400_000 - 2_000;
    let refused = world.run(ask(2)).expect_err("only one unit is left to ask back");
    assert_eq!(refused.code(), "units_not_available");
    world.now = delivered_at + 30 * 86_400_000;
    let refused = world.run(ask(1)).expect_err("the window closed");
    assert_eq!(refused.code(), "return_window_closed", "{refused}");
    world.now = delivered_at + 30 * 86_400_000 - 2_000;
    world.run(ask(1)).expect("within the window");
    world.check();
}
