//! `reach simulate` run as a process: a malformed trace is refused with its
//! line number before anything runs; a trace drives the real tracker to the
//! popup the pack promises, on virtual time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const REACH: &str = env!("CARGO_BIN_EXE_reach");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn simulate(pack: &str, trace: &Path) -> Output {
    simulate_with(pack, trace, &[])
}

fn simulate_with(pack: &str, trace: &Path, args: &[&str]) -> Output {
    Command::new(REACH)
        .arg("simulate")
        .arg(repo().join("tests/fixtures/packs").join(pack))
        .arg(trace)
        .args(args)
        .output()
        .unwrap()
}

fn scratch(name: &str, trace: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("trace.jsonl");
    std::fs::write(&path, trace).unwrap();
    path
}

#[test]
fn a_malformed_step_is_refused_with_its_line_and_nothing_runs() {
    for (name, trace, says) in [
        (
            "unknown-step",
            "{\"foreground\": true}\n\n{\"jump\": 3}\n",
            "line 3: unknown step \"jump\"",
        ),
        (
            "not-json",
            "{\"foreground\": true}\n{track\n",
            "line 2: not JSON",
        ),
        (
            "bad-duration",
            "# a comment\n{\"advance\": \"3 weeks\"}\n",
            "line 2: \"3 weeks\" is not a duration",
        ),
        (
            "bad-claim",
            "{\"claim\": \"maybe\"}\n",
            "line 1: claim \"maybe\" is not granted, exhausted or unavailable",
        ),
        (
            "bad-zone",
            "{\"timezone\": \"Mars/Olympus\"}\n",
            "line 1: \"Mars/Olympus\" is not an IANA time zone",
        ),
        (
            "bad-version",
            "{\"foreground\": true}\n{\"app_version\": \"five\"}\n",
            "line 2: \"five\" is not a version like 5.2.0",
        ),
        (
            "two-steps",
            "{\"track\": \"a\", \"kill\": true}\n",
            "line 1: one step a line",
        ),
    ] {
        let out = simulate("07-abandoned-cart.json", &scratch(name, trace));
        assert_eq!(out.status.code(), Some(1), "{name}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(says), "{name}: {stderr}");
        assert!(stderr.contains("nothing was run"), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: something ran");
    }
}

#[test]
fn the_cart_reminder_is_offered_thirty_minutes_after_the_cart_on_virtual_time() {
    let out = simulate(
        "07-abandoned-cart.json",
        &scratch(
            "cart",
            "{\"foreground\": true}\n{\"track\": \"add_to_cart\"}\n{\"advance\": \"29m\"}\n{\"advance\": \"2m\"}\n",
        ),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let offers: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("popup offered"))
        .collect();
    assert_eq!(
        offers,
        ["d0 09:31:00  line 4: popup offered: cart-reminder (variant default, modal) \"Still thinking it over?\" [cart, later]"],
        "{stdout}"
    );
    assert!(!stdout.contains("Some("), "{stdout}");
}

/// The operator scenarios (../shared/scenarios), each a trace in
/// tests/traces/GOLDEN.jsonl run against its pack in tests/fixtures/packs
/// with the arguments its situation needs, compared with
/// tests/golden/GOLDEN.txt. Regenerate on purpose only (and read the diff):
/// `REACH_BLESS=1 cargo test -p reach-cli --test simulate`.
const SCENARIOS: &[(&str, &str, &[&str])] = &[
    ("01-registration-lottery", "01-registration-lottery", &[]),
    ("02-login-streak", "02-login-streak", &[]),
    ("03-verified-share", "03-verified-share", &[]),
    // 2026-09-19 12:00 in Asia/Shanghai.
    (
        "04-festival-window",
        "04-festival-window",
        &["--start-ms", "1789790400000"],
    ),
    // 2026-09-25 09:30 in Europe/Berlin.
    (
        "04-festival-window-berlin",
        "04-festival-window",
        &["--timezone", "Europe/Berlin", "--start-ms", "1790321400000"],
    ),
    (
        "05-regional-audience",
        "05-regional-audience",
        &["--app-version", "5.1.9"],
    ),
    ("06-prize-inventory", "06-prize-inventory", &[]),
    ("07-abandoned-cart", "07-abandoned-cart", &[]),
    ("08-anti-harassment", "08-anti-harassment", &[]),
    // A fresh device at d0 22:30 in Asia/Shanghai.
    (
        "08-anti-harassment-second-device",
        "08-anti-harassment",
        &["--start-ms", "1772461800000"],
    ),
    ("09-holdout-group", "09-holdout-group", &[]),
    (
        "10-conversion-attribution",
        "10-conversion-attribution",
        &[],
    ),
    ("11-retry-after-dismiss", "11-retry-after-dismiss", &[]),
    ("12-qa-preview", "qa-preview", &[]),
];

fn run_scenario(golden: &str, pack: &str, args: &[&str]) -> String {
    let trace = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/traces/{golden}.jsonl"));
    let out = simulate_with(&format!("{pack}.json"), &trace, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{golden}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn each_operator_scenario_prints_its_golden_timeline() {
    for (name, pack, args) in SCENARIOS {
        let got = run_scenario(name, pack, args);
        let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}.txt"));
        if std::env::var_os("REACH_BLESS").is_some() {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &got).unwrap();
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
        assert_eq!(got, want, "{name}");
        for forbidden in ["Some(", "None", "{:?}", "\\\""] {
            assert!(!got.contains(forbidden), "{name}: {forbidden} in {got}");
        }
    }
}

#[test]
fn every_shared_scenario_has_a_golden_timeline() {
    let dir = repo().join("../shared/scenarios");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".md").filter(|s| *s != "README") else {
            continue;
        };
        if !SCENARIOS.iter().any(|(golden, _, _)| *golden == stem) {
            missing.push(stem.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "scenarios without a golden trace: {missing:?}"
    );
}

#[test]
fn two_runs_print_the_same_bytes() {
    for (name, pack, args) in SCENARIOS {
        assert_eq!(
            run_scenario(name, pack, args),
            run_scenario(name, pack, args),
            "{name}"
        );
    }
}

#[test]
fn a_kill_keeps_the_pending_delay_and_the_reopened_app_offers_it_once() {
    let got = run_scenario("07-abandoned-cart", "07-abandoned-cart", &[]);
    let lines: Vec<&str> = got.lines().collect();
    let killed = lines
        .iter()
        .position(|l| l.contains("the app is killed"))
        .expect("killed");
    let offers: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("popup offered: cart-reminder"))
        .map(|(i, _)| i)
        .collect();
    // Scheduled before the kill, offered once after it (at +35 m, the first
    // foreground after it came due), never twice.
    assert_eq!(offers.len(), 1, "{got}");
    assert!(offers[0] > killed, "{got}");
    assert!(lines[offers[0]].starts_with("d0 09:35:00"), "{got}");
    // The reopened app found the delay on disk, and reports it due once.
    let kept = lines
        .iter()
        .position(|l| l.contains("delay kept for cart-reminder, due d0 09:30:00"))
        .expect("the delay survives the kill");
    assert!(killed < kept && kept < offers[0], "{got}");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("delay due for cart-reminder"))
            .count(),
        1,
        "{got}"
    );
}
