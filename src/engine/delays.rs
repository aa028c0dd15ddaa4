//! Durable delays: popups scheduled for later ("30 minutes after add_to_cart,
//! unless purchase").
//!
//! At most one pending delay per campaign: a trigger that repeats while one
//! is pending does not start a second. The engine keeps them in memory,
//! indexed by due time, and marks every change dirty; the worker writes the
//! changes into the same transaction as the event that caused them, so a
//! delay survives an app kill exactly when its trigger event does. In-memory
//! timers alone are how other SDKs lose reminders on restart.

use std::collections::BTreeSet;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// A popup waiting for its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDelay {
    pub campaign_id: String,
    /// When the trigger happened.
    pub trigger_ms: i64,
    /// When the popup may be offered.
    pub due_ms: i64,
    /// When it is dropped if it could not be offered by then.
    pub expires_ms: i64,
}

/// The pending delays of the current person.
#[derive(Debug, Default)]
pub struct Delays {
    by_campaign: HashMap<String, PendingDelay>,
    by_due: BTreeSet<(i64, String)>,
    /// Campaign ids whose delay was scheduled or removed since the last save.
    dirty: HashSet<String>,
}

impl Delays {
    pub fn len(&self) -> usize {
        self.by_campaign.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_campaign.is_empty()
    }

    pub fn get(&self, campaign_id: &str) -> Option<&PendingDelay> {
        self.by_campaign.get(campaign_id)
    }

    /// Schedules `d`; `false` (and nothing changes) when its campaign already
    /// has one pending.
    pub fn schedule(&mut self, d: PendingDelay) -> bool {
        if self.by_campaign.contains_key(&d.campaign_id) {
            return false;
        }
        self.dirty.insert(d.campaign_id.clone());
        self.by_due.insert((d.due_ms, d.campaign_id.clone()));
        self.by_campaign.insert(d.campaign_id.clone(), d);
        true
    }

    /// Removes the campaign's pending delay (cancelled, offered or expired).
    pub fn remove(&mut self, campaign_id: &str) -> Option<PendingDelay> {
        let d = self.by_campaign.remove(campaign_id)?;
        self.by_due.remove(&(d.due_ms, d.campaign_id.clone()));
        self.dirty.insert(d.campaign_id.clone());
        Some(d)
    }

    /// The earliest due time, for the worker's wake-up.
    pub fn next_due_ms(&self) -> Option<i64> {
        self.by_due.first().map(|(due, _)| *due)
    }

    /// The delays due at `now_ms`, earliest first (still pending: the caller
    /// removes what it offers or drops).
    pub fn due(&self, now_ms: i64) -> impl Iterator<Item = &PendingDelay> + '_ {
        self.by_due
            .iter()
            .take_while(move |(due, _)| *due <= now_ms)
            .filter_map(|(_, id)| self.by_campaign.get(id))
    }

    /// Restores a stored delay (not dirty: it is already on disk).
    pub fn restore(&mut self, d: PendingDelay) {
        self.by_due.insert((d.due_ms, d.campaign_id.clone()));
        self.by_campaign.insert(d.campaign_id.clone(), d);
    }

    /// Changes since the last call: the delay to store, or `None` to delete.
    pub fn take_dirty(&mut self) -> Vec<(String, Option<PendingDelay>)> {
        if self.dirty.is_empty() {
            return Vec::new();
        }
        self.dirty
            .drain()
            .map(|id| {
                let d = self.by_campaign.get(&id).cloned();
                (id, d)
            })
            .collect()
    }

    /// A new person: nothing pending (the deletions are dirty).
    pub fn clear(&mut self) {
        self.dirty
            .extend(self.by_campaign.drain().map(|(id, _)| id));
        self.by_due.clear();
    }

    pub fn iter(&self) -> impl Iterator<Item = &PendingDelay> {
        self.by_campaign.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: &str, due: i64) -> PendingDelay {
        PendingDelay {
            campaign_id: id.into(),
            trigger_ms: due - 10,
            due_ms: due,
            expires_ms: due + 100,
        }
    }

    #[test]
    fn one_pending_delay_per_campaign() {
        let mut q = Delays::default();
        assert!(q.schedule(d("cart", 100)));
        assert!(
            !q.schedule(d("cart", 200)),
            "a repeat does not start a second"
        );
        assert_eq!(q.get("cart").unwrap().due_ms, 100);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn due_lists_in_due_order_and_removal_updates_the_index() {
        let mut q = Delays::default();
        q.schedule(d("b", 200));
        q.schedule(d("a", 100));
        q.schedule(d("c", 300));
        assert_eq!(q.next_due_ms(), Some(100));
        let due: Vec<_> = q.due(250).map(|d| d.campaign_id.clone()).collect();
        assert_eq!(due, ["a", "b"]);
        q.remove("a");
        assert_eq!(q.next_due_ms(), Some(200));
        assert_eq!(q.due(150).count(), 0);
    }

    #[test]
    fn changes_are_reported_once_as_upserts_or_deletions() {
        let mut q = Delays::default();
        q.restore(d("old", 50));
        assert!(
            q.take_dirty().is_empty(),
            "restored delays are on disk already"
        );
        q.schedule(d("new", 100));
        q.remove("old");
        let mut dirty = q.take_dirty();
        dirty.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(dirty[0].0, "new");
        assert!(dirty[0].1.is_some());
        assert_eq!(dirty[1], ("old".to_owned(), None));
        assert!(q.take_dirty().is_empty());
        q.clear();
        assert_eq!(q.take_dirty(), vec![("new".to_owned(), None)]);
        assert_eq!(q.next_due_ms(), None);
    }
}
