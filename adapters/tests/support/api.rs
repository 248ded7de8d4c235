//! The API in process: one app called many times, so changes persist between requests.

use std::sync::atomic::Ordering;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::web;
use chrono::{DateTime, Days, NaiveDate};
use mercato_adapters::http::AppState;
use mercato_adapters::server::build_state;
use mercato_adapters::DEMO_CONFIG;
use mercato_engine::{Commerce, KNOWN_GATEWAYS};
use serde_json::Value;

pub const ADMIN: &str = "demo-admin";
pub const STOREFRONT: &str = "demo-storefront";
pub const MERCHANT: &str = "demo-merchant-artisan";

pub fn demo_state() -> web::Data<AppState> {
    let demo = Commerce::from_toml(DEMO_CONFIG, KNOWN_GATEWAYS).expect("demo is valid");
    let state = build_state(vec![demo]).expect("state builds");
    state.ready.store(true, Ordering::Release);
    state
}

/// Today in UTC, as the server's clock reads it.
pub fn today() -> NaiveDate {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
    DateTime::from_timestamp(i64::try_from(since_epoch.as_secs()).expect("in range"), 0).expect("a time").date_naive()
}

pub fn in_days(days: u64) -> String {
    today().checked_add_days(Days::new(days)).expect("a date").to_string()
}

/// One app, called many times, so changes persist between requests.
pub struct Api<S> {
    pub service: S,
}

impl<S, B> Api<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    pub async fn call(&self, key: &str, request: TestRequest) -> (StatusCode, Value) {
        let request = request.insert_header(("Authorization", format!("Bearer {key}"))).to_request();
        let response = test::call_service(&self.service, request).await;
        let status = response.status();
        let bytes = test::read_body(response).await;
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    pub async fn get(&self, key: &str, path: &str) -> (StatusCode, Value) {
        self.call(key, TestRequest::get().uri(&format!("/v1/commerces/demo{path}"))).await
    }

    /// A `GET`'s body as text (NDJSON, CSV).
    pub async fn get_text(&self, key: &str, path: &str) -> (StatusCode, String) {
        let request = TestRequest::get()
            .uri(&format!("/v1/commerces/demo{path}"))
            .insert_header(("Authorization", format!("Bearer {key}")))
            .to_request();
        let response = test::call_service(&self.service, request).await;
        let status = response.status();
        (status, String::from_utf8_lossy(&test::read_body(response).await).into_owned())
    }

    pub async fn post(&self, key: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(key, TestRequest::post().uri(&format!("/v1/commerces/demo{path}")).set_json(body)).await
    }

    pub async fn patch(&self, key: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(key, TestRequest::patch().uri(&format!("/v1/commerces/demo{path}")).set_json(body)).await
    }

    pub async fn put(&self, key: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(key, TestRequest::put().uri(&format!("/v1/commerces/demo{path}")).set_json(body)).await
    }

    pub async fn delete(&self, key: &str, path: &str) -> (StatusCode, Value) {
        self.call(key, TestRequest::delete().uri(&format!("/v1/commerces/demo{path}"))).await
    }

    /// Receives `quantity` units of `sku` in `warehouse` as free stock.
    pub async fn receive(&self, warehouse: &str, sku: &str, quantity: u32) {
        let path = format!("/warehouses/{warehouse}/receipts");
        let (status, body) = self.post(ADMIN, &path, serde_json::json!({"sku": sku, "quantity": quantity})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    pub async fn stock(&self, warehouse: &str, sku: &str) -> Value {
        let (status, body) = self.get(ADMIN, &format!("/warehouses/{warehouse}/stock/{sku}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// A POST with an `Idempotency-Key`, answered as raw bytes (a replay must match them).
    pub async fn post_keyed(&self, key: &str, idempotency: &str, path: &str, body: Value) -> (StatusCode, Vec<u8>) {
        let request = TestRequest::post()
            .uri(&format!("/v1/commerces/demo{path}"))
            .insert_header(("Authorization", format!("Bearer {key}")))
            .insert_header(("Idempotency-Key", idempotency))
            .set_json(body)
            .to_request();
        let response = test::call_service(&self.service, request).await;
        let status = response.status();
        (status, test::read_body(response).await.to_vec())
    }
}

#[macro_export]
macro_rules! api {
    () => {
        $crate::support::api::Api {
            service: actix_web::test::init_service(mercato_adapters::http::app($crate::support::api::demo_state()))
                .await,
        }
    };
}
