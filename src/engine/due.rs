//! Delayed popups coming due: which pending delay may be offered now (the
//! highest priority first), re-checking what can change while one waits
//! (schedule, caps, global limits), and dropping expired ones.

use super::caps::{self, Calendar};
use super::delays::{Delays, PendingDelay};
use super::{DueDelays, Person, Skip, TriggerEngine};
use crate::rules::Campaign;

impl TriggerEngine {
    /// Takes the pending delay that is due at `now_ms` and may be offered
    /// now, dropping expired and impossible ones on the way. When several are
    /// due together the highest priority goes first, as for campaigns
    /// triggered by one event; equal priorities go in due-time order. The
    /// caller checks first that a popup can be offered at all (foreground,
    /// a presenter, none in flight).
    /// Without `can_offer` (no presenter yet) only expired delays go.
    pub fn take_due_delay(&mut self, now_ms: i64, person: &Person, can_offer: bool) -> DueDelays {
        let mut out = DueDelays::default();
        let mut due: Vec<PendingDelay> = self.delays.due(now_ms).cloned().collect();
        if due.is_empty() {
            return out;
        }
        let pack = self.pack.clone();
        // Stable sort: `due` is in due-time order already. A delay whose
        // campaign left the pack sorts last (it is dropped when reached).
        due.sort_by_key(|p| {
            std::cmp::Reverse(
                pack.index_of(&p.campaign_id)
                    .map_or(i64::MIN, |i| i64::from(pack.campaign(i).priority)),
            )
        });
        let cal = Calendar::at(now_ms, &self.device.zone);
        let global = if person.test {
            Ok(())
        } else {
            caps::global_allows(&pack.limits, &self.global, person.session_id, &cal)
        };
        for p in due {
            if now_ms > p.expires_ms {
                self.delays.remove(&p.campaign_id);
                out.expired.push(p);
                continue;
            }
            if !can_offer {
                continue;
            }
            let Some(idx) = pack.index_of(&p.campaign_id) else {
                self.delays.remove(&p.campaign_id);
                out.dropped.push((p, Skip::NotInPack));
                continue;
            };
            let c = pack.campaign(idx);
            let verdict = if !c.enabled && !person.test {
                Err(Skip::NotInPack)
            } else {
                self.when_due(c, &cal, person.test)
                    .and(global.clone().map_err(Skip::Cap))
            };
            match verdict {
                Ok(()) => {
                    self.delays.remove(&p.campaign_id);
                    out.offer = Some((idx, p));
                    return out;
                }
                Err(skip) if skip.is_transient() => {}
                Err(skip) => {
                    self.delays.remove(&p.campaign_id);
                    out.dropped.push((p, skip));
                }
            }
        }
        out
    }

    /// What is checked again when a delayed popup comes due: the schedule and
    /// the caps (the audience and behaviour held at the trigger).
    /// For a test person the caps do not hold.
    fn when_due(&self, c: &Campaign, cal: &Calendar, test_person: bool) -> Result<(), Skip> {
        if c.schedule.has_ended(cal.now_ms) {
            return Err(Skip::Ended);
        }
        let started = c.schedule.start_ms.is_none_or(|s| cal.now_ms >= s) || test_person;
        if !started || !c.schedule.in_local_hours(&cal.local) {
            return Err(Skip::OutsideLocalHours);
        }
        if test_person {
            return Ok(());
        }
        let history = self.histories.get(&c.id).unwrap_or(&caps::NO_HISTORY);
        caps::campaign_allows(&c.frequency, history, cal).map_err(Skip::Cap)
    }

    pub fn next_due_delay_ms(&self) -> Option<i64> {
        self.delays.next_due_ms()
    }

    pub fn pending_delay(&self, campaign_id: &str) -> Option<&PendingDelay> {
        self.delays.get(campaign_id)
    }

    pub fn delays_mut(&mut self) -> &mut Delays {
        &mut self.delays
    }
}
