//! Times of day and weekdays on the device's own clock, used by a campaign's
//! `local_hours` / `local_weekdays` and by the pack's quiet hours.
//!
//! These follow the device's timezone, whatever it is, with its DST rules: a
//! window "10:00–22:00" means ten to ten where the person is. The engine turns
//! its clock into a [`LocalTime`] once per decision ([`LocalTime::at`]).

use std::fmt;

use jiff::civil::Weekday;
use jiff::tz::TimeZone;

use super::error::FieldError;
use super::reader::Node;

/// A moment as seen on the device's local clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// The local calendar date as days since 1970-01-01: two instants on the
    /// same local day have the same number (for "per day" limits and
    /// `days_since`).
    pub day: i32,
    /// Minutes since local midnight, 0..1440.
    pub minute_of_day: u16,
    pub weekday: Weekday,
}

impl LocalTime {
    /// The local time in `zone` at `instant_ms` (milliseconds since the Unix
    /// epoch). Instants outside the years −9999..=9999 are clamped to them.
    pub fn at(instant_ms: i64, zone: &TimeZone) -> LocalTime {
        let instant = jiff::Timestamp::from_millisecond(instant_ms).unwrap_or(if instant_ms < 0 {
            jiff::Timestamp::MIN
        } else {
            jiff::Timestamp::MAX
        });
        let civil = zone.to_datetime(instant);
        let epoch = jiff::civil::date(1970, 1, 1);
        let day = (civil.date() - epoch).get_days();
        LocalTime {
            day,
            minute_of_day: civil.hour() as u16 * 60 + civil.minute() as u16,
            weekday: civil.weekday(),
        }
    }
}

/// A time of day, to the minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay {
    /// Minutes since midnight, 0..=1440 (1440 is "24:00", only as an end).
    minutes: u16,
}

impl TimeOfDay {
    pub const fn from_hm(hour: u16, minute: u16) -> TimeOfDay {
        TimeOfDay {
            minutes: hour * 60 + minute,
        }
    }

    pub fn minutes(self) -> u16 {
        self.minutes
    }

    /// `"HH:MM"`, 00:00 to 23:59, or 24:00 when `end` is set.
    fn parse(text: &str, end: bool) -> Option<TimeOfDay> {
        let (h, m) = text.split_once(':')?;
        let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !two_digits(h) || !two_digits(m) {
            return None;
        }
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        let t = TimeOfDay::from_hm(h, m);
        let ok = (h < 24 && m < 60) || (end && h == 24 && m == 0);
        ok.then_some(t)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

/// A daily window `from` (inclusive) to `to` (exclusive). When `from` is later
/// than `to` the window wraps midnight: 22:00–08:00 is the night.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyWindow {
    pub from: TimeOfDay,
    pub to: TimeOfDay,
}

/// Most daily windows in one list (`local_hours`, `quiet_hours`): one per
/// half hour of the day, far more than any schedule splits a day into,
/// and every event checks them all.
pub const MAX_DAILY_WINDOWS: usize = 48;

impl DailyWindow {
    /// A non-empty list of windows, at most [`MAX_DAILY_WINDOWS`].
    pub(crate) fn read_list(node: &Node) -> Result<Vec<DailyWindow>, FieldError> {
        let items = node.non_empty_elements()?;
        if items.len() > MAX_DAILY_WINDOWS {
            return Err(node.error(format!(
                "at most {MAX_DAILY_WINDOWS} daily windows, found {}",
                items.len()
            )));
        }
        items.map(DailyWindow::read).collect()
    }

    pub fn contains(&self, minute_of_day: u16) -> bool {
        let (from, to) = (self.from.minutes, self.to.minutes);
        if from < to {
            (from..to).contains(&minute_of_day)
        } else {
            minute_of_day >= from || minute_of_day < to
        }
    }

    pub(crate) fn read(node: Node) -> Result<DailyWindow, FieldError> {
        let object = node.object(&["from", "to"])?;
        let time = |key: &str, end: bool| {
            let n = object.required(key)?;
            let text = n.str()?;
            TimeOfDay::parse(text, end).ok_or_else(|| {
                n.error(format!(
                    "invalid time of day \"{text}\": expected \"HH:MM\", 00:00 to 23:59{}",
                    if end { " or 24:00" } else { "" }
                ))
            })
        };
        let window = DailyWindow {
            from: time("from", false)?,
            to: time("to", true)?,
        };
        if window.from.minutes == window.to.minutes % 1440 {
            return Err(node.error(
                "\"from\" equals \"to\": the window would be empty or the whole day; leave it out for the whole day",
            ));
        }
        Ok(window)
    }
}

impl fmt::Display for DailyWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", self.from, self.to)
    }
}

/// A set of weekdays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weekdays {
    /// Bit `n` is set for the weekday whose `to_monday_zero_offset()` is `n`.
    bits: u8,
}

const WEEKDAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Weekdays {
    pub fn contains(&self, day: Weekday) -> bool {
        self.bits & (1 << day.to_monday_zero_offset()) != 0
    }

    /// A list of `"mon"` … `"sun"`, not empty, no repeats.
    pub(crate) fn read(node: &Node) -> Result<Weekdays, FieldError> {
        let mut bits = 0u8;
        for item in node.non_empty_elements()? {
            let name = item.str()?;
            let index = WEEKDAY_NAMES
                .iter()
                .position(|n| *n == name)
                .ok_or_else(|| {
                    item.error(format!(
                        "unknown weekday \"{name}\" (expected one of: {})",
                        WEEKDAY_NAMES.join(", ")
                    ))
                })?;
            if bits & (1 << index) != 0 {
                return Err(item.error("listed twice"));
            }
            bits |= 1 << index;
        }
        Ok(Weekdays { bits })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use serde_json::json;

    fn window(json: serde_json::Value) -> Result<DailyWindow, String> {
        DailyWindow::read(Node::root(&Document::from(json))).map_err(|e| e.to_string())
    }

    #[test]
    fn day_windows_include_from_and_exclude_to() {
        let w = window(json!({"from": "10:00", "to": "22:00"})).unwrap();
        assert!(!w.contains(9 * 60 + 59));
        assert!(w.contains(10 * 60));
        assert!(w.contains(21 * 60 + 59));
        assert!(!w.contains(22 * 60));
    }

    #[test]
    fn night_windows_wrap_midnight() {
        let w = window(json!({"from": "22:00", "to": "08:00"})).unwrap();
        assert!(w.contains(22 * 60));
        assert!(w.contains(0));
        assert!(w.contains(7 * 60 + 59));
        assert!(!w.contains(8 * 60));
        assert!(!w.contains(12 * 60));
        let w = window(json!({"from": "18:00", "to": "24:00"})).unwrap();
        assert!(w.contains(23 * 60 + 59) && !w.contains(0));
    }

    #[test]
    fn malformed_windows_are_refused() {
        for bad in [
            json!({"from": "10:00", "to": "10:00"}),
            json!({"from": "00:00", "to": "24:00"}),
            json!({"from": "24:00", "to": "08:00"}),
            json!({"from": "9:00", "to": "10:00"}),
            json!({"from": "10:60", "to": "11:00"}),
            json!({"from": "10:00"}),
            json!({"from": 10, "to": 22}),
            json!({"from": "+1:00", "to": "02:00"}),
        ] {
            assert!(window(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn weekdays_parse_and_refuse_unknown_names() {
        let days = Weekdays::read(&Node::root(&Document::from(json!(["sat", "sun"])))).unwrap();
        assert!(days.contains(Weekday::Saturday) && days.contains(Weekday::Sunday));
        assert!(!days.contains(Weekday::Monday));
        assert!(Weekdays::read(&Node::root(&Document::from(json!(["saturday"])))).is_err());
        assert!(Weekdays::read(&Node::root(&Document::from(json!(["sat", "sat"])))).is_err());
        assert!(Weekdays::read(&Node::root(&Document::from(json!([])))).is_err());
    }

    #[test]
    fn local_time_follows_the_zone() {
        // 2026-09-25 02:05 UTC = 10:05 in Shanghai, 04:05 in Berlin (summer time).
        let instant = jiff::Timestamp::from_second(1_790_301_900).unwrap();
        assert_eq!(instant.to_string(), "2026-09-25T02:05:00Z");
        let shanghai = LocalTime::at(
            instant.as_millisecond(),
            &TimeZone::get("Asia/Shanghai").unwrap(),
        );
        assert_eq!(shanghai.minute_of_day, 10 * 60 + 5);
        assert_eq!(shanghai.weekday, Weekday::Friday);
        let berlin = LocalTime::at(
            instant.as_millisecond(),
            &TimeZone::get("Europe/Berlin").unwrap(),
        );
        assert_eq!(berlin.minute_of_day, 4 * 60 + 5);
        assert_eq!(shanghai.day, berlin.day);
        let utc_day = LocalTime::at(0, &TimeZone::UTC);
        assert_eq!((utc_day.day, utc_day.minute_of_day), (0, 0));
        let before_epoch = LocalTime::at(-1, &TimeZone::UTC);
        assert_eq!((before_epoch.day, before_epoch.minute_of_day), (-1, 1439));
    }
}
