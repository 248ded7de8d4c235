//! `GET /healthz` (the process answers), `GET /readyz` (recovery is done and the node takes
//! traffic) and `GET /metrics` (Prometheus text format).

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use serde_json::json;

use crate::http::problem::{Problem, Refusals};
use crate::http::AppState;

/// `{"status": "ok"}` or `{"status": "ready"}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct HealthDto {
    pub status: String,
}

#[utoipa::path(
    tag = "operations",
    summary = "The process answers.",
    responses(
        (status = 200, description = "Success", body = HealthDto),
        Refusals
    ),
    security(())
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

#[utoipa::path(
    tag = "operations",
    summary = "The node has recovered and takes traffic (503 before).",
    responses(
        (status = 200, description = "Success", body = HealthDto),
        Refusals
    ),
    security(())
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    if state.is_ready() {
        Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
    } else {
        Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "the node is still recovering"))
    }
}

#[utoipa::path(
    tag = "operations",
    summary = "Prometheus metrics, text format.",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        Refusals
    ),
    security(())
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render())
}
