//! Upload throughput: N events are stored first (no server configured), then
//! Reach is reopened with a server and the network thread drains the queue
//! in batches of up to 500 events, gzipped, one request at a time. Reports
//! events/s from the reopen to every event being acknowledged, and the
//! network and worker threads' CPU per event. Two rows, repeats interleaved:
//!
//! - `loopback`: the test server (tests/net_support, "lean" mode: gunzip and
//!   count messageIds, no JSON parse); timed until it counted every event.
//! - `reference`: the reference server (`reach_server::start`, in-process,
//!   127.0.0.1, write key required): gunzip, parse and validate every event,
//!   store it in SQLite (WAL, synchronous=NORMAL) with its messageId
//!   deduplicated, one transaction per batch; timed until the SDK counted
//!   every event acknowledged, then checked against the server's stats.
//!
//! ```text
//! cargo bench --bench upload
//! REACH_BENCH_N=200000 REACH_BENCH_REPEATS=3 cargo bench --bench upload
//! ```
//!
//! Both servers run in this process: client and server share the machine's
//! two cores, so the numbers are a floor for the client alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reach::{ServerConfig, SystemClock, Tracker};

mod common;
#[path = "../tests/net_support/mod.rs"]
mod net_support;

/// A data dir holding `n` stored events (5 props), Reach closed.
fn stored(n: u64) -> tempfile::TempDir {
    let dir = common::temp_dir("upload");
    let t = common::open(dir.path(), u64::MAX / 4);
    for _ in 0..n {
        t.track(common::EVENT_NAME.into(), common::props5())
            .unwrap();
    }
    assert!(t.flush_within(common::DRAIN));
    assert_eq!(t.diagnostics().stored, n);
    assert!(t.close());
    dir
}

/// events/s, network thread µs/event, worker µs/event, requests, and the
/// server's request threads' µs/event where known.
type Row = (f64, f64, f64, u64, Option<f64>);
type RowFn = fn(u64) -> Row;

fn run(n: u64) -> Row {
    let dir = stored(n);
    let server = net_support::TestServer::start();
    server.state().lean = true;
    let mut c = common::config(dir.path(), u64::MAX / 4);
    let mut s = ServerConfig::new(server.url(), "wk-bench");
    s.max_batch_events = 500;
    c.server = Some(s);
    let start = Instant::now();
    let t = Tracker::open(c, Arc::new(SystemClock), None).expect("open");
    while server.state().lean_events < n {
        assert!(start.elapsed() < Duration::from_secs(300), "drain too slow");
        std::thread::sleep(Duration::from_micros(200));
    }
    let secs = start.elapsed().as_secs_f64();
    // Both threads started with this open: their whole CPU time is the drain's.
    let net_cpu = common::thread_cpu_ns("reach-network").unwrap_or(0);
    let worker_cpu = common::thread_cpu_ns("reach-worker").unwrap_or(0);
    let batches = t.diagnostics().upload_batches_sent;
    assert!(t.close());
    (
        n as f64 / secs,
        net_cpu as f64 / 1_000.0 / n as f64,
        worker_cpu as f64 / 1_000.0 / n as f64,
        batches,
        None,
    )
}

const WRITE_KEY: &str = "wk-bench";

/// The same drain against the reference server.
fn run_reference(n: u64) -> Row {
    let dir = stored(n);
    let server_dir = common::temp_dir("upload-server");
    let mut sc = reach_server::ServerConfig::new(server_dir.path());
    sc.write_keys = vec![WRITE_KEY.into()];
    let server = reach_server::start(sc).expect("the reference server starts");
    let mut c = common::config(dir.path(), u64::MAX / 4);
    let mut s = ServerConfig::new(server.base_url(), WRITE_KEY);
    s.max_batch_events = 500;
    c.server = Some(s);
    let start = Instant::now();
    let t = Tracker::open(c, Arc::new(SystemClock), None).expect("open");
    // An atomic read: polling the server's stats would take its database lock.
    while t.diagnostics().uploaded_events < n {
        assert!(start.elapsed() < Duration::from_secs(300), "drain too slow");
        let d = t.diagnostics();
        assert!(
            d.upload_batches_dropped == 0 && d.last_upload_error.is_none(),
            "{d:?}"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    let secs = start.elapsed().as_secs_f64();
    let net_cpu = common::thread_cpu_ns("reach-network").unwrap_or(0);
    let worker_cpu = common::thread_cpu_ns("reach-worker").unwrap_or(0);
    // The reference server's request threads (tiny_http's own accept and
    // connection threads are not named, so not included).
    let server_cpu: u64 = (0..reach_server::WORKER_THREADS)
        .filter_map(|i| common::thread_cpu_ns(&format!("reach-http-{i}")))
        .sum();
    let batches = t.diagnostics().upload_batches_sent;
    assert!(t.close());
    let stats = server.stats().expect("stats");
    assert_eq!(stats.events_stored, n, "every event stored once");
    assert_eq!(stats.duplicates, 0);
    server.shutdown();
    (
        n as f64 / secs,
        net_cpu as f64 / 1_000.0 / n as f64,
        worker_cpu as f64 / 1_000.0 / n as f64,
        batches,
        Some(server_cpu as f64 / 1_000.0 / n as f64),
    )
}

fn print_median(label: &str, rates: &mut [f64]) {
    rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{label}: median {:.0} events/s [{:.0}–{:.0}]",
        rates[rates.len() / 2],
        rates[0],
        rates[rates.len() - 1]
    );
}

fn main() {
    let n: u64 = std::env::var("REACH_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let repeats: usize = std::env::var("REACH_BENCH_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    println!(
        "upload: {n} stored events (5 props) drained by the network thread, batches ≤ 500, gzip"
    );
    println!(
        "note: client and server run in this process and share the machine's cores ({}); \
         the numbers are a floor for the client alone",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let rows: [(&str, RowFn); 2] = [
        ("loopback test server (lean: gunzip + count)", run),
        ("reference server (parse, validate, SQLite)", run_reference),
    ];
    let mut rates = vec![Vec::new(); rows.len()];
    // Repeats interleaved: repeat 1 of every row, then repeat 2, ...
    for r in 0..repeats {
        for (i, (label, f)) in rows.iter().enumerate() {
            let (rate, net, worker, batches, server) = f(n);
            let server = server.map_or(String::new(), |s| {
                format!("  server request threads {s:.2} µs/event")
            });
            println!(
                "  {label}, repeat {}: {:>9.0} events/s  network thread {:.2} µs/event  worker {:.2} µs/event  {} requests{server}",
                r + 1,
                rate,
                net,
                worker,
                batches
            );
            rates[i].push(rate);
        }
    }
    for ((label, _), rates) in rows.iter().zip(rates.iter_mut()) {
        print_median(label, rates);
    }
    println!("target ≥ 100000 events/s");
}
