//! Group-commit interval while events keep arriving. The design rule
//! (src/worker.rs, MAX_COMMIT_INTERVAL) is "the worker commits at least every
//! 10 ms". A polling thread reads `diagnostics().stored` (updated right after
//! each commit) every ~100 µs and records when it increases; the gaps between
//! consecutive increases are the observed commit intervals (resolution: the
//! poll period plus the poller's wake-up latency on a busy machine).
//!
//!     cargo bench --bench commit_interval
//!     REACH_BENCH_SECS=3 REACH_BENCH_REPEATS=3 cargo bench --bench commit_interval
//!     REACH_BENCH_TRACE_GAPS=1 ... (prints every gap over 20 ms with its wall-clock time)
//!
//! Scenarios (each on a fresh data dir, interleaved over repeats):
//! - saturated: one producer tracks as fast as it can, pausing only while more
//!   than 50k events are queued (to bound memory), so the worker's channel is
//!   never empty and only the 10 ms deadline ends a transaction;
//! - paced 20k/s: 20 events every ms, a heavy but realistic app; the worker
//!   commits whenever its channel is momentarily empty.
//!
//! Also reported: bytes the process passed to write syscalls per event while
//! the producer ran (WAL appends + checkpoint copies; /proc/self/io wchar),
//! i.e. the write amplification of small group commits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod common;

struct Outcome {
    gaps_ms: Vec<f64>,
    events: u64,
    /// Bytes written (write syscalls) per event while the producer ran.
    written_per_event: f64,
}

fn run(saturated: bool, secs: f64) -> Outcome {
    let dir = common::temp_dir("commit");
    let tracker = common::open(dir.path(), u64::MAX / 4);
    assert!(tracker.flush_within(common::DRAIN));
    let stop = AtomicBool::new(false);
    let template = common::props5();
    let mut changes: Vec<(Instant, u64)> = Vec::new();
    let mut produced = 0u64;
    let (mut written0, mut written1) = (0u64, 0u64);
    // Prints each gap over 20 ms with its wall-clock time, to line it up with
    // e.g. `strace --seccomp-bpf -f -e trace=fsync -ttt -T`.
    let trace_gaps = std::env::var_os("REACH_BENCH_TRACE_GAPS").is_some();
    std::thread::scope(|s| {
        let poller = s.spawn(|| {
            let mut last = tracker.diagnostics().stored;
            let mut seen = Vec::with_capacity(100_000);
            while !stop.load(Ordering::Relaxed) {
                let now = tracker.diagnostics().stored;
                if now != last {
                    let t = Instant::now();
                    if trace_gaps {
                        if let Some((prev, _)) = seen.last() {
                            let gap: Duration = t - *prev;
                            if gap > Duration::from_millis(20) {
                                let wall = std::time::SystemTime::now()
                                    .duration_since(std::time::UNIX_EPOCH)
                                    .unwrap();
                                eprintln!(
                                    "    gap {:.1} ms ending at {:.6} (unix s)",
                                    gap.as_secs_f64() * 1e3,
                                    wall.as_secs_f64()
                                );
                            }
                        }
                    }
                    seen.push((t, now));
                    last = now;
                }
                std::thread::sleep(Duration::from_micros(100));
            }
            seen
        });
        let start = Instant::now();
        let end = start + Duration::from_secs_f64(secs);
        written0 = common::process_written_bytes();
        if saturated {
            'outer: loop {
                for _ in 0..1_000 {
                    tracker
                        .track(common::EVENT_NAME.to_owned(), template.clone())
                        .unwrap();
                }
                produced += 1_000;
                while tracker.diagnostics().queued > 50_000 {
                    if Instant::now() >= end {
                        break 'outer;
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
                if Instant::now() >= end {
                    break;
                }
            }
        } else {
            let mut tick = start;
            while tick < end {
                for _ in 0..20 {
                    tracker
                        .track(common::EVENT_NAME.to_owned(), template.clone())
                        .unwrap();
                }
                produced += 20;
                tick += Duration::from_millis(1);
                if let Some(wait) = tick.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
        }
        // Only gaps while the producer was running count.
        stop.store(true, Ordering::Relaxed);
        written1 = common::process_written_bytes();
        changes = poller.join().unwrap();
    });
    assert!(tracker.flush_within(common::DRAIN));
    let d = tracker.diagnostics();
    assert_eq!(d.stored, produced, "{d:?}");
    tracker.close();
    let gaps_ms = changes
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).as_secs_f64() * 1e3)
        .collect();
    Outcome {
        gaps_ms,
        events: produced,
        written_per_event: written1.saturating_sub(written0) as f64 / produced.max(1) as f64,
    }
}

fn main() {
    let secs = common::env_u64("REACH_BENCH_SECS", 3) as f64;
    let repeats = common::env_u64("REACH_BENCH_REPEATS", 3) as usize;
    common::machine_note();
    let names = ["saturated producer", "paced 20k events/s"];
    // Per scenario, per repeat: (commits seen, p50, p99, max, gaps > 10 ms,
    // > 20 ms, events/s, bytes written per event)
    let mut res: Vec<Vec<[f64; 8]>> = vec![Vec::new(), Vec::new()];
    for rep in 1..=repeats {
        eprintln!("repeat {rep}/{repeats}");
        for (i, name) in names.iter().enumerate() {
            let o = run(i == 0, secs);
            let mut g = o.gaps_ms.clone();
            g.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let p = |q: f64| {
                if g.is_empty() {
                    0.0
                } else {
                    let r = ((q / 100.0) * g.len() as f64).ceil() as usize;
                    g[r.clamp(1, g.len()) - 1]
                }
            };
            let over10 = g.iter().filter(|&&x| x > 10.0).count() as f64;
            let over20 = g.iter().filter(|&&x| x > 20.0).count() as f64;
            let max = g.last().copied().unwrap_or(0.0);
            let row = [
                g.len() as f64 + 1.0,
                p(50.0),
                p(99.0),
                max,
                over10,
                over20,
                o.events as f64 / secs,
                o.written_per_event,
            ];
            eprintln!(
                "  {name:<20} commits seen {:>5}  gap p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  >10ms {:>4}  >20ms {:>4}  ({:.0} events/s produced, {:.0} B written/event)",
                row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7]
            );
            res[i].push(row);
        }
    }
    println!();
    println!(
        "Observed interval between commits (stored-count increases), {secs} s per run, {repeats} repeats: median (min–max)"
    );
    println!();
    println!("| scenario | commits seen | gap p50 (ms) | gap p99 (ms) | gap max (ms) | gaps > 10 ms | gaps > 20 ms | events/s produced | bytes written / event |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, name) in names.iter().enumerate() {
        let col = |c: usize| res[i].iter().map(|r| r[c]).collect::<Vec<_>>();
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
            common::summary(&col(0)),
            common::summary(&col(1)),
            common::summary(&col(2)),
            common::summary(&col(3)),
            common::summary(&col(4)),
            common::summary(&col(5)),
            common::summary(&col(6)),
            common::summary(&col(7)),
        );
    }
}
