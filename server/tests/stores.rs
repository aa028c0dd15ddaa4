//! The storage guarantees over a real socket, against every store: SQLite always, PostgreSQL when installed
//! (a throwaway cluster per test, `support::pg`; required when `REACH_REQUIRE_PG` is set). Then what only a
//! shared database can show: two server processes on one PostgreSQL database, as replicas behind a load
//! balancer, keep one stock, one set of claims and one deduplicated event table.

mod common;
mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use reach_server::{start, Database, ServerConfig};
use serde_json::{json, Value};
use support::pg::PgCluster;

/// One store to run a test against; `config` opens the same state every time (for restarts).
struct Store {
    name: &'static str,
    data: tempfile::TempDir,
    database: Database,
    _cluster: Option<PgCluster>,
}

impl Store {
    fn config(&self) -> ServerConfig {
        let mut c = ServerConfig::new(self.data.path());
        c.database = self.database.clone();
        c
    }
    fn with_stock(&self, n: u64) -> ServerConfig {
        let mut c = self.config();
        c.stock = vec![("spring".into(), n)];
        c
    }
}

fn stores() -> Vec<Store> {
    let mut all = vec![Store {
        name: "sqlite",
        data: tempfile::tempdir().unwrap(),
        database: Database::Sqlite,
        _cluster: None,
    }];
    if let Some(cluster) = PgCluster::start() {
        all.push(Store {
            name: "postgres",
            data: tempfile::tempdir().unwrap(),
            database: Database::Postgres(cluster.url()),
            _cluster: Some(cluster),
        });
    }
    all
}

fn claim(addr: SocketAddr, key: &str) -> Value {
    let r = post_json(
        addr,
        "/v1/claims",
        &json!({"campaign_id": "spring", "person_id": "p", "idempotency_key": key}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

fn release(addr: SocketAddr, key: &str) -> Value {
    let r = post_json(
        addr,
        "/v1/claims/release",
        &json!({"campaign_id": "spring", "idempotency_key": key}),
    );
    assert_eq!(r.status, 200);
    r.json()
}

fn granted(answers: &[Value]) -> Vec<&str> {
    answers
        .iter()
        .filter(|a| a["status"] == "granted")
        .map(|a| a["claim_id"].as_str().unwrap())
        .collect()
}

#[test]
fn duplicates_within_and_across_batches_are_stored_once() {
    for store in stores() {
        let s = start(store.config()).unwrap();
        let first = batch(vec![
            track("a", "e", json!({})),
            track("b", "e", json!({})),
            track("a", "e", json!({})),
        ]);
        assert_eq!(post_batch_gzip(s.addr(), &first, None).status, 200);
        let again = batch(vec![track("b", "e", json!({})), track("c", "e", json!({}))]);
        assert_eq!(post_batch_gzip(s.addr(), &again, None).status, 200);
        let stats = s.stats().unwrap();
        assert_eq!(
            (
                stats.events_received,
                stats.events_stored,
                stats.duplicates,
                stats.batches
            ),
            (5, 3, 2, 2),
            "{}",
            store.name
        );
        assert_eq!(s.receipts("a").unwrap(), 2, "{}", store.name);
        assert_eq!(s.receipts("c").unwrap(), 1, "{}", store.name);
        assert_eq!(s.receipts("never").unwrap(), 0, "{}", store.name);
        assert_eq!(s.event("c").unwrap().unwrap()["messageId"], "c");
    }
}

/// An event as a client may write it (spacing, escapes, a repeated key, numbers serde_json would write
/// differently): the store keeps that text, and it reads back as the JSON that was sent.
fn odd_event(id: &str) -> String {
    format!(
        r#"{{ "type" : "track", "event":"first", "event" : "caf\u00e9 \"q\"",
             "messageId": "{id}", "timestamp": "t", "n": [1e5, -0, 2.50, 18446744073709551616],
             "properties": {{"campaign_id": 7, "k\u0065y": "\ud83d\ude00\n"}} }}"#
    )
}

#[test]
fn events_are_stored_as_received_across_statement_boundaries_with_known_and_repeated_ids() {
    for store in stores() {
        let s = start(store.config()).unwrap();
        // The events' text as written, not a Value's re-serialization.
        let post_raw = |events: &[String], separator: &str| {
            let body = format!("{{\"batch\": [{}]}}", events.join(separator));
            post_text_gzip(s.addr(), &body, &[]).status
        };
        let first: Vec<String> = (0..10).map(|i| odd_event(&format!("id-{i:03}"))).collect();
        assert_eq!(post_raw(&first, ","), 200, "{}", store.name);
        // 150 distinct ids (past the 64-row statements), 10 of them stored before, 5 sent twice.
        let mut events: Vec<String> = (0..150).map(|i| odd_event(&format!("id-{i:03}"))).collect();
        events.extend((140..145).map(|i| odd_event(&format!("id-{i:03}"))));
        assert_eq!(post_raw(&events, ",\n"), 200, "{}", store.name);
        let stats = s.stats().unwrap();
        assert_eq!(
            (stats.events_received, stats.events_stored, stats.duplicates),
            (165, 150, 15),
            "{}",
            store.name
        );
        assert_eq!(s.receipts("id-000").unwrap(), 2, "{}", store.name);
        assert_eq!(s.receipts("id-142").unwrap(), 2, "{}", store.name);
        assert_eq!(s.receipts("id-149").unwrap(), 1, "{}", store.name);
        let sent: Value = serde_json::from_str(&odd_event("id-120")).unwrap();
        assert_eq!(s.event("id-120").unwrap().unwrap(), sent, "{}", store.name);
        assert_eq!(sent["event"], "café \"q\"");
        assert_eq!(stats.by_event["café \"q\""], 150, "{}", store.name);
    }
}

#[test]
fn a_bad_event_is_refused_by_index_and_the_other_call_types_are_stored() {
    for store in stores() {
        let s = start(store.config()).unwrap();
        let events = vec![
            track("t", "reach.popup.shown", json!({"campaign_id": "c1"})),
            json!({"type": "identify", "messageId": "i", "timestamp": "t", "traits": {"plan": "pro"}}),
            json!({"type": "sneeze", "messageId": "x", "timestamp": "t"}),
            json!({"type": "screen", "messageId": "s", "timestamp": "t", "name": "Home"}),
            json!({"type": "page", "messageId": "p", "timestamp": "t", "name": null}),
            json!({"type": "group", "messageId": "g", "timestamp": "t", "groupId": 7}),
            json!({"type": "alias", "messageId": "a", "timestamp": "t", "previousId": "x", "userId": "u"}),
            json!({"type": "track", "event": "nul\u{0}", "messageId": "n", "timestamp": "t"}),
        ];
        let r = post_batch_gzip(s.addr(), &batch(events), None);
        assert_eq!(r.status, 200, "{}", store.name);
        let refused: Vec<u64> = r.json()["refused"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["index"].as_u64().unwrap())
            .collect();
        assert_eq!(refused, [2, 7], "{}", store.name);
        let stats = s.stats().unwrap();
        assert_eq!(
            (stats.events_stored, stats.events_refused),
            (6, 2),
            "{}",
            store.name
        );
        assert_eq!(stats.by_event["reach.popup.shown"], 1, "{}", store.name);
        assert_eq!(stats.by_campaign["c1"].shown, 1, "{}", store.name);
    }
}

#[test]
fn one_hundred_parallel_claims_on_a_stock_of_ten_grant_exactly_ten() {
    for store in stores() {
        let s = start(store.with_stock(10)).unwrap();
        let addr = s.addr();
        let answers: Vec<Value> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..100)
                .map(|i| scope.spawn(move || claim(addr, &format!("k{i}"))))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let ids: HashSet<&str> = granted(&answers).into_iter().collect();
        assert_eq!(ids.len(), 10, "{}", store.name);
        assert_eq!(s.stock("spring").unwrap(), Some(0), "{}", store.name);
    }
}

#[test]
fn a_retried_claim_keeps_its_prize_and_a_release_returns_it_once() {
    for store in stores() {
        let s = start(store.with_stock(1)).unwrap();
        let first = claim(s.addr(), "a");
        assert_eq!(first["status"], "granted", "{}", store.name);
        assert_eq!(claim(s.addr(), "a"), first, "{}", store.name);
        assert_eq!(claim(s.addr(), "b"), json!({"status": "exhausted"}));
        assert_eq!(release(s.addr(), "a"), json!({"status": "released"}));
        assert_eq!(release(s.addr(), "a"), json!({"status": "unknown"}));
        assert_eq!(claim(s.addr(), "b")["status"], "granted", "{}", store.name);
        assert_eq!(s.stock("spring").unwrap(), Some(0), "{}", store.name);
    }
}

#[test]
fn stock_and_claims_survive_a_restart_and_are_not_refilled() {
    for store in stores() {
        let s = start(store.with_stock(3)).unwrap();
        let held = claim(s.addr(), "k1");
        claim(s.addr(), "k2");
        s.shutdown();
        let s = start(store.with_stock(3)).unwrap();
        assert_eq!(s.stock("spring").unwrap(), Some(1), "{}", store.name);
        assert_eq!(claim(s.addr(), "k1"), held, "{}", store.name);
        assert_eq!(claim(s.addr(), "k3")["status"], "granted");
        assert_eq!(claim(s.addr(), "k4")["status"], "exhausted");
    }
}

/// A `reach-server serve` child process on a PostgreSQL database; killed on drop.
struct Replica {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Replica {
    fn start(url: &str, data: &Path) -> Replica {
        let mut child = Command::new(env!("CARGO_BIN_EXE_reach-server"))
            .args([
                "serve",
                "--port",
                "0",
                "--admin-token",
                "t",
                "--database",
                url,
            ])
            .args(["--stock", "spring=10", "--data"])
            .arg(data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("first line {line:?}"));
        Replica { child, addr }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn two_replicas() -> Option<(PgCluster, tempfile::TempDir, [Replica; 2])> {
    let cluster = PgCluster::start()?;
    let data = tempfile::tempdir().unwrap();
    let replicas = [
        Replica::start(&cluster.url(), data.path()),
        Replica::start(&cluster.url(), data.path()),
    ];
    Some((cluster, data, replicas))
}

fn stats(addr: SocketAddr) -> Value {
    let r = request(
        addr,
        "GET",
        "/v1/stats",
        &[("Authorization", "Bearer t")],
        b"",
    );
    assert_eq!(r.status, 200);
    r.json()
}

#[test]
fn two_server_processes_on_one_database_grant_exactly_ten_of_a_hundred_parallel_claims() {
    let Some((_cluster, data, replicas)) = two_replicas() else {
        return;
    };
    let addrs = [replicas[0].addr, replicas[1].addr];
    let answers: Vec<Value> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..100)
            .map(|i| scope.spawn(move || claim(addrs[i % 2], &format!("k{i}"))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: HashSet<&str> = granted(&answers).into_iter().collect();
    assert_eq!(ids.len(), 10, "every prize once, each with its own id");
    assert_eq!(
        answers
            .iter()
            .filter(|a| a["status"] == "exhausted")
            .count(),
        90
    );
    // The database, not a process, kept the stock: no SQLite file was ever written.
    assert!(!data.path().join("reach-server.db").exists());
}

#[test]
fn the_same_key_claimed_on_both_replicas_at_once_gets_one_prize() {
    let Some((_cluster, _data, replicas)) = two_replicas() else {
        return;
    };
    let addrs = [replicas[0].addr, replicas[1].addr];
    let answers: Vec<Value> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|i| scope.spawn(move || claim(addrs[i % 2], "same-key")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: HashSet<&str> = granted(&answers).into_iter().collect();
    assert_eq!(granted(&answers).len(), 20, "a retry is always granted");
    assert_eq!(ids.len(), 1, "one prize, one claim id");
    // 9 left: claim 9 more keys, the tenth is exhausted.
    for i in 0..9 {
        assert_eq!(claim(addrs[i % 2], &format!("k{i}"))["status"], "granted");
    }
    assert_eq!(claim(addrs[1], "last")["status"], "exhausted");
}

#[test]
fn a_batch_sent_to_both_replicas_at_once_is_stored_once() {
    let Some((_cluster, _data, replicas)) = two_replicas() else {
        return;
    };
    let addrs = [replicas[0].addr, replicas[1].addr];
    // Overlapping batches in opposite orders: a lock-order deadlock would show up as a 500 here.
    let forward: Vec<Value> = (0..200)
        .map(|i| track(&format!("m{i}"), "e", json!({})))
        .collect();
    let backward: Vec<Value> = forward.iter().rev().cloned().collect();
    std::thread::scope(|scope| {
        for i in 0..8 {
            let body = batch(if i % 2 == 0 {
                forward.clone()
            } else {
                backward.clone()
            });
            scope.spawn(move || {
                let r = post_batch_gzip(addrs[i % 2], &body, None);
                assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            });
        }
    });
    for addr in addrs {
        let s = stats(addr);
        assert_eq!(s["events_stored"], 200);
        assert_eq!(s["events_received"], 1600);
        assert_eq!(s["batches"], 8);
    }
}
