//! Frequency caps: per campaign (total, per period, minimum interval, after a
//! dismiss or a click) and across campaigns (per session, per day, minimum
//! gap, quiet hours).
//!
//! Pure functions over the impression history the engine keeps for the
//! current person. Two rules keep caps honest:
//! - **A clock set backwards never resets a cap.** An impression stamped later
//!   than "now" still counts in every period, and a minimum interval measured
//!   against it is not yet over.
//! - **One popup at a time.** While an offer is in flight the engine offers
//!   nothing else, so two triggers in quick succession can never both show
//!   (firebase-ios-sdk#9070).

use std::fmt;

use jiff::tz::TimeZone;

use crate::rules::{Frequency, GlobalLimits, LocalTime, Period, Reeligibility};

/// Impressions kept per campaign and globally: a year and a day covers the
/// longest period a cap can name; older ones only feed `max_total`, which is
/// kept as a number.
pub const HISTORY_HORIZON_MS: i64 = 366 * 24 * 3_600_000;

/// A campaign never shown to the current person.
pub static NO_HISTORY: CampaignHistory = CampaignHistory {
    impressions: Vec::new(),
    total: 0,
    last_dismissed_ms: None,
    last_clicked_ms: None,
    exposure: None,
    prizes: 0,
    moved: Vec::new(),
};

/// What the engine remembers about one campaign for the current person.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CampaignHistory {
    /// Impression (and control exposure) times within the horizon, oldest first.
    pub impressions: Vec<i64>,
    /// Impressions ever.
    pub total: u32,
    pub last_dismissed_ms: Option<i64>,
    pub last_clicked_ms: Option<i64>,
    /// The last impression or control exposure: it opens the goal's
    /// attribution window.
    #[serde(default)]
    pub exposure: Option<Exposure>,
    /// Prizes this person received from the campaign's inventory.
    #[serde(default)]
    pub prizes: u32,
    /// Impressions a clock correction moved: `[now stamp, original stamp]`.
    /// The original still counts in the calendar period it falls in, so a
    /// clock set back by days and then forward again resets no daily or
    /// weekly cap (engine/timeline.rs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<[i64; 2]>,
}

/// An impression or a control exposure, for conversion attribution.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Exposure {
    pub at_ms: i64,
    pub variant: String,
    pub offer_id: String,
    /// The window's first goal event was attributed: later ones are not.
    pub converted: bool,
    /// A test person's exposure: its conversion carries the test flag too.
    #[serde(default, skip_serializing_if = "is_false")]
    pub test: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Exposure {
    /// An exposure at `at_ms` whose goal window has not converted yet.
    pub fn new(at_ms: i64, variant: &str, offer_id: &str, test: bool) -> Exposure {
        Exposure {
            at_ms,
            variant: variant.to_owned(),
            offer_id: offer_id.to_owned(),
            converted: false,
            test,
        }
    }
}

impl CampaignHistory {
    pub fn record_impression(&mut self, at_ms: i64) {
        self.impressions.push(at_ms);
        self.total = self.total.saturating_add(1);
    }

    /// Forgets impressions no cap can reach any more.
    pub fn prune(&mut self, now_ms: i64) {
        let horizon = now_ms - HISTORY_HORIZON_MS;
        self.impressions.retain(|&t| t > horizon);
        self.moved
            .retain(|&[at, original]| at.max(original) > horizon);
    }
}

/// Impressions across all campaigns for the current person.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GlobalHistory {
    pub impressions: Vec<i64>,
    /// The session the count below belongs to.
    pub session_id: String,
    pub in_session: u32,
    /// As `CampaignHistory::moved`, for `max_per_day`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<[i64; 2]>,
}

impl GlobalHistory {
    pub fn record_impression(&mut self, at_ms: i64, session_id: &str) {
        if self.session_id != session_id {
            self.session_id = session_id.to_owned();
            self.in_session = 0;
        }
        self.in_session += 1;
        self.impressions.push(at_ms);
    }

    pub fn prune(&mut self, now_ms: i64) {
        // Global periods are at most a day; keep two to be safe across zones.
        let horizon = now_ms - 2 * 24 * 3_600_000;
        self.impressions.retain(|&t| t > horizon);
        self.moved
            .retain(|&[at, original]| at.max(original) > horizon);
    }
}

/// Why a cap holds a campaign back. Displayed in the log and in `explain()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    TotalCap { max: u32 },
    PeriodCap { max: u32, period: Period, seen: u32 },
    MinInterval { last_ms: i64, interval_ms: i64 },
    DismissedRecently { dismissed_ms: i64, wait_ms: i64 },
    DismissedForever,
    Clicked,
    ClickedRecently { clicked_ms: i64, wait_ms: i64 },
    SessionCap { max: u32 },
    DayCap { max: u32 },
    MinGap { last_ms: i64, gap_ms: i64 },
    QuietHours { window: String },
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = |ms: &i64| ms / 1000;
        let at = |ms: &i64| crate::rfc3339::rfc3339_ms(*ms);
        match self {
            Blocked::TotalCap { max } => {
                write!(f, "shown {max} times in total, the campaign's limit")
            }
            Blocked::PeriodCap { max, period, seen } => {
                write!(
                    f,
                    "shown {seen} times this {}, the limit is {max}",
                    period_name(*period)
                )
            }
            Blocked::MinInterval {
                last_ms,
                interval_ms,
            } => write!(
                f,
                "last shown at {}; the campaign waits {} s between impressions",
                at(last_ms),
                secs(interval_ms)
            ),
            Blocked::DismissedRecently {
                dismissed_ms,
                wait_ms,
            } => write!(
                f,
                "dismissed at {}; eligible again {} s after a dismiss",
                at(dismissed_ms),
                secs(wait_ms)
            ),
            Blocked::DismissedForever => write!(
                f,
                "dismissed, and the campaign never shows again after a dismiss"
            ),
            Blocked::Clicked => write!(
                f,
                "clicked, and the campaign never shows again after a click"
            ),
            Blocked::ClickedRecently {
                clicked_ms,
                wait_ms,
            } => write!(
                f,
                "clicked at {}; eligible again {} s after a click",
                at(clicked_ms),
                secs(wait_ms)
            ),
            Blocked::SessionCap { max } => write!(f, "{max} popups this session, the global limit"),
            Blocked::DayCap { max } => write!(f, "{max} popups today, the global limit"),
            Blocked::MinGap { last_ms, gap_ms } => write!(
                f,
                "a popup was shown at {}; at least {} s must pass between popups",
                at(last_ms),
                secs(gap_ms)
            ),
            Blocked::QuietHours { window } => write!(f, "quiet hours ({window}, device time)"),
        }
    }
}

/// Impressions that fall in the current `period` (or later: see module docs),
/// and impressions a clock correction moved out of it whose original stamp is
/// in it (each counted once).
fn seen_in(period: Period, impressions: &[i64], moved: &[[i64; 2]], cal: &Calendar) -> u32 {
    // Local dates never go backwards as instants go forwards, so "on today's
    // local date or later" is "at or after today's local midnight": one
    // comparison per impression, no timezone work.
    let from = match period {
        Period::LocalDay => cal.day_start_ms,
        Period::LocalWeek => cal.week_start_ms,
        Period::Rolling(d) => cal.now_ms - d.as_millis() + 1,
    };
    let until = match period {
        Period::LocalDay => cal.day_end_ms,
        Period::LocalWeek => cal.week_end_ms,
        Period::Rolling(_) => cal.now_ms.saturating_add(1),
    };
    let now = impressions.iter().filter(|&&t| t >= from).count();
    let originally = moved
        .iter()
        .filter(|&&[at, original]| at < from && (from..until).contains(&original))
        .count();
    (now + originally) as u32
}

/// The local calendar around a decision's "now", computed once per event.
#[derive(Debug, Clone, Copy)]
pub struct Calendar {
    pub now_ms: i64,
    pub local: LocalTime,
    /// Today's local midnight.
    pub day_start_ms: i64,
    /// This ISO week's Monday, local midnight.
    pub week_start_ms: i64,
    /// Tomorrow's local midnight, and next Monday's.
    pub day_end_ms: i64,
    pub week_end_ms: i64,
}

impl Calendar {
    pub fn at(now_ms: i64, zone: &TimeZone) -> Calendar {
        let local = LocalTime::at(now_ms, zone);
        let instant =
            jiff::Timestamp::from_millisecond(now_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let date = zone.to_datetime(instant).date();
        let midnight = |d: jiff::civil::Date| {
            zone.to_ambiguous_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
                .compatible()
                .map(|t| t.as_millisecond())
                .unwrap_or(i64::MIN)
        };
        let back = i64::from(date.weekday().to_monday_zero_offset());
        let monday = date
            .checked_sub(jiff::Span::new().days(back))
            .unwrap_or(date);
        let later = |d: jiff::civil::Date, days: i64| {
            d.checked_add(jiff::Span::new().days(days))
                .map(midnight)
                .unwrap_or(i64::MAX)
        };
        Calendar {
            now_ms,
            local,
            day_start_ms: midnight(date),
            week_start_ms: midnight(monday),
            day_end_ms: later(date, 1),
            week_end_ms: later(monday, 7),
        }
    }
}

fn period_name(period: Period) -> String {
    match period {
        Period::LocalDay => "day".into(),
        Period::LocalWeek => "week".into(),
        Period::Rolling(d) => format!("{} s rolling window", d.as_secs()),
    }
}

fn reeligible(
    rule: Reeligibility,
    at_ms: Option<i64>,
    now_ms: i64,
    forever: Blocked,
    recently: impl Fn(i64, i64) -> Blocked,
) -> Result<(), Blocked> {
    let Some(at) = at_ms else { return Ok(()) };
    match rule {
        Reeligibility::Never => Err(forever),
        Reeligibility::After(wait) => {
            let wait_ms = wait.as_millis();
            if now_ms - at < wait_ms {
                Err(recently(at, wait_ms))
            } else {
                Ok(())
            }
        }
    }
}

/// Whether the campaign's own frequency rules allow an impression now.
pub fn campaign_allows(
    freq: &Frequency,
    h: &CampaignHistory,
    cal: &Calendar,
) -> Result<(), Blocked> {
    let now_ms = cal.now_ms;
    reeligible(
        freq.after_click,
        h.last_clicked_ms,
        now_ms,
        Blocked::Clicked,
        |clicked_ms, wait_ms| Blocked::ClickedRecently {
            clicked_ms,
            wait_ms,
        },
    )?;
    reeligible(
        freq.after_dismiss,
        h.last_dismissed_ms,
        now_ms,
        Blocked::DismissedForever,
        |dismissed_ms, wait_ms| Blocked::DismissedRecently {
            dismissed_ms,
            wait_ms,
        },
    )?;
    if let Some(max) = freq.max_total {
        if h.total >= max {
            return Err(Blocked::TotalCap { max });
        }
    }
    if let Some(interval) = freq.min_interval {
        let interval_ms = interval.as_millis();
        if let Some(&last_ms) = h.impressions.iter().max() {
            if now_ms - last_ms < interval_ms {
                return Err(Blocked::MinInterval {
                    last_ms,
                    interval_ms,
                });
            }
        }
    }
    for cap in &freq.caps {
        let seen = seen_in(cap.period, &h.impressions, &h.moved, cal);
        if seen >= cap.max {
            return Err(Blocked::PeriodCap {
                max: cap.max,
                period: cap.period,
                seen,
            });
        }
    }
    Ok(())
}

/// Whether the limits across campaigns allow an impression now.
pub fn global_allows(
    limits: &GlobalLimits,
    g: &GlobalHistory,
    session_id: &str,
    cal: &Calendar,
) -> Result<(), Blocked> {
    let (now_ms, local) = (cal.now_ms, cal.local);
    if let Some(w) = limits
        .quiet_hours
        .iter()
        .find(|w| w.contains(local.minute_of_day))
    {
        return Err(Blocked::QuietHours {
            window: w.to_string(),
        });
    }
    if let Some(max) = limits.max_per_session {
        let in_session = if g.session_id == session_id {
            g.in_session
        } else {
            0
        };
        if in_session >= max {
            return Err(Blocked::SessionCap { max });
        }
    }
    if let Some(max) = limits.max_per_day {
        if seen_in(Period::LocalDay, &g.impressions, &g.moved, cal) >= max {
            return Err(Blocked::DayCap { max });
        }
    }
    if let Some(gap) = limits.min_gap {
        let gap_ms = gap.as_millis();
        if let Some(&last_ms) = g.impressions.iter().max() {
            if now_ms - last_ms < gap_ms {
                return Err(Blocked::MinGap { last_ms, gap_ms });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Duration, PeriodCap};
    use proptest::prelude::*;

    const HOUR: i64 = 3_600_000;

    /// The naive model: civil dates and ISO weeks from jiff's own calendar
    /// (not the day numbers the engine uses), plain comparisons.
    fn reference_allows(freq: &Frequency, impressions: &[i64], now: i64, zone: &TimeZone) -> bool {
        let civil = |t: i64| {
            zone.to_datetime(jiff::Timestamp::from_millisecond(t).unwrap())
                .date()
        };
        if freq
            .max_total
            .is_some_and(|m| impressions.len() as u32 >= m)
        {
            return false;
        }
        if let Some(i) = freq.min_interval {
            if impressions.iter().any(|&t| now - t < i.as_millis()) {
                return false;
            }
        }
        for cap in &freq.caps {
            let seen = impressions
                .iter()
                .filter(|&&t| match cap.period {
                    Period::LocalDay => civil(t) >= civil(now),
                    Period::LocalWeek => {
                        let (a, b) = (civil(t).iso_week_date(), civil(now).iso_week_date());
                        (a.year(), a.week()) >= (b.year(), b.week())
                    }
                    Period::Rolling(d) => t > now - d.as_millis(),
                })
                .count() as u32;
            if seen >= cap.max {
                return false;
            }
        }
        true
    }

    fn period() -> impl Strategy<Value = Period> {
        prop_oneof![
            Just(Period::LocalDay),
            Just(Period::LocalWeek),
            (1u64..200).prop_map(|h| Period::Rolling(Duration::from_hours(h))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn campaign_caps_match_the_reference_model_over_random_traces(
            max_total in proptest::option::of(1u32..8),
            caps in proptest::collection::vec((1u32..4, period()), 0..3),
            min_interval_h in proptest::option::of(1u64..48),
            // Steps in hours; negative ones are the clock set backwards.
            steps in proptest::collection::vec(-30i64..40, 1..80),
            zone_name in prop_oneof![Just("Asia/Shanghai"), Just("Europe/Berlin"), Just("America/New_York")],
        ) {
            let zone = TimeZone::get(zone_name).unwrap();
            let freq = Frequency {
                max_total,
                caps: caps.into_iter().map(|(max, period)| PeriodCap { max, period }).collect(),
                min_interval: min_interval_h.map(Duration::from_hours),
                ..Frequency::default()
            };
            let mut h = CampaignHistory::default();
            let mut all = Vec::new();
            let mut now = 1_790_000_000_000i64;
            for step in steps {
                now += step * HOUR + 17 * 60_000;
                let engine = campaign_allows(&freq, &h, &Calendar::at(now, &zone)).is_ok();
                prop_assert_eq!(engine, reference_allows(&freq, &all, now, &zone), "at {}", now);
                if engine {
                    h.prune(now);
                    h.record_impression(now);
                    all.push(now);
                }
            }
        }
    }

    #[test]
    fn dismiss_and_click_rules_apply_and_clicks_end_the_campaign_by_default() {
        let zone = TimeZone::UTC;
        let freq = Frequency {
            after_dismiss: Reeligibility::After(Duration::from_days(1)),
            ..Frequency::default()
        };
        let h = CampaignHistory {
            last_dismissed_ms: Some(0),
            ..Default::default()
        };
        assert!(matches!(
            campaign_allows(&freq, &h, &Calendar::at(23 * HOUR, &zone)),
            Err(Blocked::DismissedRecently { .. })
        ));
        assert!(campaign_allows(&freq, &h, &Calendar::at(24 * HOUR, &zone)).is_ok());
        let clicked = CampaignHistory {
            last_clicked_ms: Some(0),
            ..Default::default()
        };
        assert_eq!(
            campaign_allows(&freq, &clicked, &Calendar::at(1000 * HOUR, &zone)),
            Err(Blocked::Clicked)
        );
    }

    #[test]
    fn global_limits_count_every_campaign_and_quiet_hours_come_first() {
        let zone = TimeZone::get("Asia/Shanghai").unwrap();
        let limits = GlobalLimits {
            max_per_session: Some(2),
            max_per_day: Some(3),
            min_gap: Some(Duration::from_secs(60)),
            quiet_hours: Vec::new(),
        };
        let mut g = GlobalHistory::default();
        let t0 = 1_790_000_000_000i64;
        assert!(global_allows(&limits, &g, "s1", &Calendar::at(t0, &zone)).is_ok());
        g.record_impression(t0, "s1");
        assert!(matches!(
            global_allows(&limits, &g, "s1", &Calendar::at(t0 + 59_000, &zone)),
            Err(Blocked::MinGap { .. })
        ));
        // A clock set back still sees the gap.
        assert!(matches!(
            global_allows(&limits, &g, "s1", &Calendar::at(t0 - HOUR, &zone)),
            Err(Blocked::MinGap { .. })
        ));
        g.record_impression(t0 + 60_000, "s1");
        assert_eq!(
            global_allows(&limits, &g, "s1", &Calendar::at(t0 + 200_000, &zone)),
            Err(Blocked::SessionCap { max: 2 })
        );
        assert!(global_allows(&limits, &g, "s2", &Calendar::at(t0 + 200_000, &zone)).is_ok());
    }
}
