//! The messages Reach's threads send each other, in one module neither
//! thread owns, so the layers read top-down: the tracker (the caller's
//! thread), the worker and the network thread all depend on this module, and
//! the worker and the network thread not on each other.
//!
//! - `Command`: to the worker, from the tracker, the network thread, the
//!   presenter and claims threads.
//! - `NetSignal`: to the network thread, from the tracker and the worker.
//! - The consent byte, which the tracker, worker and network thread share
//!   through one atomic.

use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use crate::config::Consent;
use crate::event::{EventProperties, PendingEvent};
use crate::log::Level;
use crate::popup::{Answer, Presenter, Report};
use crate::rules::RulePack;
use crate::upload::DrainOutcome;

/// To the worker, applied in arrival order.
pub enum Command {
    Event(PendingEvent),
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
    DeleteLocalData {
        timestamp_ms: i64,
    },
    Foreground {
        timestamp_ms: i64,
    },
    /// The device's current IANA timezone (sent by the host at each foreground).
    SetTimezone(String),
    Background {
        timestamp_ms: i64,
    },
    Log(Level, String),
    /// A validated rule pack (and its text, to persist) replaces the active one.
    LoadPack {
        pack: Arc<RulePack>,
        json: String,
    },
    SetPresenter(Option<Arc<dyn Presenter>>),
    SetClaimClient(Option<Arc<dyn crate::claim::ClaimClient>>),
    /// The claims thread's answer for an offer waiting on a prize.
    ClaimAnswered {
        offer_id: String,
        answer: crate::claim::ClaimAnswer,
    },
    /// Why a campaign did or did not fire, answered on `reply`.
    Explain {
        campaign_id: String,
        reply: SyncSender<crate::explain::Explanation>,
    },
    /// The presenter thread's answer to an offer.
    OfferAnswer {
        offer_id: String,
        answer: Result<Answer, String>,
    },
    /// The host's report about a popup.
    PopupReport {
        offer_id: String,
        report: Report,
        timestamp_ms: i64,
    },
    /// Answered once the open transaction commits; dropped unanswered when
    /// the commit (or a write in it) failed, so `flush()` says `false`.
    Flush(SyncSender<()>),
    /// Test hook: caps the database size (a full disk on demand).
    LimitPages(u64),
    /// Commit, release the directory lock, answer, and stop.
    Close(SyncSender<()>),
    /// The network thread starts (see `worker/network.rs`).
    NetworkStart(SyncSender<NetworkStart>),
    /// The oldest stored events, answered after the next commit.
    UploadBatch {
        max_events: usize,
        reply: SyncSender<Vec<crate::event::StoredEvent>>,
    },
    /// Rows `first_seq..=last_seq` may leave the queue.
    UploadDone {
        first_seq: i64,
        last_seq: i64,
    },
    /// The current person's segments, checked by segment sync; stored if
    /// they still belong to the current person.
    SegmentsFetched(crate::sync::segments::FetchedSegments),
    /// A verified synced pack, installed with its ETag (answered after commit).
    InstallSyncedPack {
        fetched: crate::sync::FetchedPack,
        reply: SyncSender<Result<(), String>>,
    },
    /// The network thread's image cache now holds these (it wrote or
    /// deleted files): the index the worker stores and offers from.
    ImagesCached(crate::images::ImageIndex),
    SetNotificationScheduler(Option<Arc<dyn crate::notification::NotificationScheduler>>),
    /// The person tapped a local notification Reach scheduled.
    NotificationTapped {
        notification_id: String,
        timestamp_ms: i64,
    },
    /// Offer this campaign's popup now, as a test (`Tracker::preview`).
    Preview {
        campaign_id: String,
        variant: Option<String>,
        timestamp_ms: i64,
    },
}

impl Command {
    /// When the caller issued it, for commands that carry the time.
    pub(crate) fn timestamp_ms(&self) -> Option<i64> {
        match self {
            Command::Event(e) => Some(e.timestamp_ms),
            Command::Identify { timestamp_ms, .. }
            | Command::SetUserProperties { timestamp_ms, .. }
            | Command::Reset { timestamp_ms }
            | Command::DeleteLocalData { timestamp_ms }
            | Command::Foreground { timestamp_ms }
            | Command::Background { timestamp_ms }
            | Command::PopupReport { timestamp_ms, .. }
            | Command::NotificationTapped { timestamp_ms, .. }
            | Command::Preview { timestamp_ms, .. } => Some(*timestamp_ms),
            _ => None,
        }
    }
}

/// What the caller's thread and the worker tell the network thread.
pub enum NetSignal {
    /// After a commit that changed the stored count or consent: this many
    /// events are stored.
    Stored(u64),
    /// `flush()` or `onBackground()`: upload now (unless backing off).
    Flush,
    Foreground,
    Background,
    /// Stop after the request in flight; answered just before exiting.
    Stop(SyncSender<()>),
    /// `upload_now()`: upload what is stored at once, backoff or not, and
    /// answer how the drain ended.
    UploadNow(SyncSender<DrainOutcome>),
    /// A pack became active: the https images its popups show.
    Images(Vec<String>),
    /// `identify()` or `reset()` changed whom segments are asked for: ask now.
    SegmentsPerson(crate::sync::segments::SegmentsPerson),
    /// A pack became active: whether any of its campaigns tests `segments`
    /// (segments are asked for only then).
    SegmentsWanted(bool),
}

/// What the network thread needs to know at start.
pub struct NetworkStart {
    /// The ETag of the stored pack, sent as If-None-Match.
    pub etag: Option<String>,
    /// Events stored now.
    pub stored: u64,
    /// The image index the worker has stored.
    pub images: crate::images::ImageIndex,
    /// Whom segments are asked for, and the ETag of their stored segments.
    pub segments_person: crate::sync::segments::SegmentsPerson,
    pub segments_etag: Option<String>,
}

/// The consent byte before the worker has read the persisted choice.
pub const CONSENT_UNKNOWN: u8 = 3;

pub fn consent_to_u8(c: Consent) -> u8 {
    match c {
        Consent::Granted => 0,
        Consent::Pending => 1,
        Consent::Denied => 2,
    }
}

pub fn consent_from_u8(b: u8) -> Option<Consent> {
    match b {
        0 => Some(Consent::Granted),
        1 => Some(Consent::Pending),
        2 => Some(Consent::Denied),
        _ => None,
    }
}
