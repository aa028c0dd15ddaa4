//! Prize claims over a real socket: atomic under parallel load, idempotent, releasable, durable.

mod common;

use std::collections::HashSet;

use common::*;
use reach_server::{start, ServerConfig};
use serde_json::{json, Value};

fn config(dir: &std::path::Path, stock: u64) -> ServerConfig {
    let mut c = ServerConfig::new(dir);
    c.stock = vec![("spring".into(), stock)];
    c
}

fn claim(addr: std::net::SocketAddr, key: &str) -> Value {
    let r = post_json(
        addr,
        "/v1/claims",
        &json!({"campaign_id": "spring", "person_id": "p", "idempotency_key": key}),
    );
    assert_eq!(r.status, 200);
    r.json()
}

fn release(addr: std::net::SocketAddr, key: &str) -> Value {
    let r = post_json(
        addr,
        "/v1/claims/release",
        &json!({"campaign_id": "spring", "idempotency_key": key}),
    );
    assert_eq!(r.status, 200);
    r.json()
}

#[test]
fn one_hundred_parallel_claims_on_a_stock_of_ten_grant_exactly_ten() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(config(dir.path(), 10)).unwrap();
    let addr = s.addr();
    let answers: Vec<Value> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..100)
            .map(|i| scope.spawn(move || claim(addr, &format!("k{i}"))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let granted: Vec<&Value> = answers
        .iter()
        .filter(|a| a["status"] == "granted")
        .collect();
    assert_eq!(granted.len(), 10);
    assert_eq!(
        answers
            .iter()
            .filter(|a| a["status"] == "exhausted")
            .count(),
        90
    );
    let ids: HashSet<&str> = granted
        .iter()
        .map(|a| a["claim_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 10, "every prize has its own claim id");
    assert_eq!(s.stock("spring").unwrap(), Some(0));
}

#[test]
fn the_same_key_twice_is_granted_once_with_the_same_claim_id() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(config(dir.path(), 5)).unwrap();
    let first = claim(s.addr(), "k");
    assert_eq!(first["status"], "granted");
    assert_eq!(claim(s.addr(), "k"), first);
    assert_eq!(s.stock("spring").unwrap(), Some(4));
}

#[test]
fn release_returns_the_prize_and_an_unknown_key_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(config(dir.path(), 1)).unwrap();
    assert_eq!(claim(s.addr(), "a")["status"], "granted");
    assert_eq!(claim(s.addr(), "b"), json!({"status": "exhausted"}));
    assert_eq!(release(s.addr(), "a"), json!({"status": "released"}));
    assert_eq!(release(s.addr(), "a"), json!({"status": "unknown"}));
    assert_eq!(
        release(s.addr(), "never-claimed"),
        json!({"status": "unknown"})
    );
    assert_eq!(claim(s.addr(), "b")["status"], "granted");
}

#[test]
fn bad_json_is_400() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(config(dir.path(), 1)).unwrap();
    let r = request(s.addr(), "POST", "/v1/claims", &[], b"{nope");
    assert_eq!((r.status, r.code()), (400, "invalid_json".to_string()));
    let r = request(s.addr(), "POST", "/v1/claims/release", &[], b"");
    assert_eq!(r.status, 400);
}

#[test]
fn stock_and_claims_survive_a_restart_on_the_same_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(config(dir.path(), 3)).unwrap();
    let held = claim(s.addr(), "k1");
    claim(s.addr(), "k2");
    s.shutdown();
    // The same --stock again must not refill what claims drew down.
    let s = start(config(dir.path(), 3)).unwrap();
    assert_eq!(s.stock("spring").unwrap(), Some(1));
    assert_eq!(claim(s.addr(), "k1"), held);
    assert_eq!(claim(s.addr(), "k3")["status"], "granted");
    assert_eq!(claim(s.addr(), "k4")["status"], "exhausted");
}
