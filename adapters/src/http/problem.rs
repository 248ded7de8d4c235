//! RFC 9457 problem details. Every error the API answers is one of these, carrying the
//! engine's stable code so clients branch on `code`, never on the message.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use mercato_actors::{ActorError, NotDurable};
use mercato_engine::{DomainError, ErrorKind};
use serde::Serialize;

/// What a 503 tells clients to wait before retrying.
pub const RETRY_AFTER_SECONDS: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: String,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            type_uri: format!("urn:mercato:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn unauthenticated(detail: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 503 with `Retry-After`: the node is up but cannot take this request now.
    pub fn unavailable(detail: &str) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
    }

    pub fn commerce_not_found(code: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "commerce_not_found", format!("commerce \"{code}\" not found"))
    }

    /// A SKU the commerce does not sell, or (to a merchant) another merchant's: the same
    /// answer for both.
    pub fn unknown_sku(sku: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "unknown_sku", format!("product \"{sku}\" is not sold by this commerce"))
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status());
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if self.status == StatusCode::UNAUTHORIZED.as_u16() {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE.as_u16() {
            response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS.to_string()));
        }
        response.body(serde_json::to_string(self).unwrap_or_default())
    }
}

impl From<DomainError> for Problem {
    fn from(error: DomainError) -> Self {
        let status = match error.kind() {
            ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Declined => StatusCode::PAYMENT_REQUIRED,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        };
        Problem::new(status, error.code(), error.to_string())
    }
}

/// The one mapping of an actor's error to a problem: a refusal by its kind (4XX); anything
/// else is 503 with `Retry-After` and the error's own code: the log did not take the change
/// (`unavailable`: nothing changed), it failed after taking it (`outcome_unknown`: retry
/// with the same `Idempotency-Key`), or a warehouse, an actor or a payment gateway did not
/// answer.
impl From<ActorError> for Problem {
    fn from(error: ActorError) -> Self {
        let detail = match &error {
            ActorError::Refused(refusal) => return refusal.clone().into(),
            ActorError::NotDurable(NotDurable { queued: true, .. }) => {
                "the change may or may not have been recorded; retry with the same Idempotency-Key".to_owned()
            }
            ActorError::NotDurable(_) => "the log cannot record changes now; retry shortly".to_owned(),
            other => other.to_string(),
        };
        tracing::warn!(%error, code = error.code(), "a request could not be served now");
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, error.code(), detail)
    }
}

/// The refusals every documented route may answer, as problem details: a 4XX with a
/// stable `code` (the request was refused and changed nothing, or names what is missing),
/// or a 5XX (unavailable for now: retry after `Retry-After` seconds).
#[derive(utoipa::IntoResponses)]
pub enum Refusals {
    #[response(
        status = "4XX",
        description = "Refused: problem details with a stable code",
        content_type = "application/problem+json"
    )]
    Refused(Problem),
    #[response(
        status = "5XX",
        description = "Unavailable: retry after `Retry-After` seconds",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}
