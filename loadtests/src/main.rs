//! goose load tests against a running Mercato server (start one with `cargo run --release`
//! first). Every goose option applies, for example:
//!
//! `cargo run --release -p mercato-loadtests -- --host http://127.0.0.1:8080 --users 64 \
//!  --increase-rate 64 --run-time 30s --scenarios context --report-file report.html`
//!
//! Scenarios:
//! - `context`: storefront visits resolving their context, a mix of countries, devices,
//!   domains and languages, each answer checked for a channel.
//! - `back_office` (run it as `--scenarios backoffice`: goose drops the underscore): stock
//!   receipts (each with its own `Idempotency-Key`, so every one is a durable change),
//!   purchase orders announced and then received, and stock reads, in one warehouse with
//!   the admin key; every answer is checked.
//!
//! The storefront key defaults to the demo's; set `MERCATO_KEY` for another (and
//! `MERCATO_ADMIN_KEY` for the back office).

use std::sync::atomic::{AtomicU64, Ordering};

use goose::prelude::*;
use serde_json::{json, Value};

/// Numbers each back-office request, so keys and batch ids never repeat within a run.
static SERIAL: AtomicU64 = AtomicU64::new(0);

/// A run's own prefix, so a second run against the same data folder uses fresh keys.
fn run_id() -> u64 {
    static RUN: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *RUN.get_or_init(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}

fn admin_key() -> String {
    std::env::var("MERCATO_ADMIN_KEY").unwrap_or_else(|_| "demo-admin".to_owned())
}

/// Sends a JSON request with the admin key (and a fresh idempotency key on writes); fails
/// the transaction on any status but `expected`.
async fn back_office(
    user: &mut GooseUser,
    method: GooseMethod,
    path: &str,
    body: Option<Value>,
    expected: u16,
) -> TransactionResult {
    let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
    let mut builder = user
        .get_request_builder(&method, path)?
        .header("Authorization", format!("Bearer {}", admin_key()))
        .header("Content-Type", "application/json");
    if let Some(body) = body {
        builder = builder.header("Idempotency-Key", format!("load-{}-{serial}", run_id())).body(body.to_string());
    }
    let request = GooseRequest::builder().set_request_builder(builder).build();
    let mut goose = user.request(request).await?;
    match goose.response {
        Ok(response) if response.status().as_u16() == expected => Ok(()),
        Ok(response) => {
            let status = response.status().to_string();
            let text = response.text().await.unwrap_or_default();
            user.set_failure(&format!("status {status}"), &mut goose.request, None, Some(&text))
        }
        Err(_) => Ok(()),
    }
}

const WAREHOUSE: &str = "/v1/commerces/demo/warehouses/wh-madrid";

async fn receive_stock(user: &mut GooseUser) -> TransactionResult {
    let body = json!({"sku": "KEYBOARD", "quantity": 1});
    back_office(user, GooseMethod::Post, &format!("{WAREHOUSE}/receipts"), Some(body), 201).await
}

/// A purchase order's life: announced, then received (the arrival closes it), so batches
/// do not pile up on one product over a long run.
async fn batch_arrives(user: &mut GooseUser) -> TransactionResult {
    let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
    let batch = format!("po-{}-{serial}", run_id());
    let announce = json!({"sku": "HEADPHONES", "batch": batch, "quantity": 10, "expected_date": date_in_days(30)});
    back_office(user, GooseMethod::Post, &format!("{WAREHOUSE}/batches"), Some(announce), 201).await?;
    let arrival = json!({"sku": "HEADPHONES", "batch": batch, "quantity": 10});
    back_office(user, GooseMethod::Post, &format!("{WAREHOUSE}/receipts"), Some(arrival), 201).await
}

async fn read_stock(user: &mut GooseUser) -> TransactionResult {
    back_office(user, GooseMethod::Get, &format!("{WAREHOUSE}/stock/KEYBOARD"), None, 200).await
}

/// `YYYY-MM-DD`, `days` from today (UTC).
fn date_in_days(days: u64) -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let today =
        chrono::DateTime::from_timestamp(i64::try_from(seconds).unwrap_or(0), 0).unwrap_or_default().date_naive();
    today.checked_add_days(chrono::Days::new(days)).unwrap_or(today).to_string()
}

/// Visits cycled through by each user: default and criteria channels, domain versions and
/// out-of-area countries.
fn visits() -> Vec<Value> {
    vec![
        json!({"country": "ES"}),
        json!({"country": "FR", "domain": "demo.fr"}),
        json!({"country": "ES", "device": "mobile"}),
        json!({"country": "US"}),
        json!({"country": "PT", "language": "es", "user_groups": ["wholesale"]}),
    ]
}

async fn resolve_context(user: &mut GooseUser) -> TransactionResult {
    let key = std::env::var("MERCATO_KEY").unwrap_or_else(|_| "demo-storefront".to_owned());
    let all = visits();
    let visit = &all[user.weighted_users_index % all.len()];
    let builder = user
        .get_request_builder(&GooseMethod::Post, "/v1/commerces/demo/context")?
        .header("Authorization", format!("Bearer {key}"))
        .header("Content-Type", "application/json")
        .body(visit.to_string());
    let request = GooseRequest::builder().set_request_builder(builder).build();
    let mut goose = user.request(request).await?;
    let body = match goose.response {
        Ok(response) if response.status().is_success() => response.text().await.unwrap_or_default(),
        Ok(response) => {
            let status = response.status().to_string();
            return user.set_failure(&format!("status {status}"), &mut goose.request, None, None);
        }
        Err(_) => return Ok(()),
    };
    let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if parsed["channel"].as_str().is_none() {
        return user.set_failure("answer has no channel", &mut goose.request, None, Some(&body));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), GooseError> {
    GooseAttack::initialize()?
        .register_scenario(scenario!("context").register_transaction(transaction!(resolve_context)))
        .register_scenario(
            scenario!("back_office")
                .register_transaction(transaction!(receive_stock).set_weight(8)?)
                .register_transaction(transaction!(batch_arrives).set_weight(1)?)
                .register_transaction(transaction!(read_stock).set_weight(1)?),
        )
        .set_default(GooseDefault::Host, "http://127.0.0.1:8080")?
        .execute()
        .await?;
    Ok(())
}
