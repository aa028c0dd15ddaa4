//! The `reach-network` thread: every HTTP request of an instance (uploads,
//! pack sync, segment sync and popup images) runs here, one at a time. It
//! exists only when a server is
//! configured.
//!
//! It owns the `Uploader`, the `PackSync` and the upload policy (when to
//! send), and nothing on disk: it asks the worker for rows, tells it which
//! rows may be deleted, and hands it verified packs to install — the worker
//! stays the only owner of SQLite. It is the only writer of the image cache
//! (`images/` in the data directory) and tells the worker what it holds. It never calls the host's log sink (log
//! lines go through the worker) and never blocks the caller's thread.
//!
//! Waiting: backoff and interval deadlines are in the injected clock's time.
//! The thread sleeps on its signal channel for `Clock::real_wait_until` —
//! the whole remainder with the system clock, a few milliseconds with a
//! `ManualClock` — and sleeps without any timeout while nothing is queued
//! and nothing is due, so an idle app has no timer waking it.

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{Consent, ServerConfig};
use crate::diagnostics::Counters;
use crate::event::StoredEvent;
use crate::images::fetch::ImageFetcher;
use crate::inbox::Inbox;
use crate::log::Level;
use crate::messages::{self, Command, NetSignal, NetworkStart};
use crate::sync::segments::{SegmentSync, SegmentsOutcome};
use crate::sync::{PackKeys, PackSync, SyncOutcome};
use crate::transport::Transport;
use crate::upload::{DrainOutcome, UploadQueue, Uploader};

/// What the network thread shares with the tracker.
pub struct NetworkShared {
    pub counters: Arc<Counters>,
    pub clock: Arc<dyn Clock>,
    pub consent: Arc<AtomicU8>,
    /// The worker's inbox.
    pub inbox: Inbox,
    /// `Config::app_url_schemes`, which synced packs are judged by.
    pub app_url_schemes: Vec<String>,
    /// Where the image cache lives.
    pub data_dir: std::path::PathBuf,
    /// `Config::images_without_consent`.
    pub images_without_consent: bool,
}

pub fn spawn(
    server: ServerConfig,
    shared: NetworkShared,
    signals: Receiver<NetSignal>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("reach-network".into())
        .spawn(move || {
            let inbox = shared.inbox.clone();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                if let Some(mut n) = Network::start(server, shared) {
                    n.serve(signals);
                }
            }));
            if outcome.is_err() {
                let _ = inbox.send(Command::Log(
                    Level::Error,
                    "the Reach network thread stopped after an internal error; nothing more is uploaded until the app restarts".into(),
                ));
            }
        })
}

/// The worker, seen as the uploader's queue.
struct WorkerQueue<'a> {
    inbox: &'a Inbox,
}

impl UploadQueue for WorkerQueue<'_> {
    fn oldest(&mut self, max: usize) -> Option<Vec<StoredEvent>> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.inbox
            .send(Command::UploadBatch {
                max_events: max,
                reply,
            })
            .ok()?;
        answer.recv().ok()
    }

    fn remove(&mut self, first_seq: i64, last_seq: i64) {
        let _ = self.inbox.send(Command::UploadDone {
            first_seq,
            last_seq,
        });
    }

    fn log(&mut self, level: Level, message: String) {
        let _ = self.inbox.send(Command::Log(level, message));
    }
}

struct Network {
    server: Arc<ServerConfig>,
    shared: NetworkShared,
    uploader: Uploader,
    sync: Option<PackSync>,
    images: ImageFetcher,
    segments: SegmentSync,
    stored: u64,
    foreground: bool,
    flush_wanted: bool,
    /// Backing off until then (the clock's ms).
    retry_at: Option<i64>,
    /// The interval flush is due then; set while events wait in the foreground.
    interval_at: Option<i64>,
}

impl Network {
    fn start(server: ServerConfig, shared: NetworkShared) -> Option<Network> {
        let server = Arc::new(server);
        let transport: Arc<dyn Transport> = match &server.transport {
            Some(t) => t.clone(),
            None => crate::transport::default_transport(),
        };
        let log = |m: String| {
            let _ = shared.inbox.send(Command::Log(Level::Warn, m));
        };
        // Waits for the worker to have opened the database.
        let (reply, answer) = mpsc::sync_channel(1);
        shared.inbox.send(Command::NetworkStart(reply)).ok()?;
        let NetworkStart {
            etag,
            stored,
            images,
            segments_person,
            segments_etag,
        } = answer.recv().ok()?;
        let images = ImageFetcher::new(
            &shared.data_dir,
            transport.clone(),
            server.request_timeout,
            images,
        );
        let mut segments =
            SegmentSync::new(server.clone(), transport.clone(), shared.clock.clone());
        segments.set_person(segments_person, segments_etag);
        let (keys, problems) = PackKeys::parse(&server.pack_public_keys);
        problems.into_iter().for_each(log);
        let sync = if keys.is_empty() {
            log("no usable pack public key is configured: rule-pack sync is off".into());
            None
        } else {
            let mut s = PackSync::new(
                server.clone(),
                transport.clone(),
                shared.clock.clone(),
                keys,
            );
            s.set_etag(etag);
            s.set_app_url_schemes(shared.app_url_schemes.clone());
            Some(s)
        };
        let uploader = Uploader::new(
            server.clone(),
            transport,
            shared.counters.clone(),
            shared.clock.clone(),
            shared.consent.clone(),
        );
        Some(Network {
            server,
            shared,
            uploader,
            sync,
            images,
            segments,
            stored,
            foreground: false,
            flush_wanted: false,
            retry_at: None,
            interval_at: None,
        })
    }

    fn consent_granted(&self) -> bool {
        messages::consent_from_u8(self.shared.consent.load(Relaxed)) == Some(Consent::Granted)
    }

    fn serve(&mut self, signals: Receiver<NetSignal>) {
        // Start-up sync, off the caller's thread.
        if !self.sync_pack() {
            return;
        }
        self.sync_segments();
        loop {
            self.fetch_image();
            if !self.maybe_upload() {
                return;
            }
            let signal = match self.next_deadline() {
                None => match signals.recv() {
                    Ok(s) => Some(s),
                    Err(_) => return,
                },
                Some(at) => match signals.recv_timeout(self.shared.clock.real_wait_until(at)) {
                    Ok(s) => Some(s),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                },
            };
            let mut next = signal;
            // Take every signal already waiting before deciding anything.
            while let Some(s) = next.take() {
                if !self.apply(s) {
                    return;
                }
                next = signals.try_recv().ok();
            }
            self.sync_segments();
        }
    }

    /// Returns false to stop.
    fn apply(&mut self, signal: NetSignal) -> bool {
        match signal {
            NetSignal::Stored(n) => {
                self.stored = n;
                if n == 0 {
                    self.interval_at = None;
                } else if self.foreground && self.interval_at.is_none() {
                    self.interval_at = Some(self.deadline_after_interval());
                }
            }
            NetSignal::Flush => self.flush_wanted = true,
            NetSignal::Foreground => {
                self.foreground = true;
                self.images.retry_failed();
                // A refused configuration may be fixed by now (the app was
                // updated, a remote config arrived): try again at once.
                if self.uploader.refused_by_configuration() {
                    self.retry_at = None;
                    self.flush_wanted = true;
                }
                if self.stored > 0 && self.interval_at.is_none() {
                    self.interval_at = Some(self.deadline_after_interval());
                }
                if !self.sync_pack() {
                    return false;
                }
            }
            NetSignal::Background => {
                // No interval timer in the background (dd-sdk-android#2206):
                // only flush() and onBackground() upload there.
                self.foreground = false;
                self.interval_at = None;
            }
            NetSignal::Stop(ack) => {
                let _ = ack.send(());
                return false;
            }
            NetSignal::Images(urls) => {
                if self.images.set_wanted(urls) {
                    self.report_images();
                }
            }
            NetSignal::SegmentsPerson(person) => self.segments.set_person(person, None),
            NetSignal::SegmentsWanted(wanted) => self.segments.set_wanted(wanted),
            NetSignal::UploadNow(reply) => {
                let outcome = self.upload_now();
                let _ = reply.send(outcome);
                if outcome == DrainOutcome::Stopped {
                    return false;
                }
            }
        }
        true
    }

    fn deadline_after_interval(&self) -> i64 {
        self.shared
            .clock
            .now_ms()
            .saturating_add(self.server.flush_interval.as_millis() as i64)
    }

    /// Images may be downloaded: consent is granted, or the app allows it
    /// without.
    fn images_allowed(&self) -> bool {
        self.shared.images_without_consent || self.consent_granted()
    }

    /// Downloads one missing image, if any may be: one per turn of the
    /// loop, so signals (a stop, an upload) wait for one image at most.
    fn fetch_image(&mut self) {
        if !self.images_allowed() {
            return;
        }
        match self.images.fetch_next() {
            None => {}
            Some(Ok(_)) => self.report_images(),
            Some(Err(why)) => {
                let _ = self.shared.inbox.send(Command::Log(Level::Warn, why));
            }
        }
    }

    fn report_images(&self) {
        let _ = self
            .shared
            .inbox
            .send(Command::ImagesCached(self.images.index().clone()));
    }

    /// The earliest time something is due, or `None` to sleep until a signal.
    fn next_deadline(&self) -> Option<i64> {
        if self.images_allowed() && self.images.has_work() {
            return Some(self.shared.clock.now_ms());
        }
        if !self.consent_granted() || self.stored == 0 && self.retry_at.is_none() {
            return None;
        }
        match (self.retry_at, self.interval_at) {
            (Some(r), _) => Some(r),
            (None, i) => i,
        }
    }

    /// Uploads when the policy says so. Returns false to stop.
    fn maybe_upload(&mut self) -> bool {
        if !self.consent_granted() {
            self.flush_wanted = false;
            return true;
        }
        let now = self.shared.clock.now_ms();
        if let Some(at) = self.retry_at {
            if now < at {
                return true;
            }
        }
        let interval_due = self.interval_at.is_some_and(|at| now >= at);
        let wanted = self.retry_at.is_some()
            || self.flush_wanted
            || self.stored >= self.server.flush_at.max(1)
            || interval_due;
        if !wanted {
            return true;
        }
        let mut queue = WorkerQueue {
            inbox: &self.shared.inbox,
        };
        let outcome = self.uploader.drain(&mut queue);
        self.after_drain(outcome)
    }

    /// A host's background task asked: one drain now, whatever the backoff
    /// said (the OS gave the app this time; a failure backs off again).
    fn upload_now(&mut self) -> DrainOutcome {
        if !self.consent_granted() {
            return DrainOutcome::Withheld;
        }
        let mut queue = WorkerQueue {
            inbox: &self.shared.inbox,
        };
        let outcome = self.uploader.drain(&mut queue);
        self.after_drain(outcome);
        outcome
    }

    /// Updates the upload policy after a drain. Returns false to stop.
    fn after_drain(&mut self, outcome: DrainOutcome) -> bool {
        match outcome {
            DrainOutcome::Drained => {
                self.retry_at = None;
                self.flush_wanted = false;
                // The worker's next Stored signal says what arrived meanwhile.
                self.stored = 0;
                self.interval_at = None;
                true
            }
            DrainOutcome::Withheld => {
                self.flush_wanted = false;
                true
            }
            DrainOutcome::RetryAt(at) => {
                self.retry_at = Some(at);
                true
            }
            DrainOutcome::Stopped => false,
        }
    }

    /// Asks for the person's segments when due, while consent is granted
    /// (the request names the person). Every outcome but a fresh answer
    /// leaves the stored segments serving.
    fn sync_segments(&mut self) {
        if !self.consent_granted() {
            return;
        }
        let inbox = &self.shared.inbox;
        match self.segments.poll() {
            SegmentsOutcome::Skipped | SegmentsOutcome::NotModified => {}
            SegmentsOutcome::Fetched(fetched) => {
                self.segments.set_etag(fetched.etag.clone());
                let _ = inbox.send(Command::SegmentsFetched(fetched));
            }
            SegmentsOutcome::Refused(why) => {
                let _ = inbox.send(Command::Log(
                    Level::Error,
                    format!("segments answer refused, the last good segments keep serving: {why}"),
                ));
            }
            SegmentsOutcome::Failed(why) => {
                let _ = inbox.send(Command::Log(
                    Level::Warn,
                    format!("segment sync failed, the stored segments keep serving: {why}"),
                ));
            }
        }
    }

    /// Polls for a new pack when one is due. Returns false to stop.
    fn sync_pack(&mut self) -> bool {
        let Some(sync) = self.sync.as_mut() else {
            return true;
        };
        if !sync.is_due() {
            return true;
        }
        let inbox = &self.shared.inbox;
        let counters = &self.shared.counters;
        match sync.poll() {
            SyncOutcome::NotModified => {
                counters.update_network(|n| n.last_sync_error = None);
            }
            SyncOutcome::Fetched(fetched) => {
                let etag = fetched.etag.clone();
                let (reply, answer) = mpsc::sync_channel(1);
                if inbox
                    .send(Command::InstallSyncedPack { fetched, reply })
                    .is_err()
                {
                    return false;
                }
                match answer.recv() {
                    Ok(Ok(())) => {
                        sync.set_etag(etag);
                        counters.update_network(|n| n.last_sync_error = None);
                    }
                    Ok(Err(why)) => {
                        counters.update_network(|n| n.last_sync_error = Some(why));
                    }
                    Err(_) => return false,
                }
            }
            SyncOutcome::Refused(why) => {
                let _ = inbox.send(Command::Log(
                    Level::Error,
                    format!("synced rule pack refused, the active pack keeps serving: {why}"),
                ));
                counters.update_network(|n| n.last_sync_error = Some(why));
            }
            SyncOutcome::Failed(why) => {
                let _ = inbox.send(Command::Log(
                    Level::Warn,
                    format!("rule-pack sync failed: {why}"),
                ));
                counters.update_network(|n| n.last_sync_error = Some(why));
            }
        }
        true
    }
}
