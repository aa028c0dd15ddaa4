//! Popup delivery and the person's campaign state, through the tracker with
//! a test presenter on virtual time: answers (show, later, discard), reports,
//! the report timeout, at-most-once across restarts, identity, clock jumps,
//! pack refusal, localisation.

mod scenario_harness;

use reach::popup::Answer;
use reach::Value;
use scenario_harness::*;

const SH: &str = "Asia/Shanghai";

/// One campaign on `register`, shown at most `max_total` times.
fn lottery(max_total: u32) -> String {
    format!(
        r#"{{"format": "1.0", "default_locale": "en", "campaigns": [{{
            "id": "lottery", "trigger": {{"event": "register"}},
            "frequency": {{"max_total": {max_total}}},
            "popup": {{"template": "modal",
                "title": {{"en": "New member lottery", "zh": "新人抽奖", "zh-TW": "新人抽獎"}},
                "buttons": [
                  {{"id": "draw", "text": "Draw now", "action": {{"type": "track_event", "event": "lottery_opened", "properties": {{"source": "popup"}}}}}},
                  {{"id": "close", "text": "Later", "action": {{"type": "dismiss"}}}}
                ]}}
        }}]}}"#
    )
}

#[test]
fn a_discarded_offer_counts_nothing_and_the_next_trigger_offers_again() {
    let mut phone = Phone::with_pack(SH, &lottery(1), day(0, "10:00"));
    phone.set_answer(Answer::Discard);
    expect(
        &phone.event(day(0, "10:01"), "register", &[]),
        Some("lottery"),
    );
    assert!(phone.log.contains("the host discarded popup"));
    phone.set_answer(Answer::ShowNow);
    let p = phone
        .event(day(0, "10:02"), "register", &[])
        .expect("offered again");
    phone.show_and_dismiss(&p);
    expect(&phone.event(day(0, "10:03"), "register", &[]), None);
    assert_eq!(
        phone
            .stored()
            .iter()
            .filter(|e| e.name == "reach.popup.shown")
            .count(),
        1
    );
}

#[test]
fn a_deferred_offer_comes_back_at_the_next_foreground_and_nothing_else_is_offered_meanwhile() {
    let mut phone = Phone::with_pack(SH, &lottery(5), day(0, "10:00"));
    phone.set_answer(Answer::Later { delay_ms: None });
    let first = phone
        .event(day(0, "10:01"), "register", &[])
        .expect("offered");
    phone.set_answer(Answer::ShowNow);
    expect(&phone.event(day(0, "10:02"), "register", &[]), None);
    let again = phone
        .foreground(day(0, "11:00"))
        .expect("re-offered at foreground");
    assert_eq!(
        again.offer_id, first.offer_id,
        "the same offer, not a new one"
    );
    phone.show_and_dismiss(&again);
    assert_eq!(
        phone
            .stored()
            .iter()
            .filter(|e| e.name == "reach.popup.shown")
            .count(),
        1
    );
}

#[test]
fn a_deferred_offer_with_a_delay_comes_back_when_due() {
    let mut phone = Phone::with_pack(SH, &lottery(5), day(0, "10:00"));
    phone.foreground(day(0, "10:00"));
    phone.set_answer(Answer::Later {
        delay_ms: Some(60_000),
    });
    let first = phone
        .event(day(0, "10:01"), "register", &[])
        .expect("offered");
    phone.set_answer(Answer::ShowNow);
    expect(&phone.event(day(0, "10:01:30"), "other", &[]), None);
    let again = phone
        .event(day(0, "10:02:01"), "other", &[])
        .expect("due again");
    assert_eq!(again.offer_id, first.offer_id);
}

#[test]
fn an_offer_without_a_report_counts_as_shown_after_the_timeout() {
    let mut phone = Phone::with_pack(SH, &lottery(1), day(0, "10:00"));
    phone
        .event(day(0, "10:00"), "register", &[])
        .expect("offered");
    // The host never reports. 30 s later any activity applies the timeout.
    phone.event(day(0, "10:00:31"), "tick", &[]);
    let shown: Vec<_> = phone
        .stored()
        .into_iter()
        .filter(|e| e.name == "reach.popup.shown")
        .collect();
    assert_eq!(shown.len(), 1);
    assert_eq!(json(&shown[0])["assumed"], true);
    expect(&phone.event(day(0, "11:00"), "register", &[]), None);
}

#[test]
fn an_offer_cut_off_by_a_restart_is_never_offered_again() {
    let mut phone = Phone::with_pack(SH, &lottery(1), day(0, "10:00"));
    phone
        .event(day(0, "10:00"), "register", &[])
        .expect("offered");
    // The app dies before the host reports anything: the popup may or may not
    // have reached the screen, so it counts as shown.
    phone.restart(None);
    expect(&phone.event(day(0, "10:05"), "register", &[]), None);
    assert!(phone.log.contains("counted as shown, not offered again"));
}

#[test]
fn a_click_with_a_track_event_action_records_that_event_and_caps_the_campaign() {
    let mut phone = Phone::with_pack(SH, &lottery(3), day(0, "10:00"));
    let p = phone.event(day(0, "10:00"), "register", &[]).unwrap();
    assert_eq!(
        p.title.as_deref(),
        Some("新人抽奖"),
        "zh-CN falls back to zh"
    );
    phone.shown(&p);
    phone.click(&p, "draw");
    let events = phone.stored();
    let opened = events
        .iter()
        .find(|e| e.name == "lottery_opened")
        .expect("action event");
    assert_eq!(json(opened)["source"], "popup");
    expect(&phone.event(day(1, "10:00"), "register", &[]), None);
}

#[test]
fn a_dismiss_button_counts_as_a_dismiss_not_a_click() {
    let mut phone = Phone::with_pack(SH, &lottery(3), day(0, "10:00"));
    let p = phone.event(day(0, "10:00"), "register", &[]).unwrap();
    phone.shown(&p);
    phone.click(&p, "close");
    let names: Vec<_> = phone
        .stored()
        .into_iter()
        .map(|e| e.name)
        .filter(|n| n.starts_with("reach."))
        .collect();
    assert_eq!(
        names,
        [
            "reach.popup.offered",
            "reach.popup.shown",
            "reach.popup.dismissed"
        ]
    );
    expect(
        &phone.event(day(0, "10:05"), "register", &[]),
        Some("lottery"),
    );
}

#[test]
fn identify_keeps_the_anonymous_caps_reset_and_another_user_start_fresh() {
    let mut phone = Phone::with_pack(SH, &lottery(1), day(0, "10:00"));
    let p = phone.event(day(0, "10:00"), "register", &[]).unwrap();
    phone.show_and_dismiss(&p);
    phone.tracker().identify("u1".into()).unwrap();
    expect(&phone.event(day(0, "10:01"), "register", &[]), None);
    phone.tracker().identify("u2".into()).unwrap();
    let p = phone
        .event(day(0, "10:02"), "register", &[])
        .expect("a different user is a fresh person");
    phone.show_and_dismiss(&p);
    phone.tracker().reset().unwrap();
    expect(
        &phone.event(day(0, "10:03"), "register", &[]),
        Some("lottery"),
    );
}

#[test]
fn a_clock_set_backwards_does_not_reset_caps() {
    let pack = r#"{"format": "1.0", "campaigns": [{"id": "daily", "trigger": {"event": "app_open"},
        "frequency": {"caps": [{"max": 1, "per": "day"}], "min_interval": "1h"},
        "popup": {"template": "banner", "title": "Hi"}}]}"#;
    let mut phone = Phone::with_pack(SH, pack, day(5, "10:00"));
    let p = phone.event(day(5, "10:00"), "app_open", &[]).unwrap();
    phone.show_and_dismiss(&p);
    // Back by less than the correction threshold: the impression keeps its
    // stamp, and counts although it is "later than now".
    expect(&phone.event(day(5, "09:55"), "app_open", &[]), None);
    // Back by days (taken as a correction, docs/rule-pack.md "Clocks that
    // lie"): the impression counts on the day the clock landed on, and on
    // its own day when the clock is set forward again.
    expect(&phone.event(day(3, "10:00"), "app_open", &[]), None);
    expect(&phone.event(day(5, "09:00"), "app_open", &[]), None);
    expect(
        &phone.event(day(6, "11:00"), "app_open", &[]),
        Some("daily"),
    );
}

#[test]
fn a_refused_pack_names_the_field_and_the_active_pack_keeps_serving_across_restarts() {
    let mut phone = Phone::with_pack(SH, &lottery(5), day(0, "10:00"));
    let bad = lottery(5).replace(
        r#""trigger": {"event": "register"}"#,
        r#""trigger": {"event": "register", "where": [{"prop": "m", "op": "gtx", "value": 1}]}"#,
    );
    match phone.tracker().load_rule_pack(&bad) {
        Err(reach::Error::InvalidRulePack(e)) => {
            assert_eq!(e.first().path, "campaigns[0].trigger.where[0].op");
            assert!(e.to_string().contains("gtx"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    phone.restart(None);
    let p = phone.event(day(0, "10:01"), "register", &[]);
    expect(&p, Some("lottery"));
}

#[test]
fn the_highest_priority_eligible_campaign_wins_and_the_others_wait_for_a_later_event() {
    let pack = r#"{"format": "1.0", "campaigns": [
        {"id": "low", "priority": 1, "trigger": {"event": "e"}, "frequency": {"max_total": 1}, "popup": {"template": "modal", "title": "low"}},
        {"id": "high", "priority": 9, "trigger": {"event": "e"}, "frequency": {"max_total": 1}, "popup": {"template": "modal", "title": "high"}},
        {"id": "gated", "priority": 50, "trigger": {"event": "e", "where": [{"prop": "vip", "op": "eq", "value": true}]}, "popup": {"template": "modal", "title": "vip"}}
    ]}"#;
    let mut phone = Phone::with_pack(SH, pack, day(0, "10:00"));
    let p = phone
        .event(day(0, "10:00"), "e", &[("vip", Value::Bool(false))])
        .unwrap();
    assert_eq!(p.campaign_id, "high");
    phone.show_and_dismiss(&p);
    let p = phone.event(day(0, "10:01"), "e", &[]).unwrap();
    assert_eq!(p.campaign_id, "low");
    phone.show_and_dismiss(&p);
    expect(&phone.event(day(0, "10:02"), "e", &[]), None);
}

#[test]
fn a_bundled_pack_serves_until_one_is_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = reach::Config::new(dir.path());
    cfg.app.timezone = SH.into();
    cfg.bundled_rule_pack = Some(lottery(1));
    let (tx, rx) = std::sync::mpsc::channel();
    struct Chan(std::sync::Mutex<std::sync::mpsc::Sender<String>>);
    impl reach::popup::Presenter for Chan {
        fn offer(&self, c: &reach::popup::OfferContent) -> Result<Answer, String> {
            let _ = self.0.lock().unwrap().send(c.campaign_id.clone());
            Ok(Answer::Discard)
        }
    }
    let t = reach::Tracker::open(cfg, std::sync::Arc::new(reach::SystemClock), None).unwrap();
    t.set_presenter(Some(std::sync::Arc::new(Chan(std::sync::Mutex::new(tx)))))
        .unwrap();
    t.track("register".into(), vec![]).unwrap();
    assert!(t.flush());
    assert_eq!(
        rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap(),
        "lottery"
    );
}

#[test]
fn a_delayed_offer_waits_for_its_delay_even_across_a_foreground() {
    let mut phone = Phone::with_pack(SH, &lottery(5), day(0, "10:00"));
    phone.set_answer(Answer::Later {
        delay_ms: Some(600_000),
    });
    phone
        .event(day(0, "10:00"), "register", &[])
        .expect("offered");
    phone.set_answer(Answer::ShowNow);
    phone.clock.set_ms(day(0, "10:01"));
    assert!(phone.tracker().on_background());
    expect(&phone.foreground(day(0, "10:02")), None);
    expect(&phone.foreground(day(0, "10:11")), Some("lottery"));
}

/// The walk-through of `android-sample/README.md` on the pack the sample
/// bundles: the registration modal, the fullscreen its deep link leads to,
/// and the banner at a later app open, each as often as the README says.
#[test]
fn the_android_sample_pack_offers_what_its_readme_walks_through() {
    let pack = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("android-sample/app/src/main/assets/reach-pack.json"),
    )
    .expect("the sample's pack");
    let mut phone = Phone::with_pack(SH, &pack, day(0, "09:00"));
    let sms = [("method", Value::String("sms".into()))];
    expect(&phone.foreground(day(0, "10:00")), None);
    let modal = phone
        .event(day(0, "10:01"), "register", &sms)
        .expect("the registration popup");
    expect(&Some(modal.clone()), Some("registration-gift"));
    phone.shown(&modal);
    phone.click(&modal, "open-gift");
    let fullscreen = phone
        .event(day(0, "10:02"), "gift_opened", &[])
        .expect("the gift's fullscreen");
    expect(&Some(fullscreen.clone()), Some("gift-fullscreen"));
    phone.show_and_dismiss(&fullscreen);
    expect(&phone.event(day(0, "10:03"), "register", &sms), None);
    let banner = phone
        .foreground(day(0, "12:00"))
        .expect("the welcome-back banner");
    expect(&Some(banner.clone()), Some("welcome-back-banner"));
    phone.show_and_dismiss(&banner);
    expect(&phone.foreground(day(0, "15:00")), None);
    expect(
        &phone.foreground(day(1, "10:00")),
        Some("welcome-back-banner"),
    );
}
