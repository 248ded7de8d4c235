//! A merchant's lifecycle (DESIGN.md section 7), decided by the engine: invited with a
//! token that expires, onboarded with it (the terms in force, legal data), approved,
//! blocked with a reason and unblocked back to where it was; each step only from the
//! statuses that allow it, each in the history with who and when; and a merchant's
//! products sold only while it trades.

use mercato_engine::commerce::data::{key_digest, DataChange, DataItem};
use mercato_engine::commerce::merchants::MerchantStep;
use mercato_engine::commerce::model::{MerchantAction, MerchantLegal, MerchantStatus, MERCHANT_HISTORY_MAX};
use mercato_engine::time::Timestamp;
use mercato_engine::{Commerce, DomainError, KNOWN_GATEWAYS};

const HOUR: i64 = 3_600_000;

fn demo() -> Commerce {
    Commerce::from_toml(include_str!("../../config/demo.toml"), KNOWN_GATEWAYS).expect("the demo is valid")
}

/// The commerce after `step` on merchant `code` at `at`, or the refusal.
fn after(commerce: &Commerce, code: &str, step: MerchantStep, at: i64) -> Result<Commerce, DomainError> {
    let merchant = commerce.decide_merchant(code, step, "tester", Timestamp(at))?;
    let next = commerce.decide_data(&DataChange::Put(Box::new(DataItem::Merchant(merchant))))?;
    Ok(next.expect("a step changes the merchant"))
}

fn invite(token: &str) -> MerchantStep {
    MerchantStep::Invite {
        name: "Weave".into(),
        email: "hello@weave.example".into(),
        commission_percent: "8".parse().expect("decimal"),
        token_sha256: key_digest(token),
    }
}

fn onboard(token: &str, terms: &str) -> MerchantStep {
    let legal = MerchantLegal {
        legal_name: "Weave SL".into(),
        tax_id: "B1".into(),
        country: "ES".into(),
        address: "Calle 1".into(),
    };
    MerchantStep::Onboard { token_sha256: key_digest(token), terms_version: terms.into(), legal }
}

fn status(commerce: &Commerce, code: &str) -> Option<MerchantStatus> {
    commerce.merchant(code).and_then(|m| m.status)
}

// Proves each step is allowed only from the statuses that allow it, an invitation expires
// and is replaced by a new one, onboarding takes only the terms in force, and unblocking
// returns the merchant to where it was; every step is in the history in order.
#[test]
fn each_step_is_decided_from_the_status_it_finds() {
    let commerce = demo();
    let invited = after(&commerce, "weave", invite("first"), 0).expect("invited");
    assert_eq!(status(&invited, "weave"), Some(MerchantStatus::Invited));
    let refused = |c: &Commerce, step, at| after(c, "weave", step, at).err().map(|e| e.code());
    assert_eq!(refused(&invited, MerchantStep::Approve, 1), Some("merchant_state"), "not onboarded");
    assert_eq!(refused(&invited, MerchantStep::Unblock, 1), Some("merchant_state"), "not blocked");
    assert_eq!(refused(&invited, onboard("wrong", "2026-01"), 1), Some("invalid_invitation"));
    assert_eq!(refused(&invited, onboard("first", "2025-01"), 1), Some("terms_outdated"));
    // The demo's invitations last a week.
    assert_eq!(refused(&invited, onboard("first", "2026-01"), 7 * 24 * HOUR), Some("invitation_expired"));
    let again = after(&invited, "weave", invite("second"), 8 * 24 * HOUR).expect("invited again");
    assert_eq!(refused(&again, onboard("first", "2026-01"), 8 * 24 * HOUR), Some("invalid_invitation"));
    let onboarded = after(&again, "weave", onboard("second", "2026-01"), 8 * 24 * HOUR + 1).expect("onboarded");
    assert_eq!(status(&onboarded, "weave"), Some(MerchantStatus::Onboarding));
    assert_eq!(refused(&onboarded, invite("third"), 1), Some("merchant_state"), "past its invitation");
    let blocked = after(&onboarded, "weave", MerchantStep::Block { reason: "late papers".into() }, 9).expect("blocked");
    assert_eq!(refused(&blocked, MerchantStep::Block { reason: "again".into() }, 9), Some("merchant_state"));
    let unblocked = after(&blocked, "weave", MerchantStep::Unblock, 10).expect("unblocked");
    assert_eq!(status(&unblocked, "weave"), Some(MerchantStatus::Onboarding), "back where it was");
    let active = after(&unblocked, "weave", MerchantStep::Approve, 11).expect("approved");
    let merchant = active.merchant("weave").expect("there");
    assert_eq!(merchant.status, Some(MerchantStatus::Active));
    assert_eq!(merchant.invitation_sha256, None, "an approved merchant has no open invitation");
    let actions: Vec<MerchantAction> = merchant.history.iter().map(|t| t.action).collect();
    use MerchantAction::*;
    assert_eq!(actions, [Invited, Invited, Onboarded, Blocked, Unblocked, Approved]);
    assert_eq!(merchant.history[3].reason.as_deref(), Some("late papers"));
    assert!(merchant.history.iter().all(|t| t.by == "tester"));
    assert_eq!(refused(&active, MerchantStep::Unblock, 12), Some("merchant_state"));
    let unknown = after(&commerce, "nobody", MerchantStep::Approve, 0).err().map(|e| e.code());
    assert_eq!(unknown, Some("unknown_merchant"));
}

// Proves what a step puts is checked by the document's rules, every violation at once: an
// invitation needs an address and a commission in range, onboarding needs legal data, a
// block needs a reason.
#[test]
fn a_step_is_checked_by_the_documents_rules() {
    let commerce = demo();
    let bad = MerchantStep::Invite {
        name: "Weave".into(),
        email: "nobody".into(),
        commission_percent: "101".parse().expect("decimal"),
        token_sha256: key_digest("t"),
    };
    let Err(DomainError::InvalidData { violations, .. }) = after(&commerce, "Weave!", bad, 0) else {
        panic!("refused")
    };
    let text = violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
    for expected in ["\"Weave!\"", "\"nobody\"", "101"] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    let invited = after(&commerce, "weave", invite("t"), 0).expect("invited");
    let MerchantStep::Onboard { token_sha256, terms_version, mut legal } = onboard("t", "2026-01") else { panic!() };
    legal.country = "Spain".into();
    legal.legal_name.clear();
    let step = MerchantStep::Onboard { token_sha256, terms_version, legal };
    let Err(DomainError::InvalidData { violations, .. }) = after(&invited, "weave", step, 1) else { panic!("refused") };
    let text = violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
    assert!(text.contains("\"Spain\"") && text.contains("legal.legal_name"), "{text}");
    let empty = MerchantStep::Block { reason: " ".into() };
    assert_eq!(after(&invited, "weave", empty, 1).err().map(|e| e.code()), Some("invalid_data"));
}

// Proves a merchant's products are sold only while it trades: an onboarding or blocked
// merchant's product is refused naming it and its merchant, and sold again once active.
#[test]
fn only_a_trading_merchants_products_are_sold() {
    let commerce = demo();
    assert!(commerce.sellable("CERAMIC-MUG").is_ok(), "artisan-co trades");
    let onboarding = commerce.sellable("SOAP-SET").err().map(|e| (e.code(), e.to_string()));
    let (code, text) = onboarding.expect("refused");
    assert_eq!(code, "merchant_not_active");
    assert!(text.contains("SOAP-SET") && text.contains("newcomer"), "{text}");
    assert_eq!(commerce.sellable("MYSTERY-BOX").err().map(|e| e.code()), Some("merchant_blocked"));
    let blocked = after(&commerce, "artisan-co", MerchantStep::Block { reason: "audit".into() }, 1).expect("blocked");
    assert_eq!(blocked.sellable("CERAMIC-MUG").err().map(|e| e.code()), Some("merchant_blocked"));
    let unblocked = after(&blocked, "artisan-co", MerchantStep::Unblock, 2).expect("unblocked");
    assert!(unblocked.sellable("CERAMIC-MUG").is_ok(), "back to active");
    // Blocked by the file, with no history: back through approval, not straight to trade.
    let lifted = after(&commerce, "banned-goods", MerchantStep::Unblock, 3).expect("unblocked");
    assert_eq!(status(&lifted, "banned-goods"), Some(MerchantStatus::Onboarding));
}

// Proves a merchant keeps at most `MERCHANT_HISTORY_MAX` transitions, the newest.
#[test]
fn the_history_is_bounded() {
    let most = i64::try_from(MERCHANT_HISTORY_MAX).expect("small");
    let mut commerce = after(&demo(), "weave", invite("t0"), 0).expect("invited");
    for at in 1..=most {
        commerce = after(&commerce, "weave", invite(&format!("t{at}")), at).expect("invited again");
    }
    let history = &commerce.merchant("weave").expect("there").history;
    assert_eq!(history.len(), MERCHANT_HISTORY_MAX);
    assert_eq!(history.last().map(|t| t.at), Some(most));
}

// Proves a rating is 100 less 100 times the weighted mean of its shares, each share capped
// at 1, 100 when nothing happened or every weight is 0, and rounded to one decimal.
#[test]
fn a_rating_weighs_its_shares() {
    use mercato_engine::commerce::merchants::RatingCounts;
    use mercato_engine::commerce::model::MerchantRatingRules;
    let decimal = |text: &str| text.parse::<rust_decimal::Decimal>().expect("decimal");
    let rules = MerchantRatingRules::default();
    let counts = RatingCounts { units: 10, delivered: 4, late: 1, cancelled_units: 1, returned_units: 2 };
    let rating = rules.rate(counts);
    // (0.25 × 50 + 0.1 × 25 + 0.2 × 25) / 100 = 0.2.
    assert_eq!(rating.score, decimal("80"));
    assert_eq!(
        (rating.late.0, rating.cancelled.0, rating.returned.0),
        (decimal("0.25"), decimal("0.1"), decimal("0.2"))
    );
    assert_eq!(rating.window_days, 90);
    assert_eq!(rules.rate(RatingCounts::default()).score, decimal("100"), "nothing happened");
    let thirds = RatingCounts { units: 3, delivered: 3, late: 1, ..RatingCounts::default() };
    assert_eq!(rules.rate(thirds).score, decimal("83.3"), "rounded: 100 × (1 − 0.3333 × 50 / 100)");
    let silent = MerchantRatingRules {
        late_weight: Some(decimal("0")),
        cancel_weight: Some(decimal("0")),
        return_weight: Some(decimal("0")),
        ..MerchantRatingRules::default()
    };
    assert_eq!(silent.rate(counts).score, decimal("100"), "no weight, no penalty");
    let capped = RatingCounts { units: 1, returned_units: 5, ..RatingCounts::default() };
    assert_eq!(rules.rate(capped).returned.0, decimal("1"), "a share never passes 1");
}

// Proves a line pays the most specific commission rule that matches it (product, then
// family, then merchant, then none; then priority), its merchant's own percent when none
// does, nothing for the commerce's own goods; and that a rule is checked by the document's
// rules (a target, a percent in range, known currencies), every violation at once.
#[test]
fn a_line_pays_the_most_specific_commission_rule() {
    use mercato_engine::commerce::model::CommissionRule;
    let decimal = |text: &str| text.parse::<rust_decimal::Decimal>().expect("decimal");
    let put = |commerce: &Commerce, rule: CommissionRule| {
        commerce
            .decide_data(&DataChange::Put(Box::new(DataItem::CommissionRule(rule))))
            .expect("valid")
            .expect("a change")
    };
    let commerce = demo();
    let own = commerce.commission("CERAMIC-MUG", "EUR").expect("a merchant's product");
    assert_eq!((own.rule, own.percent), (None, decimal("12")), "the merchant's own percent");
    assert_eq!(commerce.commission("MOUSE", "EUR"), None, "the commerce's own goods pay none");
    let rule =
        |code: &str| CommissionRule { code: code.into(), percent: Some(decimal("1")), ..CommissionRule::default() };
    let everyone = put(&commerce, CommissionRule { percent: Some(decimal("9")), ..rule("everyone") });
    let merchant = put(&everyone, CommissionRule { merchant: Some("artisan-co".into()), ..rule("artisan") });
    let family = put(&merchant, CommissionRule { family: Some("furniture".into()), ..rule("furniture") });
    let fixed = [("EUR".to_owned(), decimal("0.50"))].into();
    let product = CommissionRule { sku: Some("CERAMIC-MUG".into()), fixed_per_unit: fixed, ..rule("mugs") };
    let product = put(&family, product);
    let winner = |c: &Commerce, sku: &str| c.commission(sku, "EUR").and_then(|x| x.rule);
    assert_eq!(winner(&everyone, "CERAMIC-MUG").as_deref(), Some("everyone"));
    assert_eq!(winner(&merchant, "CERAMIC-MUG").as_deref(), Some("artisan"));
    assert_eq!(winner(&family, "CERAMIC-MUG").as_deref(), Some("furniture"));
    assert_eq!(winner(&product, "CERAMIC-MUG").as_deref(), Some("mugs"));
    assert_eq!(winner(&product, "CERAMIC-BOWL").as_deref(), Some("furniture"), "the product rule is the mug's only");
    let outranked =
        put(&family, CommissionRule { family: Some("furniture".into()), priority: 5, ..rule("furniture-2") });
    assert_eq!(winner(&outranked, "CERAMIC-BOWL").as_deref(), Some("furniture-2"), "then priority");
    // 1 % of 32.00 plus 0.50 a unit for two units.
    let mugs = product.commission("CERAMIC-MUG", "EUR").expect("a commission");
    assert_eq!(mugs.on(decimal("32.00"), 2, 2), decimal("1.32"));
    assert_eq!(product.commission("CERAMIC-MUG", "USD").expect("one").on(decimal("32.00"), 2, 2), decimal("0.32"));

    let bad = CommissionRule {
        code: "bad".into(),
        sku: Some("NO-SUCH".into()),
        family: Some("toys".into()),
        percent: Some(decimal("101")),
        fixed_per_unit: [("XXX".to_owned(), decimal("-1"))].into(),
        ..CommissionRule::default()
    };
    let Err(DomainError::InvalidData { violations, .. }) =
        commerce.decide_data(&DataChange::Put(Box::new(DataItem::CommissionRule(bad))))
    else {
        panic!("refused")
    };
    let text = violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
    for expected in ["NO-SUCH", "at most one", "101", "XXX", "-1"] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
}
