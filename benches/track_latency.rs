//! Tail latency of `Tracker::track` on the caller's thread: every call is
//! timed with `Instant`, then the per-call times are sorted and reported as
//! p50/p90/p99/p99.9/max. Criterion (`benches/track.rs`) gives medians only.
//!
//!     cargo bench --bench track_latency
//!     REACH_BENCH_CALLS=100000 REACH_BENCH_REPEATS=3 cargo bench --bench track_latency
//!
//! Rows (each repeat runs every row once, interleaved, on a fresh data dir,
//! after a warm-up of 20k calls):
//! - timer overhead: `Instant::now()` + `elapsed()` around nothing. It is
//!   included in every other row, as in the peers' harness.
//! - burst, 5 props: CALLS back-to-back calls; the worker is busy inserting on
//!   the other core meanwhile (like Glean row (a)).
//! - burst, 0 props.
//! - sparse, 5 props: SPARSE calls ~250 µs apart, so the worker is parked
//!   before each call and the caller pays the wake-up (like Glean row (a'')).
//!
//! The name and properties are built before the timed region (the caller's
//! map exists already in real use); the bindings' FFI conversion is not
//! included. Events are never refused or dropped (checked at the end).

use std::hint::black_box;
use std::time::{Duration, Instant};

use reach::{Tracker, Value};

mod common;

type Input = (String, Vec<(String, Value)>);

struct Row {
    name: &'static str,
    p50: Vec<f64>,
    p90: Vec<f64>,
    p99: Vec<f64>,
    p999: Vec<f64>,
    max: Vec<f64>,
    mean: Vec<f64>,
    /// Caller-thread minor page faults and context switches per 1,000 calls.
    faults: Vec<f64>,
    switches: Vec<f64>,
}

impl Row {
    fn new(name: &'static str) -> Row {
        Row {
            name,
            p50: vec![],
            p90: vec![],
            p99: vec![],
            p999: vec![],
            max: vec![],
            mean: vec![],
            faults: vec![],
            switches: vec![],
        }
    }

    fn add(&mut self, (mut ns, faults, switches): (Vec<u64>, u64, u64)) {
        let per_k = |x: u64| x as f64 * 1000.0 / ns.len() as f64;
        self.faults.push(per_k(faults));
        self.switches.push(per_k(switches));
        let mean = ns.iter().sum::<u64>() as f64 / ns.len() as f64;
        ns.sort_unstable();
        self.p50.push(common::pct(&ns, 50.0) as f64);
        self.p90.push(common::pct(&ns, 90.0) as f64);
        self.p99.push(common::pct(&ns, 99.0) as f64);
        self.p999.push(common::pct(&ns, 99.9) as f64);
        self.max.push(*ns.last().unwrap() as f64);
        self.mean.push(mean);
        eprintln!(
            "  {:<32} n={:<7} p50={:>6} p90={:>6} p99={:>7} p99.9={:>7} max={:>8} mean={:>7.0} ns; per 1k calls: {:.1} page faults, {:.1} ctx switches",
            self.name,
            ns.len(),
            common::pct(&ns, 50.0),
            common::pct(&ns, 90.0),
            common::pct(&ns, 99.0),
            common::pct(&ns, 99.9),
            ns.last().unwrap(),
            mean,
            self.faults.last().unwrap(),
            self.switches.last().unwrap(),
        );
    }
}

fn build(n: usize, props: bool) -> Vec<Input> {
    let template = common::props5();
    (0..n)
        .map(|_| {
            let p = if props { template.clone() } else { Vec::new() };
            (common::EVENT_NAME.to_owned(), p)
        })
        .collect()
}

type Timed = (Vec<u64>, u64, u64);

/// Runs `f`, returning its per-call times plus the minor page faults and
/// context switches (voluntary + involuntary) of this thread meanwhile.
fn counted(f: impl FnOnce() -> Vec<u64>) -> Timed {
    let (f0, v0, i0) = common::own_faults_and_switches();
    let ns = f();
    let (f1, v1, i1) = common::own_faults_and_switches();
    (ns, f1 - f0, (v1 - v0) + (i1 - i0))
}

/// Times each call of a back-to-back burst.
fn burst(tracker: &Tracker, mut inputs: Vec<Input>) -> Vec<u64> {
    let mut ns = Vec::with_capacity(inputs.len());
    for (name, props) in inputs.drain(..) {
        let t = Instant::now();
        let r = tracker.track(name, props);
        ns.push(t.elapsed().as_nanos() as u64);
        black_box(r).expect("track");
    }
    ns
}

/// Times each call, with a pause between calls long enough for the worker to
/// commit and park.
fn sparse(tracker: &Tracker, mut inputs: Vec<Input>) -> Vec<u64> {
    let mut ns = Vec::with_capacity(inputs.len());
    for (name, props) in inputs.drain(..) {
        std::thread::sleep(Duration::from_micros(250));
        let t = Instant::now();
        let r = tracker.track(name, props);
        ns.push(t.elapsed().as_nanos() as u64);
        black_box(r).expect("track");
    }
    ns
}

fn timer_overhead(n: usize) -> Vec<u64> {
    let mut ns = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        black_box(());
        ns.push(t.elapsed().as_nanos() as u64);
    }
    ns
}

fn main() {
    // `cargo bench` passes `--bench`; there are no options to parse.
    let calls = common::env_u64("REACH_BENCH_CALLS", 200_000) as usize;
    let sparse_calls = common::env_u64("REACH_BENCH_SPARSE", 4_000) as usize;
    let repeats = common::env_u64("REACH_BENCH_REPEATS", 3) as usize;
    common::machine_note();

    let mut rows = [
        Row::new("timer overhead (included below)"),
        Row::new("track, 5 props, burst"),
        Row::new("track, 0 props, burst"),
        Row::new("track, 5 props, sparse (worker idle; switches incl. the sleeps)"),
    ];
    let started = Instant::now();
    for rep in 1..=repeats {
        eprintln!("repeat {rep}/{repeats}");
        let dir = common::temp_dir("latency");
        let tracker = common::open(dir.path(), u64::MAX / 4);
        // Warm-up: the worker has opened the DB, statements are cached, the
        // allocator has its arenas.
        burst(&tracker, build(20_000, true));
        assert!(tracker.flush_within(common::DRAIN));

        rows[0].add(counted(|| timer_overhead(calls)));

        let inputs = build(calls, true);
        rows[1].add(counted(|| burst(&tracker, inputs)));
        assert!(tracker.flush_within(common::DRAIN));

        let inputs = build(calls, false);
        rows[2].add(counted(|| burst(&tracker, inputs)));
        assert!(tracker.flush_within(common::DRAIN));

        let inputs = build(sparse_calls, true);
        rows[3].add(counted(|| sparse(&tracker, inputs)));
        assert!(tracker.flush_within(common::DRAIN));

        let d = tracker.diagnostics();
        let expected = (20_000 + 2 * calls + sparse_calls) as u64;
        assert_eq!(d.stored, expected, "every event stored: {d:?}");
        assert_eq!(
            d.rejected_total + d.dropped_overflow + d.dropped_storage_error,
            0
        );
        tracker.close();
    }

    println!();
    println!(
        "track() caller-side latency, ns/call: median over {repeats} repeats, (min–max) across repeats; \
         bursts of {calls} calls, sparse {sparse_calls} calls; wall {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!();
    println!("| row | p50 | p90 | p99 | p99.9 | max | mean | page faults / 1k calls | ctx switches / 1k calls |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            common::summary(&r.p50),
            common::summary(&r.p90),
            common::summary(&r.p99),
            common::summary(&r.p999),
            common::summary(&r.max),
            common::summary(&r.mean),
            common::summary(&r.faults),
            common::summary(&r.switches),
        );
    }
}
