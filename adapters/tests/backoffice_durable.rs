//! Back-office data and settings while the node runs, through the binary, on a commerce
//! other than the demo (`data/atelier.toml`): price rules, discounts, users and groups
//! changed by the API take effect at once, are refused whole when they break a rule, and
//! come back after SIGKILL and after a clean stop; API keys made by the API are shown once,
//! rotated and revoked with effect at once; the file's data sections seed a fresh folder
//! only; settings reload from the file by the admin route and by SIGHUP, refused when they
//! would orphan data, and stay after a restart; each change is an event.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{free_port, http, serve, stop_cleanly, temp_dir, Served};

const CONFIG: &str = include_str!("data/atelier.toml");
const ADMIN: &str = "atelier-admin";
const STOREFRONT: &str = "atelier-storefront";

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

fn get(address: SocketAddr, path: &str) -> Value {
    let (status, body) = call(address, "GET", path, ADMIN, Value::Null);
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// The back office's data as the administrator reads it.
fn data(address: SocketAddr) -> Value {
    json!({
        "price_rules": get(address, "/price-rules"),
        "discounts": get(address, "/discounts"),
        "users": get(address, "/users"),
        "user_groups": get(address, "/user-groups"),
        "api_keys": get(address, "/api-keys"),
    })
}

fn price(address: SocketAddr, group: &str) -> String {
    let group = if group.is_empty() { String::new() } else { format!("&group={group}") };
    let body = get(address, &format!("/products/P-1/price?currency=EUR&qty=1&country=ES{group}"));
    body["unit_price"].as_str().expect("a price").to_owned()
}

/// An event stream opened with `key`, its answer's head read.
fn open_stream(address: SocketAddr, key: &str) -> std::net::TcpStream {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("a timeout");
    let request = format!(
        "GET /v1/commerces/atelier/events/stream?after=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("sent");
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).expect("an answer");
    assert_eq!(&head, b"HTTP/1.1 200", "the stream opens");
    stream
}

/// Whether the server ends `stream` within ten seconds (keep-alive comments do not count).
fn stream_ends(mut stream: std::net::TcpStream) -> bool {
    use std::io::Read;
    let deadline = Instant::now() + Duration::from_secs(10);
    stream.set_read_timeout(Some(Duration::from_millis(200))).expect("a timeout");
    let mut buffer = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(error) if matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

fn languages_reported(address: SocketAddr, language: &str) -> u16 {
    call(address, "GET", &format!("/products/translations?language={language}"), ADMIN, Value::Null).0
}

fn event_types(address: SocketAddr, least: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let types = "settings.reloaded,price_rule.changed,price_rule.removed,discount.changed,user.changed,\
                     user_group.changed,api_key.changed,api_key.revoked";
        let page = get(address, &format!("/events?types={types}&limit=100"));
        let kinds: Vec<String> = page["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| e["type"].as_str().unwrap_or("").into())
            .collect();
        if kinds.len() >= least || Instant::now() > deadline {
            return kinds;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// Proves back-office data changed by the API is checked whole, takes effect at once and
// survives SIGKILL and a clean stop, while the file's data sections seed a fresh folder
// only.
#[test]
fn data_by_api_is_checked_whole_takes_effect_and_survives_restarts() {
    let dir = temp_dir("backoffice-data");
    let (config, folder) = (dir.join("atelier.toml"), dir.join("data"));
    std::fs::write(&config, CONFIG).expect("written");
    let address = free_port();
    let served = start(address, &config, &folder);
    let before = data(address);
    let base = price(address, "");

    // A price rule naming what does not exist is refused naming each value; nothing changes.
    let bad = json!({"sku": "NOPE", "prices": {"USD": "5.00"}, "group": "vip", "min_quantity": 0});
    let (status, problem) = call(address, "PUT", "/price-rules/vip-p1", ADMIN, bad);
    assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_data")), "{problem}");
    let detail = problem["detail"].as_str().expect("a detail");
    for named in ["NOPE", "USD", "vip", "min_quantity", "EUR"] {
        assert!(detail.contains(named), "{named} in {detail}");
    }
    assert_eq!(data(address), before, "a refusal changes nothing");
    let (status, problem) =
        call(address, "PUT", "/price-rules/r", ADMIN, json!({"sku": "P-1", "percent": "ten", "group": "zz"}));
    assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_data")), "{problem}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("\"ten\"") && detail.contains("zz"),
        "a value that does not read hides no other: {problem}"
    );
    assert_eq!(call(address, "PUT", "/price-rules/r", STOREFRONT, json!({"percent": "ten"})).0, 403, "role first");

    // A group, a user in it, a rule for it and a cart discount: each created, then in force.
    assert_eq!(call(address, "PUT", "/user-groups/vip", ADMIN, json!({"name": "VIP"})).0, 201);
    let user = json!({"email": "ana@shop.example", "role": "customer", "groups": ["vip"]});
    assert_eq!(call(address, "PUT", "/users/u-1", ADMIN, user.clone()).0, 201);
    assert_eq!(call(address, "PUT", "/users/u-1", ADMIN, user).0, 200, "the same again: unchanged");
    let rule = json!({"sku": "P-1", "prices": {"EUR": "5.00"}, "group": "vip"});
    let (status, made) = call(address, "PUT", "/price-rules/vip-p1", ADMIN, rule);
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["prices"]["EUR"], "5.00");
    assert_eq!(price(address, "vip"), "5.00", "the rule is in force at once");
    assert_eq!(price(address, ""), base, "for its group only");
    let discount = json!({"kind": "cart", "percent": "10", "promo_code": "SPRING", "starts": "2026-01-01"});
    assert_eq!(call(address, "PUT", "/discounts/spring", ADMIN, discount).0, 201);
    // A group others name cannot go; one nobody names can.
    let (status, problem) = call(address, "DELETE", "/user-groups/vip", ADMIN, Value::Null);
    assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_data")), "{problem}");
    assert!(problem["detail"].as_str().expect("detail").contains("price rule \"vip-p1\""), "{problem}");
    assert_eq!(call(address, "PUT", "/user-groups/temp", ADMIN, json!({})).0, 201);
    assert_eq!(call(address, "DELETE", "/user-groups/temp", ADMIN, Value::Null).0, 204);
    let (status, problem) = call(address, "DELETE", "/user-groups/temp", ADMIN, Value::Null);
    assert_eq!((status, problem["code"].as_str()), (404, Some("unknown_user_group")), "{problem}");
    let acknowledged = data(address);
    assert_ne!(acknowledged, before);
    let kinds = event_types(address, 6);
    for kind in ["user_group.changed", "user.changed", "price_rule.changed", "discount.changed"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    drop(served); // SIGKILL

    // The file's data sections edited: a price rule and a key of its own are not read.
    let edited = format!(
        "{CONFIG}\n[[price_rules]]\ncode = \"from-file\"\nsku = \"P-1\"\nprices = {{ EUR = \"1.00\" }}\n\n\
         [[api_keys]]\nname = \"file key\"\nkey = \"atelier-file-key\"\nrole = \"admin\"\n"
    );
    std::fs::write(&config, edited).expect("written");
    let served = start(address, &config, &folder);
    assert_eq!(data(address), acknowledged, "after SIGKILL, the log's data");
    assert_eq!(price(address, "vip"), "5.00");
    assert_eq!(call(address, "GET", "/price-rules", "atelier-file-key", Value::Null).0, 401, "the file seeds once");
    stop_cleanly(served);
    let served = start(address, &config, &folder);
    assert_eq!(data(address), acknowledged, "after a clean stop, from the snapshot");
    assert_eq!(event_types(address, 6).len(), kinds.len(), "no event told twice or lost");
    drop(served);
}

// Proves a key the API makes is shown once and works at once; rotating it makes the old
// secret fail at once; revoking it makes it fail at once; a creation retried under the
// same name makes no second key; a key never revokes itself; an event stream opened with
// a key ends when the key is revoked; and a revoked key stays revoked after SIGKILL.
#[test]
fn api_keys_are_created_rotated_and_revoked_with_effect_at_once() {
    let dir = temp_dir("backoffice-keys");
    let (config, folder) = (dir.join("atelier.toml"), dir.join("data"));
    std::fs::write(&config, CONFIG).expect("written");
    let address = free_port();
    let served = start(address, &config, &folder);
    let listed = get(address, "/api-keys");
    assert!(listed.to_string().contains("fingerprint") && !listed.to_string().contains("atelier-admin"), "{listed}");

    let body = json!({"name": "erp", "role": "admin"});
    assert_eq!(call(address, "POST", "/api-keys", STOREFRONT, body.clone()).0, 403, "the role comes first");
    let (status, made) = call(address, "POST", "/api-keys", ADMIN, body.clone());
    assert_eq!(status, 201, "{made}");
    let first = made["key"].as_str().expect("shown once").to_owned();
    assert!(first.len() >= 40, "{first}");
    assert_eq!(call(address, "GET", "/users", &first, Value::Null).0, 200, "works at once");
    let (status, again) = call(address, "POST", "/api-keys", ADMIN, body);
    assert_eq!((status, again["code"].as_str()), (409, Some("already_exists")), "{again}");
    assert_eq!(get(address, "/api-keys").as_array().map(Vec::len), listed.as_array().map(|l| l.len() + 1));
    let merchant = json!({"name": "loom-2", "role": "merchant"});
    let (status, problem) = call(address, "POST", "/api-keys", ADMIN, merchant);
    assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_data")), "{problem}");

    let (status, rotated) = call(address, "POST", "/api-keys/erp/rotate", ADMIN, Value::Null);
    assert_eq!(status, 200, "{rotated}");
    let second = rotated["key"].as_str().expect("shown once").to_owned();
    assert_ne!(first, second);
    assert_eq!(call(address, "GET", "/users", &first, Value::Null).0, 401, "the old secret fails at once");
    assert_eq!(call(address, "GET", "/users", &second, Value::Null).0, 200);

    // The file's admin key revoked by the new one: it fails at once, on every route, and
    // the stream it opened ends.
    let stream = open_stream(address, ADMIN);
    assert_eq!(call(address, "DELETE", "/api-keys/back%20office", &second, Value::Null).0, 204);
    assert!(stream_ends(stream), "a stream opened with a revoked key ends");
    assert_eq!(call(address, "GET", "/users", ADMIN, Value::Null).0, 401);
    assert_eq!(call(address, "GET", "/products/P-1", ADMIN, Value::Null).0, 401);
    let (status, problem) = call(address, "DELETE", "/api-keys/erp", &second, Value::Null);
    assert_eq!((status, problem["code"].as_str()), (409, Some("own_key")), "{problem}");
    let (status, problem) = call(address, "POST", "/api-keys/erp/rotate", &second, Value::Null);
    assert_eq!((status, problem["code"].as_str()), (409, Some("own_key")), "{problem}");
    let (status, made) = call(address, "POST", "/api-keys", &second, json!({"name": "ops", "role": "storefront"}));
    assert_eq!(status, 201, "{made}");
    let ops = made["key"].as_str().expect("shown once").to_owned();
    assert_eq!(call(address, "DELETE", "/api-keys/erp", &ops, Value::Null).0, 403, "a storefront key revokes none");
    drop(served); // SIGKILL

    let served = start(address, &config, &folder);
    assert_eq!(call(address, "GET", "/users", ADMIN, Value::Null).0, 401, "revoked stays revoked");
    assert_eq!(call(address, "GET", "/users", &first, Value::Null).0, 401, "rotated stays rotated");
    assert_eq!(call(address, "GET", "/users", &second, Value::Null).0, 200);
    drop(served);
}

fn reload(address: SocketAddr) -> (u16, Value) {
    call(address, "POST", "/settings/reload", "atelier-admin", Value::Null)
}

// Proves settings reload from the file while the node runs, by the admin route and by
// SIGHUP: validated whole (a broken file is refused listing its violations), refused when
// they would orphan data (naming it), in force at once and after a restart, each reload
// an event; the data stays.
#[test]
fn settings_reload_by_route_and_by_sighup_and_refuse_to_orphan_data() {
    let dir = temp_dir("backoffice-reload");
    let (config, folder) = (dir.join("atelier.toml"), dir.join("data"));
    std::fs::write(&config, CONFIG).expect("written");
    let address = free_port();
    let served = start(address, &config, &folder);
    assert_eq!(call(address, "PUT", "/user-groups/vip", ADMIN, json!({"name": "VIP"})).0, 201);
    let (status, body) = reload(address);
    assert_eq!((status, body["reloaded"].as_bool()), (200, Some(false)), "nothing changed: {body}");
    assert_eq!(languages_reported(address, "fr"), 422, "no French yet");

    // A file that breaks its own rules: every violation listed, nothing changes.
    let broken = CONFIG
        .replace("main_currency = \"EUR\"", "main_currency = \"XXX\"")
        .replace("minor_units = 2", "minor_units = 99");
    std::fs::write(&config, broken).expect("written");
    let (status, problem) = reload(address);
    assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_settings")), "{problem}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("XXX") && detail.contains("99"), "{detail}");
    assert!(detail.contains("its own data sections"), "says the file holds on its own: {detail}");

    // A warehouse added takes a restart, and says so.
    let more = CONFIG.replace(
        "[[payment_systems]]",
        "[[warehouses]]\ncode = \"wh-2\"\nkind = \"virtual\"\nlogistic_center = \"lc-1\"\n\n[[payment_systems]]",
    );
    std::fs::write(&config, more).expect("written");
    let (status, problem) = reload(address);
    assert_eq!((status, problem["code"].as_str()), (422, Some("restart_required")), "{problem}");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("wh-2")), "{problem}");

    // Settings that would orphan a product the API made (its tax class gone): refused,
    // naming it, though the file's own products keep every rule.
    let lamp = json!({"names": {"en": "Lamp"}, "tax_class": "reduced", "weight_grams": 900,
        "shipping_class": "parcel", "prices": {"EUR": "89.00"}});
    assert_eq!(call(address, "PUT", "/products/LAMP", ADMIN, lamp).0, 201);
    let orphaning = CONFIG
        .replace(r#"tax_classes = ["standard", "reduced"]"#, r#"tax_classes = ["standard"]"#)
        .replace(r#", { name = "VAT", tax_class = "reduced", rate = "10" }"#, "");
    std::fs::write(&config, orphaning).expect("written");
    let (status, problem) = reload(address);
    assert_eq!((status, problem["code"].as_str()), (422, Some("orphaned_data")), "{problem}");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("LAMP") && detail.contains("reduced"), "{problem}");

    // French added by the route: in force at once.
    let french =
        CONFIG.replace("[[currencies]]", "[[languages]]\ncode = \"fr\"\nname = \"Français\"\n\n[[currencies]]");
    std::fs::write(&config, &french).expect("written");
    let (status, body) = reload(address);
    assert_eq!((status, body["reloaded"].as_bool()), (200, Some(true)), "{body}");
    assert_eq!(languages_reported(address, "fr"), 200);
    assert_eq!(get(address, "/user-groups/vip")["name"], "VIP", "the data stays");

    // Italian added by SIGHUP.
    let italian =
        french.replace("[[currencies]]", "[[languages]]\ncode = \"it\"\nname = \"Italiano\"\n\n[[currencies]]");
    std::fs::write(&config, &italian).expect("written");
    let pid = served.0.id().to_string();
    assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().expect("kill runs").success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while languages_reported(address, "it") != 200 {
        assert!(Instant::now() < deadline, "SIGHUP reloaded the settings");
        std::thread::sleep(Duration::from_millis(50));
    }
    let kinds = event_types(address, 3);
    assert_eq!(kinds.iter().filter(|k| *k == "settings.reloaded").count(), 2, "{kinds:?}");
    drop(served); // SIGKILL

    let served = start(address, &config, &folder);
    assert_eq!(languages_reported(address, "it"), 200, "the file's settings after a restart");
    assert_eq!(get(address, "/user-groups/vip")["name"], "VIP");
    drop(served);
}
