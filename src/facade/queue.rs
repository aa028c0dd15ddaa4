//! The batch entry point the Kotlin and Swift wrappers use for their hot
//! calls, and `upload_now` for background tasks: FFI shapes over
//! `tracker::QueuedCall` and `tracker::UploadReport`.

use std::collections::HashMap;

use super::types::{self, Consent, PropertyValue};
use crate::tracker;

/// One call a wrapper queued on the caller's thread, with the time it was
/// made; `Reach.apply_calls` applies a batch of them in order.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum QueuedCall {
    Track {
        name: String,
        properties: HashMap<String, PropertyValue>,
        timestamp_ms: i64,
    },
    Screen {
        name: String,
        properties: HashMap<String, PropertyValue>,
        timestamp_ms: i64,
    },
    Identify {
        user_id: String,
        timestamp_ms: i64,
    },
    SetUserProperties {
        properties: HashMap<String, PropertyValue>,
        timestamp_ms: i64,
    },
    UnsetUserProperties {
        keys: Vec<String>,
    },
    Reset {
        timestamp_ms: i64,
    },
    SetConsent {
        consent: Consent,
    },
    Foreground {
        timestamp_ms: i64,
    },
    /// Notes when the app left the foreground; does not wait for a flush
    /// (the wrapper calls `flush()` after handing it over).
    Background {
        timestamp_ms: i64,
    },
}

impl From<QueuedCall> for tracker::QueuedCall {
    fn from(c: QueuedCall) -> Self {
        use tracker::QueuedCall as T;
        match c {
            QueuedCall::Track {
                name,
                properties,
                timestamp_ms,
            } => T::Track {
                name,
                properties: types::properties(properties),
                timestamp_ms,
            },
            QueuedCall::Screen {
                name,
                properties,
                timestamp_ms,
            } => T::Screen {
                name,
                properties: types::properties(properties),
                timestamp_ms,
            },
            QueuedCall::Identify {
                user_id,
                timestamp_ms,
            } => T::Identify {
                user_id,
                timestamp_ms,
            },
            QueuedCall::SetUserProperties {
                properties,
                timestamp_ms,
            } => T::SetUserProperties {
                properties: types::properties(properties),
                timestamp_ms,
            },
            QueuedCall::UnsetUserProperties { keys } => T::UnsetUserProperties { keys },
            QueuedCall::Reset { timestamp_ms } => T::Reset { timestamp_ms },
            QueuedCall::SetConsent { consent } => T::SetConsent(consent.into()),
            QueuedCall::Foreground { timestamp_ms } => T::Foreground { timestamp_ms },
            QueuedCall::Background { timestamp_ms } => T::Background { timestamp_ms },
        }
    }
}

/// Why `upload_now` returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum UploadStop {
    /// Everything stored was acknowledged (or refused for good).
    Drained,
    /// A request failed; the events stay, `detail` says why. Retry later.
    Failed,
    /// The time given ran out; the upload goes on in the background.
    TimedOut,
    /// Consent is not granted: nothing may be sent.
    ConsentNotGranted,
    /// No `server_url` is configured.
    NoServer,
    /// Reach is closed.
    Closed,
}

/// What `upload_now` achieved: events acknowledged during the call, events
/// still stored, and why it stopped.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct UploadOutcome {
    pub acknowledged: u64,
    pub remaining: u64,
    pub stop: UploadStop,
    pub detail: Option<String>,
}

impl From<tracker::UploadReport> for UploadOutcome {
    fn from(r: tracker::UploadReport) -> Self {
        use tracker::UploadStop as S;
        UploadOutcome {
            acknowledged: r.acknowledged,
            remaining: r.remaining,
            stop: match r.stop {
                S::Drained => UploadStop::Drained,
                S::Failed => UploadStop::Failed,
                S::TimedOut => UploadStop::TimedOut,
                S::ConsentNotGranted => UploadStop::ConsentNotGranted,
                S::NoServer => UploadStop::NoServer,
                S::Closed => UploadStop::Closed,
            },
            detail: r.detail,
        }
    }
}
