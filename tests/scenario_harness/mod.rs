//! Runs the operators' scenarios (../shared/scenarios) against the real
//! tracker: a real SQLite file, the worker and presenter threads, a test
//! presenter, and a virtual clock set to the trace's local times.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reach::event::StoredEvent;
use reach::popup::{Answer, OfferContent, Presenter};
use reach::store::{database_path, Store};
use reach::{Clock, Config, ManualClock, Tracker, Value};

/// A host presenter: answers as told and hands each offer to the test.
pub struct TestPresenter {
    answer: Mutex<Answer>,
    offers: Mutex<Sender<OfferContent>>,
}

impl Presenter for TestPresenter {
    fn offer(&self, content: &OfferContent) -> Result<Answer, String> {
        let _ = self.offers.lock().unwrap().send(content.clone());
        Ok(*self.answer.lock().unwrap())
    }
}

pub fn pack(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/packs")
        .join(format!("{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Milliseconds of `local` ("2026-09-25 10:05" or "2026-09-25 10:05:30") in `zone`.
pub fn local_ms(zone: &str, local: &str) -> i64 {
    let fmt = if local.len() > 16 {
        "%Y-%m-%d %H:%M:%S"
    } else {
        "%Y-%m-%d %H:%M"
    };
    let dt = jiff::civil::DateTime::strptime(fmt, local).unwrap_or_else(|e| panic!("{local}: {e}"));
    let tz = jiff::tz::TimeZone::get(zone).unwrap();
    tz.to_ambiguous_timestamp(dt)
        .compatible()
        .unwrap()
        .as_millisecond()
}

/// Day `d` of a trace at `hh:mm` in Asia/Shanghai, counted from 2026-03-02.
pub fn day(d: i64, hm: &str) -> i64 {
    local_ms("Asia/Shanghai", &format!("2026-03-02 {hm}")) + d * 86_400_000
}

pub struct Phone {
    pub dir: PathBuf,
    _keep: Option<tempfile::TempDir>,
    pub zone: String,
    pub app_version: String,
    pub clock: Arc<ManualClock>,
    pub tracker: Option<Tracker>,
    presenter: Arc<TestPresenter>,
    offers: Receiver<OfferContent>,
    offered_before: u64,
    pub log: Arc<reach::log::MemoryLog>,
}

impl Phone {
    /// A fresh device in `zone` that has synced `pack_name` once.
    pub fn new(zone: &str, pack_name: &str, start_ms: i64) -> Phone {
        Phone::with_pack(zone, &pack(pack_name), start_ms)
    }

    /// A fresh device that has loaded the pack `json`.
    pub fn with_pack(zone: &str, json: &str, start_ms: i64) -> Phone {
        let dir = tempfile::tempdir().unwrap();
        let mut p = Phone::open_at(dir.path().to_owned(), zone, "5.2.0", start_ms);
        p._keep = Some(dir);
        p.tracker().load_rule_pack(json).expect("the pack is valid");
        p
    }

    /// A device on an existing data directory (which the caller keeps).
    pub fn open_dir(dir: PathBuf, zone: &str, now_ms: i64) -> Phone {
        Phone::open_at(dir, zone, "5.2.0", now_ms)
    }

    fn open_at(dir: PathBuf, zone: &str, app_version: &str, now_ms: i64) -> Phone {
        let (tx, offers) = mpsc::channel();
        let presenter = Arc::new(TestPresenter {
            answer: Mutex::new(Answer::ShowNow),
            offers: Mutex::new(tx),
        });
        let mut p = Phone {
            dir,
            _keep: None,
            zone: zone.into(),
            app_version: app_version.into(),
            clock: Arc::new(ManualClock::new(now_ms)),
            tracker: None,
            presenter,
            offers,
            offered_before: 0,
            log: Arc::new(reach::log::MemoryLog::default()),
        };
        p.start();
        p
    }

    fn config(&self) -> Config {
        let mut c = Config::new(&self.dir);
        c.app.app_version = self.app_version.clone();
        c.app.platform = "android".into();
        c.app.os_version = "14".into();
        c.app.locale = "zh-CN".into();
        c.app.timezone = self.zone.clone();
        c.flush_timeout = Duration::from_secs(10);
        c
    }

    fn start(&mut self) {
        let t = Tracker::open(
            self.config(),
            self.clock.clone() as Arc<dyn Clock>,
            Some(self.log.clone() as _),
        )
        .unwrap();
        t.set_presenter(Some(self.presenter.clone() as Arc<dyn Presenter>))
            .unwrap();
        self.offered_before = 0;
        self.tracker = Some(t);
    }

    pub fn tracker(&self) -> &Tracker {
        self.tracker.as_ref().unwrap()
    }

    /// The app stops and starts again (state kept), optionally upgraded.
    pub fn restart(&mut self, app_version: Option<&str>) {
        assert!(self.tracker.take().unwrap().close());
        if let Some(v) = app_version {
            self.app_version = v.into();
        }
        self.start();
    }

    pub fn identify(&self, user_id: &str) {
        self.tracker().identify(user_id.into()).unwrap();
    }

    pub fn set_claim_client(&self, client: Arc<dyn reach::claim::ClaimClient>) {
        self.tracker().set_claim_client(Some(client)).unwrap();
    }

    pub fn explain(&self, campaign_id: &str) -> reach::explain::Explanation {
        self.tracker().explain(campaign_id).unwrap()
    }

    pub fn set_answer(&self, a: Answer) {
        *self.presenter.answer.lock().unwrap() = a;
    }

    /// Tracks `name` at `at_ms`; returns the popup the presenter was asked to
    /// show, if any. An offered popup is reported shown and then, unless
    /// `keep_open`, dismissed, as a host does when the person closes it.
    pub fn event(
        &mut self,
        at_ms: i64,
        name: &str,
        props: &[(&str, Value)],
    ) -> Option<OfferContent> {
        self.clock.set_ms(at_ms);
        let props = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        self.tracker().track(name.into(), props).unwrap();
        self.next_offer()
    }

    pub fn foreground(&mut self, at_ms: i64) -> Option<OfferContent> {
        self.clock.set_ms(at_ms);
        self.tracker().on_foreground().unwrap();
        self.next_offer()
    }

    /// The offer the last calls produced, if any (deterministic: the counter
    /// of offers handed to the presenter is read after a flush).
    pub fn next_offer(&mut self) -> Option<OfferContent> {
        assert!(self.tracker().flush());
        // Prize claims answer on their own thread: wait until every claim
        // asked for has been applied, so an offer they lead to is counted.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let d = self.tracker().diagnostics();
            if d.claims_answered >= d.claims_requested {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "claims answered");
            std::thread::sleep(Duration::from_millis(1));
            assert!(self.tracker().flush());
        }
        // The answer's offer is dispatched at the commit after it.
        assert!(self.tracker().flush());
        let offered = self.tracker().diagnostics().popups_offered;
        if offered == self.offered_before {
            return None;
        }
        assert_eq!(
            offered,
            self.offered_before + 1,
            "one offer per call at most"
        );
        self.offered_before = offered;
        let offer = self
            .offers
            .recv_timeout(Duration::from_secs(10))
            .expect("the presenter was called");
        // Wait until the worker has applied the presenter's answer, so the
        // next step on the virtual clock sees it (in real time it takes ms).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.tracker().diagnostics().popups_answered < offered {
            assert!(
                std::time::Instant::now() < deadline,
                "the answer reached the worker"
            );
            std::thread::sleep(Duration::from_millis(1));
            self.tracker().flush();
        }
        Some(offer)
    }

    pub fn shown(&self, offer: &OfferContent) {
        self.tracker().popup_shown(offer.offer_id.clone()).unwrap();
    }

    pub fn dismiss(&self, offer: &OfferContent) {
        self.tracker()
            .popup_dismissed(offer.offer_id.clone())
            .unwrap();
    }

    pub fn click(&self, offer: &OfferContent, button: &str) {
        self.tracker()
            .popup_clicked(offer.offer_id.clone(), button.into())
            .unwrap();
    }

    /// Shown, then closed without acting.
    pub fn show_and_dismiss(&self, offer: &OfferContent) {
        self.shown(offer);
        self.dismiss(offer);
        assert!(self.tracker().flush());
    }

    /// Every event stored so far, read from the database file.
    pub fn stored(&self) -> Vec<StoredEvent> {
        assert!(self.tracker().flush());
        // Read-only beside the live worker (see `Store::open_reader`).
        let store = Store::open_reader(&database_path(&self.dir)).unwrap();
        store.read_events(0, 1_000_000).unwrap()
    }

    /// The properties of every stored event with this name, oldest first.
    pub fn stored_named(&self, name: &str) -> Vec<serde_json::Value> {
        self.stored()
            .iter()
            .filter(|e| e.name == name)
            .map(json)
            .collect()
    }
}

pub fn json(e: &StoredEvent) -> serde_json::Value {
    serde_json::from_str(&e.properties_json).unwrap()
}

/// Asserts which campaign (if any) an event offered.
#[track_caller]
pub fn expect(offer: &Option<OfferContent>, campaign: Option<&str>) {
    assert_eq!(offer.as_ref().map(|o| o.campaign_id.as_str()), campaign);
}
