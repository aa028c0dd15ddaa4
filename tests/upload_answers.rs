//! What each answer of a real collector does to the queue: every 2xx the
//! collectors people run give (Segment's JSON, RudderStack's `OK`, an empty
//! 200, a 204) delivers; a captive portal's HTML page keeps the events; a
//! configuration mistake (401, 403, 404, 405, 410) keeps them, backs off up
//! to an hour and resumes at once on foreground or a new configuration;
//! 400/422 (and 413) drop only the refused event, isolated by halving.
//! Backoff runs on the virtual clock: the tests advance it, never sleep for
//! a backoff.

mod common;
mod net_support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use net_support::{Answer, TestServer, TransportKind};
use reach::transport::Transport;
use reach::{Config, ServerConfig, Value};

const WRITE_KEY: &str = "wk-test";
/// Long enough for a loopback request on a loaded 2-core machine.
const TEST_REQUEST_TIMEOUT: Duration = Duration::from_millis(2_000);
/// Real-time bound on waiting for something the client does by itself.
const WAIT: Duration = Duration::from_secs(20);
const MINUTE_MS: i64 = 60 * 1000;

fn net_config(dir: &Path, server: &TestServer, transport: Arc<dyn Transport>) -> Config {
    let mut c = config(dir);
    let mut s = ServerConfig::new(server.url(), WRITE_KEY);
    s.transport = Some(transport);
    s.request_timeout = TEST_REQUEST_TIMEOUT;
    c.server = Some(s);
    c
}

fn track_n(o: &Opened, from: i64, n: i64) {
    for i in from..from + n {
        o.tracker
            .track("tick".into(), props(&[("i", Value::Int(i))]))
            .unwrap();
    }
}

fn indices(server: &TestServer) -> Vec<i64> {
    let s = server.state();
    s.stored_order
        .iter()
        .filter_map(|id| s.stored[id]["properties"]["i"].as_i64())
        .collect()
}

fn every_collectors_success_delivers(kind: TransportKind) {
    let answers = [
        Answer::Collector(200, Some("application/json"), r#"{"success": true}"#),
        Answer::Collector(200, Some("text/plain; charset=utf-8"), "OK"),
        Answer::Collector(200, None, ""),
        Answer::Collector(204, None, ""),
    ];
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let o = open_with(net_config(
        dir.path(),
        &server,
        net_support::transport(kind),
    ));
    for (k, answer) in answers.iter().enumerate() {
        server.script([answer.clone()]);
        track_n(&o, 3 * k as i64, 3);
        assert!(o.tracker.flush());
        let delivered = 3 * (k as u64 + 1);
        net_support::wait_client(&o.tracker, "the acknowledgement", |d| {
            d.uploaded_events == delivered && d.stored == 0
        });
        assert_eq!(server.receipts().len(), k + 1, "{answer:?} was not resent");
    }
    let d = o.tracker.diagnostics();
    assert_eq!((d.upload_retries, d.upload_events_dropped), (0, 0));
    assert_eq!(d.last_upload_error, None);
    assert_eq!(indices(&server), (0..12).collect::<Vec<_>>());
}
both_transports!(
    segment_json_rudderstack_ok_an_empty_200_and_204_all_deliver_once,
    every_collectors_success_delivers
);

fn portal_keeps_events(kind: TransportKind) {
    let server = TestServer::start();
    server.script([Answer::Portal, Answer::Portal]);
    let dir = tempfile::tempdir().unwrap();
    let o = open_with(net_config(
        dir.path(),
        &server,
        net_support::transport(kind),
    ));
    track_n(&o, 0, 5);
    assert!(o.tracker.flush());
    server.wait_for("the portal's first answer", WAIT, |s| s.receipts.len() == 1);
    net_support::wait_client(&o.tracker, "the retry to be scheduled", |d| {
        d.upload_retries == 1
    });
    let d = o.tracker.diagnostics();
    assert_eq!((d.stored, d.uploaded_events), (5, 0), "the events stay");
    assert!(
        d.last_upload_error
            .as_deref()
            .is_some_and(|e| e.contains("HTML")),
        "{:?}",
        d.last_upload_error
    );
    // Still behind the portal, then the real collector answers.
    for _ in 0..30 {
        if server.stored_count() == 5 {
            break;
        }
        o.clock.advance_ms(11 * MINUTE_MS);
        std::thread::sleep(Duration::from_millis(20));
    }
    net_support::wait_client(&o.tracker, "the delivery", |d| d.stored == 0);
    assert_eq!(server.receipts().len(), 3, "two portal pages, one delivery");
    assert_eq!(indices(&server), (0..5).collect::<Vec<_>>());
    let d = o.tracker.diagnostics();
    assert_eq!((d.uploaded_events, d.upload_events_dropped), (5, 0));
    assert_eq!(d.last_upload_error, None);
}
both_transports!(
    a_captive_portals_html_200_keeps_the_events_until_the_real_collector_answers,
    portal_keeps_events
);

/// Statuses that say the client's configuration is wrong, not its events.
const CONFIGURATION_REFUSALS: [u16; 5] = [401, 403, 404, 405, 410];

fn refusals_keep_events(kind: TransportKind) {
    for status in CONFIGURATION_REFUSALS {
        let server = TestServer::start();
        server.state().otherwise = Some(Answer::Status(status, None));
        let dir = tempfile::tempdir().unwrap();
        let o = open_with(net_config(
            dir.path(),
            &server,
            net_support::transport(kind),
        ));
        track_n(&o, 0, 5);
        assert!(o.tracker.flush());
        server.wait_for("the refused attempt", WAIT, |s| s.receipts.len() == 1);
        net_support::wait_client(&o.tracker, "the refusal to be reported", |d| {
            d.upload_configuration_refusals == 1
        });
        let d = o.tracker.diagnostics();
        assert_eq!(d.stored, 5, "HTTP {status}: the events are kept");
        assert_eq!(d.upload_events_dropped, 0, "HTTP {status}");
        let error = d.last_upload_error.unwrap_or_default();
        assert!(error.contains(&status.to_string()), "{status}: {error}");
        assert!(error.contains("kept"), "{status}: {error}");
        assert!(
            o.log.contains(&format!("HTTP {status}")),
            "{status}: the log sink says why"
        );
        assert_eq!(stored_events(dir.path()).len(), 5, "HTTP {status}: on disk");

        // The configuration is fixed on the server's side; the app comes to
        // the foreground: it tries at once, with no backoff waited out
        // (the virtual clock has not moved).
        server.state().otherwise = None;
        o.tracker.on_foreground().unwrap();
        // (>= : the foreground may add an app-open event.)
        server.wait_for("the delivery after foreground", WAIT, |s| {
            s.stored.len() >= 5
        });
        net_support::wait_client(&o.tracker, "the queue to empty", |d| d.stored == 0);
        assert_eq!(indices(&server), (0..5).collect::<Vec<_>>(), "{status}");
        assert_eq!(o.tracker.diagnostics().last_upload_error, None);
    }
}
both_transports!(
    a_401_403_404_405_or_410_keeps_the_events_says_why_and_resumes_on_foreground,
    refusals_keep_events
);

#[test]
fn a_refused_configuration_backs_off_to_an_hour_and_a_new_configuration_sends_at_once() {
    let wrong = TestServer::start();
    wrong.state().otherwise = Some(Answer::Status(404, None));
    let dir = tempfile::tempdir().unwrap();
    let kind = TransportKind::Ureq;
    let o = open_with(net_config(dir.path(), &wrong, net_support::transport(kind)));
    track_n(&o, 0, 5);
    assert!(o.tracker.flush());
    wrong.wait_for("the first attempt", WAIT, |s| s.receipts.len() == 1);
    // Each step is past the ceiling, so each makes exactly one retry due.
    const FAILURES: usize = 16;
    for n in 2..=FAILURES {
        let refusals = n as u64 - 1;
        net_support::wait_client(&o.tracker, "the retry to be scheduled", |d| {
            d.upload_configuration_refusals == refusals
        });
        o.clock.advance_ms(61 * MINUTE_MS);
        wrong.wait_for("the next retry", WAIT, |s| s.receipts.len() == n);
    }
    net_support::wait_client(&o.tracker, "the retry to be scheduled", |d| {
        d.upload_configuration_refusals == FAILURES as u64
    });
    // By now the wait is between half the ceiling and the ceiling (equal
    // jitter): 25 minutes, past the 10-minute ceiling of passing faults,
    // bring no retry; 61 minutes do.
    o.clock.advance_ms(25 * MINUTE_MS);
    for _ in 0..10 {
        assert!(o.tracker.flush());
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(wrong.receipts().len(), FAILURES, "no retry before 30 min");
    o.clock.advance_ms(36 * MINUTE_MS);
    wrong.wait_for("the hourly retry", WAIT, |s| {
        s.receipts.len() == FAILURES + 1
    });
    let d = o.tracker.diagnostics();
    assert_eq!((d.stored, d.upload_events_dropped), (5, 0));
    assert_eq!(d.upload_configuration_refusals, FAILURES as u64 + 1);
    assert!(o.tracker.close());

    // A new instance with the corrected URL sends at once.
    let right = TestServer::start();
    let o = open_with(net_config(dir.path(), &right, net_support::transport(kind)));
    assert!(o.tracker.flush());
    right.wait_for("the events", WAIT, |s| s.stored.len() >= 5);
    assert_eq!(indices(&right), (0..5).collect::<Vec<_>>());
    net_support::wait_client(&o.tracker, "the queue to empty", |d| d.stored == 0);
}

fn bad_event_is_isolated(kind: TransportKind) {
    // 413 too: a single event too large for the server is dropped the same
    // way (it was once counted but left in the queue, resent forever).
    for status in [400, 422, 413] {
        let server = TestServer::start();
        server.state().refuse_marked = Some(status);
        let dir = tempfile::tempdir().unwrap();
        let o = open_with(net_config(
            dir.path(),
            &server,
            net_support::transport(kind),
        ));
        for i in 0..10i64 {
            let mut p = props(&[("i", Value::Int(i))]);
            if i == 6 {
                p.push(("bad".into(), Value::Bool(true)));
            }
            o.tracker.track("tick".into(), p).unwrap();
        }
        assert!(o.tracker.flush());
        net_support::wait_client(&o.tracker, "the queue to settle", |d| d.stored == 0);
        let expected: Vec<i64> = (0..10).filter(|i| *i != 6).collect();
        assert_eq!(indices(&server), expected, "HTTP {status}: the rest arrive");
        let d = o.tracker.diagnostics();
        assert_eq!(d.upload_events_dropped, 1, "HTTP {status}: just the one");
        assert_eq!(d.upload_batches_dropped, 1, "HTTP {status}");
        assert_eq!(d.uploaded_events, 9, "HTTP {status}");
        assert_eq!(d.upload_configuration_refusals, 0, "HTTP {status}");
        let logged = if status == 413 {
            "as too large (413); it is dropped".to_string()
        } else {
            format!("with HTTP {status}; it is dropped")
        };
        assert!(o.log.contains(&logged), "HTTP {status}");
        // Halving: 10 → 5 + 5 → (2 + 3) → (1 + 2) → 1 + 1.
        let sizes: Vec<usize> = server.receipts().iter().map(|r| r.events.len()).collect();
        assert_eq!(sizes[0], 10, "HTTP {status}: {sizes:?}");
        assert!(sizes.contains(&1), "HTTP {status}: isolated: {sizes:?}");
        assert!(sizes.len() <= 2 * 4 + 1, "HTTP {status}: {sizes:?}");
    }
}
both_transports!(
    a_400_422_or_413_drops_only_the_refused_event_and_delivers_the_rest,
    bad_event_is_isolated
);

#[test]
fn a_host_that_refuses_every_event_with_400_keeps_them_all() {
    let server = TestServer::start();
    server.state().otherwise = Some(Answer::Status(400, None));
    let dir = tempfile::tempdir().unwrap();
    let o = open_with(net_config(
        dir.path(),
        &server,
        net_support::transport(TransportKind::Ureq),
    ));
    track_n(&o, 0, 6);
    assert!(o.tracker.flush());
    net_support::wait_client(&o.tracker, "the refusal", |d| {
        d.upload_configuration_refusals == 1
    });
    let d = o.tracker.diagnostics();
    assert_eq!((d.stored, d.upload_events_dropped), (6, 0));
    assert!(
        d.last_upload_error
            .as_deref()
            .is_some_and(|e| e.contains("does not look like a collector")),
        "{:?}",
        d.last_upload_error
    );
    // Every event was tried alone before deciding: 6 leaves, 5 halvings.
    assert_eq!(server.receipts().len(), 11);
    server.state().otherwise = None;
    o.tracker.on_foreground().unwrap();
    server.wait_for("the events", WAIT, |s| s.stored.len() >= 6);
    net_support::wait_client(&o.tracker, "the queue to empty", |d| d.stored == 0);
    assert_eq!(o.tracker.diagnostics().upload_events_dropped, 0);
}
