//! The highest time the device clock has shown, and what a large backward
//! correction of that clock does to the engine's state.
//!
//! A clock set forward by days and then corrected leaves impressions,
//! dismisses, clicks and delays stamped in the "future". The caps' rule that
//! a clock set backwards never resets a cap (a future impression counts in
//! every period) would then silence capped campaigns until real time caught
//! up with the wrong stamps. So the engine remembers the highest time seen
//! (the worker stores it durably) and treats a step back of more than
//! [`BACKWARD_CORRECTION_MS`] below it as a correction: the new time is taken
//! as the true one, and everything stamped after it is moved to it. An
//! impression from the future then still counts (in the current period, and
//! in the total), but intervals and windows run from the moment of the
//! correction, not from days ahead. The original stamp is kept beside the
//! moved one and still counts in the calendar day or week it falls in: a
//! clock set back by days and then forward again (which the device cannot
//! tell from a correction) resets no daily or weekly cap. Behaviour
//! counters (counts, sums, first and last seen) and sequence progress move
//! to the correction too: a login stamped days ahead counts in a 7-day
//! window for 7 days from the correction, not 7 days from its wrong stamp.
//! Smaller steps back (network time
//! nudging a few seconds, a user fixing a few minutes) keep the caps' rule:
//! they hold a cap a little longer, never less.
//!
//! Never touches the store or the clock itself: the worker passes the time in.

use super::delays::PendingDelay;
use super::TriggerEngine;

/// How far below the highest time seen the clock must step back to count as
/// a correction. Network time and carrier time adjust by seconds; ten
/// minutes is far above that, and below the intervals caps name in practice
/// (an hour, a day), so a correction never holds a campaign for longer than
/// the cap itself says, give or take ten minutes.
pub const BACKWARD_CORRECTION_MS: i64 = 10 * 60_000;

/// How much the highest time seen may run ahead of its stored copy: the
/// worker rewrites it only when it moved by more than this, not at every
/// commit. Far below [`BACKWARD_CORRECTION_MS`], so a restart that reads a
/// slightly stale value still recognises a correction.
pub const HIGH_WATER_PERSIST_STEP_MS: i64 = 60_000;

/// A backward correction the engine applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Correction {
    /// The highest time seen before it.
    pub from_ms: i64,
    /// The clock's time, now taken as the true one.
    pub to_ms: i64,
}

/// The highest time seen, and whether its stored copy is stale.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeline {
    high_water_ms: Option<i64>,
    persisted_ms: Option<i64>,
}

impl Timeline {
    /// A stored highest time (already on disk).
    pub fn restore(&mut self, high_water_ms: i64) {
        self.high_water_ms = Some(high_water_ms);
        self.persisted_ms = Some(high_water_ms);
    }

    pub fn high_water_ms(&self) -> Option<i64> {
        self.high_water_ms
    }

    /// Notes the clock's time; a correction when it stepped back by more
    /// than [`BACKWARD_CORRECTION_MS`] (the highest time seen then becomes
    /// `now_ms`: the clock is trusted again from there).
    pub fn observe(&mut self, now_ms: i64) -> Option<Correction> {
        match self.high_water_ms {
            Some(hw) if now_ms < hw.saturating_sub(BACKWARD_CORRECTION_MS) => {
                self.high_water_ms = Some(now_ms);
                Some(Correction {
                    from_ms: hw,
                    to_ms: now_ms,
                })
            }
            Some(hw) if now_ms <= hw => None,
            _ => {
                self.high_water_ms = Some(now_ms);
                None
            }
        }
    }

    /// The value to store, when the stored one is stale: after a
    /// correction, or when the time moved by more than
    /// [`HIGH_WATER_PERSIST_STEP_MS`].
    pub fn take_to_persist(&mut self) -> Option<i64> {
        let hw = self.high_water_ms?;
        let stale = match self.persisted_ms {
            None => true,
            Some(p) => hw < p || hw - p > HIGH_WATER_PERSIST_STEP_MS,
        };
        stale.then(|| {
            self.persisted_ms = Some(hw);
            hw
        })
    }
}

impl TriggerEngine {
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    pub fn timeline_mut(&mut self) -> &mut Timeline {
        &mut self.timeline
    }

    /// Notes the clock's time; on a backward correction, moves everything
    /// stamped after `now_ms` to it (see the module docs) and returns it.
    pub fn observe_time(&mut self, now_ms: i64) -> Option<Correction> {
        let c = self.timeline.observe(now_ms)?;
        self.rebase_future(now_ms);
        Some(c)
    }

    /// Stamps later than `now_ms` become `now_ms`; a delay triggered later
    /// keeps its length and its expiry window, counted from `now_ms`.
    fn rebase_future(&mut self, now_ms: i64) {
        let clamp = |t: &mut i64| {
            if *t > now_ms {
                *t = now_ms;
                true
            } else {
                false
            }
        };
        for (id, h) in self.histories.iter_mut() {
            let mut moved = false;
            for t in h.impressions.iter_mut() {
                let original = *t;
                if clamp(t) {
                    h.moved.push([now_ms, original]);
                    moved = true;
                }
            }
            for t in [&mut h.last_dismissed_ms, &mut h.last_clicked_ms]
                .into_iter()
                .flatten()
            {
                moved |= clamp(t);
            }
            if let Some(e) = h.exposure.as_mut() {
                moved |= clamp(&mut e.at_ms);
            }
            if moved {
                self.dirty_histories.insert(id.clone());
            }
        }
        let mut global_moved = false;
        for t in self.global.impressions.iter_mut() {
            let original = *t;
            if clamp(t) {
                self.global.moved.push([now_ms, original]);
                global_moved = true;
            }
        }
        self.global_dirty |= global_moved;
        self.behaviours.rebase_future(now_ms);
        self.sequences.rebase_future(now_ms);
        let ahead: Vec<PendingDelay> = self
            .delays
            .iter()
            .filter(|d| d.trigger_ms > now_ms)
            .cloned()
            .collect();
        for d in ahead {
            let shift = d.trigger_ms - now_ms;
            self.delays.remove(&d.campaign_id);
            self.delays.schedule(PendingDelay {
                trigger_ms: now_ms,
                due_ms: d.due_ms - shift,
                expires_ms: d.expires_ms - shift,
                ..d
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * 3_600_000;

    #[test]
    fn small_steps_back_are_not_corrections() {
        let mut t = Timeline::default();
        assert_eq!(t.observe(10 * DAY), None);
        assert_eq!(t.observe(10 * DAY - BACKWARD_CORRECTION_MS), None);
        assert_eq!(t.high_water_ms(), Some(10 * DAY));
        assert_eq!(
            t.observe(10 * DAY - BACKWARD_CORRECTION_MS - 1),
            Some(Correction {
                from_ms: 10 * DAY,
                to_ms: 10 * DAY - BACKWARD_CORRECTION_MS - 1
            })
        );
        // Trusted from there: the same time again is no new correction.
        assert_eq!(t.observe(10 * DAY - BACKWARD_CORRECTION_MS - 1), None);
    }

    #[test]
    fn the_stored_copy_is_rewritten_only_when_it_is_stale() {
        let mut t = Timeline::default();
        t.observe(DAY);
        assert_eq!(t.take_to_persist(), Some(DAY));
        t.observe(DAY + HIGH_WATER_PERSIST_STEP_MS);
        assert_eq!(t.take_to_persist(), None);
        t.observe(DAY + HIGH_WATER_PERSIST_STEP_MS + 1);
        assert_eq!(
            t.take_to_persist(),
            Some(DAY + HIGH_WATER_PERSIST_STEP_MS + 1)
        );
        t.observe(0);
        assert_eq!(t.take_to_persist(), Some(0));
    }
}
