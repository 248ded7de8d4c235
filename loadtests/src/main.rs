//! goose load tests against a running Mercato server (start one with `cargo run --release`
//! first). Every goose option applies, for example:
//!
//! `cargo run --release -p mercato-loadtests -- --host http://127.0.0.1:8080 --users 64 \
//!  --increase-rate 64 --run-time 30s --scenarios context --report-file report.html`
//!
//! Scenarios:
//! - `context`: storefront visits resolving their context, a mix of countries, devices,
//!   domains and languages, each answer checked for a channel.
//!
//! The key defaults to the demo storefront key; set `MERCATO_KEY` for another.

use goose::prelude::*;
use serde_json::{json, Value};

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
        .set_default(GooseDefault::Host, "http://127.0.0.1:8080")?
        .execute()
        .await?;
    Ok(())
}
