//! The HTTP `ClaimClient` against a loopback server: granted, exhausted,
//! idempotent, released, and a slow server answered as `Unavailable`.

mod net_support;

use std::time::{Duration, Instant};

use net_support::{TestServer, TransportKind};
use reach::claim::{ClaimAnswer, ClaimClient, ClaimRequest};
use reach::claim_http::HttpClaimClient;
use reach::ServerConfig;

fn req(key: &str) -> ClaimRequest {
    ClaimRequest {
        campaign_id: "gift".into(),
        person_id: "u-1".into(),
        idempotency_key: key.into(),
    }
}

fn claims_over_http(kind: TransportKind) {
    let server = TestServer::start();
    server.state().stock.insert("gift".into(), 1);
    let config = ServerConfig::new(server.url(), "wk");
    let client = HttpClaimClient::new(
        &config,
        net_support::transport(kind),
        Duration::from_millis(300),
    );
    let first = client.claim(&req("k1"));
    assert!(matches!(first, ClaimAnswer::Granted { .. }), "{first:?}");
    assert_eq!(client.claim(&req("k1")), first, "same key, same prize");
    assert_eq!(client.claim(&req("k2")), ClaimAnswer::Exhausted);
    client.release("gift", "k1").unwrap();
    client.release("gift", "k1").unwrap();
    assert!(matches!(
        client.claim(&req("k2")),
        ClaimAnswer::Granted { .. }
    ));

    server.state().claim_delay = Some(Duration::from_secs(2));
    let start = Instant::now();
    match client.claim(&req("k3")) {
        ClaimAnswer::Unavailable(why) => {
            assert!(why.contains("timed out") || why.contains("time"), "{why}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(
        start.elapsed() < Duration::from_millis(1_500),
        "the timeout is short"
    );
}
both_transports!(
    claims_are_granted_exhausted_and_time_out_as_unavailable,
    claims_over_http
);

#[test]
fn an_unreachable_server_is_unavailable() {
    // A port nothing listens on (bound, then released).
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client =
        reach::claim_http::http_claim_client(&ServerConfig::new(format!("http://{addr}"), "wk"));
    assert!(matches!(
        client.claim(&req("k")),
        ClaimAnswer::Unavailable(_)
    ));
    assert!(client.release("gift", "k").is_err());
}
