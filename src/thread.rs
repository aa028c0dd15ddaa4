//! How Reach stops the helper threads it starts (presenter, claims): a
//! bounded wait, so that closing never hangs on host code that does not
//! return.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Waits up to `timeout` for `handle`'s thread to end and joins it; returns
/// whether it ended. A thread still running is left behind, detached.
pub(crate) fn join_within(handle: JoinHandle<()>, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while !handle.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let finished = handle.is_finished();
    if finished {
        let _ = handle.join();
    }
    finished
}
