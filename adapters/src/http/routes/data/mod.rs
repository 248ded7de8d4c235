//! Back-office data by API (DESIGN.md section 12): price rules, discounts, users, user
//! groups and API keys, each listed, read, put (created or replaced) and removed by the
//! administrator; every change checked against the whole document by the file's rules
//! (`422 invalid_data`, every violation at once: removing a user group a price rule names
//! is refused naming the rule), recorded in the log with the key's principal, and
//! answered once durable. `POST …/settings/reload` reloads the commerce's settings from
//! its file (`keys` holds the API keys' routes).

mod bodies;
pub mod commissions;
pub mod keys;

pub use bodies::{DiscountBody, PriceRuleBody, UserBody, UserGroupBody};
use commissions::CommissionRules;
pub use commissions::*;

use actix_web::http::StatusCode;
use actix_web::{delete, get, post, put, web, HttpResponse};
use mercato_actors::settings::Presence;
use mercato_engine::commerce::data::{DataChange, DataItem, DataKind};
use mercato_engine::commerce::model::{ApiRole, CommerceConfig};
use mercato_engine::DomainError;
use serde::Serialize;

use crate::http::auth::Principal;
use crate::http::body::Json;
use crate::http::problem::{Problem, Refusals};
use crate::http::AppState;

/// One kind of data as its routes read and write it.
trait Route {
    const KIND: DataKind;
    type Body: Serialize;
    /// The item a body describes under `code`, and the values that do not read: with
    /// problems, the item (if there is one) holds a stand-in for each, so that the rules
    /// can name every other violation too.
    fn item(body: Self::Body, code: &str) -> (Option<DataItem>, Vec<String>);
    fn body(item: &DataItem) -> Option<Self::Body>;
    fn codes(config: &CommerceConfig) -> Vec<String>;
}

struct PriceRules;
struct Discounts;
struct Users;
struct UserGroups;

impl Route for PriceRules {
    const KIND: DataKind = DataKind::PriceRule;
    type Body = PriceRuleBody;
    fn item(body: PriceRuleBody, code: &str) -> (Option<DataItem>, Vec<String>) {
        let (rule, problems) = body.read(code);
        (Some(DataItem::PriceRule(rule)), problems)
    }
    fn body(item: &DataItem) -> Option<PriceRuleBody> {
        match item {
            DataItem::PriceRule(rule) => Some(PriceRuleBody::of(rule)),
            _ => None,
        }
    }
    fn codes(config: &CommerceConfig) -> Vec<String> {
        config.price_rules.iter().map(|x| x.code.clone()).collect()
    }
}

impl Route for Discounts {
    const KIND: DataKind = DataKind::Discount;
    type Body = DiscountBody;
    fn item(body: DiscountBody, code: &str) -> (Option<DataItem>, Vec<String>) {
        let (discount, problems) = body.read(code);
        (Some(DataItem::Discount(discount)), problems)
    }
    fn body(item: &DataItem) -> Option<DiscountBody> {
        match item {
            DataItem::Discount(discount) => Some(DiscountBody::of(discount)),
            _ => None,
        }
    }
    fn codes(config: &CommerceConfig) -> Vec<String> {
        config.discounts.iter().map(|x| x.code.clone()).collect()
    }
}

impl Route for Users {
    const KIND: DataKind = DataKind::User;
    type Body = UserBody;
    fn item(body: UserBody, code: &str) -> (Option<DataItem>, Vec<String>) {
        whole(body.into_user(code).map(DataItem::User))
    }
    fn body(item: &DataItem) -> Option<UserBody> {
        match item {
            DataItem::User(user) => Some(UserBody::of(user)),
            _ => None,
        }
    }
    fn codes(config: &CommerceConfig) -> Vec<String> {
        config.users.iter().map(|x| x.id.clone()).collect()
    }
}

impl Route for UserGroups {
    const KIND: DataKind = DataKind::UserGroup;
    type Body = UserGroupBody;
    fn item(body: UserGroupBody, code: &str) -> (Option<DataItem>, Vec<String>) {
        whole(body.into_group(code).map(DataItem::UserGroup))
    }
    fn body(item: &DataItem) -> Option<UserGroupBody> {
        match item {
            DataItem::UserGroup(group) => Some(UserGroupBody::of(group)),
            _ => None,
        }
    }
    fn codes(config: &CommerceConfig) -> Vec<String> {
        config.user_groups.iter().map(|x| x.code.clone()).collect()
    }
}

/// The commerce, for its administrator only (the role and tenant check comes first).
fn admin<'a>(
    state: &'a AppState,
    principal: &Principal,
    code: &str,
) -> Result<&'a mercato_actors::CommerceHandle, Problem> {
    principal.authorize(code, &[ApiRole::Admin])?;
    state.registry.get(code).ok_or_else(|| Problem::commerce_not_found(code))
}

fn not_found(kind: DataKind, code: &str) -> Problem {
    mercato_engine::DomainError::UnknownData { kind, code: code.to_owned() }.into()
}

/// A body that does not read as an item: 422 `invalid_data`, naming each value.
/// An item read whole, or only its problems (no stand-in).
pub(super) fn whole(read: Result<DataItem, Vec<String>>) -> (Option<DataItem>, Vec<String>) {
    match read {
        Ok(item) => (Some(item), Vec::new()),
        Err(problems) => (None, problems),
    }
}

pub(crate) fn unreadable(kind: DataKind, code: &str, problems: &[String]) -> Problem {
    let detail = format!("{} \"{code}\": {}", kind.noun(), problems.join("; "));
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_data", detail)
}

fn list<R: Route>(state: &AppState, principal: &Principal, code: &str) -> Result<HttpResponse, Problem> {
    let handle = admin(state, principal, code)?;
    let commerce = handle.snapshot();
    let config = commerce.config();
    let items: Vec<R::Body> = R::codes(config)
        .iter()
        .filter_map(|item| config.data_item(R::KIND, item))
        .filter_map(|item| R::body(&item))
        .collect();
    Ok(HttpResponse::Ok().json(items))
}

fn read<R: Route>(
    state: &AppState,
    principal: &Principal,
    (code, item): (&str, &str),
) -> Result<HttpResponse, Problem> {
    let handle = admin(state, principal, code)?;
    let found = handle.snapshot().config().data_item(R::KIND, item).ok_or_else(|| not_found(R::KIND, item))?;
    Ok(HttpResponse::Ok().json(R::body(&found)))
}

async fn write<R: Route>(
    state: &AppState,
    principal: &Principal,
    (code, item): (&str, &str),
    body: Json<R::Body>,
) -> Result<HttpResponse, Problem>
where
    R::Body: serde::de::DeserializeOwned + 'static,
{
    let handle = admin(state, principal, code)?;
    let made = match R::item(body.read()?, item) {
        (Some(made), problems) if problems.is_empty() => made,
        (stand_in, mut problems) => {
            let checked = stand_in.map(|stand_in| handle.snapshot().decide_data(&DataChange::Put(Box::new(stand_in))));
            if let Some(Err(DomainError::InvalidData { violations, .. })) = checked {
                problems.extend(violations.iter().map(ToString::to_string));
            }
            return Err(unreadable(R::KIND, item, &problems));
        }
    };
    let existed = handle.snapshot().config().data_item(R::KIND, item).is_some();
    // The answer is the item as put, even if another request has changed it since.
    let answer = R::body(&made);
    handle.change_data(DataChange::Put(Box::new(made)), principal.author(), Presence::Any).await?;
    let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
    Ok(HttpResponse::build(status).json(answer))
}

async fn remove<R: Route>(
    state: &AppState,
    principal: &Principal,
    (code, item): (&str, &str),
) -> Result<HttpResponse, Problem> {
    let handle = admin(state, principal, code)?;
    let change = DataChange::Remove { kind: R::KIND, code: item.to_owned() };
    handle.change_data(change, principal.author(), Presence::Any).await?;
    Ok(HttpResponse::NoContent().finish())
}

type Both = web::Path<(String, String)>;

macro_rules! data_routes {
    ($route:ty, $body:ty, $tag:literal, $noun:literal, $all:literal, $one:literal,
     $list:ident, $get:ident, $put:ident, $delete:ident) => {
        #[utoipa::path(
            tag = $tag,
            summary = concat!("Lists the commerce's ", $noun, "s (admin)."),
            params(("commerce" = String, Path, description = "The commerce code.")),
            responses((status = 200, description = "Every one, in the document's order", body = Vec<$body>), Refusals)
        )]
        #[get($all)]
        pub async fn $list(
            state: web::Data<AppState>,
            principal: Principal,
            path: web::Path<String>,
        ) -> Result<HttpResponse, Problem> {
            list::<$route>(&state, &principal, &path)
        }

        #[utoipa::path(
            tag = $tag,
            summary = concat!("Reads one ", $noun, " (admin)."),
            params(
                ("commerce" = String, Path, description = "The commerce code."),
                ("code" = String, Path, description = "Its code (a user's id).")
            ),
            responses((status = 200, description = "It, whole", body = $body), Refusals)
        )]
        #[get($one)]
        pub async fn $get(state: web::Data<AppState>, principal: Principal, path: Both) -> Result<HttpResponse, Problem> {
            read::<$route>(&state, &principal, (&path.0, &path.1))
        }

        #[utoipa::path(
            tag = $tag,
            summary = concat!("Creates or replaces one ", $noun, " (admin), checked against the whole document."),
            params(
                ("commerce" = String, Path, description = "The commerce code."),
                ("code" = String, Path, description = "Its code (a user's id).")
            ),
            request_body = $body,
            responses(
                (status = 200, description = "Replaced (or unchanged)", body = $body),
                (status = 201, description = "Created", body = $body),
                Refusals
            )
        )]
        #[put($one)]
        pub async fn $put(
            state: web::Data<AppState>,
            principal: Principal,
            path: Both,
            body: Json<$body>,
        ) -> Result<HttpResponse, Problem> {
            write::<$route>(&state, &principal, (&path.0, &path.1), body).await
        }

        #[utoipa::path(
            tag = $tag,
            summary = concat!("Removes one ", $noun, " (admin); refused while other data names it."),
            params(
                ("commerce" = String, Path, description = "The commerce code."),
                ("code" = String, Path, description = "Its code (a user's id).")
            ),
            responses((status = 204, description = "Removed"), Refusals)
        )]
        #[delete($one)]
        pub async fn $delete(
            state: web::Data<AppState>,
            principal: Principal,
            path: Both,
        ) -> Result<HttpResponse, Problem> {
            remove::<$route>(&state, &principal, (&path.0, &path.1)).await
        }
    };
}

data_routes!(
    PriceRules,
    PriceRuleBody,
    "pricing",
    "price rule",
    "/v1/commerces/{commerce}/price-rules",
    "/v1/commerces/{commerce}/price-rules/{code}",
    list_price_rules,
    get_price_rule,
    put_price_rule,
    delete_price_rule
);
data_routes!(
    CommissionRules,
    CommissionRuleBody,
    "pricing",
    "commission rule",
    "/v1/commerces/{commerce}/commission-rules",
    "/v1/commerces/{commerce}/commission-rules/{code}",
    list_commission_rules,
    get_commission_rule,
    put_commission_rule,
    delete_commission_rule
);
data_routes!(
    Discounts,
    DiscountBody,
    "pricing",
    "discount",
    "/v1/commerces/{commerce}/discounts",
    "/v1/commerces/{commerce}/discounts/{code}",
    list_discounts,
    get_discount,
    put_discount,
    delete_discount
);
data_routes!(
    Users,
    UserBody,
    "back office",
    "user",
    "/v1/commerces/{commerce}/users",
    "/v1/commerces/{commerce}/users/{code}",
    list_users,
    get_user,
    put_user,
    delete_user
);
data_routes!(
    UserGroups,
    UserGroupBody,
    "back office",
    "user group",
    "/v1/commerces/{commerce}/user-groups",
    "/v1/commerces/{commerce}/user-groups/{code}",
    list_user_groups,
    get_user_group,
    put_user_group,
    delete_user_group
);

/// What a settings reload did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReloadDto {
    /// False when the file's settings are those in force (nothing was recorded).
    pub reloaded: bool,
}

#[utoipa::path(
    tag = "back office",
    summary = "Reloads the commerce's settings from its configuration file (admin): validated whole, refused naming \
               every rule the file or the data would break, recorded in the log.",
    params(("commerce" = String, Path, description = "The commerce code.")),
    responses((status = 200, description = "Reloaded, or unchanged", body = ReloadDto), Refusals)
)]
#[post("/v1/commerces/{commerce}/settings/reload")]
pub async fn reload_settings(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let handle = admin(&state, &principal, &path)?;
    let reloaded = crate::reload::reload_one(&state, &path, handle, &principal.name).await?;
    Ok(HttpResponse::Ok().json(ReloadDto { reloaded }))
}
