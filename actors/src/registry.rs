//! The node's commerces. A node may own any number of whole commerces; nothing here
//! assumes one.

use std::collections::BTreeMap;

use mercato_engine::Commerce;

use crate::clock::Clock;
use crate::commerce::CommerceHandle;
use crate::idempotency::Idempotency;
use crate::journal::{Journal, Recovered};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("commerce \"{code}\" is configured twice")]
    DuplicateCommerce { code: String },
    #[error("no commerce is configured")]
    Empty,
    /// The configuration's settings would orphan data the log holds (a product naming a
    /// tax class no longer defined): the start is refused, naming every such product.
    #[error("commerce \"{code}\": the settings would orphan data, {} rule(s) broken:\n{}", violations.len(), violations.iter().map(|v| format!("  {v}")).collect::<Vec<_>>().join("\n"))]
    OrphanedData { code: String, violations: Vec<mercato_engine::Violation> },
}

/// The commerces this node owns, by code.
#[derive(Clone)]
pub struct Registry {
    commerces: BTreeMap<String, CommerceHandle>,
}

impl Registry {
    /// Checks that codes are unique, then starts each commerce's actors on the current
    /// arbiter.
    pub fn start(commerces: Vec<Commerce>, clock: Clock) -> Result<Self, RegistryError> {
        Self::start_durable(commerces, clock, &Journal::Memory, &mut Recovered::default(), &Idempotency::default())
    }

    /// As `start`, with the warehouses' states recovered from the log and every later
    /// change logged to `journal`. Recovered state of a warehouse no longer configured is
    /// left in `recovered` (and named in a warning): the caller keeps it in its snapshots,
    /// so configuring the warehouse again finds its stock.
    pub fn start_durable(
        commerces: Vec<Commerce>,
        clock: Clock,
        journal: &Journal,
        recovered: &mut Recovered,
        idempotency: &Idempotency,
    ) -> Result<Self, RegistryError> {
        Self::check(commerces.iter().map(Commerce::code))?;
        let mut started = BTreeMap::new();
        for commerce in commerces {
            let code = commerce.code().to_owned();
            let durable = matches!(journal, Journal::Log(_));
            // The data the log holds replaces the file's: the file seeds a fresh folder
            // only, and gives the settings.
            let recorded = recovered.take_settings(&code);
            let settling =
                durable.then(|| crate::settings::start_change(commerce.config(), recorded.as_ref())).flatten();
            let commerce = match &recorded {
                Some(data) => Commerce::from_recorded(commerce.config().clone().with_data_of(data))
                    .with_catalog(commerce.catalog().clone()),
                None => commerce,
            };
            let (commerce, seed) = match recovered.take_catalog(&code) {
                Some((catalog, _)) => (commerce.with_catalog(catalog), false),
                None => (commerce, durable),
            };
            let mut violations =
                if recorded.is_some() { commerce.check_document(commerce.config()) } else { Vec::new() };
            if violations.is_empty() && !seed {
                violations = commerce.check_catalog();
            }
            if !violations.is_empty() {
                return Err(RegistryError::OrphanedData { code, violations });
            }
            let handle = CommerceHandle::start_durable(commerce, clock, journal, recovered, idempotency);
            started.insert(code, handle.seeding(seed).settling(settling));
        }
        let commerces = started;
        for (commerce, warehouse) in recovered.warehouses.keys() {
            tracing::warn!(%commerce, %warehouse, "recovered stock of a warehouse no longer configured; kept, not served");
        }
        Ok(Self { commerces })
    }

    /// The rules a set of commerces must keep to share a node, without starting anything.
    pub fn check<'a>(codes: impl IntoIterator<Item = &'a str>) -> Result<(), RegistryError> {
        let mut seen = std::collections::HashSet::new();
        let mut any = false;
        for code in codes {
            any = true;
            if !seen.insert(code) {
                return Err(RegistryError::DuplicateCommerce { code: code.to_owned() });
            }
        }
        if any {
            Ok(())
        } else {
            Err(RegistryError::Empty)
        }
    }

    pub fn get(&self, code: &str) -> Option<&CommerceHandle> {
        self.commerces.get(code)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &CommerceHandle)> {
        self.commerces.iter().map(|(code, handle)| (code.as_str(), handle))
    }
}
