//! `GET /v1/stats` after posting a batch: per event name and per campaign.

mod common;
mod support;

use std::net::SocketAddr;

use common::*;
use reach_server::lift::{self, Arm, Effect};
use reach_server::{start, ServerConfig, Stats};
use serde_json::{json, Value};

#[test]
fn stats_count_events_by_name_and_campaign_events_by_campaign() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(ServerConfig::new(dir.path())).unwrap();
    let c = |id: &str| json!({"campaign_id": id, "offer_id": "o"});
    let events = vec![
        track("1", "reach.popup.shown", c("c1")),
        track("2", "reach.popup.shown", c("c1")),
        track("3", "reach.popup.clicked", c("c1")),
        track("4", "reach.popup.dismissed", c("c2")),
        track("5", "reach.popup.control", c("c2")),
        track("6", "reach.conversion", c("c1")),
        track("7", "add_to_cart", json!({"sku": "A1"})),
        track("7", "add_to_cart", json!({"sku": "A1"})),
    ];
    assert_eq!(post_batch_gzip(s.addr(), &batch(events), None).status, 200);
    let bearer = format!("Bearer {}", s.admin_token());
    let r = request(
        s.addr(),
        "GET",
        "/v1/stats",
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({
            "events_received": 8, "events_stored": 7, "duplicates": 1, "batches": 1, "events_refused": 0,
            "by_event": {"reach.popup.shown": 2, "reach.popup.clicked": 1, "reach.popup.dismissed": 1,
                         "reach.popup.control": 1, "reach.conversion": 1, "add_to_cart": 1},
            "by_campaign": {
                "c1": {"shown": 2, "clicked": 1, "dismissed": 0, "control": 0, "conversions": 1, "offered": 0,
                       "variants": {}, "effect": null, "effect_vs_global_holdout": null},
                "c2": {"shown": 0, "clicked": 0, "dismissed": 1, "control": 1, "conversions": 0, "offered": 0,
                       "variants": {}, "effect": null, "effect_vs_global_holdout": null}
            },
            "global_holdout": null
        })
    );
    assert_eq!(serde_json::to_value(s.stats().unwrap()).unwrap(), r.json());
}

/// A campaign event of one person (`a…`: anonymous only, else a user id).
fn ev(id: &str, name: &str, variant: &str, person: &str, value: Value) -> Value {
    ev_in("spring", id, name, variant, person, value)
}

/// Control-arm exposures of campaign "spring"'s variant "ctl" for persons c{i}, message ids k{i}.
fn controls(persons: std::ops::Range<u32>) -> impl Iterator<Item = Value> {
    persons.map(|i| {
        ev(
            &format!("k{i}"),
            "reach.popup.control",
            "ctl",
            &format!("c{i}"),
            Value::Null,
        )
    })
}

fn ev_in(campaign: &str, id: &str, name: &str, variant: &str, person: &str, value: Value) -> Value {
    let mut e = json!({"type": "track", "event": name, "messageId": id, "timestamp": "2026-11-24T05:10:44.123Z",
        "properties": {"campaign_id": campaign, "variant": variant, "offer_id": "o", "value": value}});
    if person.starts_with('a') {
        e["anonymousId"] = json!(person);
    } else {
        e["userId"] = json!(person);
        e["anonymousId"] = json!("device");
    }
    e
}

fn get_stats(addr: SocketAddr, token: &str) -> Value {
    let bearer = format!("Bearer {token}");
    let r = request(addr, "GET", "/v1/stats", &[("Authorization", &bearer)], b"");
    assert_eq!(r.status, 200);
    let body = r.json();
    // Still what the SDK's tests parse.
    serde_json::from_value::<Stats>(body.clone()).expect("/v1/stats parses as Stats");
    body
}

fn post(addr: SocketAddr, events: Vec<Value>) {
    assert_eq!(post_batch_gzip(addr, &batch(events), None).status, 200);
}

fn close(got: &Value, want: f64, what: &str) {
    let got = got
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {got} is not a number"));
    assert!((got - want).abs() < 1e-9, "{what}: {got} != {want}");
}

/// Checks an answered effect against `lift::effect` of the hand-built arms.
fn same_effect(got: &Value, want: &Effect, what: &str) {
    close(
        &got["absolute_lift"]["value"],
        want.absolute_lift.value,
        what,
    );
    close(&got["compliance"], want.compliance, what);
    close(
        &got["value_lift_per_person"]["value"],
        want.value_lift_per_person.value,
        what,
    );
    match want.absolute_lift.ci95_low {
        Some(low) => close(&got["absolute_lift"]["ci95_low"], low, what),
        None => assert_eq!(got["absolute_lift"]["ci95_low"], Value::Null, "{what}"),
    }
    match want.complier_effect {
        Some(c) => close(&got["complier_effect"]["value"], c.value, what),
        None => assert_eq!(got["complier_effect"], Value::Null, "{what}"),
    }
}

fn arm(assigned: u64, exposed: u64, converted: u64, value_sum: f64, value_sum_squares: f64) -> Arm {
    Arm {
        assigned,
        exposed,
        converted,
        value_sum,
        value_sum_squares,
    }
}

#[test]
fn stats_give_each_variants_persons_the_effect_and_the_global_holdout_on_every_store() {
    for store in support::stores::all() {
        let name = store.name;
        let s = start(store.config()).unwrap();
        let (addr, token) = (s.addr(), s.admin_token().to_string());
        // Treatment "A": t0..t39 (t20.. anonymous), offered t0..t35, shown t10..t39: assigned 40, exposed 30.
        let t = |i: usize| {
            if i < 20 {
                format!("t{i}")
            } else {
                format!("a{i}")
            }
        };
        let mut treatment: Vec<Value> = (0..36)
            .map(|i| {
                ev(
                    &format!("o{i}"),
                    "reach.popup.offered",
                    "A",
                    &t(i),
                    Value::Null,
                )
            })
            .collect();
        treatment.extend((10..40).map(|i| {
            ev(
                &format!("s{i}"),
                "reach.popup.shown",
                "A",
                &t(i),
                Value::Null,
            )
        }));
        // 12 convert: t0 twice (10 + 15), t1 without a numeric value, t2..t11 for 20 each.
        treatment.push(ev("v0", "reach.conversion", "A", "t0", json!(10)));
        treatment.push(ev("v0b", "reach.conversion", "A", "t0", json!(15)));
        treatment.push(ev("v1", "reach.conversion", "A", "t1", json!("12")));
        treatment.extend(
            (2..12).map(|i| ev(&format!("v{i}"), "reach.conversion", "A", &t(i), json!(20))),
        );
        post(addr, treatment.clone());
        // A QA phone's preview and a test person's conversion ("test": true): stored, in no campaign's line.
        let mut qa = vec![
            ev("q1", "reach.popup.offered", "A", "qa", Value::Null),
            ev("q2", "reach.popup.shown", "A", "qa", Value::Null),
            ev("q3", "reach.conversion", "A", "qa", json!(99)),
        ];
        for e in &mut qa {
            e["properties"]["test"] = json!(true);
        }
        post(addr, qa);
        let stats = get_stats(addr, &token);
        assert_eq!(
            stats["events_stored"],
            79 + 3,
            "{name}: the test events are stored"
        );
        let spring = &stats["by_campaign"]["spring"];
        assert_eq!(
            (spring["offered"].as_u64(), spring["shown"].as_u64()),
            (Some(36), Some(30)),
            "{name}"
        );
        assert_eq!(
            spring["variants"]["A"],
            json!({"control": false, "assigned": 40, "exposed": 30, "converted": 12, "conversion_rate": 0.3,
                   "revenue": 225.0, "revenue_per_person": 5.625}),
            "{name}"
        );
        assert_eq!(spring["effect"], Value::Null, "{name}: no control arm yet");
        assert_eq!(spring["effect_vs_global_holdout"], Value::Null, "{name}");
        assert_eq!(stats["global_holdout"], Value::Null, "{name}");

        // A small control arm (5 persons, 1 converts): an effect, but no interval below MIN_PERSONS_PER_ARM.
        post(
            addr,
            controls(0..5)
                .chain([ev("kv0", "reach.conversion", "ctl", "c0", json!(5))])
                .collect(),
        );
        let stats = get_stats(addr, &token);
        let spring = &stats["by_campaign"]["spring"];
        let t_arm = arm(40, 30, 12, 225.0, 625.0 + 4_000.0);
        let small = lift::effect(&t_arm, &arm(5, 0, 1, 5.0, 25.0)).unwrap();
        assert!(small.absolute_lift.ci95_low.is_none());
        same_effect(&spring["effect"], &small, name);
        assert_eq!(spring["variants"]["ctl"]["control"], true, "{name}");

        // The control arm grows to 40: c5..c38 reach the exposure point, c1..c4 and c39 (with no control event:
        // converting makes them assigned) convert for 5 each. The whole treatment batch is resent: nothing counts
        // twice.
        let mut more: Vec<Value> = controls(5..39).collect();
        more.extend([1, 2, 3, 4, 39].map(|i| {
            ev(
                &format!("kv{i}"),
                "reach.conversion",
                "ctl",
                &format!("c{i}"),
                json!(5),
            )
        }));
        post(addr, more);
        post(addr, treatment);
        let stats = get_stats(addr, &token);
        assert!(
            stats["duplicates"].as_u64().unwrap() >= 79,
            "{name}: {}",
            stats["duplicates"]
        );
        let spring = &stats["by_campaign"]["spring"];
        assert_eq!(spring["variants"]["A"]["assigned"], 40, "{name}");
        assert_eq!(spring["variants"]["A"]["converted"], 12, "{name}");
        close(&spring["variants"]["A"]["revenue"], 225.0, name);
        let c_arm = arm(40, 0, 6, 30.0, 150.0);
        assert_eq!(
            spring["variants"]["ctl"],
            json!({"control": true, "assigned": 40, "exposed": 0, "converted": 6, "conversion_rate": 0.15,
                   "revenue": 30.0, "revenue_per_person": 0.75}),
            "{name}"
        );
        let full = lift::effect(&t_arm, &c_arm).unwrap();
        assert!(full.absolute_lift.ci95_low.is_some() && full.complier_effect.is_some());
        same_effect(&spring["effect"], &full, name);
        assert_eq!(stats["global_holdout"], Value::Null, "{name}");

        // The global holdout: h0..h39 held out of spring, h0 and h1 convert (8, 2) in autumn. Autumn treats
        // t0 and u0 (converts 7), and h2, who is held out and so not treated.
        let mut holdout: Vec<Value> = (0..40)
            .map(|i| {
                ev(
                    &format!("g{i}"),
                    "reach.popup.control",
                    "global_holdout",
                    &format!("h{i}"),
                    Value::Null,
                )
            })
            .collect();
        holdout.push(ev_in(
            "autumn",
            "gv0",
            "reach.conversion",
            "global_holdout",
            "h0",
            json!(8),
        ));
        holdout.push(ev_in(
            "autumn",
            "gv1",
            "reach.conversion",
            "global_holdout",
            "h1",
            json!(2),
        ));
        holdout.push(ev_in(
            "autumn",
            "b0",
            "reach.popup.shown",
            "B",
            "t0",
            Value::Null,
        ));
        holdout.push(ev_in(
            "autumn",
            "b1",
            "reach.popup.offered",
            "B",
            "u0",
            Value::Null,
        ));
        holdout.push(ev_in(
            "autumn",
            "bv1",
            "reach.conversion",
            "B",
            "u0",
            json!(7),
        ));
        holdout.push(ev_in(
            "autumn",
            "b2",
            "reach.popup.offered",
            "B",
            "h2",
            Value::Null,
        ));
        post(addr, holdout);
        let stats = get_stats(addr, &token);
        let spring = &stats["by_campaign"]["spring"];
        same_effect(&spring["effect"], &full, name);
        assert_eq!(
            spring["variants"]["global_holdout"]["assigned"], 40,
            "{name}"
        );
        assert_eq!(
            spring["variants"]["global_holdout"]["control"], true,
            "{name}"
        );
        let vs_holdout = lift::effect(&t_arm, &arm(40, 0, 0, 0.0, 0.0)).unwrap();
        same_effect(&spring["effect_vs_global_holdout"], &vs_holdout, name);
        assert_eq!(
            stats["by_campaign"]["autumn"]["effect"],
            Value::Null,
            "{name}"
        );
        let g = &stats["global_holdout"];
        // Treated: t0..t39 and u0 (41), exposed t10..t39 and t0 (31), converted 12 + u0.
        let treated = arm(41, 31, 13, 232.0, 4_625.0 + 49.0);
        let held_out = arm(40, 0, 2, 10.0, 68.0);
        assert_eq!(
            g["treated"],
            json!({"assigned": 41, "exposed": 31, "converted": 13, "conversion_rate": 13.0 / 41.0,
                   "revenue": 232.0, "revenue_per_person": 232.0 / 41.0}),
            "{name}"
        );
        assert_eq!(
            g["held_out"],
            json!({"assigned": 40, "exposed": 0, "converted": 2, "conversion_rate": 0.05,
                   "revenue": 10.0, "revenue_per_person": 0.25}),
            "{name}"
        );
        same_effect(
            &g["effect"],
            &lift::effect(&treated, &held_out).unwrap(),
            name,
        );
        assert_eq!(
            serde_json::to_value(s.stats().unwrap()).unwrap()["global_holdout"]["treated"]
                ["assigned"],
            41
        );
    }
}
