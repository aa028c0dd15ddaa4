//! Opening Reach on a data dir that already holds 100k queued events.
//!
//!     cargo bench --bench open
//!     REACH_BENCH_STORED=100000 REACH_BENCH_REPEATS=10 cargo bench --bench open
//!
//! A data dir with STORED events is prepared once (track, flush, close) in a
//! child process (this binary, re-run with REACH_BENCH_OPEN_PREPARE=dir), so
//! the measuring process starts like an app at launch: its heap does not hold
//! the residue of 100k events freed by a worker. (Preparing in-process made
//! repeat 1 take 17-45 ms: the first `Sender::send` allocation ran glibc's
//! `malloc_consolidate` over the ~900k small chunks the old worker had freed.)
//! Then each repeat times:
//! - `open()`: `Tracker::open` returning (dir lock + worker thread spawned);
//! - open + first `flush()`: until the worker has opened SQLite, loaded its
//!   state, committed, and acknowledged, i.e. is ready to store events;
//! - open + track 1 + flush: the first event is durable;
//! - `close()`.
//!
//! The same on a fresh, empty dir (schema creation) is a reference row.
//! Repeat 1 is the first open in this process (one-time costs: SQLite
//! initialisation, first thread) and is shown apart. The page cache is warm:
//! the child has just written the file (dropping caches needs root and would
//! disturb the other users of this machine).

use std::time::{Duration, Instant};

mod common;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// (open, open + first flush, close) in ms.
fn open_once(dir: &std::path::Path, max_events: u64, track_one: bool) -> (f64, f64, f64) {
    let t0 = Instant::now();
    let tracker = common::open(dir, max_events);
    let t1 = Instant::now();
    if track_one {
        tracker
            .track("first".to_owned(), common::props5())
            .expect("track");
    }
    assert!(tracker.flush_within(common::DRAIN));
    let t2 = Instant::now();
    tracker.close();
    let t3 = Instant::now();
    (ms(t1 - t0), ms(t2 - t0), ms(t3 - t2))
}

/// Fills `dir` with `stored` events (run in a child process).
fn prepare(dir: &std::path::Path, stored: u64, max_events: u64) {
    let prep = Instant::now();
    let tracker = common::open(dir, max_events);
    let template = common::props5();
    for _ in 0..stored {
        tracker
            .track(common::EVENT_NAME.to_owned(), template.clone())
            .expect("track");
    }
    assert!(tracker.flush_within(common::DRAIN));
    assert_eq!(tracker.diagnostics().stored, stored);
    assert!(tracker.close());
    let db = reach::store::database_path(dir);
    eprintln!(
        "prepared {stored} events in {:.0} ms (child process); reach.db {} MB",
        prep.elapsed().as_secs_f64() * 1e3,
        std::fs::metadata(&db)
            .map(|m| m.len() / 1_000_000)
            .unwrap_or(0)
    );
}

fn main() {
    let stored = common::env_u64("REACH_BENCH_STORED", 100_000);
    let repeats = common::env_u64("REACH_BENCH_REPEATS", 10) as usize;
    let max_events = stored * 10;
    common::machine_note();

    if let Some(dir) = std::env::var_os("REACH_BENCH_OPEN_PREPARE") {
        prepare(std::path::Path::new(&dir), stored, max_events);
        return;
    }

    let dir = common::temp_dir("open");
    let status = std::process::Command::new(std::env::current_exe().expect("own path"))
        .arg("--bench")
        .env("REACH_BENCH_OPEN_PREPARE", dir.path())
        .status()
        .expect("run the prepare step");
    assert!(status.success(), "prepare step failed");

    let mut rows: Vec<(&str, Vec<f64>)> = vec![
        ("open() alone", vec![]),
        ("open() + first flush() (worker ready)", vec![]),
        ("open() + track 1 + flush() (first event durable)", vec![]),
        ("close() after first flush", vec![]),
        ("reference: open() + first flush(), empty new dir", vec![]),
    ];
    let mut first_repeat = Vec::new();
    for rep in 0..repeats {
        let (open, ready, close) = open_once(dir.path(), max_events, false);
        let (_, durable, _) = open_once(dir.path(), max_events, true);
        let fresh = common::temp_dir("open-empty");
        let (_, empty_ready, _) = open_once(fresh.path(), max_events, false);
        eprintln!(
            "  repeat {}: open {open:.3} ms, ready {ready:.2} ms, first durable {durable:.2} ms, close {close:.2} ms, empty dir ready {empty_ready:.2} ms",
            rep + 1
        );
        let vals = [open, ready, durable, close, empty_ready];
        if rep == 0 {
            first_repeat = vals.to_vec();
            continue;
        }
        for (row, v) in rows.iter_mut().zip(vals) {
            row.1.push(v);
        }
    }

    println!();
    println!(
        "Opening with {stored} stored events (reach.db on {}), ms: median (min–max) over repeats 2..{repeats}; repeat 1 (first open in the process) apart",
        std::env::temp_dir().display()
    );
    println!();
    println!("| step | ms | repeat 1, first open in the process (ms) |");
    println!("|---|---:|---:|");
    for (i, (name, v)) in rows.iter().enumerate() {
        println!(
            "| {name} | {} | {} |",
            common::summary(v),
            common::fmt(first_repeat[i])
        );
    }
}
