//! Lengths of time in a rule pack, always typed, never a bare number.
//!
//! A pack writes a duration as a string of whole numbers with units, largest
//! first: `"90s"`, `"30m"`, `"1h30m"`, `"7d"`, `"2w"`. Units: `s` seconds, `m`
//! minutes, `h` hours, `d` days of exactly 24 hours, `w` weeks of 7 such days.
//! There are no months or years: their length varies, and a window of "1 month"
//! would mean different things on different days. A bare number is refused, so
//! nobody has to guess whether `30` meant seconds or minutes (a classic source
//! of frequency-cap bugs).

use std::fmt;

use super::error::FieldError;
use super::reader::Node;

/// A length of time with one-second resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    seconds: u64,
}

/// The longest duration a pack may write: ten years. Keeps every sum of
/// instants and durations far from overflowing `i64` milliseconds, and catches
/// unit slips such as `"30000d"`. ("Never" is said with its own word where the
/// format allows it, not with a huge duration.)
pub const MAX_DURATION: Duration = Duration::from_days(3650);

const UNITS: [(char, u64); 5] = [
    ('w', 7 * 86_400),
    ('d', 86_400),
    ('h', 3_600),
    ('m', 60),
    ('s', 1),
];

impl Duration {
    pub const ZERO: Duration = Duration { seconds: 0 };

    pub const fn from_secs(seconds: u64) -> Duration {
        Duration { seconds }
    }

    pub const fn from_mins(minutes: u64) -> Duration {
        Duration::from_secs(minutes * 60)
    }

    pub const fn from_hours(hours: u64) -> Duration {
        Duration::from_secs(hours * 3_600)
    }

    pub const fn from_days(days: u64) -> Duration {
        Duration::from_secs(days * 86_400)
    }

    pub const fn as_secs(self) -> u64 {
        self.seconds
    }

    /// Milliseconds, the unit of the engine's clock. Never overflows for a
    /// parsed duration (see [`MAX_DURATION`]).
    pub const fn as_millis(self) -> i64 {
        self.seconds as i64 * 1_000
    }

    pub const fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.seconds)
    }

    pub const fn is_zero(self) -> bool {
        self.seconds == 0
    }

    /// Parses the pack's text form; see the module docs.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let invalid = || {
            format!(
                "invalid duration \"{text}\": write whole numbers with units, \
                 largest first, like \"90s\", \"30m\", \"1h30m\", \"7d\" or \"2w\""
            )
        };
        if text.is_empty() {
            return Err(invalid());
        }
        let mut seconds: u64 = 0;
        let mut rest = text;
        let mut smallest_unit_so_far = u64::MAX;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 12 {
                return Err(invalid());
            }
            let number: u64 = rest[..digits].parse().map_err(|_| invalid())?;
            let unit = rest[digits..].chars().next().ok_or_else(invalid)?;
            let (_, unit_seconds) = UNITS.iter().find(|(c, _)| *c == unit).ok_or_else(invalid)?;
            if *unit_seconds >= smallest_unit_so_far {
                return Err(invalid());
            }
            smallest_unit_so_far = *unit_seconds;
            seconds = number
                .checked_mul(*unit_seconds)
                .and_then(|s| s.checked_add(seconds))
                .ok_or_else(invalid)?;
            rest = &rest[digits + unit.len_utf8()..];
        }
        let duration = Duration { seconds };
        if duration > MAX_DURATION {
            return Err(format!(
                "duration \"{text}\" is longer than the longest allowed, {MAX_DURATION}"
            ));
        }
        Ok(duration)
    }

    /// Reads a duration field.
    pub(crate) fn read(node: &Node) -> Result<Duration, FieldError> {
        if node.is_number() {
            return Err(node.error(
                "a duration is a string with a unit, like \"30m\" or \"7d\", not a bare number",
            ));
        }
        Duration::parse(node.str()?).map_err(|m| node.error(m))
    }

    /// Reads a duration field that must lie within `[min, max]`; `what` names
    /// the kind of duration in the error.
    pub(crate) fn read_within(
        node: &Node,
        min: Duration,
        max: Duration,
        what: &str,
    ) -> Result<Duration, FieldError> {
        let d = Duration::read(node)?;
        if d < min || d > max {
            return Err(node.error(format!("{what} must be between {min} and {max}, found {d}")));
        }
        Ok(d)
    }
}

/// The canonical text form, largest units first: `1d2h`, `90s` → `1m30s`.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.seconds == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.seconds;
        for (unit, unit_seconds) in UNITS {
            // Weeks are spelt as days unless exact, so "10d" stays "10d".
            if unit == 'w' && !rest.is_multiple_of(unit_seconds) {
                continue;
            }
            if rest >= unit_seconds {
                write!(f, "{}{unit}", rest / unit_seconds)?;
                rest %= unit_seconds;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit_and_compounds() {
        assert_eq!(Duration::parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(Duration::parse("30m"), Ok(Duration::from_mins(30)));
        assert_eq!(Duration::parse("1h30m"), Ok(Duration::from_mins(90)));
        assert_eq!(Duration::parse("7d"), Ok(Duration::from_days(7)));
        assert_eq!(Duration::parse("2w"), Ok(Duration::from_days(14)));
        assert_eq!(Duration::parse("1w2d3h4m5s").unwrap().as_secs(), 788_645);
        assert_eq!(Duration::parse("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn refuses_malformed_text() {
        for bad in [
            "",
            "30",
            "m",
            "30 m",
            "30M",
            "1.5h",
            "-1h",
            "30m1h",
            "1h1h",
            "1y",
            "1mo",
            "+1h",
            "1h ",
            "9999999999999s",
        ] {
            assert!(Duration::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn refuses_more_than_ten_years() {
        assert!(Duration::parse("3650d").is_ok());
        let e = Duration::parse("3651d").unwrap_err();
        assert!(e.contains("longer than the longest allowed, 3650d"), "{e}");
    }

    #[test]
    fn displays_canonically() {
        assert_eq!(Duration::from_secs(90).to_string(), "1m30s");
        assert_eq!(Duration::from_days(14).to_string(), "2w");
        assert_eq!(Duration::from_days(10).to_string(), "10d");
        assert_eq!(Duration::from_hours(26).to_string(), "1d2h");
        assert_eq!(Duration::ZERO.to_string(), "0s");
        assert_eq!(Duration::from_days(1).as_millis(), 86_400_000);
    }
}
