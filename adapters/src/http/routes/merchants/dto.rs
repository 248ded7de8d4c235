//! What the merchants' routes take and answer.

use mercato_engine::commerce::model::{Merchant, MerchantAction, MerchantLegal, MerchantStatus, MerchantTransition};
use mercato_engine::time::Timestamp;
use serde::{Deserialize, Serialize};

use crate::http::routes::carts::timestamp;
use crate::http::routes::data::keys::SecretKeyDto;

/// A merchant as the back office and the merchant itself read it (never its invitation's
/// token or digest).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MerchantDto {
    pub code: String,
    pub name: String,
    pub email: String,
    pub status: Option<StatusDto>,
    /// Percent, as a decimal string.
    pub commission_percent: Option<String>,
    pub block_reason: Option<String>,
    /// The version of the terms the merchant accepted.
    pub terms_version: Option<String>,
    pub legal: Option<LegalDto>,
    /// When the open invitation expires (RFC 3339); none once the merchant is approved.
    pub invitation_expires_at: Option<String>,
    /// Every transition, oldest first.
    pub history: Vec<TransitionDto>,
    /// Its rating by the commerce's rules, with its components; null in events and on a
    /// node that keeps no log.
    pub rating: Option<RatingDto>,
}

/// A merchant's rating: 100 less 100 times the weighted mean of its shares of late
/// deliveries, cancelled units and returned units over the window.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RatingDto {
    /// 0 to 100, one decimal.
    pub score: String,
    pub window_days: u32,
    pub units_sold: u64,
    pub shipments_delivered: u64,
    pub late: RatingPartDto,
    pub cancelled: RatingPartDto,
    pub returned: RatingPartDto,
}

/// One component: how many, its share (0 to 1) and its weight.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RatingPartDto {
    pub count: u64,
    pub share: String,
    pub weight: String,
}

impl RatingDto {
    pub fn of(rating: &mercato_engine::commerce::merchants::Rating) -> Self {
        let part = |count: u64, (share, weight): (rust_decimal::Decimal, rust_decimal::Decimal)| RatingPartDto {
            count,
            share: share.normalize().to_string(),
            weight: weight.normalize().to_string(),
        };
        let c = rating.counts;
        RatingDto {
            score: format!("{:.1}", rating.score),
            window_days: rating.window_days,
            units_sold: c.units,
            shipments_delivered: c.delivered,
            late: part(c.late, rating.late),
            cancelled: part(c.cancelled_units, rating.cancelled),
            returned: part(c.returned_units, rating.returned),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusDto {
    Invited,
    Onboarding,
    Active,
    Blocked,
}

impl StatusDto {
    fn of(status: MerchantStatus) -> Self {
        match status {
            MerchantStatus::Invited => StatusDto::Invited,
            MerchantStatus::Onboarding => StatusDto::Onboarding,
            MerchantStatus::Active => StatusDto::Active,
            MerchantStatus::Blocked => StatusDto::Blocked,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionDto {
    Invited,
    Onboarded,
    Approved,
    Blocked,
    Unblocked,
}

/// A transition of the merchant's status: what, from and to, when, by whom, why.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TransitionDto {
    pub action: ActionDto,
    pub from: Option<StatusDto>,
    pub to: StatusDto,
    /// RFC 3339.
    pub at: String,
    pub by: String,
    pub reason: Option<String>,
}

/// A merchant's legal data.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalDto {
    /// The registered name: 1 to 200 characters, not all blank.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub legal_name: String,
    /// The tax or company registration number: 1 to 64 characters, not all blank.
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    pub tax_id: String,
    /// The country of registration, ISO 3166-1 alpha-2.
    #[schema(pattern = "^[A-Z]{2}$")]
    pub country: String,
    /// The registered address: 1 to 500 characters, not all blank.
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub address: String,
}

impl LegalDto {
    pub fn legal(self) -> MerchantLegal {
        let LegalDto { legal_name, tax_id, country, address } = self;
        MerchantLegal { legal_name, tax_id, country, address }
    }
}

fn action(action: MerchantAction) -> ActionDto {
    match action {
        MerchantAction::Invited => ActionDto::Invited,
        MerchantAction::Onboarded => ActionDto::Onboarded,
        MerchantAction::Approved => ActionDto::Approved,
        MerchantAction::Blocked => ActionDto::Blocked,
        MerchantAction::Unblocked => ActionDto::Unblocked,
    }
}

fn transition(t: &MerchantTransition) -> TransitionDto {
    TransitionDto {
        action: action(t.action),
        from: t.from.map(StatusDto::of),
        to: StatusDto::of(t.to),
        at: timestamp(Timestamp(t.at)),
        by: t.by.clone(),
        reason: t.reason.clone(),
    }
}

impl MerchantDto {
    pub fn of(m: &Merchant) -> Self {
        MerchantDto {
            code: m.code.clone(),
            name: m.name.clone(),
            email: m.email.clone(),
            status: m.status.map(StatusDto::of),
            commission_percent: m.commission_percent.map(|p| p.to_string()),
            block_reason: m.block_reason.clone(),
            terms_version: m.terms_version.clone(),
            legal: m.legal.clone().map(|l| LegalDto {
                legal_name: l.legal_name,
                tax_id: l.tax_id,
                country: l.country,
                address: l.address,
            }),
            invitation_expires_at: m.invitation_expires_at.map(|at| timestamp(Timestamp(at))),
            history: m.history.iter().map(transition).collect(),
            rating: None,
        }
    }
}

/// A merchant to invite.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    /// 1 to 64 of a-z, 0-9, '-', '_'.
    #[schema(pattern = r"^[a-z0-9_-]{1,64}$")]
    pub code: String,
    #[schema(max_length = 200)]
    pub name: String,
    /// The address the invitation goes to.
    #[schema(pattern = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$")]
    pub email: String,
    /// The commerce's commission on the merchant's sales, percent, 0 to 100, as a decimal
    /// string.
    #[schema(pattern = r"^[0-9]{1,3}(\.[0-9]{1,10})?$")]
    pub commission_percent: String,
}

/// An invitation just made: its token is in this answer only (the node keeps its SHA-256).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvitationDto {
    /// The token the merchant presents as `Authorization: Bearer <token>` to onboard.
    pub token: String,
    /// RFC 3339.
    pub expires_at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvitedDto {
    pub merchant: MerchantDto,
    pub invitation: InvitationDto,
}

/// What a merchant gives at onboarding.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnboardingBody {
    /// The version of the terms accepted: the commerce's `merchant_terms_version`.
    #[schema(min_length = 1, max_length = 64)]
    pub terms_version: String,
    pub legal: LegalDto,
}

/// An onboarded merchant and, at its first onboarding, its API key (`merchant-{code}`),
/// shown this once: with it the merchant loads its products while it waits for approval.
/// A repeated onboarding (legal data corrected) makes no key: null.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OnboardedDto {
    pub merchant: MerchantDto,
    pub key: Option<SecretKeyDto>,
}

/// Why a merchant is blocked.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockBody {
    /// 1 to 500 characters, not all blank.
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub reason: String,
}
