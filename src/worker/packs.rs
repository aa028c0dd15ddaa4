//! Which rule pack serves when the worker opens: the stored one, or a newer
//! pack the app ships. Runs on the worker thread, inside the opening
//! transaction.

use std::sync::Arc;

use super::campaigns::META_RULE_PACK;
use super::network::META_RULE_PACK_ETAG;
use super::Worker;
use crate::log::{Level, Logger};
use crate::rules::{Acceptance, RulePack};

/// Parses a pack found at open; a refusal is logged with where it came from.
fn parse_logged(
    text: &str,
    origin: &str,
    acceptance: &Acceptance,
    logger: &Logger,
) -> Option<RulePack> {
    match RulePack::parse_accepting(text, acceptance) {
        Ok(pack) => Some(pack),
        Err(e) => {
            logger.log(
                Level::Error,
                &format!("the {origin} rule pack is refused: {e}"),
            );
            None
        }
    }
}

impl Worker {
    /// The pack to serve at open: the stored one (loaded or synced later
    /// than the app was built), unless the app ships a bundled pack with a
    /// higher `version` — an app update's campaigns must not be hidden by an
    /// older stored pack. Such a bundled pack replaces the stored one (and
    /// its ETag, so the next sync asks the server afresh). A stored pack that
    /// no longer parses falls back to the bundled one.
    pub(super) fn restore_pack(&mut self) {
        let logger = self.shared.logger.clone();
        let schemes = self.config.app_url_schemes.clone();
        let acceptance = Acceptance::for_app(&schemes);
        let stored = self
            .store
            .meta_get(META_RULE_PACK)
            .ok()
            .flatten()
            .and_then(|t| parse_logged(&t, "stored", &acceptance, &logger));
        let bundled_text = self.config.bundled_rule_pack.clone();
        let bundled = bundled_text
            .as_deref()
            .and_then(|t| parse_logged(t, "bundled", &acceptance, &logger));
        match (stored, bundled) {
            (Some(s), Some(b)) if b.version.unwrap_or(0) > s.version.unwrap_or(0) => {
                logger.log(
                    Level::Info,
                    &format!(
                        "the bundled rule pack (version {}) is newer than the stored one (version {}): it replaces it",
                        b.version.unwrap_or(0),
                        s.version.unwrap_or(0)
                    ),
                );
                let r = self.store.meta_delete(META_RULE_PACK_ETAG);
                self.log_store_error("forget the replaced pack's ETag", r);
                self.engine.set_pack(Arc::new(b));
                let r = self
                    .store
                    .meta_set(META_RULE_PACK, &bundled_text.unwrap_or_default());
                self.log_store_error("save the rule pack", r);
            }
            (Some(s), _) => self.engine.set_pack(Arc::new(s)),
            (None, Some(b)) => self.engine.set_pack(Arc::new(b)),
            // Each refusal was logged above; no campaign is active.
            (None, None) => {}
        }
    }
}
