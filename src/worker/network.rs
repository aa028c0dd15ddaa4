//! The worker's side of the network thread: it reads rows for the uploader,
//! deletes the rows the server acknowledged, and installs synced packs with
//! their ETag — all on the worker thread, the only owner of SQLite. Batch
//! reads and install answers wait for the next commit, so the network thread
//! never sees (or uploads) rows that a failed commit could still take back.

use std::sync::mpsc::{Sender, SyncSender};
use std::sync::Arc;

use super::Worker;
use crate::config::Consent;
use crate::event::StoredEvent;
use crate::log::Level;
use crate::messages::{NetSignal, NetworkStart};
use crate::rules::RulePack;
use crate::sync::FetchedPack;

/// Where the ETag of the stored pack lives (next to `meta.rule_pack`).
pub(super) const META_RULE_PACK_ETAG: &str = "rule_pack_etag";

/// Whether a synced pack was installed, and why not.
pub type InstallAnswer = Result<(), String>;

/// The worker's link to the network thread.
#[derive(Default)]
pub(super) struct NetworkLink {
    signals: Option<Sender<NetSignal>>,
    batch_requests: Vec<(usize, SyncSender<Vec<StoredEvent>>)>,
    install_replies: Vec<(SyncSender<InstallAnswer>, InstallAnswer)>,
    /// What the network thread last heard: the stored count and consent
    /// (a change of either may be what lets it upload).
    last_signalled: Option<(u64, Consent)>,
    /// The pack last reported to diagnostics.
    reported_pack: Option<Arc<RulePack>>,
}

impl NetworkLink {
    pub(super) fn new(signals: Option<Sender<NetSignal>>) -> NetworkLink {
        NetworkLink {
            signals,
            ..NetworkLink::default()
        }
    }
}

impl Worker {
    pub(super) fn network_start(&mut self, reply: SyncSender<NetworkStart>) {
        let etag = self.store.meta_get(META_RULE_PACK_ETAG).ok().flatten();
        let _ = reply.send(NetworkStart {
            etag,
            stored: self.stats.count,
            images: self.images.clone(),
            segments_person: self.segments_person(),
            segments_etag: self.segments_etag(),
        });
    }

    pub(super) fn upload_batch_requested(
        &mut self,
        max_events: usize,
        reply: SyncSender<Vec<StoredEvent>>,
    ) {
        self.net.batch_requests.push((max_events, reply));
    }

    /// Rows `first..=last` were acknowledged (or refused for good).
    pub(super) fn upload_done(&mut self, first_seq: i64, last_seq: i64) {
        match self.store.delete_event_range(first_seq, last_seq) {
            Ok((events, bytes)) => {
                self.stats.count = self.stats.count.saturating_sub(events);
                self.stats.bytes = self.stats.bytes.saturating_sub(bytes);
            }
            Err(e) => self.log_store_error("delete uploaded events", Err(e)),
        }
    }

    /// A pack that passed sync's checks (signature, size, validity); refused
    /// here only if it is older than the active one.
    pub(super) fn install_synced_pack(
        &mut self,
        fetched: FetchedPack,
        reply: SyncSender<InstallAnswer>,
    ) {
        let active = self.engine.pack().version;
        let answer = if fetched.pack.version < active {
            let why = format!(
                "the synced pack has version {:?}, older than the active {:?}; refused (no rollback)",
                fetched.pack.version, active
            );
            self.shared.logger.log(Level::Error, &why);
            Err(why)
        } else {
            // Same transaction as the pack: a kill leaves both or neither.
            let r = match &fetched.etag {
                Some(etag) => self.store.meta_set(META_RULE_PACK_ETAG, etag),
                None => self.store.meta_delete(META_RULE_PACK_ETAG),
            };
            self.log_store_error("save the rule pack's ETag", r);
            self.load_pack(fetched.pack, &fetched.json);
            Ok(())
        };
        self.net.install_replies.push((reply, answer));
    }

    /// Runs after every commit (successful or not): answers what waited for
    /// it and tells the network thread how many events are stored.
    pub(super) fn after_commit_network(&mut self) {
        let pack = self.engine.pack();
        if !self
            .net
            .reported_pack
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(p, pack))
        {
            self.net.reported_pack = Some(pack.clone());
            if let Some(signals) = &self.net.signals {
                let _ = signals.send(NetSignal::Images(crate::images::wanted_urls(pack)));
                let segments = pack
                    .campaigns()
                    .iter()
                    .any(|c| c.audience.segments.is_some());
                let _ = signals.send(NetSignal::SegmentsWanted(segments));
            }
            let (revision, version) = (pack.revision.clone(), pack.version);
            self.shared.counters.update_network(|n| {
                n.pack_revision = revision;
                n.pack_version = version;
            });
        }
        for (reply, answer) in self.net.install_replies.drain(..) {
            let _ = reply.send(answer);
        }
        let requests = std::mem::take(&mut self.net.batch_requests);
        for (max, reply) in requests {
            let rows = match self.store.read_events(0, max) {
                Ok(rows) => rows,
                Err(e) => {
                    self.log_store_error("read events for upload", Err(e));
                    Vec::new()
                }
            };
            let _ = reply.send(rows);
        }
        if let Some(signals) = &self.net.signals {
            let now = (self.stats.count, self.consent);
            if self.net.last_signalled != Some(now) {
                self.net.last_signalled = Some(now);
                let _ = signals.send(NetSignal::Stored(now.0));
            }
        }
    }
}
