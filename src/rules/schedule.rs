//! When a campaign runs: an absolute start and end in a named timezone, and
//! daily hours and weekdays on the device's local clock.
//!
//! The two halves differ on purpose (scenario 04): a festival ends at midnight
//! in its own country wherever the device is, but "only between 10:00 and
//! 22:00" means the person's own evening.
//!
//! `start` and `end` are either RFC 3339 instants with an offset
//! (`2026-09-20T00:00:00+08:00`, `…Z`) or local date-times (`2026-09-20T00:00`,
//! `2026-09-20T00:00:00`, or a date alone meaning midnight) read in
//! `timezone`, an IANA name from the tz database bundled with the SDK. A local
//! time that does not exist (skipped by a DST change) moves forward by the
//! gap; one that happens twice takes the earlier. `start` is inclusive, `end`
//! exclusive.

use jiff::tz::TimeZone;

use super::error::FieldError;
use super::instant::read_instant;
use super::local_time::{DailyWindow, LocalTime, Weekdays};
use super::reader::Node;

/// A campaign's time constraints; the default runs always.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Schedule {
    /// First instant the campaign runs, ms since the Unix epoch.
    pub start_ms: Option<i64>,
    /// First instant it no longer runs, ms since the Unix epoch.
    pub end_ms: Option<i64>,
    /// Local daily windows; empty means all day.
    pub local_hours: Vec<DailyWindow>,
    /// Local weekdays; `None` means every day.
    pub local_weekdays: Option<Weekdays>,
}

impl Schedule {
    /// Whether the campaign runs at `now_ms`, given the device's local time
    /// then. A window that wraps midnight belongs, after midnight, to the new
    /// weekday.
    pub fn is_open(&self, now_ms: i64, local: &LocalTime) -> bool {
        self.start_ms.is_none_or(|s| now_ms >= s)
            && self.end_ms.is_none_or(|e| now_ms < e)
            && self.in_local_hours(local)
    }

    /// Whether the local weekday and time are in the campaign's local days
    /// and hours, whatever its start and end.
    pub fn in_local_hours(&self, local: &LocalTime) -> bool {
        self.local_weekdays
            .is_none_or(|d| d.contains(local.weekday))
            && (self.local_hours.is_empty()
                || self
                    .local_hours
                    .iter()
                    .any(|w| w.contains(local.minute_of_day)))
    }

    /// Whether the campaign has ended for good at `now_ms` (so an engine may
    /// drop its pending work).
    pub fn has_ended(&self, now_ms: i64) -> bool {
        self.end_ms.is_some_and(|e| now_ms >= e)
    }

    pub(crate) fn read(node: Node) -> Result<Schedule, FieldError> {
        let object = node.object(&["start", "end", "timezone", "local_hours", "local_weekdays"])?;
        let zone = object.optional("timezone", |n| read_timezone(&n))?;
        let instant = |key: &str| {
            object.optional(key, |n| {
                read_instant(
                    &n,
                    zone.as_ref(),
                    "set \"timezone\" beside it, or write an offset",
                )
            })
        };
        let start_ms = instant("start")?;
        let end_ms = instant("end")?;
        if let (Some(s), Some(e)) = (start_ms, end_ms) {
            if e <= s {
                return Err(object
                    .required("end")?
                    .error("must be later than \"start\""));
            }
        }
        Ok(Schedule {
            start_ms,
            end_ms,
            local_hours: object
                .optional("local_hours", |n| DailyWindow::read_list(&n))?
                .unwrap_or_default(),
            local_weekdays: object.optional("local_weekdays", |n| Weekdays::read(&n))?,
        })
    }
}

/// An IANA timezone name known to the bundled tz database.
pub(crate) fn read_timezone(node: &Node) -> Result<TimeZone, FieldError> {
    let name = node.str()?;
    TimeZone::get(name).map_err(|_| {
        node.error(format!(
            "unknown timezone \"{name}\": expected an IANA name like \"Asia/Shanghai\" or \"UTC\""
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use serde_json::json;

    fn schedule(json: serde_json::Value) -> Result<Schedule, String> {
        Schedule::read(Node::root(&Document::from(json))).map_err(|e| e.to_string())
    }

    fn ms(rfc3339: &str) -> i64 {
        rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    fn local(instant: &str, zone: &str) -> LocalTime {
        LocalTime::at(ms(instant), &TimeZone::get(zone).unwrap())
    }

    #[test]
    fn festival_window_from_scenario_04() {
        let s = schedule(json!({
            "start": "2026-09-20T00:00", "end": "2026-09-27T00:00", "timezone": "Asia/Shanghai",
            "local_hours": [{"from": "10:00", "to": "22:00"}]
        }))
        .unwrap();
        assert_eq!(s.start_ms, Some(ms("2026-09-19T16:00:00Z")));
        let at = |instant: &str, zone: &str| s.is_open(ms(instant), &local(instant, zone));
        // Device in Shanghai.
        assert!(
            !at("2026-09-19T12:00:00+08:00", "Asia/Shanghai"),
            "not started"
        );
        assert!(
            !at("2026-09-24T22:30:00+08:00", "Asia/Shanghai"),
            "after 22:00"
        );
        assert!(
            !at("2026-09-25T09:30:00+08:00", "Asia/Shanghai"),
            "before 10:00"
        );
        assert!(at("2026-09-25T10:05:00+08:00", "Asia/Shanghai"));
        assert!(at("2026-09-26T21:59:00+08:00", "Asia/Shanghai"));
        assert!(!at("2026-10-01T12:00:00+08:00", "Asia/Shanghai"), "ended");
        // Device in Berlin: hours are local, the end is Shanghai's.
        assert!(!at("2026-09-25T09:30:00+02:00", "Europe/Berlin"));
        assert!(at("2026-09-25T10:05:00+02:00", "Europe/Berlin"));
        assert!(
            !at("2026-09-26T18:30:00+02:00", "Europe/Berlin"),
            "ended in its own zone"
        );
        assert!(s.has_ended(ms("2026-09-27T00:00:00+08:00")));
    }

    #[test]
    fn instants_with_offsets_need_no_timezone() {
        let s =
            schedule(json!({"start": "2026-09-20T00:00:00+08:00", "end": "2026-09-27T00:00:00Z"}))
                .unwrap();
        assert_eq!(s.start_ms, Some(ms("2026-09-19T16:00:00Z")));
        let s = schedule(json!({"start": "2026-09-20", "timezone": "UTC"})).unwrap();
        assert_eq!(s.start_ms, Some(ms("2026-09-20T00:00:00Z")));
    }

    #[test]
    fn dst_gaps_move_forward_and_folds_take_the_earlier() {
        // Berlin skips 02:00–03:00 on 2026-03-29 and repeats 02:00–03:00 on 2026-10-25.
        let gap =
            schedule(json!({"start": "2026-03-29T02:30", "timezone": "Europe/Berlin"})).unwrap();
        assert_eq!(gap.start_ms, Some(ms("2026-03-29T01:30:00Z")));
        let fold =
            schedule(json!({"start": "2026-10-25T02:30", "timezone": "Europe/Berlin"})).unwrap();
        assert_eq!(fold.start_ms, Some(ms("2026-10-25T00:30:00Z")));
    }

    #[test]
    fn weekdays_and_hours_are_local() {
        let s = schedule(json!({"local_weekdays": ["sat", "sun"],
                                "local_hours": [{"from": "09:00", "to": "12:00"}, {"from": "18:00", "to": "21:00"}]}))
            .unwrap();
        let sat_morning = "2026-09-26T10:00:00+08:00";
        assert!(s.is_open(ms(sat_morning), &local(sat_morning, "Asia/Shanghai")));
        let sat_noon = "2026-09-26T13:00:00+08:00";
        assert!(!s.is_open(ms(sat_noon), &local(sat_noon, "Asia/Shanghai")));
        let fri_evening = "2026-09-25T19:00:00+08:00";
        assert!(!s.is_open(ms(fri_evening), &local(fri_evening, "Asia/Shanghai")));
    }

    #[test]
    fn bad_schedules_are_refused() {
        for (json, expected) in [
            (
                json!({"start": "2026-09-20T00:00", "end": "2026-09-27T00:00"}),
                "has no offset",
            ),
            (
                json!({"start": "2026-09-20", "timezone": "Asia/Beijing"}),
                "unknown timezone \"Asia/Beijing\"",
            ),
            (
                json!({"start": "2026-09-20", "timezone": "CST"}),
                "unknown timezone",
            ),
            (
                json!({"start": "2026-09-27", "end": "2026-09-20", "timezone": "UTC"}),
                "end: must be later",
            ),
            (
                json!({"start": "2026-13-01", "timezone": "UTC"}),
                "invalid date-time",
            ),
            (
                json!({"start": "2026-09-20 10:00", "timezone": "UTC"}),
                "invalid date-time",
            ),
            (
                json!({"start": "2026-09-20T10:00+0800"}),
                "invalid date-time",
            ),
            (json!({"start": "20260920"}), "invalid date-time"),
            (json!({"start": 1790000000}), "expected a string"),
            (json!({"local_hours": []}), "must not be empty"),
            (json!({"hours": []}), "unknown key \"hours\""),
        ] {
            let e = schedule(json.clone()).unwrap_err();
            assert!(e.contains(expected), "{json}: {e}");
        }
    }
}
