//! The wall clock, passed in rather than read globally.
//!
//! Every timestamp Reach stamps and every time-based decision (sessions, and
//! later windows and caps) reads a `Clock`, so tests and the simulator run on
//! virtual time, deterministically. Real waiting (group-commit deadlines, the
//! bounded wait of `flush()`) uses `std::time::Instant`: it is about the
//! machine, not about the user's timeline.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often a thread waiting for a `ManualClock` deadline looks at the
/// clock again: a test that advances virtual time sees the waiter react
/// within a few milliseconds, with no real sleeping for the virtual wait.
pub const VIRTUAL_CLOCK_POLL: Duration = Duration::from_millis(2);

/// Milliseconds since the Unix epoch, UTC.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;

    /// How long a thread waiting until `deadline_ms` (this clock's time)
    /// should sleep in real time before looking again. A real clock sleeps
    /// the whole remainder (no wake-ups while nothing is due); a virtual
    /// clock answers a short poll, since its time may jump at any moment.
    fn real_wait_until(&self, deadline_ms: i64) -> Duration {
        Duration::from_millis(deadline_ms.saturating_sub(self.now_ms()).max(0) as u64)
    }
}

/// The device's real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i64,
            // A clock set before 1970 is a broken clock; stamp the epoch rather than panic.
            Err(_) => 0,
        }
    }
}

/// A clock that only moves when told to: for tests and the simulator.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    pub fn new(start_ms: i64) -> Self {
        ManualClock {
            now: AtomicI64::new(start_ms),
        }
    }

    pub fn set_ms(&self, ms: i64) {
        self.now.store(ms, Ordering::SeqCst);
    }

    pub fn advance_ms(&self, by: i64) {
        self.now.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    fn real_wait_until(&self, deadline_ms: i64) -> Duration {
        if self.now_ms() >= deadline_ms {
            Duration::ZERO
        } else {
            VIRTUAL_CLOCK_POLL
        }
    }
}
