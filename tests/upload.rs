//! Uploading against a loopback server: faults, offline, consent, limits.
//! Every scenario runs twice: over the built-in ureq transport and over a
//! fake host transport through the facade's `HttpTransport` adapter.
//! Backoff waits run on the virtual clock: the tests advance it, never sleep
//! for a backoff.

mod common;
mod net_support;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;
use net_support::{Answer, Switchable, TestServer, TransportKind};
use reach::transport::Transport;
use reach::{Config, Consent, ServerConfig, Value};

const WRITE_KEY: &str = "wk-test";
/// Long enough for a loopback request on a loaded 2-core machine, short
/// enough that the stall fault costs the test well under a second.
const TEST_REQUEST_TIMEOUT: Duration = Duration::from_millis(700);
/// Beyond the longest backoff (10 min): each step makes any retry due.
const STEP_MS: i64 = 11 * 60 * 1000;

fn net_config(dir: &Path, server: &TestServer, transport: Arc<dyn Transport>) -> Config {
    let mut c = config(dir);
    let mut s = ServerConfig::new(server.url(), WRITE_KEY);
    s.transport = Some(transport);
    s.request_timeout = TEST_REQUEST_TIMEOUT;
    c.server = Some(s);
    c
}

fn index(e: &serde_json::Value) -> i64 {
    e["properties"]["i"].as_i64().expect("i")
}

/// Advances virtual time in steps (each making any backoff due) until `done`.
fn drive(o: &Opened, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "not done within {limit:?}");
        o.clock.advance_ms(STEP_MS);
        std::thread::sleep(Duration::from_millis(3));
    }
}

fn ten_thousand_events_survive_every_fault(kind: TransportKind) {
    const N: i64 = 10_000;
    let server = TestServer::start();
    server.script([
        Answer::Status(500, None),
        Answer::Status(503, None),
        Answer::Status(429, Some("120".into())),
        Answer::Reset,
        Answer::Stall(Duration::from_millis(1_500)),
        Answer::Truncated,
        Answer::MalformedOk,
        Answer::Ok,
        Answer::Status(400, None),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let o = open_with(net_config(
        dir.path(),
        &server,
        net_support::transport(kind),
    ));
    for i in 0..N {
        o.tracker
            .track("tick".into(), props(&[("i", Value::Int(i))]))
            .unwrap();
    }
    assert!(o.tracker.flush());
    drive(&o, Duration::from_secs(120), || {
        let s = server.state();
        s.batch_script.is_empty() && s.stored.len() >= N as usize
    });
    // The client's queue empties once the last acknowledgement is applied.
    let start = Instant::now();
    while o.tracker.diagnostics().stored > 0 {
        assert!(start.elapsed() < Duration::from_secs(30), "queue not empty");
        o.clock.advance_ms(STEP_MS);
        std::thread::sleep(Duration::from_millis(5));
    }

    let s = server.state();
    let stored: BTreeSet<i64> = s.stored.values().map(index).collect();
    // The 400 refused a whole batch once; halving sent its halves, which
    // were accepted: nothing of it is lost.
    let mut refused_once = BTreeSet::new();
    for r in s
        .receipts
        .iter()
        .filter(|r| r.answer == Answer::Status(400, None))
    {
        refused_once.extend(r.events.iter().map(index));
    }
    assert!(!refused_once.is_empty(), "the 400 hit a batch");
    assert!(refused_once.is_subset(&stored), "its events arrived later");
    assert_eq!(stored, (0..N).collect(), "every event arrived");
    assert_eq!(s.stored.len(), stored.len(), "one stored copy per event");

    // Resent only after an attempt that did not settle it (no answer, an
    // error, a 200 the client could not trust, a 400 before halving);
    // never after a delivery.
    let mut settled = BTreeSet::new();
    let mut attempts: HashMap<&str, u32> = HashMap::new();
    for r in &s.receipts {
        for id in &r.message_ids {
            assert!(!settled.contains(id), "{id} resent after it was settled");
            *attempts.entry(id).or_default() += 1;
        }
        if r.answer == Answer::Ok {
            settled.extend(r.message_ids.iter().cloned());
        }
        assert!(r.gzipped);
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{WRITE_KEY}:"))
        );
        assert_eq!(r.authorization.as_deref(), Some(expected.as_str()));
    }
    assert_eq!(settled.len(), N as usize);
    assert!(
        attempts.values().any(|n| *n > 1),
        "the faults caused resends"
    );
    // sentAt is stamped per request: the retries of the first batch differ.
    assert_ne!(s.receipts[0].sent_at, s.receipts[1].sent_at);

    let d = o.tracker.diagnostics();
    assert_eq!(d.upload_batches_dropped, 0);
    assert_eq!(d.upload_events_dropped, 0);
    assert_eq!(d.uploaded_events, N as u64);
    assert_eq!(
        d.upload_retries, 7,
        "500, 503, 429, reset, timeout, truncated, malformed"
    );
    assert_eq!(d.upload_batches_sent, s.receipts.len() as u64);
    assert_eq!(
        d.last_upload_error, None,
        "cleared by the uploads that followed"
    );
    assert_eq!(
        stored_events(dir.path()).len(),
        0,
        "acknowledged rows left the queue"
    );
}
both_transports!(
    ten_thousand_events_arrive_once_through_every_fault_and_a_400_batch_is_halved_not_dropped,
    ten_thousand_events_survive_every_fault
);

fn offline_for_a_day(kind: TransportKind) {
    const N: i64 = 1_000;
    const MAX_BATCH: usize = 100;
    let server = TestServer::start();
    let switch = Switchable::new(net_support::transport(kind));
    switch
        .offline
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let mut c = net_config(dir.path(), &server, switch.clone());
    c.server.as_mut().unwrap().max_batch_events = MAX_BATCH;
    let o = open_with(c);
    o.tracker.on_foreground().unwrap();
    // A day of use, one event every 86.4 s of virtual time.
    for i in 0..N {
        o.tracker
            .track("tick".into(), props(&[("i", Value::Int(i))]))
            .unwrap();
        o.clock.advance_ms(86_400);
        if i % 100 == 99 {
            assert!(o.tracker.flush());
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    o.tracker.on_background();
    assert!(o.tracker.flush());
    assert_eq!(
        server.receipts().len(),
        0,
        "nothing reached the server offline"
    );
    assert!(
        switch
            .attempts_offline
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0
    );
    let events_in_queue = o.tracker.diagnostics().stored;
    assert!(events_in_queue >= N as u64, "{events_in_queue}");

    switch
        .offline
        .store(false, std::sync::atomic::Ordering::SeqCst);
    drive(&o, Duration::from_secs(60), || {
        server.stored_count() >= events_in_queue as usize
    });
    std::thread::sleep(Duration::from_millis(50));
    let s = server.state();
    let expected = (events_in_queue as usize).div_ceil(MAX_BATCH);
    assert_eq!(
        s.receipts.len(),
        expected,
        "⌈{events_in_queue} / {MAX_BATCH}⌉ requests"
    );
    let order: Vec<i64> = s
        .stored_order
        .iter()
        .map(|id| &s.stored[id])
        .filter(|e| e["event"] == "tick")
        .map(index)
        .collect();
    assert_eq!(order, (0..N).collect::<Vec<_>>(), "drained in order");
}
both_transports!(
    after_a_day_offline_the_queue_drains_in_order_in_the_fewest_requests,
    offline_for_a_day
);

fn consent_gates_uploads(kind: TransportKind) {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut c = net_config(dir.path(), &server, net_support::transport(kind));
    c.initial_consent = Consent::Pending;
    let o = open_with(c);
    for i in 0..50 {
        o.tracker
            .track("tick".into(), props(&[("i", Value::Int(i))]))
            .unwrap();
    }
    assert!(o.tracker.on_background());
    for _ in 0..20 {
        o.clock.advance_ms(STEP_MS);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        server.receipts().len(),
        0,
        "nothing sent while consent is pending"
    );
    // 50 stored ≥ flush_at: granting alone starts the upload.
    o.tracker.set_consent(Consent::Granted).unwrap();
    server.wait_for("the events", Duration::from_secs(20), |s| {
        s.stored.len() >= 50
    });
}
both_transports!(
    nothing_is_uploaded_while_consent_is_pending_and_all_once_granted,
    consent_gates_uploads
);

fn retry_after_is_honoured(kind: TransportKind) {
    let server = TestServer::start();
    server.script([Answer::Status(429, Some("3600".into()))]);
    let dir = tempfile::tempdir().unwrap();
    let o = open_with(net_config(
        dir.path(),
        &server,
        net_support::transport(kind),
    ));
    o.tracker.track("a".into(), vec![]).unwrap();
    assert!(o.tracker.flush());
    server.wait_for("the first attempt", Duration::from_secs(20), |s| {
        s.receipts.len() == 1
    });
    // Past the longest backoff but before the server's hour: no retry.
    for _ in 0..5 {
        o.clock.advance_ms(11 * 60 * 1000);
        assert!(o.tracker.flush());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.receipts().len(), 1, "no retry before Retry-After");
    o.clock.advance_ms(6 * 60 * 1000);
    server.wait_for("the retry", Duration::from_secs(20), |s| {
        s.stored.len() == 1
    });
}
both_transports!(
    a_retry_after_of_an_hour_is_waited_out,
    retry_after_is_honoured
);

fn too_large_splits(kind: TransportKind) {
    let server = TestServer::start();
    server.script([Answer::Status(413, None)]);
    let dir = tempfile::tempdir().unwrap();
    let o = open_with(net_config(
        dir.path(),
        &server,
        net_support::transport(kind),
    ));
    for i in 0..10 {
        o.tracker
            .track("tick".into(), props(&[("i", Value::Int(i))]))
            .unwrap();
    }
    // One commit, one batch: nothing is sent before this flush (10 < 20).
    assert!(o.tracker.flush());
    server.wait_for("the halves", Duration::from_secs(20), |s| {
        s.stored.len() == 10
    });
    let sizes: Vec<usize> = server.receipts().iter().map(|r| r.events.len()).collect();
    assert_eq!(sizes, vec![10, 5, 5]);
    assert_eq!(o.tracker.diagnostics().upload_batches_dropped, 0);
}
both_transports!(a_413_splits_the_batch_in_halves, too_large_splits);

fn oversized_events(kind: TransportKind) {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let o = open_with(net_config(
        dir.path(),
        &server,
        net_support::transport(kind),
    ));
    o.tracker.track("small".into(), vec![]).unwrap();
    let big = "x".repeat(32_700);
    o.tracker
        .track("big".into(), props(&[("blob", Value::String(big))]))
        .unwrap();
    o.tracker.track("after".into(), vec![]).unwrap();
    assert!(o.tracker.flush());
    server.wait_for("the small events", Duration::from_secs(20), |s| {
        s.stored.len() == 2
    });
    // Counted when the acknowledged range is deleted, after the answer.
    net_support::wait_client(&o.tracker, "the oversized event's count", |d| {
        d.dropped_oversized >= 1
    });
    let d = o.tracker.diagnostics();
    assert_eq!(d.dropped_oversized, 1);
    let s = server.state();
    let names: Vec<&str> = s
        .stored_order
        .iter()
        .map(|id| s.stored[id]["event"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["small", "after"]);
}
both_transports!(
    an_event_over_32_kb_is_dropped_and_counted_without_blocking,
    oversized_events
);

#[test]
fn the_batch_json_is_the_segment_mapping() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let o = open_with(net_config(
        dir.path(),
        &server,
        net_support::transport(TransportKind::Ureq),
    ));
    o.tracker
        .track(
            "add_to_cart".into(),
            props(&[("sku", Value::String("A1".into()))]),
        )
        .unwrap();
    o.tracker.identify("u-42".into()).unwrap();
    o.tracker.screen("home".into(), vec![]).unwrap();
    assert!(o.tracker.flush());
    server.wait_for("three events", Duration::from_secs(20), |s| {
        s.stored.len() >= 3
    });
    let s = server.state();
    let events: Vec<&serde_json::Value> = s.stored_order.iter().map(|id| &s.stored[id]).collect();
    let track = events.iter().find(|e| e["type"] == "track").unwrap();
    assert_eq!(track["event"], "add_to_cart");
    assert_eq!(track["properties"]["sku"], "A1");
    assert!(track.get("userId").is_none());
    assert_eq!(track["timestamp"], "2026-09-21T14:13:20.000Z");
    assert_eq!(track["context"]["library"]["name"], "reach");
    assert_eq!(track["context"]["os"]["name"], "android");
    assert_eq!(track["context"]["locale"], "zh-CN");
    assert!(track["context"]["reach"]["seq"].as_i64().unwrap() >= 1);
    assert!(track["context"]["reach"]["session_id"].is_string());
    let identify = events.iter().find(|e| e["type"] == "identify").unwrap();
    assert_eq!(identify["userId"], "u-42");
    assert!(identify["traits"].is_object());
    let screen = events.iter().find(|e| e["type"] == "screen").unwrap();
    assert_eq!(screen["name"], "home");
    assert_eq!(screen["userId"], "u-42");
    assert_eq!(screen["anonymousId"], track["anonymousId"]);
}

#[test]
fn nothing_is_sent_without_a_reason_no_timer_while_idle_in_background() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let o = open_with(net_config(
        dir.path(),
        &server,
        net_support::transport(TransportKind::Ureq),
    ));
    // Below flush_at, in the background: no interval flush.
    for _ in 0..5 {
        o.tracker.track("a".into(), vec![]).unwrap();
    }
    assert!(o.tracker.flush_within(Duration::from_secs(1)));
    for _ in 0..10 {
        o.clock.advance_ms(STEP_MS);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.receipts().len(), 0);
    // In the foreground the interval flush sends them.
    o.tracker.on_foreground().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    o.clock.advance_ms(31_000);
    server.wait_for("the interval flush", Duration::from_secs(20), |s| {
        s.stored.len() >= 5
    });
}

#[test]
fn the_gzip_ratio_of_the_fixture_batches_is_at_least_five() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/batches");
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let raw = std::fs::read(&path).unwrap();
        serde_json::from_slice::<serde_json::Value>(&raw).expect("fixture is JSON");
        let gz = reach::upload::gzip(&raw).unwrap();
        let ratio = raw.len() as f64 / gz.len() as f64;
        assert!(ratio >= 5.0, "{}: {ratio:.2}×", path.display());
        files += 1;
    }
    assert!(files >= 1);
}

fn transport_errors_say_whether_the_request_may_have_arrived(kind: TransportKind) {
    use reach::transport::{HttpRequest, Method, TransportErrorKind};
    let request = |url: String| HttpRequest {
        method: Method::Post,
        url,
        headers: vec![],
        body: b"{}".to_vec(),
        timeout: Duration::from_millis(300),
        max_response_bytes: 1024,
    };
    let t = net_support::transport(kind);
    // Nothing listens there: surely not delivered.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let e = t
        .send(request(format!("http://{closed}/v1/batch")))
        .unwrap_err();
    assert_eq!(e.kind, TransportErrorKind::Connect, "{e}");
    assert!(!e.may_have_been_delivered());
    // The server read the request and never answered: outcome unknown.
    let server = TestServer::start();
    server.script([Answer::Stall(Duration::from_millis(800))]);
    let e = t
        .send(request(format!("{}/v1/batch", server.url())))
        .unwrap_err();
    assert_eq!(e.kind, TransportErrorKind::Timeout, "{e}");
    assert!(e.may_have_been_delivered());
    // The connection closed without an answer: outcome unknown.
    server.script([Answer::Reset]);
    let e = t
        .send(request(format!("{}/v1/batch", server.url())))
        .unwrap_err();
    assert!(e.may_have_been_delivered(), "{e}");
}
both_transports!(
    a_refused_connection_is_surely_not_delivered_a_timeout_or_reset_may_have_been,
    transport_errors_say_whether_the_request_may_have_arrived
);
