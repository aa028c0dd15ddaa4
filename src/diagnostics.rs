//! Counters the caller's thread and the worker share, and the snapshot
//! `diagnostics()` returns. Lock-free (but for a few short texts behind a
//! mutex held only to copy them), so reading them never waits for disk or
//! the network.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use crate::validate::Rejection;

#[derive(Debug, Default)]
pub struct Counters {
    /// Handed to the worker, not yet committed.
    pub queued: AtomicU64,
    /// Rows waiting for upload, as of the last commit.
    pub stored: AtomicU64,
    pub stored_bytes: AtomicU64,
    rejected: [AtomicU64; Rejection::CODES.len()],
    /// Oldest events deleted because the queue was full, plus new events
    /// refused because the worker was that far behind.
    pub dropped_overflow: AtomicU64,
    /// Events lost because the database refused a write.
    pub dropped_storage_error: AtomicU64,
    /// Popups handed to the host's presenter.
    pub popups_offered: AtomicU64,
    /// Presenter answers the worker has applied (tests wait on it).
    pub popups_answered: AtomicU64,
    /// Prize claims handed to the claims thread, and answers applied.
    pub claims_requested: AtomicU64,
    pub claims_answered: AtomicU64,
    /// Events the server acknowledged (200 `success`).
    pub uploaded_events: AtomicU64,
    /// Upload requests sent, retries included.
    pub upload_batches_sent: AtomicU64,
    /// Requests of one event the server refused for good (400/422 after the
    /// batch was halved down to that event, or 413 for a single event).
    pub upload_batches_dropped: AtomicU64,
    /// Events dropped that way (each isolated first, so only the bad ones),
    /// plus stored rows whose JSON was damaged.
    pub upload_events_dropped: AtomicU64,
    /// Answers that refused the configuration (401, 403, 404, 405, other
    /// 4xx, or a host refusing every event): the events were kept.
    pub upload_configuration_refusals: AtomicU64,
    /// Events over the 32 KB per-event limit, deleted instead of uploaded.
    pub dropped_oversized: AtomicU64,
    /// Upload attempts that failed and were scheduled again.
    pub upload_retries: AtomicU64,
    /// The texts and pack facts the network side reports.
    pub network: Mutex<NetworkStatus>,
    /// What opening the database found, and a write failure still going on.
    pub storage: Mutex<StorageStatus>,
}

/// The store's troubles, for `diagnostics()`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageStatus {
    /// Set once at open: the file was moved aside, or the store runs in memory.
    pub at_open: Option<String>,
    /// The last failed write; `None` again once a commit succeeds.
    pub write_error: Option<String>,
}

/// What the last upload and pack sync said, for `diagnostics()`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkStatus {
    /// `None` after a successful upload.
    pub last_upload_error: Option<String>,
    /// `None` after a successful (or 304) sync.
    pub last_sync_error: Option<String>,
    pub pack_revision: Option<String>,
    pub pack_version: Option<u64>,
}

impl Counters {
    /// Changes the network status; the lock is held only for `f`.
    pub fn update_network(&self, f: impl FnOnce(&mut NetworkStatus)) {
        let mut guard = self.network.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard);
    }

    /// Changes the storage status; the lock is held only for `f`.
    pub fn update_storage(&self, f: impl FnOnce(&mut StorageStatus)) {
        let mut guard = self.storage.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard);
    }

    pub fn storage_status(&self) -> StorageStatus {
        self.storage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn network_status(&self) -> NetworkStatus {
        self.network
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn count_rejection(&self, r: &Rejection) {
        self.rejected[r.index()].fetch_add(1, Relaxed);
    }

    pub fn rejected_by_reason(&self) -> BTreeMap<String, u64> {
        Rejection::CODES
            .iter()
            .zip(self.rejected.iter())
            .filter_map(|(code, n)| {
                let n = n.load(Relaxed);
                (n > 0).then(|| ((*code).to_owned(), n))
            })
            .collect()
    }
}

/// What `diagnostics()` reports. Counts of rejections and drops are since this
/// instance opened; queue sizes are current.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostics {
    pub queued: u64,
    pub stored: u64,
    pub stored_bytes: u64,
    pub rejected_total: u64,
    pub rejected_by_reason: BTreeMap<String, u64>,
    pub dropped_overflow: u64,
    pub dropped_storage_error: u64,
    pub popups_offered: u64,
    pub popups_answered: u64,
    pub claims_requested: u64,
    pub claims_answered: u64,
    /// The database file plus its write-ahead log, in bytes.
    pub database_bytes: u64,
    /// False when the store fell back to memory (see the log for why).
    pub persistent: bool,
    pub uploaded_events: u64,
    pub upload_batches_sent: u64,
    pub upload_batches_dropped: u64,
    pub upload_events_dropped: u64,
    /// Upload answers that refused the configuration (wrong URL, write key,
    /// proxy); the events were kept. `last_upload_error` says which.
    pub upload_configuration_refusals: u64,
    pub dropped_oversized: u64,
    pub upload_retries: u64,
    pub last_upload_error: Option<String>,
    pub last_sync_error: Option<String>,
    /// The active rule pack's `revision` and `version`.
    pub pack_revision: Option<String>,
    pub pack_version: Option<u64>,
    /// What is wrong with storage: a write failing now (a full disk), else
    /// what opening found (a damaged file moved aside, a read-only directory
    /// or a newer Reach's database, with events kept in memory). `None` when
    /// all is well.
    pub storage_problem: Option<String>,
}

impl Diagnostics {
    pub fn collect(c: &Counters, database_bytes: u64, persistent: bool) -> Diagnostics {
        let rejected_by_reason = c.rejected_by_reason();
        let net = c.network_status();
        let storage = c.storage_status();
        Diagnostics {
            queued: c.queued.load(Relaxed),
            stored: c.stored.load(Relaxed),
            stored_bytes: c.stored_bytes.load(Relaxed),
            rejected_total: rejected_by_reason.values().sum(),
            rejected_by_reason,
            dropped_overflow: c.dropped_overflow.load(Relaxed),
            dropped_storage_error: c.dropped_storage_error.load(Relaxed),
            popups_offered: c.popups_offered.load(Relaxed),
            popups_answered: c.popups_answered.load(Relaxed),
            claims_requested: c.claims_requested.load(Relaxed),
            claims_answered: c.claims_answered.load(Relaxed),
            database_bytes,
            persistent,
            uploaded_events: c.uploaded_events.load(Relaxed),
            upload_batches_sent: c.upload_batches_sent.load(Relaxed),
            upload_batches_dropped: c.upload_batches_dropped.load(Relaxed),
            upload_events_dropped: c.upload_events_dropped.load(Relaxed),
            upload_configuration_refusals: c.upload_configuration_refusals.load(Relaxed),
            dropped_oversized: c.dropped_oversized.load(Relaxed),
            upload_retries: c.upload_retries.load(Relaxed),
            last_upload_error: net.last_upload_error,
            last_sync_error: net.last_sync_error,
            pack_revision: net.pack_revision,
            pack_version: net.pack_version,
            storage_problem: storage.write_error.or(storage.at_open),
        }
    }
}
