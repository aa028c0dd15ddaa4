//! The behaviour counters the engine keeps for the current person, and the
//! answers they give to a pack's behaviour measures.
//!
//! Two kinds of series:
//! - **Plain counts, for every event name** (up to `MAX_PLAIN_SERIES`), from
//!   the first event on, so a campaign added later sees the history.
//! - **Filtered counts and sums**, only for the measures an active pack names,
//!   starting when a pack first asks for them: Reach does not keep every
//!   event's properties, so it cannot count them backwards.
//!
//! Series are keyed by `Measure::series_key()`, which depends only on the
//! measure's content: a pack update that keeps a condition keeps its counts.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use jiff::tz::TimeZone;

use super::counters::{Bucket, Series, Touched};
use crate::rules::{LocalTime, Measure, Observation, Predicate, PropertyLookup, RulePack};
use crate::value::Value;

/// Event names counted without being asked. Apps send tens of distinct
/// names, rarely hundreds; past this bound a new name is not counted (and a
/// pack measure naming it still gets its own series), so a buggy app that
/// puts ids in event names cannot grow the counters without bound.
pub const MAX_PLAIN_SERIES: usize = 1_000;

/// The series key of the plain count of `event` (what `Measure::series_key`
/// gives for an unfiltered count).
pub fn plain_key(event: &str) -> String {
    serde_json::Value::from(event).to_string()
}

/// A series an active pack asked for.
#[derive(Debug, Clone)]
struct Derived {
    key: String,
    filter: Option<Predicate>,
    /// For sums: the property added up.
    sum_of: Option<String>,
}

/// A series with the buckets that changed, as the store needs them.
pub struct DirtySeries<'a> {
    /// The store key: `plain_key(name)` or the measure's series key.
    pub key: String,
    pub series: &'a Series,
    /// (tier, bucket, value).
    pub buckets: Vec<(usize, i64, Bucket)>,
}

/// Buckets changed since the last `take_dirty`, by series key.
pub type Dirty = HashMap<String, HashSet<(usize, i64)>>;

#[derive(Debug, Default)]
pub struct Behaviours {
    /// Plain counts by event name (looked up without allocating per event).
    plain: HashMap<String, Series>,
    /// Filtered counts and sums by series key.
    derived_series: HashMap<String, Series>,
    /// The derived series to feed, by the event name they follow.
    derived: HashMap<String, Vec<Derived>>,
    /// Event names the active pack measures plainly: always counted.
    measured: HashSet<String>,
    /// Changes since the last `take_dirty`: plain series by event name,
    /// derived ones by key.
    dirty_plain: Dirty,
    dirty_derived: Dirty,
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v {
        Some(Value::Int(i)) => Some(*i as f64),
        Some(Value::Float(f)) => Some(*f),
        _ => None,
    }
}

fn mark(dirty: &mut Dirty, key: &str, touched: [Touched; 3]) {
    let set = match dirty.get_mut(key) {
        Some(set) => set,
        None => dirty.entry(key.to_owned()).or_default(),
    };
    for t in touched {
        set.insert((t.tier, t.bucket));
    }
}

impl Behaviours {
    /// Follows the measures of `pack` from now on. Series already kept stay.
    pub fn follow(&mut self, pack: &RulePack) {
        self.derived.clear();
        self.measured.clear();
        let mut seen = HashSet::default();
        for m in pack.measures() {
            let (filter, sum_of) = match m {
                Measure::Count {
                    filter: Some(f), ..
                } => (Some(f.clone()), None),
                Measure::Sum {
                    property, filter, ..
                } => (filter.clone(), Some(property.clone())),
                _ => {
                    // A name a pack measures is counted even past the bound.
                    self.measured.insert(m.event().to_owned());
                    continue;
                }
            };
            let key = m.series_key();
            if seen.insert(key.clone()) {
                self.derived
                    .entry(m.event().to_owned())
                    .or_default()
                    .push(Derived {
                        key,
                        filter,
                        sum_of,
                    });
            }
        }
    }

    /// Counts one event.
    pub fn record(&mut self, name: &str, props: &[(String, Value)], ts_ms: i64) {
        let room = self.plain.len() < MAX_PLAIN_SERIES || self.measured.contains(name);
        let series = if self.plain.contains_key(name) {
            self.plain.get_mut(name)
        } else if room {
            Some(self.plain.entry(name.to_owned()).or_default())
        } else {
            None
        };
        if let Some(series) = series {
            let touched = series.record(ts_ms, 1.0);
            mark(&mut self.dirty_plain, name, touched);
        }
        let Some(derived) = self.derived.get(name) else {
            return;
        };
        for d in derived {
            if !d.filter.as_ref().is_none_or(|f| f.matches(props)) {
                continue;
            }
            let amount = match &d.sum_of {
                Some(p) => number(props.property(p)).unwrap_or(0.0),
                None => 1.0,
            };
            let series = match self.derived_series.get_mut(&d.key) {
                Some(s) => s,
                None => self.derived_series.entry(d.key.clone()).or_default(),
            };
            let touched = series.record(ts_ms, amount);
            mark(&mut self.dirty_derived, &d.key, touched);
        }
    }

    fn series_for(&self, m: &Measure) -> Option<&Series> {
        match m {
            Measure::Count {
                filter: Some(_), ..
            }
            | Measure::Sum { .. } => self.derived_series.get(&m.series_key()),
            _ => self.plain.get(m.event()),
        }
    }

    /// Answers a measure at `now_ms`.
    pub fn observe(&self, m: &Measure, now_ms: i64, zone: &TimeZone) -> Observation {
        let series = self.series_for(m);
        let elapsed = |at: Option<i64>| {
            at.map(|t| crate::rules::Duration::from_secs((now_ms - t).max(0) as u64 / 1000))
        };
        match m {
            Measure::Count { window, .. } => {
                Observation::Count(series.map_or(0, |s| s.count(now_ms, window.as_millis())))
            }
            Measure::Sum { window, .. } => {
                Observation::Sum(series.map_or(0.0, |s| s.sum(now_ms, window.as_millis())))
            }
            Measure::FirstSeen { .. } => {
                Observation::Elapsed(elapsed(series.and_then(|s| s.first_ms)))
            }
            Measure::LastSeen { .. } => {
                Observation::Elapsed(elapsed(series.and_then(|s| s.last_ms)))
            }
            Measure::DaysSince { .. } => Observation::Days(
                series
                    .and_then(|s| s.last_ms)
                    .map(|t| (LocalTime::at(now_ms, zone).day - LocalTime::at(t, zone).day) as i64),
            ),
        }
    }

    /// The plain series of an event name.
    pub fn plain(&self, event: &str) -> Option<&Series> {
        self.plain.get(event)
    }

    /// Restores a series the store held under `key` (a plain key is the
    /// JSON-quoted event name; anything else is a derived key).
    pub fn restore(&mut self, key: &str, first_ms: Option<i64>, last_ms: Option<i64>) {
        let s = self.slot(key);
        s.first_ms = first_ms;
        s.last_ms = last_ms;
    }

    pub fn restore_bucket(&mut self, key: &str, tier: usize, bucket: i64, value: Bucket) {
        self.slot(key).restore_bucket(tier, bucket, value);
    }

    fn slot(&mut self, key: &str) -> &mut Series {
        match serde_json::from_str::<String>(key) {
            Ok(name) => self.plain.entry(name).or_default(),
            Err(_) => self.derived_series.entry(key.to_owned()).or_default(),
        }
    }

    /// What changed since the last call, for the store.
    pub fn take_dirty(&mut self) -> Vec<DirtySeries<'_>> {
        let plain = std::mem::take(&mut self.dirty_plain);
        let derived = std::mem::take(&mut self.dirty_derived);
        let mut out = Vec::new();
        for (name, buckets) in plain {
            if let Some(s) = self.plain.get(&name) {
                let b = buckets
                    .into_iter()
                    .map(|(t, b)| (t, b, s.bucket(t, b)))
                    .collect();
                out.push(DirtySeries {
                    key: plain_key(&name),
                    series: s,
                    buckets: b,
                });
            }
        }
        for (key, buckets) in derived {
            if let Some(s) = self.derived_series.get(&key) {
                let b = buckets
                    .into_iter()
                    .map(|(t, b)| (t, b, s.bucket(t, b)))
                    .collect();
                out.push(DirtySeries {
                    key,
                    series: s,
                    buckets: b,
                });
            }
        }
        out
    }

    /// Moves every occurrence stamped after `now_ms` to it (a backward clock
    /// correction, engine/timeline.rs); the changed buckets go to the store.
    pub fn rebase_future(&mut self, now_ms: i64) {
        for (name, s) in self.plain.iter_mut() {
            let touched = s.rebase_future(now_ms);
            if !touched.is_empty() {
                let set = self.dirty_plain.entry(name.clone()).or_default();
                set.extend(touched.iter().map(|t| (t.tier, t.bucket)));
            }
        }
        for (key, s) in self.derived_series.iter_mut() {
            let touched = s.rebase_future(now_ms);
            if !touched.is_empty() {
                let set = self.dirty_derived.entry(key.clone()).or_default();
                set.extend(touched.iter().map(|t| (t.tier, t.bucket)));
            }
        }
    }

    /// Drops buckets past every horizon; returns per tier the first bucket kept.
    pub fn prune(&mut self, now_ms: i64) -> [i64; 3] {
        for s in self
            .plain
            .values_mut()
            .chain(self.derived_series.values_mut())
        {
            s.prune(now_ms);
        }
        super::counters::first_kept(now_ms)
    }

    /// A fresh person: no history.
    pub fn clear(&mut self) {
        self.plain.clear();
        self.derived_series.clear();
        self.dirty_plain.clear();
        self.dirty_derived.clear();
    }

    /// Buckets held in memory, for the memory budget.
    pub fn bucket_count(&self) -> usize {
        self.plain
            .values()
            .chain(self.derived_series.values())
            .map(Series::bucket_count)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_a_pack_measures_are_counted_even_past_the_bound() {
        let pack = RulePack::parse(
            r#"{"format": "1.0", "campaigns": [{"id": "c", "trigger": {"event": "x"},
                "behaviour": [{"count": "late", "within": "1d", "op": "gte", "value": 1}],
                "popup": {"template": "modal", "title": "t"}}]}"#,
        )
        .unwrap();
        let mut b = Behaviours::default();
        b.follow(&pack);
        for i in 0..MAX_PLAIN_SERIES {
            b.record(&format!("noise{i}"), &[], 0);
        }
        b.record("unmeasured", &[], 0);
        b.record("late", &[], 0);
        assert!(
            b.plain("unmeasured").is_none(),
            "past the bound, names are not counted"
        );
        assert_eq!(b.plain("late").map(|s| s.count(0, 60_000)), Some(1));
    }
}
