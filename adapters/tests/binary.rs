//! The `mercato` binary itself: `check` on good and bad files, and `serve` answering over
//! a real socket with its flags and environment overrides.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mercato");

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mercato-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

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

fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

/// A served process, killed when dropped.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A minimal HTTP/1.1 client: the binary is tested over a real socket without pulling an
/// HTTP client into the build.
fn http(address: SocketAddr, method: &str, path: &str, key: Option<&str>, body: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let auth = key.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
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
fn serve(address: SocketAddr, configure: impl FnOnce(&mut Command)) -> Served {
    let mut command = Command::new(BIN);
    command.stdout(Stdio::null()).stderr(Stdio::null());
    configure(&mut command);
    let served = Served(command.spawn().expect("spawn"));
    wait_ready(address);
    served
}

fn wait_ready(address: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some((200, _)) = http(address, "GET", "/readyz", None, "") {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server on {address} not ready in time");
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
