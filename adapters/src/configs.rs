//! Loading commerce configuration files and the rules a set of commerces must keep to
//! share one node (unique codes, unique API keys).

use std::path::{Path, PathBuf};

use mercato_actors::Registry;
use mercato_engine::{Commerce, ConfigError, KNOWN_GATEWAYS};

use crate::http::auth::KeyTable;

/// Where a configuration came from, for messages.
#[derive(Debug, Clone)]
pub enum Source {
    EmbeddedDemo,
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::EmbeddedDemo => f.write_str("embedded config/demo.toml"),
            Source::File(path) => write!(f, "{}", path.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{source_name}: cannot read: {error}")]
    Read { source_name: String, error: std::io::Error },
    #[error("{source_name}: {error}")]
    Config { source_name: String, error: ConfigError },
    #[error("{0}")]
    Node(String),
}

/// Parses and validates one file.
pub fn load_file(path: &Path) -> Result<Commerce, LoadError> {
    let source_name = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|error| LoadError::Read { source_name: source_name.clone(), error })?;
    Commerce::from_toml(&text, KNOWN_GATEWAYS).map_err(|error| LoadError::Config { source_name, error })
}

/// Loads every file (the embedded demo when none is given) and checks the node-wide
/// rules. Stops at the first file that fails; `mercato check` reports per file instead.
pub fn load_all(paths: &[PathBuf]) -> Result<Vec<(Source, Commerce)>, LoadError> {
    let loaded = if paths.is_empty() {
        let demo = Commerce::from_toml(crate::DEMO_CONFIG, KNOWN_GATEWAYS)
            .map_err(|error| LoadError::Config { source_name: Source::EmbeddedDemo.to_string(), error })?;
        vec![(Source::EmbeddedDemo, demo)]
    } else {
        paths
            .iter()
            .map(|path| load_file(path).map(|commerce| (Source::File(path.clone()), commerce)))
            .collect::<Result<Vec<_>, _>>()?
    };
    check_node(loaded.iter().map(|(_, commerce)| commerce))?;
    Ok(loaded)
}

/// Rules across the commerces of one node.
pub fn check_node<'a>(commerces: impl Iterator<Item = &'a Commerce> + Clone) -> Result<(), LoadError> {
    Registry::check(commerces.clone().map(Commerce::code)).map_err(|e| LoadError::Node(e.to_string()))?;
    KeyTable::build(commerces).map_err(LoadError::Node)?;
    Ok(())
}

/// A one-line summary of a valid commerce, for `mercato check`.
pub fn summary(commerce: &Commerce) -> String {
    let c = commerce.config();
    format!(
        "commerce \"{}\": {} languages, {} currencies, {} countries, {} domains, {} channels, \
         {} invoicing companies, {} warehouses in {} logistic centers, {} payment systems, \
         {} carriers, {} physical locations, {} products",
        c.code,
        c.languages.len(),
        c.currencies.len(),
        c.countries.len(),
        c.domains.len(),
        c.channels.len(),
        c.invoicing_companies.len(),
        c.warehouses.len(),
        c.logistic_centers.len(),
        c.payment_systems.len(),
        c.carriers.len(),
        c.physical_locations.len(),
        commerce.catalog().len(),
    )
}
