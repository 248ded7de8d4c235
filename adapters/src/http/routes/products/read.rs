//! `GET …/products/{sku}`: a product, in the storefront's language (falling back to the
//! commerce's default language) or whole for the administrator and its merchant; and
//! `GET …/products/translations`: what each language still lacks.

use super::*;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProductQuery {
    /// The language of the name (default: the commerce's); a product without a name in it
    /// answers in the default language, and `language` says which.
    pub language: Option<String>,
}

/// A product as the API reads it. `names`, `prices` and `stock_policy_overrides` are the
/// whole product's, for the administrator and the product's merchant; null for a
/// storefront, which reads the name in its language.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductReadDto {
    #[serde(flatten)]
    pub product: ProductDto,
    /// The language `name` is in: the one asked for, or the default one when the product
    /// has no name in it yet.
    pub language: Option<String>,
    pub related: Vec<String>,
    /// Names by language code.
    pub names: Option<BTreeMap<String, String>>,
    /// Base prices by currency code, before tax.
    pub prices: Option<BTreeMap<String, String>>,
    /// Stock policies by warehouse code, where a warehouse overrides the product's.
    pub stock_policy_overrides: Option<BTreeMap<String, PolicyDto>>,
}

#[utoipa::path(
    tag = "catalog",
    summary = "A product: in the storefront's language, or whole (admin, its merchant).",
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
    // Another merchant's product is answered exactly as one that does not exist.
    let product = commerce
        .product(&sku)
        .filter(|p| principal.role != ApiRole::Merchant || p.merchant.as_deref() == principal.merchant.as_deref())
        .ok_or_else(|| Problem::unknown_sku(&sku))?;
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
    let overrides = || {
        let policies = product.stock_policy_overrides.iter();
        policies.map(|(w, c)| (w.clone(), c.policy().unwrap_or_default().into())).collect()
    };
    Ok(HttpResponse::Ok().json(ProductReadDto {
        product: product_dto(product, language, default_language),
        language: product.name_in(language, default_language).map(|(used, _)| used.to_owned()),
        related: product.related.clone(),
        names: whole.then(|| product.names.clone()),
        prices: whole.then(|| product.prices.iter().map(|(c, p)| (c.clone(), p.to_string())).collect()),
        stock_policy_overrides: whole.then(overrides),
    }))
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
    /// What the product lacks in the language: `name`.
    pub fields: Vec<&'static str>,
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
    let mut products: Vec<&Product> = config
        .products
        .iter()
        .filter(|p| principal.role != ApiRole::Merchant || p.merchant.as_deref() == principal.merchant.as_deref())
        .collect();
    products.sort_by(|a, b| a.sku.cmp(&b.sku));
    let languages = languages
        .into_iter()
        .map(|language| LanguageGapsDto {
            language: language.to_owned(),
            missing: products
                .iter()
                .filter(|p| !p.names.contains_key(language))
                .map(|p| MissingDto { sku: p.sku.clone(), fields: vec!["name"] })
                .collect(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(TranslationsDto { languages }))
}
