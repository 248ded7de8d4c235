//! Notifications to people through the binary: a rule routes `order.placed` by e-mail to an
//! SMTP server the test runs on loopback (which refuses the first connections, so the
//! rule retries), each recipient in its language; another routes it to a chat-style
//! webhook; bad rules are refused naming the value, after the role check; a node without
//! SMTP refuses e-mail rules.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{free_port, http, serve, temp_dir, Served};

const ADMIN: &str = "demo-admin";
const BASE: &str = "/v1/commerces/demo";

/// A message the SMTP server took: its recipients and its data (headers and body).
#[derive(Debug, Clone)]
struct Mail {
    to: Vec<String>,
    data: String,
}

/// An SMTP server on loopback: it answers the first `refuse` connections with 421 (busy)
/// and takes every message after.
fn smtp_server(refuse: usize) -> (SocketAddr, Arc<Mutex<Vec<Mail>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let mails = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&mails);
    let connections = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mails = Arc::clone(&kept);
            let refused = connections.fetch_add(1, Ordering::SeqCst) < refuse;
            std::thread::spawn(move || {
                let _ = smtp_session(stream, &mails, refused);
            });
        }
    });
    (address, mails)
}

fn smtp_session(stream: TcpStream, mails: &Mutex<Vec<Mail>>, refused: bool) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    if refused {
        out.write_all(b"421 busy, try later\r\n")?;
        return Ok(());
    }
    out.write_all(b"220 test ESMTP\r\n")?;
    let mut reader = BufReader::new(stream);
    let mut to = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" => out.write_all(b"250 test\r\n")?,
            "RCPT" => {
                to.push(line.trim().to_owned());
                out.write_all(b"250 ok\r\n")?;
            }
            "DATA" => {
                out.write_all(b"354 go on\r\n")?;
                let mut data = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line)? == 0 || line == ".\r\n" {
                        break;
                    }
                    data.push_str(&line);
                }
                mails.lock().expect("mails").push(Mail { to: std::mem::take(&mut to), data });
                out.write_all(b"250 queued\r\n")?;
            }
            "QUIT" => {
                out.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            _ => out.write_all(b"250 ok\r\n")?,
        }
    }
}

/// A chat-style webhook receiver on loopback: every body posted to it.
fn chat_receiver() -> (SocketAddr, Arc<Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&bodies);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            // A connection closed before its request (a client's pooled one) is no post.
            if length > 0 && reader.read_exact(&mut body).is_ok() {
                kept.lock().expect("bodies").push(
                    serde_json::from_slice(&body)
                        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())),
                );
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (address, bodies)
}

fn start(address: SocketAddr, data: &std::path::Path, smtp: Option<SocketAddr>) -> Served {
    serve(address, |command| {
        command.args(["--listen", &address.to_string(), "--data", data.to_str().expect("utf-8")]);
        command.args(["--webhook-retry-base-ms", "100", "--smtp-from", "Shop <shop@example.com>"]);
        if let Some(smtp) = smtp {
            command.args(["--smtp-url", &format!("smtp://{smtp}")]);
        }
        command.env_remove("MERCATO_CONFIG");
    })
}

fn call(address: SocketAddr, method: &str, path: &str, key: &str, body: Value) -> (u16, Value) {
    let (status, text) = http(address, method, &format!("{BASE}{path}"), Some(key), &body.to_string()).expect("answer");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn buy(address: SocketAddr) -> String {
    support::buy_demo(address, "MOUSE", 1)["id"].as_str().expect("an id").to_owned()
}

fn wait_for<T: Clone>(items: &Mutex<Vec<T>>, count: usize) -> Vec<T> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = items.lock().expect("items").clone();
        if now.len() >= count || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn email_rule() -> Value {
    json!({
        "channel": "email",
        "types": ["order.placed"],
        "recipients": [{"address": "ops@example.com"}, {"address": "almacen@example.com", "language": "es"}],
        "templates": {
            "en": {"subject": "Order {{ aggregate.id }} placed", "body": "Order {{ data.id }} in {{ data.currency }}."},
            "es": {"subject": "Pedido {{ aggregate.id }} recibido", "body": "Pedido {{ data.id }} en {{ data.currency }}."}
        }
    })
}

// Proves e-mail and chat notifications reach people in their language, with retries.
#[test]
fn rules_route_events_to_people_by_email_and_chat() {
    let dir = temp_dir("notifications");
    let (smtp, mails) = smtp_server(2);
    let (chat, posted) = chat_receiver();
    let address = free_port();
    let _served = start(address, &dir.join("data"), Some(smtp));

    let (status, rule) = call(address, "POST", "/notifications", ADMIN, email_rule());
    assert_eq!(status, 201, "{rule}");
    assert!(rule.get("secret").is_none(), "an e-mail rule has no secret to show: {rule}");
    // A retry under the same Idempotency-Key answers the same rule and makes no other.
    let keyed = |body: &Value| {
        let path = format!("{BASE}/notifications");
        let (status, text) =
            support::http_keyed(address, "POST", &path, Some(ADMIN), Some("ops-rule-1"), &body.to_string())
                .expect("answer");
        (status, serde_json::from_str::<Value>(&text).expect("json"))
    };
    let mut second = email_rule();
    second["types"] = json!(["order.cancelled"]);
    let (first_status, first) = keyed(&second);
    let (again_status, again) = keyed(&second);
    assert_eq!((first_status, again_status, &first["id"]), (201, 201, &again["id"]), "{first} {again}");
    assert_eq!(
        call(address, "DELETE", &format!("/notifications/{}", first["id"].as_str().expect("id")), ADMIN, json!({})).0,
        204
    );
    assert_eq!((rule["channel"].as_str(), rule["default_language"].as_str()), (Some("email"), Some("en")), "{rule}");
    let chat_rule = json!({"channel": "webhook", "url": format!("http://{chat}/hooks/ops"),
                           "types": ["order.placed"],
                           "templates": {"en": {"subject": "New order", "body": "{{ data.id }}: {{ data.lines | length }} line(s)"}}});
    let (status, chat_rule) = call(address, "POST", "/notifications", ADMIN, chat_rule);
    assert_eq!(status, 201, "{chat_rule}");
    assert!(chat_rule["secret"].as_str().is_some_and(|s| s.starts_with("whsec_")), "shown once: {chat_rule}");
    let (_, read) =
        call(address, "GET", &format!("/notifications/{}", chat_rule["id"].as_str().expect("id")), ADMIN, json!({}));
    assert!(read.get("secret").is_none(), "never shown again: {read}");
    let (status, list) = call(address, "GET", "/notifications", ADMIN, json!({}));
    assert_eq!((status, list["notifications"].as_array().map(Vec::len)), (200, Some(2)), "{list}");
    let (_, hooks) = call(address, "GET", "/webhooks", ADMIN, json!({}));
    assert_eq!(hooks["webhooks"], json!([]), "a rule is not a webhook: {hooks}");

    let order = buy(address);
    let got = wait_for(&mails, 2);
    assert_eq!(got.len(), 2, "one message per language: {got:?}");
    let english = got.iter().find(|m| m.to.iter().any(|t| t.contains("ops@example.com"))).expect("English");
    let spanish = got.iter().find(|m| m.to.iter().any(|t| t.contains("almacen@example.com"))).expect("Spanish");
    assert!(english.data.contains(&format!("Subject: Order {order} placed")), "{}", english.data);
    assert!(english.data.contains(&format!("Order {order} in EUR.")), "{}", english.data);
    assert!(english.data.contains("From: Shop <shop@example.com>"), "{}", english.data);
    assert!(spanish.data.contains(&format!("Subject: Pedido {order} recibido")), "{}", spanish.data);
    let chats = wait_for(&posted, 1);
    assert_eq!(chats[0]["subject"], "New order");
    assert_eq!(chats[0]["text"], format!("{order}: 1 line(s)"));
    assert!(chats[0]["event"].as_str().is_some_and(|id| id.starts_with("demo:")), "the event's id: {}", chats[0]);

    // The refused connections show in the delivery log, then the delivery.
    // (The attempt is logged once the server has its answer: a moment after the mail.)
    let id = rule["id"].as_str().expect("an id");
    let deadline = Instant::now() + Duration::from_secs(20);
    let attempts = loop {
        let (_, attempts) = call(address, "GET", &format!("/notifications/{id}/attempts"), ADMIN, json!({}));
        let last = attempts["attempts"].as_array().and_then(|a| a.last()).map(|a| a["outcome"].clone());
        if last == Some(json!("delivered")) || Instant::now() > deadline {
            break attempts;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let outcomes: Vec<&str> =
        attempts["attempts"].as_array().expect("attempts").iter().filter_map(|a| a["outcome"].as_str()).collect();
    assert_eq!(outcomes.last(), Some(&"delivered"), "{attempts}");
    assert!(outcomes.iter().filter(|o| **o == "retrying").count() >= 1, "{attempts}");

    // A url is not an e-mail rule's.
    let (status, problem) =
        call(address, "PATCH", &format!("/notifications/{id}"), ADMIN, json!({"url": "http://x.example"}));
    assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_notification")), "{problem}");
    // Changed and disabled: nothing more is sent.
    let (status, changed) = call(address, "PATCH", &format!("/notifications/{id}"), ADMIN, json!({"enabled": false}));
    assert_eq!((status, changed["enabled"].as_bool()), (200, Some(false)), "{changed}");
    buy(address);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(mails.lock().expect("mails").len(), 2, "a disabled rule sends nothing");
    assert_eq!(call(address, "DELETE", &format!("/notifications/{id}"), ADMIN, json!({})).0, 204);
    assert_eq!(call(address, "GET", &format!("/notifications/{id}"), ADMIN, json!({})).0, 404);
}

// Proves bad rules are refused naming the value, and only after the role check.
#[test]
fn bad_rules_are_refused_naming_the_value() {
    let dir = temp_dir("notifications-bad");
    let (smtp, _) = smtp_server(0);
    let address = free_port();
    let served = start(address, &dir.join("data"), Some(smtp));
    let refused = |body: Value, code: &str, naming: &str| {
        let (status, problem) = call(address, "POST", "/notifications", ADMIN, body);
        assert_eq!((status, problem["code"].as_str()), (422, Some(code)), "{problem}");
        assert!(problem["detail"].as_str().expect("a detail").contains(naming), "{problem}");
    };
    let mut broken = email_rule();
    broken["templates"]["es"]["body"] = json!("{{ data.id ");
    refused(broken.clone(), "invalid_template", "templates.es.body");
    let mut unknown = email_rule();
    unknown["templates"]["de"] = json!({"subject": "x", "body": "y"});
    refused(unknown, "unknown_language", "\"de\"");
    let mut nobody = email_rule();
    nobody["recipients"] = json!([]);
    refused(nobody, "invalid_recipients", "recipients must be 1 to 50");
    let mut bad_address = email_rule();
    bad_address["recipients"][0]["address"] = json!("not-an-address");
    refused(bad_address, "invalid_recipients", "\"not-an-address\"");
    let mut no_default = email_rule();
    no_default["default_language"] = json!("fr");
    refused(no_default, "invalid_template", "default language \"fr\"");
    let mut kinds = email_rule();
    kinds["types"] = json!(["order.teleported"]);
    refused(kinds, "unknown_event_type", "order.teleported");
    // The role check comes first: a storefront key with a bad rule hears 403.
    let (status, problem) = call(address, "POST", "/notifications", "demo-storefront", broken);
    assert_eq!(status, 403, "{problem}");
    let (_, list) = call(address, "GET", "/notifications", ADMIN, json!({}));
    assert_eq!(list["notifications"], json!([]), "nothing was created");
    drop(served);

    // A node without SMTP refuses e-mail rules, and takes chat ones.
    let address = free_port();
    let _served = start(address, &dir.join("data-2"), None);
    let (status, problem) = call(address, "POST", "/notifications", ADMIN, email_rule());
    assert_eq!((status, problem["code"].as_str()), (409, Some("email_unavailable")), "{problem}");
    drop(_served);

    // A rule made with SMTP waits on a node restarted without it, and can still be disabled.
    let (smtp, mails) = smtp_server(0);
    let address = free_port();
    let served = start(address, &dir.join("data-3"), Some(smtp));
    let (status, rule) = call(address, "POST", "/notifications", ADMIN, email_rule());
    assert_eq!(status, 201, "{rule}");
    drop(served);
    let served = start(address, &dir.join("data-3"), None);
    buy(address);
    std::thread::sleep(Duration::from_millis(300));
    let id = rule["id"].as_str().expect("an id");
    let (_, waiting) = call(address, "GET", &format!("/notifications/{id}"), ADMIN, json!({}));
    assert_eq!(waiting["delivery"]["attempts"], 0, "it waits, nothing tried or lost: {waiting}");
    drop(served);
    let _served = start(address, &dir.join("data-3"), Some(smtp));
    assert_eq!(wait_for(&mails, 2).len(), 2, "sent once SMTP is back");
    let (status, changed) = call(address, "PATCH", &format!("/notifications/{id}"), ADMIN, json!({"enabled": false}));
    assert_eq!(status, 200, "{changed}");
}

// Proves the delivery log keeps an attempt as long as it is told, then drops it.
#[test]
fn the_delivery_log_forgets_old_attempts() {
    let dir = temp_dir("notifications-log");
    let (chat, posted) = chat_receiver();
    let address = free_port();
    let _served = serve(address, |command| {
        command.args(["--listen", &address.to_string(), "--data", dir.join("data").to_str().expect("utf-8")]);
        command.args(["--webhook-log-keep-s", "1"]);
        command.env_remove("MERCATO_CONFIG");
    });
    let rule = json!({"channel": "webhook", "url": format!("http://{chat}/ops"), "types": ["order.placed"],
                      "templates": {"en": {"subject": "New order", "body": "{{ data.id }}"}}});
    let (status, rule) = call(address, "POST", "/notifications", ADMIN, rule);
    assert_eq!(status, 201, "{rule}");
    let attempts = |address| {
        let path = format!("/notifications/{}/attempts", rule["id"].as_str().expect("id"));
        let (_, page) = call(address, "GET", &path, ADMIN, json!({}));
        page["attempts"].as_array().expect("attempts").iter().map(|a| a["event"].clone()).collect::<Vec<_>>()
    };
    // The receiver hears a delivery a moment before its attempt is logged: the log is
    // read until it shows what the test waits for, or for 10 s.
    let settled = |done: &dyn Fn(&[Value]) -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let seen = attempts(address);
            if done(&seen) || std::time::Instant::now() > deadline {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    buy(address);
    wait_for(&posted, 1);
    let first = settled(&|seen| !seen.is_empty());
    assert_eq!(first.len(), 1, "{first:?}");
    std::thread::sleep(Duration::from_millis(1_500));
    buy(address);
    wait_for(&posted, 2);
    let later = settled(&|seen| seen.len() == 1 && seen[0] != first[0]);
    assert_eq!(later.len(), 1, "the first attempt is gone, the second kept: {later:?}");
    assert_ne!(later[0], first[0]);
}
