//! Campaigns by event name, so that an event no campaign listens to costs one
//! hash lookup per question, and the engine meets candidates best first.
//!
//! Three questions are asked of every event: which campaigns it may trigger
//! (or advance, for a sequence), which pending delays it may cancel, and which
//! goals it may convert.

use std::collections::HashMap;

use super::campaign::Campaign;

/// Campaigns by the events they listen to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TriggerIndex {
    /// Enabled campaigns by trigger event (every step's event for a sequence).
    by_event: HashMap<String, Box<[usize]>>,
    /// Enabled campaigns by the events of their delay's `cancel_on`.
    cancelled_by: HashMap<String, Box<[usize]>>,
    /// All campaigns, enabled or not, by goal event.
    goals: HashMap<String, Box<[usize]>>,
}

impl TriggerIndex {
    /// Indexes `campaigns`. Each list is in priority order, highest first,
    /// ties in pack order: the first candidate that is eligible is the one to
    /// offer. A campaign appears at most once per event name.
    pub fn build(campaigns: &[Campaign]) -> TriggerIndex {
        let mut by_event: HashMap<String, Vec<usize>> = HashMap::new();
        let mut cancelled_by: HashMap<String, Vec<usize>> = HashMap::new();
        let mut goals: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, c) in campaigns.iter().enumerate() {
            // A conversion for a popup shown before the campaign was disabled
            // still counts, so goals index disabled campaigns too.
            if let Some(goal) = &c.goal {
                goals.entry(goal.event.clone()).or_default().push(i);
            }
            if !c.enabled {
                continue;
            }
            for name in c.trigger.event_names() {
                by_event.entry(name.to_owned()).or_default().push(i);
            }
            if let Some(delay) = &c.delay {
                for (k, cancel) in delay.cancel_on.iter().enumerate() {
                    let listed_before =
                        delay.cancel_on[..k].iter().any(|e| e.event == cancel.event);
                    if !listed_before {
                        cancelled_by
                            .entry(cancel.event.clone())
                            .or_default()
                            .push(i);
                    }
                }
            }
        }
        TriggerIndex {
            by_event: by_priority(by_event, campaigns),
            cancelled_by: by_priority(cancelled_by, campaigns),
            goals: goals
                .into_iter()
                .map(|(event, list)| (event, list.into_boxed_slice()))
                .collect(),
        }
    }

    /// Indexes (into the pack's campaigns) of the enabled campaigns that
    /// `event` triggers, or advances for a sequence, best first; empty when
    /// none.
    pub fn candidates(&self, event: &str) -> &[usize] {
        lookup(&self.by_event, event)
    }

    /// Indexes of the enabled campaigns whose delay `event` may cancel (their
    /// `cancel_on` lists it), best first; empty when none.
    pub fn cancelled_by(&self, event: &str) -> &[usize] {
        lookup(&self.cancelled_by, event)
    }

    /// Indexes of the campaigns, enabled or not, whose goal event is `event`,
    /// in pack order; empty when none.
    pub fn goals_for(&self, event: &str) -> &[usize] {
        lookup(&self.goals, event)
    }

    /// The event names some enabled campaign triggers on (every step of a
    /// sequence included).
    pub fn events(&self) -> impl Iterator<Item = &str> {
        self.by_event.keys().map(String::as_str)
    }
}

fn lookup<'a>(map: &'a HashMap<String, Box<[usize]>>, event: &str) -> &'a [usize] {
    map.get(event).map_or(&[], |list| list)
}

/// Sorts each list by priority, highest first. Lists are built in pack order
/// and the sort is stable, so equal priorities keep pack order.
fn by_priority(
    map: HashMap<String, Vec<usize>>,
    campaigns: &[Campaign],
) -> HashMap<String, Box<[usize]>> {
    map.into_iter()
        .map(|(event, mut list)| {
            list.sort_by_key(|&i| std::cmp::Reverse(campaigns[i].priority));
            (event, list.into_boxed_slice())
        })
        .collect()
}
