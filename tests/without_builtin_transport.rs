//! A build without the built-in transport (`--no-default-features`, for apps
//! that always pass their own `HttpTransport`): with a server configured and
//! no host transport, nothing can be sent, and nothing is lost either. The
//! events stay stored and `diagnostics()` says why. Run by scripts/test.sh as
//! `cargo test -p reach --no-default-features --test without_builtin_transport`;
//! in a default build this file is empty (the built-in transport is there).
#![cfg(not(feature = "builtin-transport"))]

mod common;

use std::time::{Duration, Instant};

use common::*;
use reach::transport::NO_BUILTIN_TRANSPORT;
use reach::{ServerConfig, Value};

#[test]
fn without_a_transport_events_wait_and_the_reason_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    // Nothing listens on port 9 of loopback; no request is made anyway.
    c.server = Some(ServerConfig::new("http://127.0.0.1:9", "wk"));
    let o = open_with(c);
    for i in 0..5 {
        o.tracker
            .track("tick".into(), props(&[("i", Value::Int(i))]))
            .unwrap();
    }
    assert!(o.tracker.flush());
    let start = Instant::now();
    let d = loop {
        let d = o.tracker.diagnostics();
        if d.last_upload_error.is_some() {
            break d;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no upload attempt reported: {d:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let why = d.last_upload_error.unwrap();
    assert!(why.contains(NO_BUILTIN_TRANSPORT), "{why}");
    assert_eq!(d.uploaded_events, 0);
    assert_eq!(
        stored_events(dir.path())
            .iter()
            .filter(|e| e.name == "tick")
            .count(),
        5,
        "every event is kept"
    );
}
