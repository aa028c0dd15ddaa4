//! Personal text in popups (`{{user.NAME}}`, `{{event.NAME}}`, with a
//! fallback) through the real tracker: values are inserted as plain text, a
//! missing value without a fallback keeps the popup from being offered and
//! `explain()` says why, and a placeholder of an unknown form refuses the
//! pack with the text's path.

mod scenario_harness;

use reach::Value;
use scenario_harness::*;
use serde_json::json;

const SH: &str = "Asia/Shanghai";
const MIN: i64 = 60_000;

fn greeting(title: &str, button: &str) -> String {
    json!({ "format": "1.1", "campaigns": [{
        "id": "greet",
        "trigger": { "event": "purchase" },
        "popup": {
            "template": "modal",
            "title": title,
            "body": "Thanks for spending ¥{{event.amount | \"some\"}}.",
            "buttons": [{ "id": "ok", "text": button, "action": { "type": "dismiss" } }]
        }
    }]})
    .to_string()
}

fn set_user(phone: &Phone, pairs: &[(&str, Value)]) {
    phone
        .tracker()
        .set_user_properties(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
        .unwrap();
}

#[test]
fn values_of_the_person_and_the_event_fill_the_text() {
    let t0 = day(0, "10:00");
    let pack = greeting("Hi {{user.first_name}}!", "Thanks, {{ user.first_name }}");
    let mut phone = Phone::with_pack(SH, &pack, t0);
    set_user(
        &phone,
        &[("first_name", Value::String("<b>Lin</b>".into()))],
    );
    let p = phone
        .event(t0, "purchase", &[("amount", Value::Int(120))])
        .expect("offered");
    // Plain text: markup in a value arrives as the characters it is.
    assert_eq!(p.title.as_deref(), Some("Hi <b>Lin</b>!"));
    assert_eq!(p.body.as_deref(), Some("Thanks for spending ¥120."));
    assert_eq!(p.buttons[0].text, "Thanks, <b>Lin</b>");
}

#[test]
fn a_fallback_serves_when_the_value_is_missing() {
    let t0 = day(0, "10:00");
    let pack = greeting("Hi {{user.first_name | \"there\"}}!", "OK");
    let mut phone = Phone::with_pack(SH, &pack, t0);
    let p = phone.event(t0, "purchase", &[]).expect("offered");
    assert_eq!(p.title.as_deref(), Some("Hi there!"));
    assert_eq!(p.body.as_deref(), Some("Thanks for spending ¥some."));
}

#[test]
fn a_missing_value_without_fallback_keeps_the_popup_back_and_explain_says_why() {
    let t0 = day(0, "10:00");
    let pack = greeting("Hi {{user.first_name}}!", "OK");
    let mut phone = Phone::with_pack(SH, &pack, t0);
    expect(&phone.event(t0, "purchase", &[]), None);
    let why = phone.explain("greet");
    assert!(
        why.text
            .contains("its text needs user.first_name, which is not set"),
        "{}",
        why.text
    );
    // Nothing was shown, so nothing counts: once the name is known, the
    // next purchase offers it.
    assert!(phone
        .stored()
        .iter()
        .all(|e| !e.name.starts_with("reach.popup")));
    set_user(&phone, &[("first_name", Value::String("Lin".into()))]);
    let p = phone.event(t0 + MIN, "purchase", &[]).expect("offered now");
    assert_eq!(p.title.as_deref(), Some("Hi Lin!"));
}

#[test]
fn unknown_placeholders_refuse_the_pack_with_the_texts_path() {
    let t0 = day(0, "10:00");
    let phone = Phone::with_pack(SH, &greeting("Hi", "OK"), t0);
    let e = phone
        .tracker()
        .load_rule_pack(&greeting("Hi {{usr.first_name}}!", "OK"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("campaigns[0].popup.title"), "{e}");
    assert!(e.contains("must name user.NAME or event.NAME"), "{e}");
    let e = phone
        .tracker()
        .load_rule_pack(&greeting("Hi", "OK {{user.name | there}}"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("campaigns[0].popup.buttons[0].text"), "{e}");
}
