//! `Tracker`: the Rust API behind the facade. Everything here runs on the
//! caller's thread, so everything here is cheap: validate, stamp the time,
//! hand the event to the worker. No disk, no network, no waiting, except the
//! bounded waits of `flush()`, `on_background()` and `close()`.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::clock::Clock;
use crate::config::{Config, Consent};
use crate::diagnostics::{Counters, Diagnostics};
use crate::error::Error;
use crate::event::{EventKind, EventProperties, PendingEvent};
use crate::inbox::Inbox;
use crate::lock::{DirectoryLock, LockError};
use crate::log::{Level, LogSink, Logger};
use crate::messages::{self, Command, NetSignal};
use crate::network::{self, NetworkShared};
use crate::popup::{Presenter, Report};
use crate::rules::{Acceptance, RulePack};
use crate::upload::DrainOutcome;
use crate::validate::{self, Rejection};
use crate::worker::{self, Shared};

/// A call a binding queued on its caller's thread and hands over later, in
/// a batch with others (`Tracker::apply_calls`): one FFI crossing per few
/// milliseconds instead of one per call, which is what a JNA call costs.
/// Each call carries the time it was made, so its event is stamped as if
/// it had been made directly.
#[derive(Debug, Clone, PartialEq)]
pub enum QueuedCall {
    Track {
        name: String,
        properties: EventProperties,
        timestamp_ms: i64,
    },
    Screen {
        name: String,
        properties: EventProperties,
        timestamp_ms: i64,
    },
    Identify {
        user_id: String,
        timestamp_ms: i64,
    },
    SetUserProperties {
        properties: EventProperties,
        timestamp_ms: i64,
    },
    UnsetUserProperties {
        keys: Vec<String>,
    },
    Reset {
        timestamp_ms: i64,
    },
    SetConsent(Consent),
    Foreground {
        timestamp_ms: i64,
    },
    /// Notes when the app left the foreground and tells the network thread;
    /// unlike `on_background()` it does not wait for a flush.
    Background {
        timestamp_ms: i64,
    },
}

/// The times a queued call may carry: from 1970 to the end of year 9999
/// (the last time RFC 3339 writes). A wrapper stamps its calls with the
/// device's clock, so a time outside is a broken caller; such a call takes
/// the current time instead. That keeps every difference the worker and the
/// engine compute between two times far from `i64` overflow (a fuzzed
/// `i64::MIN` made the worker's session arithmetic overflow).
pub const CALL_TIME_RANGE_MS: std::ops::RangeInclusive<i64> = 0..=253_402_300_799_999;

impl QueuedCall {
    /// The call with its timestamp replaced by `now()` when it lies outside
    /// `range`.
    fn with_timestamp_in(
        mut self,
        range: std::ops::RangeInclusive<i64>,
        now: impl Fn() -> i64,
    ) -> QueuedCall {
        match &mut self {
            QueuedCall::Track { timestamp_ms, .. }
            | QueuedCall::Screen { timestamp_ms, .. }
            | QueuedCall::Identify { timestamp_ms, .. }
            | QueuedCall::SetUserProperties { timestamp_ms, .. }
            | QueuedCall::Reset { timestamp_ms }
            | QueuedCall::Foreground { timestamp_ms }
            | QueuedCall::Background { timestamp_ms } => {
                if !range.contains(timestamp_ms) {
                    *timestamp_ms = now();
                }
            }
            QueuedCall::UnsetUserProperties { .. } | QueuedCall::SetConsent(_) => {}
        }
        self
    }
}

/// How `Tracker::upload_now` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadStop {
    /// Everything stored was acknowledged (or refused for good).
    Drained,
    /// A request failed; the events stay and the usual backoff resumes.
    Failed,
    /// The time given ran out first; the upload goes on in the background.
    TimedOut,
    /// Consent is not granted: nothing may be sent.
    ConsentNotGranted,
    /// No server is configured.
    NoServer,
    /// Reach is closed.
    Closed,
}

/// What `Tracker::upload_now` achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadReport {
    /// Events the server acknowledged during the call.
    pub acknowledged: u64,
    /// Events still stored when the call returned.
    pub remaining: u64,
    pub stop: UploadStop,
    /// The last upload error, when the upload failed.
    pub detail: Option<String>,
}

pub struct Tracker {
    sender: Inbox,
    counters: Arc<Counters>,
    consent: Arc<AtomicU8>,
    persistent: Arc<AtomicBool>,
    ready: Arc<AtomicBool>,
    closed: AtomicBool,
    clock: Arc<dyn Clock>,
    logger: Logger,
    config: Config,
    worker: Mutex<Option<JoinHandle<()>>>,
    /// The `reach-network` thread's signal channel, when a server is configured.
    network: Option<Sender<NetSignal>>,
}

impl Tracker {
    /// Opens Reach on `config.data_dir`. Takes the directory lock and starts
    /// the worker, which opens the database on its own thread: the caller
    /// never waits for disk here. Events tracked before the worker is ready
    /// wait in the queue; none is lost.
    pub fn open(
        config: Config,
        clock: Arc<dyn Clock>,
        sink: Option<Arc<dyn LogSink>>,
    ) -> Result<Tracker, Error> {
        let lock = match Self::lock_data_dir(&config) {
            Ok(lock) => Ok(lock),
            Err(Error::AlreadyOpen(dir)) => return Err(Error::AlreadyOpen(dir)),
            // A read-only or unwritable directory must not stop the app:
            // without the lock the worker keeps events in memory and says why.
            Err(e) if !config.strict => Err(e.to_string()),
            Err(e) => return Err(e),
        };
        let logger = Logger::new(sink);
        let counters = Arc::new(Counters::default());
        // Unknown until the worker has read the persisted choice, which wins
        // over `initial_consent`; until then the worker decides per event.
        let consent = Arc::new(AtomicU8::new(messages::CONSENT_UNKNOWN));
        let persistent = Arc::new(AtomicBool::new(true));
        let ready = Arc::new(AtomicBool::new(false));
        let (sender, receiver) = mpsc::channel();
        let sender = Inbox::new(sender);
        let (net_sender, net_receiver) = match config.server {
            Some(_) => {
                let (s, r) = mpsc::channel();
                (Some(s), Some(r))
            }
            None => (None, None),
        };
        let shared = Shared {
            counters: counters.clone(),
            logger: logger.clone(),
            clock: clock.clone(),
            consent: consent.clone(),
            persistent: persistent.clone(),
            ready: ready.clone(),
            inbox: sender.clone(),
            network: net_sender.clone(),
        };
        let worker_config = config.clone();
        let handle = std::thread::Builder::new()
            .name("reach-worker".into())
            .spawn(move || worker::run(worker_config, shared, lock, receiver))
            .map_err(|source| Error::Io {
                what: "cannot start the Reach worker thread".into(),
                source,
            })?;
        if let Some(server) = &config.server {
            // Prize campaigns claim from the same server; a host's own
            // client (`set_claim_client`) replaces this one.
            let _ = sender.send(Command::SetClaimClient(Some(
                crate::claim_http::http_claim_client(server),
            )));
        }
        if let (Some(server), Some(signals)) = (config.server.clone(), net_receiver) {
            let net_shared = NetworkShared {
                counters: counters.clone(),
                clock: clock.clone(),
                consent: consent.clone(),
                inbox: sender.clone(),
                app_url_schemes: config.app_url_schemes.clone(),
                data_dir: config.data_dir.clone(),
                images_without_consent: config.images_without_consent,
            };
            if let Err(e) = network::spawn(server, net_shared, signals) {
                // Events are still recorded; they wait for the next start.
                let _ = sender.send(Command::Log(
                    Level::Error,
                    format!("cannot start the network thread, nothing is uploaded: {e}"),
                ));
            }
        }
        Ok(Tracker {
            sender,
            counters,
            consent,
            persistent,
            ready,
            closed: AtomicBool::new(false),
            clock,
            logger,
            config,
            worker: Mutex::new(Some(handle)),
            network: net_sender,
        })
    }

    fn lock_data_dir(config: &Config) -> Result<DirectoryLock, Error> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| Error::Io {
            what: format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            ),
            source,
        })?;
        DirectoryLock::acquire(&config.data_dir).map_err(|e| match e {
            LockError::Held(dir) => Error::AlreadyOpen(dir),
            LockError::Io(path, source) => Error::Io {
                what: format!("cannot lock {}", path.display()),
                source,
            },
        })
    }

    /// Test hook, not API: caps the database at `pages` pages (SQLite's
    /// `max_page_count`), so a test can fill the disk of its own temporary
    /// directory. Pass a large number to free the space again.
    #[doc(hidden)]
    pub fn limit_database_pages(&self, pages: u64) -> Result<(), Error> {
        self.send(Command::LimitPages(pages))
    }

    /// Records an event. Never blocks on disk; bad input is refused with a
    /// reason (logged and counted, or returned in strict mode).
    pub fn track(&self, name: String, properties: EventProperties) -> Result<(), Error> {
        self.record(EventKind::Track, name, properties, self.clock.now_ms())
    }

    /// Records a screen view.
    pub fn screen(&self, name: String, properties: EventProperties) -> Result<(), Error> {
        self.record(EventKind::Screen, name, properties, self.clock.now_ms())
    }

    /// Applies calls a wrapper queued on the caller's thread (see
    /// [`QueuedCall`]), in order, each as its direct call but at its own
    /// timestamp. Refusals are logged and counted, never returned: the
    /// caller has long gone (strict-mode wrappers call directly instead).
    pub fn apply_calls(&self, calls: Vec<QueuedCall>) {
        let now = || self.clock.now_ms();
        for call in calls {
            let call = call.with_timestamp_in(CALL_TIME_RANGE_MS, now);
            let _ = match call {
                QueuedCall::Track {
                    name,
                    properties,
                    timestamp_ms,
                } => self.record(EventKind::Track, name, properties, timestamp_ms),
                QueuedCall::Screen {
                    name,
                    properties,
                    timestamp_ms,
                } => self.record(EventKind::Screen, name, properties, timestamp_ms),
                QueuedCall::Identify {
                    user_id,
                    timestamp_ms,
                } => self.identify_at(user_id, timestamp_ms),
                QueuedCall::SetUserProperties {
                    properties,
                    timestamp_ms,
                } => self.set_user_properties_at(properties, timestamp_ms),
                QueuedCall::UnsetUserProperties { keys } => self.unset_user_properties(keys),
                QueuedCall::Reset { timestamp_ms } => self.send(Command::Reset { timestamp_ms }),
                QueuedCall::SetConsent(consent) => self.set_consent(consent),
                QueuedCall::Foreground { timestamp_ms } => self.foreground_at(timestamp_ms),
                QueuedCall::Background { timestamp_ms } => {
                    let sent = self.send(Command::Background { timestamp_ms });
                    self.signal_network(NetSignal::Background);
                    sent
                }
            };
        }
    }

    fn record(
        &self,
        kind: EventKind,
        name: String,
        properties: EventProperties,
        timestamp_ms: i64,
    ) -> Result<(), Error> {
        if let Err(r) = self.check(&name, &properties) {
            return self.refuse(kind, &name, r);
        }
        if messages::consent_from_u8(self.consent.load(Ordering::Relaxed)) == Some(Consent::Denied)
        {
            return self.refuse(kind, &name, Rejection::ConsentDenied);
        }
        // The worker is this far behind: the store could not keep more
        // anyway, and memory must not grow without bound.
        if self.counters.queued.load(Ordering::Relaxed) >= self.config.queue.max_events {
            let before = self
                .counters
                .dropped_overflow
                .fetch_add(1, Ordering::Relaxed);
            if before.is_multiple_of(10_000) {
                self.send_log(
                    Level::Warn,
                    format!("the event queue is full: dropped \"{name}\""),
                );
            }
            return Ok(());
        }
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        let event = PendingEvent {
            kind,
            name,
            properties,
            timestamp_ms,
        };
        if self.closed.load(Ordering::Relaxed)
            || self.sender.send_hot(Command::Event(event)).is_err()
        {
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
            self.counters.count_rejection(&Rejection::Closed);
            return if self.config.strict {
                Err(Error::Closed)
            } else {
                Ok(())
            };
        }
        Ok(())
    }

    fn check(&self, name: &str, properties: &EventProperties) -> Result<(), Rejection> {
        validate::check_name(name)?;
        validate::check_properties(properties.iter().map(|(k, v)| (k, v)))?;
        // Duplicate keys can only come from the Rust API (maps cannot hold
        // them); a quadratic scan is cheapest for the usual handful.
        if properties.len() > 1 {
            for (i, (k, _)) in properties.iter().enumerate() {
                if properties[..i].iter().any(|(other, _)| other == k) {
                    return Err(Rejection::DuplicateProperty { key: k.clone() });
                }
            }
        }
        Ok(())
    }

    fn refuse(&self, kind: EventKind, name: &str, r: Rejection) -> Result<(), Error> {
        self.counters.count_rejection(&r);
        if !matches!(r, Rejection::Closed) {
            self.send_log(
                Level::Warn,
                format!("{}(\"{name}\") refused: {r}", kind.as_str()),
            );
        }
        if self.config.strict {
            Err(Error::Rejected(r))
        } else {
            Ok(())
        }
    }

    fn send_log(&self, level: Level, message: String) {
        let _ = self.sender.send(Command::Log(level, message));
    }

    /// Hands a command to the worker. After `close()` the call is refused
    /// like bad input: counted, and an error only in strict mode.
    fn send(&self, cmd: Command) -> Result<(), Error> {
        if self.closed.load(Ordering::Relaxed) || self.sender.send(cmd).is_err() {
            self.counters.count_rejection(&Rejection::Closed);
            return if self.config.strict {
                Err(Error::Closed)
            } else {
                Ok(())
            };
        }
        Ok(())
    }

    /// Attributes events from now on to `user_id`. Identifying a different
    /// user while one is identified starts a fresh person (as `reset()` then
    /// `identify()`): one user's history never becomes another's.
    pub fn identify(&self, user_id: String) -> Result<(), Error> {
        self.identify_at(user_id, self.clock.now_ms())
    }

    fn identify_at(&self, user_id: String, timestamp_ms: i64) -> Result<(), Error> {
        if user_id.is_empty() || user_id.chars().any(char::is_control) {
            let r = Rejection::PropertyKeyInvalid {
                key: "userId".into(),
                why: "a user id must be non-empty and free of control characters",
            };
            return self.refuse(EventKind::Identify, "identify", r);
        }
        self.send(Command::Identify {
            user_id,
            timestamp_ms,
        })
    }

    pub fn set_user_properties(&self, properties: EventProperties) -> Result<(), Error> {
        self.set_user_properties_at(properties, self.clock.now_ms())
    }

    fn set_user_properties_at(
        &self,
        properties: EventProperties,
        timestamp_ms: i64,
    ) -> Result<(), Error> {
        if let Err(r) = self.check("identify", &properties) {
            return self.refuse(EventKind::Identify, "identify", r);
        }
        self.send(Command::SetUserProperties {
            properties,
            timestamp_ms,
        })
    }

    pub fn unset_user_properties(&self, keys: Vec<String>) -> Result<(), Error> {
        self.send(Command::UnsetUserProperties { keys })
    }

    /// Logout: a new anonymous id, no user id, no user properties, a new session.
    pub fn reset(&self) -> Result<(), Error> {
        let timestamp_ms = self.clock.now_ms();
        self.send(Command::Reset { timestamp_ms })
    }

    /// Takes effect at once for `track()` calls after it; `Denied` also
    /// deletes every stored event.
    pub fn set_consent(&self, consent: Consent) -> Result<(), Error> {
        if self.closed.load(Ordering::Relaxed) {
            return self.send(Command::SetConsent(consent));
        }
        self.consent
            .store(messages::consent_to_u8(consent), Ordering::Relaxed);
        self.send(Command::SetConsent(consent))
    }

    /// The consent in force. Right after open this waits (bounded) for the
    /// worker to read the persisted choice.
    pub fn consent(&self) -> Consent {
        self.wait_until_ready();
        messages::consent_from_u8(self.consent.load(Ordering::Relaxed))
            .unwrap_or(self.config.initial_consent)
    }

    /// Right after open, the counters are not loaded yet: wait for the worker
    /// (at most the flush timeout) rather than report zeros.
    fn wait_until_ready(&self) {
        if !self.ready.load(Ordering::SeqCst) {
            self.flush_within(self.config.flush_timeout);
        }
    }

    fn signal_network(&self, signal: NetSignal) {
        if let Some(n) = &self.network {
            let _ = n.send(signal);
        }
    }

    /// Deletes stored events, user properties and ids; keeps consent.
    pub fn delete_local_data(&self) -> Result<(), Error> {
        let timestamp_ms = self.clock.now_ms();
        self.send(Command::DeleteLocalData { timestamp_ms })
    }

    /// Waits until everything tracked before this call is committed, at most
    /// the configured flush timeout, then starts an upload in the background
    /// (never waiting for the network). Returns whether the commit completed.
    pub fn flush(&self) -> bool {
        let committed = self.flush_within(self.config.flush_timeout);
        self.signal_network(NetSignal::Flush);
        committed
    }

    pub fn flush_within(&self, timeout: Duration) -> bool {
        let (ack, done) = mpsc::sync_channel(1);
        if self.closed.load(Ordering::Relaxed) || self.sender.send(Command::Flush(ack)).is_err() {
            return false;
        }
        done.recv_timeout(timeout).is_ok()
    }

    /// For the host's background work (WorkManager, `BGTaskScheduler`):
    /// commits what is queued, then uploads what is stored, once, and waits
    /// for the answer at most `timeout` in all. Blocks: never call it on the
    /// UI thread. A time-out leaves the upload going on in the background.
    pub fn upload_now(&self, timeout: Duration) -> UploadReport {
        let deadline = std::time::Instant::now() + timeout;
        let report = |stop: UploadStop, acknowledged: u64| UploadReport {
            acknowledged,
            remaining: self.counters.stored.load(Ordering::Relaxed),
            stop,
            detail: match stop {
                UploadStop::Failed | UploadStop::TimedOut => {
                    self.counters.network_status().last_upload_error
                }
                _ => None,
            },
        };
        if self.closed.load(Ordering::Relaxed) {
            return report(UploadStop::Closed, 0);
        }
        let Some(network) = &self.network else {
            return report(UploadStop::NoServer, 0);
        };
        let before = self.counters.uploaded_events.load(Ordering::Relaxed);
        let acknowledged = || {
            self.counters
                .uploaded_events
                .load(Ordering::Relaxed)
                .saturating_sub(before)
        };
        if !self.flush_within(timeout) {
            return report(UploadStop::TimedOut, 0);
        }
        let (reply, answer) = mpsc::sync_channel(1);
        if network.send(NetSignal::UploadNow(reply)).is_err() {
            return report(UploadStop::Closed, 0);
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let stop = match answer.recv_timeout(left) {
            Ok(DrainOutcome::Drained) => UploadStop::Drained,
            Ok(DrainOutcome::RetryAt(_)) => UploadStop::Failed,
            Ok(DrainOutcome::Withheld) => UploadStop::ConsentNotGranted,
            Ok(DrainOutcome::Stopped) => UploadStop::Closed,
            Err(_) => return report(UploadStop::TimedOut, acknowledged()),
        };
        // The acknowledged rows leave the store in the worker's next commit:
        // wait for it (briefly) so `remaining` counts what is really left.
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        self.flush_within(left.max(Duration::from_millis(50)));
        report(stop, acknowledged())
    }

    /// The app came to the foreground: maybe a new session, and `app_open`.
    pub fn on_foreground(&self) -> Result<(), Error> {
        self.foreground_at(self.clock.now_ms())
    }

    /// The device's current IANA timezone (`Asia/Shanghai`): the wrappers
    /// send it at each foreground, so a trip across zones moves quiet hours,
    /// local hours and calendar periods with the person. An unknown name is
    /// logged by the worker and keeps the previous zone.
    pub fn set_timezone(&self, timezone: String) -> Result<(), Error> {
        self.send(Command::SetTimezone(timezone))
    }

    fn foreground_at(&self, timestamp_ms: i64) -> Result<(), Error> {
        let sent = self.send(Command::Foreground { timestamp_ms });
        self.signal_network(NetSignal::Foreground);
        sent
    }

    /// The app went to the background: remember when, and flush (bounded),
    /// since the OS may kill a background app at any moment.
    pub fn on_background(&self) -> bool {
        let timestamp_ms = self.clock.now_ms();
        let _ = self.send(Command::Background { timestamp_ms });
        self.signal_network(NetSignal::Background);
        self.flush()
    }

    /// Commits what is queued (bounded by the flush timeout), stops the
    /// worker and releases the data directory. Later calls are refused.
    pub fn close(&self) -> bool {
        if self.closed.swap(true, Ordering::SeqCst) {
            return true;
        }
        let deadline = std::time::Instant::now() + self.config.flush_timeout;
        let (ack, done) = mpsc::sync_channel(1);
        if self.sender.send(Command::Close(ack)).is_err() {
            self.stop_network(deadline);
            return true;
        }
        let completed = done.recv_timeout(self.config.flush_timeout).is_ok();
        self.stop_network(deadline);
        if completed {
            // The worker answered just before returning; joining is quick.
            if let Some(handle) = self.worker.lock().ok().and_then(|mut w| w.take()) {
                let _ = handle.join();
            }
        }
        completed
    }

    /// Asks the network thread to stop and waits for it until `deadline`:
    /// a request in flight (bounded by its timeout) may outlive close(), its
    /// answer is then ignored.
    fn stop_network(&self, deadline: std::time::Instant) {
        if let Some(n) = &self.network {
            let (ack, done) = mpsc::sync_channel(1);
            if n.send(NetSignal::Stop(ack)).is_ok() {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                let _ = done.recv_timeout(left.max(std::time::Duration::from_millis(1)));
            }
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    pub fn diagnostics(&self) -> Diagnostics {
        self.wait_until_ready();
        let db = crate::store::database_path(&self.config.data_dir);
        let size = |p: std::path::PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let wal = std::path::PathBuf::from(format!("{}-wal", db.display()));
        let persistent = self.persistent.load(Ordering::Relaxed);
        let bytes = if persistent { size(db) + size(wal) } else { 0 };
        Diagnostics::collect(&self.counters, bytes, persistent)
    }

    /// Validates a rule pack (on this thread: CPU only, no disk) and, when it
    /// is valid, makes it the active pack and persists it. A refused pack
    /// never replaces the active one; the error names the offending field.
    pub fn load_rule_pack(&self, json: &str) -> Result<(), Error> {
        let acceptance = Acceptance::for_app(&self.config.app_url_schemes);
        let pack = RulePack::parse_accepting(json, &acceptance).map_err(|e| {
            self.send_log(Level::Error, format!("rule pack refused: {e}"));
            Error::InvalidRulePack(e)
        })?;
        self.send(Command::LoadPack {
            pack: Arc::new(pack),
            json: json.to_owned(),
        })
    }

    /// Sets (or removes) the host's popup presenter. Without one, eligible
    /// campaigns are logged and nothing is offered or counted.
    pub fn set_presenter(&self, presenter: Option<Arc<dyn Presenter>>) -> Result<(), Error> {
        self.send(Command::SetPresenter(presenter))
    }

    /// Sets (or removes) what campaigns with a prize inventory claim from.
    /// Without one, such campaigns follow their offline policy.
    pub fn set_claim_client(
        &self,
        client: Option<Arc<dyn crate::claim::ClaimClient>>,
    ) -> Result<(), Error> {
        self.send(Command::SetClaimClient(client))
    }

    /// Sets (or removes) the host's scheduler of local notifications.
    /// Without one, campaigns with a `local_notification` channel are
    /// in-app only.
    pub fn set_notification_scheduler(
        &self,
        scheduler: Option<Arc<dyn crate::notification::NotificationScheduler>>,
    ) -> Result<(), Error> {
        self.send(Command::SetNotificationScheduler(scheduler))
    }

    /// The person tapped the local notification `notification_id`: the
    /// campaign's click.
    pub fn notification_tapped(&self, notification_id: String) -> Result<(), Error> {
        let timestamp_ms = self.clock.now_ms();
        self.send(Command::NotificationTapped {
            notification_id,
            timestamp_ms,
        })
    }

    /// Offers the campaign's popup now through the presenter, as a test: for
    /// a QA screen in a debug build. It is offered whether or not the
    /// campaign has started, is paused or is capped; `variant` picks a
    /// variant's popup (none: the campaign's own). Its events carry
    /// `"test": true` and `"preview": true`, it claims no prize and counts in
    /// no cap or goal. Returns at once; `explain(campaign_id)` and the log say
    /// why a preview could not be offered (not in the pack, another popup in
    /// flight, no presenter, a missing text value or image).
    pub fn preview(&self, campaign_id: String, variant: Option<String>) -> Result<(), Error> {
        let timestamp_ms = self.clock.now_ms();
        self.send(Command::Preview {
            campaign_id,
            variant,
            timestamp_ms,
        })
    }

    /// Why the campaign did or did not fire for its last matching event.
    /// Waits for the worker (what was tracked before is taken into account)
    /// at most the flush timeout; `Error::Closed` after `close()`, and a
    /// timed-out `Error::Io` when the worker does not answer in time.
    pub fn explain(&self, campaign_id: &str) -> Result<crate::explain::Explanation, Error> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(Error::Closed);
        }
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Command::Explain {
            campaign_id: campaign_id.to_owned(),
            reply,
        })?;
        answer
            .recv_timeout(self.config.flush_timeout)
            .map_err(|_| Error::Io {
                what: "explain".into(),
                source: std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the Reach worker did not answer within the flush timeout",
                ),
            })
    }

    /// The host showed the popup of `offer_id`: an impression.
    pub fn popup_shown(&self, offer_id: String) -> Result<(), Error> {
        self.report(offer_id, Report::Shown)
    }

    /// The person tapped a button (one whose action is `dismiss` counts as a dismiss).
    pub fn popup_clicked(&self, offer_id: String, button_id: String) -> Result<(), Error> {
        self.report(offer_id, Report::Clicked { button_id })
    }

    /// The person closed the popup without acting.
    pub fn popup_dismissed(&self, offer_id: String) -> Result<(), Error> {
        self.report(offer_id, Report::Dismissed)
    }

    fn report(&self, offer_id: String, report: Report) -> Result<(), Error> {
        let timestamp_ms = self.clock.now_ms();
        self.send(Command::PopupReport {
            offer_id,
            report,
            timestamp_ms,
        })
    }

    pub fn set_log_sink(&self, sink: Option<Arc<dyn LogSink>>) {
        self.logger.set_sink(sink);
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
}

impl Drop for Tracker {
    /// Dropping without `close()` closes: what is queued is committed (within
    /// the flush timeout) and the data directory is free when this returns.
    fn drop(&mut self) {
        self.close();
    }
}
