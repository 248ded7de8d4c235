//! Carts in the engine: quantity rules (minimum, maximum, multiple of) refuse a bad
//! quantity naming the allowed values; lines are added, changed and removed with the
//! holds their units came from; a closed or expired cart takes no change; replaying the
//! events rebuilds the cart.

use expect_test::expect;
use mercato_engine::cart::{
    Cart, CartCommand, CartContext, CartEvent, CartStatus, Hold, HoldPart, Supply, CART_LINES_MAX,
};
use mercato_engine::inventory::Timestamp;
use mercato_engine::{Commerce, KNOWN_GATEWAYS};

const DEMO: &str = include_str!("../../config/demo.toml");
const NOW: Timestamp = Timestamp(1_795_255_200_000);
const LATER: Timestamp = Timestamp(NOW.0 + 30 * 60_000);

fn demo() -> Commerce {
    Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("demo is valid")
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

fn hold(quantity: u32) -> Vec<Hold> {
    let part = HoldPart { supply: Supply::InStock, quantity, ready_date: chrono::NaiveDate::MIN };
    vec![Hold { warehouse: "wh-madrid".into(), reservation: "cart-1/line".into(), quantity, parts: vec![part] }]
}

// Proves each product's quantity rules, at and around their edges, with the message a
// refusal gives (it names the allowed values).
#[test]
fn quantity_rules_name_the_allowed_values() {
    let commerce = demo();
    let cases: &[(&str, &[u32])] = &[
        ("BOOK-SIGNED", &[0, 1, 2]),
        ("WATER-CASE-6", &[5, 6, 7, 11, 12]),
        ("OLIVE-OIL-5L", &[1, 4, 5]),
        ("FLOUR-BULK-25KG", &[1, 2, 3, 39, 40, 41]),
        ("CHAIR-OAK", &[2, 4, 5, 11, 12, 13]),
        ("KEYBOARD", &[0, 1, 1000]),
    ];
    let mut out = String::new();
    for (sku, quantities) in cases {
        let rules = &commerce.product(sku).expect("a demo product").quantity;
        for &quantity in *quantities {
            let outcome = match rules.check(sku, quantity) {
                Ok(()) => "ok".to_owned(),
                Err(error) => format!("{}: {error}", error.code()),
            };
            out.push_str(&format!("{sku} x{quantity}: {outcome}\n"));
        }
    }
    expect![[r#"
        BOOK-SIGNED x0: quantity_below_minimum: 0 of "BOOK-SIGNED" is below the minimum of 1
        BOOK-SIGNED x1: ok
        BOOK-SIGNED x2: quantity_above_maximum: 2 of "BOOK-SIGNED" is above the maximum of 1
        WATER-CASE-6 x5: quantity_below_minimum: 5 of "WATER-CASE-6" is below the minimum of 6
        WATER-CASE-6 x6: ok
        WATER-CASE-6 x7: not_a_multiple: 7 of "WATER-CASE-6" is not a multiple of 6: order 6 or 12
        WATER-CASE-6 x11: not_a_multiple: 11 of "WATER-CASE-6" is not a multiple of 6: order 6 or 12
        WATER-CASE-6 x12: ok
        OLIVE-OIL-5L x1: ok
        OLIVE-OIL-5L x4: ok
        OLIVE-OIL-5L x5: quantity_above_maximum: 5 of "OLIVE-OIL-5L" is above the maximum of 4
        FLOUR-BULK-25KG x1: quantity_below_minimum: 1 of "FLOUR-BULK-25KG" is below the minimum of 2
        FLOUR-BULK-25KG x2: ok
        FLOUR-BULK-25KG x3: not_a_multiple: 3 of "FLOUR-BULK-25KG" is not a multiple of 2: order 2 or 4
        FLOUR-BULK-25KG x39: not_a_multiple: 39 of "FLOUR-BULK-25KG" is not a multiple of 2: order 38 or 40
        FLOUR-BULK-25KG x40: ok
        FLOUR-BULK-25KG x41: quantity_above_maximum: 41 of "FLOUR-BULK-25KG" is above the maximum of 40
        CHAIR-OAK x2: quantity_below_minimum: 2 of "CHAIR-OAK" is below the minimum of 4
        CHAIR-OAK x4: ok
        CHAIR-OAK x5: not_a_multiple: 5 of "CHAIR-OAK" is not a multiple of 2: order 4 or 6
        CHAIR-OAK x11: not_a_multiple: 11 of "CHAIR-OAK" is not a multiple of 2: order 10 or 12
        CHAIR-OAK x12: ok
        CHAIR-OAK x13: quantity_above_maximum: 13 of "CHAIR-OAK" is above the maximum of 12
        KEYBOARD x0: quantity_below_minimum: 0 of "KEYBOARD" is below the minimum of 1
        KEYBOARD x1: ok
        KEYBOARD x1000: ok
    "#]]
    .assert_eq(&out);
}

/// Decides and applies a command, returning its events.
fn run(cart: &mut Cart, command: CartCommand, commerce: &Commerce, now: Timestamp) -> Vec<CartEvent> {
    let events = cart.decide(&command, commerce, now).expect("accepted");
    for event in &events {
        cart.apply(event);
    }
    events
}

// Proves the life of a cart: created in a valid context, lines added with their holds,
// changed, removed; quantity rules and unknown products refused without change; expiry
// closes it; replaying its events rebuilds it.
#[test]
fn a_cart_from_creation_to_expiry() {
    let commerce = demo();
    let created = Cart::create("cart-1", context(), &commerce, LATER).expect("a valid context");
    let mut cart = Cart::from_created(&created).expect("a cart");
    let mut history = vec![created];
    let add = |line: &str, sku: &str, quantity: u32| CartCommand::AddLine {
        line: line.into(),
        sku: sku.into(),
        quantity,
        holds: hold(quantity),
    };
    history.extend(run(&mut cart, add("l1", "KEYBOARD", 2), &commerce, NOW));
    history.extend(run(&mut cart, add("l2", "WATER-CASE-6", 12), &commerce, NOW));

    let before = cart.clone();
    let refusals = [
        add("l3", "WATER-CASE-6", 7),
        add("l1", "KEYBOARD", 1),
        add("l3", "NO-SUCH-SKU", 1),
        CartCommand::AddLine { line: "l3".into(), sku: "KEYBOARD".into(), quantity: 3, holds: hold(2) },
        CartCommand::ChangeLine { line: "l2".into(), quantity: 13, holds: hold(13) },
        CartCommand::RemoveLine { line: "nope".into() },
        CartCommand::Renew { expires_at: NOW },
    ];
    let codes: Vec<&str> =
        refusals.iter().map(|command| cart.decide(command, &commerce, NOW).expect_err("refused").code()).collect();
    assert_eq!(
        codes,
        [
            "not_a_multiple",
            "duplicate_cart_line",
            "unknown_sku",
            "invalid_quantity",
            "not_a_multiple",
            "unknown_cart_line",
            "cart_expired"
        ]
    );
    assert_eq!(cart, before, "refusals change nothing");

    history.extend(run(
        &mut cart,
        CartCommand::ChangeLine { line: "l2".into(), quantity: 18, holds: hold(18) },
        &commerce,
        NOW,
    ));
    history.extend(run(&mut cart, CartCommand::RemoveLine { line: "l1".into() }, &commerce, NOW));
    assert_eq!(cart.lines.keys().collect::<Vec<_>>(), ["l2"]);
    assert_eq!(cart.holds().map(|h| h.quantity).sum::<u32>(), 18);

    // Past its time, the cart refuses changes until it is expired, then refuses them all.
    assert_eq!(cart.decide(&add("l4", "KEYBOARD", 1), &commerce, LATER).expect_err("late").code(), "cart_expired");
    history.extend(run(&mut cart, CartCommand::Expire, &commerce, LATER));
    assert_eq!(cart.status, CartStatus::Expired);
    assert_eq!(cart.decide(&CartCommand::Expire, &commerce, LATER).expect_err("closed").code(), "cart_closed");

    let mut replayed = Cart::from_created(&history[0]).expect("a cart");
    for event in &history[1..] {
        replayed.apply(event);
    }
    assert_eq!(replayed, cart, "replaying the events rebuilds the cart");
}

// Proves a cart's context is checked at creation, and the line limit holds at its edge.
#[test]
fn contexts_and_the_line_limit() {
    let commerce = demo();
    let bad = [
        CartContext { channel: "fax".into(), ..context() },
        CartContext { language: "xx".into(), ..context() },
        CartContext { currency: "XXX".into(), ..context() },
    ];
    let codes: Vec<&str> =
        bad.into_iter().map(|c| Cart::create("c", c, &commerce, LATER).expect_err("refused").code()).collect();
    assert_eq!(codes, ["unknown_channel", "unknown_language", "unknown_currency"]);

    let mut cart = Cart::from_created(&Cart::create("c", context(), &commerce, LATER).expect("valid")).expect("a cart");
    for i in 0..CART_LINES_MAX {
        let command =
            CartCommand::AddLine { line: format!("l{i}"), sku: "KEYBOARD".into(), quantity: 1, holds: hold(1) };
        run(&mut cart, command, &commerce, NOW);
    }
    let one_more = CartCommand::AddLine { line: "extra".into(), sku: "KEYBOARD".into(), quantity: 1, holds: hold(1) };
    assert_eq!(cart.decide(&one_more, &commerce, NOW).expect_err("full").code(), "cart_lines_exceeded");
}

mod rules {
    use mercato_engine::commerce::model::QuantityRules;
    use mercato_engine::DomainError;
    use proptest::prelude::*;

    proptest! {
        // Proves, for any rules and quantity, that `check` accepts exactly the quantities
        // the rules allow, and every value a `not_a_multiple` refusal suggests is accepted.
        #[test]
        fn check_accepts_exactly_the_allowed_quantities(
            min in 0u32..50, span in proptest::option::of(0u32..200), step in 0u32..12, quantity in 0u32..400,
        ) {
            let rules = QuantityRules { min, max: span.map(|s| min.max(1) + s), multiple_of: step };
            let allowed = quantity >= min.max(1)
                && rules.max.is_none_or(|max| quantity <= max)
                && quantity % step.max(1) == 0;
            match rules.check("SKU", quantity) {
                Ok(()) => prop_assert!(allowed, "{quantity} accepted under {rules:?}"),
                Err(DomainError::NotAMultiple { allowed: suggestion, .. }) => {
                    prop_assert!(!allowed);
                    for value in suggestion.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()) {
                        let value: u32 = value.parse().expect("a number");
                        if suggestion.starts_with("order a multiple") {
                            continue;
                        }
                        prop_assert!(rules.check("SKU", value).is_ok(), "suggested {value} refused under {rules:?}");
                    }
                }
                Err(_) => prop_assert!(!allowed, "{quantity} refused under {rules:?}"),
            }
        }
    }
}
