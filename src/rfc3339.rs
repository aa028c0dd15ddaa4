//! Epoch milliseconds as RFC 3339 UTC text with millisecond precision,
//! `2026-11-24T05:10:44.123Z`: every event's `timestamp`, each batch's
//! `sentAt`, timestamp property values, and the times in `explain` and the log.
//!
//! Written here rather than through a date crate because the uploader writes
//! one per event straight into the batch text, with no `String` of its own
//! and no formatting machinery, and because it was the last use of chrono in
//! the library: its formatting and parsing code was ~16 KB of every app's
//! library (benches/README.md, "Size"). The calendar is the proleptic
//! Gregorian one over all of `i64` (Howard Hinnant's `civil_from_days`), so
//! no input falls back to another shape. Years outside 0000–9999 are written
//! as chrono writes them, RFC 3339's extended form: a sign and at least four
//! digits (`+10000-01-01T00:00:00.000Z`, `-0001-12-31T23:59:59.999Z`); the
//! tests check every shape against chrono over its whole range.

use std::fmt::Write;

const MS_PER_DAY: i64 = 86_400_000;

/// The text for `ms`.
pub fn rfc3339_ms(ms: i64) -> String {
    let mut out = String::with_capacity(24);
    write_rfc3339_ms(&mut out, ms);
    out
}

/// Appends the text for `ms` to `out`.
pub fn write_rfc3339_ms(out: &mut String, ms: i64) {
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if (0..=9999).contains(&year) {
        push_digits(out, year as u64, 4);
    } else {
        out.push(if year < 0 { '-' } else { '+' });
        let abs = year.unsigned_abs();
        if abs < 10_000 {
            push_digits(out, abs, 4);
        } else {
            let _ = write!(out, "{abs}");
        }
    }
    out.push('-');
    push_digits(out, month, 2);
    out.push('-');
    push_digits(out, day, 2);
    out.push('T');
    let secs = (in_day / 1000) as u64;
    push_digits(out, secs / 3600, 2);
    out.push(':');
    push_digits(out, secs / 60 % 60, 2);
    out.push(':');
    push_digits(out, secs % 60, 2);
    out.push('.');
    push_digits(out, (in_day % 1000) as u64, 3);
    out.push('Z');
}

/// Year, month (1–12) and day (1–31) of the day `days` after 1970-01-01.
/// <https://howardhinnant.github.io/date_algorithms.html#civil_from_days>;
/// in i64 it holds for every day an i64 of milliseconds can name.
fn civil_from_days(days: i64) -> (i64, u64, u64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097) as u64; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March first
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe as i64 + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `value` in exactly `width` decimal digits, zero-padded (`value` fits).
fn push_digits(out: &mut String, value: u64, width: u32) {
    let mut div = 10u64.pow(width - 1);
    while div > 0 {
        out.push(char::from(b'0' + (value / div % 10) as u8));
        div /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chrono_text(ms: i64) -> Option<String> {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339_ms(1_764_000_000_123), "2025-11-24T16:00:00.123Z");
        // A leap day, and the day after it.
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_868_800_000), "2000-03-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        assert_eq!(
            rfc3339_ms(253_402_300_800_000),
            "+10000-01-01T00:00:00.000Z"
        );
        assert_eq!(rfc3339_ms(-62_167_219_200_000), "0000-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(-62_167_219_200_001), "-0001-12-31T23:59:59.999Z");
    }

    #[test]
    fn appends_to_what_is_there() {
        let mut out = String::from("at ");
        write_rfc3339_ms(&mut out, 0);
        assert_eq!(out, "at 1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn the_ends_of_i64_are_dates_too() {
        // Past chrono's range: still a date of the same shape, never a panic.
        for ms in [i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 1] {
            let text = rfc3339_ms(ms);
            assert!(text.ends_with('Z') && text.contains('T'), "{text}");
            assert!(text.starts_with(if ms < 0 { '-' } else { '+' }), "{text}");
        }
        assert_eq!(rfc3339_ms(i64::MAX), "+292278994-08-17T07:12:55.807Z");
        assert_eq!(rfc3339_ms(i64::MIN), "-292275055-05-16T16:47:04.192Z");
    }

    proptest! {
        #[test]
        fn agrees_with_chrono_over_its_range(ms in -8_210_266_876_800_000i64..=8_210_266_876_799_999) {
            prop_assert_eq!(Some(rfc3339_ms(ms)), chrono_text(ms));
        }

        #[test]
        fn agrees_with_chrono_near_now(ms in 0i64..=4_102_444_800_000) {
            prop_assert_eq!(Some(rfc3339_ms(ms)), chrono_text(ms));
        }
    }
}
