//! The worker's side of segment sync: which person segments are asked for,
//! the segments that serve the engine, and their SQLite copy for offline
//! use. Runs on the worker thread, which owns the identity, so an answer is
//! checked here against the person current when it arrives: an answer for
//! someone else (it raced an `identify()` or `reset()`) is dropped.

use std::collections::BTreeSet;

use super::Worker;
use crate::log::Level;
use crate::messages::NetSignal;
use crate::store::StoredSegments;
use crate::sync::segments::{FetchedSegments, SegmentsPerson};

/// The current person's segments, as far as the server has told.
#[derive(Default)]
pub(super) struct PersonSegments {
    /// `SegmentsPerson::key` of whom `segments` belong to.
    person: String,
    /// `None` until the server has answered for this person.
    segments: Option<BTreeSet<String>>,
    etag: Option<String>,
}

impl PersonSegments {
    /// The segments, once known for the current person.
    pub(super) fn known(&self) -> Option<&BTreeSet<String>> {
        self.segments.as_ref()
    }
}

impl Worker {
    /// Whom segments are asked for now.
    pub(super) fn segments_person(&self) -> SegmentsPerson {
        match &self.identity.user_id {
            Some(id) => SegmentsPerson::User(id.clone()),
            None => SegmentsPerson::Anonymous(self.identity.anonymous_id.clone()),
        }
    }

    /// The stored segments' ETag, for the network thread's first request.
    pub(super) fn segments_etag(&self) -> Option<String> {
        self.segments.etag.clone()
    }

    /// At open: the current person's stored segments serve at once, offline
    /// too. A row for anyone else is deleted.
    pub(super) fn restore_segments(&mut self) {
        let person = self.segments_person().key();
        let stored = match self.store.load_segments(&person) {
            Ok(s) => s,
            Err(e) => {
                self.log_store_error("read the stored segments", Err(e));
                None
            }
        };
        let segments = stored.as_ref().and_then(|s| {
            serde_json::from_str::<BTreeSet<String>>(&s.segments_json)
                .inspect_err(|e| {
                    self.shared.logger.log(
                        Level::Warn,
                        &format!("the stored segments are unreadable ({e}); asking again"),
                    )
                })
                .ok()
        });
        if stored.is_none() || segments.is_none() {
            let r = self.store.clear_segments();
            self.log_store_error("forget segments of another person", r);
        }
        self.segments = PersonSegments {
            person,
            etag: stored.filter(|_| segments.is_some()).and_then(|s| s.etag),
            segments,
        };
    }

    /// After `identify()` or `reset()`: a different person has no segments
    /// until the server answers for them, and the network thread asks now.
    pub(super) fn follow_person_for_segments(&mut self) {
        let person = self.segments_person();
        let key = person.key();
        if key == self.segments.person {
            return;
        }
        self.segments = PersonSegments {
            person: key,
            segments: None,
            etag: None,
        };
        let r = self.store.clear_segments();
        self.log_store_error("forget the previous person's segments", r);
        if let Some(signals) = &self.shared.network {
            let _ = signals.send(NetSignal::SegmentsPerson(person));
        }
    }

    /// The network thread's checked answer.
    pub(super) fn segments_fetched(&mut self, fetched: FetchedSegments) {
        let key = fetched.person.key();
        if key != self.segments.person {
            self.shared.logger.log(
                Level::Debug,
                "segments arrived for a person who is no longer current; dropped",
            );
            return;
        }
        let json = serde_json::to_string(&fetched.segments).unwrap_or_else(|_| "[]".into());
        let r = self.store.save_segments(&StoredSegments {
            person: key,
            segments_json: json,
            etag: fetched.etag.clone(),
            fetched_ms: self.shared.clock.now_ms(),
        });
        self.log_store_error("save the segments", r);
        self.shared.logger.log(
            Level::Debug,
            &format!("segments for this person: {:?}", fetched.segments),
        );
        self.segments.segments = Some(fetched.segments);
        self.segments.etag = fetched.etag;
    }
}
