//! How often one campaign may be shown to one person: caps on impressions in
//! total and per period, a minimum interval, and what a dismiss or a click
//! does to eligibility.
//!
//! An impression is the host's `shown` report (an offer that times out counts
//! as shown). This module only states the rules; the engine keeps the
//! impression history and applies them.

use super::duration::Duration;
use super::error::FieldError;
use super::reader::Node;

/// A campaign's frequency rules. The default caps nothing, except that a
/// click ends the campaign for that person ([`Reeligibility::Never`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frequency {
    /// Impressions ever, per person.
    pub max_total: Option<u32>,
    /// Impressions per period; every cap must hold.
    pub caps: Vec<PeriodCap>,
    /// Least time from one impression of the campaign to the next.
    pub min_interval: Option<Duration>,
    /// Eligibility after the person dismissed the popup.
    pub after_dismiss: Reeligibility,
    /// Eligibility after the person clicked a button (other than one whose
    /// action is `dismiss`, which counts as a dismiss).
    pub after_click: Reeligibility,
}

impl Default for Frequency {
    fn default() -> Frequency {
        Frequency {
            max_total: None,
            caps: Vec::new(),
            min_interval: None,
            after_dismiss: Reeligibility::After(Duration::ZERO),
            after_click: Reeligibility::Never,
        }
    }
}

/// At most `max` impressions per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodCap {
    pub max: u32,
    pub period: Period,
}

/// The period of a [`PeriodCap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// The device's local calendar day, midnight to midnight.
    LocalDay,
    /// The device's local calendar week, Monday to Sunday (ISO 8601).
    LocalWeek,
    /// Any window of this length ending now.
    Rolling(Duration),
}

/// When a campaign may show again after a dismiss or a click.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reeligibility {
    /// After this much time (zero: at once, subject to the other rules).
    After(Duration),
    Never,
}

/// Shortest rolling period: as for behaviour windows, one minute.
pub const MIN_ROLLING_PERIOD: Duration = Duration::from_mins(1);

/// Longest rolling period: one year, the longest history the engine keeps.
pub const MAX_ROLLING_PERIOD: Duration = Duration::from_days(365);

/// Most caps on one campaign: one per calendar period (hour, day, week,
/// month) and a few rolling ones is already more than any campaign needs;
/// each is checked against the impression history on every offer.
pub const MAX_CAPS: usize = 10;

impl Frequency {
    pub(crate) fn read(node: Node) -> Result<Frequency, FieldError> {
        let object = node.object(&[
            "max_total",
            "caps",
            "min_interval",
            "after_dismiss",
            "after_click",
        ])?;
        let defaults = Frequency::default();
        Ok(Frequency {
            max_total: object.optional("max_total", |n| n.count(1))?,
            caps: object
                .optional("caps", |n| {
                    let items = n.non_empty_elements()?;
                    if items.len() > MAX_CAPS {
                        return Err(
                            n.error(format!("at most {MAX_CAPS} caps, found {}", items.len()))
                        );
                    }
                    items.map(read_cap).collect()
                })?
                .unwrap_or_default(),
            min_interval: object.optional("min_interval", |n| Duration::read(&n))?,
            after_dismiss: object
                .optional("after_dismiss", |n| read_reeligibility(&n))?
                .unwrap_or(defaults.after_dismiss),
            after_click: object
                .optional("after_click", |n| read_reeligibility(&n))?
                .unwrap_or(defaults.after_click),
        })
    }
}

/// `{"max": 1, "per": "day"}`, `{"max": 2, "per": "week"}` or
/// `{"max": 1, "rolling": "30d"}`.
fn read_cap(node: Node) -> Result<PeriodCap, FieldError> {
    let object = node.object(&["max", "per", "rolling"])?;
    let max = object.required("max")?.count(1)?;
    let period = match (object.get("per"), object.get("rolling")) {
        (Some(_), Some(_)) => return Err(node.error("give \"per\" or \"rolling\", not both")),
        (None, None) => return Err(node.error("give \"per\" (\"day\" or \"week\") or \"rolling\" (a duration)")),
        (Some(per), None) => match per.str()? {
            "day" => Period::LocalDay,
            "week" => Period::LocalWeek,
            other => {
                return Err(per.error(format!(
                    "unknown period \"{other}\" (expected \"day\" or \"week\"; for other lengths use \"rolling\")"
                )))
            }
        },
        (None, Some(rolling)) => Period::Rolling(Duration::read_within(
            &rolling,
            MIN_ROLLING_PERIOD,
            MAX_ROLLING_PERIOD,
            "a rolling period",
        )?),
    };
    Ok(PeriodCap { max, period })
}

/// A duration, or `"never"`.
fn read_reeligibility(node: &Node) -> Result<Reeligibility, FieldError> {
    if node.as_str() == Some("never") {
        return Ok(Reeligibility::Never);
    }
    Duration::read(node)
        .map(Reeligibility::After)
        .map_err(|e| FieldError {
            message: format!("{} (or \"never\")", e.message),
            ..e
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use serde_json::json;

    fn frequency(json: serde_json::Value) -> Result<Frequency, String> {
        Frequency::read(Node::root(&Document::from(json))).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_cap_nothing_but_end_after_a_click() {
        let f = frequency(json!({})).unwrap();
        assert_eq!(f, Frequency::default());
        assert_eq!(f.after_click, Reeligibility::Never);
        assert_eq!(f.after_dismiss, Reeligibility::After(Duration::ZERO));
    }

    #[test]
    fn retry_after_dismiss_from_scenario_11() {
        let f = frequency(json!({"max_total": 3, "after_dismiss": "1d", "after_click": "never"}))
            .unwrap();
        assert_eq!(f.max_total, Some(3));
        assert_eq!(
            f.after_dismiss,
            Reeligibility::After(Duration::from_days(1))
        );
    }

    #[test]
    fn a_campaign_has_at_most_the_limit_of_caps() {
        let caps = |n: usize| {
            let c: Vec<_> = (1..=n)
                .map(|i| json!({"max": i, "rolling": format!("{i}d")}))
                .collect();
            json!({ "caps": c })
        };
        assert!(frequency(caps(MAX_CAPS)).is_ok());
        let e = frequency(caps(MAX_CAPS + 1)).unwrap_err();
        assert_eq!(e, "caps: at most 10 caps, found 11");
    }

    #[test]
    fn caps_per_calendar_period_or_rolling() {
        let f = frequency(
            json!({"caps": [{"max": 1, "per": "day"}, {"max": 2, "per": "week"},
                                          {"max": 1, "rolling": "30d"}]}),
        )
        .unwrap();
        assert_eq!(
            f.caps,
            [
                PeriodCap {
                    max: 1,
                    period: Period::LocalDay
                },
                PeriodCap {
                    max: 2,
                    period: Period::LocalWeek
                },
                PeriodCap {
                    max: 1,
                    period: Period::Rolling(Duration::from_days(30))
                },
            ]
        );
    }

    #[test]
    fn bad_frequencies_are_refused() {
        for (json, expected) in [
            (
                json!({"max_total": -1}),
                "max_total: must be at least 1, found -1",
            ),
            (json!({"max_total": 0}), "must be at least 1"),
            (
                json!({"caps": [{"max": 1, "per": "month"}]}),
                "unknown period \"month\"",
            ),
            (json!({"caps": [{"max": 1}]}), "give \"per\""),
            (
                json!({"caps": [{"max": 1, "per": "day", "rolling": "1d"}]}),
                "not both",
            ),
            (
                json!({"caps": [{"max": 1, "rolling": "400d"}]}),
                "rolling period must be between",
            ),
            (json!({"min_interval": 86400}), "not a bare number"),
            (json!({"after_click": "forever"}), "(or \"never\")"),
            (json!({"max_per_day": 1}), "unknown key \"max_per_day\""),
        ] {
            let e = frequency(json.clone()).unwrap_err();
            assert!(e.contains(expected), "{json}: {e}");
        }
    }
}
