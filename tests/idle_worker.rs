//! An idle app costs no wake-ups: after its linger (`reach::inbox::LINGER`,
//! during which it polls so that sparse `track()` calls cost the caller no
//! syscall) the worker blocks on its inbox, and no timer wakes it until the
//! next call. Counted from the worker thread's voluntary context switches
//! in /proc (Linux); one test in this binary, so the thread named
//! `reach-worker` is this tracker's.

mod common;

use std::time::Duration;

use reach::inbox::LINGER;

fn worker_switches() -> u64 {
    for entry in std::fs::read_dir("/proc/self/task").expect("/proc/self/task (Linux)") {
        let path = entry.unwrap().path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim_end() == "reach-worker" {
            let status = std::fs::read_to_string(path.join("status")).unwrap();
            return status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse().ok())
                .expect("voluntary_ctxt_switches");
        }
    }
    panic!("no thread named reach-worker");
}

#[test]
fn an_idle_worker_is_not_woken_until_the_next_call() {
    let dir = tempfile::tempdir().unwrap();
    let o = common::open(dir.path());
    for _ in 0..100 {
        o.tracker.track("tap".into(), vec![]).unwrap();
    }
    assert!(o.tracker.flush());
    // Past the linger the worker blocks; from then on nothing wakes it.
    std::thread::sleep(LINGER + Duration::from_millis(500));
    let before = worker_switches();
    std::thread::sleep(Duration::from_secs(2));
    let idle = worker_switches() - before;
    assert_eq!(idle, 0, "the idle worker woke {idle} times in 2 s");
    // The next call wakes it, and is stored.
    o.tracker.track("tap".into(), vec![]).unwrap();
    assert!(o.tracker.flush());
    assert_eq!(o.tracker.diagnostics().stored, 101);
    assert!(o.tracker.close());
}
