//! The live catalogue survives the node, through the binary, on a commerce other than the
//! demo (`data/atelier.toml`): products changed by the API come back after SIGKILL and
//! after a clean stop (from the log, then from the snapshot), with their whole history;
//! the file's products seed a fresh data folder only (a later edit of the file changes no
//! product); each change is an event; and a configuration whose settings would orphan a
//! product the log holds is refused at start, naming it.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{free_port, http, serve, stop_cleanly, temp_dir, Served};

const CONFIG: &str = include_str!("data/atelier.toml");
const ADMIN: &str = "atelier-admin";
const LOOM: &str = "atelier-loom";

fn start(address: SocketAddr, config: &Path, data: &Path) -> Served {
    serve(address, |command| {
        command.args(["--config", config.to_str().expect("utf-8"), "--listen", &address.to_string()]);
        command.args(["--data", data.to_str().expect("utf-8")]);
    })
}

fn call(address: SocketAddr, method: &str, path: &str, key: &str, body: Value) -> (u16, Value) {
    let path = format!("/v1/commerces/atelier{path}");
    let body = if body.is_null() { String::new() } else { body.to_string() };
    let (status, text) = http(address, method, &path, Some(key), &body).expect("an answer");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Every product's whole read and history, as the administrator sees them.
fn catalogue(address: SocketAddr) -> Vec<(Value, Value)> {
    let (status, page) = call(address, "GET", "/products?limit=500", ADMIN, Value::Null);
    assert_eq!(status, 200, "{page}");
    page["products"]
        .as_array()
        .expect("products")
        .iter()
        .map(|p| {
            let sku = p["sku"].as_str().expect("a sku");
            let (_, read) = call(address, "GET", &format!("/products/{sku}"), ADMIN, Value::Null);
            let (_, history) = call(address, "GET", &format!("/products/{sku}/history"), ADMIN, Value::Null);
            (read, history)
        })
        .collect()
}

fn product_events(address: SocketAddr, least: usize) -> Vec<(String, String, u64)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let types = "product.created,product.changed,product.retired";
        let (status, page) = call(address, "GET", &format!("/events?types={types}&limit=100"), ADMIN, Value::Null);
        assert_eq!(status, 200, "{page}");
        let events: Vec<_> = page["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| {
                let kind = e["type"].as_str().expect("a type").to_owned();
                (
                    kind,
                    e["aggregate"]["id"].as_str().expect("an id").to_owned(),
                    e["data"]["version"].as_u64().expect("a version"),
                )
            })
            .collect();
        if events.len() >= least || Instant::now() > deadline {
            return events;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// Proves catalogue changes are durable and the file seeds only a fresh folder: after
// SIGKILL every product reads and lists its history as acknowledged; after the file's own
// product is renamed in the file, the node still answers the log's; after a clean stop
// (the snapshot holds the catalogue) the same again; each change was told once as an
// event, in the product's order.
#[test]
fn catalogue_changes_survive_a_crash_and_a_restart_and_the_file_seeds_once() {
    let dir = temp_dir("catalog-durable");
    let (config, data) = (dir.join("atelier.toml"), dir.join("data"));
    std::fs::write(&config, CONFIG).expect("written");
    let address = free_port();
    let served = start(address, &config, &data);
    let lamp = json!({
        "names": {"en": "Desk lamp"}, "tax_class": "reduced", "weight_grams": 900,
        "shipping_class": "parcel", "prices": {"EUR": "89.00"}
    });
    assert_eq!(call(address, "PUT", "/products/LAMP", ADMIN, lamp).0, 201);
    assert_eq!(call(address, "PATCH", "/products/LAMP", ADMIN, json!({"names": {"de": "Lampe"}})).0, 200);
    assert_eq!(call(address, "DELETE", "/products/SCARF", LOOM, Value::Null).0, 200);
    assert_eq!(call(address, "POST", "/products/LAMP/revert", ADMIN, json!({"version": 1})).0, 200);
    let before = catalogue(address);
    let (_, p1) = call(address, "GET", "/products/P-1/history", ADMIN, Value::Null);
    assert_eq!(p1["versions"][0]["by"], "configuration", "the file's products are seeded through the log: {p1}");
    let events = product_events(address, 7);
    drop(served); // SIGKILL

    // The file's own product renamed: the log's catalogue is the one served.
    let edited = CONFIG.replace("Product one", "Renamed in the file");
    assert_ne!(edited, CONFIG);
    std::fs::write(&config, edited).expect("written");
    let served = start(address, &config, &data);
    assert_eq!(catalogue(address), before, "the catalogue after SIGKILL");
    let (_, p1) = call(address, "GET", "/products/P-1", ADMIN, Value::Null);
    assert_eq!(p1["names"]["en"], "Product one", "the file seeds a fresh folder only");
    stop_cleanly(served);

    let served = start(address, &config, &data);
    assert_eq!(catalogue(address), before, "the catalogue after a clean stop, from the snapshot");
    assert_eq!(product_events(address, 7), events, "no event told twice or lost");
    let kinds: Vec<(&str, &str, u64)> = events.iter().map(|(k, s, v)| (k.as_str(), s.as_str(), *v)).collect();
    for expected in [
        ("product.created", "LAMP", 1),
        ("product.changed", "LAMP", 2),
        ("product.retired", "SCARF", 2),
        ("product.changed", "LAMP", 3),
    ] {
        assert!(kinds.contains(&expected), "{expected:?} in {kinds:?}");
    }
    drop(served);

    // Settings that would orphan the log's data: the start is refused, naming it.
    let orphaning = CONFIG
        .replace(r#"tax_classes = ["standard", "reduced"]"#, r#"tax_classes = ["standard"]"#)
        .replace(r#", { name = "VAT", tax_class = "reduced", rate = "10" }"#, "");
    std::fs::write(&config, orphaning).expect("written");
    let output = Command::new(env!("CARGO_BIN_EXE_mercato"))
        .args(["--config", config.to_str().expect("utf-8"), "--listen", &free_port().to_string()])
        .args(["--data", data.to_str().expect("utf-8")])
        .stdout(Stdio::null())
        .output()
        .expect("runs");
    assert!(!output.status.success(), "a start that orphans data is refused");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("LAMP") && said.contains("reduced"), "the refusal names the product: {said}");
}

fn post_import(address: SocketAddr, key: &str, file: &str) -> (u16, Value) {
    let mut stream = std::net::TcpStream::connect(address).expect("connects");
    let request = format!(
        "POST /v1/commerces/atelier/imports HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {ADMIN}\r\n\
         Idempotency-Key: {key}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        file.len()
    );
    std::io::Write::write_all(&mut stream, request.as_bytes()).expect("sent");
    std::io::Write::write_all(&mut stream, file.as_bytes()).expect("sent");
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).expect("answered");
    let status = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

// Proves an import cut by SIGKILL resumes at restart and applies every good row exactly
// once: no row of a batch whose record was durable is applied again (none counted
// unchanged), none is lost, every refusal is reported once, and the same key answers the
// same job.
#[test]
fn an_import_cut_by_a_crash_resumes_and_applies_each_row_once() {
    let dir = temp_dir("catalog-import-crash");
    let (config, data) = (dir.join("atelier.toml"), dir.join("data"));
    std::fs::write(&config, CONFIG).expect("written");
    let rows = 40_000;
    let file: String = (1..=rows)
        .map(|n| {
            if n % 100 == 0 {
                format!("{{\"sku\": \"BAD-{n}\", \"tax_class\": \"none\"}}\n")
            } else {
                let product = json!({"sku": format!("IMP-{n}"), "names": {"en": format!("Imported {n}")},
                    "tax_class": "standard", "weight_grams": 10, "shipping_class": "parcel", "prices": {"EUR": "1.00"}});
                format!("{product}\n")
            }
        })
        .collect();
    let address = free_port();
    let served = start(address, &config, &data);
    let (status, job) = post_import(address, "bulk-1", &file);
    assert_eq!(status, 202, "{job}");
    let path = format!("/imports/{}", job["id"].as_str().expect("an id"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, job) = call(address, "GET", &path, ADMIN, Value::Null);
        // A batch is sent only once the one before it is durable: at 3,000 rows read, at
        // least two batches are.
        if job["rows_read"].as_u64().unwrap_or(0) >= 3_000 || Instant::now() > deadline {
            assert_ne!(job["status"], "done", "the crash comes before the job's end: make the file longer");
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(served); // SIGKILL mid-import

    let served = start(address, &config, &data);
    let deadline = Instant::now() + Duration::from_secs(120);
    let job = loop {
        let (status, job) = call(address, "GET", &path, ADMIN, Value::Null);
        assert_eq!(status, 200, "the job is known after the restart: {job}");
        if job["status"] == "done" || Instant::now() > deadline {
            break job;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let bad = rows / 100;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(
        (job["applied"].as_u64(), job["unchanged"].as_u64(), job["refused"].as_u64(), job["rows_read"].as_u64()),
        (Some(rows - bad), Some(0), Some(bad), Some(rows)),
        "every good row applied once, every bad one refused once"
    );
    let refused: Vec<u64> =
        job["refusals"].as_array().expect("refusals").iter().map(|r| r["row"].as_u64().unwrap_or(0)).collect();
    assert_eq!(refused, (1..=bad).map(|n| n * 100).collect::<Vec<_>>());
    let (_, last) = call(address, "GET", &format!("/products/IMP-{}", rows - 1), ADMIN, Value::Null);
    assert_eq!(last["version"], 1, "{last}");
    let kept: Vec<String> = std::fs::read_dir(data.join("imports"))
        .expect("the imports folder")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(kept.iter().all(|name| name.ends_with(".job.json")), "a finished job keeps its header only: {kept:?}");
    let (status, again) = post_import(address, "bulk-1", &file);
    assert_eq!((status, &again["id"]), (200, &job["id"]), "the same key names the same job");
    let (status, _) = post_import(address, "bulk-1", "{}\n");
    assert_eq!(status, 422, "the same key with another file is refused");
    drop(served);
}
