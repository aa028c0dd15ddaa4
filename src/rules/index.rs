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
    by_event: Lists,
    /// Enabled campaigns by the events of their delay's `cancel_on`.
    cancelled_by: Lists,
    /// All campaigns, enabled or not, by goal event.
    goals: Lists,
    /// `by_event` and `cancelled_by` with the paused campaigns too, for test
    /// persons; only built when the pack lists test persons and pauses a
    /// campaign, so other packs pay nothing for it.
    with_paused: Option<Box<(Lists, Lists)>>,
}

type Lists = HashMap<String, Box<[usize]>>;

impl TriggerIndex {
    /// Indexes `campaigns`. Each list is in priority order, highest first,
    /// ties in pack order: the first candidate that is eligible is the one to
    /// offer. A campaign appears at most once per event name.
    /// `for_test_persons`: also index the paused campaigns for test persons.
    pub fn build(campaigns: &[Campaign], for_test_persons: bool) -> TriggerIndex {
        let (by_event, cancelled_by, goals) = lists(campaigns, false);
        let with_paused = (for_test_persons && campaigns.iter().any(|c| !c.enabled)).then(|| {
            let (by_event, cancelled_by, _) = lists(campaigns, true);
            Box::new((by_event, cancelled_by))
        });
        TriggerIndex {
            by_event,
            cancelled_by,
            goals,
            with_paused,
        }
    }

    /// Indexes (into the pack's campaigns) of the enabled campaigns that
    /// `event` triggers, or advances for a sequence, best first; empty when
    /// none.
    pub fn candidates(&self, event: &str) -> &[usize] {
        lookup(&self.by_event, event)
    }

    /// [`TriggerIndex::candidates`] with the paused campaigns in the same
    /// priority order, for a test person.
    pub fn candidates_for_test_person(&self, event: &str) -> &[usize] {
        match &self.with_paused {
            Some(lists) => lookup(&lists.0, event),
            None => self.candidates(event),
        }
    }

    /// Indexes of the enabled campaigns whose delay `event` may cancel (their
    /// `cancel_on` lists it), best first; empty when none.
    pub fn cancelled_by(&self, event: &str) -> &[usize] {
        lookup(&self.cancelled_by, event)
    }

    /// [`TriggerIndex::cancelled_by`] with the paused campaigns, for a test
    /// person.
    pub fn cancelled_by_for_test_person(&self, event: &str) -> &[usize] {
        match &self.with_paused {
            Some(lists) => lookup(&lists.1, event),
            None => self.cancelled_by(event),
        }
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

/// Trigger, cancel and goal lists; paused campaigns in the first two only
/// when `with_paused`.
fn lists(campaigns: &[Campaign], with_paused: bool) -> (Lists, Lists, Lists) {
    let mut by_event: HashMap<String, Vec<usize>> = HashMap::new();
    let mut cancelled_by: HashMap<String, Vec<usize>> = HashMap::new();
    let mut goals: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, c) in campaigns.iter().enumerate() {
        // A conversion for a popup shown before the campaign was disabled
        // still counts, so goals index disabled campaigns too.
        if let Some(goal) = &c.goal {
            goals.entry(goal.event.clone()).or_default().push(i);
        }
        if !c.enabled && !with_paused {
            continue;
        }
        for name in c.trigger.event_names() {
            by_event.entry(name.to_owned()).or_default().push(i);
        }
        if let Some(delay) = &c.delay {
            for (k, cancel) in delay.cancel_on.iter().enumerate() {
                let listed_before = delay.cancel_on[..k].iter().any(|e| e.event == cancel.event);
                if !listed_before {
                    cancelled_by
                        .entry(cancel.event.clone())
                        .or_default()
                        .push(i);
                }
            }
        }
    }
    (
        by_priority(by_event, campaigns),
        by_priority(cancelled_by, campaigns),
        goals
            .into_iter()
            .map(|(event, list)| (event, list.into_boxed_slice()))
            .collect(),
    )
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
