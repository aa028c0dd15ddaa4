//! Criterion: the caller-side cost of `Tracker::track`, i.e. what the app's
//! thread pays (validate, stamp the time, queue the event) while the worker
//! writes to SQLite on another thread.
//!
//! The name `String` and the properties `Vec` are built outside the timed
//! region: in real use the caller's map exists already, and the bindings'
//! FFI conversion (Kotlin/Swift/Python -> Rust) is NOT included here.
//! Inputs are timed in chunks of `CHUNK` calls; after each chunk the bench
//! waits (untimed) for the worker to commit them, so memory stays bounded
//! and each chunk starts with an idle worker.
//!
//! Criterion reports a per-iteration *mean* (chunk time / calls), so the tail
//! is in it; `benches/track_latency.rs` gives p50/p99/p99.9 per call.
//!
//!     cargo bench --bench track

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use reach::{Tracker, Value};

mod common;

const CHUNK: u64 = 10_000;

fn timed_chunks(
    tracker: &Tracker,
    iters: u64,
    make: &dyn Fn() -> (String, Vec<(String, Value)>),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    let mut inputs = Vec::with_capacity(CHUNK.min(iters) as usize);
    while left > 0 {
        let n = left.min(CHUNK);
        inputs.extend((0..n).map(|_| make()));
        let start = Instant::now();
        for (name, props) in inputs.drain(..) {
            let _ = black_box(tracker.track(name, props));
        }
        total += start.elapsed();
        assert!(tracker.flush_within(common::DRAIN), "worker did not drain");
        left -= n;
    }
    total
}

fn bench_track(c: &mut Criterion) {
    let dir = common::temp_dir("criterion");
    // The worker trims the store to 1M rows (oldest first) so a long run does
    // not grow the database without bound; the caller side never sees the cap
    // since at most CHUNK events are ever queued.
    let tracker = common::open(dir.path(), 1_000_000);
    let template = common::props5();

    let mut g = c.benchmark_group("track");
    g.bench_function("5_props_caller_side", |b| {
        b.iter_custom(|iters| {
            timed_chunks(&tracker, iters, &|| {
                (common::EVENT_NAME.to_owned(), template.clone())
            })
        })
    });
    g.bench_function("0_props_caller_side", |b| {
        b.iter_custom(|iters| {
            timed_chunks(&tracker, iters, &|| {
                (common::EVENT_NAME.to_owned(), Vec::new())
            })
        })
    });
    g.finish();

    let d = tracker.diagnostics();
    assert_eq!(d.rejected_total + d.dropped_storage_error, 0, "{d:?}");
    tracker.close();
}

criterion_group! {
    name = benches;
    // Short: the untimed drains make wall time several times the measured time.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = bench_track
}
criterion_main!(benches);
