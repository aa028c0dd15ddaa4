//! Checkpoints the write-ahead log on its own thread and connection.
//!
//! Left to itself SQLite checkpoints inside `COMMIT` every ~1,000 WAL pages:
//! 20–30 ms of copying and fsync on the worker, during which no event is
//! committed (measured by benches/commit_interval.rs). A PASSIVE checkpoint
//! from another connection copies the same pages without blocking the
//! writer, so the worker only nudges this thread now and then.

use std::path::Path;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::thread::JoinHandle;

use rusqlite::Connection;

pub struct Checkpointer {
    nudge: Option<SyncSender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread; `None` if its connection or thread cannot be had
    /// (then SQLite's automatic checkpoints stay on).
    pub fn start(path: &Path) -> Option<Checkpointer> {
        let conn = Connection::open(path).ok()?;
        conn.busy_timeout(std::time::Duration::from_millis(super::BUSY_TIMEOUT_MS))
            .ok()?;
        let (nudge, rx) = mpsc::sync_channel::<()>(1);
        let handle = std::thread::Builder::new()
            .name("reach-checkpoint".into())
            .spawn(move || {
                for () in rx {
                    // Errors (a busy lock) only postpone the work to the next nudge.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .ok()?;
        Some(Checkpointer {
            nudge: Some(nudge),
            handle: Some(handle),
        })
    }

    /// Asks for a checkpoint; never blocks (one pending nudge is enough).
    pub fn nudge(&self) {
        if let Some(n) = &self.nudge {
            match n.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
            }
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.nudge = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
