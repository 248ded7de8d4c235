//! The live catalogue (DESIGN.md section 12): every product of a commerce with its
//! history, in a persistent map, so that a change to one product copies O(log n) of it and
//! a published commerce is never rebuilt. Products change by `CatalogCommand`s, decided
//! against the commerce's settings (`Commerce::decide_catalog`, every violation at once)
//! into `CatalogEvent`s, which `Commerce::apply_catalog` applies; each event is a new
//! version of one product, made at a moment by someone. A version is never changed or
//! dropped: a revert or a retirement is a version too.

mod history;

pub use history::{changes, FieldChange};

use std::sync::Arc;

use compact_str::CompactString;
use imbl::OrdMap;

use crate::commerce::model::{Product, StockPolicy};
use crate::time::Timestamp;

/// Who seeds a fresh data folder's catalogue from the configuration file.
pub const SEED_AUTHOR: &str = "configuration";

/// One version of a product: what it was from `at` on, who made it, and whether it was
/// retired (no longer sellable) then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductVersion {
    /// 1 for the product's first version, then one more for each change.
    pub version: u32,
    pub at: Timestamp,
    pub by: Arc<str>,
    pub retired: bool,
    pub product: Arc<Product>,
}

/// A product's versions, oldest first (the last is the product now), and its stock policy
/// resolved for the reserve path. The product now is held inline: most products have one
/// version, and a catalogue holds millions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductHistory {
    /// Every version before `current`, oldest first.
    earlier: Vec<ProductVersion>,
    current: ProductVersion,
    /// The policy of every warehouse when no warehouse overrides it (none when one does).
    policy: Option<StockPolicy>,
}

/// The policy of every warehouse when no warehouse overrides `product`'s.
fn policy_of(product: &Product) -> Option<StockPolicy> {
    product
        .stock_policy_overrides
        .is_empty()
        .then(|| product.stock_policy.as_ref().and_then(|c| c.policy().ok()).unwrap_or_default())
}

impl ProductHistory {
    fn new(first: ProductVersion) -> Self {
        Self { earlier: Vec::new(), policy: policy_of(&first.product), current: first }
    }

    fn push(&mut self, version: ProductVersion) {
        self.policy = policy_of(&version.product);
        let before = std::mem::replace(&mut self.current, version);
        self.earlier.push(before);
    }

    /// The product's latest version.
    pub fn current(&self) -> &ProductVersion {
        &self.current
    }

    pub fn product(&self) -> &Product {
        &self.current.product
    }

    pub fn retired(&self) -> bool {
        self.current.retired
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> impl DoubleEndedIterator<Item = &ProductVersion> {
        self.earlier.iter().chain(std::iter::once(&self.current))
    }

    pub fn version(&self, version: u32) -> Option<&ProductVersion> {
        if version == self.current.version {
            return Some(&self.current);
        }
        let index = usize::try_from(version).ok()?.checked_sub(1)?;
        self.earlier.get(index).filter(|v| v.version == version)
    }

    /// The version in force at `at`: the last made at or before it.
    pub fn as_of(&self, at: Timestamp) -> Option<&ProductVersion> {
        self.versions().rev().find(|v| v.at <= at)
    }

    pub(crate) fn policy(&self) -> Option<StockPolicy> {
        self.policy
    }
}

/// A commerce's products by SKU, each with its history. Cloning is O(1); a change copies
/// only the path to the product it changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    products: OrdMap<CompactString, Arc<ProductHistory>>,
}

impl Catalog {
    /// The catalogue of a configuration file's products, each at version 1.
    pub fn seeded(products: Vec<Product>, at: Timestamp) -> Self {
        let by: Arc<str> = Arc::from(SEED_AUTHOR);
        let mut catalog = Catalog::default();
        for product in products {
            let version =
                ProductVersion { version: 1, at, by: Arc::clone(&by), retired: false, product: Arc::new(product) };
            catalog.save(version);
        }
        catalog
    }

    /// A catalogue rebuilt from each product's versions (a snapshot's); the refusal names
    /// a product whose versions are empty, not numbered 1, 2, ... or of another SKU.
    pub fn restore(histories: impl IntoIterator<Item = Vec<ProductVersion>>) -> Result<Self, String> {
        let mut catalog = Catalog::default();
        for versions in histories {
            let Some(first) = versions.first() else { return Err("a product without versions".into()) };
            let sku = first.product.sku.clone();
            if catalog.contains(&sku) {
                return Err(format!("product {sku} is held twice"));
            }
            for (number, version) in (1..).zip(versions) {
                if version.version != number || version.product.sku != sku {
                    return Err(format!("product {sku}: version {} is out of order", version.version));
                }
                catalog.save(version);
            }
        }
        Ok(catalog)
    }

    pub fn get(&self, sku: &str) -> Option<&ProductHistory> {
        self.products.get(sku).map(Arc::as_ref)
    }

    pub fn contains(&self, sku: &str) -> bool {
        self.products.contains_key(sku)
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// Every product, by SKU.
    pub fn iter(&self) -> impl Iterator<Item = &ProductHistory> {
        self.products.values().map(Arc::as_ref)
    }

    /// The products after `sku` (all of them when none), by SKU.
    pub fn after<'a>(&'a self, sku: Option<&str>) -> Box<dyn Iterator<Item = &'a ProductHistory> + 'a> {
        match sku {
            None => Box::new(self.iter()),
            Some(sku) => Box::new(
                self.products
                    .range::<_, str>((std::ops::Bound::Excluded(sku), std::ops::Bound::Unbounded))
                    .map(|(_, history)| history.as_ref()),
            ),
        }
    }

    /// Applies a decided catalogue event, made at `at` by `by`.
    ///
    /// # Panics
    /// On a version that does not follow the product's last one: it was never decided.
    pub fn apply(&mut self, event: &CatalogEvent, at: Timestamp, by: &Arc<str>) {
        let CatalogEvent::Saved { version, retired, product } = event;
        let last = self.get(&product.sku).map_or(0, |h| h.current().version);
        assert_eq!(*version, last + 1, "product {} version {version} does not follow {last}", product.sku);
        self.save(ProductVersion {
            version: *version,
            at,
            by: Arc::clone(by),
            retired: *retired,
            product: Arc::clone(product),
        });
    }

    /// Applies a catalogue event from a log this catalogue may already hold part of (a
    /// reader that started from the file's products or an older snapshot): a version it
    /// holds already is passed over, any later one is saved. Never panics.
    pub fn catch_up(&mut self, event: &CatalogEvent, at: Timestamp, by: &Arc<str>) {
        let CatalogEvent::Saved { version, retired, product } = event;
        let last = self.get(&product.sku).map_or(0, |h| h.current().version);
        if *version <= last {
            return;
        }
        self.save(ProductVersion {
            version: *version,
            at,
            by: Arc::clone(by),
            retired: *retired,
            product: Arc::clone(product),
        });
    }

    /// Adds a product's next version (its first makes it).
    pub(crate) fn save(&mut self, version: ProductVersion) {
        let sku = CompactString::from(version.product.sku.as_str());
        match self.products.get_mut(&sku) {
            Some(history) => Arc::make_mut(history).push(version),
            None => {
                self.products.insert(sku, Arc::new(ProductHistory::new(version)));
            }
        }
    }
}

/// How a product is reverted: to one of its versions, or to the one in force at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevertTo {
    Version(u32),
    At(Timestamp),
}

/// A change to the catalogue, as asked.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogCommand {
    /// Creates or replaces a product (a retired one is sellable again). `if_version`, when
    /// given, is the version the product must be at (0: it must not exist yet).
    Put { product: Box<Product>, if_version: Option<u32> },
    /// Retires a product: no longer sellable, its history kept.
    Retire { sku: String, if_version: Option<u32> },
    /// Makes a past version the product's next one.
    Revert { sku: String, to: RevertTo },
}

/// A change to the catalogue, decided: one product's next version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogEvent {
    Saved { version: u32, retired: bool, product: Arc<Product> },
}

impl CatalogEvent {
    pub fn sku(&self) -> &str {
        match self {
            CatalogEvent::Saved { product, .. } => &product.sku,
        }
    }
}
