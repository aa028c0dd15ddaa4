//! The worker thread: the only owner of the database connection.
//!
//! Callers hand it `Command`s over a channel and never wait for it, except in
//! `flush()`/`onBackground()`/`close()`, which wait a bounded time. It applies
//! commands in arrival order (so a thread's events keep their order and an
//! `identify()` affects exactly the events tracked after it) and writes them in
//! group commits: one transaction per burst, committed as soon as the channel
//! is momentarily empty, and at least every `MAX_COMMIT_INTERVAL` while events
//! keep arriving.
//!
//! Never touches the network (the `reach-network` thread asks it for rows
//! and acknowledgements, see `network.rs`). Never panics on bad data: every failure is
//! logged and counted.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::config::{Config, Consent};
use crate::diagnostics::Counters;
use crate::engine::{Device, TriggerEngine};
use crate::event::{EventKind, EventProperties};
use crate::inbox::{FIRST_NAP, MAX_NAP};
use crate::lock::DirectoryLock;
use crate::log::{Level, Logger};
use crate::messages::{consent_to_u8, Command, NetSignal};
use crate::popup::{InFlight, OfferContent, PresenterThread};
use crate::rules::RulePack;
use crate::session::Session;
use crate::store::{self, EventRow, QueueStats, StorageKind, Store};
use crate::value::{self, Properties};
use person::{Identity, META_CONSENT, META_IDENTITY, META_USER_PROPERTIES};

mod campaigns;
mod explain;
mod ids;
mod images;
mod network;
mod notifications;
mod offer;
mod packs;
mod person;
mod preview;
mod segments;
mod timeline;

/// Upper bound on how long events sit in an open transaction while more keep
/// arriving: the durability delay a burst can add. 10 ms is below what a user
/// can do between two taps, so a kill loses at most one burst in flight.
pub const MAX_COMMIT_INTERVAL: Duration = Duration::from_millis(10);

/// How precisely the persisted session remembers its last activity: enough
/// for a 30-minute timeout, coarse enough not to rewrite it on every commit.
const SESSION_ACTIVITY_RESOLUTION_MS: i64 = 1_000;

/// How long a batch may gather before it commits: the interval less what a
/// commit itself takes (~1–2 ms measured), so commit-to-commit stays within
/// MAX_COMMIT_INTERVAL.
const BATCH_WINDOW: Duration = MAX_COMMIT_INTERVAL.saturating_sub(COMMIT_ALLOWANCE);
const COMMIT_ALLOWANCE: Duration = Duration::from_millis(2);

/// Checking the clock on every command would cost more than the insert it
/// guards; every 64 commands is still well under a millisecond of work.
const DEADLINE_CHECK_EVERY: u32 = 64;

/// Approximate bytes a row costs beyond its name and properties (ids, ints,
/// index entry); used for the byte cap, which needs to be roughly right, not exact.
const ROW_OVERHEAD_BYTES: u64 = 48;

/// What the tracker shares with its worker.
pub struct Shared {
    pub counters: Arc<Counters>,
    pub logger: Logger,
    pub clock: Arc<dyn Clock>,
    /// `Consent` as a byte, so `track()` can refuse without asking the worker.
    pub consent: Arc<AtomicU8>,
    pub persistent: Arc<AtomicBool>,
    /// Set once the database is open and the persisted state loaded.
    pub ready: Arc<AtomicBool>,
    /// The worker's own inbox, for the presenter thread to answer on.
    pub inbox: crate::inbox::Inbox,
    /// The network thread, when a server is configured.
    pub network: Option<std::sync::mpsc::Sender<NetSignal>>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SessionRecord {
    id: String,
    started_ms: i64,
    last_activity_ms: i64,
    background_since_ms: Option<i64>,
}

const META_SESSION: &str = "session";

struct Worker {
    store: Store,
    config: Config,
    shared: Shared,
    stats: QueueStats,
    identity: Identity,
    identity_row: i64,
    session: Session,
    session_row: i64,
    context_json: String,
    context_row: i64,
    consent: Consent,
    user_properties: Properties,
    /// Event commands handled in the open transaction (they leave `queued` at commit).
    handled_in_batch: u64,
    /// Events written in the open transaction (lost if it rolls back).
    written_in_batch: u64,
    /// A write in the open transaction failed: its flushes are not answered.
    storage_failed_in_batch: Option<String>,
    stats_at_begin: QueueStats,
    meta_dirty: bool,
    waiters: Vec<SyncSender<()>>,
    engine: TriggerEngine,
    presenter: Option<PresenterThread>,
    in_flight: Option<InFlight>,
    in_flight_dirty: bool,
    /// Last explanations stored by an earlier run, for `explain()` until a
    /// new decision replaces them.
    stored_explanations: rustc_hash::FxHashMap<String, crate::store::StoredExplanation>,
    /// Offers decided in the open transaction, handed to the presenter after
    /// it commits (so an offer is on disk before the host sees it).
    outbox: Vec<OfferContent>,
    /// Prize claims decided in the open transaction, sent after it commits
    /// (so the idempotency key is on disk first).
    claim_outbox: Vec<(String, crate::claim::ClaimRequest)>,
    claims: Option<crate::claim::ClaimThread>,
    /// Claims to release once a claim client is set (after a restart).
    pending_releases: Vec<(String, String)>,
    /// Recent track events, for replay to campaigns of a new pack.
    recent: std::collections::VecDeque<Arc<crate::engine::SeenEvent>>,
    /// When the worker next wakes on its own for due delays held back.
    delays_recheck_at_ms: i64,
    foreground: bool,
    last_prune_ms: i64,
    /// Events were deleted for privacy: truncate the WAL after the commit.
    scrub_after_commit: bool,
    net: network::NetworkLink,
    /// The popup images the network thread has cached (see `images.rs`).
    images: crate::images::ImageIndex,
    /// The local-notification fallback (see `notifications.rs`).
    notifications: notifications::NotificationState,
    /// The server's segments for the current person.
    segments: segments::PersonSegments,
    _lock: Option<DirectoryLock>,
}

fn context_json(config: &Config) -> String {
    let app = &config.app;
    serde_json::json!({
        "app": { "version": app.app_version, "build": app.build },
        "os": { "name": app.platform, "version": app.os_version },
        "locale": app.locale,
        "timezone": app.timezone,
        "library": { "name": "reach", "version": env!("CARGO_PKG_VERSION") },
    })
    .to_string()
}

/// Opens the store and runs the worker on the current thread until `Close`
/// or until every sender is gone.
/// `lock` is the data directory's lock, or why it could not be taken: then
/// another process may own the directory, so the store stays in memory.
pub fn run(
    config: Config,
    shared: Shared,
    lock: Result<DirectoryLock, String>,
    rx: Receiver<Command>,
) {
    let now = shared.clock.now_ms();
    let (store, report) = match &lock {
        Ok(_) => Store::open(&store::database_path(&config.data_dir), now),
        Err(why) => (
            Store::in_memory(),
            store::OpenReport {
                memory_fallback: Some(why.clone()),
                ..Default::default()
            },
        ),
    };
    let problem = match (&report.moved_aside, &report.memory_fallback) {
        (_, Some(why)) => Some(format!(
            "{why}; events are kept in memory only until the app restarts"
        )),
        (Some(aside), None) => Some(format!(
            "the database was corrupt ({}); moved it to {} and started a new one",
            report.damage.as_deref().unwrap_or("corrupt"),
            aside.display()
        )),
        (None, None) => None,
    };
    if let Some(problem) = problem {
        shared.logger.log(Level::Error, &problem);
        shared
            .counters
            .update_storage(|s| s.at_open = Some(problem));
    }
    shared.persistent.store(
        matches!(store.kind(), StorageKind::Disk(_)),
        Ordering::Relaxed,
    );
    let logger = shared.logger.clone();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let mut worker = Worker::load(store, config, shared, lock.ok());
        worker.serve(rx);
    }));
    if outcome.is_err() {
        logger.log(
            Level::Error,
            "the Reach worker stopped after an internal error; events are no longer recorded",
        );
    }
}

impl Worker {
    fn load(store: Store, config: Config, shared: Shared, lock: Option<DirectoryLock>) -> Worker {
        let now = shared.clock.now_ms();
        let meta = |key: &str| store.meta_get(key).ok().flatten();
        let identity = meta(META_IDENTITY)
            .and_then(|j| serde_json::from_str::<Identity>(&j).ok())
            .unwrap_or_else(|| Identity {
                anonymous_id: ids::new(config.id_seed, now, ""),
                user_id: None,
            });
        let consent = meta(META_CONSENT)
            .and_then(|c| Consent::parse(&c))
            .unwrap_or(config.initial_consent);
        shared
            .consent
            .store(consent_to_u8(consent), Ordering::Relaxed);
        let user_properties = meta(META_USER_PROPERTIES)
            .map(|j| value::properties_from_tagged_json(&j))
            .unwrap_or_default();
        let timeout = config.session_timeout.as_millis() as i64;
        let session = meta(META_SESSION)
            .and_then(|j| serde_json::from_str::<SessionRecord>(&j).ok())
            .map(|r| Session {
                id: r.id,
                started_ms: r.started_ms,
                last_activity_ms: r.last_activity_ms,
                background_since_ms: r.background_since_ms,
            })
            .filter(|s| s.continues_at_open(now, timeout))
            .unwrap_or_else(|| Session::start(now));
        let stats = store.queue_stats().unwrap_or_default();
        let context_json = context_json(&config);
        let (device, problems) = Device::from_app(&config.app);
        for p in problems {
            shared.logger.log(Level::Warn, &p);
        }
        let engine = TriggerEngine::new(Arc::new(RulePack::empty()), device);
        let net = network::NetworkLink::new(shared.network.clone());
        let mut worker = Worker {
            store,
            config,
            shared,
            stats,
            identity,
            identity_row: 0,
            session,
            session_row: 0,
            context_json,
            context_row: 0,
            consent,
            user_properties,
            handled_in_batch: 0,
            written_in_batch: 0,
            storage_failed_in_batch: None,
            stats_at_begin: stats,
            meta_dirty: true,
            waiters: Vec::new(),
            engine,
            presenter: None,
            in_flight: None,
            in_flight_dirty: false,
            stored_explanations: Default::default(),
            outbox: Vec::new(),
            claim_outbox: Vec::new(),
            claims: None,
            pending_releases: Vec::new(),
            recent: std::collections::VecDeque::new(),
            delays_recheck_at_ms: i64::MIN,
            foreground: false,
            last_prune_ms: i64::MIN,
            scrub_after_commit: false,
            net,
            images: crate::images::ImageIndex::new(),
            notifications: Default::default(),
            segments: segments::PersonSegments::default(),
            _lock: lock,
        };
        worker.restore_images();
        worker.restore_notifications();
        // In the transaction: restoring an offer in flight may record events.
        worker.begin();
        worker.load_campaign_state();
        worker.restore_segments();
        worker.restore_timeline(now);
        worker.persist_identity();
        worker.persist_consent();
        worker.commit();
        worker.shared.ready.store(true, Ordering::SeqCst);
        worker
    }

    fn serve(&mut self, rx: Receiver<Command>) {
        self.shared.inbox.register_worker();
        let mut last_commit = Instant::now();
        // Until when the worker polls instead of blocking (crate::inbox).
        let mut linger_until = Instant::now();
        loop {
            // Wake for a due offer timer only while an offer is in flight: no
            // timer runs while there is nothing to do.
            let first = match next_command(&rx, self.timer_wait(), linger_until) {
                Next::Command(c) => Some(c),
                Next::Timer => None,
                Next::Disconnected => return,
            };
            self.begin();
            self.observe_clock(self.shared.clock.now_ms());
            if first.is_none() {
                let now = self.shared.clock.now_ms();
                self.check_offer_timers(now);
                self.offer_due_delays(now);
            }
            let Some(first) = first else {
                self.commit();
                last_commit = Instant::now();
                continue;
            };
            // Measured from the previous commit, so that commits are at most
            // MAX_COMMIT_INTERVAL apart while events keep arriving.
            let deadline = last_commit + BATCH_WINDOW;
            let mut next = Some(first);
            let mut handled = 0u32;
            let mut close = None;
            while let Some(cmd) = next.take() {
                let ends_batch = matches!(cmd, Command::Flush(_) | Command::Close(_));
                close = self.handle(cmd);
                handled += 1;
                if ends_batch
                    || (handled.is_multiple_of(DEADLINE_CHECK_EVERY) && Instant::now() >= deadline)
                {
                    break;
                }
                next = rx.try_recv().ok();
            }
            // A delay that came due (or an offer slot that freed up) while
            // the commands ran.
            self.offer_due_delays(self.shared.clock.now_ms());
            self.commit();
            last_commit = Instant::now();
            linger_until = last_commit + crate::inbox::LINGER;
            if let Some(ack) = close {
                // Stop (and wait for) the presenter thread first: after
                // close() returns, Reach never calls into the host again.
                if let Some(p) = self.presenter.take() {
                    if !p.shutdown(self.config.flush_timeout) {
                        // No ack: close() reports that it did not complete.
                        return;
                    }
                    // Apply what the presenter (or a racing caller) sent
                    // meanwhile: a host's last answer must not be lost.
                    self.begin();
                    while let Ok(cmd) = rx.try_recv() {
                        let _ = self.handle(cmd);
                    }
                    self.commit();
                }
                let _ = ack.send(());
                return;
            }
        }
    }

    /// Applies one command; returns the acknowledgement channel of a `Close`.
    fn handle(&mut self, cmd: Command) -> Option<SyncSender<()>> {
        if self.in_flight.is_some() {
            let at = cmd
                .timestamp_ms()
                .unwrap_or_else(|| self.shared.clock.now_ms());
            self.check_offer_timers(at);
        }
        match cmd {
            Command::Event(ev) => {
                self.handled_in_batch += 1;
                self.record(ev.kind, &ev.name, ev.properties, ev.timestamp_ms);
            }
            Command::Identify {
                user_id,
                timestamp_ms,
            } => self.identify(user_id, timestamp_ms),
            Command::SetUserProperties {
                properties,
                timestamp_ms,
            } => {
                for (k, v) in &properties {
                    self.user_properties.insert(k.clone(), v.clone());
                }
                self.persist_user_properties();
                self.record(EventKind::Identify, "identify", properties, timestamp_ms);
            }
            Command::UnsetUserProperties { keys } => {
                for k in &keys {
                    self.user_properties.remove(k);
                }
                self.persist_user_properties();
            }
            Command::Reset { timestamp_ms } => self.reset(timestamp_ms),
            Command::SetConsent(consent) => self.set_consent(consent),
            Command::DeleteLocalData { timestamp_ms } => self.delete_local_data(timestamp_ms),
            Command::Foreground { timestamp_ms } => self.foreground(timestamp_ms),
            Command::SetTimezone(name) => self.set_timezone(name),
            Command::Background { timestamp_ms } => {
                self.foreground = false;
                self.session.touch(timestamp_ms);
                self.session.background_since_ms = Some(timestamp_ms);
                self.meta_dirty = true;
                self.schedule_notifications(timestamp_ms);
            }
            Command::Log(level, message) => self.shared.logger.log(level, &message),
            Command::LoadPack { pack, json } => self.load_pack(pack, &json),
            Command::SetPresenter(p) => self.set_presenter(p),
            Command::SetClaimClient(c) => self.set_claim_client(c),
            Command::ClaimAnswered { offer_id, answer } => self.claim_answered(&offer_id, answer),
            Command::Explain { campaign_id, reply } => {
                let _ = reply.send(self.explain(&campaign_id));
            }
            Command::OfferAnswer { offer_id, answer } => self.offer_answered(&offer_id, answer),
            Command::PopupReport {
                offer_id,
                report,
                timestamp_ms,
            } => self.popup_reported(&offer_id, report, timestamp_ms),
            Command::Flush(ack) => self.waiters.push(ack),
            Command::LimitPages(pages) => {
                let r = self.store.limit_pages(pages);
                self.log_store_error("limit the database size", r);
            }
            Command::Close(ack) => return Some(ack),
            Command::NetworkStart(reply) => self.network_start(reply),
            Command::UploadBatch { max_events, reply } => {
                self.upload_batch_requested(max_events, reply)
            }
            Command::UploadDone {
                first_seq,
                last_seq,
            } => self.upload_done(first_seq, last_seq),
            Command::SegmentsFetched(fetched) => self.segments_fetched(fetched),
            Command::InstallSyncedPack { fetched, reply } => {
                self.install_synced_pack(fetched, reply)
            }
            Command::ImagesCached(index) => self.images_cached(index),
            Command::SetNotificationScheduler(s) => self.set_notification_scheduler(s),
            Command::NotificationTapped {
                notification_id,
                timestamp_ms,
            } => self.notification_tapped(&notification_id, timestamp_ms),
            Command::Preview {
                campaign_id,
                variant,
                timestamp_ms,
            } => self.preview(&campaign_id, variant.as_deref(), timestamp_ms),
        }
        None
    }

    /// Takes the properties by value: a track event's are handed on to the
    /// engine (and its replay buffer) without a copy.
    fn record(&mut self, kind: EventKind, name: &str, props: EventProperties, ts: i64) {
        if self.consent == Consent::Denied {
            self.shared
                .counters
                .count_rejection(&crate::validate::Rejection::ConsentDenied);
            return;
        }
        // The session record is rewritten only when its activity time moved
        // by a second: every commit rewriting it cost a page write per burst.
        if ts - self.session.last_activity_ms >= SESSION_ACTIVITY_RESOLUTION_MS {
            self.meta_dirty = true;
        }
        self.session.touch(ts);
        let json = value::properties_to_json(&props);
        let bytes = json.len() as u64 + name.len() as u64 + ROW_OVERHEAD_BYTES;
        let message_id = *message_id_at(ts).as_bytes();
        let row = EventRow {
            seq: self.stats.next_seq,
            message_id: &message_id,
            kind,
            name,
            timestamp_ms: ts,
            properties_json: json,
            session: self.session_row,
            identity: self.identity_row,
            context: self.context_row,
            bytes,
        };
        // Counted as stored now; a batch that fails to write is taken back.
        self.stats.next_seq += 1;
        self.stats.count += 1;
        self.stats.bytes += bytes;
        self.written_in_batch += 1;
        if let Err(e) = self.store.insert_event(row) {
            self.stats.count = self.stats.count.saturating_sub(e.lost);
            self.stats.bytes = self.stats.bytes.saturating_sub(e.lost_bytes);
            self.written_in_batch = self.written_in_batch.saturating_sub(e.lost);
            self.shared
                .counters
                .dropped_storage_error
                .fetch_add(e.lost, Ordering::Relaxed);
            let why = format!("could not store {} events: {}", e.lost, e.error);
            self.shared.logger.log(Level::Error, &why);
            self.storage_failed_in_batch = Some(why);
        }
        if kind == EventKind::Track {
            self.evaluate(name, props, ts);
        }
    }

    fn foreground(&mut self, ts: i64) {
        let timeout = self.config.session_timeout.as_millis() as i64;
        if !self.session.continues_at_foreground(ts, timeout) {
            self.start_session(ts);
        }
        self.session.background_since_ms = None;
        self.meta_dirty = true;
        self.foreground = true;
        self.notifications_at_foreground(ts);
        self.reoffer_deferred(ts);
        self.offer_due_delays(ts);
        if self.config.record_app_open {
            self.record(EventKind::Track, "app_open", Vec::new(), ts);
        }
    }

    fn start_session(&mut self, ts: i64) {
        self.session = Session::start(ts);
        self.resolve_session_row();
        self.meta_dirty = true;
    }

    fn resolve_session_row(&mut self) {
        match self
            .store
            .session_row(&self.session.id, self.session.started_ms)
        {
            Ok(row) => self.session_row = row,
            Err(e) => self.log_store_error("save the session", Err(e)),
        }
    }

    /// Looks up (inserting if needed) the rows events point at. Runs at every
    /// `begin()` after a rollback, since a rolled-back insert invalidates them.
    fn resolve_rows(&mut self) {
        match self.store.context_id(&self.context_json) {
            Ok(row) => self.context_row = row,
            Err(e) => self.log_store_error("save the event context", Err(e)),
        }
        self.persist_identity();
        self.resolve_session_row();
    }

    fn log_store_error(&self, what: &str, r: store::Result<()>) {
        if let Err(e) = r {
            self.shared
                .logger
                .log(Level::Error, &format!("could not {what}: {e}"));
        }
    }

    fn begin(&mut self) {
        self.stats_at_begin = self.stats;
        self.written_in_batch = 0;
        self.log_store_error("start a transaction", self.store.begin());
        if self.context_row == 0 {
            self.resolve_rows();
        }
    }

    fn commit(&mut self) {
        self.reconcile_notifications(self.shared.clock.now_ms());
        self.enforce_queue_limits();
        self.persist_campaign_state();
        self.persist_timeline();
        if self.meta_dirty {
            let record = SessionRecord {
                id: self.session.id.clone(),
                started_ms: self.session.started_ms,
                last_activity_ms: self.session.last_activity_ms,
                background_since_ms: self.session.background_since_ms,
            };
            if let Ok(json) = serde_json::to_string(&record) {
                let r = self.store.meta_set(META_SESSION, &json);
                self.log_store_error("save the session", r);
            }
            self.meta_dirty = false;
        }
        // Only when they moved: a timer wake-up that changed nothing must
        // not write a page.
        let stats_moved = self.stats != self.stats_at_begin;
        let r = if stats_moved {
            self.store.set_queue_stats(&self.stats)
        } else {
            Ok(())
        }
        .and_then(|()| self.store.commit());
        if let Err(e) = r {
            self.store.rollback();
            self.shared
                .counters
                .dropped_storage_error
                .fetch_add(self.written_in_batch, Ordering::Relaxed);
            let why = format!("could not commit {} events: {e}", self.written_in_batch);
            self.shared.logger.log(Level::Error, &why);
            self.storage_failed_in_batch = Some(why);
            self.stats = self.stats_at_begin;
            self.context_row = 0;
            // Offers decided in the lost transaction are not on disk: showing
            // them could not be told apart from a repeat after a kill.
            if !self.outbox.is_empty() {
                self.outbox.clear();
                self.in_flight = None;
            }
        }
        if std::mem::take(&mut self.scrub_after_commit) {
            match self.store.scrub_wal() {
                Ok(true) => {}
                Ok(false) => self.shared.logger.log(
                    Level::Warn,
                    "deleted events may stay in the write-ahead log until the next checkpoint",
                ),
                Err(e) => self.log_store_error("truncate the write-ahead log", Err(e)),
            }
        }
        self.dispatch_offers();
        self.dispatch_notification_calls();
        self.after_commit_network();
        let c = &self.shared.counters;
        c.queued.fetch_sub(self.handled_in_batch, Ordering::Relaxed);
        c.stored.store(self.stats.count, Ordering::Relaxed);
        c.stored_bytes.store(self.stats.bytes, Ordering::Relaxed);
        self.handled_in_batch = 0;
        match self.storage_failed_in_batch.take() {
            // The status first: a flush's caller reads it next.
            Some(why) => {
                c.update_storage(|s| s.write_error = Some(why));
                // Unanswered: those flushes' events may not be on disk.
                self.waiters.clear();
            }
            None => {
                if c.storage_status().write_error.is_some() {
                    c.update_storage(|s| s.write_error = None);
                    self.shared
                        .logger
                        .log(Level::Info, "storing events again after a write failure");
                }
                for w in self.waiters.drain(..) {
                    let _ = w.send(());
                }
            }
        }
    }

    /// Drops the oldest events when the queue is over its limits.
    fn enforce_queue_limits(&mut self) {
        let limits = self.config.queue;
        let over_count = self.stats.count.saturating_sub(limits.max_events);
        let over_bytes = self.stats.bytes.saturating_sub(limits.max_bytes);
        if over_count == 0 && over_bytes == 0 {
            return;
        }
        match self.store.drop_oldest(over_count, over_bytes) {
            Ok((events, bytes)) => {
                self.stats.count -= events.min(self.stats.count);
                self.stats.bytes -= bytes.min(self.stats.bytes);
                let before = self
                    .shared
                    .counters
                    .dropped_overflow
                    .fetch_add(events, Ordering::Relaxed);
                // Say it on the first drop and then rarely: a full queue must
                // not also flood the log.
                if before == 0 || (before + events) / 10_000 != before / 10_000 {
                    self.shared.logger.log(
                        Level::Warn,
                        &format!(
                            "the event queue is full ({} events, {} bytes allowed): dropped the {events} oldest; {} dropped so far",
                            limits.max_events,
                            limits.max_bytes,
                            before + events
                        ),
                    );
                }
            }
            Err(e) => self.log_store_error("drop the oldest events", Err(e)),
        }
    }
}

/// An event's `messageId`: a UUIDv7 from the event's own timestamp, so ids
/// grow with time. A collector's `messageId` index then takes a batch in a
/// few B-tree leaves instead of one leaf per event: with random ids the
/// reference server wrote ~1 WAL page per event (benches/README.md, upload).
/// Ids stay unique by their 74 random bits; the timestamp they reveal is the
/// event's, which it carries anyway.
fn message_id_at(ts_ms: i64) -> uuid::Uuid {
    let ms = ts_ms.max(0) as u64;
    let at = uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, (ms % 1000) as u32 * 1_000_000);
    uuid::Uuid::new_v7(at)
}

/// What ended a wait for the next command.
enum Next {
    Command(Command),
    /// The timer (`timer_wait`) ran out first.
    Timer,
    /// Every sender is gone.
    Disconnected,
}

/// The next command, waiting at most `timer` (none: as long as it takes).
/// Until `linger_until` the inbox is polled with naps growing from
/// [`FIRST_NAP`] to [`MAX_NAP`], during which a caller's send costs it no
/// wake-up; then the worker blocks (see crate::inbox).
fn next_command(rx: &Receiver<Command>, timer: Option<Duration>, linger_until: Instant) -> Next {
    let timer_at = timer.map(|t| Instant::now() + t);
    let mut nap = FIRST_NAP;
    loop {
        match rx.try_recv() {
            Ok(c) => return Next::Command(c),
            Err(TryRecvError::Disconnected) => return Next::Disconnected,
            Err(TryRecvError::Empty) => {}
        }
        let now = Instant::now();
        if timer_at.is_some_and(|t| now >= t) {
            return Next::Timer;
        }
        if now >= linger_until {
            break;
        }
        let mut this_nap = nap.min(linger_until - now);
        if let Some(t) = timer_at {
            this_nap = this_nap.min(t - now);
        }
        // An `Inbox::send` unparks: a command that waits is seen at once.
        std::thread::park_timeout(this_nap);
        nap = (nap * 2).min(MAX_NAP);
    }
    match timer_at {
        None => match rx.recv() {
            Ok(c) => Next::Command(c),
            Err(_) => Next::Disconnected,
        },
        Some(t) => match rx.recv_timeout(t.saturating_duration_since(Instant::now())) {
            Ok(c) => Next::Command(c),
            Err(RecvTimeoutError::Timeout) => Next::Timer,
            Err(RecvTimeoutError::Disconnected) => Next::Disconnected,
        },
    }
}
