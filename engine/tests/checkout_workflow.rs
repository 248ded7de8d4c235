//! The checkout workflow without actors or a runtime: given the outcomes its effects get,
//! the effects it asks for and the result it ends with, for every branch: approvals and
//! declines, offline payments, each kind of commit failure at each hold, the order's
//! record taken, refused or unknown, and every refusal before anything is done.

use chrono::NaiveDate;
use expect_test::{expect, Expect};
use mercato_engine::cart::{Cart, CartCommand, CartContext, Hold, HoldPart, Supply};
use mercato_engine::cart::{DeliveryChoice, ShippingAddress};
use mercato_engine::commerce::model::ShipmentPreference;
use mercato_engine::inventory::Timestamp;
use mercato_engine::order::quote::{plan, price};
use mercato_engine::workflow::checkout::{
    Authorised, Checkout, CheckoutRequest, Committed, Effect, Outcome, Placed, Step,
};
use mercato_engine::{Commerce, DomainError, KNOWN_GATEWAYS};
use rust_decimal::Decimal;
use std::str::FromStr;

const DEMO: &str = include_str!("../../config/demo.toml");
const NOW: Timestamp = Timestamp(1_795_255_200_000);
const EXPIRES: Timestamp = Timestamp(NOW.0 + 15 * 60_000);

/// The shell's own error in these tests: a domain refusal or a named shell failure.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shell {
    Domain(String),
    Failed(&'static str),
}

impl From<DomainError> for Shell {
    fn from(error: DomainError) -> Self {
        Shell::Domain(format!("{}: {error}", error.code()))
    }
}

fn demo() -> Commerce {
    Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("demo is valid")
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).expect("a date")
}

fn hold(warehouse: &str, reservation: &str, quantity: u32) -> Hold {
    let part = HoldPart { supply: Supply::InStock, quantity, ready_date: today() };
    Hold { warehouse: warehouse.into(), reservation: reservation.into(), quantity, parts: vec![part] }
}

/// A web cart in Spain with two keyboards (one hold) and three mice (two holds), an
/// address in Madrid and the cheapest home delivery.
fn cart(commerce: &Commerce) -> Cart {
    let context = CartContext {
        channel: "web".into(),
        language: "en".into(),
        currency: "EUR".into(),
        country: "ES".into(),
        user: None,
        group: None,
    };
    let created = Cart::create("cart-1", context, commerce, EXPIRES).expect("a valid context");
    let mut cart = Cart::from_created(&created).expect("a created cart");
    let commands = [
        CartCommand::AddLine {
            line: "l1".into(),
            sku: "KEYBOARD".into(),
            quantity: 2,
            holds: vec![hold("wh-madrid", "r1", 2)],
        },
        CartCommand::AddLine {
            line: "l2".into(),
            sku: "MOUSE".into(),
            quantity: 3,
            holds: vec![hold("wh-madrid", "r2", 1), hold("wh-dropship", "r3", 2)],
        },
        CartCommand::SetAddress {
            address: ShippingAddress {
                name: "Ana García".into(),
                line: "Gran Vía 1".into(),
                city: "Madrid".into(),
                postal_code: "28013".into(),
                country: "ES".into(),
                ..ShippingAddress::default()
            },
        },
    ];
    for command in &commands {
        for event in cart.decide(command, commerce, NOW).expect("a valid change") {
            cart.apply(&event);
        }
    }
    let priced = price(commerce, &cart, today()).expect("priced");
    let shipments = plan(commerce, &cart, &priced, ShipmentPreference::AsAvailable, today()).expect("planned");
    let shipping_types = shipments.iter().map(|s| (s.id.clone(), s.options[0].key())).collect();
    let choice = DeliveryChoice::Home { preference: ShipmentPreference::AsAvailable, shipping_types };
    for event in cart.decide(&CartCommand::ChooseDelivery { choice }, commerce, NOW).expect("a delivery") {
        cart.apply(&event);
    }
    cart
}

fn request(payment_system: &str) -> CheckoutRequest {
    CheckoutRequest {
        order: "O1".into(),
        payment_system: payment_system.into(),
        token: Some("tok_visa".into()),
        expected_total: None,
        by: "test".into(),
    }
}

fn render_effect(effect: &Effect) -> String {
    match effect {
        Effect::Authorise(a) => {
            format!("authorise {} {} {} {} token {}", a.gateway, a.order, a.amount, a.currency, a.token)
        }
        Effect::Commit(h) => {
            format!("commit {} {} {} x{} as {}", h.line, h.warehouse, h.reservation, h.quantity, h.key)
        }
        Effect::Place { order, cart_events } => {
            let shipments: Vec<String> = order.shipments.iter().map(|s| format!("{} {:?}", s.id, s.status)).collect();
            format!(
                "place {} {} total {} payment {:?} shipments [{}] cart {:?}",
                order.id,
                order.status.as_str(),
                order.totals.total,
                order.payment.reference,
                shipments.join(", "),
                cart_events
            )
        }
        Effect::Uncommit { holds, expires_at } => {
            let keys: Vec<&str> = holds.iter().map(|h| h.key.as_str()).collect();
            format!("uncommit [{}] until {}", keys.join(", "), expires_at.0 - NOW.0)
        }
        Effect::Void { gateway, reference } => format!("void {gateway} {reference}"),
    }
}

/// The outcome a word in a case stands for.
fn outcome(word: &str) -> Outcome<Shell> {
    match word {
        "approved" => Outcome::Authorised(Authorised::Approved { reference: "sandbox-O1".into() }),
        "declined" => Outcome::Authorised(Authorised::Declined { reason: "the token is declined".into() }),
        "gateway-failed" => Outcome::Authorised(Authorised::Failed(Shell::Failed("gateway unavailable"))),
        "committed" => Outcome::Committed(Committed::Committed),
        "lost" => Outcome::Committed(Committed::Lost),
        "refused" => Outcome::Committed(Committed::Refused(Shell::Failed("warehouse busy"))),
        "unknown" => Outcome::Committed(Committed::Unknown(Shell::Failed("warehouse did not answer"))),
        "placed" => Outcome::Placed(Placed::Placed),
        "not-recorded" => Outcome::Placed(Placed::NotRecorded(Shell::Failed("log full"))),
        "log-failed" => Outcome::Placed(Placed::Unknown(Shell::Failed("log failed"))),
        other => panic!("no outcome is called {other}"),
    }
}

/// Runs a checkout, feeding `outcomes` in turn; the transcript of effects, outcomes,
/// result and clean-up.
fn run(commerce: &Commerce, cart: &Cart, request: CheckoutRequest, outcomes: &[&str]) -> String {
    let mut out = String::new();
    let mut outcomes = outcomes.iter();
    let (mut machine, mut step) = match Checkout::start::<Shell>(request, cart, commerce, NOW, today()) {
        Ok(started) => started,
        Err(error) => return format!("refused {}: {error}\n", error.code()),
    };
    loop {
        match step {
            Step::Run(effect) => {
                out.push_str(&format!("-> {}\n", render_effect(&effect)));
                let word = outcomes.next().expect("an outcome for every effect");
                out.push_str(&format!("<- {word}\n"));
                step = machine.resume(outcome(word));
            }
            Step::Done { result, cleanup } => {
                match result {
                    Ok(()) => out.push_str("placed\n"),
                    Err(error) => out.push_str(&format!("failed {error:?}\n")),
                }
                for effect in &cleanup {
                    out.push_str(&format!("cleanup {}\n", render_effect(effect)));
                }
                break;
            }
        }
    }
    assert!(outcomes.next().is_none(), "every outcome was used");
    out
}

/// A case: its name, how the cart and the request differ from the defaults, and the
/// outcomes its effects get.
struct Case {
    name: &'static str,
    payment_system: &'static str,
    change: fn(&mut Cart, &mut CheckoutRequest),
    outcomes: &'static [&'static str],
}

fn same(_: &mut Cart, _: &mut CheckoutRequest) {}

fn check(cases: &[Case], expect: Expect) {
    let commerce = demo();
    let mut out = String::new();
    for case in cases {
        let mut cart = cart(&commerce);
        let mut request = request(case.payment_system);
        (case.change)(&mut cart, &mut request);
        out.push_str(&format!("## {}\n", case.name));
        out.push_str(&run(&commerce, &cart, request, case.outcomes));
    }
    expect.assert_eq(&out);
}

// Proves the happy paths: an approved card payment commits every hold in order and
// places the order paid; an offline payment asks no gateway and places it pending.
#[test]
fn payments_approved_or_offline_place_the_order() {
    check(
        &[
            Case {
                name: "card approved",
                payment_system: "card",
                change: same,
                outcomes: &["approved", "committed", "committed", "committed", "placed"],
            },
            Case {
                name: "bank transfer",
                payment_system: "bank-transfer",
                change: same,
                outcomes: &["committed", "committed", "committed", "placed"],
            },
            Case {
                name: "the total the customer saw",
                payment_system: "cod",
                change: |_, request| request.expected_total = Some(Decimal::from_str("371.35").expect("a total")),
                outcomes: &["committed", "committed", "committed", "placed"],
            },
        ],
        expect![[r###"
            ## card approved
            -> authorise sandbox O1 371.35 EUR token tok_visa
            <- approved
            -> commit l1 wh-madrid r1 x2 as O1/l1/1
            <- committed
            -> commit l2 wh-madrid r2 x1 as O1/l2/1
            <- committed
            -> commit l2 wh-dropship r3 x2 as O1/l2/2
            <- committed
            -> place O1 paid total 371.35 payment Some("sandbox-O1") shipments [s1 Ready, s2 Ready] cart [CheckedOut { order: "O1" }]
            <- placed
            placed
            ## bank transfer
            -> commit l1 wh-madrid r1 x2 as O1/l1/1
            <- committed
            -> commit l2 wh-madrid r2 x1 as O1/l2/1
            <- committed
            -> commit l2 wh-dropship r3 x2 as O1/l2/2
            <- committed
            -> place O1 pending_payment total 371.35 payment None shipments [s1 Ready, s2 Ready] cart [CheckedOut { order: "O1" }]
            <- placed
            placed
            ## the total the customer saw
            -> commit l1 wh-madrid r1 x2 as O1/l1/1
            <- committed
            -> commit l2 wh-madrid r2 x1 as O1/l2/1
            <- committed
            -> commit l2 wh-dropship r3 x2 as O1/l2/2
            <- committed
            -> place O1 pending_payment total 371.35 payment None shipments [s1 Ready, s2 Ready] cart [CheckedOut { order: "O1" }]
            <- placed
            placed
        "###]],
    );
}

// Proves every failure after the start rolls back exactly what may have happened: a
// decline or a gateway failure before any commit undoes nothing; a lost, refused or
// unknown commit at the first or a later hold uncommits the holds before it (and the
// unknown one itself) and voids the approval; an offline payment has nothing to void; a
// record the log refused undoes everything; a record whose outcome is unknown undoes
// nothing, since the order may exist.
#[test]
fn every_failure_rolls_back_what_was_done() {
    check(
        &[
            Case { name: "declined", payment_system: "card", change: same, outcomes: &["declined"] },
            Case { name: "gateway failed", payment_system: "card", change: same, outcomes: &["gateway-failed"] },
            Case { name: "first hold lost", payment_system: "card", change: same, outcomes: &["approved", "lost"] },
            Case {
                name: "first hold unknown",
                payment_system: "card",
                change: same,
                outcomes: &["approved", "unknown"],
            },
            Case {
                name: "third hold lost",
                payment_system: "card",
                change: same,
                outcomes: &["approved", "committed", "committed", "lost"],
            },
            Case {
                name: "second hold refused",
                payment_system: "card",
                change: same,
                outcomes: &["approved", "committed", "refused"],
            },
            Case {
                name: "second hold unknown",
                payment_system: "card",
                change: same,
                outcomes: &["approved", "committed", "unknown"],
            },
            Case {
                name: "offline, second hold lost",
                payment_system: "cod",
                change: same,
                outcomes: &["committed", "lost"],
            },
            Case {
                name: "record not taken",
                payment_system: "card",
                change: same,
                outcomes: &["approved", "committed", "committed", "committed", "not-recorded"],
            },
            Case {
                name: "offline, record not taken",
                payment_system: "cod",
                change: same,
                outcomes: &["committed", "committed", "committed", "not-recorded"],
            },
            Case {
                name: "record outcome unknown",
                payment_system: "card",
                change: same,
                outcomes: &["approved", "committed", "committed", "committed", "log-failed"],
            },
        ],
        expect![[r###"
            ## declined
            -> authorise sandbox O1 371.35 EUR token tok_visa
            <- declined
            failed Domain("payment_declined: the payment was declined: the token is declined")
            ## gateway failed
            -> authorise sandbox O1 371.35 EUR token tok_visa
            <- gateway-failed
            failed Failed("gateway unavailable")
            ## first hold lost
            -> authorise sandbox O1 371.35 EUR token tok_visa
            <- approved
            -> commit l1 wh-madrid r1 x2 as O1/l1/1
            <- lost
            failed Domain("stock_lost: the units held for line \"l1\" (KEYBOARD) were lost: change or remove the line")
            cleanup void sandbox sandbox-O1
            ## first hold unknown
            -> authorise sandbox O1 371.35 EUR token tok_visa
            <- approved
            -> commit l1 wh-madrid r1 x2 as O1/l1/1
            <- unknown
            failed Failed("warehouse did not answer")
            cleanup uncommit [O1/l1/1] until 900000
            cleanup void sandbox sandbox-O1
            ## third hold lost
            -> authorise sandbox O1 371.35 EUR token tok_visa
            <- approved
            -> commit l1 wh-madrid r1 x2 as O1/l1/1
            <- committed
            -> commit l2 wh-madrid r2 x1 as O1/l2/1
            <- committed
            -> commit l2 wh-dropship r3 x2 as O1/l2/2
            <- lost
            failed Domain("stock_lost: the units held for line \"l2\" (MOUSE) were lost: change or remove the line")
            cleanup uncommit [O1/l1/1, O1/l2/1] until 900000
            cleanup void sandbox sandbox-O1
            ## second hold refused
            -> authorise sandbox O1 371.35 EUR token tok_visa
            <- approved
            -> commit l1 wh-madrid r1 x2 as O1/l1/1
            <- committed
            -> commit l2 wh-madrid r2 x1 as O1/l2/1
            <- refused
            failed Failed("warehouse busy")
            cleanup uncommit [O1/l1/1] until 900000
            cleanup void sandbox sandbox-O1
            ## second hold unknown
            -> authorise sandbox O1 371.35 EUR token tok_visa
            <- approved
            -> commit l1 wh-madrid r1 x2 as O1/l1/1
            <- committed
            -> commit l2 wh-madrid r2 x1 as O1/l2/1
            <- unknown
            failed Failed("warehouse did not answer")
            cleanup uncommit [O1/l1/1, O1/l2/1] until 900000
            cleanup void sandbox sandbox-O1
            ## offline, second hold lost
            -> commit l1 wh-madrid r1 x2 as O1/l1/1
            <- committed
            -> commit l2 wh-madrid r2 x1 as O1/l2/1
            <- lost
            failed Domain("stock_lost: the units held for line \"l2\" (MOUSE) were lost: change or remove the line")
            cleanup uncommit [O1/l1/1] until 900000
            ## record not taken
            -> authorise sandbox O1 371.35 EUR token tok_visa
            <- approved
            -> commit l1 wh-madrid r1 x2 as O1/l1/1
            <- committed
            -> commit l2 wh-madrid r2 x1 as O1/l2/1
            <- committed
            -> commit l2 wh-dropship r3 x2 as O1/l2/2
            <- committed
            -> place O1 paid total 371.35 payment Some("sandbox-O1") shipments [s1 Ready, s2 Ready] cart [CheckedOut { order: "O1" }]
            <- not-recorded
            failed Failed("log full")
            cleanup uncommit [O1/l1/1, O1/l2/1, O1/l2/2] until 900000
            cleanup void sandbox sandbox-O1
            ## offline, record not taken
            -> commit l1 wh-madrid r1 x2 as O1/l1/1
            <- committed
            -> commit l2 wh-madrid r2 x1 as O1/l2/1
            <- committed
            -> commit l2 wh-dropship r3 x2 as O1/l2/2
            <- committed
            -> place O1 pending_payment total 371.35 payment None shipments [s1 Ready, s2 Ready] cart [CheckedOut { order: "O1" }]
            <- not-recorded
            failed Failed("log full")
            cleanup uncommit [O1/l1/1, O1/l2/1, O1/l2/2] until 900000
            ## record outcome unknown
            -> authorise sandbox O1 371.35 EUR token tok_visa
            <- approved
            -> commit l1 wh-madrid r1 x2 as O1/l1/1
            <- committed
            -> commit l2 wh-madrid r2 x1 as O1/l2/1
            <- committed
            -> commit l2 wh-dropship r3 x2 as O1/l2/2
            <- committed
            -> place O1 paid total 371.35 payment Some("sandbox-O1") shipments [s1 Ready, s2 Ready] cart [CheckedOut { order: "O1" }]
            <- log-failed
            failed Failed("log failed")
        "###]],
    );
}

// Proves a cart that cannot become an order is refused before anything is asked of a
// gateway or a warehouse, each refusal naming what is wrong.
#[test]
fn a_cart_that_cannot_become_an_order_is_refused_at_once() {
    check(
        &[
            Case {
                name: "the total changed",
                payment_system: "card",
                change: |_, request| request.expected_total = Some(Decimal::from_str("300.00").expect("a total")),
                outcomes: &[],
            },
            Case { name: "unknown payment system", payment_system: "cheque", change: same, outcomes: &[] },
            Case {
                name: "an online payment without a token",
                payment_system: "card",
                change: |_, request| request.token = Some("  ".into()),
                outcomes: &[],
            },
            Case {
                name: "no delivery chosen",
                payment_system: "card",
                change: |cart, _| cart.delivery = None,
                outcomes: &[],
            },
            Case { name: "no address", payment_system: "card", change: |cart, _| cart.address = None, outcomes: &[] },
            Case { name: "empty", payment_system: "card", change: |cart, _| cart.lines.clear(), outcomes: &[] },
            Case { name: "expired", payment_system: "card", change: |cart, _| cart.expires_at = NOW, outcomes: &[] },
            Case {
                name: "checked out",
                payment_system: "card",
                change: |cart, _| cart.status = mercato_engine::cart::CartStatus::CheckedOut,
                outcomes: &[],
            },
            Case {
                name: "a shipping type no longer offered",
                payment_system: "card",
                change: |cart, _| {
                    cart.delivery = Some(DeliveryChoice::Home {
                        preference: ShipmentPreference::AsAvailable,
                        shipping_types: vec![("s1".into(), "iberpost/teleport".into())],
                    })
                },
                outcomes: &[],
            },
        ],
        expect![[r###"
            ## the total changed
            refused price_changed: the total is now 371.35, not the 300.00 expected: review the cart
            ## unknown payment system
            refused unknown_payment_system: payment system "cheque" is not offered in this channel; offered: card, bank-transfer, cod
            ## an online payment without a token
            refused payment_token_required: payment system "card" pays online: a payment_token is required
            ## no delivery chosen
            refused delivery_required: the cart needs a delivery choice first (PUT …/delivery)
            ## no address
            refused address_required: the cart needs a shipping address first (PUT …/address)
            ## empty
            refused cart_empty: the cart has no lines
            ## expired
            refused cart_expired: cart "cart-1" has expired
            ## checked out
            refused cart_closed: cart "cart-1" is checked_out: it takes no more changes
            ## a shipping type no longer offered
            refused unknown_shipping_type: shipping type "iberpost/teleport" is not offered for shipment "s1"; offered: iberpost/express, eurofreight/standard-eu, iberpost/standard
        "###]],
    );
}
