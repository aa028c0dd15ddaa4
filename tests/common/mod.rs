//! Shared helpers for the integration tests: open a tracker on a real data
//! directory, and read back what it stored from the real SQLite file.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use reach::event::StoredEvent;
use reach::log::MemoryLog;
use reach::store::{database_path, Store};
use reach::{Clock, Config, ManualClock, Tracker, Value};

pub fn config(dir: &Path) -> Config {
    let mut c = Config::new(dir);
    c.app.app_version = "5.2.0".into();
    c.app.platform = "android".into();
    c.app.os_version = "14".into();
    c.app.locale = "zh-CN".into();
    c.app.timezone = "Asia/Shanghai".into();
    c
}

pub struct Opened {
    pub tracker: Tracker,
    pub clock: Arc<ManualClock>,
    pub log: Arc<MemoryLog>,
}

pub const T0: i64 = 1_790_000_000_000;

pub fn open_with(config: Config) -> Opened {
    open_at(config, T0)
}

/// Opens with the virtual clock already at `now_ms` (the worker reads it
/// while opening, on its own thread).
pub fn open_at(config: Config, now_ms: i64) -> Opened {
    let clock = Arc::new(ManualClock::new(now_ms));
    let log = Arc::new(MemoryLog::default());
    let tracker = Tracker::open(
        config,
        clock.clone() as Arc<dyn Clock>,
        Some(log.clone() as _),
    )
    .expect("open");
    Opened {
        tracker,
        clock,
        log,
    }
}

pub fn open(dir: &Path) -> Opened {
    open_with(config(dir))
}

/// Every stored event, in sequence order, read from the database file.
pub fn stored_events(dir: &Path) -> Vec<StoredEvent> {
    // Read-only beside the live worker: a second `Store::open` could take
    // the file mid-checkpoint for damaged and move it aside.
    let store = Store::open_reader(&database_path(dir)).expect("open the database to read");
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = store.read_events(after, 50_000).expect("read events");
        match page.last() {
            Some(last) => after = last.seq,
            None => break,
        }
        out.extend(page);
    }
    out
}

pub fn props(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

pub fn json(e: &StoredEvent) -> serde_json::Value {
    serde_json::from_str(&e.properties_json).expect("properties are JSON")
}
