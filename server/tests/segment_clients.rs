//! The reference server takes what real Segment clients send. The fixtures are the exact bodies the official
//! Python libraries produced (segment-analytics-python 2.4.0, rudder-sdk-python 2.1.9) for one flush of track,
//! identify, screen, two pages (one unnamed: `"name": null`), group and alias, captured against a loopback
//! listener; only the random `messageId`s were replaced by readable ones. Other Segment libraries add
//! `_metadata` and an `X-Retry-Count` header on resends; those shapes are written out below.

mod common;

use base64::Engine;
use common::*;
use reach_server::{start, ServerConfig};
use serde_json::{json, Value};

const SEGMENT_PYTHON: &str = include_str!("fixtures/segment-python-2.4.0.json");
const RUDDERSTACK_PYTHON: &str = include_str!("fixtures/rudderstack-python-2.1.9.json");
/// The write key the fixtures were sent with (their `Authorization: Basic d2stcHk6`).
const WRITE_KEY: &str = "wk-py";

fn server() -> (tempfile::TempDir, reach_server::RunningServer) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path());
    config.write_keys = vec![WRITE_KEY.into()];
    (dir, start(config).unwrap())
}

fn basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{WRITE_KEY}:"))
    )
}

/// Posts a body with the headers those libraries send (requests' defaults, HTTP Basic, gzip when asked).
fn post_as_library(
    s: &reach_server::RunningServer,
    body: &str,
    gzipped: bool,
    retry: Option<&str>,
) -> Reply {
    let auth = basic();
    let mut headers = vec![
        ("User-Agent", "analytics-python/2.4.0"),
        ("Accept-Encoding", "gzip, deflate"),
        ("Accept", "*/*"),
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    if let Some(n) = retry {
        headers.push(("X-Retry-Count", n));
    }
    if gzipped {
        post_text_gzip(s.addr(), body, &headers)
    } else {
        request(s.addr(), "POST", "/v1/batch", &headers, body.as_bytes())
    }
}

fn assert_all_stored(s: &reach_server::RunningServer, fixture: &str) {
    let body: Value = serde_json::from_str(fixture).unwrap();
    let sent = body["batch"].as_array().unwrap();
    assert_eq!(sent.len(), 7);
    for e in sent {
        let id = e["messageId"].as_str().unwrap();
        let stored = s
            .event(id)
            .unwrap()
            .unwrap_or_else(|| panic!("{id} stored"));
        assert_eq!(&stored, e, "{id} is stored as it was sent");
    }
}

#[test]
fn a_segment_python_flush_of_all_six_call_types_gzipped_is_stored_whole() {
    let (_d, s) = server();
    let r = post_as_library(&s, SEGMENT_PYTHON, true, None);
    assert_eq!((r.status, r.json()), (200, json!({"success": true})));
    assert_all_stored(&s, SEGMENT_PYTHON);
    let stats = s.stats().unwrap();
    assert_eq!(
        (stats.events_stored, stats.events_refused, stats.batches),
        (7, 0, 1)
    );
    assert_eq!(stats.by_event["Order Completed"], 1);
    let page = s.event("seg-4-page").unwrap().unwrap();
    assert_eq!(page["name"], Value::Null);
    let alias = s.event("seg-6-alias").unwrap().unwrap();
    assert_eq!(alias["previousId"], "anon-1");
    let group = s.event("seg-5-group").unwrap().unwrap();
    assert_eq!(group["traits"]["name"], "Acme");
}

#[test]
fn a_rudderstack_python_flush_uncompressed_is_stored_whole() {
    let (_d, s) = server();
    let r = post_as_library(&s, RUDDERSTACK_PYTHON, false, None);
    assert_eq!((r.status, r.json()), (200, json!({"success": true})));
    assert_all_stored(&s, RUDDERSTACK_PYTHON);
    let track = s.event("rud-0-track").unwrap().unwrap();
    assert_eq!(track["integrations"], json!({"All": true}));
    assert_eq!(track["channel"], "server");
    assert_eq!(s.stats().unwrap().events_stored, 7);
}

#[test]
fn a_resend_with_x_retry_count_is_accepted_and_deduplicated() {
    let (_d, s) = server();
    assert_eq!(post_as_library(&s, SEGMENT_PYTHON, true, None).status, 200);
    let r = post_as_library(&s, SEGMENT_PYTHON, true, Some("1"));
    assert_eq!((r.status, r.json()), (200, json!({"success": true})));
    let stats = s.stats().unwrap();
    assert_eq!(
        (stats.events_stored, stats.duplicates, stats.batches),
        (7, 7, 2)
    );
    assert_eq!(s.receipts("seg-0-track").unwrap(), 2);
}

#[test]
fn one_bad_event_among_metadata_carrying_ones_is_refused_alone() {
    let (_d, s) = server();
    // The shape of Segment's JavaScript libraries: `_metadata` per event, `sentAt`, `writeKey` in the body.
    let body = json!({
        "batch": [
            {"type": "track", "event": "Signed Up", "messageId": "js-0", "userId": "u9",
             "timestamp": "2026-12-03T08:14:17.546Z", "properties": {"plan": "free"},
             "context": {"library": {"name": "analytics-node", "version": "2.1.0"}},
             "integrations": {}, "_metadata": {"nodeVersion": "20.11.0", "jsRuntime": "node"}},
            {"type": "page", "messageId": "js-1", "timestamp": "2026-12-03T08:14:17.547Z",
             "anonymousId": "a9", "name": 42, "_metadata": {"jsRuntime": "node"}},
            {"type": "group", "messageId": "js-2", "timestamp": "2026-12-03T08:14:17.548Z",
             "userId": "u9", "groupId": "g-1", "_metadata": {"jsRuntime": "node"}},
            {"type": "alias", "messageId": "js-3", "timestamp": "2026-12-03T08:14:17.549Z",
             "userId": "u9", "_metadata": {"jsRuntime": "node"}}
        ],
        "sentAt": "2026-12-03T08:14:18.000Z",
        "writeKey": WRITE_KEY
    })
    .to_string();
    let r = post_as_library(&s, &body, true, Some("0"));
    assert_eq!(r.status, 200);
    let answer = r.json();
    assert_eq!(answer["success"], true);
    let refused: Vec<(u64, String)> = answer["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap(),
                r["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(refused[0].0, 1);
    assert!(refused[0].1.contains("\"name\" must be a non-empty string"));
    assert_eq!(refused[1].0, 3);
    assert!(refused[1].1.contains("missing \"previousId\""));
    assert!(s.event("js-0").unwrap().is_some());
    assert!(s.event("js-2").unwrap().is_some());
    assert!(s.event("js-1").unwrap().is_none());
    let stats = s.stats().unwrap();
    assert_eq!((stats.events_stored, stats.events_refused), (2, 2));
}
