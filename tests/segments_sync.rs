//! Server segments on the device against a loopback server: asked for only
//! when the active pack tests them, for the person `identify()` named, and a
//! campaign on `segments` offered to a member; after `reset()` the new
//! (anonymous) person is asked about, and until then nothing is offered.

mod common;
mod net_support;

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use net_support::{public_key_b64, signed_pack, TestServer};
use reach::popup::{Answer, OfferContent, Presenter};
use reach::ServerConfig;

const WAIT: Duration = Duration::from_secs(20);

/// Hands every offer to the test and discards it (nothing is capped).
struct Offers(Mutex<Sender<OfferContent>>);

impl Presenter for Offers {
    fn offer(&self, c: &OfferContent) -> Result<Answer, String> {
        let _ = self.0.lock().unwrap().send(c.clone());
        Ok(Answer::Discard)
    }
}

fn open_against(server: &TestServer, dir: &std::path::Path) -> (Opened, Receiver<OfferContent>) {
    let mut c = config(dir);
    c.record_app_open = false;
    let mut s = ServerConfig::new(server.url(), "wk");
    s.pack_public_keys = vec![public_key_b64(1)];
    s.min_pack_interval = Duration::ZERO;
    s.request_timeout = Duration::from_secs(5);
    s.transport = Some(net_support::transport(net_support::TransportKind::Ureq));
    c.server = Some(s);
    let o = open_with(c);
    let (tx, rx) = mpsc::channel();
    o.tracker
        .set_presenter(Some(Arc::new(Offers(Mutex::new(tx)))))
        .unwrap();
    (o, rx)
}

fn wait_pack(o: &Opened, version: u64) {
    let start = Instant::now();
    while o.tracker.diagnostics().pack_version != Some(version) {
        assert!(start.elapsed() < WAIT, "pack {version} not active");
        std::thread::sleep(Duration::from_millis(5));
    }
}

const SEGMENT_PACK: &str = r#"{"format": "1.2", "revision": "s1", "version": 1, "campaigns": [
    {"id": "whale-thanks", "trigger": {"event": "app_open"},
     "audience": {"segments": {"any": ["whale"]}},
     "popup": {"template": "banner", "body": "Thank you for being with us"}}]}"#;

#[test]
fn a_pack_without_segments_never_asks_for_them() {
    let server = TestServer::start();
    server.state().pack = Some(signed_pack(
        r#"{"format": "1.1", "revision": "p1", "version": 1, "campaigns": [
            {"id": "hello", "trigger": {"event": "app_open"},
             "popup": {"template": "banner", "body": "Hello"}}]}"#,
        1,
    ));
    let dir = tempfile::tempdir().unwrap();
    let (o, rx) = open_against(&server, dir.path());
    wait_pack(&o, 1);
    o.tracker.identify("u-1".into()).unwrap();
    o.tracker.track("app_open".into(), vec![]).unwrap();
    assert_eq!(rx.recv_timeout(WAIT).expect("offered").campaign_id, "hello");
    assert!(o.tracker.flush());
    o.tracker.upload_now(Duration::from_secs(10));
    server.wait_for("the upload", WAIT, |s| !s.receipts.is_empty());
    assert!(o.tracker.close());
    assert_eq!(server.state().segments_requests, Vec::<String>::new());
}

#[test]
fn a_member_is_offered_the_campaign_and_after_reset_the_new_person_is_asked_about() {
    let server = TestServer::start();
    server.state().pack = Some(signed_pack(SEGMENT_PACK, 1));
    server
        .state()
        .segments
        .insert("user_id=u-1".into(), vec!["whale".into()]);
    let dir = tempfile::tempdir().unwrap();
    let (o, rx) = open_against(&server, dir.path());
    wait_pack(&o, 1);
    o.tracker.identify("u-1".into()).unwrap();
    server.wait_for("segments asked for u-1", WAIT, |s| {
        s.segments_requests.iter().any(|q| q == "user_id=u-1")
    });
    // The answer reaches the worker after the request: track until offered.
    let start = Instant::now();
    let offer = loop {
        o.tracker.track("app_open".into(), vec![]).unwrap();
        if let Ok(offer) = rx.recv_timeout(Duration::from_millis(50)) {
            break offer;
        }
        assert!(start.elapsed() < WAIT, "never offered to a member");
    };
    assert_eq!(offer.campaign_id, "whale-thanks");

    o.tracker.reset().unwrap();
    server.wait_for("segments asked for the anonymous person", WAIT, |s| {
        s.segments_requests
            .iter()
            .any(|q| q.starts_with("anonymous_id="))
    });
    // The new person is in no segment: nothing is offered, and explain says
    // why in words.
    for _ in 0..5 {
        o.tracker.track("app_open".into(), vec![]).unwrap();
    }
    assert!(o.tracker.flush());
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
    let why = format!("{:?}", o.tracker.explain("whale-thanks").unwrap());
    assert!(why.contains("segment"), "{why}");
    assert!(o.tracker.close());
}
