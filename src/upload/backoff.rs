//! When to try again after a failed upload: exponential backoff with jitter,
//! or the server's `Retry-After` when it gave one.

use std::time::Duration;

/// The first wait after a failure. Short, because most failures are a
/// momentary blip (a dropped connection while switching networks).
pub const INITIAL_BACKOFF: Duration = Duration::from_secs(2);

/// The longest wait between attempts without a `Retry-After`: an offline
/// phone tries about six times an hour, which costs nothing noticeable in
/// battery, and a recovering server is not hammered by every device at once.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10 * 60);

/// The longest wait while the server refuses the configuration (401, 403,
/// 404, 405, ...): a mistyped URL or a rotated write key is fixed by a new
/// app release or remote config, not by retrying, so an hourly attempt is
/// plenty and costs a phone and the wrong host almost nothing. The events
/// are kept meanwhile, and the app coming to the foreground (or a new
/// instance with a new configuration) tries again at once.
pub const CONFIG_REFUSAL_MAX_BACKOFF: Duration = Duration::from_secs(60 * 60);

/// A `Retry-After` longer than this is capped: a misconfigured server must
/// not silence a device for days.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

/// Consecutive failures and a small random source for jitter.
#[derive(Debug)]
pub struct Backoff {
    failures: u32,
    rng: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

impl Backoff {
    pub fn new() -> Backoff {
        // Seeded per instance so that devices do not retry in lockstep.
        let seed = uuid::Uuid::new_v4().as_u64_pair().0 | 1;
        Backoff {
            failures: 0,
            rng: seed,
        }
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The wait after one more failure: `retry_after` when the server gave
    /// one (capped), else `INITIAL_BACKOFF · 2ⁿ` capped at `MAX_BACKOFF`,
    /// with "equal jitter" (half fixed, half random) so a fleet spreads out.
    pub fn next_delay(&mut self, retry_after: Option<Duration>) -> Duration {
        self.next_delay_up_to(retry_after, MAX_BACKOFF)
    }

    /// As `next_delay`, growing up to `ceiling` instead of `MAX_BACKOFF`.
    pub fn next_delay_up_to(
        &mut self,
        retry_after: Option<Duration>,
        ceiling: Duration,
    ) -> Duration {
        self.failures = self.failures.saturating_add(1);
        if let Some(after) = retry_after {
            return after.min(MAX_RETRY_AFTER);
        }
        let exp = self.failures.saturating_sub(1).min(20);
        let full = INITIAL_BACKOFF
            .saturating_mul(1u32 << exp)
            .min(ceiling)
            .as_millis() as u64;
        let half = full / 2;
        Duration::from_millis(half + self.next_random() % (half + 1))
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64: plenty for jitter.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }
}

/// `Retry-After` as seconds or an HTTP date, relative to `now_ms`.
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // An HTTP date (RFC 9110 `IMF-fixdate`, `GMT`) is RFC 2822's shape.
    static HTTP_DATE: jiff::fmt::rfc2822::DateTimeParser =
        jiff::fmt::rfc2822::DateTimeParser::new();
    let at = HTTP_DATE.parse_timestamp(value).ok()?;
    // Saturating: a date and a clock at opposite ends of i64's range (a
    // device clock gone wild, found by the upload_answer fuzz target).
    let ms = at.as_millisecond().saturating_sub(now_ms);
    Some(Duration::from_millis(ms.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_with_jitter_up_to_the_cap() {
        let mut b = Backoff::new();
        let first = b.next_delay(None);
        assert!(first >= INITIAL_BACKOFF / 2 && first <= INITIAL_BACKOFF);
        let second = b.next_delay(None);
        assert!(second >= INITIAL_BACKOFF && second <= INITIAL_BACKOFF * 2);
        for _ in 0..30 {
            assert!(b.next_delay(None) <= MAX_BACKOFF);
        }
        assert!(b.next_delay(None) >= MAX_BACKOFF / 2);
        b.reset();
        assert!(b.next_delay(None) <= INITIAL_BACKOFF);
    }

    #[test]
    fn a_configuration_refusal_grows_to_an_hour() {
        let mut b = Backoff::new();
        let mut last = Duration::ZERO;
        for _ in 0..40 {
            last = b.next_delay_up_to(None, CONFIG_REFUSAL_MAX_BACKOFF);
            assert!(last <= CONFIG_REFUSAL_MAX_BACKOFF);
        }
        // Equal jitter: at least half the ceiling, well past the usual one.
        assert!(last >= CONFIG_REFUSAL_MAX_BACKOFF / 2, "{last:?}");
        assert!(last > MAX_BACKOFF);
    }

    #[test]
    fn an_http_date_against_a_clock_at_the_end_of_time_does_not_overflow() {
        let date = "Fri, 2 Oct 2015 07:00:00 GMT";
        assert_eq!(
            parse_retry_after(date, i64::MIN + 2),
            Some(Duration::from_millis(i64::MAX as u64))
        );
        assert_eq!(parse_retry_after(date, i64::MAX), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_wins_and_is_capped() {
        let mut b = Backoff::new();
        assert_eq!(
            b.next_delay(Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            b.next_delay(Some(Duration::from_secs(999_999))),
            MAX_RETRY_AFTER
        );
    }

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        assert_eq!(
            parse_retry_after(" 120 ", 0),
            Some(Duration::from_secs(120))
        );
        // 1994-11-06T08:49:37Z, the example date of RFC 9110.
        let now = 784_111_777_000;
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }
}
