//! A product's preorder or lead-time cap is one budget for the whole commerce (DESIGN.md
//! section 4): every warehouse that offers the product sells from it, under concurrency,
//! and `reserved + promised <= cap` holds across them; a warehouse's own override keeps
//! its own cap.

mod support;

use mercato_engine::inventory::{check_shared_caps, WarehouseStock};
use support::*;

const PREORDER: &str = "BOOK-NEXT-ED";

/// The demo with the preorder's cap at `cap`, and `extra` appended to its product table.
fn capped(cap: u32, extra: &str) -> CommerceHandle {
    let from = "stock_policy = { kind = \"preorder\", release_date = \"2027-03-15\", cap = 500 }";
    assert!(DEMO.contains(from), "the demo's preorder");
    let text = DEMO.replace(from, &format!("{from}{extra}").replace("cap = 500", &format!("cap = {cap}")));
    let commerce = Commerce::from_toml(&text, KNOWN_GATEWAYS).expect("valid");
    CommerceHandle::start(commerce, Clock::starting_at(START))
}

/// Fills `carts` carts at once, each with one unit of the preorder: every line is sent
/// before the first answer is read (actix enqueues a message when it is sent). The units
/// held.
async fn race(handle: &CommerceHandle, carts: usize) -> u32 {
    let mut ids = Vec::new();
    for _ in 0..carts {
        ids.push(open(handle).await);
    }
    let sent: Vec<_> = ids
        .iter()
        .map(|cart| {
            let addr = handle.carts().get(cart).expect("an open cart");
            addr.send(AddLine { sku: PREORDER.into(), quantity: 1, answering: Answering::Durable })
        })
        .collect();
    let mut held = 0;
    for answer in sent {
        if answer.await.expect("running").is_ok() {
            held += 1;
        }
    }
    held
}

async fn stocks(handle: &CommerceHandle) -> Vec<WarehouseStock> {
    let mut all = Vec::new();
    for code in ["wh-madrid", "wh-dropship", "wh-lyon"] {
        let addr = handle.warehouses().get(code).expect("a warehouse");
        all.push(addr.send(CopyState).await.expect("running"));
    }
    all
}

fn preorders(stocks: &[WarehouseStock]) -> Vec<u64> {
    stocks.iter().map(|s| s.record(PREORDER).map_or(0, |r| r.preorder.total())).collect()
}

// Proves a product's cap is shared: carts filling at once from the two Iberian warehouses
// that offer the preorder hold exactly its cap in all (each warehouse sold up to the cap
// on its own: twice as many), the units spread over both, and the invariant holds across
// them. Letting units go gives them back to the commerce's budget, wherever they were.
#[actix_rt::test]
async fn a_products_cap_is_one_budget_for_every_warehouse() {
    let handle = capped(30, "");
    // Madrid takes what the budget gives first; the rest of the carts find nothing left,
    // in Madrid or in the drop-ship warehouse behind it.
    assert_eq!(race(&handle, 100).await, 30);
    let all = stocks(&handle).await;
    assert_eq!(preorders(&all).iter().sum::<u64>(), 30, "{:?}", preorders(&all));
    let with_cap = |cap: u32| {
        let text = DEMO.replace(
            "release_date = \"2027-03-15\", cap = 500",
            &format!("release_date = \"2027-03-15\", cap = {cap}"),
        );
        Commerce::from_toml(&text, KNOWN_GATEWAYS).expect("valid")
    };
    assert_eq!(check_shared_caps(&with_cap(30), &all), Vec::<String>::new());
    assert_eq!(check_shared_caps(&with_cap(29), &all).len(), 1, "the check sees one unit over");
}

// Proves a warehouse with an override of its own keeps its own cap: the drop-ship
// warehouse's lead-time override sells apart from the product's preorder budget.
#[actix_rt::test]
async fn an_override_keeps_its_own_cap() {
    let handle = capped(
        10,
        "\nstock_policy_overrides = { wh-dropship = { kind = \"preorder\", release_date = \"2027-03-15\", cap = 5 } }",
    );
    assert_eq!(race(&handle, 40).await, 15, "10 from the shared budget, 5 from the override");
    let all = stocks(&handle).await;
    assert_eq!(preorders(&all), vec![10, 5, 0]);
}
