//! A gzip bomb gets its 413 quickly and without inflating: alone in its own test binary, so the process's peak
//! memory is this test's.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::request;
use flate2::write::GzEncoder;
use flate2::Compression;
use reach_server::{start, ServerConfig};

/// 100 MB of zeros, compressed in a stream (the test itself never holds 100 MB).
fn bomb() -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..100 {
        e.write_all(&chunk).unwrap();
    }
    e.finish().unwrap()
}

/// Peak resident memory of this process, in kB (Linux).
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_gzip_bomb_is_413_fast_and_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(ServerConfig::new(dir.path())).unwrap();
    let body = bomb();
    assert!(
        body.len() < 1 << 20,
        "the bomb is small on the wire: {} bytes",
        body.len()
    );
    let before = peak_rss_kb();
    let started = Instant::now();
    let r = request(
        s.addr(),
        "POST",
        "/v1/batch",
        &[("Content-Encoding", "gzip")],
        &body,
    );
    let took = started.elapsed();
    assert_eq!(r.status, 413);
    assert_eq!(r.code(), "too_large");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    if let (Some(before), Some(after)) = (before, peak_rss_kb()) {
        // Inflating it would need 100 MB; the cap allows ~0.5 MB plus the 100 KB body.
        assert!(
            after.saturating_sub(before) < 32 * 1024,
            "peak RSS grew {} kB",
            after - before
        );
    }
}
