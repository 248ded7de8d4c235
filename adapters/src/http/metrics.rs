//! The Prometheus recorder and per-route request metrics.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Request latency buckets in seconds: 50 µs to 2.5 s, dense below 10 ms where the
/// engine's answers fall.
const REQUEST_SECONDS_BUCKETS: &[f64] =
    &[0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// Record-count buckets (the log's batch sizes): powers of four up to its batch limit.
const RECORDS_BUCKETS: &[f64] = &[1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0];

/// How often histogram samples are folded into buckets when nobody scrapes: every few
/// seconds keeps their memory bounded.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder, installed on first use together with its upkeep thread.
/// A recorder already installed by someone else leaves this one unused but still
/// renderable.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), REQUEST_SECONDS_BUCKETS)
                .and_then(|builder| builder.set_buckets_for_metric(Matcher::Suffix("_records".into()), RECORDS_BUCKETS))
                .unwrap_or_else(|_| PrometheusBuilder::new())
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                upkeep.run_upkeep();
            });
            if let Err(error) = spawned {
                tracing::warn!("metrics upkeep thread not started: {error}");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!("mercato_http_requests_total", "HTTP requests answered, by route, method and status");
    metrics::describe_counter!("mercato_log_appends_total", "Records appended to the write-ahead log");
    metrics::describe_counter!("mercato_log_bytes_total", "Bytes of frames appended to the write-ahead log");
    metrics::describe_histogram!("mercato_log_batch_records", "Records per group-commit batch");
    metrics::describe_histogram!("mercato_log_fsync_seconds", metrics::Unit::Seconds, "Time of each log fdatasync");
    metrics::describe_histogram!(
        "mercato_log_queue_seconds",
        metrics::Unit::Seconds,
        "How long each log batch's oldest record waited for the writer to take it"
    );
    metrics::describe_histogram!(
        "mercato_log_recovery_seconds",
        metrics::Unit::Seconds,
        "Time to recover the log at start"
    );
    metrics::describe_counter!("mercato_log_records_replayed_total", "Log records replayed at start");
    metrics::describe_counter!("mercato_log_tails_truncated_total", "Torn log tails cut off at start");
    metrics::describe_histogram!("mercato_snapshot_write_seconds", metrics::Unit::Seconds, "Time to write a snapshot");
    metrics::describe_histogram!("mercato_snapshot_load_seconds", metrics::Unit::Seconds, "Time to load a snapshot");
    metrics::describe_gauge!("mercato_snapshot_bytes", metrics::Unit::Bytes, "Size of the last snapshot written");
    metrics::describe_histogram!(
        "mercato_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency, by route, method and status"
    );
}

/// The standard methods by name, anything else as `other`: a client inventing methods must
/// not create a series per invention.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts each request and records its latency under its route pattern (never the raw
/// path, which would make a series per cart id).
pub async fn record_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let route = request.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(request.method());
    let response = next.call(request).await?;
    let status = response.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    ROUTE_METERS.with_borrow_mut(|meters| {
        let (requests, latency) =
            meters.entry((route, method, status)).or_insert_with_key(|(route, method, status)| {
                let labels =
                    [("route", route.clone()), ("method", (*method).to_owned()), ("status", status.to_string())];
                (
                    metrics::counter!("mercato_http_requests_total", &labels),
                    metrics::histogram!("mercato_http_request_duration_seconds", &labels),
                )
            });
        requests.increment(1);
        latency.record(elapsed);
    });
    Ok(response)
}

/// A request's series: its route pattern, method label and status.
type RouteSeries = (String, &'static str, u16);

thread_local! {
    /// Each worker's handles on the request series it has answered, so a request costs a
    /// lookup here rather than building and hashing the series' labels in the registry.
    /// Bounded: patterns are the mounted routes (or `unmatched`), methods are the
    /// standard ones (or `other`), statuses are three digits.
    static ROUTE_METERS: RefCell<HashMap<RouteSeries, (Counter, Histogram)>> = RefCell::new(HashMap::new());
}
