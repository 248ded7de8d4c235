//! A commerce's back-office data and settings changing while the node runs (DESIGN.md
//! section 12). Price rules, discounts, users, user groups and API keys are data: seeded
//! from the file into a fresh data folder, then changed one item at a time by a
//! `DataChange`, decided against the whole document (every rule of the file, every
//! violation at once) and applied by re-indexing the settings, which are small; the
//! catalogue is shared, never copied. A settings reload takes a file's settings and keeps
//! the data, refused when the data (or a product) would break a rule of the new settings.

use std::sync::Arc;

use sha2::{Digest, Sha256};

pub use super::model::DataKind;
use super::model::{ApiKey, ApiRole, CommerceConfig, CommissionRule, Discount, Merchant, PriceRule, User, UserGroup};
use super::{validate, Commerce, Violation};
use crate::DomainError;

/// One item of back-office data, whole.
#[derive(Debug, Clone, PartialEq)]
pub enum DataItem {
    PriceRule(PriceRule),
    Discount(Discount),
    User(User),
    UserGroup(UserGroup),
    ApiKey(ApiKey),
    Merchant(Merchant),
    CommissionRule(CommissionRule),
    ProductProposal(super::proposals::ProductProposal),
}

impl DataItem {
    pub fn kind(&self) -> DataKind {
        match self {
            DataItem::PriceRule(_) => DataKind::PriceRule,
            DataItem::Discount(_) => DataKind::Discount,
            DataItem::User(_) => DataKind::User,
            DataItem::UserGroup(_) => DataKind::UserGroup,
            DataItem::ApiKey(_) => DataKind::ApiKey,
            DataItem::Merchant(_) => DataKind::Merchant,
            DataItem::CommissionRule(_) => DataKind::CommissionRule,
            DataItem::ProductProposal(_) => DataKind::ProductProposal,
        }
    }

    /// What identifies it among its kind.
    pub fn code(&self) -> &str {
        match self {
            DataItem::PriceRule(rule) => &rule.code,
            DataItem::Discount(discount) => &discount.code,
            DataItem::User(user) => &user.id,
            DataItem::UserGroup(group) => &group.code,
            DataItem::ApiKey(key) => &key.name,
            DataItem::Merchant(merchant) => &merchant.code,
            DataItem::CommissionRule(rule) => &rule.code,
            DataItem::ProductProposal(proposal) => &proposal.code,
        }
    }
}

/// A change of one item: put (create or replace) or remove.
#[derive(Debug, Clone, PartialEq)]
pub enum DataChange {
    Put(Box<DataItem>),
    Remove { kind: DataKind, code: String },
}

impl DataChange {
    pub fn kind(&self) -> DataKind {
        match self {
            DataChange::Put(item) => item.kind(),
            DataChange::Remove { kind, .. } => *kind,
        }
    }

    pub fn code(&self) -> &str {
        match self {
            DataChange::Put(item) => item.code(),
            DataChange::Remove { code, .. } => code,
        }
    }
}

/// Puts `item` in `items` in place of the one `code` names, or last.
fn put<T: PartialEq>(items: &mut Vec<T>, item: T, code: impl Fn(&T) -> &str) -> bool {
    let position = items.iter().position(|x| code(x) == code(&item));
    match position {
        Some(at) if items[at] == item => false,
        Some(at) => {
            items[at] = item;
            true
        }
        None => {
            items.push(item);
            true
        }
    }
}

fn remove<T>(items: &mut Vec<T>, wanted: &str, code: impl Fn(&T) -> &str) -> bool {
    let before = items.len();
    items.retain(|x| code(x) != wanted);
    items.len() != before
}

/// The SHA-256 of a key, as 64 lowercase hex digits.
pub fn key_digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

impl CommerceConfig {
    /// Applies one data change; whether it changed anything. Not validated: a change is
    /// decided first (`Commerce::decide_data`), or read back from the log.
    pub fn apply_data(&mut self, change: &DataChange) -> bool {
        match change {
            DataChange::Put(item) => match item.as_ref().clone() {
                DataItem::PriceRule(rule) => put(&mut self.price_rules, rule, |x| &x.code),
                DataItem::Discount(discount) => put(&mut self.discounts, discount, |x| &x.code),
                DataItem::User(user) => put(&mut self.users, user, |x| &x.id),
                DataItem::UserGroup(group) => put(&mut self.user_groups, group, |x| &x.code),
                DataItem::ApiKey(key) => put(&mut self.api_keys, key, |x| &x.name),
                DataItem::Merchant(merchant) => put(&mut self.merchants, merchant, |x| &x.code),
                DataItem::CommissionRule(rule) => put(&mut self.commission_rules, rule, |x| &x.code),
                DataItem::ProductProposal(proposal) => put(&mut self.product_proposals, proposal, |x| &x.code),
            },
            DataChange::Remove { kind, code } => match kind {
                DataKind::PriceRule => remove(&mut self.price_rules, code, |x| &x.code),
                DataKind::Discount => remove(&mut self.discounts, code, |x| &x.code),
                DataKind::User => remove(&mut self.users, code, |x| &x.id),
                DataKind::UserGroup => remove(&mut self.user_groups, code, |x| &x.code),
                DataKind::ApiKey => remove(&mut self.api_keys, code, |x| &x.name),
                DataKind::Merchant => remove(&mut self.merchants, code, |x| &x.code),
                DataKind::CommissionRule => remove(&mut self.commission_rules, code, |x| &x.code),
                DataKind::ProductProposal => remove(&mut self.product_proposals, code, |x| &x.code),
            },
        }
    }

    /// One item of data, by kind and code.
    pub fn data_item(&self, kind: DataKind, code: &str) -> Option<DataItem> {
        match kind {
            DataKind::PriceRule => self.price_rules.iter().find(|x| x.code == code).cloned().map(DataItem::PriceRule),
            DataKind::Discount => self.discounts.iter().find(|x| x.code == code).cloned().map(DataItem::Discount),
            DataKind::User => self.users.iter().find(|x| x.id == code).cloned().map(DataItem::User),
            DataKind::UserGroup => self.user_groups.iter().find(|x| x.code == code).cloned().map(DataItem::UserGroup),
            DataKind::ApiKey => self.api_keys.iter().find(|x| x.name == code).cloned().map(DataItem::ApiKey),
            DataKind::Merchant => self.merchants.iter().find(|x| x.code == code).cloned().map(DataItem::Merchant),
            DataKind::CommissionRule => {
                self.commission_rules.iter().find(|x| x.code == code).cloned().map(DataItem::CommissionRule)
            }
            DataKind::ProductProposal => {
                self.product_proposals.iter().find(|x| x.code == code).cloned().map(DataItem::ProductProposal)
            }
        }
    }

    /// These settings with `data`'s back-office data (its price rules, discounts, users,
    /// user groups, API keys and merchants) in place of this document's.
    pub fn with_data_of(mut self, data: &CommerceConfig) -> CommerceConfig {
        self.price_rules.clone_from(&data.price_rules);
        self.discounts.clone_from(&data.discounts);
        self.users.clone_from(&data.users);
        self.user_groups.clone_from(&data.user_groups);
        self.api_keys.clone_from(&data.api_keys);
        self.merchants.clone_from(&data.merchants);
        self.commission_rules.clone_from(&data.commission_rules);
        self.product_proposals.clone_from(&data.product_proposals);
        self
    }

    /// The document without its data: what a settings reload compares and records.
    pub fn settings_only(&self) -> CommerceConfig {
        let mut settings = self.clone().with_data_of(&CommerceConfig::default());
        settings.products.clear();
        settings.opening_stock.clear();
        settings
    }

    /// Keys given in plain (`key`) kept as their digest only (`key_sha256`): no secret is
    /// held, logged or written in a snapshot.
    pub(crate) fn digest_keys(&mut self) {
        for key in &mut self.api_keys {
            if let Some(plain) = key.key.take() {
                key.key_sha256 = Some(key_digest(&plain));
            }
        }
    }
}

/// How many admin keys `config` holds: a change never takes the last one away, so the
/// back office is never locked out of a commerce that had one.
fn admin_keys(config: &CommerceConfig) -> usize {
    let usable = |key: &&ApiKey| key.key.is_some() || key.key_sha256.is_some();
    config.api_keys.iter().filter(usable).filter(|key| key.role == Some(ApiRole::Admin)).count()
}

impl Commerce {
    /// A commerce of a document recorded in the log (validated when it was recorded): its
    /// settings and data, with no product; the catalogue is given to it after.
    pub fn from_recorded(mut config: CommerceConfig) -> Commerce {
        config.products.clear();
        Commerce::index(config)
    }

    /// Every rule the document breaks, its products being the catalogue's.
    pub fn check_document(&self, config: &CommerceConfig) -> Vec<Violation> {
        validate::validate_live(config, crate::KNOWN_GATEWAYS, &|sku| self.catalog.contains(sku))
    }

    /// The commerce a data change leaves, with the same catalogue; none when it changes
    /// nothing. Refused with every rule the document would break, or when it removes what
    /// is not there.
    pub fn decide_data(&self, change: &DataChange) -> Result<Option<Commerce>, DomainError> {
        let mut config = self.config().clone();
        if !config.apply_data(change) {
            return match change {
                DataChange::Put(_) => Ok(None),
                DataChange::Remove { kind, code } => Err(DomainError::UnknownData { kind: *kind, code: code.clone() }),
            };
        }
        if admin_keys(self.config()) > 0 && admin_keys(&config) == 0 {
            return Err(DomainError::LastAdminKey { name: change.code().to_owned() });
        }
        let violations = self.check_document(&config);
        if !violations.is_empty() {
            let (kind, code) = (change.kind(), change.code().to_owned());
            return Err(DomainError::InvalidData { kind, code, violations });
        }
        Ok(Some(self.with_config(config)))
    }

    /// Applies a decided data change (the log's) without deciding it again.
    pub fn apply_data(&self, change: &DataChange) -> Commerce {
        let mut config = self.config().clone();
        config.apply_data(change);
        self.with_config(config)
    }

    /// The commerce with `file`'s settings and this one's data and catalogue, when every
    /// rule holds; otherwise every rule the data or the catalogue would break (a reload
    /// that would orphan data is refused naming it).
    pub fn with_settings_of(&self, file: &CommerceConfig) -> Result<Commerce, Vec<Violation>> {
        let mut config = file.clone().with_data_of(self.config());
        config.products.clear();
        let mut violations = self.check_document(&config);
        if violations.is_empty() {
            let next = self.with_config(config);
            violations = next.check_catalog();
            if violations.is_empty() {
                return Ok(next);
            }
        }
        Err(violations)
    }

    /// The same catalogue under a document re-indexed.
    fn with_config(&self, config: CommerceConfig) -> Commerce {
        Commerce { settings: Arc::clone(&Commerce::index(config).settings), catalog: self.catalog.clone() }
    }
}
