//! The creation of a cart whole, and of a purchase in one request, without actors: which
//! part carries the key, what a failure at each part does (abandon the half-made cart or
//! not, free the key or not), and the checks made before anything is opened.

use expect_test::{expect, Expect};
use mercato_engine::cart::{DeliveryChoice, ShippingAddress, CART_LINES_MAX};
use mercato_engine::commerce::model::ShipmentPreference;
use mercato_engine::workflow::create::{Creation, Effect, Outcome, Part, Step};

fn line(sku: &str) -> Part {
    Part::Line { sku: sku.into(), quantity: 1 }
}

fn address() -> Part {
    Part::Address(Box::new(ShippingAddress { country: "ES".into(), ..ShippingAddress::default() }))
}

fn delivery() -> Part {
    Part::Delivery(DeliveryChoice::Home { preference: ShipmentPreference::AsAvailable, shipping_types: Vec::new() })
}

fn outcome(word: &str) -> Outcome {
    match word {
        "applied" => Outcome::Applied,
        "refused" => Outcome::Failed { nothing_changed: true },
        "unknown" => Outcome::Failed { nothing_changed: false },
        "ended" => Outcome::Abandoned { ended: true },
        "not-ended" => Outcome::Abandoned { ended: false },
        other => panic!("no outcome is called {other}"),
    }
}

fn render(effect: &Effect) -> String {
    match effect {
        Effect::Apply { part, answering } => {
            let part = match part {
                Part::Line { sku, .. } => format!("line {sku}"),
                Part::Address(_) => "address".into(),
                Part::Delivery(_) => "delivery".into(),
                Part::CheckOut => "checkout".into(),
            };
            format!("apply {part} ({answering:?})")
        }
        Effect::Abandon => "abandon".into(),
    }
}

fn run(parts: Vec<Part>, keyed: bool, outcomes: &[&str]) -> String {
    let mut creation = match Creation::new(parts, keyed) {
        Ok(creation) => creation,
        Err(error) => return format!("refused {}\n", error.code()),
    };
    let mut out = String::new();
    let mut outcomes = outcomes.iter();
    let mut step = creation.start();
    loop {
        match step {
            Step::Run(effect) => {
                let word = outcomes.next().expect("an outcome for every effect");
                out.push_str(&format!("-> {}\n<- {word}\n", render(&effect)));
                step = creation.resume(outcome(word));
            }
            Step::Done(created) => {
                out.push_str(&format!("{created:?}\n"));
                break;
            }
        }
    }
    assert!(outcomes.next().is_none(), "every outcome was used");
    out
}

fn check(cases: Vec<(&str, Vec<Part>, bool, &[&str])>, expect: Expect) {
    let mut out = String::new();
    for (name, parts, keyed, outcomes) in cases {
        out.push_str(&format!("## {name}\n{}", run(parts, keyed, outcomes)));
    }
    expect.assert_eq(&out);
}

// Proves the parts apply in order, only the last carries the key (the others answer once
// queued), and a request without a key ends on a durable part.
#[test]
fn the_last_part_carries_the_key() {
    check(
        vec![
            ("lines only", vec![line("A"), line("B")], true, &["applied", "applied"]),
            (
                "a purchase in one request, parts in any order",
                vec![Part::CheckOut, delivery(), address(), line("A")],
                true,
                &["applied", "applied", "applied", "applied"],
            ),
            ("without a key", vec![line("A"), address()], false, &["applied", "applied"]),
            ("nothing but the context", vec![], true, &[]),
        ],
        expect![[r#"
            ## lines only
            -> apply line A (Queued)
            <- applied
            -> apply line B (Keyed)
            <- applied
            Made
            ## a purchase in one request, parts in any order
            -> apply line A (Queued)
            <- applied
            -> apply address (Queued)
            <- applied
            -> apply delivery (Queued)
            <- applied
            -> apply checkout (Keyed)
            <- applied
            Made
            ## without a key
            -> apply line A (Queued)
            <- applied
            -> apply address (Durable)
            <- applied
            Made
            ## nothing but the context
            Made
        "#]],
    );
}

// Proves every failure: a refused part ends the half-made cart and frees the key once the
// end is durable (not when the end failed); a keyed last part whose outcome is unknown is
// left alone with its key in flight, unless it is a checkout, which is followed by the
// abandon all the same while its key stays in flight.
#[test]
fn a_failed_part_ends_the_cart_and_frees_the_key_when_it_may() {
    check(
        vec![
            ("the second line refused", vec![line("A"), line("B"), address()], true, &["applied", "refused", "ended"]),
            ("the end not durable", vec![line("A"), line("B")], true, &["applied", "refused", "not-ended"]),
            ("a queued part unknown", vec![line("A"), address()], true, &["unknown", "ended"]),
            ("the keyed last part unknown", vec![line("A"), address()], true, &["applied", "unknown"]),
            (
                "a checkout refused",
                vec![line("A"), address(), delivery(), Part::CheckOut],
                true,
                &["applied", "applied", "applied", "refused", "ended"],
            ),
            (
                "a checkout unknown",
                vec![line("A"), address(), delivery(), Part::CheckOut],
                true,
                &["applied", "applied", "applied", "unknown", "ended"],
            ),
            ("no key, the last part unknown", vec![line("A"), address()], false, &["applied", "unknown", "ended"]),
        ],
        expect![[r#"
            ## the second line refused
            -> apply line A (Queued)
            <- applied
            -> apply line B (Queued)
            <- refused
            -> abandon
            <- ended
            Failed { free_key: true }
            ## the end not durable
            -> apply line A (Queued)
            <- applied
            -> apply line B (Keyed)
            <- refused
            -> abandon
            <- not-ended
            Failed { free_key: false }
            ## a queued part unknown
            -> apply line A (Queued)
            <- unknown
            -> abandon
            <- ended
            Failed { free_key: true }
            ## the keyed last part unknown
            -> apply line A (Queued)
            <- applied
            -> apply address (Keyed)
            <- unknown
            Failed { free_key: false }
            ## a checkout refused
            -> apply line A (Queued)
            <- applied
            -> apply address (Queued)
            <- applied
            -> apply delivery (Queued)
            <- applied
            -> apply checkout (Keyed)
            <- refused
            -> abandon
            <- ended
            Failed { free_key: true }
            ## a checkout unknown
            -> apply line A (Queued)
            <- applied
            -> apply address (Queued)
            <- applied
            -> apply delivery (Queued)
            <- applied
            -> apply checkout (Keyed)
            <- unknown
            -> abandon
            <- ended
            Failed { free_key: false }
            ## no key, the last part unknown
            -> apply line A (Queued)
            <- applied
            -> apply address (Durable)
            <- unknown
            -> abandon
            <- ended
            Failed { free_key: true }
        "#]],
    );
}

// Proves the checks made before the cart is opened, each naming what is missing.
#[test]
fn parts_that_cannot_make_a_cart_are_refused_before_it_is_opened() {
    let too_many: Vec<Part> = (0..=CART_LINES_MAX).map(|n| line(&format!("SKU-{n}"))).collect();
    check(
        vec![
            ("too many lines", too_many, true, &[]),
            ("a delivery without lines", vec![address(), delivery()], true, &[]),
            ("a delivery without an address", vec![line("A"), delivery()], true, &[]),
            ("a checkout without a delivery", vec![line("A"), address(), Part::CheckOut], true, &[]),
            ("a checkout alone", vec![Part::CheckOut], true, &[]),
        ],
        expect![[r#"
            ## too many lines
            refused cart_lines_exceeded
            ## a delivery without lines
            refused cart_empty
            ## a delivery without an address
            refused address_required
            ## a checkout without a delivery
            refused delivery_required
            ## a checkout alone
            refused cart_empty
        "#]],
    );
}
