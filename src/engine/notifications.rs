//! When a local notification may stand in for a delayed popup: at the
//! delay's due time (or now, when that has passed), moved to the end of the
//! pack's quiet hours when it falls inside them, and only when the
//! campaign's schedule and caps and the global limits would let the popup
//! be shown then. Runs when the app goes to the background, never per event.

use super::caps::{self, Calendar};
use super::TriggerEngine;
use crate::rules::LocalTime;

/// Quiet hours are searched for their end a minute at a time, at most a
/// day: windows repeat daily, so a moment past a day of quiet never comes.
const MINUTES_PER_DAY: i64 = 24 * 60;
const MINUTE_MS: i64 = 60_000;

impl TriggerEngine {
    /// The time to fire the notification of `campaign_id`'s pending delay,
    /// or why none may be sent.
    pub fn notification_time(&self, campaign_id: &str, now_ms: i64) -> Result<i64, String> {
        let delay = self
            .delays
            .get(campaign_id)
            .ok_or_else(|| "no delayed popup is pending".to_owned())?;
        let c = self
            .pack
            .campaign_by_id(campaign_id)
            .filter(|c| c.enabled)
            .ok_or_else(|| "the campaign is not active".to_owned())?;
        let zone = &self.device.zone;
        let limits = &self.pack.limits;
        let mut at = delay.due_ms.max(now_ms);
        let mut steps = 0;
        while limits.is_quiet(&LocalTime::at(at, zone)) {
            if steps == MINUTES_PER_DAY {
                return Err("the pack's quiet hours last all day".into());
            }
            // To the next whole minute: windows are in minutes.
            at = (at.div_euclid(MINUTE_MS) + 1) * MINUTE_MS;
            steps += 1;
        }
        if at > delay.expires_ms {
            return Err(format!(
                "the end of quiet hours is past the delay's expiry ({})",
                crate::rfc3339::rfc3339_ms(delay.expires_ms)
            ));
        }
        let cal = Calendar::at(at, zone);
        if c.schedule.has_ended(at) || !c.schedule.is_open(at, &cal.local) {
            return Err("the campaign's schedule is closed at the due time".into());
        }
        let history = self.histories.get(&c.id).unwrap_or(&caps::NO_HISTORY);
        caps::campaign_allows(&c.frequency, history, &cal).map_err(|b| b.to_string())?;
        // Not this session's popup: a notification opens a new one.
        caps::global_allows(limits, &self.global, "", &cal).map_err(|b| b.to_string())?;
        Ok(at)
    }
}
