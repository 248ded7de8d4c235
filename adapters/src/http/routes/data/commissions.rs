//! Commission rules by API (DESIGN.md section 7): listed, read, put and removed like every
//! other kind of data (`…/commission-rules/{code}`), and a change previewed before it is
//! made (`POST …/commission-rules/preview`): over the orders of the last days, what each
//! merchant's commissions are under the rules in force and would be with the change.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::{post, web, HttpResponse};
use mercato_actors::order::ListOrders;
use mercato_engine::commerce::data::{DataChange, DataItem, DataKind};
use mercato_engine::commerce::model::{self, CommerceConfig};
use mercato_engine::order::listing::OrderFilter;
use mercato_engine::order::settlement::preview;
use mercato_engine::DomainError;
use serde::{Deserialize, Serialize};

use super::bodies::{decimal, same_code};
use super::{admin, unreadable, Route};
use crate::http::auth::Principal;
use crate::http::body::Json;
use crate::http::problem::{Problem, Refusals};
use crate::http::AppState;

/// A commission rule, whole. At most one of `sku`, `family` and `merchant`; at least one
/// of `percent` and `fixed_per_unit`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CommissionRuleBody {
    /// The path's code (given here, it must be the same).
    pub code: Option<String>,
    /// The product it applies to.
    pub sku: Option<String>,
    /// The family it applies to.
    pub family: Option<String>,
    /// The merchant it applies to.
    pub merchant: Option<String>,
    /// Percent of the line's amount before tax, 0 to 100.
    #[schema(pattern = r"^[0-9]{1,18}(\.[0-9]{1,10})?$")]
    pub percent: Option<String>,
    /// A fixed amount per unit, by currency code, decimal strings of at least 0.
    pub fixed_per_unit: BTreeMap<String, String>,
    /// Among rules as specific, the higher wins (0 when absent).
    #[schema(minimum = -2_147_483_648_i64, maximum = 2_147_483_647_i64)]
    #[serde(deserialize_with = "crate::http::wire::whole_i32_or_null")]
    pub priority: Option<i32>,
}

impl CommissionRuleBody {
    pub fn into_rule(self, code: &str) -> Result<model::CommissionRule, Vec<String>> {
        let mut problems = Vec::new();
        if let Err(problem) = same_code(self.code.as_deref(), code, "code") {
            problems.push(problem);
        }
        let mut fixed = BTreeMap::new();
        for (currency, text) in &self.fixed_per_unit {
            if let Some(amount) = decimal(text, &format!("fixed_per_unit in {currency}"), &mut problems) {
                fixed.insert(currency.clone(), amount);
            }
        }
        let percent = self.percent.as_deref().and_then(|text| decimal(text, "percent", &mut problems));
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(model::CommissionRule {
            code: code.to_owned(),
            sku: self.sku,
            family: self.family,
            merchant: self.merchant,
            percent,
            fixed_per_unit: fixed,
            priority: self.priority.unwrap_or(0),
        })
    }

    pub fn of(rule: &model::CommissionRule) -> Self {
        CommissionRuleBody {
            code: Some(rule.code.clone()),
            sku: rule.sku.clone(),
            family: rule.family.clone(),
            merchant: rule.merchant.clone(),
            percent: rule.percent.map(|p| p.to_string()),
            fixed_per_unit: rule.fixed_per_unit.iter().map(|(c, a)| (c.clone(), a.to_string())).collect(),
            priority: Some(rule.priority),
        }
    }
}

pub(super) struct CommissionRules;

impl Route for CommissionRules {
    const KIND: DataKind = DataKind::CommissionRule;
    type Body = CommissionRuleBody;
    fn item(body: CommissionRuleBody, code: &str) -> (Option<DataItem>, Vec<String>) {
        super::whole(body.into_rule(code).map(DataItem::CommissionRule))
    }
    fn body(item: &DataItem) -> Option<CommissionRuleBody> {
        match item {
            DataItem::CommissionRule(rule) => Some(CommissionRuleBody::of(rule)),
            _ => None,
        }
    }
    fn codes(config: &CommerceConfig) -> Vec<String> {
        config.commission_rules.iter().map(|x| x.code.clone()).collect()
    }
}

/// The change to preview: a rule put (created or replaced) or removed, over the orders of
/// the last `days` days.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    /// The rule as it would be put (its `code` required).
    pub put: Option<CommissionRuleBody>,
    /// The code of the rule that would be removed.
    pub remove: Option<String>,
    /// 1 to 365 (30 when absent).
    #[schema(minimum = 1, maximum = 365)]
    #[serde(default, deserialize_with = "crate::http::wire::whole_u32_or_null")]
    pub days: Option<u32>,
}

/// One merchant's commissions in one currency, as they are and as they would be.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviewRowDto {
    pub merchant: String,
    pub currency: String,
    pub orders: u64,
    pub lines: u64,
    pub before: String,
    pub after: String,
    pub change: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviewDto {
    pub days: u32,
    /// The orders looked at (at most 10,000, the newest).
    pub orders: usize,
    pub merchants: Vec<PreviewRowDto>,
}

/// The most orders a preview looks at.
const PREVIEW_ORDERS_MAX: usize = 10_000;

#[utoipa::path(
    tag = "pricing",
    summary = "Previews a commission rule put or removed (admin): per merchant and currency, the commissions of the last days' orders as they are and as they would be. Changes nothing.",
    params(("commerce" = String, Path, description = "The commerce code.")),
    request_body = PreviewBody,
    responses((status = 200, description = "What would move", body = PreviewDto), Refusals)
)]
#[post("/v1/commerces/{commerce}/commission-rules/preview")]
pub async fn preview_commission_rule(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    body: Json<PreviewBody>,
) -> Result<HttpResponse, Problem> {
    let handle = admin(&state, &principal, &path)?;
    let body = body.read()?;
    let days = body.days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        let detail = format!("days {days} must be between 1 and 365");
        return Err(Problem::new(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", detail));
    }
    let change = match (body.put, body.remove) {
        (Some(put), None) => {
            let code = put.code.clone().unwrap_or_default();
            let rule =
                put.into_rule(&code).map_err(|problems| unreadable(DataKind::CommissionRule, &code, &problems))?;
            DataChange::Put(Box::new(DataItem::CommissionRule(rule)))
        }
        (None, Some(code)) => DataChange::Remove { kind: DataKind::CommissionRule, code },
        _ => {
            let detail = "exactly one of put and remove is required".to_owned();
            return Err(Problem::new(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", detail));
        }
    };
    let before = handle.snapshot();
    // Checked as the change itself would be; unchanged, it previews the rules as they are.
    let after = before.decide_data(&change)?.map(Arc::new).unwrap_or_else(|| Arc::clone(&before));
    let today = handle.clock().today();
    let from = today.checked_sub_days(chrono::Days::new(u64::from(days - 1))).unwrap_or(today);
    let filter = OrderFilter { from: Some(from), ..OrderFilter::default() };
    let list = ListOrders { filter, commerce: Arc::clone(&before), after: None, limit: PREVIEW_ORDERS_MAX };
    let page = handle.orders().list(list).await.map_err(|error| match error {
        mercato_actors::ActorError::Refused(refusal @ DomainError::UnknownOrder { .. }) => refusal.into(),
        other => Problem::from(other),
    })?;
    let rows = preview(page.orders.iter().map(AsRef::as_ref), &before, &after);
    let merchants = rows
        .into_iter()
        .map(|((merchant, currency), row)| PreviewRowDto {
            merchant,
            currency,
            orders: row.orders,
            lines: row.lines,
            before: row.before.to_string(),
            after: row.after.to_string(),
            change: (row.after - row.before).to_string(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(PreviewDto { days, orders: page.orders.len(), merchants }))
}
