//! Helpers shared by the tests that run the `mercato` binary over a real socket.
#![allow(dead_code)]

pub mod api;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_mercato");

/// A fresh folder for one test, removed with everything in it when dropped.
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("mercato-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    TempDir(dir)
}

/// A port nothing listens on, never one this test process handed out before: the system
/// may give a port back as soon as it is freed, and two tests of one binary starting
/// servers on the same port would talk to each other's node.
pub fn free_port() -> SocketAddr {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        let mut given = GIVEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !given.contains(&address.port()) {
            given.push(address.port());
            return address;
        }
    }
}

/// A served process, killed when dropped.
pub struct Served(pub Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A minimal HTTP/1.1 client: the binary is tested over a real socket without pulling an
/// HTTP client into the build.
pub fn http(address: SocketAddr, method: &str, path: &str, key: Option<&str>, body: &str) -> Option<(u16, String)> {
    http_keyed(address, method, path, key, None, body)
}

/// `http` with an `Idempotency-Key`.
pub fn http_keyed(
    address: SocketAddr,
    method: &str,
    path: &str,
    key: Option<&str>,
    idempotency: Option<&str>,
    body: &str,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let auth = key.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    let idempotency = idempotency.map(|k| format!("Idempotency-Key: {k}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}{idempotency}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}

/// Starts `mercato` as `configure` sets it up, with output discarded, and waits until it
/// is ready on `address`.
pub fn serve(address: SocketAddr, configure: impl FnOnce(&mut Command)) -> Served {
    let mut command = Command::new(BIN);
    command.stdout(Stdio::null()).stderr(Stdio::null());
    configure(&mut command);
    let served = Served(command.spawn().expect("spawn"));
    wait_ready(address);
    served
}

/// Starts `mercato` on one configuration file and data folder, with `extra` arguments
/// after them, and waits until it is ready.
pub fn serve_on(address: SocketAddr, config: &std::path::Path, data: &std::path::Path, extra: &[&str]) -> Served {
    serve(address, |command| {
        command.arg("--config").arg(config).arg("--listen").arg(address.to_string()).arg("--data").arg(data);
        command.args(extra);
    })
}

pub fn wait_ready(address: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some((200, _)) = http(address, "GET", "/readyz", None, "") {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server on {address} not ready in time");
}

/// A storefront's purchase in one request (`POST …/orders`: a cart created whole, sent to
/// Madrid by home delivery, checked out by card) of `qty` units of `sku` in the demo
/// commerce: the order it made (201), or a panic naming the answer.
pub fn buy_demo(address: SocketAddr, sku: &str, qty: u32) -> serde_json::Value {
    let purchase = serde_json::json!({
        "cart": {"country": "ES", "lines": [{"sku": sku, "qty": qty}],
                 "address": {"name": "Ana García", "line": "Gran Vía 1", "city": "Madrid",
                             "postal_code": "28013", "country": "ES"},
                 "delivery": {"method": "home"}},
        "checkout": {"payment_system": "card", "payment_token": "tok_visa"}});
    let answer = http(address, "POST", "/v1/commerces/demo/orders", Some("demo-storefront"), &purchase.to_string());
    let (status, text) = answer.expect("an answer");
    assert_eq!(status, 201, "{text}");
    serde_json::from_str(&text).expect("an order")
}

/// Stops a served process with SIGTERM (a clean stop: the shutdown snapshot is taken) and
/// waits for it to end.
pub fn stop_cleanly(mut served: Served) {
    let pid = served.0.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = served.0.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not stop on SIGTERM");
}

/// The demo's configuration with `line` added after its `merchant_terms_version`, written
/// to `name` in `dir`: a commerce setting of a test's own.
pub fn demo_with(dir: &std::path::Path, name: &str, line: &str) -> PathBuf {
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo.toml")).expect("the demo");
    let anchor = "merchant_terms_version = \"2026-01\"";
    let file = dir.join(name);
    std::fs::write(&file, demo.replacen(anchor, &format!("{anchor}\n{line}"), 1)).expect("written");
    file
}

/// Orders archived since the node on `address` started (its metrics).
pub fn archived_total(address: SocketAddr) -> u64 {
    let (_, text) = http(address, "GET", "/metrics", None, "").expect("metrics");
    text.lines()
        .find(|l| l.starts_with("mercato_archive_orders_total"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0)
}
