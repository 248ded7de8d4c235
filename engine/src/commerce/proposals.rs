//! Merchants' product changes under review (DESIGN.md section 7): where the commerce sets
//! `merchant_product_review`, a merchant's put or retirement of its own product waits as a
//! proposal (back-office data, one item per proposal) until the back office accepts it
//! (then it goes live as a catalogue change) or rejects it with a reason. A proposal is
//! checked by the catalogue's rules when it is made, and again when it is accepted.

use serde::{Deserialize, Serialize};

use super::data::DataItem;
use super::model::{CommerceConfig, DataKind, Product};
use super::Commerce;
use crate::time::Timestamp;
use crate::DomainError;

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    #[default]
    Pending,
    Accepted,
    Rejected,
}

impl ProposalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::Pending => "pending",
            ProposalStatus::Accepted => "accepted",
            ProposalStatus::Rejected => "rejected",
        }
    }
}

/// A merchant's change of one of its products, waiting for the back office.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct ProductProposal {
    /// `PP-{n}`, given when it is made. Unique among the proposals.
    #[schemars(extend("x-required" = true))]
    pub code: String,
    #[schemars(extend("x-required" = true))]
    pub sku: String,
    /// The merchant that proposed it (a declared merchant).
    #[schemars(extend("x-required" = true))]
    pub merchant: String,
    /// The product as it would be; none: the product retired.
    pub product: Option<Box<Product>>,
    /// The product's version it was proposed against (none: a new product); accepted only
    /// while it is still the product's version.
    pub base_version: Option<u32>,
    pub status: ProposalStatus,
    /// Why it was rejected.
    pub reason: Option<String>,
    pub proposed_by: String,
    /// Milliseconds since the epoch.
    pub proposed_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
}

/// The longest rejection reason, in characters.
pub const REASON_CHARS_MAX: usize = 500;

impl CommerceConfig {
    /// Whether merchants' product changes wait for the back office.
    pub fn reviews_products(&self) -> bool {
        self.merchant_product_review.unwrap_or(false)
    }
}

impl Commerce {
    /// A new proposal of `merchant` for `sku` (a product checked by the catalogue's rules,
    /// or none: retire it), against the product's version now.
    pub fn propose(
        &self,
        (sku, merchant): (&str, &str),
        product: Option<Product>,
        (by, now): (&str, Timestamp),
    ) -> Result<DataItem, DomainError> {
        let current = self.catalog().get(sku);
        let product = match product {
            Some(product) => Some(Box::new(self.check_product(product)?)),
            None if current.is_none() => return Err(DomainError::UnknownSku { sku: sku.to_owned() }),
            None => None,
        };
        // The same change asked again (a retried request) is the proposal already waiting.
        let waiting = self.config().product_proposals.iter().find(|p| {
            p.status == ProposalStatus::Pending && p.sku == sku && p.merchant == merchant && p.product == product
        });
        if let Some(waiting) = waiting {
            return Ok(DataItem::ProductProposal(waiting.clone()));
        }
        // After the highest number given, whatever the file seeded.
        let number = self
            .config()
            .product_proposals
            .iter()
            .filter_map(|p| p.code.strip_prefix("PP-")?.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
            + 1;
        Ok(DataItem::ProductProposal(ProductProposal {
            code: format!("PP-{number}"),
            sku: sku.to_owned(),
            merchant: merchant.to_owned(),
            product,
            base_version: current.map(|h| h.current().version),
            status: ProposalStatus::Pending,
            reason: None,
            proposed_by: by.to_owned(),
            proposed_at: now.0,
            decided_by: None,
            decided_at: None,
        }))
    }

    /// Proposal `code` decided (accepted, or rejected with `reason`), if it is pending.
    pub fn decide_proposal(
        &self,
        code: &str,
        accepted: bool,
        reason: Option<String>,
        (by, now): (&str, Timestamp),
    ) -> Result<DataItem, DomainError> {
        let mut proposal = self.proposal(code)?.clone();
        if proposal.status != ProposalStatus::Pending {
            return Err(DomainError::ProposalDecided { code: code.to_owned(), status: proposal.status.as_str() });
        }
        proposal.status = if accepted { ProposalStatus::Accepted } else { ProposalStatus::Rejected };
        proposal.reason = reason;
        proposal.decided_by = Some(by.to_owned());
        proposal.decided_at = Some(now.0);
        Ok(DataItem::ProductProposal(proposal))
    }

    /// Proposal `code`.
    pub fn proposal(&self, code: &str) -> Result<&ProductProposal, DomainError> {
        self.config()
            .product_proposals
            .iter()
            .find(|p| p.code == code)
            .ok_or_else(|| DomainError::UnknownData { kind: DataKind::ProductProposal, code: code.to_owned() })
    }
}

/// A proposal names a declared merchant and a SKU; its reason is short.
pub(crate) fn check(
    c: &CommerceConfig,
    merchants: &std::collections::HashSet<&str>,
    report: &mut super::validate::Report,
) {
    for proposal in &c.product_proposals {
        let at = super::validate::entity("product proposal", &proposal.code);
        if !proposal.code.starts_with("PP-") || proposal.code.len() > 64 {
            report.push(&at, "invalid_format", format!("code \"{}\" must be PP- and a number", proposal.code));
        }
        if proposal.sku.trim().is_empty() {
            report.push(&at, "missing", "sku is required".into());
        }
        report.refs(&at, "merchant", [&proposal.merchant], merchants);
        if proposal.reason.as_ref().is_some_and(|r| r.chars().count() > REASON_CHARS_MAX) {
            report.push(&at, "invalid_value", format!("reason is longer than {REASON_CHARS_MAX} characters"));
        }
    }
}
