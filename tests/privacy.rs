//! Privacy: consent denied deletes the stored events so that their bytes
//! leave the database file (SQLite's `secure_delete`, and the WAL truncated
//! after that commit), and no property value or user id ever reaches a log
//! line, on any path: tracked, refused, oversized, identified, user
//! properties, uploads refused by the server.

mod common;
mod net_support;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use net_support::{Answer, TestServer, TransportKind};
use reach::{Consent, ServerConfig, Value};

/// Bytes of every file of the database (main file, WAL, shared memory).
fn database_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("reach.db") {
            all.extend(std::fs::read(&p).unwrap());
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn denied_consent_deletes_the_events_bytes_from_the_database_files() {
    const SECRET: &str = "PRIVATE-card-4417-9c3e";
    let dir = tempfile::tempdir().unwrap();
    let o = open(dir.path());
    for i in 0..200 {
        o.tracker
            .track(
                "purchase".into(),
                props(&[("note", Value::String(format!("{SECRET}-{i}")))]),
            )
            .unwrap();
    }
    assert!(o.tracker.flush());
    assert!(
        contains(&database_bytes(dir.path()), SECRET),
        "the events are on disk before consent is denied"
    );
    o.tracker.set_consent(Consent::Denied).unwrap();
    // At once: refused on the caller's thread, nothing more is stored.
    o.tracker
        .track(
            "after".into(),
            props(&[("note", Value::String(SECRET.into()))]),
        )
        .unwrap();
    assert!(o.tracker.flush());
    assert_eq!(o.tracker.diagnostics().stored, 0);
    assert!(
        !contains(&database_bytes(dir.path()), SECRET),
        "deleted event bytes are still in the database files"
    );
    assert!(o.tracker.close());
    assert!(!contains(&database_bytes(dir.path()), SECRET));
}

#[test]
fn delete_local_data_removes_the_events_bytes_too() {
    const SECRET: &str = "PRIVATE-address-221b-baker";
    let dir = tempfile::tempdir().unwrap();
    let o = open(dir.path());
    o.tracker.identify("user-PRIVATE-77".into()).unwrap();
    for _ in 0..50 {
        o.tracker
            .track("e".into(), props(&[("a", Value::String(SECRET.into()))]))
            .unwrap();
    }
    assert!(o.tracker.flush());
    assert!(contains(&database_bytes(dir.path()), SECRET));
    o.tracker.delete_local_data().unwrap();
    assert!(o.tracker.flush());
    let bytes = database_bytes(dir.path());
    assert!(!contains(&bytes, SECRET));
    assert!(!contains(&bytes, "user-PRIVATE-77"));
}

#[test]
fn no_property_value_or_user_id_appears_in_any_log_line() {
    let secrets = [
        "SECRET-string-b7e1",
        "SECRET-list-item-00aa",
        "SECRET-user-prop-5150",
        "user-SECRET-id-8086",
        "SECRET-oversized-f00d",
        "SECRET-refused-name-value",
        "8675309123456",
    ];
    let server = TestServer::start();
    // The collector refuses every batch (each event is tried alone), then fails.
    server.script([Answer::Status(500, None)]);
    server.state().otherwise = Some(Answer::Status(400, None));
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    let mut s = ServerConfig::new(server.url(), "wk-test");
    s.transport = Some(net_support::transport(TransportKind::Ureq));
    s.request_timeout = Duration::from_secs(2);
    c.server = Some(s);
    let o = open_with(c);
    let t = &o.tracker;
    // A campaign whose property filter the event fails, and one it matches
    // (no presenter: the offer is logged and not shown).
    t.load_rule_pack(
        &serde_json::json!({"format": "1.1", "campaigns": [
            {"id": "filtered", "trigger": {"event": "checkout",
                "where": [{"prop": "s", "op": "eq", "value": "another"}]},
             "popup": {"template": "modal", "title": "x"}},
            {"id": "matched", "trigger": {"event": "checkout",
                "where": [{"prop": "n", "op": "gt", "value": 1}]},
             "popup": {"template": "modal", "title": "y"}}
        ]})
        .to_string(),
    )
    .unwrap();
    // A value no JSON can carry, and a key that is not allowed.
    let _ = t.track(
        "odd".into(),
        props(&[
            ("f", Value::Float(f64::NAN)),
            ("", Value::String(secrets[0].into())),
        ]),
    );
    t.track(
        "checkout".into(),
        props(&[
            ("s", Value::String(secrets[0].into())),
            ("l", Value::StringList(vec![secrets[1].into()])),
            ("n", Value::Int(8_675_309_123_456)),
        ]),
    )
    .unwrap();
    t.set_user_properties(props(&[("p", Value::String(secrets[2].into()))]))
        .unwrap();
    t.identify(secrets[3].into()).unwrap();
    // Oversized: one property past the size limit.
    let big = format!("{}{}", secrets[4], "x".repeat(40 * 1024));
    let _ = t.track("big".into(), props(&[("b", Value::String(big))]));
    // Refused: a reserved name, and a name too long.
    let _ = t.track(
        "reach.internal".into(),
        props(&[("v", Value::String(secrets[5].into()))]),
    );
    let _ = t.track(
        "n".repeat(300),
        props(&[("v", Value::String(secrets[5].into()))]),
    );
    assert!(t.flush());
    t.upload_now(Duration::from_secs(10));
    // The 500 backs off on the test's virtual clock: when the flush and
    // upload_now reach the network thread together, the one drain meets the
    // 500 and the retry (answered 400) waits for the clock to pass the
    // backoff, so move it along as a device's clock would.
    // Wait for the refusal's log line too: it is written after the
    // server's answer, and close() does not wait for a drain under way.
    let refusal_logged = || {
        o.log
            .lines
            .lock()
            .unwrap()
            .iter()
            .any(|(_, l)| l.contains("HTTP 400"))
    };
    let start = Instant::now();
    while server.receipts().len() < 2 || !refusal_logged() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the uploads: {:?}",
            server
                .receipts()
                .iter()
                .map(|r| (r.answer.clone(), r.message_ids.len()))
                .collect::<Vec<_>>()
        );
        o.clock.advance_ms(1_000);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(t.flush());
    assert!(t.close());
    let lines = o.log.lines.lock().unwrap().clone();
    // The paths above did log (the test could fail): refusals, a campaign
    // the event did not match, uploads refused.
    for says in ["refused", "upload failed", "HTTP 400"] {
        assert!(
            lines.iter().any(|(_, l)| l.contains(says)),
            "{says}: {lines:?}"
        );
    }
    for (level, line) in &lines {
        for s in secrets {
            assert!(!line.contains(s), "{s:?} in a {level:?} log line: {line}");
        }
    }
}
