//! What the demo's scenario binaries (`mercato-market`, `mercato-soak`) share: a client of
//! the demo commerce's API on one keep-alive connection, the time as carriers report it,
//! and percentiles of sorted latencies.

use std::time::Duration;

use serde_json::Value;

use crate::wire::Connection;

/// The demo commerce's API over one connection; a failed exchange panics, naming it.
pub struct Api(pub Connection);

impl Api {
    pub async fn open(address: &str) -> Self {
        Api(Connection::open(address).await.unwrap_or_else(|e| panic!("connecting to {address}: {e}")))
    }

    /// `method` on `/v1/commerces/demo{path}` with `key`: the status and the JSON answer.
    pub async fn call(&mut self, method: &str, path: &str, key: &str, body: Option<&Value>) -> (u16, Value) {
        let path = format!("/v1/commerces/demo{path}");
        let bytes = body.map(|b| b.to_string().into_bytes());
        match self.0.send(method, &path, key, bytes.as_deref()).await {
            Ok(answer) => (answer.status, answer.json()),
            Err(error) => panic!("{method} {path}: {error}"),
        }
    }
}

/// Now, to the second, as a carrier's report states it.
pub fn now() -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    chrono::DateTime::from_timestamp(i64::try_from(seconds).unwrap_or(0), 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The latency at `per_mille` of `sorted`, in milliseconds.
pub fn percentile(sorted: &[Duration], per_mille: usize) -> f64 {
    let at = sorted.len().saturating_sub(1) * per_mille / 1000;
    sorted.get(at).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}
