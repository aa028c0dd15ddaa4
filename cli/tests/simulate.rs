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
    Command::new(REACH)
        .arg("simulate")
        .arg(repo().join("tests/fixtures/packs").join(pack))
        .arg(trace)
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
        ["day 0 +00:31:00  line 4: popup offered: cart-reminder (variant default, modal) \"Still thinking it over?\" [cart, later]"],
        "{stdout}"
    );
    assert!(!stdout.contains("Some("), "{stdout}");
}

/// The operator scenarios with a trace in tests/traces, each against its
/// pack in tests/fixtures/packs, compared with tests/golden/NAME.txt.
/// Regenerate on purpose only: `REACH_BLESS=1 cargo test -p reach-cli --test simulate`.
const SCENARIOS: &[&str] = &[
    "01-registration-lottery",
    "02-login-streak",
    "07-abandoned-cart",
];

fn run_scenario(name: &str) -> String {
    let trace = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/traces/{name}.jsonl"));
    let out = simulate(&format!("{name}.json"), &trace);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn each_operator_scenario_prints_its_golden_timeline() {
    for name in SCENARIOS {
        let got = run_scenario(name);
        let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}.txt"));
        if std::env::var_os("REACH_BLESS").is_some() {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &got).unwrap();
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn two_runs_print_the_same_bytes() {
    for name in SCENARIOS {
        assert_eq!(run_scenario(name), run_scenario(name), "{name}");
    }
}

#[test]
fn a_kill_keeps_the_pending_delay_and_the_reopened_app_offers_it_once() {
    let got = run_scenario("07-abandoned-cart");
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
    assert!(lines[offers[0]].starts_with("day 0 +00:35:00"), "{got}");
}
