//! The HTTP contract around every route: a header that must be given once given twice is
//! refused, `HEAD` is answered by the route's `GET` (the server sends its headers and
//! length without the body), and a known path asked with a method it does not have answers
//! 405 with `Allow` instead of 404.
//!
//! The paths and their methods come from the OpenAPI document, which lists every route
//! (a test keeps the two in step), so the table cannot drift from the routes.

use std::sync::OnceLock;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use utoipa::OpenApi;

use super::problem::Problem;
use super::routes::openapi::ApiDoc;

/// Headers a request may carry once at most: two keys or two credentials leave it unclear
/// which one the client meant.
const SINGLE_HEADERS: [&str; 2] = ["Authorization", "Idempotency-Key"];

/// A route's path, segment by segment (`None` for a `{parameter}`), and its methods.
type Route = (Vec<Option<String>>, Vec<&'static str>);

fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        ApiDoc::openapi()
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path
                    .trim_start_matches('/')
                    .split('/')
                    .map(|segment| (!segment.starts_with('{')).then(|| segment.to_owned()))
                    .collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ];
                (segments, methods.into_iter().filter(|(_, has)| *has).map(|(method, _)| method).collect())
            })
            .collect()
    })
}

/// The methods a path has (with `HEAD` wherever it has `GET`), or none for a path no route
/// serves.
pub fn allowed(path: &str) -> Option<Vec<&'static str>> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut methods: Vec<&'static str> = Vec::new();
    // Of the patterns a path matches, only those with the most literal segments count
    // (`…/products/translations` is not the product `translations`), as the router
    // tries them first.
    let mut best: Option<usize> = None;
    for (pattern, route_methods) in routes() {
        let matches = pattern.len() == segments.len()
            && pattern.iter().zip(&segments).all(|(want, got)| match want {
                Some(literal) => literal == got,
                None => !got.is_empty(),
            });
        if !matches {
            continue;
        }
        let literals = pattern.iter().filter(|segment| segment.is_some()).count();
        if best.is_none_or(|best| literals > best) {
            best = Some(literals);
            methods.clear();
        }
        if best == Some(literals) {
            methods.extend(route_methods);
        }
    }
    best?;
    if methods.contains(&"GET") {
        methods.push("HEAD");
    }
    methods.sort_unstable();
    methods.dedup();
    Some(methods)
}

/// Refuses a request with a header given twice; answers `HEAD` with the route's `GET`.
pub async fn enforce(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    for name in SINGLE_HEADERS {
        let given = request.headers().get_all(name).count();
        if given > 1 {
            let problem = Problem::new(
                StatusCode::BAD_REQUEST,
                "duplicate_header",
                format!("the {name} header is given {given} times; give it once"),
            );
            return Ok(request.into_response(problem.error_response()));
        }
    }
    let read_only = request.app_data::<actix_web::web::Data<crate::http::AppState>>().is_some_and(|s| s.read_only);
    if read_only && !matches!(*request.method(), Method::GET | Method::HEAD) {
        let problem = Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "read_only",
            format!("this node is an audit replay and answers reads only; {} is refused", request.method()),
        );
        let mut response = problem.error_response();
        response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return Ok(request.into_response(response));
    }
    if request.method() == Method::HEAD && allowed(request.path()).is_some_and(|m| m.contains(&"GET")) {
        // The server still knows the request was HEAD: it sends the GET's headers and
        // length, and no body.
        request.head_mut().method = Method::GET;
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

/// The answer for a request no route took: 405 with `Allow` on a known path, else 404.
pub async fn unrouted(request: HttpRequest) -> HttpResponse {
    match allowed(request.path()) {
        Some(methods) => {
            let problem = Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!(
                    "{} {} is not a route; this path takes {}",
                    request.method(),
                    request.path(),
                    methods.join(", ")
                ),
            );
            let mut response = problem.error_response();
            if let Ok(value) = header::HeaderValue::from_str(&methods.join(", ")) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
        None => Problem::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            format!("no route for {} {}", request.method(), request.path()),
        )
        .error_response(),
    }
}
