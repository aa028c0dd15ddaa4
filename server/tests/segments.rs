//! `POST /v1/segments` (admin token) sets a person's segments; `GET /v1/segments` (write key) answers them per
//! person, with an ETag, `304` to a matching `If-None-Match`, and `Cache-Control: private, max-age=600`. Every
//! test runs against each store (SQLite, and PostgreSQL when installed: `support::stores`); the data survives a
//! restart, and on PostgreSQL two servers on one database answer the same list with the same ETag.

mod common;
mod support;

use std::net::SocketAddr;

use base64::Engine as _;
use common::*;
use reach_server::{start, RunningServer, ServerConfig};
use serde_json::{json, Value};
use support::stores::{self, TestStore};

const WRITE_KEY: &str = "wk-app";
const ADMIN: Option<&str> = Some("Bearer admin-secret");

fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

fn config(store: &TestStore) -> ServerConfig {
    let mut c = store.config();
    c.write_keys = vec![WRITE_KEY.into()];
    c.admin_token = Some("admin-secret".into());
    c
}

fn set(addr: SocketAddr, auth: Option<&str>, body: &Value) -> Reply {
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

fn fetch(addr: SocketAddr, query: &str, auth: Option<&str>, etag: Option<&str>) -> Reply {
    let mut headers = Vec::new();
    if let Some(a) = auth {
        headers.push(("Authorization", a));
    }
    if let Some(e) = etag {
        headers.push(("If-None-Match", e));
    }
    request(addr, "GET", &format!("/v1/segments?{query}"), &headers, b"")
}

fn fetch_ok(s: &RunningServer, query: &str) -> Value {
    let r = fetch(s.addr(), query, Some(&basic(WRITE_KEY)), None);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    if r.header("Transfer-Encoding") == Some("chunked") {
        return serde_json::from_slice(&dechunk(&r.body)).unwrap();
    }
    r.json()
}

/// tiny_http sends bodies past 32 KB in chunks; `common::request` reads them raw.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..line]).unwrap(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[line + 2..line + 2 + size]);
        raw = &raw[line + 2 + size + 2..];
    }
}

#[test]
fn setting_segments_needs_the_admin_token() {
    for store in stores::all() {
        let s = start(config(&store)).unwrap();
        let body = json!({"user_id": "u1", "segments": ["whale"]});
        let write_key = basic(WRITE_KEY);
        for auth in [None, Some("Bearer wrong"), Some(write_key.as_str())] {
            let r = set(s.addr(), auth, &body);
            assert_eq!(
                (r.status, r.code()),
                (401, "unauthorized".into()),
                "{auth:?}"
            );
        }
        assert_eq!(
            fetch_ok(&s, "user_id=u1"),
            json!({"user_id": "u1", "segments": []}),
            "{}: nothing was set",
            store.name
        );
        let r = set(s.addr(), ADMIN, &body);
        assert_eq!(r.status, 200, "{}", store.name);
        assert_eq!(r.json(), body);
        let r = set(
            s.addr(),
            ADMIN,
            &json!({"user_id": "u1", "segments": ["ok", " padded"]}),
        );
        assert_eq!((r.status, r.code()), (400, "invalid_request".into()));
        assert!(r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("segments[1]:"));
        assert_eq!(
            fetch_ok(&s, "user_id=u1"),
            body,
            "{}: unchanged",
            store.name
        );
    }
}

#[test]
fn segments_are_answered_per_person_with_the_write_key_and_304() {
    for store in stores::all() {
        let name = store.name;
        let s = start(config(&store)).unwrap();
        let set_ok = |s: &RunningServer, body: Value| {
            let r = set(s.addr(), ADMIN, &body);
            assert_eq!(
                r.status,
                200,
                "{name}: {}",
                String::from_utf8_lossy(&r.body)
            );
        };
        set_ok(&s, json!({"user_id": "u1", "segments": ["whale", "vip"]}));
        set_ok(
            &s,
            json!({"anonymous_id": "an-1", "segments": ["new_visitor"]}),
        );
        // An id the SDK percent-encodes (spaces, non-ASCII, `+`) names the same person.
        set_ok(&s, json!({"user_id": "a b+ç", "segments": ["odd"]}));
        let good = basic(WRITE_KEY);

        for auth in [None, Some(basic("wk-other"))] {
            assert_eq!(
                fetch(s.addr(), "user_id=u1", auth.as_deref(), None).status,
                401
            );
        }
        for bad in [
            "",
            "user_id=",
            "user_id=u1&anonymous_id=an-1",
            "user_id=%00",
        ] {
            let r = fetch(s.addr(), bad, Some(&good), None);
            assert_eq!(
                (r.status, r.code()),
                (400, "invalid_request".into()),
                "{bad}"
            );
        }
        let r = request(s.addr(), "DELETE", "/v1/segments", &[], b"");
        assert_eq!(r.status, 405);

        let r = fetch(s.addr(), "user_id=u1", Some(&good), None);
        assert_eq!(r.status, 200);
        assert_eq!(
            r.json(),
            json!({"user_id": "u1", "segments": ["vip", "whale"]})
        );
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(r.header("Cache-Control"), Some("private, max-age=600"));
        let etag = r.header("ETag").unwrap().to_owned();
        let again = fetch(s.addr(), "user_id=u1", Some(&good), Some(&etag));
        assert_eq!(again.status, 304, "{name}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("ETag"), Some(etag.as_str()));
        assert_eq!(again.header("Cache-Control"), Some("private, max-age=600"));

        let r = fetch(s.addr(), "anonymous_id=an-1", Some(&good), Some(&etag));
        assert_eq!(r.status, 200, "another person's ETag does not match");
        assert_eq!(
            r.json(),
            json!({"anonymous_id": "an-1", "segments": ["new_visitor"]})
        );
        assert_eq!(
            fetch_ok(&s, "user_id=a%20b%2B%C3%A7"),
            json!({"user_id": "a b+ç", "segments": ["odd"]})
        );
        assert_eq!(
            fetch_ok(&s, "user_id=u2"),
            json!({"user_id": "u2", "segments": []}),
            "an unknown person has none"
        );
        assert_eq!(s.segment_answers(), (4, 1), "{name}");

        // A change gives a new ETag; an empty list removes the person; the data survives a restart.
        set_ok(&s, json!({"user_id": "u1", "segments": ["vip"]}));
        set_ok(&s, json!({"anonymous_id": "an-1", "segments": []}));
        s.shutdown();
        let s = start(config(&store)).unwrap();
        let r = fetch(s.addr(), "user_id=u1", Some(&good), Some(&etag));
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(r.json(), json!({"user_id": "u1", "segments": ["vip"]}));
        assert_eq!(fetch_ok(&s, "anonymous_id=an-1")["segments"], json!([]));
    }
}

#[test]
fn the_largest_list_is_accepted_and_a_larger_body_is_413() {
    for store in stores::all() {
        let s = start(config(&store)).unwrap();
        let names: Vec<String> = (0..1_000)
            .map(|i| format!("{i:04}-{}", "x".repeat(251)))
            .collect();
        let body = json!({"user_id": "u1", "segments": names});
        assert_eq!(set(s.addr(), ADMIN, &body).status, 200, "{}", store.name);
        let answer = fetch_ok(&s, "user_id=u1");
        assert_eq!(answer["segments"], json!(names), "{}", store.name);

        let mut more = names.clone();
        more.push("one-too-many".into());
        let r = set(s.addr(), ADMIN, &json!({"user_id": "u1", "segments": more}));
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json()["message"],
            "segments: at most 1000 entries, found 1001"
        );
        let padded = format!(
            r#"{{"user_id": "u1", "segments": []{}}}"#,
            " ".repeat(512 * 1024)
        );
        let r = request(
            s.addr(),
            "POST",
            "/v1/segments",
            &[("Authorization", "Bearer admin-secret")],
            padded.as_bytes(),
        );
        assert_eq!((r.status, r.code()), (413, "too_large".into()));
        assert_eq!(fetch_ok(&s, "user_id=u1")["segments"], json!(names));
    }
}

/// Replicas behind a load balancer: what one sets, the other answers, with the same ETag (so a device switching
/// between them keeps getting 304s); concurrent sets of one person through both leave one whole list.
#[test]
fn two_servers_on_one_postgres_database_answer_alike() {
    let Some(store) = stores::all().into_iter().find(TestStore::is_shared) else {
        return; // PostgreSQL not installed; `support::pg` said so (and fails when it is required).
    };
    let a = start(config(&store)).unwrap();
    let b = start(config(&store)).unwrap();
    assert_eq!(
        set(
            a.addr(),
            ADMIN,
            &json!({"user_id": "u1", "segments": ["vip"]})
        )
        .status,
        200
    );
    let good = basic(WRITE_KEY);
    let from_a = fetch(a.addr(), "user_id=u1", Some(&good), None);
    let from_b = fetch(b.addr(), "user_id=u1", Some(&good), None);
    assert_eq!(from_b.json(), json!({"user_id": "u1", "segments": ["vip"]}));
    assert_eq!(from_a.body, from_b.body);
    let etag = from_a.header("ETag").unwrap();
    assert_eq!(from_b.header("ETag"), Some(etag));
    assert_eq!(
        fetch(b.addr(), "user_id=u1", Some(&good), Some(etag)).status,
        304
    );

    // 20 writers, alternating servers, each with its own list of 50 names: the stored list is one of them, whole.
    let lists: Vec<Vec<String>> = (0..20)
        .map(|w| (0..50).map(|i| format!("w{w:02}-{i:02}")).collect())
        .collect();
    std::thread::scope(|scope| {
        for (w, list) in lists.iter().enumerate() {
            let addr = if w % 2 == 0 { a.addr() } else { b.addr() };
            scope.spawn(move || {
                let r = set(addr, ADMIN, &json!({"user_id": "u2", "segments": list}));
                assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            });
        }
    });
    let stored: Vec<String> =
        serde_json::from_value(fetch_ok(&a, "user_id=u2")["segments"].clone()).unwrap();
    assert!(
        lists.contains(&stored),
        "a mix of lists was stored: {} names, first {:?}",
        stored.len(),
        stored.first()
    );
}
