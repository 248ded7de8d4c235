//! `GET /healthz` (the process answers), `GET /readyz` (recovery is done and the node takes
//! traffic) and `GET /metrics` (Prometheus text format).

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use serde_json::json;

use crate::http::problem::Problem;
use crate::http::AppState;

#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    if state.is_ready() {
        Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
    } else {
        Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "the node is still recovering"))
    }
}

#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render())
}
