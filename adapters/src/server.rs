//! Boot: configuration, data folder, actors, metrics, the HTTP listener, readiness.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix_web::{web, HttpServer};
use mercato_actors::Registry;

use crate::cli::ServeArgs;
use crate::configs::{load_all, LoadError};
use crate::http::auth::KeyTable;
use crate::http::{self, AppState};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] LoadError),
    #[error("data folder {path}: {error}")]
    DataFolder { path: String, error: std::io::Error },
    #[error("cannot listen on {address}: {error}")]
    Listen { address: String, error: std::io::Error },
    #[error("server stopped: {0}")]
    Stopped(std::io::Error),
    #[error("{0}")]
    Start(String),
}

/// Logs go to standard error; `MERCATO_LOG` filters them (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MERCATO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).try_init();
}

/// Builds the shared state: starts one actor per commerce on the current arbiter.
pub fn build_state(commerces: Vec<mercato_engine::Commerce>) -> Result<web::Data<AppState>, ServerError> {
    let keys = KeyTable::build(commerces.iter()).map_err(ServerError::Start)?;
    let registry =
        Registry::start(commerces, mercato_actors::Clock::system()).map_err(|e| ServerError::Start(e.to_string()))?;
    Ok(web::Data::new(AppState {
        registry,
        keys,
        ready: Arc::new(AtomicBool::new(false)),
        metrics: http::metrics::handle(),
    }))
}

/// Serves until the process is asked to stop (SIGINT or SIGTERM stop it gracefully).
pub fn run(args: ServeArgs) -> Result<(), ServerError> {
    let loaded = load_all(&args.configs)?;
    for (source, commerce) in &loaded {
        tracing::info!(commerce = commerce.code(), %source, "configuration loaded");
    }
    std::fs::create_dir_all(&args.data)
        .map_err(|error| ServerError::DataFolder { path: args.data.display().to_string(), error })?;
    let commerces = loaded.into_iter().map(|(_, commerce)| commerce).collect();
    actix_web::rt::System::new().block_on(async move {
        let state = build_state(commerces)?;
        let factory_state = state.clone();
        let server = HttpServer::new(move || http::app(factory_state.clone()))
            .bind(args.listen)
            .map_err(|error| ServerError::Listen { address: args.listen.to_string(), error })?;
        for address in server.addrs() {
            tracing::info!("listening on http://{address}");
        }
        // Nothing to recover yet: the node is ready as soon as it listens.
        state.ready.store(true, Ordering::Release);
        server.run().await.map_err(ServerError::Stopped)
    })
}
