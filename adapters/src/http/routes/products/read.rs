//! `GET …/products/{sku}`: a product, in the storefront's language (falling back to the
//! commerce's default language) or whole for the administrator and its merchant; and
//! `GET …/products/translations`: what each language still lacks.

use super::*;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProductQuery {
    /// The language of the name and description (default: the commerce's); a product
    /// without its own in it answers in the default language, and `language` says which.
    pub language: Option<String>,
    /// The product as it was at this moment (RFC 3339; admin and its merchant).
    #[param(format = DateTime)]
    pub at: Option<String>,
    /// The product as it was at this version (admin and its merchant); not with `at`.
    #[param(minimum = 1, maximum = 4_294_967_295_i64)]
    pub version: Option<u32>,
}

/// A medium as a storefront shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MediaReadDto {
    pub url: String,
    pub kind: Option<MediaKindBody>,
    /// The alternative text in the language asked for (or the default one).
    pub alt: Option<String>,
}

/// A product as the API reads it. `names`, `prices`, `stock_policy_overrides`,
/// `document` and who changed it last are the whole product's, for the administrator and
/// the product's merchant; null for a storefront, which reads the name and description in
/// its language.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductReadDto {
    #[serde(flatten)]
    pub product: ProductDto,
    /// The language `name` is in: the one asked for, or the default one when the product
    /// has no name in it yet.
    pub language: Option<String>,
    /// Related products by SKU (to a storefront, those sold now: not retired, of no
    /// merchant or one that trades).
    pub related: Vec<String>,
    /// The description in `language` (or the default language's).
    pub description: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub media: Vec<MediaReadDto>,
    /// Names by language code.
    pub names: Option<BTreeMap<String, String>>,
    /// Base prices by currency code, before tax.
    pub prices: Option<BTreeMap<String, String>>,
    /// Stock policies by warehouse code, where a warehouse overrides the product's.
    pub stock_policy_overrides: Option<BTreeMap<String, PolicyDto>>,
    /// When this version was made (RFC 3339) and by whom.
    pub changed_at: Option<String>,
    pub changed_by: Option<String>,
    /// The product as `PUT` takes it (and `PATCH` merges into).
    pub document: Option<ProductBody>,
}

/// What a reader sees of one version of a product: whole (administrator, its merchant)
/// or in `language` (a storefront, whose related products are those `commerce` sells).
pub(super) fn read_dto(
    commerce: &Commerce,
    version: &ProductVersion,
    language: &str,
    default_language: &str,
    whole: bool,
) -> ProductReadDto {
    let product = version.product.as_ref();
    let overrides = || {
        let policies = product.stock_policy_overrides.iter();
        policies.map(|(w, c)| (w.clone(), c.policy().unwrap_or_default().into())).collect()
    };
    let in_language =
        |texts: &litemap::LiteMap<String, String>| texts.get(language).or_else(|| texts.get(default_language)).cloned();
    ProductReadDto {
        product: version_dto(version, language, default_language),
        language: product.name_in(language, default_language).map(|(used, _)| used.to_owned()),
        related: if whole {
            product.related.clone()
        } else {
            product.related.iter().filter(|sku| commerce.sold(sku).is_some()).cloned().collect()
        },
        description: in_language(&product.descriptions),
        attributes: product.attributes.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        media: product
            .media
            .iter()
            .map(|m| MediaReadDto { url: m.url.clone(), kind: m.kind.map(media_kind), alt: in_language(&m.alt) })
            .collect(),
        names: whole.then(|| product.names.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        prices: whole.then(|| product.prices.iter().map(|(c, p)| (c.clone(), p.to_string())).collect()),
        stock_policy_overrides: whole.then(overrides),
        changed_at: whole.then(|| timestamp(version.at)),
        changed_by: whole.then(|| version.by.to_string()),
        document: whole.then(|| ProductBody::of(product)),
    }
}

/// The product a key may see under `sku`: another merchant's is answered exactly as one
/// that does not exist, and so is a retired one to a storefront.
pub(super) fn visible<'a>(
    commerce: &'a Commerce,
    principal: &Principal,
    sku: &str,
) -> Result<&'a ProductHistory, Problem> {
    commerce
        .catalog()
        .get(sku)
        .filter(|h| {
            principal.role != ApiRole::Merchant || h.product().merchant.as_deref() == principal.merchant.as_deref()
        })
        .filter(|h| principal.role != ApiRole::Storefront || !h.retired())
        .ok_or_else(|| Problem::unknown_sku(sku))
}

/// A moment given as RFC 3339, or the refusal naming the parameter and its value.
pub(super) fn moment(name: &str, text: &str) -> Result<Timestamp, Problem> {
    chrono::DateTime::parse_from_rfc3339(text).map(|t| Timestamp(t.timestamp_millis())).map_err(|_| {
        let detail = format!("{name} \"{text}\" is not an RFC 3339 time (2026-12-04T10:00:00Z)");
        Problem::new(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_time", detail)
    })
}

#[utoipa::path(
    tag = "catalog",
    summary = "A product: in the storefront's language, or whole, now or as it was (admin, its merchant).",
    params(
        ("commerce" = String, Path, description = "The commerce code."),
        ("sku" = String, Path, description = "The SKU."),
        ProductQuery
    ),
    responses(
        (status = 200, description = "Success", body = ProductReadDto),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/products/{sku}")]
pub async fn get_product(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: crate::http::query::Query<ProductQuery>,
) -> Result<HttpResponse, Problem> {
    let (code, sku) = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin, ApiRole::Storefront, ApiRole::Merchant])?;
    let commerce = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?.snapshot();
    let history = visible(&commerce, &principal, &sku)?;
    let query = query.read()?;
    let default_language = commerce.config().default_language.as_str();
    let language = match &query.language {
        Some(language) => {
            commerce.language(language).ok_or(DomainError::UnknownLanguage { code: language.clone() })?;
            language.as_str()
        }
        None => default_language,
    };
    let whole = principal.role != ApiRole::Storefront;
    let version = match (&query.at, query.version) {
        (Some(_), Some(_)) => {
            let detail = "give at or version, not both";
            return Err(Problem::new(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_query", detail));
        }
        (None, None) => history.current(),
        _ if !whole => {
            return Err(Problem::forbidden("only the administrator and the product's merchant read past versions"))
        }
        (Some(at), None) => {
            let at = moment("at", at)?;
            history.as_of(at).ok_or(DomainError::NoProductVersionAt { sku: sku.clone(), at: at.0 })?
        }
        (None, Some(version)) => {
            history.version(version).ok_or(DomainError::UnknownProductVersion { sku: sku.clone(), version })?
        }
    };
    Ok(HttpResponse::Ok().json(read_dto(&commerce, version, language, default_language, whole)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TranslationsQuery {
    /// One language to report (default: every language of the commerce but the default
    /// one, which every product has).
    pub language: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MissingDto {
    pub sku: String,
    /// What the product lacks in the language: `name`; `description` when it has one in
    /// another language; `media_alt` when a medium has alternative text in another
    /// language but not this one.
    pub fields: Vec<&'static str>,
}

/// What `product` lacks in `language` that it has in another.
fn missing_in(product: &Product, language: &str) -> Vec<&'static str> {
    let mut fields = Vec::new();
    if !product.names.contains_key(language) {
        fields.push("name");
    }
    if !product.descriptions.is_empty() && !product.descriptions.contains_key(language) {
        fields.push("description");
    }
    if product.media.iter().any(|m| !m.alt.is_empty() && !m.alt.contains_key(language)) {
        fields.push("media_alt");
    }
    fields
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LanguageGapsDto {
    pub language: String,
    /// Products without their own content in the language, by SKU (they show the default
    /// language's meanwhile).
    pub missing: Vec<MissingDto>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TranslationsDto {
    pub languages: Vec<LanguageGapsDto>,
}

#[utoipa::path(
    tag = "catalog",
    summary = "What each language lacks: products without a name of their own in it (admin; a merchant, its own).",
    params(("commerce" = String, Path, description = "The commerce code."), TranslationsQuery),
    responses(
        (status = 200, description = "Success", body = TranslationsDto),
        Refusals
    )
)]
#[get("/v1/commerces/{commerce}/products/translations")]
pub async fn get_translations(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    query: crate::http::query::Query<TranslationsQuery>,
) -> Result<HttpResponse, Problem> {
    let code = path.into_inner();
    principal.authorize(&code, &[ApiRole::Admin, ApiRole::Merchant])?;
    let commerce = state.registry.get(&code).ok_or_else(|| Problem::commerce_not_found(&code))?.snapshot();
    let query = query.read()?;
    let config = commerce.config();
    let languages: Vec<&str> = match &query.language {
        Some(language) => {
            commerce.language(language).ok_or(DomainError::UnknownLanguage { code: language.clone() })?;
            vec![language.as_str()]
        }
        None => {
            config.languages.iter().map(|l| l.code.as_str()).filter(|code| *code != config.default_language).collect()
        }
    };
    // Retired products are sold in no language: nothing is missing of them.
    let products: Vec<&Product> = commerce
        .catalog()
        .iter()
        .filter(|h| !h.retired())
        .map(|h| h.product())
        .filter(|p| principal.role != ApiRole::Merchant || p.merchant.as_deref() == principal.merchant.as_deref())
        .collect();
    let languages = languages
        .into_iter()
        .map(|language| LanguageGapsDto {
            language: language.to_owned(),
            missing: products
                .iter()
                .filter_map(|p| {
                    let fields = missing_in(p, language);
                    (!fields.is_empty()).then(|| MissingDto { sku: p.sku.clone(), fields })
                })
                .collect(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(TranslationsDto { languages }))
}
