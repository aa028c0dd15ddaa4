//! `POST /v1/segments` (admin token) sets a person's segments; `GET /v1/segments` (write key) answers them per
//! person, with an ETag, `304` to a matching `If-None-Match`, and `Cache-Control: max-age`. The data survives a
//! restart on the same directory.

mod common;

use base64::Engine as _;
use common::*;
use reach_server::{start, ServerConfig};
use serde_json::json;

const WRITE_KEY: &str = "wk-app";

fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

fn config(dir: &std::path::Path) -> ServerConfig {
    let mut c = ServerConfig::new(dir);
    c.write_keys = vec![WRITE_KEY.into()];
    c.admin_token = Some("admin-secret".into());
    c
}

fn set(addr: std::net::SocketAddr, auth: Option<&str>, body: &serde_json::Value) -> Reply {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = auth {
        headers.push(("Authorization", a));
    }
    request(
        addr,
        "POST",
        "/v1/segments",
        &headers,
        body.to_string().as_bytes(),
    )
}

fn fetch(addr: std::net::SocketAddr, query: &str, auth: Option<&str>, etag: Option<&str>) -> Reply {
    let mut headers = Vec::new();
    if let Some(a) = auth {
        headers.push(("Authorization", a));
    }
    if let Some(e) = etag {
        headers.push(("If-None-Match", e));
    }
    request(addr, "GET", &format!("/v1/segments?{query}"), &headers, b"")
}

#[test]
fn setting_segments_needs_the_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(config(dir.path())).unwrap();
    let body = json!({"user_id": "u1", "segments": ["whale"]});
    for auth in [
        None,
        Some("Bearer wrong"),
        Some(basic(WRITE_KEY)).as_deref(),
    ] {
        let r = set(s.addr(), auth, &body);
        assert_eq!(r.status, 401, "{auth:?}");
        assert_eq!(r.code(), "unauthorized");
    }
    let good = basic(WRITE_KEY);
    let r = fetch(s.addr(), "user_id=u1", Some(&good), None);
    assert_eq!(
        r.json(),
        json!({"user_id": "u1", "segments": []}),
        "nothing was set"
    );
    let r = set(s.addr(), Some("Bearer admin-secret"), &body);
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), body);
    let r = set(
        s.addr(),
        Some("Bearer admin-secret"),
        &json!({"user_id": "u1", "segments": ["ok", " padded"]}),
    );
    assert_eq!(r.status, 400);
    assert!(r.json()["message"]
        .as_str()
        .unwrap()
        .starts_with("segments[1]:"));
    assert_eq!(
        fetch(s.addr(), "user_id=u1", Some(&good), None).json(),
        body,
        "unchanged"
    );
}

#[test]
fn segments_are_answered_per_person_with_the_write_key_and_304() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(config(dir.path())).unwrap();
    let admin = Some("Bearer admin-secret");
    assert_eq!(
        set(
            s.addr(),
            admin,
            &json!({"user_id": "u1", "segments": ["whale", "vip"]})
        )
        .status,
        200
    );
    assert_eq!(
        set(
            s.addr(),
            admin,
            &json!({"anonymous_id": "an-1", "segments": ["new_visitor"]})
        )
        .status,
        200
    );
    let good = basic(WRITE_KEY);

    for auth in [None, Some(basic("wk-other"))] {
        assert_eq!(
            fetch(s.addr(), "user_id=u1", auth.as_deref(), None).status,
            401
        );
    }
    assert_eq!(fetch(s.addr(), "", Some(&good), None).status, 400);
    assert_eq!(
        fetch(s.addr(), "user_id=u1&anonymous_id=an-1", Some(&good), None).status,
        400
    );

    let r = fetch(s.addr(), "user_id=u1", Some(&good), None);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"user_id": "u1", "segments": ["vip", "whale"]})
    );
    assert_eq!(r.header("Cache-Control"), Some("max-age=600"));
    let etag = r.header("ETag").unwrap().to_owned();
    let again = fetch(s.addr(), "user_id=u1", Some(&good), Some(&etag));
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("ETag"), Some(etag.as_str()));

    let r = fetch(s.addr(), "anonymous_id=an-1", Some(&good), Some(&etag));
    assert_eq!(r.status, 200, "another person's ETag does not match");
    assert_eq!(
        r.json(),
        json!({"anonymous_id": "an-1", "segments": ["new_visitor"]})
    );
    let r = fetch(s.addr(), "user_id=u2", Some(&good), None);
    assert_eq!(
        r.json(),
        json!({"user_id": "u2", "segments": []}),
        "an unknown person has none"
    );
    assert_eq!(s.segment_answers(), (3, 1));

    // A change gives a new ETag; the data survives a restart.
    assert_eq!(
        set(
            s.addr(),
            admin,
            &json!({"user_id": "u1", "segments": ["vip"]})
        )
        .status,
        200
    );
    s.shutdown();
    let s = start(config(dir.path())).unwrap();
    let r = fetch(s.addr(), "user_id=u1", Some(&good), Some(&etag));
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"user_id": "u1", "segments": ["vip"]}));
}
