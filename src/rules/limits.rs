//! Limits across all campaigns, so that many activities at once never flood a
//! person (scenario 08): popups per session and per day, a minimum gap between
//! any two popups, and quiet hours on the device's local clock.
//!
//! They count impressions of every campaign together. A campaign blocked by a
//! global limit is not queued; it may fire on a later event.

use super::duration::Duration;
use super::error::FieldError;
use super::local_time::{DailyWindow, LocalTime};
use super::reader::Node;

/// The pack's global limits; the default limits nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GlobalLimits {
    /// Impressions per app session.
    pub max_per_session: Option<u32>,
    /// Impressions per local calendar day.
    pub max_per_day: Option<u32>,
    /// Least time between any two impressions.
    pub min_gap: Option<Duration>,
    /// Local daily windows in which no popup is offered.
    pub quiet_hours: Vec<DailyWindow>,
}

impl GlobalLimits {
    /// Whether `local` falls in quiet hours.
    pub fn is_quiet(&self, local: &LocalTime) -> bool {
        self.quiet_hours
            .iter()
            .any(|w| w.contains(local.minute_of_day))
    }

    pub(crate) fn read(node: Node) -> Result<GlobalLimits, FieldError> {
        let object = node.object(&["max_per_session", "max_per_day", "min_gap", "quiet_hours"])?;
        Ok(GlobalLimits {
            max_per_session: object.optional("max_per_session", |n| n.count(1))?,
            max_per_day: object.optional("max_per_day", |n| n.count(1))?,
            min_gap: object.optional("min_gap", |n| Duration::read(&n))?,
            quiet_hours: object
                .optional("quiet_hours", |n| DailyWindow::read_list(&n))?
                .unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use serde_json::json;

    fn limits(json: serde_json::Value) -> Result<GlobalLimits, String> {
        GlobalLimits::read(Node::root(&Document::from(json))).map_err(|e| e.to_string())
    }

    fn at(minute_of_day: u16) -> LocalTime {
        LocalTime {
            day: 0,
            minute_of_day,
            weekday: jiff::civil::Weekday::Monday,
        }
    }

    #[test]
    fn anti_harassment_limits_from_scenario_08() {
        let l = limits(json!({"max_per_day": 3, "min_gap": "60s",
                              "quiet_hours": [{"from": "22:00", "to": "08:00"}]}))
        .unwrap();
        assert_eq!(l.max_per_day, Some(3));
        assert_eq!(l.min_gap, Some(Duration::from_secs(60)));
        assert!(l.is_quiet(&at(7 * 60 + 59)));
        assert!(!l.is_quiet(&at(8 * 60)));
        assert!(l.is_quiet(&at(22 * 60 + 30)));
        assert!(!GlobalLimits::default().is_quiet(&at(0)));
    }

    #[test]
    fn bad_limits_are_refused() {
        assert!(limits(json!({"max_per_day": 0})).is_err());
        assert!(limits(json!({"min_gap": 60}))
            .unwrap_err()
            .contains("bare number"));
        assert!(
            limits(json!({"quiet_hours": {"from": "22:00", "to": "08:00"}}))
                .unwrap_err()
                .contains("expected an array")
        );
        assert!(limits(json!({"max_per_week": 3})).is_err());
    }

    #[test]
    fn quiet_hours_list_at_most_the_limit_of_windows() {
        let windows = |n: usize| {
            let w: Vec<_> = (0..n)
                .map(|i| json!({"from": format!("{:02}:00", i % 24), "to": format!("{:02}:30", i % 24)}))
                .collect();
            json!({ "quiet_hours": w })
        };
        assert!(limits(windows(crate::rules::local_time::MAX_DAILY_WINDOWS)).is_ok());
        let e = limits(windows(crate::rules::local_time::MAX_DAILY_WINDOWS + 1)).unwrap_err();
        assert_eq!(e, "quiet_hours: at most 48 daily windows, found 49");
    }
}
