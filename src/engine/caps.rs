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

/// What the engine remembers about one campaign for the current person.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CampaignHistory {
    /// Impression (and control exposure) times within the horizon, oldest first.
    pub impressions: Vec<i64>,
    /// Impressions ever.
    pub total: u32,
    pub last_dismissed_ms: Option<i64>,
    pub last_clicked_ms: Option<i64>,
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
    }
}

/// Impressions across all campaigns for the current person.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GlobalHistory {
    pub impressions: Vec<i64>,
    /// The session the count below belongs to.
    pub session_id: String,
    pub in_session: u32,
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
    }
}

/// Why a cap holds a campaign back. Displayed in the log and in `explain()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    TotalCap { max: u32 },
    PeriodCap { max: u32, period: String, seen: u32 },
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
        match self {
            Blocked::TotalCap { max } => {
                write!(f, "shown {max} times in total, the campaign's limit")
            }
            Blocked::PeriodCap { max, period, seen } => {
                write!(f, "shown {seen} times this {period}, the limit is {max}")
            }
            Blocked::MinInterval {
                last_ms,
                interval_ms,
            } => write!(
                f,
                "last shown at {last_ms} ms; the campaign waits {} s between impressions",
                secs(interval_ms)
            ),
            Blocked::DismissedRecently {
                dismissed_ms,
                wait_ms,
            } => write!(
                f,
                "dismissed at {dismissed_ms} ms; eligible again {} s after a dismiss",
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
                "clicked at {clicked_ms} ms; eligible again {} s after a click",
                secs(wait_ms)
            ),
            Blocked::SessionCap { max } => write!(f, "{max} popups this session, the global limit"),
            Blocked::DayCap { max } => write!(f, "{max} popups today, the global limit"),
            Blocked::MinGap { last_ms, gap_ms } => write!(
                f,
                "a popup was shown at {last_ms} ms; at least {} s must pass between popups",
                secs(gap_ms)
            ),
            Blocked::QuietHours { window } => write!(f, "quiet hours ({window}, device time)"),
        }
    }
}

/// ISO weeks start on Monday; 1970-01-01 (day 0) was a Thursday.
fn week_of(day: i32) -> i32 {
    (day + 3).div_euclid(7)
}

/// Impressions that fall in the current `period` (or later: see module docs).
fn seen_in(period: Period, impressions: &[i64], now_ms: i64, zone: &TimeZone) -> u32 {
    let count =
        |keep: &dyn Fn(i64) -> bool| impressions.iter().filter(|&&t| keep(t)).count() as u32;
    match period {
        Period::LocalDay => {
            let today = LocalTime::at(now_ms, zone).day;
            count(&|t| LocalTime::at(t, zone).day >= today)
        }
        Period::LocalWeek => {
            let week = week_of(LocalTime::at(now_ms, zone).day);
            count(&|t| week_of(LocalTime::at(t, zone).day) >= week)
        }
        Period::Rolling(d) => {
            let from = now_ms - d.as_millis();
            count(&|t| t > from)
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
    now_ms: i64,
    zone: &TimeZone,
) -> Result<(), Blocked> {
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
        let seen = seen_in(cap.period, &h.impressions, now_ms, zone);
        if seen >= cap.max {
            return Err(Blocked::PeriodCap {
                max: cap.max,
                period: period_name(cap.period),
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
    now_ms: i64,
    zone: &TimeZone,
) -> Result<(), Blocked> {
    let local = LocalTime::at(now_ms, zone);
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
        if seen_in(Period::LocalDay, &g.impressions, now_ms, zone) >= max {
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
