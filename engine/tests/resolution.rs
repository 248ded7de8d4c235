//! Context resolution against the demo commerce: channel criteria and specificity,
//! languages, currencies, out-of-area behaviour and area-of-influence compatibility.

use expect_test::{expect, Expect};
use mercato_engine::resolution::{resolve, Access, ContextRequest};
use mercato_engine::{Commerce, KNOWN_GATEWAYS};

const DEMO: &str = include_str!("../../config/demo.toml");
const MINIMAL: &str = include_str!("data/minimal.toml");

/// Builds a request from `key=value` words: domain, device, country, lang, cur, group.
fn request(query: &str) -> ContextRequest {
    let mut request = ContextRequest::default();
    for word in query.split_whitespace() {
        let (key, value) = word.split_once('=').expect("key=value");
        let value = value.to_owned();
        match key {
            "domain" => request.domain = Some(value),
            "device" => request.device = Some(serde_json::from_value(serde_json::json!(value)).expect("device")),
            "country" => request.country = Some(value),
            "lang" => request.language = Some(value),
            "cur" => request.currency = Some(value),
            "group" => request.user_groups.push(value),
            other => panic!("unknown key {other}"),
        }
    }
    request
}

/// Resolves each query line against `commerce` and renders one line per case.
fn check(commerce: &Commerce, queries: &[&str], expect: Expect) {
    let mut out = String::new();
    for query in queries {
        let line = match resolve(commerce, &request(query)) {
            Ok(ctx) => {
                let access = match &ctx.access {
                    Access::Full => "full".to_owned(),
                    Access::BrowseOnly => "browse_only".to_owned(),
                    Access::Blocked => "blocked".to_owned(),
                    Access::Redirect { commerce, url } => format!("redirect({commerce} {url})"),
                };
                format!(
                    "channel={} lang={} of [{}] cur={} country={} domain={} access={}",
                    ctx.channel,
                    ctx.language,
                    ctx.languages.join(","),
                    ctx.currency,
                    ctx.country,
                    ctx.domain.as_deref().unwrap_or("-"),
                    access
                )
            }
            Err(error) => format!("error {}: {error}", error.code()),
        };
        out.push_str(&format!("{query:<45} => {line}\n"));
    }
    expect.assert_eq(&out);
}

fn demo() -> Commerce {
    Commerce::from_toml(DEMO, KNOWN_GATEWAYS).expect("demo config is valid")
}

// Proves each channel criterion, that all criteria must match, that a channel's area must
// reach the visitor's country, that the most specific channel wins, that ties go to the
// channel declared first, and the default otherwise.
#[test]
fn channel_selection() {
    check(
        &demo(),
        &[
            "country=ES",
            "country=ES device=mobile",
            "country=ES device=desktop",
            "country=FR",
            "country=FR domain=demo.fr",
            "country=FR domain=demo.fr device=mobile",
            "country=ES group=wholesale",
            "country=ES group=wholesale device=app",
            "country=ES group=staff",
            "country=FR group=wholesale",
        ],
        expect![[r#"
            country=ES                                    => channel=web lang=es of [es,en] cur=EUR country=ES domain=demo.es access=full
            country=ES device=mobile                      => channel=mobile lang=es of [es,en] cur=EUR country=ES domain=demo.es access=full
            country=ES device=desktop                     => channel=web lang=es of [es,en] cur=EUR country=ES domain=demo.es access=full
            country=FR                                    => channel=web lang=fr of [fr,en] cur=EUR country=FR domain=demo.fr access=full
            country=FR domain=demo.fr                     => channel=france lang=fr of [fr,en] cur=EUR country=FR domain=demo.fr access=full
            country=FR domain=demo.fr device=mobile       => channel=france lang=fr of [fr,en] cur=EUR country=FR domain=demo.fr access=full
            country=ES group=wholesale                    => channel=wholesale lang=es of [es,en] cur=EUR country=ES domain=demo.es access=full
            country=ES group=wholesale device=app         => channel=mobile lang=es of [es,en] cur=EUR country=ES domain=demo.es access=full
            country=ES group=staff                        => channel=web lang=es of [es,en] cur=EUR country=ES domain=demo.es access=full
            country=FR group=wholesale                    => channel=web lang=fr of [fr,en] cur=EUR country=FR domain=demo.fr access=full
        "#]],
    );
}

// Proves language resolution: the request, the domain's language, the country's own list
// and default, and the domain a language determines.
#[test]
fn languages_and_currencies() {
    check(
        &demo(),
        &[
            "country=PT",
            "country=FR lang=es",
            "country=FR lang=EN",
            "domain=demo.es",
            "domain=Demo.ES:443 lang=en",
            "domain=demo.example country=ES",
            "country=ES cur=usd",
            "country=GB",
            "country=ES lang=de",
            "country=ES cur=JPY",
        ],
        expect![[r#"
            country=PT                                    => channel=web lang=en of [en,es] cur=EUR country=PT domain=demo.example access=full
            country=FR lang=es                            => channel=web lang=fr of [fr,en] cur=EUR country=FR domain=demo.fr access=full
            country=FR lang=EN                            => channel=web lang=en of [fr,en] cur=EUR country=FR domain=demo.example access=full
            domain=demo.es                                => channel=web lang=es of [es,en] cur=EUR country=ES domain=demo.es access=full
            domain=Demo.ES:443 lang=en                    => channel=web lang=en of [es,en] cur=EUR country=ES domain=demo.example access=full
            domain=demo.example country=ES                => channel=web lang=en of [es,en] cur=EUR country=ES domain=demo.example access=full
            country=ES cur=usd                            => channel=web lang=es of [es,en] cur=USD country=ES domain=demo.es access=full
            country=GB                                    => channel=web lang=en of [en,es,fr] cur=GBP country=GB domain=demo.example access=browse_only
            country=ES lang=de                            => error unknown_language: language "de" is not a language of this commerce
            country=ES cur=JPY                            => error unknown_currency: currency "JPY" is not a browsing currency of this commerce
        "#]],
    );
}

// Proves out-of-area behaviour: redirect to the version configured for the country, the
// fallback for countries no version serves, and a domain version's sellable countries.
#[test]
fn out_of_area_in_demo() {
    check(
        &demo(),
        &[
            "country=US",
            "country=JP",
            "country=us device=mobile",
            "domain=demo.es country=PT",
            "domain=demo.es country=FR",
            "domain=demo.fr country=PT",
        ],
        expect![[r#"
            country=US                                    => channel=web lang=en of [en,es,fr] cur=USD country=US domain=demo.example access=redirect(demo-americas https://americas.demo.example/)
            country=JP                                    => channel=web lang=en of [en,es,fr] cur=EUR country=JP domain=demo.example access=browse_only
            country=us device=mobile                      => channel=web lang=en of [en,es,fr] cur=USD country=US domain=demo.example access=redirect(demo-americas https://americas.demo.example/)
            domain=demo.es country=PT                     => channel=web lang=es of [es,en] cur=EUR country=PT domain=demo.es access=full
            domain=demo.es country=FR                     => channel=web lang=es of [es,en] cur=EUR country=FR domain=demo.es access=redirect(demo https://demo.fr/)
            domain=demo.fr country=PT                     => channel=web lang=fr of [fr,en] cur=EUR country=PT domain=demo.fr access=redirect(demo https://demo.example/)
        "#]],
    );
}

// Proves the block behaviour, the need for a country when nothing implies one, and the
// errors for unknown domains, malformed countries and unknown groups.
#[test]
fn block_and_errors() {
    let minimal = Commerce::from_toml(MINIMAL, KNOWN_GATEWAYS).expect("minimal config is valid");
    check(
        &minimal,
        &["country=FR", "", "domain=elsewhere.example country=ES", "country=ESP", "country=ES group=vip"],
        expect![[r#"
            country=FR                                    => channel=web lang=en of [en] cur=EUR country=FR domain=shop.example access=blocked
                                                          => error country_required: a country is required: neither the request, its domain nor the commerce gives one
            domain=elsewhere.example country=ES           => error unknown_domain: domain "elsewhere.example" is not a domain of this commerce
            country=ESP                                   => error invalid_country: country "ESP" is not an ISO 3166-1 alpha-2 code
            country=ES group=vip                          => error unknown_user_group: user group "vip" is not defined
        "#]],
    );
}

// Proves area-of-influence compatibility: an entity whose area does not overlap its
// channel's is disqualified in that channel only.
#[test]
fn area_compatibility_disqualifies_members() {
    let commerce = demo();
    let wholesale = commerce.qualified("wholesale").expect("channel exists");
    assert_eq!(wholesale.warehouses, ["wh-madrid"], "wh-lyon (France) is outside Iberia");
    let web = commerce.qualified("web").expect("channel exists");
    assert_eq!(web.warehouses, ["wh-madrid", "wh-dropship", "wh-lyon"]);
    assert_eq!(web.physical_locations, ["store-madrid", "store-lyon"]);
    let france = commerce.qualified("france").expect("channel exists");
    assert_eq!(france.invoicing_companies, ["demo-fr"]);
    assert_eq!(france.warehouses, ["wh-lyon", "wh-madrid"], "wh-madrid has no area: unrestricted");
    assert_eq!(wholesale.payment_systems, ["bank-transfer"]);
    assert_eq!(web.payment_systems, ["card", "bank-transfer", "cod"], "no list means all");
}
