//! The hold workflow without actors or a runtime: given what each warehouse has, how each
//! availability read and each reservation is answered, the effects asked for and the
//! result: one warehouse or several, a shortfall retried once then given up (also after
//! another warehouse held), a refusal that is no shortfall, a read that fails, a warehouse
//! that fails after others held (their holds let go first), a line growing within one
//! center; and with multi-shipment off: the cart's center serving, the whole cart moving
//! to the one center that can serve it, a survey that cannot be read, a move that fails
//! at its first line, halfway or at the new line (the moved holds let go), a shortfall that
//! was only a race (held there after all, or failing there), and no center at all (every
//! line named).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use chrono::NaiveDate;
use expect_test::{expect, Expect};
use mercato_engine::cart::{Hold, HoldPart, Supply};
use mercato_engine::commerce::model::{Place, StockPolicy};
use mercato_engine::inventory::{Availability, Timestamp};
use mercato_engine::workflow::hold::{Effect, HoldRequest, Holding, Mode, Outcome, Reserved, Step};
use mercato_engine::{Commerce, DomainError, KNOWN_GATEWAYS};

const DEMO: &str = include_str!("../../config/demo.toml");

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).expect("a date")
}

fn demo() -> Arc<Commerce> {
    Arc::new(Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("demo is valid"))
}

/// The shell's error in these tests.
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

fn in_stock(warehouse: &str, reservation: &str, quantity: u32) -> Hold {
    let part = HoldPart { supply: Supply::InStock, quantity, ready_date: today() };
    Hold { warehouse: warehouse.into(), reservation: reservation.into(), quantity, parts: vec![part] }
}

/// A world: units on hand per (warehouse, SKU) as the warehouses report them, and the
/// answers reservations get in turn (`None`: reserve what was asked).
struct World {
    on_hand: BTreeMap<(String, String), u32>,
    answers: VecDeque<Option<Reserved<Shell>>>,
    /// Whether each availability read in turn fails (none left: it succeeds).
    reads_failing: VecDeque<bool>,
    made: u32,
}

impl World {
    fn new(on_hand: &[(&str, &str, u32)]) -> Self {
        let on_hand = on_hand.iter().map(|(w, s, q)| ((w.to_string(), s.to_string()), *q)).collect();
        Self { on_hand, answers: VecDeque::new(), reads_failing: VecDeque::new(), made: 0 }
    }

    fn reading(mut self, failing: Vec<bool>) -> Self {
        self.reads_failing = failing.into();
        self
    }

    fn answering(mut self, answers: Vec<Option<Reserved<Shell>>>) -> Self {
        self.answers = answers.into();
        self
    }

    fn outcome(&mut self, effect: &Effect) -> (String, Outcome<Shell>) {
        match effect {
            Effect::Availability { .. } if self.reads_failing.pop_front() == Some(true) => {
                ("read failed".into(), Outcome::Availability(Err(Shell::Failed("warehouse did not answer"))))
            }
            Effect::Availability { warehouses, skus } => {
                let found = warehouses
                    .iter()
                    .map(|warehouse| {
                        let stock = skus
                            .iter()
                            .filter_map(|sku| {
                                let now = *self.on_hand.get(&(warehouse.clone(), sku.clone()))?;
                                let policy = StockPolicy::StockOnly;
                                Some((sku.clone(), Availability { policy, now, later: Vec::new() }))
                            })
                            .collect();
                        (warehouse.clone(), stock)
                    })
                    .collect();
                ("available".into(), Outcome::Availability(Ok(found)))
            }
            Effect::Reserve { warehouse, prefix, quantity, .. } => match self.answers.pop_front().flatten() {
                Some(answer) => (format!("{answer:?}"), Outcome::Reserved(answer)),
                None => {
                    self.made += 1;
                    let hold = in_stock(warehouse, &format!("{prefix}/r{}", self.made), *quantity);
                    ("held".into(), Outcome::Reserved(Reserved::Held(hold)))
                }
            },
            Effect::Release { .. } => ("released".into(), Outcome::Released),
        }
    }
}

fn render(effect: &Effect) -> String {
    match effect {
        Effect::Availability { warehouses, skus } => format!("availability of {skus:?} in {warehouses:?}"),
        Effect::Reserve { warehouse, prefix, sku, quantity, .. } => {
            format!("reserve {quantity} {sku} in {warehouse} as {prefix}/…")
        }
        Effect::Release { holds } => {
            let ids: Vec<String> = holds.iter().map(|h| format!("{} {}", h.warehouse, h.reservation)).collect();
            format!("release [{}]", ids.join(", "))
        }
    }
}

fn request(sku: &str, quantity: u32, country: &str, mode: Mode) -> HoldRequest {
    HoldRequest {
        cart: "cart-1".into(),
        line: "l9".into(),
        sku: sku.into(),
        quantity,
        channel: "web".into(),
        destination: Place { country: country.into(), region: None, postal_code: None },
        expires_at: Timestamp(1),
        today: today(),
        mode,
    }
}

/// Runs the machine against `world`: the transcript of effects, outcomes and result.
fn run(request: HoldRequest, mut world: World) -> String {
    let mut out = String::new();
    let (mut machine, mut step) = Holding::<Shell>::start(request, demo());
    loop {
        match step {
            Step::Run(effect) => {
                let (said, outcome) = world.outcome(&effect);
                out.push_str(&format!("-> {}\n<- {said}\n", render(&effect)));
                step = machine.resume(outcome);
            }
            Step::Done(Ok(held)) => {
                let holds: Vec<String> =
                    held.holds.iter().map(|h| format!("{} x{} {}", h.warehouse, h.quantity, h.reservation)).collect();
                out.push_str(&format!("held [{}] low stock {:?}\n", holds.join(", "), held.low_stock));
                for (line, holds) in &held.moved {
                    let holds: Vec<String> = holds.iter().map(|h| format!("{} x{}", h.warehouse, h.quantity)).collect();
                    out.push_str(&format!("moved {line} to [{}]\n", holds.join(", ")));
                }
                break;
            }
            Step::Done(Err(error)) => {
                out.push_str(&format!("failed {error:?}\n"));
                break;
            }
        }
    }
    out
}

fn check(cases: Vec<(&str, HoldRequest, World)>, expect: Expect) {
    let mut out = String::new();
    for (name, request, world) in cases {
        out.push_str(&format!("## {name}\n{}", run(request, world)));
    }
    expect.assert_eq(&out);
}

fn shortfall() -> Option<Reserved<Shell>> {
    let error = DomainError::InsufficientStock { sku: "MOUSE".into(), requested: 3, available: 1 };
    Some(Reserved::Refused(error))
}

// Proves multi-shipment on: one warehouse or several serve the line in source selection's
// order; a shortfall is retried once with fresh figures, a second one gives up; a
// warehouse that fails after another held lets that hold go before the error.
#[test]
fn a_line_is_held_across_warehouses_all_or_nothing() {
    check(
        vec![
            ("one warehouse", request("MOUSE", 3, "ES", Mode::Anywhere), World::new(&[("wh-madrid", "MOUSE", 10)])),
            (
                "two warehouses, low stock left",
                request("MOUSE", 5, "ES", Mode::Anywhere),
                World::new(&[("wh-madrid", "MOUSE", 3), ("wh-dropship", "MOUSE", 4)]),
            ),
            (
                "a shortfall retried",
                request("MOUSE", 3, "ES", Mode::Anywhere),
                World::new(&[("wh-madrid", "MOUSE", 10)]).answering(vec![shortfall()]),
            ),
            (
                "a shortfall twice",
                request("MOUSE", 3, "ES", Mode::Anywhere),
                World::new(&[("wh-madrid", "MOUSE", 10)]).answering(vec![shortfall(), shortfall()]),
            ),
            (
                "the second warehouse fails",
                request("MOUSE", 5, "ES", Mode::Anywhere),
                World::new(&[("wh-madrid", "MOUSE", 3), ("wh-dropship", "MOUSE", 4)])
                    .answering(vec![None, Some(Reserved::Failed(Shell::Failed("warehouse busy")))]),
            ),
            ("nowhere", request("MOUSE", 3, "ES", Mode::Anywhere), World::new(&[])),
            (
                "availability cannot be read",
                request("MOUSE", 3, "ES", Mode::Anywhere),
                World::new(&[("wh-madrid", "MOUSE", 10)]).reading(vec![true]),
            ),
            (
                "a refusal that is no shortfall",
                request("MOUSE", 3, "ES", Mode::Anywhere),
                World::new(&[("wh-madrid", "MOUSE", 10)])
                    .answering(vec![Some(Reserved::Refused(DomainError::UnknownSku { sku: "MOUSE".into() }))]),
            ),
            (
                "a shortfall after another warehouse held",
                request("MOUSE", 5, "ES", Mode::Anywhere),
                World::new(&[("wh-madrid", "MOUSE", 3), ("wh-dropship", "MOUSE", 4)])
                    .answering(vec![None, shortfall()]),
            ),
            (
                "growing within the cart's center",
                request("MOUSE", 2, "FR", Mode::Center("lc-france".into())),
                World::new(&[("wh-madrid", "MOUSE", 10), ("wh-lyon", "MOUSE", 10)]),
            ),
        ],
        expect![[r###"
            ## one warehouse
            -> availability of ["MOUSE"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> reserve 3 MOUSE in wh-madrid as cart-1/l9/…
            <- held
            held [wh-madrid x3 cart-1/l9/r1] low stock None
            ## two warehouses, low stock left
            -> availability of ["MOUSE"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> reserve 3 MOUSE in wh-madrid as cart-1/l9/…
            <- held
            -> reserve 2 MOUSE in wh-dropship as cart-1/l9/…
            <- held
            held [wh-madrid x3 cart-1/l9/r1, wh-dropship x2 cart-1/l9/r2] low stock Some(2)
            ## a shortfall retried
            -> availability of ["MOUSE"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> reserve 3 MOUSE in wh-madrid as cart-1/l9/…
            <- Refused(InsufficientStock { sku: "MOUSE", requested: 3, available: 1 })
            -> availability of ["MOUSE"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> reserve 3 MOUSE in wh-madrid as cart-1/l9/…
            <- held
            held [wh-madrid x3 cart-1/l9/r1] low stock None
            ## a shortfall twice
            -> availability of ["MOUSE"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> reserve 3 MOUSE in wh-madrid as cart-1/l9/…
            <- Refused(InsufficientStock { sku: "MOUSE", requested: 3, available: 1 })
            -> availability of ["MOUSE"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> reserve 3 MOUSE in wh-madrid as cart-1/l9/…
            <- Refused(InsufficientStock { sku: "MOUSE", requested: 3, available: 1 })
            failed Domain("insufficient_stock: insufficient stock of \"MOUSE\": 3 requested, 1 available")
            ## the second warehouse fails
            -> availability of ["MOUSE"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> reserve 3 MOUSE in wh-madrid as cart-1/l9/…
            <- held
            -> reserve 2 MOUSE in wh-dropship as cart-1/l9/…
            <- Failed(Failed("warehouse busy"))
            -> release [wh-madrid cart-1/l9/r1]
            <- released
            failed Failed("warehouse busy")
            ## nowhere
            -> availability of ["MOUSE"] in ["wh-madrid", "wh-dropship"]
            <- available
            failed Domain("insufficient_stock: insufficient stock of \"MOUSE\": 3 requested, 0 available")
            ## availability cannot be read
            -> availability of ["MOUSE"] in ["wh-madrid", "wh-dropship"]
            <- read failed
            failed Failed("warehouse did not answer")
            ## a refusal that is no shortfall
            -> availability of ["MOUSE"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> reserve 3 MOUSE in wh-madrid as cart-1/l9/…
            <- Refused(UnknownSku { sku: "MOUSE" })
            failed Domain("unknown_sku: product \"MOUSE\" is not sold by this commerce")
            ## a shortfall after another warehouse held
            -> availability of ["MOUSE"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> reserve 3 MOUSE in wh-madrid as cart-1/l9/…
            <- held
            -> reserve 2 MOUSE in wh-dropship as cart-1/l9/…
            <- Refused(InsufficientStock { sku: "MOUSE", requested: 3, available: 1 })
            -> release [wh-madrid cart-1/l9/r1]
            <- released
            -> availability of ["MOUSE"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> reserve 3 MOUSE in wh-madrid as cart-1/l9/…
            <- held
            -> reserve 2 MOUSE in wh-dropship as cart-1/l9/…
            <- held
            held [wh-madrid x3 cart-1/l9/r2, wh-dropship x2 cart-1/l9/r3] low stock Some(2)
            ## growing within the cart's center
            -> availability of ["MOUSE"] in ["wh-lyon"]
            <- available
            -> reserve 2 MOUSE in wh-lyon as cart-1/l9/…
            <- held
            held [wh-lyon x2 cart-1/l9/r1] low stock None
        "###]],
    );
}

fn cart_lines() -> Vec<(String, String, u32, Vec<Hold>)> {
    vec![
        ("l1".into(), "KEYBOARD".into(), 1, vec![in_stock("wh-madrid", "cart-1/l1/a", 1)]),
        ("l2".into(), "MOUSE".into(), 2, vec![in_stock("wh-madrid", "cart-1/l2/a", 2)]),
    ]
}

// Proves multi-shipment off: a new line stays in the cart's center when it can; else the
// whole cart moves to the first center that can serve it all (its own holds counted), each
// line held anew there, then the new one; a move that fails halfway lets what it held go;
// a shortfall in the cart's center that the survey contradicts was a race, held there
// after all; with no center able to serve the cart, every line is named.
#[test]
fn with_multi_shipment_off_the_cart_stays_in_one_center() {
    let one = || Mode::OneCenter { lines: cart_lines() };
    check(
        vec![
            (
                "the cart's center serves it",
                request("SPEAKER", 1, "FR", one()),
                World::new(&[("wh-madrid", "SPEAKER", 5), ("wh-lyon", "SPEAKER", 5)]),
            ),
            (
                "the cart moves",
                request("SPEAKER", 1, "FR", one()),
                World::new(&[("wh-lyon", "SPEAKER", 5), ("wh-lyon", "KEYBOARD", 5), ("wh-lyon", "MOUSE", 5)]),
            ),
            (
                "the move fails halfway",
                request("SPEAKER", 1, "FR", one()),
                World::new(&[("wh-lyon", "SPEAKER", 5), ("wh-lyon", "KEYBOARD", 5), ("wh-lyon", "MOUSE", 5)])
                    .answering(vec![None, Some(Reserved::Failed(Shell::Failed("warehouse busy")))]),
            ),
            (
                "a race in the cart's center",
                request("SPEAKER", 1, "FR", one()),
                World::new(&[("wh-madrid", "SPEAKER", 5)]).answering(vec![shortfall(), shortfall()]),
            ),
            (
                "the survey cannot be read",
                request("SPEAKER", 1, "FR", one()),
                World::new(&[("wh-lyon", "SPEAKER", 5)]).reading(vec![false, true]),
            ),
            (
                "the first moved line fails",
                request("SPEAKER", 1, "FR", one()),
                World::new(&[("wh-lyon", "SPEAKER", 5), ("wh-lyon", "KEYBOARD", 5), ("wh-lyon", "MOUSE", 5)])
                    .answering(vec![Some(Reserved::Failed(Shell::Failed("warehouse busy")))]),
            ),
            (
                "the new line fails after every line moved",
                request("SPEAKER", 1, "FR", one()),
                World::new(&[("wh-lyon", "SPEAKER", 5), ("wh-lyon", "KEYBOARD", 5), ("wh-lyon", "MOUSE", 5)])
                    .answering(vec![None, None, Some(Reserved::Failed(Shell::Failed("warehouse busy")))]),
            ),
            (
                "the race fails",
                request("SPEAKER", 1, "FR", one()),
                World::new(&[("wh-madrid", "SPEAKER", 5)]).answering(vec![
                    shortfall(),
                    shortfall(),
                    Some(Reserved::Failed(Shell::Failed("warehouse busy"))),
                ]),
            ),
            ("no center can", request("SPEAKER", 1, "FR", one()), World::new(&[("wh-lyon", "SPEAKER", 5)])),
            (
                "an empty cart",
                request("SPEAKER", 1, "FR", Mode::OneCenter { lines: Vec::new() }),
                World::new(&[("wh-lyon", "SPEAKER", 5)]),
            ),
        ],
        expect![[r###"
            ## the cart's center serves it
            -> availability of ["SPEAKER"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> reserve 1 SPEAKER in wh-madrid as cart-1/l9/…
            <- held
            held [wh-madrid x1 cart-1/l9/r1] low stock Some(4)
            ## the cart moves
            -> availability of ["SPEAKER"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> availability of ["KEYBOARD", "MOUSE", "SPEAKER"] in ["wh-madrid", "wh-dropship", "wh-lyon"]
            <- available
            -> availability of ["KEYBOARD"] in ["wh-lyon"]
            <- available
            -> reserve 1 KEYBOARD in wh-lyon as cart-1/l1/…
            <- held
            -> availability of ["MOUSE"] in ["wh-lyon"]
            <- available
            -> reserve 2 MOUSE in wh-lyon as cart-1/l2/…
            <- held
            -> availability of ["SPEAKER"] in ["wh-lyon"]
            <- available
            -> reserve 1 SPEAKER in wh-lyon as cart-1/l9/…
            <- held
            held [wh-lyon x1 cart-1/l9/r3] low stock Some(4)
            moved l1 to [wh-lyon x1]
            moved l2 to [wh-lyon x2]
            ## the move fails halfway
            -> availability of ["SPEAKER"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> availability of ["KEYBOARD", "MOUSE", "SPEAKER"] in ["wh-madrid", "wh-dropship", "wh-lyon"]
            <- available
            -> availability of ["KEYBOARD"] in ["wh-lyon"]
            <- available
            -> reserve 1 KEYBOARD in wh-lyon as cart-1/l1/…
            <- held
            -> availability of ["MOUSE"] in ["wh-lyon"]
            <- available
            -> reserve 2 MOUSE in wh-lyon as cart-1/l2/…
            <- Failed(Failed("warehouse busy"))
            -> release [wh-lyon cart-1/l1/r1]
            <- released
            failed Failed("warehouse busy")
            ## a race in the cart's center
            -> availability of ["SPEAKER"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> reserve 1 SPEAKER in wh-madrid as cart-1/l9/…
            <- Refused(InsufficientStock { sku: "MOUSE", requested: 3, available: 1 })
            -> availability of ["SPEAKER"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> reserve 1 SPEAKER in wh-madrid as cart-1/l9/…
            <- Refused(InsufficientStock { sku: "MOUSE", requested: 3, available: 1 })
            -> availability of ["KEYBOARD", "MOUSE", "SPEAKER"] in ["wh-madrid", "wh-dropship", "wh-lyon"]
            <- available
            -> availability of ["SPEAKER"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> reserve 1 SPEAKER in wh-madrid as cart-1/l9/…
            <- held
            held [wh-madrid x1 cart-1/l9/r1] low stock Some(4)
            ## the survey cannot be read
            -> availability of ["SPEAKER"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> availability of ["KEYBOARD", "MOUSE", "SPEAKER"] in ["wh-madrid", "wh-dropship", "wh-lyon"]
            <- read failed
            failed Failed("warehouse did not answer")
            ## the first moved line fails
            -> availability of ["SPEAKER"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> availability of ["KEYBOARD", "MOUSE", "SPEAKER"] in ["wh-madrid", "wh-dropship", "wh-lyon"]
            <- available
            -> availability of ["KEYBOARD"] in ["wh-lyon"]
            <- available
            -> reserve 1 KEYBOARD in wh-lyon as cart-1/l1/…
            <- Failed(Failed("warehouse busy"))
            failed Failed("warehouse busy")
            ## the new line fails after every line moved
            -> availability of ["SPEAKER"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> availability of ["KEYBOARD", "MOUSE", "SPEAKER"] in ["wh-madrid", "wh-dropship", "wh-lyon"]
            <- available
            -> availability of ["KEYBOARD"] in ["wh-lyon"]
            <- available
            -> reserve 1 KEYBOARD in wh-lyon as cart-1/l1/…
            <- held
            -> availability of ["MOUSE"] in ["wh-lyon"]
            <- available
            -> reserve 2 MOUSE in wh-lyon as cart-1/l2/…
            <- held
            -> availability of ["SPEAKER"] in ["wh-lyon"]
            <- available
            -> reserve 1 SPEAKER in wh-lyon as cart-1/l9/…
            <- Failed(Failed("warehouse busy"))
            -> release [wh-lyon cart-1/l1/r1, wh-lyon cart-1/l2/r2]
            <- released
            failed Failed("warehouse busy")
            ## the race fails
            -> availability of ["SPEAKER"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> reserve 1 SPEAKER in wh-madrid as cart-1/l9/…
            <- Refused(InsufficientStock { sku: "MOUSE", requested: 3, available: 1 })
            -> availability of ["SPEAKER"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> reserve 1 SPEAKER in wh-madrid as cart-1/l9/…
            <- Refused(InsufficientStock { sku: "MOUSE", requested: 3, available: 1 })
            -> availability of ["KEYBOARD", "MOUSE", "SPEAKER"] in ["wh-madrid", "wh-dropship", "wh-lyon"]
            <- available
            -> availability of ["SPEAKER"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> reserve 1 SPEAKER in wh-madrid as cart-1/l9/…
            <- Failed(Failed("warehouse busy"))
            failed Failed("warehouse busy")
            ## no center can
            -> availability of ["SPEAKER"] in ["wh-madrid", "wh-dropship"]
            <- available
            -> availability of ["KEYBOARD", "MOUSE", "SPEAKER"] in ["wh-madrid", "wh-dropship", "wh-lyon"]
            <- available
            failed Domain("single_shipment_impossible: no single logistic center can serve the whole cart (multi-shipment is off): line l1 (KEYBOARD x1) only from lc-iberia; line l2 (MOUSE x2) only from lc-iberia; line l9 (SPEAKER x1) only from lc-france")
            ## an empty cart
            -> availability of ["SPEAKER"] in ["wh-madrid", "wh-dropship", "wh-lyon"]
            <- available
            -> availability of ["SPEAKER"] in ["wh-lyon"]
            <- available
            -> reserve 1 SPEAKER in wh-lyon as cart-1/l9/…
            <- held
            held [wh-lyon x1 cart-1/l9/r1] low stock Some(4)
        "###]],
    );
}
