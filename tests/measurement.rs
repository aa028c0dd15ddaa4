//! What the server's stats are computed from (format 1.2): the offer point
//! of a treated person (`reach.popup.offered`, opening the goal's window as
//! a control exposure does), a goal's `value` carried into
//! `reach.conversion`, and the pack's global holdout. Through the real
//! tracker on a real SQLite file and a `ManualClock`.

mod scenario_harness;

use reach::engine::assignment::held_out;
use reach::popup::Answer;
use reach::rules::GlobalHoldout;
use reach::Value;
use scenario_harness::*;
use serde_json::json;

const SH: &str = "Asia/Shanghai";
const MIN: i64 = 60_000;

/// Stored events named `name`, as JSON properties.
/// Two campaigns with a purchase goal worth `amount`; `holdout` at pack level (or none).
fn shop(holdout: serde_json::Value) -> String {
    let campaign = |id: &str, on: &str| {
        json!({
            "id": id,
            "trigger": { "event": on },
            "goal": { "event": "purchase", "within": "1h", "value": "amount" },
            "popup": { "template": "modal", "title": id }
        })
    };
    let mut p = json!({
        "format": "1.2",
        "campaigns": [campaign("coupon", "view_item"), campaign("welcome", "register")]
    });
    if !holdout.is_null() {
        p["holdout"] = holdout;
    }
    p.to_string()
}

/// A user id the 50 % holdout with the default salt holds out (`true`) or not.
fn user(held: bool) -> String {
    let h = GlobalHoldout {
        salt: "global_holdout".into(),
        basis_points: 5_000,
    };
    (0..)
        .map(|i| format!("user-{i}"))
        .find(|u| held_out(&h, u) == held)
        .unwrap()
}

#[test]
fn a_goal_value_goes_into_the_conversion_as_value_when_it_is_a_number() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &shop(serde_json::Value::Null), t0);
    let p = phone.event(t0, "view_item", &[]).expect("an offer");
    phone.show_and_dismiss(&p);
    phone.event(
        t0 + MIN,
        "purchase",
        &[
            ("amount", Value::Float(12.5)),
            ("value", Value::String("not Reach's".into())),
        ],
    );
    let c = phone.stored_named("reach.conversion");
    assert_eq!(c.len(), 1);
    assert_eq!(
        (c[0]["value"].clone(), c[0]["amount"].clone()),
        (json!(12.5), json!(12.5))
    );

    // A text amount is no revenue: the conversion is kept, without a value.
    let p = phone
        .event(t0 + 2 * MIN, "register", &[])
        .expect("an offer");
    phone.show_and_dismiss(&p);
    phone.event(
        t0 + 3 * MIN,
        "purchase",
        &[("amount", Value::String("12.50".into()))],
    );
    let c = phone.stored_named("reach.conversion");
    assert_eq!(c.len(), 2);
    assert_eq!(c[1]["campaign_id"], "welcome");
    assert!(c[1].get("value").is_none(), "{}", c[1]);
}

#[test]
fn the_offer_point_is_recorded_and_opens_the_window_even_when_the_host_discards() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &shop(serde_json::Value::Null), t0);
    phone.set_answer(Answer::Discard);
    let p = phone
        .event(t0, "view_item", &[])
        .expect("handed to the presenter");
    assert!(phone.stored_named("reach.popup.shown").is_empty());
    let offered = phone.stored_named("reach.popup.offered");
    assert_eq!(offered.len(), 1);
    assert_eq!(offered[0]["campaign_id"], "coupon");
    assert_eq!(offered[0]["offer_id"], p.offer_id.as_str());
    // Intention to treat: the discarded offer's person converts in its window.
    phone.event(t0 + MIN, "purchase", &[("amount", Value::Int(30))]);
    let c = phone.stored_named("reach.conversion");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0]["offer_id"], p.offer_id.as_str());
    assert_eq!(c[0]["value"], 30);
}

#[test]
fn a_conversion_between_offer_and_impression_is_not_counted_twice() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &shop(serde_json::Value::Null), t0);
    phone.set_answer(Answer::Later { delay_ms: None });
    assert!(phone.event(t0, "view_item", &[]).is_some());
    phone.event(t0 + MIN, "purchase", &[("amount", Value::Int(5))]);
    assert_eq!(phone.stored_named("reach.conversion").len(), 1);
    phone.set_answer(Answer::ShowNow);
    let p = phone.foreground(t0 + 2 * MIN).expect("offered again");
    phone.show_and_dismiss(&p);
    phone.event(t0 + 3 * MIN, "purchase", &[("amount", Value::Int(5))]);
    assert_eq!(phone.stored_named("reach.conversion").len(), 1);
}

#[test]
fn a_person_in_the_global_holdout_is_control_in_every_campaign_and_stays_there() {
    let t0 = day(0, "10:00");
    let pack = shop(json!({ "percent": 50 }));
    let mut phone = Phone::with_pack(SH, &pack, t0);
    phone.identify(&user(true));
    expect(&phone.event(t0, "view_item", &[]), None);
    expect(&phone.event(t0 + MIN, "register", &[]), None);
    let control = phone.stored_named("reach.popup.control");
    let arms: Vec<_> = control
        .iter()
        .map(|c| {
            (
                c["campaign_id"].as_str().unwrap(),
                c["variant"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        arms,
        [("coupon", "global_holdout"), ("welcome", "global_holdout")]
    );
    assert_eq!(
        phone.explain("coupon").variant.as_deref(),
        Some("global_holdout")
    );
    phone.event(t0 + 2 * MIN, "purchase", &[("amount", Value::Int(40))]);
    let c = phone.stored_named("reach.conversion");
    assert_eq!(c.len(), 2, "both campaigns' windows are open: {c:?}");
    assert!(c
        .iter()
        .all(|c| c["variant"] == "global_holdout" && c["value"] == 40));

    // Kept across a restart.
    phone.restart(None);
    expect(&phone.event(t0 + 2 * 60 * MIN, "view_item", &[]), None);
    assert_eq!(phone.stored_named("reach.popup.control").len(), 3);
}

#[test]
fn a_person_outside_the_holdout_sees_campaigns_and_dropping_the_holdout_releases_the_held() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &shop(json!({ "percent": 50 })), t0);
    phone.identify(&user(false));
    let p = phone.event(t0, "view_item", &[]).expect("treated");
    assert_eq!(p.variant, "default");
    phone.show_and_dismiss(&p);

    let mut held = Phone::with_pack(SH, &shop(json!({ "percent": 50 })), t0);
    held.identify(&user(true));
    expect(&held.event(t0, "register", &[]), None);
    held.tracker()
        .load_rule_pack(&shop(serde_json::Value::Null))
        .unwrap();
    let p = held
        .event(t0 + MIN, "register", &[])
        .expect("no holdout any more");
    assert_eq!(p.variant, "default");
}

#[test]
fn a_pack_refuses_a_bad_holdout_with_its_path() {
    let phone = Phone::with_pack(SH, &shop(serde_json::Value::Null), day(0, "10:00"));
    let err = phone
        .tracker()
        .load_rule_pack(&shop(json!({ "percent": 80 })))
        .unwrap_err()
        .to_string();
    assert!(err.contains("holdout.percent"), "{err}");
}
