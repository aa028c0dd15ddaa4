//! A real child process tracks events and is killed with SIGKILL; every event
//! whose `flush()` returned `true` must be there after restart, exactly once.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use reach::{Error, SystemClock, Tracker, Value};

const CHILD_ENV: &str = "REACH_KILL_TEST_DIR";
const BATCH: i64 = 50;

/// The child's side, not a test: ignored, so a normal run skips it, and
/// run only by the parent (`--ignored --exact kill_test_child`) with the
/// environment variable set. Run any other way, it fails.
#[test]
#[ignore = "the child process of events_acknowledged_by_flush_survive_sigkill_exactly_once"]
fn kill_test_child() {
    let dir = std::env::var(CHILD_ENV)
        .expect("run only by its parent test, which sets the data directory");
    let tracker =
        Tracker::open(config(dir.as_ref()), Arc::new(SystemClock), None).expect("child opens");
    let mut i = 0i64;
    loop {
        for _ in 0..BATCH {
            tracker
                .track("tick".into(), props(&[("i", Value::Int(i))]))
                .unwrap();
            i += 1;
        }
        if tracker.flush() {
            println!("flushed {i}");
        }
        // Events tracked after the last acknowledged flush may or may not
        // survive; the parent checks only the acknowledged ones.
    }
}

#[test]
fn events_acknowledged_by_flush_survive_sigkill_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "kill_test_child",
            "--ignored",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    let mut acknowledged = 0i64;
    let mut acks = 0;
    while acks < 40 && started.elapsed() < Duration::from_secs(60) {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(n) = line.strip_prefix("flushed ") {
                    acknowledged = n.trim().parse().unwrap();
                    acks += 1;
                }
            }
            _ => break,
        }
    }
    assert!(acks >= 10, "the child acknowledged {acks} flushes");

    // While the child lives, this process cannot open the same directory.
    match Tracker::open(config(dir.path()), Arc::new(SystemClock), None) {
        Err(Error::AlreadyOpen(_)) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("two processes opened one data directory"),
    }

    child.kill().expect("SIGKILL"); // std sends SIGKILL on Unix
    child.wait().unwrap();

    let events = stored_events(dir.path());
    let seen: Vec<i64> = events
        .iter()
        .map(|e| json(e)["i"].as_i64().unwrap())
        .collect();
    assert!(
        seen.len() as i64 >= acknowledged,
        "{} stored < {acknowledged} acknowledged",
        seen.len()
    );
    for (pos, i) in seen.iter().enumerate() {
        assert_eq!(*i, pos as i64, "every event once, in order, with no gap");
    }

    // And the directory is usable again: the lock died with the child.
    let reopened = open(dir.path());
    reopened
        .tracker
        .track("after_restart".into(), vec![])
        .unwrap();
    assert!(reopened.tracker.close());
}
