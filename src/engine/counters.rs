//! Behaviour counters: how often an event happened (and the sum of a numeric
//! property) in rolling windows from a minute to a year, plus when it was
//! first and last seen.
//!
//! Each series keeps sparse buckets at three resolutions, so a query costs
//! O(buckets in the window) and never scans the event history:
//!
//! | window up to | bucket width | buckets kept |
//! |---|---|---|
//! | 1 day   | 1 minute | the last 1,440 |
//! | 90 days | 1 hour   | the last 2,160 |
//! | 366 days| 1 day (UTC) | the last 366 |
//!
//! A window of length W on a tier of width r covers the current bucket and the
//! `ceil(W / r) - 1` before it: an event at time t counts at time `now` iff
//! `floor(t / r) >= floor(now / r) - ceil(W / r) + 1`. So the window's far edge
//! is rounded to whole buckets (an event exactly W ago is out; one at most r
//! earlier than that may be in), and the near edge includes everything up to
//! now, and also events stamped later than now: a clock set backwards never
//! un-counts what happened. The property tests' reference model uses the same
//! definition.

use std::collections::VecDeque;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// One resolution of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    pub width_ms: i64,
    /// Longest window this tier answers (and how far back it keeps buckets).
    pub horizon_ms: i64,
}

/// Minute buckets for a day, hour buckets for 90 days, day buckets for a year
/// and a day: the finest resolution whose memory stays small (at most ~4,000
/// buckets per series, and far fewer in practice, since buckets are sparse).
pub const TIERS: [Tier; 3] = [
    Tier {
        width_ms: MINUTE_MS,
        horizon_ms: DAY_MS,
    },
    Tier {
        width_ms: HOUR_MS,
        horizon_ms: 90 * DAY_MS,
    },
    Tier {
        width_ms: DAY_MS,
        horizon_ms: 366 * DAY_MS,
    },
];

/// The tier that answers a window of `window_ms`; windows past a year and a
/// day are answered as a year and a day (the pack parser refuses them).
pub fn tier_for(window_ms: i64) -> usize {
    TIERS
        .iter()
        .position(|t| window_ms <= t.horizon_ms)
        .unwrap_or(TIERS.len() - 1)
}

/// Floor division for bucket numbers (timestamps before 1970 stay correct).
fn bucket_of(ts_ms: i64, width_ms: i64) -> i64 {
    ts_ms.div_euclid(width_ms)
}

/// The first bucket inside a window of `window_ms` ending at `now_ms`.
fn first_bucket(now_ms: i64, window_ms: i64, width_ms: i64) -> i64 {
    let buckets = (window_ms.max(1) + width_ms - 1) / width_ms;
    bucket_of(now_ms, width_ms) - buckets + 1
}

/// Per tier, the oldest bucket a window can still reach at `now_ms`.
pub fn first_kept(now_ms: i64) -> [i64; 3] {
    let mut out = [0; 3];
    for (i, tier) in TIERS.iter().enumerate() {
        out[i] = first_bucket(now_ms, tier.horizon_ms, tier.width_ms);
    }
    out
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bucket {
    pub count: u64,
    pub sum: f64,
}

/// Where one recorded occurrence landed: what to persist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touched {
    pub tier: usize,
    pub bucket: i64,
}

/// One tier's buckets, ascending by number. A sorted `VecDeque` rather than
/// a `BTreeMap`: occurrences arrive in time order, so recording appends at
/// the back and pruning drops from the front, and a window's sum is a binary
/// search and then one contiguous run (walking a `BTreeMap` range was ~17 %
/// of a 1,000-campaign decision in a profile). An occurrence stamped out of
/// order is inserted in place.
#[derive(Debug, Clone, Default, PartialEq)]
struct Buckets(VecDeque<(i64, Bucket)>);

impl Buckets {
    /// Where buckets numbered `first` and above start.
    fn start_of(&self, first: i64) -> usize {
        self.0.partition_point(|(b, _)| *b < first)
    }

    fn entry(&mut self, bucket: i64) -> &mut Bucket {
        let i = match self.0.back() {
            Some((last, _)) if *last >= bucket => {
                match self.0.binary_search_by_key(&bucket, |(b, _)| *b) {
                    Ok(i) => i,
                    Err(i) => {
                        self.0.insert(i, (bucket, Bucket::default()));
                        i
                    }
                }
            }
            _ => {
                self.0.push_back((bucket, Bucket::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }

    fn get(&self, bucket: i64) -> Option<Bucket> {
        self.0
            .binary_search_by_key(&bucket, |(b, _)| *b)
            .ok()
            .map(|i| self.0[i].1)
    }

    /// The buckets numbered `first` and above, in order.
    fn from(&self, first: i64) -> impl Iterator<Item = &Bucket> {
        self.0.range(self.start_of(first)..).map(|(_, b)| b)
    }

    /// Removes and returns the buckets numbered `first` and above.
    fn split_off(&mut self, first: i64) -> VecDeque<(i64, Bucket)> {
        let i = self.start_of(first);
        self.0.split_off(i)
    }

    /// Drops the buckets numbered below `first`.
    fn drop_before(&mut self, first: i64) {
        let i = self.start_of(first);
        self.0.drain(..i);
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// The counters of one thing being counted (an event name, or an event with
/// a filter, or the sum of one property).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    tiers: [Buckets; 3],
}

impl Series {
    /// Counts one occurrence at `ts_ms`, adding `amount` to the sum.
    pub fn record(&mut self, ts_ms: i64, amount: f64) -> [Touched; 3] {
        self.first_ms = Some(self.first_ms.map_or(ts_ms, |f| f.min(ts_ms)));
        self.last_ms = Some(self.last_ms.map_or(ts_ms, |l| l.max(ts_ms)));
        let mut touched = [Touched { tier: 0, bucket: 0 }; 3];
        for (i, tier) in TIERS.iter().enumerate() {
            let bucket = bucket_of(ts_ms, tier.width_ms);
            let b = self.tiers[i].entry(bucket);
            b.count += 1;
            b.sum += amount;
            touched[i] = Touched { tier: i, bucket };
        }
        touched
    }

    pub fn bucket(&self, tier: usize, bucket: i64) -> Bucket {
        self.tiers[tier].get(bucket).unwrap_or_default()
    }

    /// Restores a bucket read from the store.
    pub fn restore_bucket(&mut self, tier: usize, bucket: i64, value: Bucket) {
        if tier < TIERS.len() {
            *self.tiers[tier].entry(bucket) = value;
        }
    }

    fn window(&self, now_ms: i64, window_ms: i64) -> impl Iterator<Item = &Bucket> {
        let t = tier_for(window_ms);
        let from = first_bucket(now_ms, window_ms, TIERS[t].width_ms);
        self.tiers[t].from(from)
    }

    /// Occurrences in the window of `window_ms` ending at `now_ms`.
    pub fn count(&self, now_ms: i64, window_ms: i64) -> u64 {
        self.window(now_ms, window_ms).map(|b| b.count).sum()
    }

    /// Sum of the amounts in that window.
    pub fn sum(&self, now_ms: i64, window_ms: i64) -> f64 {
        self.window(now_ms, window_ms).map(|b| b.sum).sum()
    }

    /// After a backward clock correction to `now_ms` (engine/timeline.rs):
    /// buckets stamped after `now_ms` merge into its bucket, and first and
    /// last seen move to it. Without this an occurrence stamped days ahead
    /// would count in every window for those extra days and read as "seen
    /// just now" until real time caught up. Returns the buckets changed
    /// (emptied or merged into), for the store.
    pub fn rebase_future(&mut self, now_ms: i64) -> Vec<Touched> {
        let mut touched = Vec::new();
        for (i, tier) in TIERS.iter().enumerate() {
            let now_bucket = bucket_of(now_ms, tier.width_ms);
            let ahead = self.tiers[i].split_off(now_bucket + 1);
            if ahead.is_empty() {
                continue;
            }
            let mut merged = self.bucket(i, now_bucket);
            for (bucket, b) in ahead {
                merged.count += b.count;
                merged.sum += b.sum;
                touched.push(Touched { tier: i, bucket });
            }
            *self.tiers[i].entry(now_bucket) = merged;
            touched.push(Touched {
                tier: i,
                bucket: now_bucket,
            });
        }
        for t in [&mut self.first_ms, &mut self.last_ms]
            .into_iter()
            .flatten()
        {
            *t = (*t).min(now_ms);
        }
        touched
    }

    /// Drops buckets no window can reach any more (see `first_kept`).
    pub fn prune(&mut self, now_ms: i64) {
        for (i, from) in first_kept(now_ms).into_iter().enumerate() {
            self.tiers[i].drop_before(from);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.first_ms.is_none()
    }

    /// Buckets held, for memory accounting.
    pub fn bucket_count(&self) -> usize {
        self.tiers.iter().map(Buckets::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition in the module docs, applied to the raw list of times.
    fn reference_count(events: &[(i64, f64)], now: i64, window: i64) -> (u64, f64) {
        let width = TIERS[tier_for(window)].width_ms;
        let from = first_bucket(now, window, width);
        events
            .iter()
            .filter(|(t, _)| bucket_of(*t, width) >= from)
            .fold((0, 0.0), |(c, s), (_, a)| (c + 1, s + a))
    }

    #[test]
    fn seven_day_window_on_hour_buckets_matches_the_login_streak_scenario() {
        let day = DAY_MS;
        let at = |d: i64| d * day + 10 * HOUR_MS;
        let mut s = Series::default();
        for d in [0, 2, 5] {
            s.record(at(d), 1.0);
        }
        assert_eq!(s.count(at(5), 7 * day), 3);
        let mut s = Series::default();
        for d in [0, 3, 8] {
            s.record(at(d), 1.0);
        }
        assert_eq!(
            s.count(at(8), 7 * day),
            2,
            "d0 is outside the 7 days before d8"
        );
        // Exactly seven days ago is out; the edge is rounded to whole hours.
        let mut s = Series::default();
        s.record(at(0), 1.0);
        assert_eq!(s.count(at(7), 7 * day), 0);
        assert_eq!(s.count(at(7) - 1, 7 * day), 1);
    }

    #[test]
    fn a_correction_moves_future_occurrences_to_now() {
        let mut s = Series::default();
        s.record(0, 1.0);
        s.record(3 * DAY_MS, 2.0);
        s.record(3 * DAY_MS + MINUTE_MS, 4.0);
        let now = HOUR_MS;
        let touched = s.rebase_future(now);
        // Per tier: two buckets emptied (or one, where both fall together)
        // and the current one merged into.
        assert!(touched.contains(&Touched {
            tier: 0,
            bucket: now / MINUTE_MS
        }));
        assert!(touched.contains(&Touched {
            tier: 1,
            bucket: 3 * 24
        }));
        assert_eq!(s.count(now, DAY_MS), 3);
        assert_eq!(s.sum(now, DAY_MS), 7.0);
        assert_eq!(s.last_ms, Some(now));
        assert_eq!(s.first_ms, Some(0));
        // A window counted from now lets them go at its far edge, not three
        // days later.
        assert_eq!(s.count(now + 7 * DAY_MS, 7 * DAY_MS), 0);
        assert_eq!(s.bucket(1, 3 * 24), Bucket::default());
        assert!(s.rebase_future(now).is_empty(), "nothing left ahead");
    }

    #[test]
    fn tiers_are_chosen_by_window_length() {
        assert_eq!(tier_for(MINUTE_MS), 0);
        assert_eq!(tier_for(DAY_MS), 0);
        assert_eq!(tier_for(DAY_MS + 1), 1);
        assert_eq!(tier_for(90 * DAY_MS), 1);
        assert_eq!(tier_for(365 * DAY_MS), 2);
    }

    #[test]
    fn first_and_last_seen_and_future_stamps_count() {
        let mut s = Series::default();
        s.record(5_000_000, 2.5);
        s.record(1_000_000, 1.0);
        assert_eq!((s.first_ms, s.last_ms), (Some(1_000_000), Some(5_000_000)));
        // The clock went back to before both events: they still count.
        assert_eq!(s.count(0, MINUTE_MS), 2);
        assert_eq!(s.sum(0, MINUTE_MS), 3.5);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn counts_and_sums_match_the_reference_model(
            gaps in proptest::collection::vec(0i64..(3 * DAY_MS), 1..60),
            amounts in proptest::collection::vec(-100i32..100, 60),
            queries in proptest::collection::vec((0i64..(4 * DAY_MS), 1i64..(400 * DAY_MS)), 1..20),
            prune_every in 1usize..20,
        ) {
            let start = 1_790_000_000_000i64;
            let mut t = start;
            let mut events = Vec::new();
            let mut s = Series::default();
            for (i, gap) in gaps.iter().enumerate() {
                t += gap;
                let amount = amounts[i] as f64;
                s.record(t, amount);
                events.push((t, amount));
                if i % prune_every == 0 {
                    s.prune(t);
                }
            }
            for (after, window) in queries {
                let now = t + after;
                let (count, sum) = reference_count(&events, now, window);
                prop_assert_eq!(s.count(now, window), count, "window {} at +{}", window, after);
                prop_assert!((s.sum(now, window) - sum).abs() < 1e-6);
            }
        }
    }
}
