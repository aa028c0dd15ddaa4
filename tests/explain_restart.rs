//! `explain()` names the value the engine observed behind a failed
//! condition ("the count was 1"), and keeps the last decision across a
//! restart: a clean close, and a real SIGKILL of a child process. Through
//! the real tracker on a real SQLite file, on virtual time.

mod scenario_harness;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use scenario_harness::*;
use serde_json::json;

const SH: &str = "Asia/Shanghai";
const MIN: i64 = 60_000;
const CHILD_ENV: &str = "REACH_EXPLAIN_KILL_DIR";

/// A streak popup after three logins in a week, and a welcome-back popup
/// for people who have not bought anything.
fn pack() -> String {
    json!({
        "format": "1.1",
        "campaigns": [
            {
                "id": "streak",
                "trigger": { "event": "login" },
                "behaviour": [{ "count": "login", "within": "7d", "op": "gte", "value": 3 }],
                "popup": { "template": "modal", "title": "Three days in a row!" }
            },
            {
                "id": "first-purchase",
                "trigger": { "event": "open_shop" },
                "behaviour": [{ "last_seen": "purchase", "op": "not_exists" }],
                "popup": { "template": "modal", "title": "10% off your first order" }
            }
        ]
    })
    .to_string()
}

fn assert_names_the_count(why: &reach::explain::Explanation) {
    assert_eq!(why.outcome, "not offered", "{}", why.text);
    assert_eq!(why.last_event.as_deref(), Some("login"));
    assert!(
        why.text
            .contains("count \"login\" within 1w gte 3; the count was 1"),
        "{}",
        why.text
    );
}

#[test]
fn a_failed_count_condition_shows_the_observed_count() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &pack(), t0);
    expect(&phone.event(t0, "login", &[]), None);
    assert_names_the_count(&phone.explain("streak"));
    expect(&phone.event(t0 + 24 * 60 * MIN, "login", &[]), None);
    let why = phone.explain("streak");
    assert!(why.text.contains("the count was 2"), "{}", why.text);
}

#[test]
fn a_failed_absence_condition_shows_when_it_last_happened() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &pack(), t0);
    phone.event(t0, "purchase", &[]);
    expect(&phone.event(t0 + 90 * MIN, "open_shop", &[]), None);
    let why = phone.explain("first-purchase");
    assert!(
        why.text
            .contains("last_seen \"purchase\" not_exists; it last happened 1h30m ago"),
        "{}",
        why.text
    );
}

#[test]
fn the_last_explanation_survives_a_close_and_reopen() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &pack(), t0);
    phone.event(t0, "login", &[]);
    phone.clock.set_ms(t0 + MIN);
    phone.restart(None);
    let why = phone.explain("streak");
    assert_names_the_count(&why);
    assert!(
        why.text.contains("as recorded before the app restarted"),
        "{}",
        why.text
    );
    assert_eq!(why.last_event_at_ms, Some(t0));
    // A new decision replaces the stored one.
    phone.event(t0 + 2 * MIN, "login", &[]);
    let why = phone.explain("streak");
    assert!(why.text.contains("the count was 2"), "{}", why.text);
    assert!(
        !why.text.contains("before the app restarted"),
        "{}",
        why.text
    );
}

#[test]
fn reset_forgets_the_stored_explanation() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &pack(), t0);
    phone.event(t0, "login", &[]);
    phone.restart(None);
    phone.tracker().reset().unwrap();
    assert_eq!(phone.explain("streak").outcome, "no matching event yet");
    phone.restart(None);
    assert_eq!(phone.explain("streak").outcome, "no matching event yet");
}

/// The child's side, not a test: run only by its parent with the data
/// directory in the environment. Tracks one login, waits for the commit,
/// says so and waits to be killed.
#[test]
#[ignore = "the child process of the_last_explanation_survives_sigkill"]
fn explain_kill_child() {
    let dir = std::env::var(CHILD_ENV).expect("run only by its parent test");
    let mut phone = Phone::open_dir(dir.into(), SH, day(0, "10:00"));
    phone.tracker().load_rule_pack(&pack()).unwrap();
    phone.event(day(0, "10:00"), "login", &[]);
    assert!(phone.tracker().flush());
    println!("committed");
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn the_last_explanation_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["explain_kill_child", "--ignored", "--exact", "--nocapture"])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    let mut committed = false;
    while !committed && started.elapsed() < Duration::from_secs(60) {
        match lines.next() {
            Some(Ok(line)) => committed = line.trim() == "committed",
            _ => break,
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(committed, "the child never committed its login");
    let phone = Phone::open_dir(dir.path().to_owned(), SH, day(0, "10:05"));
    let why = phone.explain("streak");
    assert_names_the_count(&why);
    assert!(
        why.text.contains("as recorded before the app restarted"),
        "{}",
        why.text
    );
}
