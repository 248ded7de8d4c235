//! A model test of the live catalogue: random sequences of product puts, retirements,
//! reverts to a version or a moment, snapshots and restarts, run on the engine's
//! `Commerce` and on a reference map of each product's versions. After every step the two
//! agree on every product's versions (content, retired, who and when); a restart rebuilds
//! the catalogue only from what the node keeps (the snapshot part and the log records
//! after it, encoded in the stored format and read back through `Recovered`).

use std::collections::BTreeMap;
use std::sync::Arc;

use mercato_actors::stored::{self, CatalogSnapshot, RECORD_CATALOG};
use mercato_actors::Recovered;
use mercato_engine::catalog::{CatalogCommand, CatalogEvent, RevertTo};
use mercato_engine::commerce::model::Product;
use mercato_engine::inventory::Timestamp;
use mercato_engine::{Commerce, DomainError, KNOWN_GATEWAYS};
use mercato_persistence::codec::FORMAT_VERSION;
use mercato_persistence::log::Replayed;
use mercato_persistence::snapshot::Part;
use proptest::prelude::*;

const CONFIG: &str = include_str!("../../engine/tests/data/minimal.toml");
const SKUS: [&str; 3] = ["A", "B", "P-1"];

#[derive(Debug, Clone)]
enum Step {
    /// Puts one of a few contents (a name and a price) under a SKU.
    Put(usize, u8),
    Retire(usize),
    RevertVersion(usize, u32),
    /// Reverts to the version in force after the step of this index.
    RevertAt(usize, usize),
    Snapshot,
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..SKUS.len(), 0..3u8).prop_map(|(s, c)| Step::Put(s, c)),
        2 => (0..SKUS.len()).prop_map(Step::Retire),
        2 => (0..SKUS.len(), 1..6u32).prop_map(|(s, v)| Step::RevertVersion(s, v)),
        1 => (0..SKUS.len(), 0..40usize).prop_map(|(s, i)| Step::RevertAt(s, i)),
        1 => Just(Step::Snapshot),
        1 => Just(Step::Restart),
    ]
}

fn product(sku: &str, content: u8) -> Product {
    let text = format!(
        r#"sku = "{sku}"
names = {{ en = "Item {content}" }}
tax_class = "standard"
weight_grams = {weight}
shipping_class = "parcel"
prices = {{ EUR = "{price}.00" }}
"#,
        weight = 100 + u32::from(content),
        price = 10 + u32::from(content),
    );
    toml::from_str(&text).expect("a product")
}

/// The reference: each product's versions as (content, retired, at).
type Reference = BTreeMap<String, Vec<(Product, bool, Timestamp)>>;

/// What the reference says a command makes: Ok(None) for a change that changes nothing.
fn expected(reference: &Reference, command: &CatalogCommand) -> Result<Option<(Product, bool)>, &'static str> {
    let versions = |sku: &str| reference.get(sku).map(Vec::as_slice).unwrap_or_default();
    let same = |current: Option<&(Product, bool, Timestamp)>, product: &Product, retired: bool| {
        current.is_some_and(|(p, r, _)| p == product && *r == retired)
    };
    match command {
        CatalogCommand::Put { product, .. } => {
            let current = versions(&product.sku).last();
            Ok((!same(current, product, false)).then(|| (product.as_ref().clone(), false)))
        }
        CatalogCommand::Retire { sku, .. } => {
            let (product, retired, _) = versions(sku).last().ok_or("unknown")?;
            Ok((!retired).then(|| (product.clone(), true)))
        }
        CatalogCommand::Revert { sku, to } => {
            let all = versions(sku);
            let current = all.last().ok_or("unknown")?;
            let target = match to {
                RevertTo::Version(v) => {
                    all.get(usize::try_from(*v).expect("small").wrapping_sub(1)).ok_or("no version")?
                }
                RevertTo::At(at) => all.iter().rev().find(|(_, _, t)| t <= at).ok_or("no version then")?,
            };
            Ok((!same(Some(current), &target.0, target.1)).then(|| (target.0.clone(), target.1)))
        }
    }
}

/// The node's catalogue state kept between steps: the log's records and the last snapshot.
#[derive(Default)]
struct Kept {
    lsn: u64,
    records: Vec<(u64, Vec<u8>)>,
    snapshot: Option<(u64, Vec<u8>)>,
}

impl Kept {
    /// Records a change and applies it.
    fn record(&mut self, commerce: &mut Commerce, events: Vec<CatalogEvent>, at: Timestamp) {
        self.lsn += 1;
        let bytes = stored::catalog_record("mini", (at, "model"), &events, (None, None)).expect("encodes");
        self.records.push((self.lsn, bytes));
        let by: Arc<str> = Arc::from("model");
        for event in &events {
            commerce.apply_catalog(event, at, &by);
        }
    }

    /// A restart: the snapshot's part, then the records after it.
    fn recover(&self, settings: &Commerce) -> Commerce {
        let mut parts = BTreeMap::new();
        if let Some((lsn, bytes)) = &self.snapshot {
            parts.insert(stored::catalog_part_key("mini"), Part { lsn: *lsn, bytes: bytes.clone() });
        }
        let (mut recovered, after) = Recovered::from_snapshot(FORMAT_VERSION, &parts).expect("the part decodes");
        for (lsn, payload) in self.records.iter().filter(|(lsn, _)| *lsn > after) {
            let record = Replayed { lsn: *lsn, format: FORMAT_VERSION, kind: RECORD_CATALOG, payload };
            recovered.apply(record).expect("the record applies");
        }
        let (catalog, _) = recovered.take_catalog("mini").expect("a catalogue");
        settings.with_catalog(catalog)
    }
}

fn run(steps: Vec<Step>) {
    let seed = Commerce::from_toml(CONFIG, KNOWN_GATEWAYS).expect("valid");
    let mut reference: Reference = BTreeMap::new();
    let mut commerce = seed.without_products();
    let mut kept = Kept::default();
    // The file's product, seeded through the log at step 0.
    let seeded: Vec<_> = seed.catalog().iter().map(|h| h.current().clone()).collect();
    let mut times = vec![Timestamp(1_000)];
    let events =
        seeded.iter().map(|v| CatalogEvent::Saved { version: 1, retired: false, product: v.product.clone() }).collect();
    kept.record(&mut commerce, events, times[0]);
    for v in &seeded {
        reference.insert(v.product.sku.clone(), vec![(v.product.as_ref().clone(), false, times[0])]);
    }
    for (index, step) in steps.into_iter().enumerate() {
        let at = Timestamp(1_000 + 10 * (i64::try_from(index).expect("small") + 1));
        times.push(at);
        let command = match step {
            Step::Snapshot => {
                let part = CatalogSnapshot {
                    commerce: "mini".into(),
                    catalog: commerce.catalog().clone(),
                    remembered: Vec::new(),
                    imports: Vec::new(),
                    settings: Some(Box::new(commerce.config().clone())),
                };
                kept.snapshot = Some((kept.lsn, stored::catalog_part(&part).expect("encodes")));
                continue;
            }
            Step::Restart => {
                commerce = kept.recover(&seed);
                compare(&commerce, &reference);
                continue;
            }
            Step::Put(s, c) => CatalogCommand::Put { product: Box::new(product(SKUS[s], c)), if_version: None },
            Step::Retire(s) => CatalogCommand::Retire { sku: SKUS[s].into(), if_version: None },
            Step::RevertVersion(s, v) => CatalogCommand::Revert { sku: SKUS[s].into(), to: RevertTo::Version(v) },
            Step::RevertAt(s, i) => {
                let moment = times[i.min(times.len() - 1)];
                CatalogCommand::Revert { sku: SKUS[s].into(), to: RevertTo::At(moment) }
            }
        };
        let wanted = expected(&reference, &command);
        match (commerce.decide_catalog(command), wanted) {
            (Ok(events), Ok(None)) => assert!(events.is_empty(), "a change that changes nothing made {events:?}"),
            (Ok(events), Ok(Some((product, retired)))) => {
                assert_eq!(events.len(), 1);
                kept.record(&mut commerce, events, at);
                reference.entry(product.sku.clone()).or_default().push((product, retired, at));
            }
            (Err(DomainError::UnknownSku { .. }), Err("unknown"))
            | (Err(DomainError::UnknownProductVersion { .. }), Err("no version"))
            | (Err(DomainError::NoProductVersionAt { .. }), Err("no version then")) => {}
            (got, wanted) => panic!("the engine answered {got:?}, the reference {wanted:?}"),
        }
        compare(&commerce, &reference);
    }
    compare(&kept.recover(&seed), &reference);
}

fn compare(commerce: &Commerce, reference: &Reference) {
    assert_eq!(commerce.catalog().len(), reference.len());
    for (sku, versions) in reference {
        let history = commerce.catalog().get(sku).expect("the product");
        let got: Vec<_> =
            history.versions().map(|v| (v.version, v.product.as_ref().clone(), v.retired, v.at)).collect();
        let want: Vec<_> = (1..).zip(versions).map(|(n, (p, r, at))| (n, p.clone(), *r, *at)).collect();
        assert_eq!(got, want, "product {sku}");
        assert!(history.versions().all(|v| &*v.by == "model"));
        assert_eq!(commerce.sellable(sku).is_ok(), !versions.last().expect("a version").1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    // Proves the catalogue keeps exactly the versions the reference does after any
    // sequence of changes, snapshots and restarts.
    #[test]
    fn the_catalogue_follows_the_reference(steps in proptest::collection::vec(step(), 1..40)) {
        run(steps);
    }
}
