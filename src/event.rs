//! An event as the caller's thread hands it to the worker.
//!
//! The caller stamps only what must be taken at the call: the wall-clock time.
//! Everything else (message id, sequence number, session, identity, context)
//! is stamped by the worker, in queue order, so `track()` stays cheap.

use std::sync::Arc;

use crate::value::Value;

/// The Segment call type an event maps to on upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Track,
    Screen,
    Identify,
}

impl EventKind {
    pub fn code(self) -> i64 {
        match self {
            EventKind::Track => 0,
            EventKind::Screen => 1,
            EventKind::Identify => 2,
        }
    }

    pub fn from_code(code: i64) -> Option<EventKind> {
        match code {
            0 => Some(EventKind::Track),
            1 => Some(EventKind::Screen),
            2 => Some(EventKind::Identify),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Track => "track",
            EventKind::Screen => "screen",
            EventKind::Identify => "identify",
        }
    }
}

/// Properties in the order the caller gave them; keys are unique (validated).
pub type EventProperties = Vec<(String, Value)>;

#[derive(Debug, Clone, PartialEq)]
pub struct PendingEvent {
    pub kind: EventKind,
    pub name: String,
    pub properties: EventProperties,
    /// Wall-clock milliseconds, taken on the caller's thread.
    pub timestamp_ms: i64,
}

/// An event as stored, read back for upload and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: i64,
    /// Kept as its 16 bytes: the uploader writes it straight into the batch
    /// text (a `String` per event cost an allocation on the worker and a
    /// free on the network thread).
    pub message_id: uuid::Uuid,
    pub kind: EventKind,
    pub name: String,
    /// The properties (or, for identify, the traits) as a JSON object.
    pub properties_json: String,
    /// CRC-32 of `properties_json` as written, `None` for rows written
    /// before schema version 6: the uploader's check that the stored text
    /// is still what was written (see `upload::batch::Batch::build`). An
    /// i64 as SQLite keeps it: a damaged value outside u32 simply fails.
    pub properties_crc: Option<i64>,
    pub timestamp_ms: i64,
    // Shared: the events of a batch point at one or two of each
    // (store/upload.rs, `SharedTexts`).
    pub session_id: Arc<str>,
    pub anonymous_id: Arc<str>,
    pub user_id: Option<Arc<str>>,
    pub context_json: Arc<str>,
}

/// The checksum stored with an event's properties (`StoredEvent::properties_crc`):
/// one function for the worker that writes it and the uploader that checks it.
pub fn properties_checksum(properties_json: &str) -> i64 {
    i64::from(crc32fast::hash(properties_json.as_bytes()))
}
