//! `POST /v1/batch` over a real socket: encodings, deduplication, refusal by index, limits, write keys.

mod common;

use base64::Engine;
use common::*;
use reach_server::{start, ServerConfig, MAX_BODY};
use serde_json::json;

fn server() -> (tempfile::TempDir, reach_server::RunningServer) {
    let dir = tempfile::tempdir().unwrap();
    let server = start(ServerConfig::new(dir.path())).unwrap();
    (dir, server)
}

#[test]
fn plain_and_gzip_batches_are_both_accepted_with_exactly_success_true() {
    let (_d, s) = server();
    let plain = post_json(
        s.addr(),
        "/v1/batch",
        &batch(vec![track("m1", "a", json!({}))]),
    );
    assert_eq!(plain.status, 200);
    assert_eq!(plain.json(), json!({"success": true}));
    assert_eq!(plain.header("Content-Type"), Some("application/json"));
    let gz = post_batch_gzip(s.addr(), &batch(vec![track("m2", "a", json!({}))]), None);
    assert_eq!((gz.status, gz.json()), (200, json!({"success": true})));
    assert_eq!(s.stats().unwrap().events_stored, 2);
    assert_eq!(
        s.event("m2").unwrap().unwrap()["context"]["reach"]["seq"],
        1
    );
}

#[test]
fn a_resent_batch_is_accepted_and_its_events_stored_once() {
    let (_d, s) = server();
    let b = batch(vec![
        track("m1", "a", json!({})),
        track("m2", "a", json!({})),
    ]);
    assert_eq!(post_batch_gzip(s.addr(), &b, None).status, 200);
    assert_eq!(post_batch_gzip(s.addr(), &b, None).status, 200);
    let stats = s.stats().unwrap();
    assert_eq!(
        (
            stats.events_received,
            stats.events_stored,
            stats.duplicates,
            stats.batches
        ),
        (4, 2, 2, 2)
    );
    assert_eq!(s.receipts("m1").unwrap(), 2);
    assert_eq!(s.receipts("never").unwrap(), 0);
}

#[test]
fn invalid_json_and_invalid_gzip_are_400_invalid_json() {
    let (_d, s) = server();
    let r = request(s.addr(), "POST", "/v1/batch", &[], b"{\"batch\": [");
    assert_eq!((r.status, r.code()), (400, "invalid_json".to_string()));
    assert!(r.json()["message"].as_str().is_some_and(|m| !m.is_empty()));
    let r = request(
        s.addr(),
        "POST",
        "/v1/batch",
        &[("Content-Encoding", "gzip")],
        b"not gzip at all",
    );
    assert_eq!((r.status, r.code()), (400, "invalid_json".to_string()));
}

#[test]
fn one_event_without_message_id_is_refused_by_index_and_the_rest_stored() {
    let (_d, s) = server();
    let mut bad = track("x", "a", json!({}));
    bad.as_object_mut().unwrap().remove("messageId");
    let r = post_batch_gzip(
        s.addr(),
        &batch(vec![
            track("ok", "a", json!({})),
            bad,
            track("ok2", "a", json!({})),
        ]),
        None,
    );
    assert_eq!(r.status, 200);
    let answer = r.json();
    assert_eq!(answer["success"], true);
    assert_eq!(answer["refused"].as_array().map(Vec::len), Some(1));
    assert_eq!(answer["refused"][0]["index"], 1);
    assert_eq!(answer["refused"][0]["code"], "invalid_event");
    assert!(answer["refused"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("batch[1]: missing \"messageId\"")));
    let stats = s.stats().unwrap();
    assert_eq!(
        (stats.events_stored, stats.events_refused, stats.batches),
        (2, 1, 1)
    );
    assert!(s.event("ok2").unwrap().is_some());
}

#[test]
fn a_body_that_is_not_a_batch_is_refused_whole() {
    let (_d, s) = server();
    let r = post_json(s.addr(), "/v1/batch", &json!({"sentAt": "t"}));
    assert_eq!((r.status, r.code()), (400, "invalid_batch".to_string()));
    let stats = s.stats().unwrap();
    assert_eq!((stats.events_received, stats.batches), (0, 0));
}

#[test]
fn a_body_over_512000_bytes_is_413_plain_or_gzipped() {
    let (_d, s) = server();
    let blob = "x".repeat(20_000);
    let events = (0..30)
        .map(|i| track(&format!("m{i}"), "a", json!({"blob": blob})))
        .collect();
    let big = batch(events);
    assert!(big.to_string().len() > MAX_BODY);
    let r = post_json(s.addr(), "/v1/batch", &big);
    assert_eq!((r.status, r.code()), (413, "too_large".to_string()));
    let r = post_batch_gzip(s.addr(), &big, None);
    assert_eq!((r.status, r.code()), (413, "too_large".to_string()));
    assert_eq!(s.stats().unwrap().events_stored, 0);
}

fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

#[test]
fn with_write_keys_configured_a_missing_or_wrong_key_is_401() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path());
    config.write_keys = vec!["wk-live".into(), "wk-test".into()];
    let s = start(config).unwrap();
    let b = batch(vec![track("m1", "a", json!({}))]);
    let r = post_batch_gzip(s.addr(), &b, None);
    assert_eq!((r.status, r.code()), (401, "unauthorized".to_string()));
    let r = post_batch_gzip(s.addr(), &b, Some(&basic("wk-other")));
    assert_eq!((r.status, r.code()), (401, "unauthorized".to_string()));
    assert_eq!(
        post_batch_gzip(s.addr(), &b, Some(&basic("wk-test"))).status,
        200
    );
    assert_eq!(s.stats().unwrap().events_stored, 1);
}

#[test]
fn without_write_keys_any_key_or_none_is_accepted() {
    let (_d, s) = server();
    let b = batch(vec![track("m1", "a", json!({}))]);
    assert_eq!(
        post_batch_gzip(s.addr(), &b, Some(&basic("anything"))).status,
        200
    );
    assert_eq!(post_batch_gzip(s.addr(), &b, None).status, 200);
}

#[test]
fn unknown_routes_and_wrong_methods_answer_json_errors() {
    let (_d, s) = server();
    let r = get(s.addr(), "/v2/nothing");
    assert_eq!((r.status, r.code()), (404, "not_found".to_string()));
    let r = get(s.addr(), "/v1/batch");
    assert_eq!(
        (r.status, r.code()),
        (405, "method_not_allowed".to_string())
    );
    let r = get(s.addr(), "/health");
    assert_eq!((r.status, r.json()), (200, json!({"ok": true})));
}
