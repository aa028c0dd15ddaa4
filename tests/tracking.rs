//! The tracking contract, through the Rust API on a real SQLite file.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use reach::{Consent, Error, Tracker, Value};

#[test]
fn eight_threads_each_tracking_100k_events_store_exactly_800k_in_per_thread_order() {
    const THREADS: i64 = 8;
    const PER_THREAD: i64 = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.queue.max_events = 1_000_000;
    cfg.queue.max_bytes = 1 << 30;
    let opened = open_with(cfg);
    let tracker = Arc::new(opened.tracker);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let tracker = tracker.clone();
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    tracker
                        .track(
                            "tap".into(),
                            props(&[("t", Value::Int(t)), ("i", Value::Int(i))]),
                        )
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(
        tracker.flush_within(Duration::from_secs(60)),
        "flush completed"
    );
    let d = tracker.diagnostics();
    assert_eq!(
        (d.stored, d.queued, d.dropped_overflow, d.rejected_total),
        (800_000, 0, 0, 0)
    );
    assert!(tracker.close());

    let events = stored_events(dir.path());
    assert_eq!(events.len(), 800_000);
    let mut next = vec![0i64; THREADS as usize];
    let mut ids = HashSet::with_capacity(events.len());
    let mut last_seq = 0;
    for e in &events {
        assert!(e.seq > last_seq, "sequence numbers increase");
        last_seq = e.seq;
        assert!(
            ids.insert(e.message_id),
            "messageId {} is unique",
            e.message_id
        );
        let p = json(e);
        let (t, i) = (p["t"].as_i64().unwrap() as usize, p["i"].as_i64().unwrap());
        assert_eq!(i, next[t], "thread {t} kept its order");
        next[t] += 1;
    }
    assert!(next.iter().all(|&n| n == PER_THREAD));
}

#[test]
fn every_event_carries_its_stamps_and_context() {
    let dir = tempfile::tempdir().unwrap();
    let o = open(dir.path());
    o.tracker
        .track(
            "register".into(),
            props(&[
                ("method", Value::String("sms".into())),
                ("at", Value::Timestamp(0)),
            ]),
        )
        .unwrap();
    o.clock.advance_ms(1500);
    o.tracker.screen("home".into(), vec![]).unwrap();
    assert!(o.tracker.close());
    let events = stored_events(dir.path());
    assert_eq!(events.len(), 2);
    let (a, b) = (&events[0], &events[1]);
    assert_eq!(a.name, "register");
    assert_eq!(a.kind, reach::event::EventKind::Track);
    assert_eq!(b.kind, reach::event::EventKind::Screen);
    assert_eq!(a.timestamp_ms, T0);
    assert_eq!(b.timestamp_ms, T0 + 1500);
    assert_eq!(
        json(a),
        serde_json::json!({"method": "sms", "at": "1970-01-01T00:00:00.000Z"})
    );
    // The text the batch carries (upload/batch.rs writes the hyphenated form).
    let (id_a, id_b) = (a.message_id.to_string(), b.message_id.to_string());
    assert_eq!(id_a.len(), 36);
    assert_ne!(id_a, id_b);
    // Time-ordered (UUIDv7 from the event's timestamp): a collector's index
    // takes a batch in a few leaves.
    assert_eq!(&id_a[14..15], "7", "{id_a}");
    assert!(id_a < id_b, "{id_a} then {id_b}");
    assert_eq!(
        &id_a[..13],
        &format!("{:08x}-{:04x}", T0 >> 16, T0 & 0xffff),
        "the id starts with the event's milliseconds"
    );
    assert_eq!(b.seq, a.seq + 1);
    assert_eq!(a.session_id, b.session_id);
    assert_eq!(a.anonymous_id.len(), 36);
    assert_eq!(a.user_id, None);
    let ctx: serde_json::Value = serde_json::from_str(&a.context_json).unwrap();
    assert_eq!(ctx["app"]["version"], "5.2.0");
    assert_eq!(ctx["os"]["name"], "android");
    assert_eq!(ctx["locale"], "zh-CN");
    assert_eq!(ctx["timezone"], "Asia/Shanghai");
    assert_eq!(ctx["library"]["name"], "reach");
}

#[test]
fn bad_events_are_refused_counted_and_logged_and_strict_mode_returns_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let o = open(dir.path());
    let t = &o.tracker;
    t.track("".into(), vec![]).unwrap();
    t.track("reach.popup.shown".into(), vec![]).unwrap();
    t.track("ok".into(), props(&[("f", Value::Float(f64::NAN))]))
        .unwrap();
    t.track(
        "ok".into(),
        props(&[("x", Value::Unsupported("java.util.UUID".into()))]),
    )
    .unwrap();
    t.track(
        "ok".into(),
        props(&[("a", Value::Int(1)), ("a", Value::Int(2))]),
    )
    .unwrap();
    t.track("fine".into(), vec![]).unwrap();
    assert!(t.flush());
    let d = t.diagnostics();
    assert_eq!(d.stored, 1);
    assert_eq!(d.rejected_total, 5);
    for code in [
        "name_empty",
        "name_reserved_prefix",
        "non_finite_float",
        "unsupported_value",
        "duplicate_property",
    ] {
        assert_eq!(d.rejected_by_reason.get(code), Some(&1), "{code}");
    }
    assert!(o.log.contains("reserved for Reach's own events"));
    assert!(o.log.contains("java.util.UUID"));
    t.close();

    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.strict = true;
    let o = open_with(cfg);
    match o.tracker.track("reach.x".into(), vec![]) {
        Err(Error::Rejected(r)) => assert_eq!(r.code(), "name_reserved_prefix"),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(o.tracker.track("ok".into(), vec![]).is_ok());
}

#[test]
fn a_second_instance_on_the_same_directory_gets_a_clear_error_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path());
    let clock = first.clock.clone() as Arc<dyn reach::Clock>;
    match Tracker::open(config(dir.path()), clock.clone(), None) {
        Err(e @ Error::AlreadyOpen(_)) => assert!(e.to_string().contains("another Reach instance")),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a second instance opened"),
    }
    assert!(first.tracker.close());
    assert!(Tracker::open(config(dir.path()), clock, None).is_ok());
}

#[test]
fn a_corrupt_database_is_moved_aside_and_tracking_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("reach.db"), vec![0x42u8; 8192]).unwrap();
    let o = open(dir.path());
    o.tracker.track("after_corruption".into(), vec![]).unwrap();
    assert!(o.tracker.flush());
    assert!(o.tracker.diagnostics().persistent);
    assert!(o.log.contains("the database was corrupt"));
    o.tracker.close();
    let moved: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("reach.db.corrupt-")
        })
        .collect();
    assert_eq!(moved.len(), 1);
    assert_eq!(stored_events(dir.path())[0].name, "after_corruption");
}

#[test]
fn a_full_queue_drops_the_oldest_events_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.queue.max_events = 100;
    let o = open_with(cfg);
    for i in 0..250 {
        o.tracker
            .track("e".into(), props(&[("i", Value::Int(i))]))
            .unwrap();
        if i % 50 == 49 {
            assert!(o.tracker.flush());
        }
    }
    assert!(o.tracker.flush());
    let d = o.tracker.diagnostics();
    assert_eq!((d.stored, d.dropped_overflow), (100, 150));
    assert!(o.log.contains("the event queue is full"));
    o.tracker.close();
    let kept: Vec<i64> = stored_events(dir.path())
        .iter()
        .map(|e| json(e)["i"].as_i64().unwrap())
        .collect();
    assert_eq!(
        kept,
        (150..250).collect::<Vec<_>>(),
        "the newest 100 are kept"
    );
}

#[test]
fn the_byte_cap_drops_the_oldest_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.queue.max_bytes = 10_000;
    let o = open_with(cfg);
    let big = Value::String("x".repeat(900));
    for i in 0..30 {
        o.tracker
            .track(
                "e".into(),
                props(&[("i", Value::Int(i)), ("p", big.clone())]),
            )
            .unwrap();
    }
    assert!(o.tracker.flush());
    let d = o.tracker.diagnostics();
    assert!(d.stored_bytes <= 10_000, "{} bytes kept", d.stored_bytes);
    assert_eq!(d.stored + d.dropped_overflow, 30);
    assert!(d.stored >= 9);
}

#[test]
fn consent_pending_records_and_denied_deletes_and_stops_recording() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.initial_consent = Consent::Pending;
    let o = open_with(cfg);
    o.tracker.track("a".into(), vec![]).unwrap();
    assert!(o.tracker.flush());
    assert_eq!(
        o.tracker.diagnostics().stored,
        1,
        "pending still records locally"
    );
    o.tracker.set_consent(Consent::Denied).unwrap();
    o.tracker.track("b".into(), vec![]).unwrap();
    assert!(o.tracker.flush());
    let d = o.tracker.diagnostics();
    assert_eq!(d.stored, 0);
    assert_eq!(d.rejected_by_reason.get("consent_denied"), Some(&1));
    o.tracker.close();

    // The choice survives a restart, whatever the app passes at open.
    let o = open(dir.path());
    assert!(o.tracker.flush());
    assert_eq!(o.tracker.consent(), Consent::Denied);
    o.tracker.track("c".into(), vec![]).unwrap();
    o.tracker.set_consent(Consent::Granted).unwrap();
    o.tracker.track("d".into(), vec![]).unwrap();
    o.tracker.close();
    let names: Vec<_> = stored_events(dir.path())
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["d"]);
}

#[test]
fn identify_reset_and_user_properties_shape_the_identity_of_later_events() {
    let dir = tempfile::tempdir().unwrap();
    let o = open(dir.path());
    let t = &o.tracker;
    t.track("before".into(), vec![]).unwrap();
    t.identify("u1".into()).unwrap();
    t.set_user_properties(props(&[("verified", Value::Bool(true))]))
        .unwrap();
    t.unset_user_properties(vec!["verified".into()]).unwrap();
    t.track("as_u1".into(), vec![]).unwrap();
    t.identify("u2".into()).unwrap(); // a different user: a fresh person
    t.track("as_u2".into(), vec![]).unwrap();
    t.reset().unwrap();
    t.track("after_reset".into(), vec![]).unwrap();
    t.close();
    let ev = stored_events(dir.path());
    let by_name = |n: &str| ev.iter().find(|e| e.name == n).unwrap().clone();
    let before = by_name("before");
    let u1 = by_name("as_u1");
    let u2 = by_name("as_u2");
    let after = by_name("after_reset");
    assert_eq!(before.user_id, None);
    assert_eq!(u1.user_id.as_deref(), Some("u1"));
    assert_eq!(
        u1.anonymous_id, before.anonymous_id,
        "identify keeps the anonymous history"
    );
    assert_eq!(u2.user_id.as_deref(), Some("u2"));
    assert_ne!(
        u2.anonymous_id, u1.anonymous_id,
        "another user starts fresh"
    );
    assert_eq!(after.user_id, None);
    assert_ne!(after.anonymous_id, u2.anonymous_id);
    assert_ne!(
        after.session_id, u2.session_id,
        "reset starts a new session"
    );
    let identifies: Vec<_> = ev
        .iter()
        .filter(|e| e.kind == reach::event::EventKind::Identify)
        .collect();
    assert_eq!(identifies.len(), 3);
    assert_eq!(json(identifies[1]), serde_json::json!({"verified": true}));
}

#[test]
fn the_anonymous_id_and_session_survive_a_restart_within_the_session_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let o = open(dir.path());
    o.tracker.on_foreground().unwrap();
    o.tracker.track("one".into(), vec![]).unwrap();
    o.tracker.close();
    let o = open(dir.path()); // same virtual time: well within 30 min
    o.tracker.track("two".into(), vec![]).unwrap();
    o.tracker.close();
    let ev = stored_events(dir.path());
    assert_eq!(ev[0].name, "app_open");
    assert_eq!(ev[1].anonymous_id, ev[2].anonymous_id);
    assert_eq!(ev[1].session_id, ev[2].session_id);
}

#[test]
fn a_new_session_starts_after_more_than_the_timeout_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let o = open(dir.path());
    let t = &o.tracker;
    let min = 60_000;
    t.on_foreground().unwrap();
    assert!(t.on_background());
    o.clock.advance_ms(30 * min);
    t.on_foreground().unwrap(); // exactly the timeout: same session
    assert!(t.on_background());
    o.clock.advance_ms(30 * min + 1);
    t.on_foreground().unwrap(); // longer: new session
    t.close();
    let ev = stored_events(dir.path());
    assert_eq!(ev.iter().filter(|e| e.name == "app_open").count(), 3);
    assert_eq!(ev[0].session_id, ev[1].session_id);
    assert_ne!(ev[1].session_id, ev[2].session_id);

    // Killed in the background, restarted 2 h later: a new session too.
    let o = open(dir.path());
    o.clock.advance_ms(120 * min);
    assert!(o.tracker.on_background());
    o.tracker.close();
    let o = open_at(config(dir.path()), T0 + 300 * min);
    o.tracker.track("later".into(), vec![]).unwrap();
    o.tracker.close();
    let ev = stored_events(dir.path());
    assert_ne!(ev.last().unwrap().session_id, ev[2].session_id);
}

#[test]
fn app_open_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.record_app_open = false;
    let o = open_with(cfg);
    o.tracker.on_foreground().unwrap();
    assert!(o.tracker.flush());
    assert_eq!(o.tracker.diagnostics().stored, 0);
}

#[test]
fn delete_local_data_wipes_events_and_identity() {
    let dir = tempfile::tempdir().unwrap();
    let o = open(dir.path());
    o.tracker.identify("u1".into()).unwrap();
    o.tracker.track("a".into(), vec![]).unwrap();
    o.tracker.delete_local_data().unwrap();
    assert!(o.tracker.flush());
    assert_eq!(o.tracker.diagnostics().stored, 0);
    o.tracker.track("b".into(), vec![]).unwrap();
    o.tracker.close();
    let ev = stored_events(dir.path());
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].user_id, None);
}

#[test]
fn calls_after_close_are_refused_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let o = open(dir.path());
    assert!(o.tracker.close());
    assert!(o.tracker.close(), "closing twice is fine");
    o.tracker.track("late".into(), vec![]).unwrap();
    o.tracker.identify("u".into()).unwrap();
    assert!(!o.tracker.flush());
    assert!(!o.tracker.on_background());
    assert_eq!(
        o.tracker.diagnostics().rejected_by_reason.get("closed"),
        Some(&3)
    );
}

#[test]
fn events_tracked_right_after_open_are_kept_even_while_the_database_opens() {
    let dir = tempfile::tempdir().unwrap();
    // Open, track at once, and drop without close: nothing may be lost.
    {
        let o = open(dir.path());
        for i in 0..1000 {
            o.tracker
                .track("early".into(), props(&[("i", Value::Int(i))]))
                .unwrap();
        }
        assert!(o.tracker.flush());
    }
    assert_eq!(stored_events(dir.path()).len(), 1000);
}
