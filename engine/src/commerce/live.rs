//! A commerce's data changing while the node runs (DESIGN.md section 12): catalogue
//! changes decided against the settings, with every violation at once, and applied as
//! new versions of one product each.

use std::sync::Arc;

use super::catalog::{Catalog, CatalogCommand, CatalogEvent, RevertTo};
use super::model::Product;
use super::{Commerce, ProductRules, Violation};
use crate::time::Timestamp;
use crate::DomainError;

impl Commerce {
    /// The same settings with `catalog` as the catalogue (recovered from a snapshot and
    /// the log).
    pub fn with_catalog(&self, catalog: Catalog) -> Commerce {
        Commerce { settings: Arc::clone(&self.settings), catalog }
    }

    /// Every rule a product of the catalogue breaks against the settings (a start whose
    /// configuration file would orphan data is refused with them).
    pub fn check_catalog(&self) -> Vec<Violation> {
        let rules = ProductRules::new(self.config());
        let known = |sku: &str| self.catalog.contains(sku);
        self.catalog.iter().flat_map(|history| rules.check(history.product(), &known)).collect()
    }

    /// Every rule `product` breaks as a product of this commerce, after its `weight` is
    /// converted; the product as it would be kept.
    pub fn check_product(&self, product: Product) -> Result<Product, DomainError> {
        self.check_product_with(&ProductRules::new(self.config()), product)
    }

    /// `check_product` with the settings' rules collected once (an import's batch): `rules`
    /// must be this commerce's settings'.
    pub fn check_product_with(&self, rules: &ProductRules, mut product: Product) -> Result<Product, DomainError> {
        let mut violations = Vec::new();
        product.compact();
        if let Err(message) = product.normalize_weight() {
            let entity = format!("product \"{}\"", product.sku);
            violations.push(Violation { entity, rule: "invalid_value", message });
        }
        let known = |sku: &str| sku == product.sku || self.catalog.contains(sku);
        violations.extend(rules.check(&product, &known));
        if violations.is_empty() {
            Ok(product)
        } else {
            Err(DomainError::InvalidProduct { sku: product.sku.clone(), violations })
        }
    }

    /// The events a catalogue change makes: none when it changes nothing (a product put
    /// again as it is, retired again, or reverted to what it is).
    pub fn decide_catalog(&self, command: CatalogCommand) -> Result<Vec<CatalogEvent>, DomainError> {
        match command {
            CatalogCommand::Put { product, if_version } => {
                self.decide_put(&ProductRules::new(self.config()), *product, if_version)
            }
            CatalogCommand::Retire { sku, if_version } => {
                let history = self.catalog.get(&sku).ok_or_else(|| DomainError::UnknownSku { sku: sku.clone() })?;
                let current = history.current();
                expect_version(&sku, Some(current.version), if_version)?;
                if current.retired {
                    return Ok(Vec::new());
                }
                let product = Arc::clone(&current.product);
                Ok(vec![CatalogEvent::Saved { version: current.version + 1, retired: true, product }])
            }
            CatalogCommand::Revert { sku, to } => {
                let history = self.catalog.get(&sku).ok_or_else(|| DomainError::UnknownSku { sku: sku.clone() })?;
                let target = match to {
                    RevertTo::Version(version) => history
                        .version(version)
                        .ok_or_else(|| DomainError::UnknownProductVersion { sku: sku.clone(), version })?,
                    RevertTo::At(at) => history
                        .as_of(at)
                        .ok_or_else(|| DomainError::NoProductVersionAt { sku: sku.clone(), at: at.0 })?,
                };
                let current = history.current();
                if current.retired == target.retired && current.product == target.product {
                    return Ok(Vec::new());
                }
                // The settings may have changed since: the old version must still keep
                // every rule.
                let product = self.check_product(target.product.as_ref().clone())?;
                Ok(vec![CatalogEvent::Saved {
                    version: current.version + 1,
                    retired: target.retired,
                    product: Arc::new(product),
                }])
            }
        }
    }

    /// The events a put makes (`CatalogCommand::Put`), with the settings' rules collected
    /// once: `rules` must be this commerce's settings'.
    pub fn decide_put(
        &self,
        rules: &ProductRules,
        product: Product,
        if_version: Option<u32>,
    ) -> Result<Vec<CatalogEvent>, DomainError> {
        let current = self.catalog.get(&product.sku);
        expect_version(&product.sku, current.map(|h| h.current().version), if_version)?;
        let product = self.check_product_with(rules, product)?;
        match current {
            Some(history) if !history.retired() && *history.product() == product => Ok(Vec::new()),
            _ => Ok(vec![CatalogEvent::Saved {
                version: current.map_or(1, |h| h.current().version + 1),
                retired: false,
                product: Arc::new(product),
            }]),
        }
    }

    /// Applies a decided catalogue event, made at `at` by `by` (`Catalog::apply`).
    pub fn apply_catalog(&mut self, event: &CatalogEvent, at: Timestamp, by: &Arc<str>) {
        self.catalog.apply(event, at, by);
    }

    /// The commerce with no product: a fresh data folder's catalogue is seeded into it
    /// through the log.
    pub fn without_products(&self) -> Commerce {
        self.with_catalog(Catalog::default())
    }
}

fn expect_version(sku: &str, current: Option<u32>, expected: Option<u32>) -> Result<(), DomainError> {
    match expected {
        Some(expected) if expected != current.unwrap_or(0) => {
            Err(DomainError::VersionConflict { sku: sku.to_owned(), expected, current: current.unwrap_or(0) })
        }
        _ => Ok(()),
    }
}
