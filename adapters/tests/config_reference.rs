//! The configuration reference stays in step with the parser: `config/mercato.schema.json`
//! and `docs/configuration.md` are what the model generates today, every configuration in
//! the repository follows the schema, and the schema refuses what the parser refuses.
//!
//! After changing the model, regenerate both files with
//! `UPDATE_CONFIG_REFERENCE=1 cargo test -p mercato-adapters --test config_reference`
//! (or `mercato config-schema > config/mercato.schema.json` and
//! `mercato config-schema --markdown > docs/configuration.md`).

use std::path::{Path, PathBuf};

use mercato_engine::commerce::schema::{config_markdown, config_schema};
use mercato_engine::{Commerce, KNOWN_GATEWAYS};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn schema_text() -> String {
    format!("{}\n", serde_json::to_string_pretty(&config_schema()).expect("the schema is JSON"))
}

/// Compares a committed file with what the model generates, or rewrites it when asked.
fn in_step(path: &str, generated: &str) {
    let path = root().join(path);
    if std::env::var_os("UPDATE_CONFIG_REFERENCE").is_some() {
        std::fs::write(&path, generated).expect("write the reference");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is not what the model generates: run UPDATE_CONFIG_REFERENCE=1 cargo test -p mercato-adapters --test \
         config_reference",
        path.display()
    );
}

/// The schema's verdict on a TOML text: the errors, none when it follows the schema.
fn schema_errors(text: &str) -> Vec<String> {
    let schema = config_schema();
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).expect("the schema compiles");
    let document: Value = match toml::from_str(text) {
        Ok(document) => document,
        Err(error) => return vec![format!("not TOML: {error}")],
    };
    validator.iter_errors(&document).map(|e| format!("{e} at {}", e.instance_path)).collect()
}

// Proves the committed schema and reference page are the model's own: a field added,
// renamed or documented differently fails here until both are regenerated.
#[test]
fn the_committed_reference_is_generated_from_the_model() {
    in_step("config/mercato.schema.json", &schema_text());
    in_step("docs/configuration.md", &config_markdown(&config_schema()));
    let demo = std::fs::read_to_string(root().join("config/demo.toml")).expect("demo");
    assert!(demo.starts_with("#:schema ./mercato.schema.json\n"), "the demo names its schema for editors");
}

// Proves every configuration the repository ships or tests with, which the parser takes,
// follows the schema too (a bound or pattern stricter than the validator fails here).
#[test]
fn every_configuration_the_parser_takes_follows_the_schema() {
    for path in ["config/demo.toml", "engine/tests/data/minimal.toml"] {
        let text = std::fs::read_to_string(root().join(path)).expect("a configuration");
        Commerce::from_toml(&text, KNOWN_GATEWAYS).unwrap_or_else(|e| panic!("{path}: the parser refuses it: {e}"));
        let errors = schema_errors(&text);
        assert!(errors.is_empty(), "{path} breaks the schema: {errors:#?}");
    }
}

// Proves the schema refuses what the parser refuses: an unknown key anywhere, a value of
// the wrong type, a bound (the cart lifetime's 5 to 86400 seconds), a date's shape.
#[test]
fn the_schema_refuses_what_the_parser_refuses() {
    let demo = std::fs::read_to_string(root().join("config/demo.toml")).expect("demo");
    let product = "[[products]]\nsku = \"KEYBOARD\"";
    assert!(demo.contains(product), "the demo sells keyboards");
    let cases = [
        ("an unknown key in a product", demo.replacen(product, &format!("{product}\ncolour = \"red\""), 1)),
        ("an unknown key at the top", format!("colour = \"red\"\n{demo}")),
        ("a merchant written as a number", demo.replacen(product, &format!("{product}\nmerchant = 5"), 1)),
        ("a cart lifetime under 5 s", format!("cart_lifetime_seconds = 3\n{demo}")),
        ("a cart lifetime over a day", format!("cart_lifetime_seconds = 86401\n{demo}")),
    ];
    for (what, text) in cases {
        let parser = Commerce::from_toml(&text, KNOWN_GATEWAYS);
        assert!(parser.is_err(), "{what}: the parser takes it");
        assert!(!schema_errors(&text).is_empty(), "{what}: the schema takes what the parser refuses");
    }
}

// Proves an editor flags no decimal the parser reads: prices written `"+119"`, `"119."`
// and `"1.19e2"` are taken by both (schemars' own pattern for decimals refused them).
#[test]
fn the_schema_takes_every_decimal_the_parser_reads() {
    let demo = std::fs::read_to_string(root().join("config/demo.toml")).expect("demo");
    let price = "prices = { EUR = \"119.00\" }";
    assert!(demo.contains(price), "the keyboard's price");
    let mut read = 0;
    for spelling in ["+119", "119.", "1.19e2", ".5"] {
        let text = demo.replacen(price, &format!("prices = {{ EUR = \"{spelling}\" }}"), 1);
        if Commerce::from_toml(&text, KNOWN_GATEWAYS).is_ok() {
            read += 1;
            assert!(schema_errors(&text).is_empty(), "{spelling}: {:?}", schema_errors(&text));
        }
    }
    assert!(read >= 2, "the parser reads these spellings");
}
