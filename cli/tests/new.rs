//! `reach new`: every template validates and simulates to at least one popup
//! on the trace shipped beside it.

use std::path::Path;
use std::process::Command;

const REACH: &str = env!("CARGO_BIN_EXE_reach");

fn reach(args: &[&str]) -> std::process::Output {
    Command::new(REACH).args(args).output().unwrap()
}

#[test]
fn list_names_the_ten_templates_one_line_each() {
    let out = reach(&["new", "--list"]);
    assert_eq!(out.status.code(), Some(0));
    let names: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "registration-lottery",
            "login-streak",
            "verified-share",
            "festival-window",
            "regional-audience",
            "prize-inventory",
            "abandoned-cart",
            "holdout-experiment",
            "conversion-goal",
            "win-back",
        ]
    );
}

#[test]
fn every_template_validates_and_simulates_to_a_popup() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("new");
    std::fs::create_dir_all(&dir).unwrap();
    let list = String::from_utf8(reach(&["new", "--list"]).stdout).unwrap();
    for name in list.lines().map(|l| l.split_whitespace().next().unwrap()) {
        let pack = dir.join(format!("{name}.json"));
        let out = reach(&[
            "new",
            "--template",
            name,
            "--id",
            &format!("my-{name}"),
            "--out",
            pack.to_str().unwrap(),
            "--with-trace",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = reach(&["validate", pack.to_str().unwrap()]);
        assert_eq!(
            v.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&v.stderr)
        );
        assert!(
            String::from_utf8(v.stdout)
                .unwrap()
                .contains("valid (0 warnings)"),
            "{name}"
        );
        let trace = dir.join(format!("{name}.jsonl"));
        let s = reach(&["simulate", pack.to_str().unwrap(), trace.to_str().unwrap()]);
        assert_eq!(
            s.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&s.stderr)
        );
        let timeline = String::from_utf8(s.stdout).unwrap();
        assert!(
            timeline.contains(&format!("popup offered: my-{name} ")),
            "{name}: {timeline}"
        );
    }
}

#[test]
fn an_unknown_template_is_a_usage_error() {
    let out = reach(&["new", "--template", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("reach new --list"));
}
