//! The worker's side of the clock: the highest time seen survives restarts,
//! backward corrections are logged, and the device's timezone is refreshed.
//!
//! Runs only on the worker thread. The rules themselves live in
//! `engine/timeline.rs`; this file stores and reports.

use jiff::tz::TimeZone;

use super::{context_json, Worker};
use crate::log::Level;

/// Meta key of the highest time the clock has shown (ms, as text).
const META_CLOCK_HIGH_WATER: &str = "clock_high_water";

impl Worker {
    /// Reads the stored highest time seen, then checks the clock against
    /// it: a correction made while the app was not running is seen at open.
    pub(super) fn restore_timeline(&mut self, now_ms: i64) {
        if let Some(hw) = self
            .store
            .meta_get(META_CLOCK_HIGH_WATER)
            .ok()
            .flatten()
            .and_then(|t| t.parse::<i64>().ok())
        {
            self.engine.timeline_mut().restore(hw);
        }
        self.observe_clock(now_ms);
    }

    /// Notes the clock's time once per batch; logs a backward correction.
    pub(super) fn observe_clock(&mut self, now_ms: i64) {
        if let Some(c) = self.engine.observe_time(now_ms) {
            self.shared.logger.log(
                Level::Warn,
                &format!(
                    "the clock went back from {} to {}; caps, intervals and delays stamped after \
                     it now count from it",
                    crate::rfc3339::rfc3339_ms(c.from_ms),
                    crate::rfc3339::rfc3339_ms(c.to_ms)
                ),
            );
        }
    }

    /// Writes the highest time seen into the open transaction, when stale.
    pub(super) fn persist_timeline(&mut self) {
        if let Some(hw) = self.engine.timeline_mut().take_to_persist() {
            let r = self.store.meta_set(META_CLOCK_HIGH_WATER, &hw.to_string());
            self.log_store_error("save the clock's highest time", r);
        }
    }

    /// The device is now in `name` (an IANA zone): local-time rules and the
    /// context of the events recorded from now on use it. An unknown name is
    /// logged and changes nothing.
    pub(super) fn set_timezone(&mut self, name: String) {
        if name == self.config.app.timezone {
            return;
        }
        match TimeZone::get(&name) {
            Ok(zone) => {
                self.engine.set_zone(zone);
                self.config.app.timezone = name;
                self.context_json = context_json(&self.config);
                match self.store.context_id(&self.context_json) {
                    Ok(row) => self.context_row = row,
                    Err(e) => self.log_store_error("save the event context", Err(e)),
                }
            }
            Err(e) => self.shared.logger.log(
                Level::Warn,
                &format!("unknown timezone {name:?} ({e}); local-time rules keep the previous one"),
            ),
        }
    }
}
