//! Whether one campaign may be offered for an event (`TriggerEngine::eligible`),
//! cheapest test first, and the verdicts an event shares between campaigns:
//! campaigns with an equal audience, trigger filter or behaviour condition
//! (grouped by the pack at load) get one judgement per event.

use super::caps::{self, Calendar};
use super::{Person, Skip, TriggerEngine};
use crate::rules::{AudienceContext, Platform, RulePack};
use crate::value::Value;

impl TriggerEngine {
    /// Whether campaign `idx` may be offered now. `verdicts` carries the
    /// person's tags and the audiences and filters judged for this event.
    pub(super) fn eligible(
        &self,
        idx: usize,
        props: &[(String, Value)],
        cal: &Calendar,
        person: &Person,
        verdicts: &mut Verdicts,
    ) -> Result<(), Skip> {
        let pack = &self.pack;
        let c = pack.campaign(idx);
        let (now_ms, local) = (cal.now_ms, &cal.local);
        let filter = pack.filter_group(idx);
        let matched = c.trigger.filter.is_none()
            || match verdicts.of.filters.get(filter, verdicts.of.generation) {
                Some(m) => *m,
                None => {
                    let m = c.trigger.matches(props);
                    verdicts.of.filters.set(filter, verdicts.of.generation, m);
                    m
                }
            };
        if !matched {
            return Err(Skip::PropertyFilter);
        }
        // A test person previews a campaign before it starts.
        if c.schedule.start_ms.is_some_and(|s| now_ms < s) && !person.test {
            return Err(Skip::NotStarted);
        }
        if c.schedule.has_ended(now_ms) {
            return Err(Skip::Ended);
        }
        if !c.schedule.in_local_hours(local) {
            return Err(Skip::OutsideLocalHours);
        }
        if self.device.platform.is_none() && !c.audience.platforms.is_empty() {
            return Err(Skip::Audience);
        }
        let group = pack.audience_group(idx);
        let in_audience = match verdicts.of.audiences.get(group, verdicts.of.generation) {
            Some(m) => *m,
            None => {
                let ctx = AudienceContext {
                    user_properties: person.user_properties,
                    tags: &verdicts.tags,
                    app_version: self.device.app_version.as_ref(),
                    // Only read when the audience names platforms (checked above).
                    platform: self.device.platform.unwrap_or(Platform::Android),
                    locale: &self.device.locale,
                    identified: person.identified,
                    segments: person.segments,
                };
                let matched = c.audience.matches(&ctx);
                verdicts
                    .of
                    .audiences
                    .set(group, verdicts.of.generation, matched);
                matched
            }
        };
        if !in_audience {
            return Err(Skip::Audience);
        }
        if let Some(b) = &c.behaviour {
            let group = pack.behaviour_group(idx);
            let generation = verdicts.of.generation;
            let failed = match verdicts.of.behaviours.get(group, generation) {
                Some(known) => known.clone(),
                None => {
                    let mut failed = None;
                    let ok = b.eval(&mut |test| {
                        let observation =
                            self.behaviours
                                .observe(&test.measure, now_ms, &self.device.zone);
                        let held = test.holds(observation);
                        if !held && failed.is_none() {
                            failed = Some((test.to_string(), observed(&test.measure, observation)));
                        }
                        held
                    });
                    let failed = if ok {
                        None
                    } else {
                        Some(failed.unwrap_or_default())
                    };
                    if verdicts.of.behaviours.holds(group) {
                        verdicts
                            .of
                            .behaviours
                            .set(group, generation, failed.clone());
                    }
                    failed
                }
            };
            if let Some((test, observed)) = failed {
                return Err(Skip::Behaviour { test, observed });
            }
        }
        let history = self.histories.get(&c.id).unwrap_or(&caps::NO_HISTORY);
        if let Some(inv) = &c.inventory {
            if history.prizes >= inv.per_user {
                return Err(Skip::PrizeLimit { max: inv.per_user });
            }
        }
        if person.test {
            return Ok(());
        }
        caps::campaign_allows(&c.frequency, history, cal).map_err(Skip::Cap)
    }
}

/// What the counters showed for a failed behaviour condition, in words:
/// "the count was 1", "it last happened 3d ago", "it never happened".
fn observed(m: &crate::rules::Measure, o: crate::rules::Observation) -> String {
    use crate::rules::{Measure, Observation};
    let which = match m {
        Measure::FirstSeen { .. } => "first",
        _ => "last",
    };
    match o {
        Observation::Count(n) => format!("the count was {n}"),
        Observation::Sum(s) => format!("the sum was {s}"),
        Observation::Elapsed(Some(d)) => format!("it {which} happened {d} ago"),
        Observation::Days(Some(0)) => "it last happened today".to_owned(),
        Observation::Days(Some(d)) => format!("it last happened {d} day(s) ago"),
        Observation::Elapsed(None) | Observation::Days(None) => "it never happened".to_owned(),
    }
}

/// One event's verdicts, each judged at most once per event however many
/// campaigns share it: per audience group of the pack, whether the person is
/// in it; per trigger-filter group, whether the event's properties match.
pub(super) struct Verdicts {
    pub(super) tags: std::collections::BTreeSet<String>,
    pub(super) of: VerdictBuffers,
}

/// Per group of the pack, the verdict judged for this event. Kept by the
/// engine between events and never cleared: a slot counts only when stamped
/// with this event's generation, so an event with few candidates pays for
/// those, not for every group of the pack.
#[derive(Default)]
pub(super) struct VerdictBuffers {
    generation: u32,
    audiences: Slots<bool>,
    filters: Slots<bool>,
    /// `Some` for a behaviour condition that failed: the failed test and
    /// what the counters showed, for `Skip::Behaviour`.
    behaviours: Slots<Option<(String, String)>>,
}

impl VerdictBuffers {
    /// A new generation (every slot unknown), sized for `pack`'s groups.
    pub(super) fn reset(&mut self, pack: &RulePack) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // Wrapped after 2^32 decisions: stamps from long ago must not
            // read as this generation's.
            *self = VerdictBuffers::default();
            self.generation = 1;
        }
        self.audiences.size(pack.audience_group_count());
        self.filters.size(pack.filter_group_count());
        self.behaviours.size(pack.behaviour_group_count());
    }
}

/// Verdicts by group, each stamped with the generation that judged it.
struct Slots<T>(Vec<(u32, T)>);

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots(Vec::new())
    }
}

impl<T: Default + Clone> Slots<T> {
    fn size(&mut self, n: usize) {
        if self.0.len() != n {
            self.0.resize(n, (0, T::default()));
        }
    }

    fn get(&self, group: usize, generation: u32) -> Option<&T> {
        self.0
            .get(group)
            .filter(|(stamp, _)| *stamp == generation)
            .map(|(_, v)| v)
    }

    /// Whether `group` has a slot (a group past the slots is one campaign's
    /// alone).
    fn holds(&self, group: usize) -> bool {
        group < self.0.len()
    }

    /// Remembers a verdict; a group past the slots is not remembered.
    fn set(&mut self, group: usize, generation: u32, value: T) {
        if let Some(slot) = self.0.get_mut(group) {
            *slot = (generation, value);
        }
    }
}
