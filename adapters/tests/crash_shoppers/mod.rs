//! The crash test's shoppers and the model of their carts: each cart with what it was
//! acknowledged to hold and to last until, the requests a kill left open and how they
//! settle, and the check of every cart against the server after a restart.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::support::{http, http_keyed};

pub const CARTS: &str = "/v1/commerces/demo/carts";

pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|error| panic!("{error}: {body}"))
}

/// A shopper's request whose answer never came.
#[derive(Debug, Clone)]
pub enum Open {
    Create { key: String },
    Add { cart: String, key: String, quantity: u64 },
    Remove { cart: String },
    Touch { cart: String },
    Checkout { cart: String, key: String, quantity: u64 },
}

/// An acknowledged order: its cart, the checkout's key and the mice it holds.
#[derive(Debug, Clone)]
pub struct Placed {
    pub cart: String,
    pub key: String,
    pub quantity: u64,
}

/// What the model knows of a cart: the mice it was acknowledged to hold (none: no line),
/// and the latest time it was acknowledged to last until (Unix milliseconds). The server
/// may only have moved that time later (a renewal whose answer was lost), never earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    pub mice: Option<u64>,
    pub expires_at: i64,
}

/// What one shopper saw: each cart it touched as it was acknowledged to be, the carts it
/// found expired, and the request left without an answer.
pub struct Shopped {
    pub carts: Vec<(String, Kept)>,
    pub expired: Vec<String>,
    pub open: Option<Open>,
    /// The last line it was acknowledged to add: (cart, key, quantity).
    pub added: Option<(String, String, u64)>,
    /// Orders acknowledged, by id.
    pub orders: Vec<(String, Placed)>,
}

pub const ADDRESS: &str = r#"{"name": "Ana", "line": "Gran Vía 1", "city": "Madrid", "region": "MD", "postal_code": "28013", "country": "ES"}"#;

/// The Unix milliseconds of a cart answer's `expires_at`.
pub fn expires_ms(cart: &serde_json::Value) -> i64 {
    let text = cart["expires_at"].as_str().unwrap_or_else(|| panic!("a cart with its time: {cart}"));
    chrono::DateTime::parse_from_rfc3339(text).expect("RFC 3339").timestamp_millis()
}

/// The wall clock in Unix milliseconds (the server's clock is the same machine's).
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
    i64::try_from(since.as_millis()).expect("in range")
}

/// What a change of a cart came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    /// Done (or done before and answered again), the cart lasting until then.
    Done(Option<i64>),
    /// The stock ran out: nothing held.
    Short,
    /// The cart's time ended first.
    Expired,
}

/// Reads a cart change's answer: 5xx (or none) is an open outcome.
pub fn changed(status: u16, answer: &str, what: &str) -> Option<Result<Changed, u16>> {
    match status {
        200 | 201 => {
            let body = json(answer);
            let cart = if body.get("cart").is_some() { &body["cart"] } else { &body };
            Some(Ok(Changed::Done(Some(expires_ms(cart)))))
        }
        409 if answer.contains("insufficient_stock") => Some(Ok(Changed::Short)),
        409 if answer.contains("cart_expired") => Some(Ok(Changed::Expired)),
        // A cart forgotten a lifetime after it expired.
        404 if answer.contains("unknown_cart\"") => Some(Ok(Changed::Expired)),
        status if status >= 500 => Some(Err(status)),
        status => panic!("{what}: {status} {answer}"),
    }
}

/// Checks a cart out: its address and delivery, then checkout with `key`. The order's id,
/// none when the cart's time ended first, or the 5xx status (or none: no answer) of the
/// step that failed.
pub fn checkout(address: SocketAddr, cart: &str, key: &str) -> Option<Result<Option<String>, u16>> {
    for (path, body) in [("address", ADDRESS), ("delivery", r#"{"method": "home"}"#)] {
        let (status, answer) = http(address, "PUT", &format!("{CARTS}/{cart}/{path}"), Some("demo-storefront"), body)?;
        match status {
            200 => {}
            // Checked out already (the retry of a checkout whose answer was lost), or its
            // time ended: the checkout with its key says which.
            404 | 409
                if answer.contains("unknown_cart")
                    || answer.contains("cart_closed")
                    || answer.contains("cart_expired") =>
            {
                break
            }
            status if status >= 500 => return Some(Err(status)),
            status => panic!("{path} of cart {cart}: {status} {answer}"),
        }
    }
    let path = format!("{CARTS}/{cart}/checkout");
    let body = r#"{"payment_system": "card", "payment_token": "tok_visa"}"#;
    let (status, answer) = http_keyed(address, "POST", &path, Some("demo-storefront"), Some(key), body)?;
    match status {
        201 => Some(Ok(Some(json(&answer)["id"].as_str().expect("an order id").to_owned()))),
        404 | 409 if answer.contains("unknown_cart") || answer.contains("cart_expired") => Some(Ok(None)),
        status if status >= 500 => Some(Err(status)),
        status => panic!("checkout {key} of cart {cart}: {status} {answer}"),
    }
}

/// The mice an order holds, read back.
pub fn order_units(address: SocketAddr, order: &str) -> u64 {
    let path = format!("/v1/commerces/demo/orders/{order}");
    let (status, body) = http(address, "GET", &path, Some("demo-storefront"), "").expect("an answer");
    assert_eq!(status, 200, "order {order}: {body}");
    json(&body)["lines"].as_array().expect("lines").iter().map(|l| l["quantity"].as_u64().expect("a quantity")).sum()
}

/// Creates a cart: its id and time, or the 5xx status.
pub fn create_cart(address: SocketAddr, key: &str) -> Option<Result<(String, i64), u16>> {
    let (status, body) =
        http_keyed(address, "POST", CARTS, Some("demo-storefront"), Some(key), r#"{"country": "ES"}"#)?;
    match status {
        201 => {
            let cart = json(&body);
            Some(Ok((cart["id"].as_str().expect("a cart id").to_owned(), expires_ms(&cart))))
        }
        status if status >= 500 => Some(Err(status)),
        status => panic!("cart {key} refused: {status} {body}"),
    }
}

/// Adds `quantity` mice.
pub fn add_line(address: SocketAddr, cart: &str, key: &str, quantity: u64) -> Option<Result<Changed, u16>> {
    let path = format!("{CARTS}/{cart}/lines");
    let body = format!(r#"{{"sku": "MOUSE", "qty": {quantity}}}"#);
    let (status, answer) = http_keyed(address, "POST", &path, Some("demo-storefront"), Some(key), &body)?;
    changed(status, &answer, &format!("line {key}"))
}

/// Removes the cart's line (gone already counts as done, its time unknown).
pub fn remove_line(address: SocketAddr, cart: &str) -> Option<Result<Changed, u16>> {
    let path = format!("{CARTS}/{cart}/lines/l1");
    let (status, body) = http(address, "DELETE", &path, Some("demo-storefront"), "")?;
    if status == 404 && body.contains("unknown_cart_line") {
        return Some(Ok(Changed::Done(None)));
    }
    changed(status, &body, &format!("removing {path}"))
}

/// Sets the cart's address again: a change that holds nothing new, and renews the cart
/// when a third of its time has passed.
pub fn touch(address: SocketAddr, cart: &str) -> Option<Result<Changed, u16>> {
    let path = format!("{CARTS}/{cart}/address");
    let (status, body) = http(address, "PUT", &path, Some("demo-storefront"), ADDRESS)?;
    changed(status, &body, &format!("address of {cart}"))
}

/// Folds a change's outcome into what the model keeps of `cart`: its time moves later on
/// an answer; an expired cart goes to `expired`.
pub fn note(shopped: &mut Shopped, cart: &str, kept: Kept, outcome: Changed) {
    match outcome {
        Changed::Expired => shopped.expired.push(cart.to_owned()),
        Changed::Done(at) => {
            let expires_at = at.map_or(kept.expires_at, |at| at.max(kept.expires_at));
            shopped.carts.push((cart.to_owned(), Kept { expires_at, ..kept }));
        }
        Changed::Short => shopped.carts.push((cart.to_owned(), Kept { mice: None, ..kept })),
    }
}

/// First sets the address of each cart of `revisit` again (renewing those a third of whose
/// time has passed), then creates carts one after another, adds one or two mice to each,
/// checks every fourth out and removes every other line again, until `stop`.
pub fn shopper(
    address: SocketAddr,
    cycle: usize,
    id: u64,
    revisit: Vec<(String, Kept)>,
    stop: Arc<AtomicBool>,
) -> Shopped {
    let mut shopped = Shopped { carts: Vec::new(), expired: Vec::new(), open: None, added: None, orders: Vec::new() };
    for (cart, kept) in revisit {
        match touch(address, &cart) {
            Some(Ok(outcome)) => note(&mut shopped, &cart, kept, outcome),
            _ => {
                shopped.carts.push((cart.clone(), kept));
                shopped.open = Some(Open::Touch { cart });
                return shopped;
            }
        }
    }
    let mut turn = 0u64;
    while !stop.load(Ordering::Relaxed) {
        turn += 1;
        let key = format!("s{cycle}-{id}-{turn}");
        let (cart, expires_at) = match create_cart(address, &key) {
            Some(Ok(created)) => created,
            _ => {
                shopped.open = Some(Open::Create { key });
                break;
            }
        };
        let quantity = 1 + turn % 2;
        let empty = Kept { mice: None, expires_at };
        let line_key = format!("{key}-l");
        let held = match add_line(address, &cart, &line_key, quantity) {
            Some(Ok(Changed::Done(at))) => Kept { mice: Some(quantity), expires_at: at.unwrap_or(expires_at) },
            Some(Ok(Changed::Short)) => empty,
            // Its whole lifetime passed before the line (a machine under load): the server
            // must say so only once its time is over.
            Some(Ok(Changed::Expired)) => {
                assert!(now_ms() >= expires_at, "cart {cart} expired before its time");
                shopped.expired.push(cart);
                continue;
            }
            _ => {
                shopped.carts.push((cart.clone(), empty));
                shopped.open = Some(Open::Add { cart, key: line_key, quantity });
                break;
            }
        };
        if held.mice.is_some() {
            shopped.added = Some((cart.clone(), line_key, quantity));
        }
        if let (Some(quantity), 1) = (held.mice, turn % 4) {
            let key = format!("{key}-o");
            shopped.added = None;
            match checkout(address, &cart, &key) {
                Some(Ok(Some(order))) => {
                    shopped.orders.push((order, Placed { cart, key, quantity }));
                    continue;
                }
                Some(Ok(None)) => {
                    assert!(now_ms() >= held.expires_at, "cart {cart} expired before its time");
                    shopped.expired.push(cart);
                    continue;
                }
                _ => {
                    shopped.carts.push((cart.clone(), held));
                    shopped.open = Some(Open::Checkout { cart, key, quantity });
                    break;
                }
            }
        }
        if held.mice.is_some() && turn.is_multiple_of(2) {
            match remove_line(address, &cart) {
                Some(Ok(outcome)) => note(&mut shopped, &cart, Kept { mice: None, ..held }, outcome),
                _ => {
                    shopped.carts.push((cart.clone(), held));
                    shopped.open = Some(Open::Remove { cart });
                    break;
                }
            }
        } else {
            shopped.carts.push((cart, held));
        }
    }
    shopped
}

/// Settles a shopper's open request after a restart by retrying it: the cart with what the
/// model now keeps of it, or none when its time ended (an open checkout is settled apart).
pub fn settle(address: SocketAddr, open: Open, carts: &BTreeMap<String, Kept>) -> Option<(String, Kept)> {
    let retried = |cart: &str, outcome: Option<Result<Changed, u16>>, kept: Kept| match outcome
        .expect("an answer")
        .unwrap_or_else(|status| panic!("retry on {cart}: {status}"))
    {
        Changed::Expired => None,
        Changed::Done(at) => Some((cart.to_owned(), Kept { expires_at: at.unwrap_or(0).max(kept.expires_at), ..kept })),
        Changed::Short => Some((cart.to_owned(), Kept { mice: None, ..kept })),
    };
    match open {
        Open::Checkout { .. } => unreachable!("checkouts settle apart"),
        Open::Create { key } => {
            let (cart, expires_at) = create_cart(address, &key).expect("an answer").expect("created");
            Some((cart, Kept { mice: None, expires_at }))
        }
        Open::Add { cart, key, quantity } => {
            let kept = carts[&cart];
            retried(&cart, add_line(address, &cart, &key, quantity), Kept { mice: Some(quantity), ..kept })
        }
        Open::Remove { cart } => {
            let kept = carts[&cart];
            retried(&cart, remove_line(address, &cart), Kept { mice: None, ..kept })
        }
        Open::Touch { cart } => {
            let kept = carts[&cart];
            retried(&cart, touch(address, &cart), kept)
        }
    }
}

/// A cart as the server shows it: its status, its time and the mice of its one line at
/// most (more is a retried line added twice).
pub fn cart_state(address: SocketAddr, cart: &str) -> Option<(String, i64, Option<u64>)> {
    let (status, body) =
        http(address, "GET", &format!("{CARTS}/{cart}"), Some("demo-storefront"), "").expect("an answer");
    if status == 404 && body.contains("unknown_cart\"") {
        return None;
    }
    assert_eq!(status, 200, "cart {cart}: {body}");
    let cart_json = json(&body);
    let lines = cart_json["lines"].as_array().cloned().expect("lines");
    assert!(lines.len() <= 1, "cart {cart} has {} lines: a retried line was added twice: {body}", lines.len());
    let mice = lines.first().map(|line| line["quantity"].as_u64().expect("a quantity"));
    Some((cart_json["status"].as_str().expect("a status").to_owned(), expires_ms(&cart_json), mice))
}

/// Checks every cart of the model against the server, after the warehouse's reserved
/// mice were read at `read_at`: a cart open until after then holds what it was
/// acknowledged to hold, and never ends before the last time it was acknowledged to last
/// until; a cart whose time ended is dropped from the model. The mice the carts open at
/// `read_at` hold (all of them must be among the warehouse's reserved ones).
pub fn check_carts(address: SocketAddr, cycle: usize, carts: &mut BTreeMap<String, Kept>, read_at: i64) -> u64 {
    let mut in_carts = 0;
    let ids: Vec<String> = carts.keys().cloned().collect();
    for id in ids {
        let kept = carts[&id];
        let Some((status, expires_at, mice)) = cart_state(address, &id) else {
            assert!(now_ms() >= kept.expires_at, "cycle {cycle}: cart {id} forgotten before its time");
            carts.remove(&id);
            continue;
        };
        assert!(expires_at >= kept.expires_at, "cycle {cycle}: cart {id} ends before its acknowledged time");
        if status == "expired" || expires_at <= now_ms() {
            carts.remove(&id);
            continue;
        }
        assert_eq!(status, "open", "cycle {cycle}: cart {id}");
        assert_eq!(mice, kept.mice, "cycle {cycle}: cart {id} after the restart");
        carts.insert(id, Kept { expires_at, ..kept });
        if expires_at > read_at {
            in_carts += mice.unwrap_or(0);
        }
    }
    in_carts
}
