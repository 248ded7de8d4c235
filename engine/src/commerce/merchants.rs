//! A merchant's lifecycle (DESIGN.md section 7): invited by the back office with a token
//! that expires, onboarded by the merchant with that token (the terms in force accepted by
//! version, its legal data given), approved, blocked with a reason and unblocked. Each
//! step is decided against the merchant as the commerce holds it now and gives the
//! merchant as it will be, the step appended to its history with who and when; the result
//! is put as data (`DataChange::Put`), so it is checked against the whole document,
//! recorded and replayed like any other item.

use rust_decimal::{Decimal, RoundingStrategy};

use super::model::{
    Merchant, MerchantAction, MerchantLegal, MerchantRatingRules, MerchantStatus, MerchantTransition, ShipmentStatus,
    MERCHANT_HISTORY_MAX,
};
use super::Commerce;
use crate::time::Timestamp;
use crate::DomainError;

/// The longest reason a block may give, in characters.
pub const BLOCK_REASON_CHARS_MAX: usize = 500;

/// One step of a merchant's lifecycle, as asked.
#[derive(Debug, Clone, PartialEq)]
pub enum MerchantStep {
    /// Invite a new merchant, or invite again one that has not onboarded (a new token).
    /// The token itself is never kept: only its SHA-256.
    Invite { name: String, email: String, commission_percent: Decimal, token_sha256: String },
    /// The merchant accepts the terms of `terms_version` and gives its legal data, with
    /// the invitation's token; again while it waits for approval (to correct its data).
    Onboard { token_sha256: String, terms_version: String, legal: MerchantLegal },
    /// The back office lets an onboarded merchant trade.
    Approve,
    /// The back office blocks the merchant.
    Block { reason: String },
    /// The back office lifts a block: the merchant is back where it was.
    Unblock,
}

impl MerchantStep {
    fn action(&self) -> MerchantAction {
        match self {
            MerchantStep::Invite { .. } => MerchantAction::Invited,
            MerchantStep::Onboard { .. } => MerchantAction::Onboarded,
            MerchantStep::Approve => MerchantAction::Approved,
            MerchantStep::Block { .. } => MerchantAction::Blocked,
            MerchantStep::Unblock => MerchantAction::Unblocked,
        }
    }
}

fn refused(merchant: &Merchant, action: &'static str) -> DomainError {
    let status = merchant.status.map_or("without a status", MerchantStatus::as_str);
    DomainError::MerchantState { merchant: merchant.code.clone(), status, action }
}

impl Commerce {
    /// The merchant `code` after `step`, asked by `by` at `now`; refused when the merchant's
    /// status does not allow it (`merchant_state`), when it is not there (`unknown_merchant`),
    /// or for onboarding when the token is not the invitation's, the invitation expired or
    /// the terms are not those in force. What the document's rules say (formats, the legal
    /// data) is checked when the result is put.
    pub fn decide_merchant(
        &self,
        code: &str,
        step: MerchantStep,
        by: &str,
        now: Timestamp,
    ) -> Result<Merchant, DomainError> {
        let current = self.config().merchants.iter().find(|m| m.code == code);
        let action = step.action();
        let (mut next, to, reason) = match (current, step) {
            (None, MerchantStep::Invite { name, email, commission_percent, token_sha256 }) => {
                let mut merchant = Merchant { code: code.to_owned(), ..Merchant::default() };
                invite(&mut merchant, name, email, commission_percent, token_sha256, self, now);
                (merchant, MerchantStatus::Invited, None)
            }
            (None, _) => {
                return Err(DomainError::UnknownData { kind: super::model::DataKind::Merchant, code: code.into() })
            }
            (Some(merchant), step) => {
                let mut next = merchant.clone();
                let (to, reason) = self.step(&mut next, step, now)?;
                (next, to, reason)
            }
        };
        let from = current.and_then(|m| m.status);
        next.status = Some(to);
        next.history.push(MerchantTransition { action, from, to, at: now.0, by: by.to_owned(), reason });
        let excess = next.history.len().saturating_sub(MERCHANT_HISTORY_MAX);
        next.history.drain(..excess);
        Ok(next)
    }

    /// Applies `step` to an existing merchant: the status it leads to and its reason.
    fn step(
        &self,
        merchant: &mut Merchant,
        step: MerchantStep,
        now: Timestamp,
    ) -> Result<(MerchantStatus, Option<String>), DomainError> {
        let status = merchant.status;
        match step {
            MerchantStep::Invite { name, email, commission_percent, token_sha256 } => {
                if status != Some(MerchantStatus::Invited) {
                    return Err(refused(merchant, "invited again"));
                }
                invite(merchant, name, email, commission_percent, token_sha256, self, now);
                Ok((MerchantStatus::Invited, None))
            }
            MerchantStep::Onboard { token_sha256, terms_version, legal } => {
                if !matches!(status, Some(MerchantStatus::Invited | MerchantStatus::Onboarding)) {
                    return Err(refused(merchant, "onboarded"));
                }
                if merchant.invitation_sha256.as_deref() != Some(token_sha256.as_str()) {
                    return Err(DomainError::InvalidInvitation { merchant: merchant.code.clone() });
                }
                let expires = merchant.invitation_expires_at.unwrap_or(i64::MIN);
                if now.0 >= expires {
                    return Err(DomainError::InvitationExpired { merchant: merchant.code.clone(), at: expires });
                }
                let current = self.config().merchant_terms_version.clone();
                if current.as_deref() != Some(terms_version.as_str()) {
                    return Err(DomainError::TermsOutdated { given: terms_version, current });
                }
                merchant.terms_version = Some(terms_version);
                merchant.legal = Some(legal);
                Ok((MerchantStatus::Onboarding, None))
            }
            MerchantStep::Approve => {
                if status != Some(MerchantStatus::Onboarding) {
                    return Err(refused(merchant, "approved"));
                }
                merchant.invitation_sha256 = None;
                merchant.invitation_expires_at = None;
                Ok((MerchantStatus::Active, None))
            }
            MerchantStep::Block { reason } => {
                if status == Some(MerchantStatus::Blocked) {
                    return Err(refused(merchant, "blocked again"));
                }
                merchant.block_reason = Some(reason.clone());
                Ok((MerchantStatus::Blocked, Some(reason)))
            }
            MerchantStep::Unblock => {
                if status != Some(MerchantStatus::Blocked) {
                    return Err(refused(merchant, "unblocked"));
                }
                merchant.block_reason = None;
                let before = merchant.history.iter().rev().find(|t| t.action == MerchantAction::Blocked);
                // A merchant blocked by the file has no history: it goes back through
                // approval rather than trade unchecked.
                Ok((before.and_then(|t| t.from).unwrap_or(MerchantStatus::Onboarding), None))
            }
        }
    }

    /// The merchant that sells `sku`; none for the commerce's own products. A shipment's
    /// merchant is its first item's: a shipment never mixes merchants.
    pub fn seller(&self, sku: &str) -> Option<&str> {
        self.product(sku).and_then(|p| p.merchant.as_deref())
    }

    /// Whether the products of `merchant` may be sold now: its status when not.
    pub fn merchant_not_trading(&self, merchant: &str) -> Option<MerchantStatus> {
        let status = self.merchant(merchant).and_then(|m| m.status);
        match status {
            Some(MerchantStatus::Active) => None,
            Some(other) => Some(other),
            None => Some(MerchantStatus::Blocked),
        }
    }
}

fn invite(
    merchant: &mut Merchant,
    name: String,
    email: String,
    commission_percent: Decimal,
    token_sha256: String,
    commerce: &Commerce,
    now: Timestamp,
) {
    merchant.name = name;
    merchant.email = email;
    merchant.commission_percent = Some(commission_percent);
    merchant.invitation_sha256 = Some(token_sha256);
    merchant.invitation_expires_at = Some(now.0.saturating_add(commerce.config().merchant_invitation_ms()));
}

/// A merchant's own status in an order, derived from its shipments (a shipment never mixes
/// merchants): `cancelled` when every one was cancelled, `delivered` when every other one
/// is delivered, `returned` when every other one came back, `sent` when every other one
/// left, `partially_sent` when some did, `ready` when all can leave, else `awaiting_stock`.
pub fn part_status(statuses: &[ShipmentStatus]) -> &'static str {
    let live: Vec<ShipmentStatus> = statuses.iter().copied().filter(|s| *s != ShipmentStatus::Cancelled).collect();
    let all = |wanted: &[ShipmentStatus]| live.iter().all(|s| wanted.contains(s));
    let left = [ShipmentStatus::Sent, ShipmentStatus::Delivered, ShipmentStatus::Returned];
    if live.is_empty() {
        "cancelled"
    } else if all(&[ShipmentStatus::Returned]) {
        "returned"
    } else if all(&[ShipmentStatus::Delivered, ShipmentStatus::Returned]) {
        "delivered"
    } else if all(&left) {
        "sent"
    } else if live.iter().any(|s| left.contains(s)) {
        "partially_sent"
    } else if all(&[ShipmentStatus::Ready]) {
        "ready"
    } else {
        "awaiting_stock"
    }
}

/// The default rating window, in days.
pub const RATING_WINDOW_DAYS_DEFAULT: u32 = 90;

/// What a merchant did in a rating's window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RatingCounts {
    pub units: u64,
    pub delivered: u64,
    pub late: u64,
    pub cancelled_units: u64,
    pub returned_units: u64,
}

/// A merchant's rating with its components: each share (0 to 1, four decimals) and its
/// weight, and the score, 0 to 100.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    pub score: Decimal,
    pub window_days: u32,
    pub counts: RatingCounts,
    /// (share, weight) of late deliveries, cancelled units, returned units.
    pub late: (Decimal, Decimal),
    pub cancelled: (Decimal, Decimal),
    pub returned: (Decimal, Decimal),
}

impl MerchantRatingRules {
    pub fn window(&self) -> u32 {
        self.window_days.unwrap_or(RATING_WINDOW_DAYS_DEFAULT)
    }

    /// The rating `counts` make: 100 less 100 times the weighted mean of the shares (100
    /// when every weight is 0 or nothing happened).
    pub fn rate(&self, counts: RatingCounts) -> Rating {
        let share = |part: u64, whole: u64| {
            if whole == 0 {
                Decimal::ZERO
            } else {
                (Decimal::from(part.min(whole)) / Decimal::from(whole))
                    .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
            }
        };
        let weight = |given: Option<Decimal>, default: i64| given.unwrap_or(Decimal::from(default));
        let late = (share(counts.late, counts.delivered), weight(self.late_weight, 50));
        let cancelled = (share(counts.cancelled_units, counts.units), weight(self.cancel_weight, 25));
        let returned = (share(counts.returned_units, counts.units), weight(self.return_weight, 25));
        let weights = late.1 + cancelled.1 + returned.1;
        let score = if weights.is_zero() {
            Decimal::ONE_HUNDRED
        } else {
            let penalty = (late.0 * late.1 + cancelled.0 * cancelled.1 + returned.0 * returned.1) / weights;
            (Decimal::ONE_HUNDRED * (Decimal::ONE - penalty))
                .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero)
                .max(Decimal::ZERO)
        };
        Rating { score, window_days: self.window(), counts, late, cancelled, returned }
    }
}
