//! The entry points the Kotlin and Swift wrappers lean on: `apply_calls`
//! (their queued hot calls, in batches, with the callers' timestamps),
//! `upload_now` (background tasks), and which pack serves at open when the
//! app ships a bundled one.

mod common;
mod net_support;

use std::path::Path;
use std::time::Duration;

use common::*;
use net_support::{Answer, TestServer, TransportKind};
use reach::tracker::{QueuedCall, UploadStop};
use reach::{Config, Consent, ServerConfig, Value};

fn track(name: &str, i: i64, timestamp_ms: i64) -> QueuedCall {
    QueuedCall::Track {
        name: name.into(),
        properties: props(&[("i", Value::Int(i))]),
        timestamp_ms,
    }
}

#[test]
fn applied_calls_keep_their_order_and_their_callers_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.record_app_open = false;
    let o = open_with(c);
    o.tracker.apply_calls(vec![
        track("before_login", 0, T0 - 5_000),
        QueuedCall::Identify {
            user_id: "u-1".into(),
            timestamp_ms: T0 - 4_000,
        },
        track("logged_in", 1, T0 - 3_000),
        QueuedCall::Reset {
            timestamp_ms: T0 - 2_000,
        },
        QueuedCall::Screen {
            name: "home".into(),
            properties: vec![],
            timestamp_ms: T0 - 1_000,
        },
    ]);
    assert!(o.tracker.close());
    let events = stored_events(dir.path());
    let names: Vec<_> = events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["before_login", "identify", "logged_in", "home"]);
    let stamps: Vec<_> = events.iter().map(|e| e.timestamp_ms).collect();
    assert_eq!(
        stamps,
        [T0 - 5_000, T0 - 4_000, T0 - 3_000, T0 - 1_000],
        "each event carries the time its call was made"
    );
    assert_eq!(events[0].user_id, None);
    assert_eq!(events[2].user_id.as_deref(), Some("u-1"));
    assert_eq!(
        events[3].user_id, None,
        "the reset before it applies to the screen"
    );
    assert_ne!(events[3].anonymous_id, events[0].anonymous_id);
}

/// Found by the `track` fuzz target: a call stamped `i64::MIN` made the
/// worker's session arithmetic overflow (a panic in debug builds, a wrapped
/// session time in release ones).
#[test]
fn a_call_stamped_outside_1970_to_9999_takes_the_current_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.record_app_open = false;
    let o = open_with(c);
    o.tracker.apply_calls(vec![
        track("min", 0, i64::MIN),
        QueuedCall::Foreground {
            timestamp_ms: i64::MAX,
        },
        QueuedCall::Background { timestamp_ms: -1 },
        track("max", 1, i64::MAX),
        track(
            "last_ms_of_9999",
            2,
            *reach::tracker::CALL_TIME_RANGE_MS.end(),
        ),
        track("epoch", 3, 0),
    ]);
    assert!(o.tracker.close());
    let stamps: Vec<_> = stored_events(dir.path())
        .iter()
        .map(|e| (e.name.clone(), e.timestamp_ms))
        .collect();
    assert_eq!(
        stamps,
        [
            ("min".to_string(), T0),
            ("max".to_string(), T0),
            ("last_ms_of_9999".to_string(), 253_402_300_799_999),
            ("epoch".to_string(), 0),
        ]
    );
}

#[test]
fn a_refused_call_in_a_batch_is_counted_and_the_rest_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.record_app_open = false;
    // Strict mode changes nothing here: a batch has no caller to throw to.
    c.strict = true;
    let o = open_with(c);
    o.tracker.apply_calls(vec![
        track("ok_1", 1, T0),
        track("", 2, T0),
        track("reach.reserved", 3, T0),
        track("ok_2", 4, T0),
        QueuedCall::SetConsent(Consent::Denied),
        track("after_denial", 5, T0),
    ]);
    assert!(o.tracker.flush());
    let d = o.tracker.diagnostics();
    assert_eq!(d.rejected_by_reason.get("name_empty"), Some(&1), "{d:?}");
    assert_eq!(
        d.rejected_by_reason.get("name_reserved_prefix"),
        Some(&1),
        "{d:?}"
    );
    assert_eq!(
        d.rejected_by_reason.get("consent_denied"),
        Some(&1),
        "{d:?}"
    );
    assert_eq!(o.tracker.consent(), Consent::Denied);
}

fn net_config(dir: &Path, server: &TestServer) -> Config {
    let mut c = config(dir);
    c.record_app_open = false;
    let mut s = ServerConfig::new(server.url(), "wk-test");
    s.transport = Some(net_support::transport(TransportKind::Ureq));
    s.request_timeout = Duration::from_millis(700);
    // No upload on its own: only upload_now() sends.
    s.flush_at = 1_000_000;
    c.server = Some(s);
    c
}

fn track_n(o: &Opened, n: i64) {
    for i in 0..n {
        o.tracker
            .track("tick".into(), props(&[("i", Value::Int(i))]))
            .unwrap();
    }
}

#[test]
fn upload_now_uploads_everything_stored_and_says_so() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let o = open_with(net_config(dir.path(), &server));
    track_n(&o, 250);
    let outcome = o.tracker.upload_now(Duration::from_secs(20));
    assert_eq!(outcome.stop, UploadStop::Drained, "{outcome:?}");
    assert_eq!(outcome.acknowledged, 250);
    assert_eq!(outcome.remaining, 0);
    assert_eq!(outcome.detail, None);
    assert_eq!(server.stored_count(), 250);
    // Nothing left: a second call sends nothing and says drained.
    let again = o.tracker.upload_now(Duration::from_secs(20));
    assert_eq!(
        (again.stop, again.acknowledged, again.remaining),
        (UploadStop::Drained, 0, 0)
    );
}

#[test]
fn upload_now_that_fails_keeps_the_events_and_says_why() {
    let server = TestServer::start();
    server.script([Answer::Status(503, None)]);
    let dir = tempfile::tempdir().unwrap();
    let o = open_with(net_config(dir.path(), &server));
    track_n(&o, 30);
    let outcome = o.tracker.upload_now(Duration::from_secs(20));
    assert_eq!(outcome.stop, UploadStop::Failed, "{outcome:?}");
    assert_eq!((outcome.acknowledged, outcome.remaining), (0, 30));
    assert!(
        outcome.detail.as_deref().is_some_and(|d| d.contains("503")),
        "{outcome:?}"
    );
    // The next call (a later background task) goes through at once, backoff or not.
    let outcome = o.tracker.upload_now(Duration::from_secs(20));
    assert_eq!(
        (outcome.stop, outcome.acknowledged, outcome.remaining),
        (UploadStop::Drained, 30, 0),
        "{outcome:?}"
    );
}

#[test]
fn upload_now_without_consent_a_server_or_an_open_instance_sends_nothing() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut c = net_config(dir.path(), &server);
    c.initial_consent = Consent::Pending;
    let o = open_with(c);
    track_n(&o, 5);
    let outcome = o.tracker.upload_now(Duration::from_secs(20));
    assert_eq!(outcome.stop, UploadStop::ConsentNotGranted);
    assert_eq!(outcome.remaining, 5);
    assert!(o.tracker.close());
    assert_eq!(
        o.tracker.upload_now(Duration::from_secs(1)).stop,
        UploadStop::Closed
    );
    assert!(server.receipts().is_empty());

    let offline = tempfile::tempdir().unwrap();
    let o = open(offline.path());
    track_n(&o, 3);
    let outcome = o.tracker.upload_now(Duration::from_secs(5));
    assert_eq!(outcome.stop, UploadStop::NoServer);
    assert_eq!(outcome.acknowledged, 0);
}

fn pack(version: u64) -> String {
    net_support::pack_json(version)
}

fn active_campaign(dir: &Path, bundled: Option<u64>) -> Vec<u64> {
    let mut c = config(dir);
    c.bundled_rule_pack = bundled.map(pack);
    let o = open_with(c);
    let active = (1..=5)
        .filter(|v| {
            o.tracker
                .explain(&format!("welcome-{v}"))
                .expect("explain")
                .in_pack
        })
        .collect();
    assert!(o.tracker.close());
    active
}

#[test]
fn a_bundled_pack_newer_than_the_stored_one_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        active_campaign(dir.path(), Some(1)),
        [1],
        "bundled at first run"
    );
    {
        let mut c = config(dir.path());
        c.bundled_rule_pack = Some(pack(1));
        let o = open_with(c);
        o.tracker.load_rule_pack(&pack(2)).unwrap();
        assert!(o.tracker.close());
    }
    assert_eq!(
        active_campaign(dir.path(), Some(1)),
        [2],
        "a loaded pack newer than the bundled one wins"
    );
    assert_eq!(
        active_campaign(dir.path(), Some(3)),
        [3],
        "an app update's newer bundled pack replaces the stored one"
    );
    assert_eq!(
        active_campaign(dir.path(), Some(1)),
        [3],
        "the replacement was stored: an older bundled pack does not come back"
    );
    assert_eq!(active_campaign(dir.path(), None), [3]);
}

#[test]
fn a_refused_stored_pack_falls_back_to_the_bundled_one() {
    let dir = tempfile::tempdir().unwrap();
    {
        let o = open(dir.path());
        o.tracker.load_rule_pack(&pack(4)).unwrap();
        assert!(o.tracker.close());
    }
    // Corrupt the stored pack behind Reach's back (an older SDK's format, a bad write).
    let (store, _) = reach::store::Store::open(&reach::store::database_path(dir.path()), 0);
    store.meta_set("rule_pack", r#"{"format": "9.9"}"#).unwrap();
    drop(store);
    assert_eq!(active_campaign(dir.path(), Some(1)), [1]);
}
