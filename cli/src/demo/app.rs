//! The demo's app: the real `Tracker` on a data directory, with a manual
//! clock (the story runs on virtual days), a presenter that hands each popup
//! to the story to draw, and a transport with an offline switch in front of
//! the SDK's own HTTP client (the phone losing its network; the server on
//! loopback stays up).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reach::popup::{Answer, OfferContent, Presenter};
use reach::transport::{HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind};
use reach::tracker::UploadReport;
use reach::{Clock, Config, ManualClock, Tracker, Value};

/// How long the demo waits for the worker, the pack sync or an upload; far
/// above what they take on loopback (milliseconds), only a guard so a broken
/// build fails instead of hanging.
pub const WAIT: Duration = Duration::from_secs(20);

/// What the story needs to open the app (the same in both lives).
#[derive(Clone)]
pub struct AppSetup {
    pub data_dir: String,
    pub server_url: String,
    pub write_key: String,
    pub public_key: String,
}

struct HandingPresenter(Mutex<Sender<OfferContent>>);

impl Presenter for HandingPresenter {
    fn offer(&self, content: &OfferContent) -> Result<Answer, String> {
        if let Ok(s) = self.0.lock() {
            let _ = s.send(content.clone());
        }
        Ok(Answer::ShowNow)
    }
}

/// The SDK's transport, or "no network" while `offline` is set.
struct SwitchedTransport {
    inner: Arc<dyn Transport>,
    offline: Arc<AtomicBool>,
}

impl Transport for SwitchedTransport {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if self.offline.load(Ordering::SeqCst) {
            return Err(TransportError::new(
                TransportErrorKind::Connect,
                "the phone is offline",
            ));
        }
        self.inner.send(request)
    }
}

pub struct App {
    pub tracker: Tracker,
    pub clock: Arc<ManualClock>,
    offers: Receiver<OfferContent>,
    offered: u64,
    offline: Arc<AtomicBool>,
}

impl App {
    pub fn open(setup: &AppSetup, now_ms: i64) -> Result<App, String> {
        let clock = Arc::new(ManualClock::new(now_ms));
        let offline = Arc::new(AtomicBool::new(false));
        let mut config = Config::new(&setup.data_dir);
        config.app.app_version = "1.0.0".into();
        config.app.platform = "android".into();
        config.app.locale = "en".into();
        config.app.timezone = "UTC".into();
        config.flush_timeout = WAIT;
        let mut server = reach::ServerConfig::new(&setup.server_url, &setup.write_key);
        server.pack_public_keys = vec![setup.public_key.clone()];
        // Uploads only when the story asks (upload_now), so counts are exact.
        server.flush_at = 10_000;
        server.flush_interval = Duration::from_secs(3_600);
        server.transport = Some(Arc::new(SwitchedTransport {
            inner: reach::transport::default_transport(),
            offline: offline.clone(),
        }));
        config.server = Some(server);
        let tracker = Tracker::open(config, clock.clone() as Arc<dyn Clock>, None)
            .map_err(|e| format!("cannot open the app's data directory: {e}"))?;
        let (tx, offers) = mpsc::channel();
        tracker
            .set_presenter(Some(
                Arc::new(HandingPresenter(Mutex::new(tx))) as Arc<dyn Presenter>
            ))
            .map_err(|e| e.to_string())?;
        Ok(App {
            tracker,
            clock,
            offers,
            offered: 0,
            offline,
        })
    }

    pub fn set_offline(&self, offline: bool) {
        self.offline.store(offline, Ordering::SeqCst);
    }

    /// Waits until the server's pack is active (synced at the first foreground).
    pub fn wait_for_pack(&self) -> Result<String, String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let d = self.tracker.diagnostics();
            if let Some(revision) = d.pack_revision {
                return Ok(revision);
            }
            if Instant::now() > deadline {
                return Err(format!("the pack did not sync: {:?}", d.last_sync_error));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn at(&self, ms: i64) {
        self.clock.set_ms(ms);
    }

    pub fn track(&mut self, name: &str, props: &[(&str, Value)]) -> Result<Option<OfferContent>, String> {
        let props = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        self.tracker
            .track(name.into(), props)
            .map_err(|e| e.to_string())?;
        self.next_offer()
    }

    pub fn foreground(&mut self) -> Result<Option<OfferContent>, String> {
        self.tracker.on_foreground().map_err(|e| e.to_string())?;
        self.next_offer()
    }

    /// The popup the last call led to, if any: the count of offers handed to
    /// the presenter is read after the worker committed, so the answer does
    /// not depend on timing.
    fn next_offer(&mut self) -> Result<Option<OfferContent>, String> {
        self.flush()?;
        self.flush()?;
        let offered = self.tracker.diagnostics().popups_offered;
        if offered == self.offered {
            return Ok(None);
        }
        self.offered = offered;
        let offer = self
            .offers
            .recv_timeout(WAIT)
            .map_err(|_| "the presenter was never called".to_string())?;
        let deadline = Instant::now() + WAIT;
        while self.tracker.diagnostics().popups_answered < offered {
            if Instant::now() > deadline {
                return Err("the presenter's answer never reached the worker".into());
            }
            std::thread::sleep(Duration::from_millis(1));
            self.flush()?;
        }
        Ok(Some(offer))
    }

    /// The person taps `button` (a dismiss button closes the popup).
    pub fn tap(&self, offer: &OfferContent, button: &str) -> Result<(), String> {
        let t = &self.tracker;
        t.popup_shown(offer.offer_id.clone())
            .map_err(|e| e.to_string())?;
        let dismisses = offer.buttons.iter().any(|b| {
            b.id == button && matches!(b.action, reach::popup::ButtonAction::Dismiss)
        });
        if dismisses {
            t.popup_dismissed(offer.offer_id.clone())
        } else {
            t.popup_clicked(offer.offer_id.clone(), button.into())
        }
        .map_err(|e| e.to_string())?;
        self.flush()
    }

    pub fn flush(&self) -> Result<(), String> {
        if self.tracker.flush() {
            Ok(())
        } else {
            Err("the worker did not commit in time".into())
        }
    }

    pub fn upload(&self) -> UploadReport {
        self.tracker.upload_now(WAIT)
    }
}

/// A popup drawn as a boxed card: the campaign, title, body and buttons.
pub fn card(offer: &OfferContent) -> String {
    let mut lines = vec![offer.title.clone().unwrap_or_default()];
    if let Some(body) = &offer.body {
        lines.push(String::new());
        lines.push(body.clone());
    }
    let buttons: Vec<String> = offer
        .buttons
        .iter()
        .map(|b| format!("[ {} ]", b.text))
        .collect();
    if !buttons.is_empty() {
        lines.push(String::new());
        lines.push(buttons.join("  "));
    }
    let label = format!(" {} ", offer.campaign_id);
    let width = lines
        .iter()
        .map(|l| l.chars().count())
        .chain([label.chars().count() + 2])
        .max()
        .unwrap_or(0)
        + 2;
    let mut out = format!(
        "    ┌─{label}{}┐\n",
        "─".repeat(width - 1 - label.chars().count())
    );
    for l in &lines {
        out.push_str(&format!(
            "    │ {l}{} │\n",
            " ".repeat(width - 2 - l.chars().count())
        ));
    }
    out.push_str(&format!("    └{}┘", "─".repeat(width)));
    out
}
