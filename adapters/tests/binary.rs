//! The `mercato` binary itself: `check` on good and bad files, and `serve` answering over
//! a real socket with its flags and environment overrides.

mod support;

use std::process::{Command, Output};

use support::{free_port, http, serve, temp_dir, BIN};

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("mercato runs")
}

fn demo_path() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo.toml").to_owned()
}

// Proves `check` on an empty file exits 1 naming every missing entity kind.
#[test]
fn check_empty_file_names_every_missing_kind() {
    let dir = temp_dir("check-empty");
    let empty = dir.join("empty.toml");
    std::fs::write(&empty, "").expect("write");
    let output = run(&["check", empty.to_str().expect("utf-8 path")]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for kind in [
        "language",
        "currency",
        "country",
        "domain",
        "channel",
        "invoicing company",
        "warehouse",
        "logistic center",
        "payment system",
        "carrier",
        "product",
        "super-administrator user",
    ] {
        assert!(stdout.contains(&format!("at least one {kind} is required")), "{kind} missing from:\n{stdout}");
    }
}

// Proves `check` accepts the demo with a one-line summary, and refuses a missing file or
// two files that configure the same commerce.
#[test]
fn check_demo_and_node_rules() {
    let output = run(&["check", &demo_path()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("ok: commerce \"demo\""), "{stdout}");

    let output = run(&["check", "/nonexistent/mercato.toml"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("cannot read"));

    let output = run(&["check", &demo_path(), &demo_path()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("configured twice"));
}

// Proves `mercato` with no arguments but flags serves the embedded demo: readiness, a
// resolved context for the storefront key, 401 without one; and it creates its data folder.
#[test]
fn serves_the_embedded_demo() {
    let dir = temp_dir("serve");
    let data = dir.join("data");
    let address = free_port();
    let _served = serve(address, |command| {
        command
            .args(["--listen", &address.to_string(), "--data", data.to_str().expect("utf-8")])
            .env_remove("MERCATO_CONFIG");
    });
    assert!(data.is_dir());
    let context = r#"{"country":"ES","device":"mobile"}"#;
    let (status, body) =
        http(address, "POST", "/v1/commerces/demo/context", Some("demo-storefront"), context).expect("answer");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""channel":"mobile""#), "{body}");
    let (status, body) = http(address, "POST", "/v1/commerces/demo/context", None, context).expect("answer");
    assert_eq!(status, 401, "{body}");
    let (status, _) = http(address, "GET", "/healthz", None, "").expect("answer");
    assert_eq!(status, 200);
}

// Proves the environment overrides: MERCATO_CONFIG, MERCATO_LISTEN and MERCATO_DATA.
#[test]
fn environment_overrides() {
    let dir = temp_dir("env");
    let config = dir.join("shop.toml");
    let demo = std::fs::read_to_string(demo_path()).expect("demo");
    std::fs::write(&config, demo.replacen("code = \"demo\"", "code = \"shop\"", 1)).expect("write");
    let data = dir.join("state");
    let address = free_port();
    let _served = serve(address, |command| {
        command.env("MERCATO_CONFIG", &config).env("MERCATO_LISTEN", address.to_string()).env("MERCATO_DATA", &data);
    });
    assert!(data.is_dir());
    let (status, body) =
        http(address, "POST", "/v1/commerces/shop/context", Some("demo-admin"), r#"{"country":"PT"}"#).expect("answer");
    assert_eq!(status, 200, "{body}");
    let (status, _) = http(address, "POST", "/v1/commerces/demo/context", Some("demo-admin"), "{}").expect("answer");
    assert_eq!(status, 404);
}

// Proves a bad configuration stops the server at start with the violation, before
// listening.
#[test]
fn refuses_to_serve_a_bad_config() {
    let dir = temp_dir("bad");
    let config = dir.join("bad.toml");
    std::fs::write(&config, "code = \"bad\"\n").expect("write");
    let output = Command::new(BIN)
        .args(["--config", config.to_str().expect("utf-8"), "--listen", &free_port().to_string()])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("at least one language is required"));
}

// Proves open carts survive a clean stop (SIGTERM) and restart: the last snapshot holds
// them with their lines, even though they were created from HTTP worker threads that stop
// before it is taken.
#[test]
fn open_carts_survive_a_clean_restart() {
    let dir = temp_dir("clean-restart");
    let data = dir.join("data");
    let start = |address: std::net::SocketAddr| {
        serve(address, |command| {
            command.args(["--listen", &address.to_string(), "--data", data.to_str().expect("utf-8")]);
            command.env_remove("MERCATO_CONFIG");
        })
    };
    let address = free_port();
    let served = start(address);
    let receipt = r#"{"sku": "KEYBOARD", "quantity": 5}"#;
    let stock = "/v1/commerces/demo/warehouses/wh-madrid/receipts";
    assert_eq!(http(address, "POST", stock, Some("demo-admin"), receipt).map(|r| r.0), Some(201));
    let (status, body) =
        http(address, "POST", "/v1/commerces/demo/carts", Some("demo-storefront"), r#"{"country": "ES"}"#)
            .expect("an answer");
    assert_eq!(status, 201, "{body}");
    let cart: serde_json::Value = serde_json::from_str(&body).expect("json");
    let path = format!("/v1/commerces/demo/carts/{}", cart["id"].as_str().expect("an id"));
    let line = r#"{"sku": "KEYBOARD", "qty": 2}"#;
    let (status, body) =
        http(address, "POST", &format!("{path}/lines"), Some("demo-storefront"), line).expect("an answer");
    assert_eq!(status, 201, "{body}");
    let pid = served.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let mut served = served;
    let _ = served.0.wait();

    let address = free_port();
    let _served = start(address);
    let (status, body) = http(address, "GET", &path, Some("demo-storefront"), "").expect("an answer");
    assert_eq!(status, 200, "the cart came back: {body}");
    let cart: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(cart["lines"][0]["quantity"], 2, "{cart}");
}

// Proves a cart checked out before a crash still answers after the restart, as checked out
// with its order, until its own time ends (it came back from the log as `unknown_cart`),
// and the order is in the back office's list again.
#[test]
fn a_checked_out_cart_answers_after_a_crash() {
    let dir = temp_dir("checked-out-crash");
    let data = dir.join("data");
    let start = |address: std::net::SocketAddr| {
        serve(address, |command| {
            command.args(["--listen", &address.to_string(), "--data", data.to_str().expect("utf-8")]);
            command.env_remove("MERCATO_CONFIG");
        })
    };
    let address = free_port();
    let mut served = start(address);
    let call = |address, method: &str, path: &str, body: &str| {
        let (status, body) = http(address, method, path, Some("demo-storefront"), body).expect("an answer");
        (status, serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default())
    };
    let receipt = r#"{"sku": "KEYBOARD", "quantity": 5}"#;
    let stock = "/v1/commerces/demo/warehouses/wh-madrid/receipts";
    assert_eq!(http(address, "POST", stock, Some("demo-admin"), receipt).map(|r| r.0), Some(201));
    let (status, cart) = call(address, "POST", "/v1/commerces/demo/carts", r#"{"country": "ES"}"#);
    assert_eq!(status, 201, "{cart}");
    let path = format!("/v1/commerces/demo/carts/{}", cart["id"].as_str().expect("an id"));
    let address_body = r#"{"name": "Ana", "line": "Gran Vía 1", "city": "Madrid", "region": "MD", "postal_code": "28013", "country": "ES"}"#;
    for (method, step, body) in [
        ("POST", "lines", r#"{"sku": "KEYBOARD", "qty": 2}"#),
        ("PUT", "address", address_body),
        ("PUT", "delivery", r#"{"method": "home"}"#),
    ] {
        let (status, body) = call(address, method, &format!("{path}/{step}"), body);
        assert!(status == 200 || status == 201, "{step}: {status} {body}");
    }
    let checkout = r#"{"payment_system": "card", "payment_token": "tok_visa"}"#;
    let (status, order) = call(address, "POST", &format!("{path}/checkout"), checkout);
    assert_eq!(status, 201, "{order}");
    let (status, before) = call(address, "GET", &path, "");
    assert_eq!((status, before["status"].as_str()), (200, Some("checked_out")), "{before}");
    let _ = served.0.kill();
    let _ = served.0.wait();

    let address = free_port();
    let _served = start(address);
    let (status, after) = call(address, "GET", &path, "");
    assert_eq!(status, 200, "the checked-out cart came back: {after}");
    assert_eq!(after, before, "as it was before the crash");
    assert_eq!(after["order"], order["id"], "{after}");
    let (status, list) = http(address, "GET", "/v1/commerces/demo/orders", Some("demo-admin"), "").expect("an answer");
    let list: serde_json::Value = serde_json::from_str(&list).unwrap_or_default();
    assert_eq!((status, &list["orders"][0]["id"]), (200, &order["id"]), "the order is listed after the crash: {list}");
}

// Proves HEAD over a real socket: the GET's status and length, and no body.
#[test]
fn head_answers_without_a_body() {
    let dir = temp_dir("head");
    let address = free_port();
    let _served = serve(address, |command| {
        command.args(["--listen", &address.to_string(), "--data", dir.join("data").to_str().expect("utf-8")]);
        command.env_remove("MERCATO_CONFIG");
    });
    let (status, body) = http(address, "GET", "/openapi.json", None, "").expect("an answer");
    assert_eq!(status, 200);
    let (status, empty) = http(address, "HEAD", "/openapi.json", None, "").expect("an answer");
    assert_eq!((status, empty.as_str()), (200, ""), "no body on HEAD");
    assert!(!body.is_empty());
}

// Proves the demo can be bought from at once: a fresh data folder starts with the demo's
// opening stock, the README's one-request purchase succeeds without a receipt, and a
// restart on the same folder does not receive the opening stock again.
#[test]
fn a_fresh_node_sells_its_opening_stock_once() {
    let dir = temp_dir("opening-stock");
    let data = dir.join("data");
    let start = |address: std::net::SocketAddr| {
        serve(address, |command| {
            command.args(["--listen", &address.to_string(), "--data", data.to_str().expect("utf-8")]);
            command.env_remove("MERCATO_CONFIG");
        })
    };
    let stock = "/v1/commerces/demo/warehouses/wh-madrid/stock/KEYBOARD";
    let on_hand = |address| {
        let (status, body) = http(address, "GET", stock, Some("demo-admin"), "").expect("an answer");
        assert_eq!(status, 200, "{body}");
        let stock: serde_json::Value = serde_json::from_str(&body).expect("json");
        (stock["on_hand"].as_u64(), stock["allocated"].as_u64())
    };
    let address = free_port();
    let mut served = start(address);
    assert_eq!(on_hand(address), (Some(25), Some(0)), "the demo's opening stock");
    let order = r#"{"cart": {"country": "ES", "lines": [{"sku": "KEYBOARD", "qty": 1}],
        "address": {"name": "Ana García", "line": "Gran Vía 1", "city": "Madrid", "postal_code": "28013", "country": "ES"},
        "delivery": {"method": "home"}},
        "checkout": {"payment_system": "card", "payment_token": "tok_visa"}}"#;
    let (status, body) =
        http(address, "POST", "/v1/commerces/demo/orders", Some("demo-storefront"), order).expect("an answer");
    assert_eq!(status, 201, "the first purchase works: {body}");
    let _ = served.0.kill();
    let _ = served.0.wait();

    let address = free_port();
    let _served = start(address);
    assert_eq!(on_hand(address), (Some(25), Some(1)), "received once, not again at the restart");
}

// Proves opening stock is checked like the rest of the file: an undefined warehouse or
// SKU, a quantity of 0 and a repeated entry are each named.
#[test]
fn opening_stock_is_validated() {
    let dir = temp_dir("opening-stock-check");
    let demo = std::fs::read_to_string(demo_path()).expect("demo");
    let bad = format!(
        "{demo}\n[[opening_stock]]\nwarehouse = \"wh-nowhere\"\nsku = \"KEYBOARD\"\nquantity = 1\n\n\
         [[opening_stock]]\nwarehouse = \"wh-madrid\"\nsku = \"NO-SUCH-SKU\"\nquantity = 1\n\n\
         [[opening_stock]]\nwarehouse = \"wh-madrid\"\nsku = \"HEADPHONES\"\nquantity = 0\n\n\
         [[opening_stock]]\nwarehouse = \"wh-madrid\"\nsku = \"KEYBOARD\"\nquantity = 3\n"
    );
    let path = dir.join("bad.toml");
    std::fs::write(&path, bad).expect("written");
    let output = run(&["check", path.to_str().expect("utf-8")]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    for expected in [
        "warehouse \"wh-nowhere\" is not defined",
        "product \"NO-SUCH-SKU\" is not defined",
        "quantity 0 must be between 1 and 1000000",
        "the warehouse and SKU appear twice in opening_stock",
    ] {
        assert!(stdout.contains(expected), "{expected} missing from:\n{stdout}");
    }
}

// Proves a request body that stalls halfway is cut within a bounded time: 408
// `body_timeout` after about `REQUEST_BODY_TIMEOUT`, and nothing changes.
#[test]
fn a_stalled_body_is_cut() {
    use std::io::{Read, Write};
    let dir = temp_dir("stalled-body");
    let address = free_port();
    let _served = serve(address, |command| {
        command.args(["--listen", &address.to_string(), "--data", dir.join("data").to_str().expect("utf-8")]);
        command.env_remove("MERCATO_CONFIG");
    });
    let mut stream = std::net::TcpStream::connect(address).expect("connects");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(20))).expect("a timeout");
    let head = "POST /v1/commerces/demo/warehouses/wh-madrid/receipts HTTP/1.1\r\nHost: localhost\r\n\
                Authorization: Bearer demo-admin\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";
    stream.write_all(head.as_bytes()).expect("written");
    stream.write_all(br#"{"sku": "KEYBOARD", "qua"#).expect("written");
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("body_timeout") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(read) => answer.extend_from_slice(&chunk[..read]),
        }
    }
    let elapsed = started.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout"), "{answer}");
    let bound = mercato_adapters::http::body::REQUEST_BODY_TIMEOUT;
    assert!(elapsed >= bound - std::time::Duration::from_millis(500) && elapsed < bound * 2, "{elapsed:?}");
    let stock = "/v1/commerces/demo/warehouses/wh-madrid/stock/KEYBOARD";
    let (_, body) = http(address, "GET", stock, Some("demo-admin"), "").expect("an answer");
    assert!(body.contains("\"on_hand\":25"), "only the opening stock: {body}");
}
