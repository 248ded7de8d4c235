//! Back-office data as `PUT …/price-rules/{code}`, `…/discounts/{code}`, `…/users/{id}`
//! and `…/user-groups/{code}` take it and answer it: the configuration file's tables in
//! JSON, decimals as strings. A value that does not read (a decimal, a date) is named in
//! the refusal; every other rule is the file's, checked by the engine against the whole
//! document (`invalid_data`, every violation at once). Unknown fields are refused naming
//! the field.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use mercato_engine::commerce::model;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A price rule, whole. Exactly one of `sku` and `family`; exactly one of `prices` and
/// `percent`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PriceRuleBody {
    /// The path's code (given here, it must be the same).
    pub code: Option<String>,
    /// The product it prices.
    pub sku: Option<String>,
    /// The family it prices.
    pub family: Option<String>,
    /// Fixed unit prices per currency code, decimal strings before tax; the main
    /// currency's is required when any is given.
    pub prices: BTreeMap<String, String>,
    /// Change over the base price, percent, above -100 (`"-15"` is 15 % off).
    #[schema(pattern = r"^-?[0-9]{1,18}(\.[0-9]{1,10})?$")]
    pub percent: Option<String>,
    /// From this many units of the line; at least 1 (1 when absent).
    #[schema(minimum = 1, maximum = 4_294_967_295_i64)]
    #[serde(deserialize_with = "crate::http::wire::whole_u32_or_null")]
    pub min_quantity: Option<u32>,
    /// Only this user (a user id of the commerce).
    pub user: Option<String>,
    /// Only this user group.
    pub group: Option<String>,
    /// Only shoppers inside this area.
    pub area: Option<String>,
    /// Only shoppers in this country.
    pub country: Option<String>,
    /// Among rules as specific, the higher wins (0 when absent).
    #[schema(minimum = -2_147_483_648_i64, maximum = 2_147_483_647_i64)]
    #[serde(deserialize_with = "crate::http::wire::whole_i32_or_null")]
    pub priority: Option<i32>,
}

/// A discount, whole: a product discount (`sku` or `family`, `percent` or `amount`) or a
/// cart discount (`percent`, `amount` or `free_shipping`, with an optional threshold and
/// promo code).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountBody {
    /// The path's code (given here, it must be the same).
    #[serde(default)]
    pub code: Option<String>,
    /// A label for people.
    #[serde(default)]
    pub name: String,
    /// `product` or `cart`.
    pub kind: DiscountKindBody,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub family: Option<String>,
    /// Percent off, above 0 and at most 100.
    #[schema(pattern = r"^[0-9]{1,18}(\.[0-9]{1,10})?$")]
    #[serde(default)]
    pub percent: Option<String>,
    /// An amount off in the main currency, before tax.
    #[schema(pattern = r"^[0-9]{1,18}(\.[0-9]{1,10})?$")]
    #[serde(default)]
    pub amount: Option<String>,
    /// First day it applies, `YYYY-MM-DD`.
    #[schema(format = Date)]
    #[serde(default)]
    pub starts: Option<String>,
    /// Last day it applies, `YYYY-MM-DD`.
    #[schema(format = Date)]
    #[serde(default)]
    pub ends: Option<String>,
    /// Cart discounts: the subtotal it needs, main currency, before tax.
    #[schema(pattern = r"^[0-9]{1,18}(\.[0-9]{1,10})?$")]
    #[serde(default)]
    pub min_subtotal: Option<String>,
    /// Cart discounts: the code a shopper enters.
    #[serde(default)]
    pub promo_code: Option<String>,
    /// Cart discounts: shipping costs nothing.
    #[serde(default)]
    pub free_shipping: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiscountKindBody {
    Product,
    Cart,
}

/// A user account, whole.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    /// The path's id (given here, it must be the same).
    #[serde(default)]
    pub id: Option<String>,
    /// Its email address: it contains '@'.
    #[schema(pattern = "@")]
    pub email: String,
    /// What the account is.
    pub role: UserRoleBody,
    /// The user groups it belongs to (each a user group of the commerce).
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserRoleBody {
    SuperAdmin,
    Admin,
    Customer,
}

/// A user group, whole.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct UserGroupBody {
    /// The path's code (given here, it must be the same).
    pub code: Option<String>,
    /// Display name.
    pub name: String,
}

/// What stands in for an amount that does not read while the rest is checked (it keeps
/// every rule an amount has: above 0, at most 100 percent).
const STAND_IN: Decimal = Decimal::ONE;

/// A decimal of the shape the document states (`wire::AMOUNT_PATTERN`), or none with the
/// problem kept.
pub(crate) fn decimal(text: &str, what: &str, problems: &mut Vec<String>) -> Option<Decimal> {
    let read = crate::http::wire::amount(text);
    if read.is_none() {
        problems
            .push(format!("{what} \"{text}\" is not a decimal number of up to 18 digits, a point and up to 10 more"));
    }
    read
}

/// `decimal`, or its negation after a `-` (a change in percent).
fn signed_decimal(text: &str, what: &str, problems: &mut Vec<String>) -> Option<Decimal> {
    let read = crate::http::wire::signed_amount(text);
    if read.is_none() {
        problems.push(format!("{what} \"{text}\" is not a decimal number of up to 18 digits, a point and up to 10 more, with or without a '-' before"));
    }
    read
}

fn date(text: &str, what: &str, problems: &mut Vec<String>) -> Option<NaiveDate> {
    let read = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().filter(|_| crate::http::wire::is_date_shaped(text));
    if read.is_none() {
        problems.push(format!("{what} \"{text}\" is not a date (YYYY-MM-DD)"));
    }
    read
}

/// Refuses a body's own code when it is not the path's.
pub fn same_code(given: Option<&str>, path: &str, field: &str) -> Result<(), String> {
    match given {
        Some(given) if given != path => Err(format!("{field} \"{given}\" is not the path's \"{path}\"")),
        _ => Ok(()),
    }
}

impl PriceRuleBody {
    /// The rule this body describes under `code`, and the values that do not read, each
    /// named, with a stand-in (`STAND_IN`) in their place so that the rules may be checked
    /// on the rest.
    pub fn read(self, code: &str) -> (model::PriceRule, Vec<String>) {
        let mut problems = Vec::new();
        if let Err(problem) = same_code(self.code.as_deref(), code, "code") {
            problems.push(problem);
        }
        let mut prices = BTreeMap::new();
        for (currency, text) in &self.prices {
            let price = decimal(text, &format!("price in {currency}"), &mut problems);
            prices.insert(currency.clone(), price.unwrap_or(STAND_IN));
        }
        let percent =
            self.percent.as_deref().map(|text| signed_decimal(text, "percent", &mut problems).unwrap_or(STAND_IN));
        let rule = model::PriceRule {
            code: code.to_owned(),
            sku: self.sku,
            family: self.family,
            prices,
            percent,
            min_quantity: self.min_quantity.unwrap_or(1),
            user: self.user,
            group: self.group,
            area: self.area,
            country: self.country,
            priority: self.priority.unwrap_or(0),
        };
        (rule, problems)
    }

    pub fn of(rule: &model::PriceRule) -> Self {
        PriceRuleBody {
            code: Some(rule.code.clone()),
            sku: rule.sku.clone(),
            family: rule.family.clone(),
            prices: rule.prices.iter().map(|(c, p)| (c.clone(), p.to_string())).collect(),
            percent: rule.percent.map(|p| p.to_string()),
            min_quantity: Some(rule.min_quantity),
            user: rule.user.clone(),
            group: rule.group.clone(),
            area: rule.area.clone(),
            country: rule.country.clone(),
            priority: Some(rule.priority),
        }
    }
}

impl DiscountBody {
    /// The discount this body describes under `code`, and the values that do not read,
    /// each named, with a stand-in in their place (`STAND_IN`; an unreadable date is left
    /// out) so that the rules may be checked on the rest.
    pub fn read(self, code: &str) -> (model::Discount, Vec<String>) {
        let mut problems = Vec::new();
        if let Err(problem) = same_code(self.code.as_deref(), code, "code") {
            problems.push(problem);
        }
        let mut amount = |text: &Option<String>, what: &str| {
            text.as_deref().map(|t| decimal(t, what, &mut problems).unwrap_or(STAND_IN))
        };
        let (percent, off, min_subtotal) = (
            amount(&self.percent, "percent"),
            amount(&self.amount, "amount"),
            amount(&self.min_subtotal, "min_subtotal"),
        );
        let starts = self.starts.as_deref().and_then(|t| date(t, "starts", &mut problems));
        let ends = self.ends.as_deref().and_then(|t| date(t, "ends", &mut problems));
        let discount = model::Discount {
            code: code.to_owned(),
            name: self.name,
            kind: Some(match self.kind {
                DiscountKindBody::Product => model::DiscountKind::Product,
                DiscountKindBody::Cart => model::DiscountKind::Cart,
            }),
            sku: self.sku,
            family: self.family,
            percent,
            amount: off,
            starts,
            ends,
            min_subtotal,
            promo_code: self.promo_code,
            free_shipping: self.free_shipping,
        };
        (discount, problems)
    }

    pub fn of(discount: &model::Discount) -> Self {
        let text = |value: Option<Decimal>| value.map(|v| v.to_string());
        DiscountBody {
            code: Some(discount.code.clone()),
            name: discount.name.clone(),
            kind: match discount.kind {
                Some(model::DiscountKind::Product) => DiscountKindBody::Product,
                // Validation requires a kind.
                Some(model::DiscountKind::Cart) | None => DiscountKindBody::Cart,
            },
            sku: discount.sku.clone(),
            family: discount.family.clone(),
            percent: text(discount.percent),
            amount: text(discount.amount),
            starts: discount.starts.map(|d| d.to_string()),
            ends: discount.ends.map(|d| d.to_string()),
            min_subtotal: text(discount.min_subtotal),
            promo_code: discount.promo_code.clone(),
            free_shipping: discount.free_shipping,
        }
    }
}

impl UserBody {
    pub fn into_user(self, id: &str) -> Result<model::User, Vec<String>> {
        same_code(self.id.as_deref(), id, "id").map_err(|problem| vec![problem])?;
        Ok(model::User {
            id: id.to_owned(),
            email: self.email,
            role: Some(match self.role {
                UserRoleBody::SuperAdmin => model::UserRole::SuperAdmin,
                UserRoleBody::Admin => model::UserRole::Admin,
                UserRoleBody::Customer => model::UserRole::Customer,
            }),
            groups: self.groups,
        })
    }

    pub fn of(user: &model::User) -> Self {
        UserBody {
            id: Some(user.id.clone()),
            email: user.email.clone(),
            role: match user.role {
                Some(model::UserRole::SuperAdmin) => UserRoleBody::SuperAdmin,
                Some(model::UserRole::Admin) => UserRoleBody::Admin,
                // Validation requires a role.
                Some(model::UserRole::Customer) | None => UserRoleBody::Customer,
            },
            groups: user.groups.clone(),
        }
    }
}

impl UserGroupBody {
    pub fn into_group(self, code: &str) -> Result<model::UserGroup, Vec<String>> {
        same_code(self.code.as_deref(), code, "code").map_err(|problem| vec![problem])?;
        Ok(model::UserGroup { code: code.to_owned(), name: self.name })
    }

    pub fn of(group: &model::UserGroup) -> Self {
        UserGroupBody { code: Some(group.code.clone()), name: group.name.clone() }
    }
}
