//! Server segments end to end: the SDK (`Tracker`) against the real reference server (`reach_server::start`,
//! in-process, on 127.0.0.1), which signs and serves a pack whose campaign's audience tests `segments`. An
//! operator sets the person's segments with the admin call; the device asks for them with its write key,
//! keeps them, and the campaign fires; reopened, it asks conditionally and gets a 304; after `reset()` the
//! new (anonymous) person is in no segment and the campaign does not fire. Every wait is bounded.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use reach::popup::{Answer, OfferContent, Presenter};
use reach::ServerConfig;
use reach_server::RunningServer;

const WRITE_KEY: &str = "wk-segments";
const ADMIN_TOKEN: &str = "admin-segments";
const WAIT: Duration = Duration::from_secs(30);

const PACK: &str = r#"{"format": "1.2", "revision": "seg-1", "version": 1, "campaigns": [
    {"id": "whale-thanks", "trigger": {"event": "app_open"},
     "audience": {"segments": {"any": ["whale"], "none": ["fraud_review"]}},
     "popup": {"template": "banner", "body": "Thank you for being with us"}}]}"#;

/// Hands every offer to the test and discards it (nothing is capped).
struct Offers(Mutex<Sender<OfferContent>>);

impl Presenter for Offers {
    fn offer(&self, c: &OfferContent) -> Result<Answer, String> {
        let _ = self.0.lock().unwrap().send(c.clone());
        Ok(Answer::Discard)
    }
}

fn server(root: &Path) -> (RunningServer, String) {
    let packs = root.join("packs");
    std::fs::create_dir_all(&packs).unwrap();
    std::fs::write(packs.join("default.json"), PACK).unwrap();
    let (seed, public_key) = reach_server::keygen().unwrap();
    let mut c = reach_server::ServerConfig::new(root.join("server"));
    c.packs_dir = Some(packs);
    c.signing_key = Some(reach_server::decode_seed(&seed).unwrap());
    c.write_keys = vec![WRITE_KEY.into()];
    c.admin_token = Some(ADMIN_TOKEN.into());
    (reach_server::start(c).unwrap(), public_key)
}

/// `POST /v1/segments` as an operator's job sends it; returns the status.
fn set_segments(server: &RunningServer, body: &serde_json::Value) -> u16 {
    let body = body.to_string();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "POST /v1/segments HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        server.addr(),
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    reply.split(' ').nth(1).unwrap().parse().unwrap()
}

fn device(
    server: &RunningServer,
    public_key: &str,
    dir: &Path,
) -> (Opened, Receiver<OfferContent>) {
    let mut c = config(dir);
    c.record_app_open = false;
    let mut s = ServerConfig::new(server.base_url(), WRITE_KEY);
    s.pack_public_keys = vec![public_key.to_owned()];
    s.min_pack_interval = Duration::ZERO;
    s.request_timeout = Duration::from_secs(10);
    c.server = Some(s);
    let o = open_with(c);
    let (tx, rx) = mpsc::channel();
    o.tracker
        .set_presenter(Some(Arc::new(Offers(Mutex::new(tx)))))
        .unwrap();
    let start = Instant::now();
    while o.tracker.diagnostics().pack_version != Some(1) {
        assert!(start.elapsed() < WAIT, "the pack never became active");
        std::thread::sleep(Duration::from_millis(5));
    }
    (o, rx)
}

#[track_caller]
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Tracks `app_open` until the campaign is offered (the segments answer reaches the worker shortly after the
/// request the server counted).
fn offered_after_tracking(o: &Opened, rx: &Receiver<OfferContent>) -> OfferContent {
    let start = Instant::now();
    loop {
        o.tracker.track("app_open".into(), vec![]).unwrap();
        if let Ok(offer) = rx.recv_timeout(Duration::from_millis(50)) {
            return offer;
        }
        assert!(start.elapsed() < WAIT, "never offered to a member");
    }
}

#[test]
fn segments_set_by_the_operator_reach_the_device_and_leave_with_reset() {
    let root = tempfile::tempdir().unwrap();
    let (server, public_key) = server(root.path());
    assert_eq!(
        set_segments(
            &server,
            &serde_json::json!({"user_id": "u-42", "segments": ["whale", "vip"]})
        ),
        200
    );
    let dir = root.path().join("device");

    let (o, rx) = device(&server, &public_key, &dir);
    o.tracker.identify("u-42".into()).unwrap();
    wait_until("the device to ask for u-42's segments", || {
        server.segment_answers().0 >= 1
    });
    let offer = offered_after_tracking(&o, &rx);
    assert_eq!(offer.campaign_id, "whale-thanks");
    assert!(o.tracker.close());

    // Reopened: the stored segments serve at once, and the device asks with their ETag.
    let (fresh_before, _) = server.segment_answers();
    let (o, rx) = device(&server, &public_key, &dir);
    wait_until("a conditional request answered 304", || {
        server.segment_answers().1 >= 1
    });
    assert_eq!(server.segment_answers().0, fresh_before, "nothing re-sent");
    assert_eq!(offered_after_tracking(&o, &rx).campaign_id, "whale-thanks");

    // After reset() the person is anonymous and in no segment: asked about, and never offered.
    o.tracker.reset().unwrap();
    wait_until("the device to ask for the anonymous person", || {
        server.segment_answers().0 > fresh_before
    });
    for _ in 0..5 {
        o.tracker.track("app_open".into(), vec![]).unwrap();
    }
    assert!(o.tracker.flush());
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
    let why = format!("{:?}", o.tracker.explain("whale-thanks").unwrap());
    assert!(why.contains("segment"), "{why}");
    assert!(o.tracker.close());
    server.shutdown();
}
