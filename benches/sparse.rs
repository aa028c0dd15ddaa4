//! Sparse `track()`: what one call costs the caller's thread when calls come
//! one at a time, as real apps make them, and how often the worker wakes.
//!
//!     cargo bench --bench sparse
//!     REACH_BENCH_SPARSE_SCALE=4 cargo bench --bench sparse   (4× the calls per row)
//!
//! Rows: calls spaced 250 µs, 10 ms, 100 ms and 1 s apart (120 to 4,000
//! calls, ~2.5 minutes in all), each timed on the caller's thread
//! (p50/p90/p99/max, timer included), with the caller's context switches
//! per 1,000 calls (a futex wake shows as none there: it is the worker's
//! switch it causes), and beside each a floor row: the same pause, then
//! building five properties instead of a call (cold caches after a pause
//! cost any code; the floor says how much). Then the worker thread's wake-ups (its voluntary
//! context switches, /proc/self/task/*/status) per minute: idle after the
//! last call (from 5 s on, target 0) and while a call arrives every second.
//! The machine is shared: quote ratios to `track_latency`'s burst row of
//! the same sitting, not absolute figures alone.

use std::hint::black_box;
use std::time::{Duration, Instant};

use reach::Tracker;

mod common;

const WORKER: &str = "reach-worker";

fn timed_calls(tracker: &Tracker, n: usize, gap: Duration) -> (Vec<u64>, u64) {
    let mut ns = Vec::with_capacity(n);
    let (_, v0, i0) = common::own_faults_and_switches();
    let mut sleeps = 0;
    for _ in 0..n {
        let props = common::props5();
        std::thread::sleep(gap);
        sleeps += 1;
        let t = Instant::now();
        let r = tracker.track(common::EVENT_NAME.into(), props);
        ns.push(t.elapsed().as_nanos() as u64);
        black_box(r).expect("track");
    }
    let (_, v1, i1) = common::own_faults_and_switches();
    // The caller's own sleeps are one voluntary switch each: not the call's.
    let switches = (v1 - v0 + i1 - i0).saturating_sub(sleeps);
    (ns, switches)
}

/// The floor: the same pause, then building what `track` is handed (five
/// properties: the allocations a call's own work is made of) in the timed
/// region instead of a call. After a pause the caller's caches and branch
/// predictors are cold, more so on a machine that runs other work meanwhile;
/// this row shows what any few hundred nanoseconds of code cost then.
fn timed_floor(n: usize, gap: Duration) -> Vec<u64> {
    let mut ns = Vec::with_capacity(n);
    for _ in 0..n {
        std::thread::sleep(gap);
        let t = Instant::now();
        black_box(common::props5());
        ns.push(t.elapsed().as_nanos() as u64);
    }
    ns
}

fn wakeups_over(span: Duration, mut during: impl FnMut()) -> f64 {
    let before = common::thread_voluntary_switches(WORKER).unwrap_or(0);
    let started = Instant::now();
    while started.elapsed() < span {
        during();
    }
    let after = common::thread_voluntary_switches(WORKER).unwrap_or(0);
    (after - before) as f64 * 60.0 / started.elapsed().as_secs_f64()
}

fn main() {
    let scale = common::env_u64("REACH_BENCH_SPARSE_SCALE", 1) as usize;
    common::machine_note();
    let dir = common::temp_dir("sparse");
    let tracker = common::open(dir.path(), u64::MAX / 4);
    for _ in 0..20_000 {
        tracker
            .track(common::EVENT_NAME.into(), common::props5())
            .unwrap();
    }
    assert!(tracker.flush_within(common::DRAIN));

    let rows: [(&str, Duration, usize); 4] = [
        ("250 µs apart", Duration::from_micros(250), 4_000),
        ("10 ms apart", Duration::from_millis(10), 1_000),
        ("100 ms apart", Duration::from_millis(100), 300),
        ("1 s apart", Duration::from_secs(1), 60),
    ];
    println!();
    println!("sparse track(), 5 props, caller's thread, ns/call (timer included)");
    println!();
    println!("| row | calls | p50 | p90 | p99 | max | caller switches / 1k calls |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut total = 20_000u64;
    let line = |label: String, n: usize, mut ns: Vec<u64>, switches: Option<u64>| {
        ns.sort_unstable();
        println!(
            "| {label} | {n} | {} | {} | {} | {} | {} |",
            common::pct(&ns, 50.0),
            common::pct(&ns, 90.0),
            common::pct(&ns, 99.0),
            ns.last().copied().unwrap_or(0),
            switches.map_or("—".to_string(), |s| format!(
                "{:.0}",
                s as f64 * 1000.0 / n as f64
            ))
        );
    };
    for (label, gap, n) in rows {
        let n = n * scale;
        let (ns, switches) = timed_calls(&tracker, n, gap);
        total += n as u64;
        line(format!("track, {label}"), n, ns, Some(switches));
        let floor = timed_floor(n.min(300), gap);
        line(
            format!("floor: 5 properties built, {label}"),
            n.min(300),
            floor,
            None,
        );
    }

    // Let any linger end, then count the idle worker's wake-ups.
    std::thread::sleep(Duration::from_secs(5));
    let idle = wakeups_over(Duration::from_secs(20), || {
        std::thread::sleep(Duration::from_millis(100))
    });
    let mut at_1hz = 0u64;
    let busy = wakeups_over(Duration::from_secs(30), || {
        std::thread::sleep(Duration::from_secs(1));
        tracker
            .track(common::EVENT_NAME.into(), common::props5())
            .unwrap();
        at_1hz += 1;
    });
    total += at_1hz;
    println!();
    println!("| worker wake-ups per minute | idle (from 5 s after the last call) | one call per second |");
    println!("|---|---:|---:|");
    println!("| `{WORKER}` | {idle:.0} | {busy:.0} |");

    assert!(tracker.flush_within(common::DRAIN));
    let d = tracker.diagnostics();
    assert_eq!(d.stored, total, "every event stored: {d:?}");
    tracker.close();
}
