//! The JSON Schema (`schema/rule-pack.schema.json`) and the SDK's parser judge
//! every fixture pack and every example in `docs/rule-pack.md` the same:
//! operators who validate with the schema in their tools get the SDK's verdict.
//!
//! A few rules are beyond JSON Schema (uniqueness across items, arithmetic on
//! durations, the tz database, …). Their fixtures are listed in
//! [`BEYOND_SCHEMA`] with the reason; for those the schema must accept and the
//! parser refuse, so the list cannot go stale.
//!
//! Valid fixtures are `tests/fixtures/packs/*.json` (the scenario tests load
//! them too); invalid ones are `tests/fixtures/packs/invalid/*.json`, each
//! breaking one rule and carrying the parser's expected first error in its
//! `x-expected-error` key (a descriptive key, ignored by both judges).

use std::path::{Path, PathBuf};

use reach::rules::RulePack;
use serde_json::Value;

/// Invalid fixtures whose rule JSON Schema cannot state, and why.
const BEYOND_SCHEMA: &[(&str, &str)] = &[
    (
        "duplicate-campaign-id",
        "uniqueness of one field across array items",
    ),
    (
        "duplicate-button-id",
        "uniqueness of one field across array items",
    ),
    (
        "duplicate-key",
        "JSON parsers keep one of two equal keys before a schema sees them",
    ),
    ("window-beyond-one-year", "arithmetic on durations"),
    ("window-shorter-than-a-minute", "arithmetic on durations"),
    ("duration-beyond-ten-years", "arithmetic on durations"),
    ("unknown-timezone", "membership in the tz database"),
    ("impossible-date", "calendar arithmetic"),
    ("end-before-start", "comparing two fields"),
    ("empty-daily-window", "comparing two fields"),
    ("empty-version-range", "comparing two versions"),
    (
        "translation-missing-default-locale",
        "a key named by another field's value",
    ),
    (
        "translations-without-default-locale",
        "a field required by what other fields hold",
    ),
    ("conditions-nested-too-deep", "counting nesting depth"),
    ("zero-delay", "arithmetic on durations"),
    ("delay-beyond-thirty-days", "arithmetic on durations"),
    ("expire-after-beyond-thirty-days", "arithmetic on durations"),
    ("step-within-beyond-thirty-days", "arithmetic on durations"),
    ("goal-window-beyond-ninety-days", "arithmetic on durations"),
    ("replay-beyond-ten-minutes", "arithmetic on durations"),
    (
        "duplicate-variant-id",
        "uniqueness of one field across array items",
    ),
    ("variant-weights-all-zero", "arithmetic across array items"),
];

/// The scenarios of `shared/scenarios`, each with a valid fixture named after
/// its file (06, 07, 09 and 10 use fields added in format 1.1).
const SCENARIOS: [&str; 11] = [
    "01-registration-lottery",
    "02-login-streak",
    "03-verified-share",
    "04-festival-window",
    "05-regional-audience",
    "06-prize-inventory",
    "07-abandoned-cart",
    "08-anti-harassment",
    "09-holdout-group",
    "10-conversion-attribution",
    "11-retry-after-dismiss",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("schema/rule-pack.schema.json"))
        .expect("schema/rule-pack.schema.json is readable");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    if let Err(e) = jsonschema::meta::validate(&schema) {
        panic!(
            "the schema is not a valid JSON Schema: {e} at {}",
            e.instance_path()
        );
    }
    jsonschema::draft202012::new(&schema).expect("the schema compiles")
}

/// The fixture packs in `tests/fixtures/packs` (valid ones) or in its
/// `invalid` folder.
fn fixtures(kind: &str) -> Vec<(String, String)> {
    let packs = root().join("tests/fixtures/packs");
    let dir = if kind == "invalid" {
        packs.join("invalid")
    } else {
        packs
    };
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            (
                stem(&p),
                std::fs::read_to_string(&p).expect("readable fixture"),
            )
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no fixtures in {}", dir.display());
    out
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .expect("a file name")
        .to_string_lossy()
        .into_owned()
}

/// The schema's errors for `text`, empty when it validates.
fn schema_errors(schema: &jsonschema::Validator, text: &str) -> Vec<String> {
    let instance: Value = serde_json::from_str(text).expect("fixtures are JSON");
    schema
        .iter_errors(&instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn valid_fixtures_pass_the_schema_and_the_parser() {
    let schema = schema();
    for (name, text) in fixtures("valid") {
        if let Err(e) = RulePack::parse(&text) {
            panic!("{name}: the parser refuses a valid fixture: {e}");
        }
        let errors = schema_errors(&schema, &text);
        assert!(
            errors.is_empty(),
            "{name}: the schema refuses a valid fixture: {errors:#?}"
        );
    }
}

/// Packs shipped inside the sample apps (the pack bundled so the first launch
/// shows a popup offline): a sample must never ship a pack the SDK refuses.
const SAMPLE_PACKS: &[&str] = &["ios-sample/ReachSample/reach-rules.json"];

#[test]
fn sample_app_packs_pass_the_schema_and_the_parser() {
    let schema = schema();
    for path in SAMPLE_PACKS {
        let text =
            std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        if let Err(e) = RulePack::parse(&text) {
            panic!("{path}: the parser refuses the sample's pack: {e}");
        }
        let errors = schema_errors(&schema, &text);
        assert!(
            errors.is_empty(),
            "{path}: the schema refuses the sample's pack: {errors:#?}"
        );
    }
}

#[test]
fn invalid_fixtures_fail_both_with_the_expected_error() {
    let schema = schema();
    for (name, text) in fixtures("invalid") {
        let json: Value = serde_json::from_str(&text).expect("fixtures are JSON");
        let expected = json["x-expected-error"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no x-expected-error"));
        match RulePack::parse(&text) {
            Ok(_) => panic!("{name}: the parser accepts an invalid fixture"),
            Err(e) => assert_eq!(e.first().to_string(), expected, "{name}"),
        }
        let schema_accepts = schema_errors(&schema, &text).is_empty();
        let beyond_schema = BEYOND_SCHEMA.iter().any(|(n, _)| *n == name);
        match (beyond_schema, schema_accepts) {
            (false, true) => panic!("{name}: the schema accepts an invalid fixture"),
            (true, false) => panic!(
                "{name}: listed as beyond the schema, but the schema refuses it; remove it from BEYOND_SCHEMA"
            ),
            _ => {}
        }
    }
}

#[test]
fn every_rule_beyond_the_schema_has_its_fixture() {
    let invalid: Vec<String> = fixtures("invalid").into_iter().map(|(n, _)| n).collect();
    for (name, reason) in BEYOND_SCHEMA {
        assert!(
            invalid.contains(&name.to_string()),
            "no fixture for {name} ({reason})"
        );
    }
}

#[test]
fn every_issue_3_scenario_has_a_valid_fixture() {
    let valid: Vec<String> = fixtures("valid").into_iter().map(|(n, _)| n).collect();
    for scenario in SCENARIOS {
        assert!(
            valid.contains(&scenario.to_string()),
            "no fixture for scenario {scenario}"
        );
    }
}

/// The ```json blocks of the format's documentation. A block whose info
/// string is `json invalid` shows a refused pack. A block without a `format`
/// key is one campaign, checked inside a minimal pack.
fn doc_examples() -> Vec<(usize, bool, String)> {
    let doc = std::fs::read_to_string(root().join("docs/rule-pack.md")).expect("docs/rule-pack.md");
    let mut examples = Vec::new();
    let mut lines = doc.lines().enumerate();
    while let Some((number, line)) = lines.next() {
        let Some(info) = line.strip_prefix("```json") else {
            continue;
        };
        let valid = match info.trim() {
            "" => true,
            "invalid" => false,
            // Other info strings (jsonc, …) are fragments, not checked.
            _ => continue,
        };
        let body: Vec<&str> = lines
            .by_ref()
            .map(|(_, l)| l)
            .take_while(|l| !l.starts_with("```"))
            .collect();
        let text = body.join("\n");
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("docs/rule-pack.md:{}: not JSON: {e}", number + 1));
        let pack = if json.get("format").is_some() {
            text
        } else {
            format!("{{\"format\": \"1.1\", \"campaigns\": [{text}]}}")
        };
        examples.push((number + 1, valid, pack));
    }
    examples
}

#[test]
fn documentation_examples_are_judged_the_same_by_both() {
    let schema = schema();
    let examples = doc_examples();
    assert!(
        examples.len() >= 5,
        "docs/rule-pack.md should show examples"
    );
    for (line, valid, pack) in examples {
        let parsed = RulePack::parse(&pack);
        let schema_errors = schema_errors(&schema, &pack);
        if valid {
            if let Err(e) = parsed {
                panic!("docs/rule-pack.md:{line}: the parser refuses the example: {e}");
            }
            assert!(
                schema_errors.is_empty(),
                "docs/rule-pack.md:{line}: the schema refuses the example: {schema_errors:#?}"
            );
        } else {
            assert!(
                parsed.is_err(),
                "docs/rule-pack.md:{line}: the parser accepts an invalid example"
            );
            assert!(
                !schema_errors.is_empty(),
                "docs/rule-pack.md:{line}: the schema accepts an invalid example"
            );
        }
    }
}

/// The pack `android-sample/` bundles in its assets: a first launch shows
/// its registration popup offline only if the SDK accepts it, and nothing
/// would tell an Android developer otherwise but one ERROR line in Logcat.
#[test]
fn the_android_sample_bundled_pack_passes_the_schema_and_the_parser() {
    let path = "android-sample/app/src/main/assets/reach-pack.json";
    let text = std::fs::read_to_string(root().join(path)).expect("the sample's pack is readable");
    let pack = RulePack::parse(&text)
        .unwrap_or_else(|e| panic!("{path}: the parser refuses the sample's pack: {e}"));
    let errors = schema_errors(&schema(), &text);
    assert!(
        errors.is_empty(),
        "{path}: the schema refuses the sample's pack: {errors:#?}"
    );
    let register = pack
        .campaign_by_id("registration-gift")
        .expect("the sample's pack has the registration popup");
    assert_eq!(
        register.trigger.event, "register",
        "the sample's registration screen tracks `register`"
    );
}
