//! Settings reloads while the node runs (DESIGN.md section 12): `SIGHUP` reloads every
//! commerce's file, `POST …/settings/reload` one commerce's. The file is read and
//! validated whole off the workers' threads (every violation listed), its settings checked
//! against the data and the catalogue in force (a reload that would orphan data is
//! refused naming it), then swapped in atomically and recorded in the log, so a replay sees
//! the settings in force at each moment. The file's data sections (products, price rules,
//! discounts, users, groups, keys) are not read again: they seeded a fresh folder only.

use actix_web::http::StatusCode;
use mercato_actors::{CommerceHandle, ReplaceError};
use mercato_engine::{Commerce, ConfigError, KNOWN_GATEWAYS};

use crate::configs::{load_file, LoadError, Source};
use crate::http::problem::Problem;
use crate::http::AppState;

/// Who a `SIGHUP` reload is recorded as made by.
pub const SIGNAL_AUTHOR: &str = "SIGHUP";

fn invalid(detail: String) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_settings", detail)
}

/// The violations listed in a refusal at most (a reload that would orphan a large
/// catalogue names each product: the answer and the log line stay readable).
const VIOLATIONS_LISTED: usize = 100;

/// `violations` as a refusal lists them: the first `VIOLATIONS_LISTED`, and how many more.
fn listed(violations: &[mercato_engine::Violation]) -> String {
    let mut list: Vec<String> = violations.iter().take(VIOLATIONS_LISTED).map(ToString::to_string).collect();
    if violations.len() > VIOLATIONS_LISTED {
        list.push(format!("and {} more", violations.len() - VIOLATIONS_LISTED));
    }
    list.join("; ")
}

/// Reads and validates the commerce's file, off the caller's thread.
async fn read(source: Source) -> Result<Commerce, Problem> {
    let read = crate::priority::block(move || {
        let loaded = match &source {
            Source::EmbeddedDemo => Commerce::from_toml(crate::DEMO_CONFIG, KNOWN_GATEWAYS)
                .map_err(|error| LoadError::Config { source_name: source.to_string(), error }),
            Source::File(path) => load_file(path),
        };
        loaded.map_err(|error| match error {
            LoadError::Config { source_name, error: ConfigError::Invalid { violations } } => {
                format!("{source_name}: {} violation(s): {}", violations.len(), listed(&violations))
            }
            other => other.to_string(),
        })
    });
    read.await.map_err(|e| Problem::unavailable(&e.to_string()))?.map_err(|detail| {
        invalid(format!(
            "{detail}\nThe file must hold on its own, as a start reads it: data it names (a user group, a \
             merchant made through the API) must be in its own data sections too, which seed a fresh \
             data folder only."
        ))
    })
}

/// Reloads one commerce's settings from its file: whether they changed.
pub(crate) async fn reload_one(
    state: &AppState,
    code: &str,
    handle: &CommerceHandle,
    by: &str,
) -> Result<bool, Problem> {
    if state.read_only {
        return Err(Problem::new(StatusCode::CONFLICT, "read_only", "an audit replay changes nothing"));
    }
    let Some(source) = state.sources.get().and_then(|sources| sources.get(code)).cloned() else {
        let detail = format!("commerce \"{code}\" was not started from a configuration file");
        return Err(Problem::new(StatusCode::CONFLICT, "no_configuration_file", detail));
    };
    let file = read(source.clone()).await?;
    let reloaded = handle.reload_settings(&file, by).await.map_err(|error| match error {
        ReplaceError::WrongCommerce { given, .. } => {
            invalid(format!("{source}: it configures commerce \"{given}\", not \"{code}\""))
        }
        ReplaceError::OrphanedData { violations } if violations.iter().all(|v| v.rule == "restart_required") => {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "restart_required",
                format!("{source}: {}", listed(&violations)),
            )
        }
        ReplaceError::OrphanedData { violations } => {
            let detail =
                format!("{source}: the settings would break {} rule(s): {}", violations.len(), listed(&violations));
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "orphaned_data", detail)
        }
        ReplaceError::NotDurable(reason) => Problem::unavailable(&reason),
    })?;
    if reloaded {
        state.keys.refresh(&state.registry);
        tracing::info!(commerce = code, %source, by, "settings reloaded");
    }
    Ok(reloaded)
}

/// Reloads every commerce (a `SIGHUP`), logging what each did.
pub(crate) async fn reload_all(state: &AppState) {
    for (code, handle) in state.registry.iter() {
        match reload_one(state, code, handle, SIGNAL_AUTHOR).await {
            Ok(true) => {}
            Ok(false) => tracing::info!(commerce = code, "SIGHUP: the file's settings are those in force"),
            Err(problem) => {
                tracing::error!(commerce = code, code = %problem.code, detail = %problem.detail, "SIGHUP: reload refused")
            }
        }
    }
}

/// Takes `SIGHUP` from the process's first moments (its default would end the process): a
/// hangup during recovery is answered by a reload once the node serves. Called within the
/// runtime, before recovery.
pub(crate) fn listen_for_hangups() -> Option<tokio::signal::unix::Signal> {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(hangups) => Some(hangups),
        Err(error) => {
            tracing::warn!(%error, "SIGHUP cannot be listened to; reload through POST …/settings/reload");
            None
        }
    }
}

/// Reloads on every `SIGHUP` until the node stops.
pub(crate) async fn on_hangup(state: actix_web::web::Data<AppState>, hangups: Option<tokio::signal::unix::Signal>) {
    let Some(mut hangups) = hangups else { return };
    while hangups.recv().await.is_some() {
        reload_all(&state).await;
    }
}
