//! Sustained durable throughput: track N events from one or more threads,
//! then `flush_within(large)`, which returns once the worker has committed
//! every one of them to SQLite. Reports events/s end to end (first `track`
//! to flush acknowledged) and, for reference, the enqueue-only rate (first
//! `track` to the last `track` returning).
//!
//!     cargo bench --bench throughput
//!     REACH_BENCH_N=500000 REACH_BENCH_REPEATS=2 cargo bench --bench throughput
//!
//! Each row runs on a fresh data dir under $TMPDIR (WAL, synchronous=NORMAL:
//! a commit survives an app kill; an fsync happens at checkpoints). Producers
//! clone the properties from a template inside the loop (a few allocations,
//! part of the producer's cost, not of the worker's). Queue limits are raised
//! so that no event is dropped; the end checks `stored == N`.
//!
//! Also reported: the worker thread's CPU time per event (from
//! /proc/self/task/*/schedstat), which is steadier than wall time on a shared
//! machine, and the ceiling it implies (1 / CPU per event) if the worker had a
//! core to itself; and the bytes passed to write syscalls per event (WAL
//! appends plus checkpoint copies, from /proc/self/io).

use std::time::Instant;

use reach::Value;

mod common;

struct Spec {
    name: &'static str,
    threads: usize,
    props: bool,
}

/// (end-to-end events/s, enqueue-only events/s, worker CPU µs per event,
/// bytes written per event)
fn run(spec: &Spec, n: u64) -> (f64, f64, f64, f64) {
    let dir = common::temp_dir("throughput");
    let tracker = common::open(dir.path(), u64::MAX / 4);
    // Let the worker open the database first: opening is measured elsewhere.
    assert!(tracker.flush_within(common::DRAIN));
    let template: Vec<(String, Value)> = if spec.props {
        common::props5()
    } else {
        Vec::new()
    };
    let per_thread = n / spec.threads as u64;
    let total = per_thread * spec.threads as u64;

    let cpu0 = common::thread_cpu_ns("reach-worker");
    let written0 = common::process_written_bytes();
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..spec.threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    tracker
                        .track(common::EVENT_NAME.to_owned(), template.clone())
                        .expect("track");
                }
            });
        }
    });
    let enqueued = start.elapsed();
    assert!(tracker.flush_within(common::DRAIN), "flush timed out");
    let committed = start.elapsed();
    let written = (common::process_written_bytes() - written0) as f64 / total as f64;
    let worker_us = match (cpu0, common::thread_cpu_ns("reach-worker")) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e3 / total as f64,
        _ => f64::NAN,
    };

    let d = tracker.diagnostics();
    assert_eq!(d.stored, total, "every event committed: {d:?}");
    assert_eq!(
        d.rejected_total + d.dropped_overflow + d.dropped_storage_error,
        0
    );
    let e2e = total as f64 / committed.as_secs_f64();
    let enq = total as f64 / enqueued.as_secs_f64();
    eprintln!(
        "  {:<28} {total} events: enqueue {:>7.0} ms, committed {:>7.0} ms -> {:>9.0} events/s; worker CPU {:.2} µs/event, {:.0} B written/event (db {} MB)",
        spec.name,
        enqueued.as_secs_f64() * 1e3,
        committed.as_secs_f64() * 1e3,
        e2e,
        worker_us,
        written,
        d.database_bytes / 1_000_000
    );
    tracker.close();
    (e2e, enq, worker_us, written)
}

fn main() {
    let n = common::env_u64("REACH_BENCH_N", 1_000_000);
    let repeats = common::env_u64("REACH_BENCH_REPEATS", 3) as usize;
    common::machine_note();
    let specs = [
        Spec {
            name: "1 thread, 5 props",
            threads: 1,
            props: true,
        },
        Spec {
            name: "2 threads, 5 props",
            threads: 2,
            props: true,
        },
        Spec {
            name: "1 thread, 0 props",
            threads: 1,
            props: false,
        },
    ];
    let mut e2e = vec![Vec::new(); specs.len()];
    let mut enq = vec![Vec::new(); specs.len()];
    let mut cpu = vec![Vec::new(); specs.len()];
    let mut wr = vec![Vec::new(); specs.len()];
    let started = Instant::now();
    // Interleaved: repeat 1 of every row, then repeat 2, ...
    for rep in 1..=repeats {
        eprintln!("repeat {rep}/{repeats}");
        for (i, spec) in specs.iter().enumerate() {
            let (a, b, c, w) = run(spec, n);
            wr[i].push(w);
            e2e[i].push(a);
            enq[i].push(b);
            cpu[i].push(c);
        }
    }
    println!();
    println!(
        "Durable throughput, N = {n} events per row, {repeats} repeats: median (min–max); wall {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!();
    println!("| row | end to end, committed (events/s) | enqueue only (events/s) | worker CPU (µs/event) | worker-CPU-bound ceiling (events/s) | bytes written / event |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (i, spec) in specs.iter().enumerate() {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            spec.name,
            common::summary(&e2e[i]),
            common::summary(&enq[i]),
            common::summary(&cpu[i]),
            common::summary(&cpu[i].iter().map(|us| 1e6 / us).collect::<Vec<_>>()),
            common::summary(&wr[i]),
        );
    }
}
