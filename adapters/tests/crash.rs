//! Crash test: the real binary takes stock receipts over HTTP from several clients, each
//! with its own `Idempotency-Key`, takes a snapshot every 100 ms, and is killed with
//! SIGKILL at a random moment, again and again. After each restart, every receipt left
//! without an answer is retried with its key and body, and then the stock on hand must be
//! exactly the sum of all answered receipts: nothing lost, nothing applied twice.
//!
//! `MERCATO_CRASH_CYCLES` sets the number of kills (20 by default; CI runs the default).

mod support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::{free_port, http, http_keyed, temp_dir, wait_ready, Served, BIN};

const CLIENTS: usize = 3;
const STOCK: &str = "/v1/commerces/demo/warehouses/wh-madrid/stock/KEYBOARD";
const RECEIPTS: &str = "/v1/commerces/demo/warehouses/wh-madrid/receipts";

/// A small deterministic generator, so a failing run can be repeated from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

fn on_hand(address: SocketAddr) -> u64 {
    let (status, body) = http(address, "GET", STOCK, Some("demo-admin"), "").expect("an answer");
    assert_eq!(status, 200, "{body}");
    let rest = body.split_once("\"on_hand\":").map(|(_, rest)| rest).expect("on_hand in the body");
    rest.chars().take_while(char::is_ascii_digit).collect::<String>().parse().expect("a number")
}

/// A receipt: its idempotency key and quantity.
#[derive(Debug, Clone)]
struct Receipt {
    key: String,
    quantity: u64,
}

/// Sends one receipt; its answer's status, or none when no answer came.
fn send(address: SocketAddr, receipt: &Receipt) -> Option<u16> {
    let body = format!(r#"{{"sku": "KEYBOARD", "quantity": {}}}"#, receipt.quantity);
    http_keyed(address, "POST", RECEIPTS, Some("demo-admin"), Some(&receipt.key), &body).map(|(status, body)| {
        assert!(status == 201 || status >= 500, "receipt {receipt:?} refused: {status} {body}");
        status
    })
}

/// What one client saw: the units acknowledged, and the receipt left without an answer.
struct Seen {
    acknowledged: u64,
    unanswered: Option<Receipt>,
}

/// Posts receipts one after another until `stop`; quantity 1 to 7 by turn.
fn client(address: SocketAddr, cycle: usize, id: u64, stop: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen { acknowledged: 0, unanswered: None };
    let mut turn = id;
    while !stop.load(Ordering::Relaxed) {
        let receipt = Receipt { key: format!("c{cycle}-{id}-{turn}"), quantity: 1 + turn % 7 };
        turn += 1;
        match send(address, &receipt) {
            Some(201) => seen.acknowledged += receipt.quantity,
            // No answer (the server died) or a 5xx: the receipt's fate is open.
            _ => {
                seen.unanswered = Some(receipt);
                break;
            }
        }
    }
    seen
}

/// Whether some subset of `unknown` sums to `extra`.
fn subset_sums_to(unknown: &[Receipt], extra: u64) -> bool {
    (0..1u32 << unknown.len()).any(|mask| {
        unknown.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, r)| r.quantity).sum::<u64>() == extra
    })
}

fn start(address: SocketAddr, data: &std::path::Path) -> Served {
    let child = Command::new(BIN)
        .args(["--listen", &address.to_string(), "--data", data.to_str().expect("utf-8")])
        // Snapshots (and the log deletions after them) run all through the kills.
        .args(["--snapshot-interval-ms", "100"])
        .env_remove("MERCATO_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let served = Served(child);
    wait_ready(address);
    served
}

// Proves an acknowledged change survives SIGKILL at any moment, and a change retried with
// its idempotency key after a kill is applied exactly once, across many kills and restarts
// on one data folder.
#[test]
fn receipts_survive_sigkill_and_retries_apply_once() {
    let cycles: usize = std::env::var("MERCATO_CRASH_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let dir = temp_dir("crash");
    let data = dir.join("data");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Units known to be there, and the receipts whose fate the last kill left open.
    let mut known = 0u64;
    let mut unknown: Vec<Receipt> = Vec::new();
    let mut retried = 0;
    for cycle in 0..=cycles {
        let address = free_port();
        let mut served = start(address, &data);
        let found = on_hand(address);
        let extra = found.checked_sub(known).unwrap_or_else(|| {
            panic!("cycle {cycle}: {found} units on hand, but {known} were acknowledged: a change was lost")
        });
        assert!(
            subset_sums_to(&unknown, extra),
            "cycle {cycle}: {extra} units beyond the acknowledged {known}, but only {unknown:?} were unanswered"
        );
        // Each open receipt, retried with its key, is applied now or replayed: once.
        for receipt in unknown.drain(..) {
            assert_eq!(send(address, &receipt), Some(201), "cycle {cycle}: retry of {receipt:?}");
            known += receipt.quantity;
            retried += 1;
        }
        assert_eq!(on_hand(address), known, "cycle {cycle}: after the retries, every receipt counts once");
        if cycle == cycles {
            break;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS as u64)
            .map(|id| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || client(address, cycle, id, stop))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(30 + rng.below(300)));
        served.0.kill().expect("SIGKILL");
        let _ = served.0.wait();
        stop.store(true, Ordering::Relaxed);
        for seen in clients.into_iter().map(|c| c.join().expect("a client")) {
            known += seen.acknowledged;
            unknown.extend(seen.unanswered);
        }
    }
    eprintln!("{cycles} kills; {known} units acknowledged in all; {retried} receipts retried after a kill");
    assert!(known > 0, "no receipt was ever acknowledged");
    let _ = std::fs::remove_dir_all(&dir);
}
