//! Sessions: when one ends and the next begins.
//!
//! Pure logic over timestamps from the injected clock; the worker persists the
//! state. A session ends after the app has spent longer than the timeout in
//! the background, or, when the app was killed, after that long without any
//! activity.

/// The current session as the worker keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub started_ms: i64,
    /// The newest timestamp seen (event, foreground or background).
    pub last_activity_ms: i64,
    /// Set while the app is in the background.
    pub background_since_ms: Option<i64>,
}

impl Session {
    pub fn start(now_ms: i64) -> Session {
        Session {
            id: uuid::Uuid::new_v4().hyphenated().to_string(),
            started_ms: now_ms,
            last_activity_ms: now_ms,
            background_since_ms: None,
        }
    }

    /// Whether a process that starts at `now_ms` continues this session.
    pub fn continues_at_open(&self, now_ms: i64, timeout_ms: i64) -> bool {
        let idle_since = self.background_since_ms.unwrap_or(self.last_activity_ms);
        // A clock that jumped backwards is no reason to split a session.
        now_ms.saturating_sub(idle_since) <= timeout_ms
    }

    /// Whether coming to the foreground at `now_ms` continues this session.
    pub fn continues_at_foreground(&self, now_ms: i64, timeout_ms: i64) -> bool {
        match self.background_since_ms {
            Some(since) => now_ms.saturating_sub(since) <= timeout_ms,
            None => true,
        }
    }

    pub fn touch(&mut self, ts_ms: i64) {
        self.last_activity_ms = self.last_activity_ms.max(ts_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THIRTY_MIN: i64 = 30 * 60 * 1000;

    #[test]
    fn returning_within_the_timeout_continues_the_session() {
        let mut s = Session::start(0);
        s.background_since_ms = Some(1_000);
        assert!(s.continues_at_foreground(1_000 + THIRTY_MIN, THIRTY_MIN));
        assert!(!s.continues_at_foreground(1_001 + THIRTY_MIN, THIRTY_MIN));
    }

    #[test]
    fn a_foreground_without_a_background_continues() {
        let s = Session::start(0);
        assert!(s.continues_at_foreground(10 * THIRTY_MIN, THIRTY_MIN));
    }

    #[test]
    fn a_restart_after_long_inactivity_starts_a_new_session() {
        let mut s = Session::start(0);
        s.touch(5_000);
        assert!(s.continues_at_open(5_000 + THIRTY_MIN, THIRTY_MIN));
        assert!(!s.continues_at_open(5_001 + THIRTY_MIN, THIRTY_MIN));
        // A clock set back does not split the session.
        assert!(s.continues_at_open(-1_000_000, THIRTY_MIN));
    }
}
