//! Campaigns by trigger event name, so that an event no campaign listens to
//! costs one hash lookup, and the engine meets candidates best first.

use std::collections::HashMap;

use super::campaign::Campaign;

/// Enabled campaigns by the event that triggers them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TriggerIndex {
    by_event: HashMap<String, Box<[usize]>>,
}

impl TriggerIndex {
    /// Indexes the enabled campaigns of `campaigns`. Each event's list is in
    /// priority order, highest first, ties in pack order: the first candidate
    /// that is eligible is the one to offer.
    pub fn build(campaigns: &[Campaign]) -> TriggerIndex {
        let mut by_event: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, c) in campaigns.iter().enumerate().filter(|(_, c)| c.enabled) {
            by_event.entry(c.trigger.event.clone()).or_default().push(i);
        }
        let by_event = by_event
            .into_iter()
            .map(|(event, mut list)| {
                // Stable, so equal priorities keep pack order.
                list.sort_by_key(|&i| std::cmp::Reverse(campaigns[i].priority));
                (event, list.into_boxed_slice())
            })
            .collect();
        TriggerIndex { by_event }
    }

    /// Indexes (into the pack's campaigns) of the enabled campaigns that
    /// `event` triggers, best first; empty when none.
    pub fn candidates(&self, event: &str) -> &[usize] {
        self.by_event.get(event).map_or(&[], |list| list)
    }

    /// The event names some enabled campaign triggers on.
    pub fn events(&self) -> impl Iterator<Item = &str> {
        self.by_event.keys().map(String::as_str)
    }
}
