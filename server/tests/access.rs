//! Who may do what on the reference server: claims need a write key (when the server has any), stats need the
//! admin token given at start (or generated), and a person's prizes are capped by the campaign's
//! `inventory.per_user` from the packs the server serves, whatever idempotency keys or devices they claim with.

mod common;

use base64::Engine as _;
use common::*;
use reach_server::{start, ServerConfig};
use serde_json::{json, Value};

fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    )
}

fn post_auth(addr: std::net::SocketAddr, path: &str, auth: Option<&str>, body: &Value) -> Reply {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = auth {
        headers.push(("Authorization", a));
    }
    request(addr, "POST", path, &headers, body.to_string().as_bytes())
}

fn claim_body(person: &str, key: &str) -> Value {
    json!({"campaign_id": "spring", "person_id": person, "idempotency_key": key})
}

#[test]
fn claims_and_releases_need_a_known_write_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ServerConfig::new(dir.path());
    c.write_keys = vec!["wk-app".into()];
    c.stock = vec![("spring".into(), 5)];
    let s = start(c).unwrap();
    let good = basic("wk-app");
    let wrong = basic("wk-other");
    for auth in [None, Some(wrong.as_str())] {
        let r = post_auth(s.addr(), "/v1/claims", auth, &claim_body("p", "k1"));
        assert_eq!(
            (r.status, r.code()),
            (401, "unauthorized".into()),
            "{auth:?}"
        );
        let r = post_auth(
            s.addr(),
            "/v1/claims/release",
            auth,
            &json!({"campaign_id": "spring", "idempotency_key": "k1"}),
        );
        assert_eq!(r.status, 401, "{auth:?}");
    }
    assert_eq!(
        s.stock("spring").unwrap(),
        Some(5),
        "a refused claim takes nothing"
    );
    let r = post_auth(s.addr(), "/v1/claims", Some(&good), &claim_body("p", "k1"));
    assert_eq!(
        (r.status, r.json()["status"].clone()),
        (200, json!("granted"))
    );
    let r = post_auth(
        s.addr(),
        "/v1/claims/release",
        Some(&good),
        &json!({"campaign_id": "spring", "idempotency_key": "k1"}),
    );
    assert_eq!(r.json()["status"], "released");
}

#[test]
fn stats_need_the_admin_token_given_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ServerConfig::new(dir.path());
    c.admin_token = Some("s3cret-admin".into());
    let s = start(c).unwrap();
    assert_eq!(s.admin_token(), "s3cret-admin");
    assert_eq!(get(s.addr(), "/v1/stats").status, 401);
    for wrong in [
        "Bearer nope",
        "Bearer s3cret-admin-",
        "Basic czNjcmV0LWFkbWluOg==",
        "s3cret-admin",
    ] {
        let r = request(
            s.addr(),
            "GET",
            "/v1/stats",
            &[("Authorization", wrong)],
            b"",
        );
        assert_eq!(
            (r.status, r.code()),
            (401, "unauthorized".into()),
            "{wrong}"
        );
    }
    let r = request(
        s.addr(),
        "GET",
        "/v1/stats",
        &[("Authorization", "Bearer s3cret-admin")],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["events_stored"], 0);
}

#[test]
fn a_server_started_without_a_token_generates_an_unguessable_one() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start(ServerConfig::new(d1.path())).unwrap();
    let b = start(ServerConfig::new(d2.path())).unwrap();
    assert_eq!(a.admin_token().len(), 32);
    assert_ne!(a.admin_token(), b.admin_token());
    assert_eq!(get(a.addr(), "/v1/stats").status, 401);
    let bearer = format!("Bearer {}", a.admin_token());
    let r = request(
        a.addr(),
        "GET",
        "/v1/stats",
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(r.status, 200);
}

#[test]
fn a_person_gets_no_more_prizes_than_the_packs_per_user_limit() {
    let dir = tempfile::tempdir().unwrap();
    let packs = dir.path().join("packs");
    std::fs::create_dir(&packs).unwrap();
    let pack = json!({"format": "1.1", "campaigns": [{
        "id": "spring", "trigger": {"event": "purchase"},
        "inventory": {"per_user": 2},
        "popup": {"template": "modal", "title": "A gift"}
    }]});
    std::fs::write(packs.join("default.json"), pack.to_string()).unwrap();
    let mut c = ServerConfig::new(dir.path().join("data"));
    c.packs_dir = Some(packs.clone());
    c.stock = vec![("spring".into(), 100)];
    let s = start(c).unwrap();
    let claim = |person: &str, key: &str| {
        let r = post_json(s.addr(), "/v1/claims", &claim_body(person, key));
        assert_eq!(r.status, 200);
        r.json()["status"].as_str().unwrap().to_owned()
    };
    // Fresh keys each time, as a reinstalled app or a second phone would send.
    assert_eq!(claim("u-42", "phone-a-1"), "granted");
    assert_eq!(claim("u-42", "phone-b-1"), "granted");
    assert_eq!(claim("u-42", "phone-c-1"), "limit_reached");
    assert_eq!(claim("u-43", "x"), "granted");
    assert_eq!(s.stock("spring").unwrap(), Some(97));
    // A retry of a granted key is answered again, not refused.
    assert_eq!(claim("u-42", "phone-a-1"), "granted");
    // The pack changed on disk: its new limit holds at the next claim.
    let mut stricter = pack.clone();
    stricter["campaigns"][0]["inventory"] = json!({});
    std::fs::write(packs.join("default.json"), stricter.to_string()).unwrap();
    assert_eq!(claim("u-43", "y"), "limit_reached");
    // A campaign no served pack names has no per-person limit on the server.
    let r = post_json(
        s.addr(),
        "/v1/claims",
        &json!({"campaign_id": "elsewhere", "person_id": "u-42", "idempotency_key": "z"}),
    );
    assert_eq!(r.json()["status"], "exhausted");
}
