//! HTTPS on loopback through the real rustls path of the built-in ureq
//! transport: certificates are generated in each test (a test CA and a leaf
//! for 127.0.0.1), trusted through `UreqTransport::trusting_only` — the
//! test-only door that Reach's own code never opens. Uploads, pack sync and
//! claims work over it; a certificate for another host, an expired one, or
//! one from an unknown CA is refused, and no event is lost.

mod common;
mod net_support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use net_support::{pack_json, public_key_b64, signed_pack, TestServer};
use reach::claim::{ClaimAnswer, ClaimRequest};
use reach::claim_http::http_claim_client;
use reach::transport::{Transport, TransportErrorKind, UreqTransport};
use reach::{Config, ServerConfig, Value};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Real-time bound on waiting for the client.
const WAIT: Duration = Duration::from_secs(20);

/// A test certificate authority.
struct TestCa {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

impl TestCa {
    fn new() -> TestCa {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Reach test CA");
        let cert = params.self_signed(&key).unwrap();
        TestCa { cert, key }
    }

    fn root_der(&self) -> Vec<u8> {
        self.cert.der().to_vec()
    }

    /// A server configuration with a leaf for `names`, valid in `validity`
    /// (`None`: rcgen's default, valid now).
    fn server(&self, names: &[&str], validity: Option<(i32, i32)>) -> Arc<rustls::ServerConfig> {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names).unwrap();
        if let Some((from, to)) = validity {
            params.not_before = rcgen::date_time_ymd(from, 1, 1);
            params.not_after = rcgen::date_time_ymd(to, 1, 1);
        }
        let leaf = params.signed_by(&key, &self.cert, &self.key).unwrap();
        let chain = vec![CertificateDer::from(leaf.der().to_vec())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        Arc::new(config)
    }
}

fn trusting(ca: &TestCa) -> Arc<dyn Transport> {
    Arc::new(UreqTransport::trusting_only(&[ca.root_der()]))
}

fn tls_config(dir: &Path, server: &TestServer, transport: Arc<dyn Transport>) -> Config {
    let mut c = config(dir);
    c.record_app_open = false;
    let mut s = ServerConfig::new(server.url(), "wk-tls");
    s.pack_public_keys = vec![public_key_b64(1)];
    s.min_pack_interval = Duration::ZERO;
    s.request_timeout = Duration::from_secs(5);
    s.transport = Some(transport);
    c.server = Some(s);
    c
}

fn track_n(o: &Opened, n: i64) {
    for i in 0..n {
        o.tracker
            .track("tick".into(), props(&[("i", Value::Int(i))]))
            .unwrap();
    }
}

#[test]
fn uploads_pack_sync_and_claims_go_through_https_with_a_trusted_test_root() {
    let ca = TestCa::new();
    let server = TestServer::start_tls(ca.server(&["127.0.0.1"], None));
    assert!(server.url().starts_with("https://127.0.0.1:"));
    server.state().pack = Some(signed_pack(&pack_json(4), 1));
    server.state().stock.insert("gift".into(), 1);
    let dir = tempfile::tempdir().unwrap();
    let transport = trusting(&ca);
    let config = tls_config(dir.path(), &server, transport.clone());
    let o = open_with(config.clone());

    // The start-up sync installs the signed pack over TLS.
    net_support::wait_client(&o.tracker, "the synced pack", |d| d.pack_version == Some(4));
    assert_eq!(o.tracker.diagnostics().last_sync_error, None);

    // Three uploads, one after the other, over the same agent.
    for round in 1..=3u64 {
        track_n(&o, 10);
        assert!(o.tracker.flush());
        net_support::wait_client(&o.tracker, "the upload", |d| {
            d.uploaded_events == 10 * round && d.stored == 0
        });
    }
    assert_eq!(server.stored_count(), 30);
    assert_eq!(o.tracker.diagnostics().last_upload_error, None);
    let connections = server.state().connections;
    assert!(
        connections <= 2,
        "one agent keeps its TLS connection: {connections} for a sync and 3 uploads"
    );

    // A prize claim through the same transport.
    let claims = http_claim_client(config.server.as_ref().unwrap());
    let answer = claims.claim(&ClaimRequest {
        campaign_id: "gift".into(),
        person_id: "u-1".into(),
        idempotency_key: "k1".into(),
    });
    assert!(matches!(answer, ClaimAnswer::Granted { .. }), "{answer:?}");
    assert_eq!(
        claims.claim(&ClaimRequest {
            campaign_id: "gift".into(),
            person_id: "u-2".into(),
            idempotency_key: "k2".into(),
        }),
        ClaimAnswer::Exhausted
    );
}

/// Every certificate the client must refuse, the server it comes from, and
/// what rustls says about it.
fn refused_servers(ca: &TestCa) -> Vec<(&'static str, TestServer, &'static str)> {
    // Same name as the trusted CA, another key: only the signature differs.
    let stranger = TestCa::new();
    vec![
        (
            "a certificate for another host",
            TestServer::start_tls(ca.server(&["reach.example.com"], None)),
            "not valid for name",
        ),
        (
            "an expired certificate",
            TestServer::start_tls(ca.server(&["127.0.0.1"], Some((2020, 2021)))),
            "expired",
        ),
        (
            "a certificate from an unknown CA",
            TestServer::start_tls(stranger.server(&["127.0.0.1"], None)),
            "BadSignature",
        ),
    ]
}

#[test]
fn a_wrong_host_expired_or_unknown_certificate_is_refused_and_nothing_is_lost() {
    let ca = TestCa::new();
    for (what, bad, reason) in refused_servers(&ca) {
        // The transport itself: refused before any request byte, so surely
        // not delivered.
        let t = trusting(&ca);
        let e = t
            .send(reach::transport::HttpRequest {
                method: reach::transport::Method::Post,
                url: format!("{}/v1/batch", bad.url()),
                headers: vec![],
                body: b"{}".to_vec(),
                timeout: Duration::from_secs(5),
                max_response_bytes: 1024,
            })
            .unwrap_err();
        assert_eq!(e.kind, TransportErrorKind::Connect, "{what}: {e}");
        assert!(e.detail.contains(reason), "{what}: {e}");

        // A tracker behind it keeps every event, and says why.
        let dir = tempfile::tempdir().unwrap();
        let o = open_with(tls_config(dir.path(), &bad, t.clone()));
        track_n(&o, 25);
        assert!(o.tracker.flush());
        net_support::wait_client(&o.tracker, "the refused attempt", |d| d.upload_retries >= 1);
        let d = o.tracker.diagnostics();
        assert_eq!(d.stored, 25, "{what}: the events are kept");
        assert_eq!(
            (d.uploaded_events, d.upload_events_dropped),
            (0, 0),
            "{what}"
        );
        assert!(d.last_upload_error.is_some(), "{what}");
        assert!(d.last_sync_error.is_some(), "{what}: the pack sync too");
        assert_eq!(d.pack_version, None, "{what}");
        let s = bad.state();
        assert!(s.receipts.is_empty(), "{what}: no request was served");
        assert!(s.pack_requests.is_empty(), "{what}");
        drop(s);
        assert!(o.tracker.close());

        // The same queue, reopened against a trusted server, delivers all.
        let good = TestServer::start_tls(ca.server(&["127.0.0.1"], None));
        let o = open_with(tls_config(dir.path(), &good, t));
        assert!(o.tracker.flush());
        good.wait_for("the kept events", WAIT, |s| s.stored.len() == 25);
        net_support::wait_client(&o.tracker, "the queue to empty", |d| d.stored == 0);
    }
}
