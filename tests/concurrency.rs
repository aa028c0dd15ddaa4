//! Eight threads at once on one tracker: `track`, `identify`, `reset`,
//! pack swaps, consent changes and flushes interleave freely, and the final
//! counts are exact — nothing lost, nothing doubled, each thread's events in
//! its own order. Real SQLite file, real worker; bounded in count.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};

use common::*;
use reach::{Consent, Value};

/// Tracks per plain tracking thread.
const TRACKS: i64 = 1_000;
/// Calls of each kind on the mixed threads.
const MIXED: i64 = 50;

fn pack(event: &str) -> String {
    serde_json::json!({ "format": "1.1", "campaigns": [{
        "id": format!("on-{event}"),
        "trigger": { "event": event },
        "frequency": { "max_total": 1 },
        "popup": { "template": "modal", "title": "Hi" }
    }]})
    .to_string()
}

fn tick(t: &reach::Tracker, thread: i64, i: i64) {
    t.track(
        format!("t{thread}"),
        props(&[("thread", Value::Int(thread)), ("i", Value::Int(i))]),
    )
    .unwrap();
}

#[test]
fn eight_threads_of_mixed_calls_store_exactly_what_was_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let o = Arc::new(open(dir.path()));
    let start = Arc::new(Barrier::new(8));
    let mut handles = Vec::new();
    for thread in 0..8i64 {
        let o = o.clone();
        let start = start.clone();
        handles.push(std::thread::spawn(move || {
            let t = &o.tracker;
            start.wait();
            match thread {
                0..=3 => (0..TRACKS).for_each(|i| tick(t, thread, i)),
                4 => {
                    for i in 0..MIXED {
                        t.identify(format!("user-{}", i % 3)).unwrap();
                        tick(t, thread, 2 * i);
                        tick(t, thread, 2 * i + 1);
                    }
                }
                5 => {
                    for i in 0..MIXED {
                        t.reset().unwrap();
                        tick(t, thread, 2 * i);
                        tick(t, thread, 2 * i + 1);
                    }
                }
                6 => {
                    for i in 0..MIXED {
                        t.load_rule_pack(&pack(if i % 2 == 0 { "t0" } else { "t1" }))
                            .unwrap();
                        // Pending still records (it only holds uploads back).
                        let c = if i % 2 == 0 {
                            Consent::Pending
                        } else {
                            Consent::Granted
                        };
                        t.set_consent(c).unwrap();
                    }
                }
                _ => {
                    for i in 0..MIXED {
                        assert!(t.flush());
                        t.set_user_properties(props(&[("plan", Value::Int(i))]))
                            .unwrap();
                    }
                }
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    assert!(o.tracker.flush());
    let events = stored_events(dir.path());
    let mut by_name: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for e in &events {
        let i = json(e)["i"].as_i64().unwrap_or(-1);
        by_name.entry(e.name.clone()).or_default().push(i);
    }
    for thread in 0..=5 {
        let n = if thread <= 3 { TRACKS } else { 2 * MIXED };
        assert_eq!(
            by_name.get(&format!("t{thread}")),
            Some(&(0..n).collect::<Vec<_>>()),
            "thread {thread}: every event once, in its order"
        );
    }
    // One identify event per identify() and per set_user_properties().
    assert_eq!(by_name["identify"].len() as i64, 2 * MIXED);
    let expected = 4 * TRACKS + 2 * 2 * MIXED + 2 * MIXED;
    assert_eq!(events.len() as i64, expected);
    let d = o.tracker.diagnostics();
    assert_eq!(d.stored as i64, expected);
    assert_eq!(
        (
            d.rejected_total,
            d.dropped_overflow,
            d.dropped_storage_error
        ),
        (0, 0, 0)
    );
}

#[test]
fn consent_denied_while_eight_threads_track_refuses_exactly_what_came_after() {
    let dir = tempfile::tempdir().unwrap();
    let o = Arc::new(open(dir.path()));
    // Three phases, each ended by all eight threads: granted, denied, granted.
    let phase = Arc::new(Barrier::new(9));
    let mut handles = Vec::new();
    for thread in 0..8i64 {
        let o = o.clone();
        let phase = phase.clone();
        handles.push(std::thread::spawn(move || {
            for p in 0..3i64 {
                phase.wait();
                for i in 0..200 {
                    tick(&o.tracker, thread, p * 1_000 + i);
                    if i % 50 == 0 {
                        assert!(o.tracker.flush());
                    }
                }
                phase.wait();
            }
        }));
    }
    for consent in [Consent::Granted, Consent::Denied, Consent::Granted] {
        o.tracker.set_consent(consent).unwrap();
        phase.wait();
        phase.wait();
    }
    for h in handles {
        h.join().unwrap();
    }
    assert!(o.tracker.flush());
    let events = stored_events(dir.path());
    // Phase 1 was deleted by the denial, phase 2 refused, phase 3 kept.
    assert_eq!(events.len(), 8 * 200);
    assert!(events
        .iter()
        .all(|e| (2_000..2_200).contains(&json(e)["i"].as_i64().unwrap())));
    let d = o.tracker.diagnostics();
    assert_eq!(d.stored, 8 * 200);
    assert_eq!(d.rejected_total, 8 * 200, "{:?}", d.rejected_by_reason);
}
