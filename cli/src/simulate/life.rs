//! One life of the simulated app: a child process (`reach simulate-life`)
//! that opens the real `Tracker` on the trace's data directory with a manual
//! clock and a scripted presenter, runs its steps, and writes one JSON record
//! a line to stdout. A `kill` step ends the life with `abort()`: the process
//! dies without closing, as under SIGKILL, and the parent opens the next life
//! on the same directory.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reach::claim::{ClaimAnswer, ClaimClient, ClaimRequest};
use reach::popup::{Answer, OfferContent, Presenter};
use reach::store::database_path;
use reach::{Clock, Config, Consent, ManualClock, Tracker, Value};
use serde_json::{json, Map, Value as Json};

use super::network::LifeServer;
use super::trace::{Step, StepKind};

/// How long a life waits for the worker to apply what it was given; far above
/// what it takes (milliseconds), only a guard against a hang.
const WORKER_WAIT: Duration = Duration::from_secs(20);

/// What the parent hands a life on stdin.
pub struct Plan {
    pub data_dir: String,
    pub timezone: String,
    pub start_ms: i64,
    pub trace_start_ms: i64,
    pub app_version: String,
    /// Seeds the anonymous ids (`Config::id_seed`).
    pub seed: u64,
    /// The pack to load first (only in the first life: later lives restore it).
    pub load_first: Option<String>,
    /// The pack active at the end, whose campaigns `explain()` covers.
    pub final_pack: Option<String>,
    pub steps: Vec<Step>,
    pub ends_in_kill: bool,
    /// Campaigns offered in earlier lives (no explanation for them at the end).
    pub offered_before: Vec<String>,
    /// The server the app talks to (the demo); `None`: no network at all.
    pub server: Option<LifeServer>,
}

struct ScriptedPresenter {
    answer: Mutex<Answer>,
    offers: Mutex<Sender<OfferContent>>,
}

impl Presenter for ScriptedPresenter {
    fn offer(&self, content: &OfferContent) -> Result<Answer, String> {
        if let Ok(sender) = self.offers.lock() {
            let _ = sender.send(content.clone());
        }
        Ok(self.answer.lock().map(|a| *a).unwrap_or(Answer::ShowNow))
    }
}

/// The prize server, as the trace scripts it: answers `granted` until a
/// `claim` step says otherwise, and tells the life of every claim and
/// release it sees.
struct ScriptedClaims {
    answer: Mutex<String>,
    granted: std::sync::atomic::AtomicU64,
    seen: Mutex<Sender<Json>>,
}

impl ScriptedClaims {
    fn tell(&self, record: Json) {
        if let Ok(sender) = self.seen.lock() {
            let _ = sender.send(record);
        }
    }
}

impl ClaimClient for ScriptedClaims {
    fn claim(&self, request: &ClaimRequest) -> ClaimAnswer {
        let answer = self
            .answer
            .lock()
            .map(|a| a.clone())
            .unwrap_or_else(|_| "granted".into());
        self.tell(
            json!({"what": "prize claim", "campaign": request.campaign_id, "answer": answer}),
        );
        match answer.as_str() {
            "exhausted" => ClaimAnswer::Exhausted,
            "unavailable" => {
                ClaimAnswer::Unavailable("the trace says the prize server does not answer".into())
            }
            _ => {
                let n = self.granted.fetch_add(1, Ordering::SeqCst) + 1;
                ClaimAnswer::Granted {
                    claim_id: format!("sim-claim-{n}"),
                }
            }
        }
    }

    fn release(&self, campaign_id: &str, _idempotency_key: &str) -> Result<(), String> {
        self.tell(json!({"what": "prize released", "campaign": campaign_id}));
        Ok(())
    }
}

/// A durable delay as stored: (campaign, due, expires).
type StoredDelay = (String, i64, i64);

struct Life {
    tracker: Tracker,
    clock: Arc<ManualClock>,
    presenter: Arc<ScriptedPresenter>,
    offers: Receiver<OfferContent>,
    claims: Arc<ScriptedClaims>,
    claim_records: Receiver<Json>,
    /// The device's zone now (a `timezone` step moves it).
    zone: String,
    /// The durable delays stored at the last settle.
    delays: Vec<StoredDelay>,
    offered_count: u64,
    last_offer: Option<OfferContent>,
    last_seq: i64,
    db: std::path::PathBuf,
    trace_start_ms: i64,
    out: std::io::Stdout,
    offered: BTreeSet<String>,
    offline: Arc<AtomicBool>,
    has_server: bool,
    /// Whether a pack synced from the server is active (stored from an
    /// earlier life, or synced at this life's first foreground).
    pack_synced: bool,
}

fn props(map: &Map<String, Json>) -> Vec<(String, Value)> {
    map.iter()
        .filter_map(|(k, v)| Value::from_json(v).map(|v| (k.clone(), v)))
        .collect()
}

pub fn run(plan: Plan) -> Result<(), String> {
    let (tx, offers) = mpsc::channel();
    let presenter = Arc::new(ScriptedPresenter {
        answer: Mutex::new(Answer::ShowNow),
        offers: Mutex::new(tx),
    });
    let clock = Arc::new(ManualClock::new(plan.start_ms));
    let mut config = Config::new(&plan.data_dir);
    config.app.app_version = plan.app_version.clone();
    config.id_seed = Some(plan.seed);
    config.app.platform = "android".into();
    config.app.locale = "en".into();
    config.app.timezone = plan.timezone.clone();
    config.flush_timeout = WORKER_WAIT;
    let offline = Arc::new(AtomicBool::new(false));
    config.server = plan.server.as_ref().map(|s| s.config(offline.clone()));
    let tracker = Tracker::open(config, clock.clone() as Arc<dyn Clock>, None)
        .map_err(|e| format!("cannot open the simulated app: {e}"))?;
    tracker
        .set_presenter(Some(presenter.clone() as Arc<dyn Presenter>))
        .map_err(|e| e.to_string())?;
    let (seen, claim_records) = mpsc::channel();
    let claims = Arc::new(ScriptedClaims {
        answer: Mutex::new("granted".into()),
        granted: Default::default(),
        seen: Mutex::new(seen),
    });
    tracker
        .set_claim_client(Some(claims.clone() as Arc<dyn ClaimClient>))
        .map_err(|e| e.to_string())?;
    let db = database_path(std::path::Path::new(&plan.data_dir));
    let mut life = Life {
        tracker,
        clock,
        presenter,
        offers,
        claims,
        claim_records,
        zone: plan.timezone.clone(),
        delays: Vec::new(),
        offered_count: 0,
        last_offer: None,
        last_seq: 0,
        db,
        trace_start_ms: plan.trace_start_ms,
        out: std::io::stdout(),
        offered: plan.offered_before.iter().cloned().collect(),
        offline,
        has_server: plan.server.is_some(),
        pack_synced: false,
    };
    life.pack_synced = life.tracker.diagnostics().pack_revision.is_some();
    life.last_seq = life.stored_after(0).0;
    // Delays an earlier life stored: they survived the kill or the update.
    life.delays = life.stored_delays();
    for (campaign, due, expires) in life.delays.clone() {
        let record = life.delay_record("delay kept", &campaign, due, expires);
        life.emit(0, record);
    }
    if let Some(pack) = &plan.load_first {
        life.load_pack(0, pack)?;
    }
    for step in &plan.steps {
        life.step(step)?;
    }
    if plan.ends_in_kill {
        life.emit(0, json!({"what": "killed"}));
        let _ = life.out.flush();
        std::process::abort();
    }
    if let Some(pack) = &plan.final_pack {
        let text = std::fs::read_to_string(pack).map_err(|e| format!("cannot read {pack}: {e}"))?;
        let pack = reach::rules::RulePack::parse(&text).map_err(|e| e.to_string())?;
        for c in pack.campaigns() {
            if life.offered.contains(&c.id) {
                continue;
            }
            let e = life.tracker.explain(&c.id).map_err(|e| e.to_string())?;
            life.emit(
                0,
                json!({"what": "explain", "campaign": c.id, "outcome": e.outcome, "reasons": e.reasons}),
            );
        }
    }
    life.tracker.close();
    Ok(())
}

impl Life {
    fn emit(&mut self, line: usize, mut record: Json) {
        let now = self.clock.now_ms();
        record["at_ms"] = json!(now - self.trace_start_ms);
        record["local"] = json!(local_time(now, self.trace_start_ms, &self.zone));
        record["line"] = json!(line);
        let _ = writeln!(self.out, "{record}");
    }

    fn load_pack(&mut self, line: usize, path: &str) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        match self.tracker.load_rule_pack(&text) {
            Ok(()) => self.emit(
                line,
                json!({"what": "pack loaded", "pack": file_name(path)}),
            ),
            Err(e) => return Err(format!("line {line}: pack {path} refused: {e}")),
        }
        self.settle(line)
    }

    fn step(&mut self, step: &Step) -> Result<(), String> {
        let t = &self.tracker;
        let line = step.line;
        let result = match &step.kind {
            StepKind::Track { name, properties } => t.track(name.clone(), props(properties)),
            StepKind::Screen { name, properties } => t.screen(name.clone(), props(properties)),
            StepKind::Identify(id) => t.identify(id.clone()),
            StepKind::Reset => t.reset(),
            StepKind::SetUserProperties(p) => t.set_user_properties(props(p)),
            StepKind::Consent(c) => t.set_consent(match c.as_str() {
                "granted" => Consent::Granted,
                "pending" => Consent::Pending,
                _ => Consent::Denied,
            }),
            StepKind::Foreground => {
                t.on_foreground().map_err(|e| format!("line {line}: {e}"))?;
                self.wait_for_pack(line)?;
                Ok(())
            }
            StepKind::Network(online) => {
                if !online {
                    // Online until now: let the SDK send what it holds, so
                    // what waits afterwards is what was recorded offline
                    // (and not whether a background upload won the race).
                    self.settle(line)?;
                    self.tracker.upload_now(WORKER_WAIT);
                }
                self.offline.store(!online, Ordering::SeqCst);
                let what = if *online {
                    "network online"
                } else {
                    "network offline"
                };
                self.emit(line, json!({ "what": what }));
                Ok(())
            }
            StepKind::Upload => return self.upload(line),
            StepKind::Background => {
                // Read what is stored first: going to the background uploads
                // (and so deletes) the stored events.
                self.settle(line)?;
                self.tracker.on_background();
                Ok(())
            }
            StepKind::Kill => Ok(()),
            StepKind::AppVersion(v) => {
                self.emit(line, json!({"what": "app updated", "version": v}));
                Ok(())
            }
            StepKind::Timezone(zone) => {
                let sent = t.set_timezone(zone.clone());
                self.zone = zone.clone();
                self.emit(line, json!({"what": "timezone", "timezone": zone}));
                sent
            }
            StepKind::Explain(id) => {
                self.settle(line)?;
                let e = self
                    .tracker
                    .explain(id)
                    .map_err(|e| format!("line {line}: {e}"))?;
                self.emit(
                    line,
                    json!({"what": "explain", "campaign": id, "outcome": e.outcome, "reasons": e.reasons}),
                );
                return Ok(());
            }
            StepKind::Preview { campaign, variant } => t.preview(campaign.clone(), variant.clone()),
            StepKind::Claim(answer) => {
                if let Ok(mut slot) = self.claims.answer.lock() {
                    *slot = answer.clone();
                }
                Ok(())
            }
            StepKind::Advance(ms) | StepKind::ClockJump(ms) => {
                // The worker reads the clock at the flush in `settle`: a
                // delay that is due by then is offered (in the foreground).
                self.clock.set_ms(self.clock.now_ms() + ms);
                Ok(())
            }
            StepKind::LoadPack(path) => return self.load_pack(line, path),
            StepKind::Shown | StepKind::Clicked(_) | StepKind::Dismissed => {
                let Some(offer) = self.last_offer.clone() else {
                    return Err(format!("line {line}: no popup was offered to answer"));
                };
                match &step.kind {
                    StepKind::Shown => t.popup_shown(offer.offer_id),
                    StepKind::Clicked(b) => t.popup_clicked(offer.offer_id, b.clone()),
                    _ => t.popup_dismissed(offer.offer_id),
                }
            }
            StepKind::NextAnswer(a) => {
                let answer = match a.as_str() {
                    "later" => Answer::Later { delay_ms: None },
                    "discard" => Answer::Discard,
                    _ => Answer::ShowNow,
                };
                if let Ok(mut slot) = self.presenter.answer.lock() {
                    *slot = answer;
                }
                Ok(())
            }
        };
        result.map_err(|e| format!("line {line}: {e}"))?;
        self.settle(line)
    }

    /// With a server, the first foreground syncs its pack: waits for it, so
    /// the steps after run on the server's campaigns.
    fn wait_for_pack(&mut self, line: usize) -> Result<(), String> {
        if !self.has_server || self.pack_synced {
            return Ok(());
        }
        let deadline = std::time::Instant::now() + WORKER_WAIT;
        loop {
            let d = self.tracker.diagnostics();
            if let Some(revision) = d.pack_revision {
                self.pack_synced = true;
                self.emit(line, json!({"what": "pack synced", "revision": revision}));
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                let why = d.last_sync_error.unwrap_or_else(|| "no answer".into());
                return Err(format!("line {line}: the pack did not sync: {why}"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Settles first, so the upload carries everything stored so far.
    fn upload(&mut self, line: usize) -> Result<(), String> {
        if !self.has_server {
            return Err(format!(
                "line {line}: \"upload\" needs a server (reach demo)"
            ));
        }
        self.settle(line)?;
        let report = self.tracker.upload_now(WORKER_WAIT);
        let stop = match report.stop {
            reach::tracker::UploadStop::Drained => "all sent",
            reach::tracker::UploadStop::Failed => "failed",
            reach::tracker::UploadStop::TimedOut => "timed out",
            reach::tracker::UploadStop::ConsentNotGranted => "consent not granted",
            reach::tracker::UploadStop::NoServer => "no server",
            reach::tracker::UploadStop::Closed => "closed",
        };
        self.emit(
            line,
            json!({
                "what": "upload",
                "result": stop,
                "acknowledged": report.acknowledged,
                "waiting": report.remaining,
                "detail": report.detail,
            }),
        );
        Ok(())
    }

    /// Waits until the worker has applied everything, then reports the offer
    /// (if any) and the reserved events it stored.
    fn settle(&mut self, line: usize) -> Result<(), String> {
        // A query passes through the worker's command handling, which checks
        // the offer timers at the clock's time; a bare flush may not, and the
        // worker's own timer would then race this read.
        let _ = self.tracker.explain("");
        if !self.tracker.flush_within(WORKER_WAIT) {
            return Err(format!("line {line}: the worker did not finish in time"));
        }
        // A prize claim runs on the SDK's claims thread: wait for its answer
        // to reach the worker before looking for the offer it may lead to.
        let deadline = std::time::Instant::now() + WORKER_WAIT;
        loop {
            let d = self.tracker.diagnostics();
            if d.claims_answered >= d.claims_requested {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err(format!("line {line}: the prize claim was never answered"));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        self.tracker.flush_within(WORKER_WAIT);
        // Claims before the offer they lead to; releases after it (a
        // discarded offer may be released before this settle looks).
        let mut releases = Vec::new();
        // The SDK releases the key of a claim that got no answer (the server
        // may have granted it); wait for those releases, they come.
        let mut owed = 0;
        while let Ok(record) = self.claim_records.try_recv() {
            if record["what"] == "prize released" {
                releases.push(record);
            } else {
                if record["answer"] == "unavailable" {
                    owed += 1;
                }
                self.emit(line, record);
            }
        }
        self.report_delays(line);
        let offered = self.tracker.diagnostics().popups_offered;
        if offered > self.offered_count {
            self.offered_count = offered;
            let offer = self
                .offers
                .recv_timeout(WORKER_WAIT)
                .map_err(|_| format!("line {line}: the presenter was never called"))?;
            let deadline = std::time::Instant::now() + WORKER_WAIT;
            while self.tracker.diagnostics().popups_answered < offered {
                if std::time::Instant::now() > deadline {
                    return Err(format!("line {line}: the answer never reached the worker"));
                }
                std::thread::sleep(Duration::from_millis(1));
                self.tracker.flush_within(WORKER_WAIT);
            }
            self.tracker.flush_within(WORKER_WAIT);
            let answer = self
                .presenter
                .answer
                .lock()
                .map(|a| *a)
                .unwrap_or(Answer::ShowNow);
            let discarded = matches!(answer, Answer::Discard);
            self.offered.insert(offer.campaign_id.clone());
            self.emit(
                line,
                json!({
                    "what": "popup offered",
                    "campaign": offer.campaign_id,
                    "variant": offer.variant,
                    "template": offer.template.name(),
                    "title": offer.title,
                    "body": offer.body,
                    "buttons": offer.buttons.iter().map(|b| b.id.clone()).collect::<Vec<_>>(),
                    "button_texts": offer.buttons.iter().map(|b| b.text.clone()).collect::<Vec<_>>(),
                    "test": offer.test,
                    "answer": match answer {
                        Answer::ShowNow => "show",
                        Answer::Later { .. } => "later",
                        Answer::Discard => "discard",
                    },
                }),
            );
            let claimed = self.claims_granted_for(&offer.campaign_id);
            self.last_offer = Some(offer);
            if discarded && claimed {
                // The SDK gives the prize back on its claims thread.
                owed += 1;
            }
        }
        while releases.len() < owed {
            match self.claim_records.recv_timeout(WORKER_WAIT) {
                Ok(record) if record["what"] == "prize released" => releases.push(record),
                Ok(record) => self.emit(line, record),
                Err(_) => return Err(format!("line {line}: the prize was never released")),
            }
        }
        for record in releases {
            self.emit(line, record);
        }

        let (last, reserved) = self.stored_after(self.last_seq);
        self.last_seq = last;
        for (name, properties) in reserved {
            let mut record = json!({"what": name});
            for key in [
                "campaign_id",
                "variant",
                "button_id",
                "goal_event",
                "test",
                "preview",
            ] {
                if let Some(v) = properties.get(key) {
                    record[key] = v.clone();
                }
            }
            // A conversion carries its goal event's properties (the amount).
            if name == "reach.conversion" {
                if let Json::Object(all) = &properties {
                    let rest: Map<String, Json> = all
                        .iter()
                        .filter(|(k, _)| {
                            ![
                                "campaign_id",
                                "variant",
                                "goal_event",
                                "offer_id",
                                "test",
                                "preview",
                            ]
                            .contains(&k.as_str())
                        })
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    if !rest.is_empty() {
                        record["properties"] = Json::Object(rest);
                    }
                }
            }
            self.emit(line, record);
        }
        Ok(())
    }

    /// Whether the campaign's last claim was granted (it holds a prize).
    fn claims_granted_for(&self, _campaign: &str) -> bool {
        self.claims
            .answer
            .lock()
            .is_ok_and(|a| a.as_str() == "granted")
            && self.claims.granted.load(Ordering::SeqCst) > 0
    }

    /// Reports how the durable delays changed since the last settle: new
    /// ones scheduled; gone ones due (offered), expired or cancelled.
    fn report_delays(&mut self, line: usize) {
        let now = self.clock.now_ms();
        let current = self.stored_delays();
        for (campaign, due, expires) in &current {
            if !self
                .delays
                .iter()
                .any(|(c, d, _)| c == campaign && d == due)
            {
                let record = self.delay_record("delay scheduled", campaign, *due, *expires);
                self.emit(line, record);
            }
        }
        for (campaign, due, expires) in std::mem::take(&mut self.delays) {
            if current.iter().any(|(c, d, _)| *c == campaign && *d == due) {
                continue;
            }
            let what = if now >= expires {
                "delay expired"
            } else if now >= due {
                "delay due"
            } else {
                "delay cancelled"
            };
            self.emit(line, json!({"what": what, "campaign": campaign}));
        }
        self.delays = current;
    }

    fn delay_record(&self, what: &str, campaign: &str, due_ms: i64, expires_ms: i64) -> Json {
        let local = |ms| local_time(ms, self.trace_start_ms, &self.zone);
        json!({"what": what, "campaign": campaign,
            "due_ms": due_ms - self.trace_start_ms, "expires_ms": expires_ms - self.trace_start_ms,
            "due_local": local(due_ms), "expires_local": local(expires_ms)})
    }

    /// The durable delays on disk, read as `stored_after` reads events.
    fn stored_delays(&self) -> Vec<StoredDelay> {
        let read = || -> rusqlite::Result<Vec<StoredDelay>> {
            let conn = rusqlite::Connection::open_with_flags(
                &self.db,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )?;
            let mut stmt = conn.prepare(
                "SELECT campaign_id, due_ms, expires_ms FROM pending_delays ORDER BY due_ms, campaign_id",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect()
        };
        read().unwrap_or_default()
    }

    /// The last stored seq, and the reserved (`reach.*`) events stored after
    /// `seq`: exposures, reports, conversions. Read on a read-only
    /// connection of its own: a second `Store` in this process (with its
    /// checkpoint thread) was seen to lose the worker's last commit at a kill.
    fn stored_after(&self, seq: i64) -> (i64, Vec<(String, Json)>) {
        let read = || -> rusqlite::Result<(i64, Vec<(String, Json)>)> {
            let conn = rusqlite::Connection::open_with_flags(
                &self.db,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )?;
            let mut stmt =
                conn.prepare("SELECT seq, name, props FROM events WHERE seq > ?1 ORDER BY seq")?;
            let rows = stmt.query_map([seq], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            let mut last = seq;
            let mut reserved = Vec::new();
            for row in rows {
                let (s, name, props) = row?;
                last = s;
                if name.starts_with(reach::rules::RESERVED_EVENT_PREFIX) {
                    reserved.push((name, serde_json::from_str(&props).unwrap_or(Json::Null)));
                }
            }
            Ok((last, reserved))
        };
        read().unwrap_or((seq, Vec::new()))
    }
}

/// `d1 07:59:00`: the scenarios' way to write a moment (docs/operators.md):
/// the device's local time, on day N of the trace counted in local
/// calendar days from its first.
pub fn local_time(now_ms: i64, start_ms: i64, zone: &str) -> String {
    let at = |ms: i64| {
        let zone = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
        jiff::Timestamp::from_millisecond(ms)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_zoned_datetime(zone)
    };
    let (now, start) = (at(now_ms), at(start_ms));
    let day = start
        .date()
        .until(now.date())
        .map_or(0, |span| i64::from(span.get_days()));
    format!("d{day} {}", now.time().strftime("%H:%M:%S"))
}

fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}
