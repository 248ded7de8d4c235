//! The HTTP/JSON API: state shared by the workers, the app factory, and the input limits
//! every route shares.

pub mod auth;
pub mod body;
pub mod contract;
pub mod idempotency;
pub mod metrics;
pub mod problem;
pub mod query;
pub mod routes;
pub mod strict;
pub mod wire;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::error::JsonPayloadError;
use actix_web::http::StatusCode;
use actix_web::{middleware, web, App, HttpRequest};
use mercato_actors::Registry;
use metrics_exporter_prometheus::PrometheusHandle;

use self::auth::KeyTable;
use self::problem::Problem;

/// The largest request body: 64 KiB holds any cart or order request with room to spare,
/// and bounds what one client can make the server buffer.
pub const REQUEST_BODY_BYTES_MAX: usize = 64 * 1024;

/// What every worker shares.
pub struct AppState {
    pub registry: Registry,
    /// The node's idempotency keys and the answers kept under them.
    pub idempotency: mercato_actors::idempotency::Idempotency,
    pub keys: KeyTable,
    /// False until recovery has finished; `/readyz` answers 503 until then.
    pub ready: Arc<AtomicBool>,
    pub metrics: PrometheusHandle,
    /// The events derived from the log (none in memory, where there is no log).
    pub events: Option<crate::events::Events>,
    /// Webhook subscriptions and their deliveries (none in memory).
    pub webhooks: Option<crate::events::webhooks::Webhooks>,
    /// An audit replay: every request but a read is refused (`read_only`).
    pub read_only: bool,
    /// Import jobs and the folder their files are kept in.
    pub imports: crate::imports::Imports,
    /// Where each commerce's configuration came from, for a settings reload (unset when
    /// the node was built from configurations in memory).
    pub sources: std::sync::OnceLock<std::collections::BTreeMap<String, crate::configs::Source>>,
}

impl AppState {
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

/// Maps a JSON body error to a problem: too large is 413, the wrong content type 415,
/// anything else 400 with serde's message, which names the offending field.
fn json_error(error: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let problem = match &error {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body exceeds {REQUEST_BODY_BYTES_MAX} bytes"),
        ),
        JsonPayloadError::ContentType => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the request body must be application/json",
        ),
        JsonPayloadError::Deserialize(inner) => {
            Problem::new(StatusCode::BAD_REQUEST, "invalid_body", format!("invalid JSON body: {inner}"))
        }
        other => Problem::new(StatusCode::BAD_REQUEST, "invalid_body", format!("invalid JSON body: {other}")),
    };
    problem.into()
}

/// The application every worker runs.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .app_data(web::JsonConfig::default().limit(REQUEST_BODY_BYTES_MAX).error_handler(json_error))
        .app_data(web::PayloadConfig::default().limit(REQUEST_BODY_BYTES_MAX))
        .wrap(middleware::from_fn(metrics::record_request))
        // Outermost: a doubled header is refused and HEAD becomes GET before anything else.
        .wrap(middleware::from_fn(contract::enforce))
        .configure(routes::configure)
        .default_service(web::to(contract::unrouted))
}
