//! Preview on a test device (format 1.2 `test_persons`, `Tracker::preview`):
//! a test person sees campaigns not yet started or paused, past their caps,
//! never held out; their campaign events and every preview's carry
//! `"test": true`; a preview leaves the person's real campaign state alone.
//! Through the real tracker on a real SQLite file and a `ManualClock`.

mod scenario_harness;

use reach::engine::assignment::held_out;
use reach::rules::GlobalHoldout;
use scenario_harness::*;
use serde_json::json;

const SH: &str = "Asia/Shanghai";
const MIN: i64 = 60_000;

/// "spring" starts on day 10, "paused" is disabled, "live" runs now with a
/// cap of one impression ever and a purchase goal; "vip" has an A/B split
/// with a control arm. `extra` is merged in at the top level.
fn qa_pack(extra: serde_json::Value) -> String {
    let mut p = json!({
        "format": "1.2",
        "test_persons": { "user_ids": ["qa-lin"], "anonymous_ids": ["qa-device"] },
        "campaigns": [
            { "id": "spring", "trigger": { "event": "open_shop" },
              "schedule": { "start": "2027-01-10T00:00:00Z" },
              "popup": { "template": "modal", "title": "Spring sale" } },
            { "id": "paused", "enabled": false, "trigger": { "event": "open_shop" },
              "popup": { "template": "modal", "title": "Paused" } },
            { "id": "live", "trigger": { "event": "view_item" },
              "frequency": { "max_total": 1 },
              "goal": { "event": "purchase", "within": "1h" },
              "popup": { "template": "banner", "title": "Hi {{user.first_name | \"there\"}}" } },
            { "id": "vip", "trigger": { "event": "vip_page" },
              "variants": [
                  { "id": "a", "weight": 1, "popup": { "template": "modal", "title": "A" } },
                  { "id": "b", "weight": 1, "popup": { "template": "modal", "title": "B" } },
                  { "id": "hold", "weight": 1, "control": true }
              ],
              "popup": { "template": "modal", "title": "VIP" } }
        ]
    });
    if let serde_json::Value::Object(m) = extra {
        for (k, v) in m {
            p[k] = v;
        }
    }
    p.to_string()
}

fn flagged(events: &[serde_json::Value]) -> Vec<bool> {
    events.iter().map(|e| e["test"] == json!(true)).collect()
}

#[test]
fn a_test_person_sees_campaigns_not_started_or_paused_and_past_their_caps() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &qa_pack(json!({})), t0);

    // Not a test person yet: "spring" has not started, "paused" is paused.
    assert_eq!(phone.event(t0, "open_shop", &[]), None);
    assert!(phone
        .explain("spring")
        .reasons
        .join(" ")
        .contains("not started"));
    let live = phone
        .event(t0 + MIN, "view_item", &[])
        .expect("live offered");
    assert!(!live.test);
    phone.show_and_dismiss(&live);
    assert_eq!(phone.event(t0 + 2 * MIN, "view_item", &[]), None, "capped");

    phone.identify("qa-lin");
    // The not-yet-started campaign, first in the pack, wins over the paused one.
    let spring = phone.event(t0 + 3 * MIN, "open_shop", &[]).expect("spring");
    assert_eq!(spring.campaign_id, "spring");
    assert!(spring.test, "the host can badge a test popup");
    phone.show_and_dismiss(&spring);
    // A dismissed campaign is not re-offered by default; for a test person
    // the caps do not hold. Both it and the paused one are eligible: spring
    // is listed first.
    let again = phone.event(t0 + 4 * MIN, "open_shop", &[]).expect("again");
    assert_eq!(again.campaign_id, "spring");
    phone.show_and_dismiss(&again);
    // "live" was shown once on this device (cap: once ever): it is offered
    // again, twice, since its cap does not hold for a test person.
    for k in 0..2 {
        let p = phone
            .event(t0 + (5 + k) * MIN, "view_item", &[])
            .expect("caps do not hold");
        assert_eq!(p.campaign_id, "live");
        phone.show_and_dismiss(&p);
    }
    phone.event(t0 + 8 * MIN, "purchase", &[]);

    let shown = phone.stored_named("reach.popup.shown");
    assert_eq!(
        flagged(&shown),
        vec![false, true, true, true, true],
        "only the test person's impressions carry the flag"
    );
    let offered = phone.stored_named("reach.popup.offered");
    assert_eq!(flagged(&offered), vec![false, true, true, true, true]);
    assert_eq!(
        flagged(&phone.stored_named("reach.popup.dismissed")),
        vec![false, true, true, true, true]
    );
    let conversions = phone.stored_named("reach.conversion");
    assert_eq!(conversions.len(), 1);
    assert_eq!(
        conversions[0]["test"],
        json!(true),
        "a test exposure's conversion"
    );
    // The app's own events are the app's: no flag.
    assert!(phone.stored_named("purchase")[0].get("test").is_none());
}

#[test]
fn a_test_person_by_anonymous_id_gets_a_paused_campaign() {
    let t0 = day(0, "10:00");
    let only_paused = json!({
        "format": "1.2",
        "test_persons": { "anonymous_ids": ["qa-device"] },
        "campaigns": [
            { "id": "paused", "enabled": false, "trigger": { "event": "open_shop" },
              "delay": { "after": "5m" },
              "popup": { "template": "modal", "title": "Paused" } }
        ]
    })
    .to_string();
    let mut phone = Phone::with_pack(SH, &only_paused, t0);
    assert_eq!(phone.event(t0, "open_shop", &[]), None);
    phone.foreground(t0 + 10 * MIN);
    assert_eq!(
        phone.next_offer(),
        None,
        "not a test person: nothing scheduled"
    );

    // This device's anonymous id is listed in a new pack.
    let anonymous_id = phone.stored()[0].anonymous_id.clone();
    let pack = only_paused.replace("qa-device", &anonymous_id);
    phone.tracker().load_rule_pack(&pack).unwrap();
    assert_eq!(
        phone.event(t0 + 11 * MIN, "open_shop", &[]),
        None,
        "delayed"
    );
    let p = phone
        .foreground(t0 + 17 * MIN)
        .expect("due, although paused");
    assert_eq!((p.campaign_id.as_str(), p.test), ("paused", true));
}

#[test]
fn a_test_person_is_never_held_out_globally() {
    let h = GlobalHoldout {
        salt: "global_holdout".into(),
        basis_points: 5_000,
    };
    let held = (0..)
        .map(|i| format!("qa-{i}"))
        .find(|u| held_out(&h, u))
        .unwrap();
    let pack = qa_pack(json!({
        "holdout": { "percent": 50 },
        "test_persons": { "user_ids": [held.clone()] }
    }));
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &pack, t0);
    phone.identify(&held);
    let p = phone.event(t0, "view_item", &[]).expect("not held out");
    assert_eq!(p.campaign_id, "live");
    assert!(phone.stored_named("reach.popup.control").is_empty());
}

#[test]
fn preview_offers_any_campaign_now_and_leaves_the_persons_state_alone() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &qa_pack(json!({})), t0);
    phone.clock.set_ms(t0);
    // Not a test person: preview works for anyone (a debug build decides).
    phone.tracker().preview("spring".into(), None).unwrap();
    let p = phone.next_offer().expect("the preview is offered");
    assert_eq!((p.campaign_id.as_str(), p.test), ("spring", true));
    assert_eq!(p.title.as_deref(), Some("Spring sale"));
    phone.show_and_dismiss(&p);

    // A variant's popup; personal text falls back as it would live.
    phone
        .tracker()
        .preview("vip".into(), Some("b".into()))
        .unwrap();
    let b = phone.next_offer().expect("variant b");
    assert_eq!((b.variant.as_str(), b.title.as_deref()), ("b", Some("B")));
    phone.click(&b, "none");
    phone.tracker().preview("live".into(), None).unwrap();
    let live = phone.next_offer().expect("live");
    assert_eq!(live.title.as_deref(), Some("Hi there"));
    phone.show_and_dismiss(&live);

    // Refused, with the reason in explain(): a control arm, an unknown
    // variant, a campaign not in the pack (log only).
    phone
        .tracker()
        .preview("vip".into(), Some("hold".into()))
        .unwrap();
    assert_eq!(phone.next_offer(), None);
    let why = phone.explain("vip").reasons.join("\n");
    assert!(
        why.contains("preview not offered: variant \"hold\" is a control group"),
        "{why}"
    );
    phone
        .tracker()
        .preview("vip".into(), Some("zzz".into()))
        .unwrap();
    assert_eq!(phone.next_offer(), None);
    assert!(phone
        .explain("vip")
        .reasons
        .join("\n")
        .contains("the campaign has no variant \"zzz\""));
    phone.tracker().preview("nope".into(), None).unwrap();
    assert_eq!(phone.next_offer(), None);
    assert!(phone
        .log
        .contains("preview of campaign nope: it is not in the active pack"));

    // Every event of a preview carries both flags (the click counted an
    // impression of the popup not reported shown).
    for (name, n) in [
        ("reach.popup.offered", 3),
        ("reach.popup.shown", 3),
        ("reach.popup.dismissed", 2),
    ] {
        let events = phone.stored_named(name);
        assert_eq!(events.len(), n, "{name}");
        for e in &events {
            assert_eq!(
                (&e["test"], &e["preview"]),
                (&json!(true), &json!(true)),
                "{name}"
            );
        }
    }
    let clicked = phone.stored_named("reach.popup.clicked");
    assert_eq!(clicked.len(), 1);
    assert_eq!(clicked[0]["test"], json!(true));

    // The real campaign state is untouched: "live" (cap 1, shown in preview)
    // is still offered live, with no flag, and no goal window was opened by
    // the preview (no conversion before the live impression).
    phone.event(t0 + MIN, "purchase", &[]);
    assert!(phone.stored_named("reach.conversion").is_empty());
    let real = phone.event(t0 + 2 * MIN, "view_item", &[]).expect("live");
    assert!(!real.test);
    phone.show_and_dismiss(&real);
    assert_eq!(phone.explain("live").impressions, 1);
    assert_eq!(
        phone.explain("vip").variant,
        None,
        "a preview assigns no arm"
    );
}

#[test]
fn a_pack_with_bad_test_persons_is_refused_with_the_path() {
    let t0 = day(0, "10:00");
    let phone = Phone::with_pack(SH, &qa_pack(json!({})), t0);
    let bad = qa_pack(json!({ "test_persons": { "user_ids": ["a", "a"] } }));
    let e = phone
        .tracker()
        .load_rule_pack(&bad)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("test_persons.user_ids[1]: \"a\" is listed twice"),
        "{e}"
    );
}
