//! Who the events are about, on the worker thread: the identity (anonymous
//! id and user id), consent and the user's properties, and what changes when
//! the person changes (`identify()` of someone else, `reset()`, deleting the
//! local data). Each is persisted in the meta table as it changes, so a kill
//! never attributes the next events to the previous person.

use std::sync::atomic::Ordering;

use super::{ids, Worker};
use crate::config::Consent;
use crate::event::EventKind;
use crate::log::Level;
use crate::messages::consent_to_u8;
use crate::value;

pub(super) const META_IDENTITY: &str = "identity";
pub(super) const META_CONSENT: &str = "consent";
pub(super) const META_USER_PROPERTIES: &str = "user_properties";

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Identity {
    pub(super) anonymous_id: String,
    pub(super) user_id: Option<String>,
}

impl Worker {
    /// Whether the current person is one of the active pack's test persons.
    pub(super) fn is_test_person(&self) -> bool {
        self.engine.pack().test_persons.contains(
            self.identity.user_id.as_deref(),
            &self.identity.anonymous_id,
        )
    }

    pub(super) fn identify(&mut self, user_id: String, ts: i64) {
        if let Some(current) = &self.identity.user_id {
            if *current != user_id {
                // A different person on this device: they get a fresh history.
                self.reset(ts);
            }
        }
        self.identity.user_id = Some(user_id);
        self.persist_identity();
        self.follow_person_for_segments();
        self.record(EventKind::Identify, "identify", Vec::new(), ts);
    }

    pub(super) fn reset(&mut self, ts: i64) {
        // A new person: fresh counters and caps.
        self.engine.clear_person();
        self.stored_explanations.clear();
        let r = self.store.clear_engine_state();
        self.log_store_error("clear the previous person's campaign state", r);
        self.identity = Identity {
            anonymous_id: ids::new(self.config.id_seed, ts, &self.identity.anonymous_id),
            user_id: None,
        };
        self.user_properties.clear();
        self.persist_identity();
        self.persist_user_properties();
        self.follow_person_for_segments();
        self.start_session(ts);
    }

    pub(super) fn set_consent(&mut self, consent: Consent) {
        self.consent = consent;
        self.shared
            .consent
            .store(consent_to_u8(consent), Ordering::Relaxed);
        if consent == Consent::Denied {
            if let Err(e) = self.store.delete_all_events() {
                self.shared.logger.log(
                    Level::Error,
                    &format!("could not delete events after consent was denied: {e}"),
                );
            }
            self.stats.count = 0;
            self.stats.bytes = 0;
            self.scrub_after_commit = true;
        }
        self.persist_consent();
    }

    pub(super) fn delete_local_data(&mut self, ts: i64) {
        if let Err(e) = self.store.delete_all() {
            self.shared
                .logger
                .log(Level::Error, &format!("could not delete local data: {e}"));
        }
        self.stats.count = 0;
        self.stats.bytes = 0;
        self.scrub_after_commit = true;
        self.reset(ts);
        self.persist_consent();
    }

    pub(super) fn persist_identity(&mut self) {
        if let Ok(json) = serde_json::to_string(&self.identity) {
            self.log_store_error(
                "save the user's identity",
                self.store.meta_set(META_IDENTITY, &json),
            );
        }
        match self.store.identity_id(
            &self.identity.anonymous_id,
            self.identity.user_id.as_deref(),
        ) {
            Ok(row) => self.identity_row = row,
            Err(e) => self.log_store_error("save the user's identity", Err(e)),
        }
    }

    pub(super) fn persist_consent(&mut self) {
        let r = self.store.meta_set(META_CONSENT, self.consent.as_str());
        self.log_store_error("save consent", r);
    }

    pub(super) fn persist_user_properties(&mut self) {
        let r = if self.user_properties.is_empty() {
            self.store.meta_delete(META_USER_PROPERTIES)
        } else {
            let json = value::properties_to_tagged_json(&self.user_properties);
            self.store.meta_set(META_USER_PROPERTIES, &json)
        };
        self.log_store_error("save user properties", r);
    }
}
