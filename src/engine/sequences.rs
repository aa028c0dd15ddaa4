//! Sequence triggers: "A, then B within 10 minutes, then C within an hour".
//!
//! Progress per campaign is the number of steps done and when the last one
//! happened. It is kept per person and persisted with the events that moved
//! it, so a sequence survives restarts like counters do.
//!
//! Rules, in this order, for an event that names some step:
//! 1. progress whose next step is out of time is forgotten;
//! 2. an event matching the next step (in time) advances; the last step
//!    completes the sequence, which triggers the campaign and starts over;
//! 3. otherwise an event matching the first step starts a new attempt
//!    (someone who viewed an item again starts the clock again).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// How far one campaign's sequence got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    /// Steps done, at least 1 (no progress is not stored).
    pub done: usize,
    pub last_ms: i64,
}

/// What an event did to a sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The event did not move the sequence (`done` steps still stand).
    Unmoved { done: usize },
    /// Now `done` of the steps are done.
    Advanced { done: usize },
    /// The last step: the campaign triggers.
    Completed,
}

/// The sequence progress of the current person, by campaign id.
#[derive(Debug, Default)]
pub struct Sequences {
    progress: HashMap<String, Progress>,
    dirty: HashSet<String>,
}

impl Sequences {
    /// Applies an event at `ts` to the campaign's sequence of `steps` steps.
    /// `matches(i)` says whether the event is step `i` (name and conditions);
    /// `within(i)` is step `i`'s time limit after step `i - 1`.
    pub fn advance(
        &mut self,
        campaign_id: &str,
        steps: usize,
        ts: i64,
        matches: impl Fn(usize) -> bool,
        within: impl Fn(usize) -> Option<i64>,
    ) -> Step {
        let mut current = self.progress.get(campaign_id).copied();
        if let Some(p) = current {
            let limit = within(p.done).unwrap_or(i64::MAX);
            if p.done >= steps || ts.saturating_sub(p.last_ms) > limit {
                current = None;
            }
        }
        let done = current.map_or(0, |p| p.done);
        let next = if done > 0 && matches(done) {
            Some(done + 1)
        } else if matches(0) {
            Some(1)
        } else {
            None
        };
        match next {
            Some(n) if n >= steps => {
                self.set(campaign_id, None);
                Step::Completed
            }
            Some(n) => {
                self.set(
                    campaign_id,
                    Some(Progress {
                        done: n,
                        last_ms: ts,
                    }),
                );
                Step::Advanced { done: n }
            }
            None => {
                if current.is_none() && self.progress.contains_key(campaign_id) {
                    // Out of time: forget it, so it is not stored forever.
                    self.set(campaign_id, None);
                }
                Step::Unmoved { done }
            }
        }
    }

    /// Progress stamped after `now_ms` (a backward clock correction) is
    /// stamped `now_ms`: the next step's time limit runs from the
    /// correction, not from a moment days ahead.
    pub fn rebase_future(&mut self, now_ms: i64) {
        for (id, p) in self.progress.iter_mut() {
            if p.last_ms > now_ms {
                p.last_ms = now_ms;
                self.dirty.insert(id.clone());
            }
        }
    }

    pub fn get(&self, campaign_id: &str) -> Option<Progress> {
        self.progress.get(campaign_id).copied()
    }

    fn set(&mut self, campaign_id: &str, p: Option<Progress>) {
        match p {
            Some(p) => {
                self.progress.insert(campaign_id.to_owned(), p);
            }
            None => {
                if self.progress.remove(campaign_id).is_none() {
                    return;
                }
            }
        }
        self.dirty.insert(campaign_id.to_owned());
    }

    pub fn restore(&mut self, campaign_id: String, p: Progress) {
        self.progress.insert(campaign_id, p);
    }

    /// Changes since the last call: progress to store, or `None` to delete.
    pub fn take_dirty(&mut self) -> Vec<(String, Option<Progress>)> {
        if self.dirty.is_empty() {
            return Vec::new();
        }
        self.dirty
            .drain()
            .map(|id| {
                let p = self.progress.get(&id).copied();
                (id, p)
            })
            .collect()
    }

    pub fn clear(&mut self) {
        self.dirty.extend(self.progress.drain().map(|(id, _)| id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    /// view_item, then add_to_cart within 10 min, then checkout within 60 min.
    const STEPS: [&str; 3] = ["view_item", "add_to_cart", "checkout"];
    const WITHIN: [Option<i64>; 3] = [None, Some(10 * MIN), Some(60 * MIN)];

    fn feed(s: &mut Sequences, name: &str, ts: i64) -> Step {
        s.advance("c", 3, ts, |i| STEPS[i] == name, |i| WITHIN[i])
    }

    #[test]
    fn steps_in_order_and_in_time_complete_the_sequence() {
        let mut s = Sequences::default();
        assert_eq!(feed(&mut s, "view_item", 0), Step::Advanced { done: 1 });
        assert_eq!(feed(&mut s, "checkout", MIN), Step::Unmoved { done: 1 });
        assert_eq!(
            feed(&mut s, "add_to_cart", 5 * MIN),
            Step::Advanced { done: 2 }
        );
        assert_eq!(feed(&mut s, "checkout", 60 * MIN), Step::Completed);
        assert_eq!(s.get("c"), None, "a completed sequence starts over");
    }

    #[test]
    fn a_late_step_forgets_progress_and_the_first_step_restarts_it() {
        let mut s = Sequences::default();
        feed(&mut s, "view_item", 0);
        assert_eq!(
            feed(&mut s, "add_to_cart", 11 * MIN),
            Step::Unmoved { done: 0 },
            "10 minutes passed"
        );
        assert_eq!(s.get("c"), None);
        feed(&mut s, "view_item", 20 * MIN);
        assert_eq!(
            feed(&mut s, "view_item", 25 * MIN),
            Step::Advanced { done: 1 }
        );
        assert_eq!(s.get("c").unwrap().last_ms, 25 * MIN, "the clock restarted");
        assert_eq!(
            feed(&mut s, "add_to_cart", 34 * MIN),
            Step::Advanced { done: 2 }
        );
    }

    #[test]
    fn changes_are_reported_for_persistence() {
        let mut s = Sequences::default();
        feed(&mut s, "view_item", 0);
        let d = s.take_dirty();
        assert_eq!(
            d,
            vec![(
                "c".into(),
                Some(Progress {
                    done: 1,
                    last_ms: 0
                })
            )]
        );
        feed(&mut s, "add_to_cart", MIN);
        feed(&mut s, "checkout", 2 * MIN);
        assert_eq!(s.take_dirty(), vec![("c".into(), None)]);
        assert!(s.take_dirty().is_empty());
    }
}
