//! Upload throughput: N events are stored first (no server configured), then
//! Reach is reopened with a loopback server and the network thread drains
//! the queue in batches of up to 500 events, gzipped, one request at a time.
//! Reports events/s from the reopen to the server having counted every
//! event, and the network and worker threads' CPU per event.
//!
//!     cargo bench --bench upload
//!     REACH_BENCH_N=200000 REACH_BENCH_REPEATS=3 cargo bench --bench upload
//!
//! The server (tests/net_support, "lean" mode: gunzip and count messageIds,
//! no JSON parse) runs in this process: client and server share the
//! machine's two cores, so the number is a floor for the client alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reach::{ServerConfig, SystemClock, Tracker};

mod common;
#[path = "../tests/net_support/mod.rs"]
mod net_support;

fn run(n: u64) -> (f64, f64, f64, u64) {
    let dir = common::temp_dir("upload");
    {
        let t = common::open(dir.path(), u64::MAX / 4);
        for _ in 0..n {
            t.track(common::EVENT_NAME.into(), common::props5())
                .unwrap();
        }
        assert!(t.flush_within(common::DRAIN));
        assert_eq!(t.diagnostics().stored, n);
        assert!(t.close());
    }
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
    )
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
    println!("upload: {n} stored events (5 props) drained to a loopback server, batches ≤ 500");
    let mut rates = Vec::new();
    for r in 0..repeats {
        let (rate, net, worker, batches) = run(n);
        println!(
            "  repeat {}: {:>9.0} events/s  network thread {:.2} µs/event  worker {:.2} µs/event  {} requests",
            r + 1,
            rate,
            net,
            worker,
            batches
        );
        rates.push(rate);
    }
    rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "median {:.0} events/s [{:.0}–{:.0}]",
        rates[rates.len() / 2],
        rates[0],
        rates[rates.len() - 1]
    );
}
