//! Helpers shared by the Reach benches (not a bench target itself: cargo only
//! discovers `benches/*.rs` and `benches/*/main.rs`).
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reach::{Config, SystemClock, Tracker, Value};

/// Long enough for any drain in these benches; `flush()` alone waits only 1 s.
pub const DRAIN: Duration = Duration::from_secs(120);

pub const EVENT_NAME: &str = "add_to_cart";

/// Five typical properties (two short strings, a float, an int, a bool), about
/// 90 bytes of JSON: the event a shop app sends most.
pub fn props5() -> Vec<(String, Value)> {
    vec![
        (
            "screen".to_owned(),
            Value::String("product_detail".to_owned()),
        ),
        (
            "item_id".to_owned(),
            Value::String("sku-1234567".to_owned()),
        ),
        ("price".to_owned(), Value::Float(19.99)),
        ("quantity".to_owned(), Value::Int(2)),
        ("in_stock".to_owned(), Value::Bool(true)),
    ]
}

/// A temp dir under `$TMPDIR` (std's temp_dir), removed on drop.
pub fn temp_dir(label: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("reach-bench-{label}-"))
        .tempdir()
        .expect("create a temp dir (check TMPDIR)")
}

/// A config whose queue limits never drop or refuse an event in the benches:
/// the defaults (50,000 events, 10 MB) would turn most of a 200k burst into
/// the cheap "queue full" path and trim the store at every commit.
pub fn config(dir: &Path, max_events: u64) -> Config {
    let mut c = Config::new(dir);
    c.queue.max_events = max_events;
    c.queue.max_bytes = u64::MAX / 4;
    c
}

pub fn open(dir: &Path, max_events: u64) -> Tracker {
    Tracker::open(config(dir, max_events), Arc::new(SystemClock), None).expect("open Reach")
}

/// Nearest-rank percentile of sorted data.
pub fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn median_f(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

pub fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

/// Formats a value with a sensible number of digits.
pub fn fmt(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// "median (min–max)" over repeats.
pub fn summary(v: &[f64]) -> String {
    let (lo, hi) = min_max(v);
    format!("{} ({}–{})", fmt(median_f(v)), fmt(lo), fmt(hi))
}

/// Reads an env var as a number, for shortening or lengthening a run.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

pub fn machine_note() {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    eprintln!(
        "[{} CPUs available; temp dir {}]",
        cpus,
        std::env::temp_dir().display()
    );
}

/// CPU time (ns) consumed so far by this process's thread named `name`
/// (Linux: /proc/self/task/*/schedstat). CPU time per event is far steadier
/// than wall time on a shared machine. None elsewhere or if not found.
pub fn thread_cpu_ns(name: &str) -> Option<u64> {
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let path = entry.ok()?.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim_end() == name {
            let stat = std::fs::read_to_string(path.join("schedstat")).ok()?;
            return stat.split_whitespace().next()?.parse().ok();
        }
    }
    None
}

/// CPU time (ns) consumed so far by the calling thread (Linux only).
pub fn own_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// (minor page faults, voluntary, involuntary context switches) of the
/// calling thread so far (Linux only; zeros elsewhere).
pub fn own_faults_and_switches() -> (u64, u64, u64) {
    let minflt = std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised command name; minflt is field 10.
            let rest = &s[s.rfind(')')? + 2..];
            rest.split_whitespace().nth(7)?.parse().ok()
        })
        .unwrap_or(0);
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (
        minflt,
        field("voluntary_ctxt_switches:"),
        field("nonvoluntary_ctxt_switches:"),
    )
}

/// Bytes this process has passed to write-type syscalls so far (`wchar` in
/// /proc/self/io: WAL appends, checkpoint copies; Linux only, else 0).
pub fn process_written_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("wchar:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The device of the engine benches: a Shanghai phone on Android 5.2.0.
pub fn engine_device() -> reach::engine::Device {
    let app = reach::AppInfo {
        app_version: "5.2.0".into(),
        platform: "android".into(),
        locale: "zh-CN".into(),
        timezone: "Asia/Shanghai".into(),
        ..Default::default()
    };
    reach::engine::Device::from_app(&app).0
}

/// The three properties of the engine benches' events.
pub fn engine_props() -> Vec<(String, Value)> {
    vec![
        ("screen".into(), Value::String("product_detail".into())),
        ("price".into(), Value::Float(19.99)),
        ("quantity".into(), Value::Int(2)),
    ]
}

/// Median and p99 of per-call nanoseconds.
pub fn median_p99(mut ns: Vec<u64>) -> (u64, u64) {
    ns.sort_unstable();
    (ns[ns.len() / 2], ns[ns.len() * 99 / 100])
}

/// Times this process's thread named `name` was switched out voluntarily
/// (it blocked or slept: each one is a wake-up later), from
/// /proc/self/task/*/status. Linux only; None elsewhere or if not found.
pub fn thread_voluntary_switches(name: &str) -> Option<u64> {
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let path = entry.ok()?.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim_end() == name {
            let status = std::fs::read_to_string(path.join("status")).ok()?;
            return status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse().ok());
        }
    }
    None
}
