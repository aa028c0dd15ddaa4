//! The SDK against the real reference server (`reach_server::start`,
//! in-process, on 127.0.0.1): prize claims over HTTP under contention,
//! scenario 06 on three devices sharing the server's stock, 2,000 events
//! uploaded end to end, and a pack signed by the server accepted with its
//! public key and refused with another. Every wait is bounded.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use common::*;
use reach::claim::{ClaimAnswer, ClaimRequest};
use reach::claim_http::http_claim_client;
use reach::diagnostics::Diagnostics;
use reach::event::EventKind;
use reach::log::MemoryLog;
use reach::popup::{Answer, OfferContent, Presenter};
use reach::store::{database_path, Store};
use reach::{Clock, Config, ManualClock, ServerConfig, Tracker, Value};
use reach_server::RunningServer;

const WRITE_KEY: &str = "wk-end-to-end";
/// Every wait in this file gives up (and fails) after this long.
const WAIT: Duration = Duration::from_secs(30);
const GIFT: &str = "golden-week-gift";

fn server_with(dir: &Path, f: impl FnOnce(&mut reach_server::ServerConfig)) -> RunningServer {
    let mut c = reach_server::ServerConfig::new(dir.join("server"));
    f(&mut c);
    reach_server::start(c).expect("the reference server starts")
}

/// A base URL nothing listens on (bound, then released).
fn closed_port_url() -> String {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    format!("http://{addr}")
}

#[track_caller]
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[track_caller]
fn wait_diag(t: &Tracker, what: &str, f: impl Fn(&Diagnostics) -> bool) -> Diagnostics {
    let start = Instant::now();
    loop {
        let d = t.diagnostics();
        if f(&d) {
            return d;
        }
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {what}: {d:?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn meta(dir: &Path, key: &str) -> Option<String> {
    let store = Store::open_reader(&database_path(dir)).unwrap();
    store.meta_get(key).unwrap()
}

// ---------------------------------------------------------------------------
// Claims over HTTP
// ---------------------------------------------------------------------------

fn claim_req(key: &str) -> ClaimRequest {
    ClaimRequest {
        campaign_id: GIFT.into(),
        person_id: format!("person-{key}"),
        idempotency_key: key.into(),
    }
}

#[test]
fn one_hundred_parallel_http_claims_on_a_stock_of_ten_grant_exactly_ten() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(dir.path(), |c| c.stock = vec![(GIFT.into(), 10)]);
    let config = ServerConfig::new(server.base_url(), WRITE_KEY);
    let barrier = Arc::new(Barrier::new(100));
    let threads: Vec<_> = (0..100)
        .map(|i| {
            let (config, barrier) = (config.clone(), barrier.clone());
            std::thread::spawn(move || {
                let client = http_claim_client(&config);
                let key = format!("key-{i:03}");
                barrier.wait();
                // An `Unavailable` (a 3 s client timeout on a loaded machine)
                // is retried with the same key, as the SDK does: the server
                // grants at most once per key, so the totals cannot change.
                let mut unavailable = 0;
                loop {
                    match client.claim(&claim_req(&key)) {
                        ClaimAnswer::Unavailable(why) if unavailable < 3 => {
                            eprintln!("{key}: unavailable ({why}), retrying with the same key");
                            unavailable += 1;
                        }
                        answer => return (key, answer),
                    }
                }
            })
        })
        .collect();
    let answers: Vec<(String, ClaimAnswer)> =
        threads.into_iter().map(|t| t.join().unwrap()).collect();

    let granted: Vec<&(String, ClaimAnswer)> = answers
        .iter()
        .filter(|(_, a)| matches!(a, ClaimAnswer::Granted { .. }))
        .collect();
    let exhausted = answers
        .iter()
        .filter(|(_, a)| *a == ClaimAnswer::Exhausted)
        .count();
    assert_eq!(granted.len(), 10, "{answers:?}");
    assert_eq!(exhausted, 90, "{answers:?}");
    assert_eq!(server.stock(GIFT).unwrap(), Some(0));
    let ids: BTreeSet<&str> = granted
        .iter()
        .map(|(_, a)| match a {
            ClaimAnswer::Granted { claim_id } => claim_id.as_str(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(ids.len(), 10, "ten distinct claim ids");
    for id in &ids {
        assert_eq!(id.len(), 32, "{id}");
        assert!(id
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }

    // The same key again: the same prize, nothing more taken.
    let client = http_claim_client(&config);
    let (key, first) = granted[0];
    assert_eq!(
        client.claim(&claim_req(key)),
        *first,
        "same key, same prize"
    );
    assert_eq!(server.stock(GIFT).unwrap(), Some(0));
    // An exhausted key is still exhausted.
    let (lost_key, _) = answers
        .iter()
        .find(|(_, a)| *a == ClaimAnswer::Exhausted)
        .unwrap();
    assert_eq!(client.claim(&claim_req(lost_key)), ClaimAnswer::Exhausted);

    // Release: the prize returns to the stock; a second release gives nothing.
    client.release(GIFT, key).unwrap();
    assert_eq!(server.stock(GIFT).unwrap(), Some(1));
    client.release(GIFT, key).unwrap();
    assert_eq!(server.stock(GIFT).unwrap(), Some(1));
    // The released key now holds nothing: claiming again draws a new prize.
    match client.claim(&claim_req(key)) {
        ClaimAnswer::Granted { claim_id } => {
            assert_ne!(ClaimAnswer::Granted { claim_id }, *first, "a new claim id")
        }
        other => panic!("expected a new grant, got {other:?}"),
    }
    assert_eq!(server.stock(GIFT).unwrap(), Some(0));
    server.shutdown();
}

// ---------------------------------------------------------------------------
// A device: a Tracker on its own data dir, a test presenter, a virtual clock
// ---------------------------------------------------------------------------

struct TestPresenter {
    answer: Mutex<Answer>,
    offers: Mutex<Sender<OfferContent>>,
}

impl Presenter for TestPresenter {
    fn offer(&self, content: &OfferContent) -> Result<Answer, String> {
        let _ = self.offers.lock().unwrap().send(content.clone());
        Ok(*self.answer.lock().unwrap())
    }
}

struct Device {
    dir: PathBuf,
    _keep: tempfile::TempDir,
    clock: Arc<ManualClock>,
    tracker: Option<Tracker>,
    presenter: Arc<TestPresenter>,
    offers: Receiver<OfferContent>,
    offered_before: u64,
    log: Arc<MemoryLog>,
}

fn device_config(dir: &Path, server: ServerConfig) -> Config {
    let mut c = config(dir);
    c.flush_timeout = Duration::from_secs(10);
    c.server = Some(server);
    c
}

impl Device {
    fn open(server: ServerConfig, now_ms: i64) -> Device {
        let keep = tempfile::tempdir().unwrap();
        let (tx, offers) = mpsc::channel();
        let mut d = Device {
            dir: keep.path().to_owned(),
            _keep: keep,
            clock: Arc::new(ManualClock::new(now_ms)),
            tracker: None,
            presenter: Arc::new(TestPresenter {
                answer: Mutex::new(Answer::ShowNow),
                offers: Mutex::new(tx),
            }),
            offers,
            offered_before: 0,
            log: Arc::new(MemoryLog::default()),
        };
        d.start(server);
        d
    }

    fn start(&mut self, server: ServerConfig) {
        let t = Tracker::open(
            device_config(&self.dir, server),
            self.clock.clone() as Arc<dyn Clock>,
            Some(self.log.clone() as _),
        )
        .unwrap();
        t.set_presenter(Some(self.presenter.clone() as Arc<dyn Presenter>))
            .unwrap();
        self.offered_before = 0;
        self.tracker = Some(t);
    }

    /// The app restarts on the same data with another server configuration.
    fn reopen(&mut self, server: ServerConfig) {
        assert!(self.tracker.take().unwrap().close());
        self.start(server);
    }

    fn t(&self) -> &Tracker {
        self.tracker.as_ref().unwrap()
    }

    fn set_answer(&self, a: Answer) {
        *self.presenter.answer.lock().unwrap() = a;
    }

    fn event(&mut self, at_ms: i64, name: &str) -> Option<OfferContent> {
        self.clock.set_ms(at_ms);
        self.t().track(name.into(), Vec::new()).unwrap();
        self.next_offer()
    }

    /// The offer the last calls produced, if any: waits (bounded) until every
    /// claim asked for was answered and applied, then for the presenter's
    /// answer to reach the worker (the harness's `next_offer` pattern).
    fn next_offer(&mut self) -> Option<OfferContent> {
        assert!(self.t().flush());
        let start = Instant::now();
        loop {
            let d = self.t().diagnostics();
            if d.claims_answered >= d.claims_requested {
                break;
            }
            assert!(start.elapsed() < WAIT, "claims answered: {d:?}");
            std::thread::sleep(Duration::from_millis(1));
            assert!(self.t().flush());
        }
        // The answer's offer is dispatched at the commit after it.
        assert!(self.t().flush());
        let offered = self.t().diagnostics().popups_offered;
        if offered == self.offered_before {
            return None;
        }
        assert_eq!(offered, self.offered_before + 1, "one offer per call");
        self.offered_before = offered;
        let offer = self
            .offers
            .recv_timeout(WAIT)
            .expect("the presenter was called");
        let start = Instant::now();
        while self.t().diagnostics().popups_answered < offered {
            assert!(start.elapsed() < WAIT, "the answer reached the worker");
            std::thread::sleep(Duration::from_millis(1));
            self.t().flush();
        }
        Some(offer)
    }

    fn show_and_dismiss(&self, offer: &OfferContent) {
        self.t().popup_shown(offer.offer_id.clone()).unwrap();
        self.t().popup_dismissed(offer.offer_id.clone()).unwrap();
        assert!(self.t().flush());
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        if let Some(t) = self.tracker.take() {
            t.close();
        }
    }
}

#[track_caller]
fn expect(offer: &Option<OfferContent>, campaign: Option<&str>) {
    assert_eq!(offer.as_ref().map(|o| o.campaign_id.as_str()), campaign);
}

#[track_caller]
fn wait_for_stock(server: &RunningServer, left: u64) {
    wait_until(&format!("the server's stock to be {left}"), || {
        server.stock(GIFT).unwrap() == Some(left)
    });
}

fn fixture_pack(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/packs")
        .join(format!("{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------
// Scenario 06 over HTTP
// ---------------------------------------------------------------------------

#[test]
fn scenario_06_prize_inventory_over_http_against_the_reference_server() {
    let root = tempfile::tempdir().unwrap();
    let server = server_with(root.path(), |c| c.stock = vec![(GIFT.into(), 2)]);
    let t0 = T0;
    let pack = fixture_pack("06-prize-inventory");
    // No public key: pack sync is off, the hand-loaded pack stays active;
    // claims go to the configured server (no claim client set by hand).
    let device = |user: &str| {
        let d = Device::open(ServerConfig::new(server.base_url(), WRITE_KEY), t0);
        d.t().load_rule_pack(&pack).expect("the pack is valid");
        d.t().identify(user.into()).unwrap();
        d
    };
    let mut u1 = device("U1");
    let mut u2 = device("U2");
    let mut u3 = device("U3");

    // U1: granted over HTTP, shown.
    let p = u1.event(t0 + 1_000, "purchase");
    expect(&p, Some(GIFT));
    u1.show_and_dismiss(&p.unwrap());
    assert_eq!(server.stock(GIFT).unwrap(), Some(1));
    assert_eq!(u1.t().diagnostics().claims_requested, 1);

    // U1 again: one prize per person, so no claim at all, no popup.
    expect(&u1.event(t0 + 2_000, "purchase"), None);
    assert_eq!(
        u1.t().diagnostics().claims_requested,
        1,
        "no claim for a person at their limit"
    );
    assert_eq!(server.stock(GIFT).unwrap(), Some(1));
    let why = u1.t().explain(GIFT).unwrap();
    assert!(
        why.text.contains("already received 1 prize(s)"),
        "{}",
        why.text
    );

    // U2: granted, but the host discards: the prize goes back to the server.
    u2.set_answer(Answer::Discard);
    expect(&u2.event(t0 + 3_000, "purchase"), Some(GIFT));
    wait_for_stock(&server, 1);

    // U3: gets the released prize, shown.
    let p = u3.event(t0 + 4_000, "purchase");
    expect(&p, Some(GIFT));
    u3.show_and_dismiss(&p.unwrap());
    assert_eq!(server.stock(GIFT).unwrap(), Some(0));

    // U2 again: exhausted, no popup.
    u2.set_answer(Answer::ShowNow);
    expect(&u2.event(t0 + 5_000, "purchase"), None);
    assert!(u2.log.contains("the stock is exhausted: no popup"));
    assert!(u2
        .t()
        .explain(GIFT)
        .unwrap()
        .reasons
        .iter()
        .any(|r| r.contains("stock is exhausted")));

    // Everything U1 recorded so far reaches the server before it goes
    // offline, so the count of shown popups below is exact.
    assert!(u1.t().flush());
    wait_diag(u1.t(), "U1 drained", |d| d.stored == 0 && d.queued == 0);

    // U1's device goes offline (its server is a closed port); a new user U4
    // on it: offline policy `skip`.
    u1.reopen(ServerConfig::new(closed_port_url(), WRITE_KEY));
    u1.t().identify("U4".into()).unwrap();
    expect(&u1.event(t0 + 6_000, "purchase"), None);
    assert_eq!(
        u1.t().diagnostics().claims_answered,
        1,
        "the claim was made"
    );
    assert!(
        u1.log.contains("not shown: offline, claim required"),
        "{:?}",
        u1.log.lines.lock().unwrap()
    );
    let why = u1.t().explain(GIFT).unwrap();
    assert!(why.text.contains("offline, claim required"), "{}", why.text);
    assert_eq!(
        server.stock(GIFT).unwrap(),
        Some(0),
        "nothing taken offline"
    );

    // The popups' events reach the server: U1's and U3's prizes shown once
    // each; U2's discarded offer was never shown.
    for d in [&u2, &u3] {
        assert!(d.t().on_background());
        wait_diag(d.t(), "U2/U3 drained", |d| d.stored == 0 && d.queued == 0);
    }
    assert!(stored_events(&u1.dir)
        .iter()
        .all(|e| e.name != "reach.popup.shown"));
    let stats = server.stats().unwrap();
    assert_eq!(stats.duplicates, 0, "{stats:?}");
    let gift = stats.by_campaign.get(GIFT).expect("the gift in the stats");
    assert_eq!((gift.shown, gift.dismissed), (2, 2), "{stats:?}");
    // Devices close before the server stops: a request still in flight at
    // shutdown would hold `close()` for its flush timeout.
    drop((u1, u2, u3));
    server.shutdown();
}

// ---------------------------------------------------------------------------
// Upload end to end
// ---------------------------------------------------------------------------

#[test]
fn two_thousand_events_arrive_at_the_reference_server_exactly_once() {
    const N: i64 = 2_000;
    let root = tempfile::tempdir().unwrap();
    let server = server_with(root.path(), |c| c.write_keys = vec![WRITE_KEY.into()]);
    let app_dir = root.path().join("app");
    let mut s = ServerConfig::new(server.base_url(), WRITE_KEY);
    // Nothing uploads until `on_background()`, so the test can read every
    // stored row (and its messageId) first; the virtual clock never reaches
    // the 30 s interval.
    s.flush_at = u64::MAX;
    s.request_timeout = Duration::from_secs(10);
    let mut c = config(&app_dir);
    c.flush_timeout = Duration::from_secs(10);
    c.server = Some(s);
    let o = open_with(c);

    o.tracker.on_foreground().unwrap();
    o.tracker.identify("u-42".into()).unwrap();
    for i in 0..N {
        let name = ["add_to_cart", "view_item", "purchase", "search"][i as usize % 4];
        o.clock.set_ms(T0 + i);
        if i % 50 == 7 {
            o.tracker
                .screen("product".into(), props(&[("i", Value::Int(i))]))
                .unwrap();
        } else {
            o.tracker
                .track(
                    name.into(),
                    props(&[
                        ("i", Value::Int(i)),
                        ("sku", Value::String(format!("sku-{}", i % 97))),
                        ("price", Value::Float(9.5 + i as f64)),
                    ]),
                )
                .unwrap();
        }
    }
    // Commit everything without signalling the network thread.
    assert!(o.tracker.flush_within(WAIT));
    let rows = stored_events(&app_dir);
    assert!(
        rows.len() as i64 >= N + 2,
        "N events plus app_open and identify: {}",
        rows.len()
    );
    assert!(rows.iter().any(|e| e.name == "app_open"));
    assert_eq!(
        server.stats().unwrap().events_received,
        0,
        "nothing uploaded before on_background"
    );

    assert!(o.tracker.on_background());
    let d = wait_diag(&o.tracker, "the queue to drain", |d| {
        d.stored == 0 && d.queued == 0
    });
    assert_eq!(d.last_upload_error, None);
    assert_eq!(d.upload_retries, 0);
    assert_eq!(d.upload_batches_dropped, 0);
    assert_eq!(stored_events(&app_dir).len(), 0, "acknowledged rows left");

    let stats = server.stats().unwrap();
    assert_eq!(stats.events_stored, rows.len() as u64, "{stats:?}");
    assert_eq!(stats.events_received, rows.len() as u64);
    assert_eq!(stats.duplicates, 0);
    assert_eq!(d.uploaded_events, rows.len() as u64);
    assert_eq!(stats.batches, d.upload_batches_sent);
    assert!(
        stats.batches >= rows.len().div_ceil(500) as u64,
        "batches of at most 500 events: {}",
        stats.batches
    );
    let mut by_event: BTreeMap<String, u64> = BTreeMap::new();
    for e in rows.iter().filter(|e| e.kind == EventKind::Track) {
        *by_event.entry(e.name.clone()).or_default() += 1;
    }
    assert_eq!(stats.by_event, by_event);

    // Every messageId received exactly once, and stored as the SDK sent it.
    for e in &rows {
        let id = e.message_id.to_string();
        assert_eq!(server.receipts(&id).unwrap(), 1, "{}", e.name);
    }
    for e in rows.iter().step_by(97) {
        let id = e.message_id.to_string();
        let got = server.event(&id).unwrap().expect("stored");
        assert_eq!(got["messageId"], id.as_str());
        assert_eq!(got["anonymousId"], &*e.anonymous_id);
        assert_eq!(got["context"]["reach"]["seq"], e.seq);
        assert_eq!(got["context"]["reach"]["session_id"], &*e.session_id);
        let props: serde_json::Value = serde_json::from_str(&e.properties_json).unwrap();
        match e.kind {
            EventKind::Track => {
                assert_eq!(got["type"], "track");
                assert_eq!(got["event"], e.name.as_str());
                assert_eq!(got["properties"], props);
            }
            EventKind::Screen => {
                assert_eq!(got["type"], "screen");
                assert_eq!(got["name"], e.name.as_str());
                assert_eq!(got["properties"], props);
            }
            EventKind::Identify => assert_eq!(got["type"], "identify"),
        }
        if let Some(user) = &e.user_id {
            assert_eq!(got["userId"], &**user);
        }
    }
    assert!(o.tracker.close());
    server.shutdown();
}

#[test]
fn a_wrong_write_key_keeps_the_events_and_the_right_key_delivers_them_once() {
    let root = tempfile::tempdir().unwrap();
    let server = server_with(root.path(), |c| c.write_keys = vec![WRITE_KEY.into()]);
    let app_dir = root.path().join("app");
    let mut c = config(&app_dir);
    c.server = Some(ServerConfig::new(server.base_url(), "not-the-key"));
    let o = open_with(c);
    for i in 0..30 {
        o.tracker
            .track("tick".into(), props(&[("i", Value::Int(i))]))
            .unwrap();
    }
    assert!(o.tracker.on_background());
    // A rotated or mistyped key is the app's mistake, not the user's data:
    // the 401 keeps every event and says why.
    let d = wait_diag(&o.tracker, "the 401 to be reported", |d| {
        d.upload_configuration_refusals >= 1
    });
    assert_eq!(
        (d.stored, d.upload_events_dropped, d.uploaded_events),
        (30, 0, 0)
    );
    assert!(
        d.last_upload_error
            .as_deref()
            .is_some_and(|e| e.contains("401")),
        "{d:?}"
    );
    assert_eq!(server.stats().unwrap().events_stored, 0);
    assert!(o.tracker.close());

    // The app ships the right key: the kept events arrive, once each.
    let mut c = config(&app_dir);
    c.server = Some(ServerConfig::new(server.base_url(), WRITE_KEY));
    let o = open_with(c);
    assert!(o.tracker.flush());
    let d = wait_diag(&o.tracker, "the kept events delivered", |d| d.stored == 0);
    assert_eq!(d.upload_events_dropped, 0);
    let stats = server.stats().unwrap();
    assert_eq!(stats.by_event["tick"], 30);
    assert_eq!(stats.duplicates, 0);
    assert!(o.tracker.close());
}

// ---------------------------------------------------------------------------
// Signed pack from the server
// ---------------------------------------------------------------------------

const SIGNED_PACK: &str = r#"{
  "format": "1.1",
  "revision": "e2e-7",
  "version": 7,
  "campaigns": [
    {
      "id": "welcome",
      "trigger": {"event": "register"},
      "popup": {"template": "modal", "title": "Welcome",
        "buttons": [{"id": "ok", "text": "OK", "action": {"type": "deep_link", "url": "app://welcome"}}]}
    }
  ]
}"#;

fn sync_server_config(server: &RunningServer, public_key: &str) -> ServerConfig {
    let mut s = ServerConfig::new(server.base_url(), WRITE_KEY);
    s.pack_public_keys = vec![public_key.to_owned()];
    s.request_timeout = Duration::from_secs(10);
    s
}

#[test]
fn a_pack_signed_by_the_server_is_installed_with_its_key_and_refused_with_another() {
    let root = tempfile::tempdir().unwrap();
    let packs = root.path().join("packs");
    std::fs::create_dir_all(&packs).unwrap();
    std::fs::write(packs.join("default.json"), SIGNED_PACK).unwrap();
    let (seed, public_key) = reach_server::keygen().unwrap();
    let server = server_with(root.path(), |c| {
        c.packs_dir = Some(packs.clone());
        c.signing_key = Some(reach_server::decode_seed(&seed).unwrap());
        c.write_keys = vec![WRITE_KEY.into()];
    });

    // The right key: the pack syncs at start-up and its campaign fires.
    let mut good = Device::open(sync_server_config(&server, &public_key), T0);
    let d = wait_diag(good.t(), "the pack to sync", |d| d.pack_version == Some(7));
    assert_eq!(d.pack_revision.as_deref(), Some("e2e-7"));
    assert_eq!(d.last_sync_error, None);
    assert_eq!(
        meta(&good.dir, "rule_pack").as_deref(),
        Some(SIGNED_PACK),
        "stored byte for byte"
    );
    assert!(meta(&good.dir, "rule_pack_etag").is_some());
    let offer = good.event(T0 + 1_000, "register");
    expect(&offer, Some("welcome"));
    let offer = offer.unwrap();
    assert_eq!(offer.title.as_deref(), Some("Welcome"));
    good.t().popup_shown(offer.offer_id.clone()).unwrap();
    good.t()
        .popup_clicked(offer.offer_id.clone(), "ok".into())
        .unwrap();
    // The campaign's events reach the server's stats.
    assert!(good.t().on_background());
    wait_diag(good.t(), "the upload", |d| d.stored == 0 && d.queued == 0);
    let stats = server.stats().unwrap();
    let welcome = stats.by_campaign.get("welcome").expect("welcome in stats");
    assert_eq!((welcome.shown, welcome.clicked), (1, 1), "{stats:?}");

    // Another key: the pack is refused, nothing installed, nothing fires.
    let (_, other_key) = reach_server::keygen().unwrap();
    assert_ne!(other_key, public_key);
    let mut bad = Device::open(sync_server_config(&server, &other_key), T0);
    let d = wait_diag(bad.t(), "the refusal", |d| d.last_sync_error.is_some());
    let why = d.last_sync_error.clone().unwrap();
    assert!(
        why.contains("does not verify with any configured key"),
        "{why}"
    );
    assert_eq!(d.pack_version, None);
    assert_eq!(d.pack_revision, None);
    assert_eq!(meta(&bad.dir, "rule_pack"), None, "no pack kept");
    expect(&bad.event(T0 + 1_000, "register"), None);
    assert_eq!(bad.t().diagnostics().popups_offered, 0);
    drop((good, bad));
    server.shutdown();
}
