//! Where Reach's own log lines go: a sink the host sets (Logcat, os_log, a
//! test collector). Without one, lines are discarded: an SDK must not write to
//! the host's stderr uninvited.
//!
//! Sinks are called from the worker thread only, never from the caller's
//! thread, so a slow host logger cannot slow `track()` down.

use std::sync::{Arc, RwLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

pub trait LogSink: Send + Sync {
    fn log(&self, level: Level, message: &str);
}

/// A replaceable sink shared by the tracker and its worker.
#[derive(Clone, Default)]
pub struct Logger {
    sink: Arc<RwLock<Option<Arc<dyn LogSink>>>>,
}

impl Logger {
    pub fn new(sink: Option<Arc<dyn LogSink>>) -> Logger {
        Logger {
            sink: Arc::new(RwLock::new(sink)),
        }
    }

    pub fn set_sink(&self, sink: Option<Arc<dyn LogSink>>) {
        match self.sink.write() {
            Ok(mut s) => *s = sink,
            Err(poisoned) => *poisoned.into_inner() = sink,
        }
    }

    pub fn log(&self, level: Level, message: &str) {
        let sink = match self.sink.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        if let Some(sink) = sink {
            // A panicking host sink must not take the worker down with it.
            let _ =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink.log(level, message)));
        }
    }
}

/// A sink that keeps lines in memory: for tests in this crate and in users'.
#[derive(Default)]
pub struct MemoryLog {
    pub lines: std::sync::Mutex<Vec<(Level, String)>>,
}

impl MemoryLog {
    pub fn contains(&self, needle: &str) -> bool {
        self.lines
            .lock()
            .map(|l| l.iter().any(|(_, m)| m.contains(needle)))
            .unwrap_or(false)
    }
}

impl LogSink for MemoryLog {
    fn log(&self, level: Level, message: &str) {
        if let Ok(mut l) = self.lines.lock() {
            l.push((level, message.to_owned()));
        }
    }
}
