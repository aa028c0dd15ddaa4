//! `reach validate` and `reach sign` run as processes: exit codes, the exact first error line, every warning.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const REACH: &str = env!("CARGO_BIN_EXE_reach");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh scratch directory per test under cargo's own test temp dir (no test-only crates).
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn reach(args: &[&str]) -> Output {
    Command::new(REACH).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn every_valid_fixture_validates_with_exit_0() {
    let dir = repo().join("tests/fixtures/packs");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            continue;
        }
        let out = reach(&["validate", path.to_str().unwrap(), "--app-scheme", "app"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).contains("valid ("),
            "{}",
            text(&out.stdout)
        );
        n += 1;
    }
    assert!(n >= 11);
}

#[test]
fn an_invalid_pack_exits_1_with_the_parsers_path_first() {
    let dir = scratch("invalid");
    for (name, pack, first) in [
        (
            "missing-trigger.json",
            r#"{"format":"1.0","campaigns":[{"id":"x","popup":{"template":"modal","title":"t"}}]}"#,
            "error: campaigns[0]: missing required key \"trigger\"",
        ),
        (
            "bad-op.json",
            r#"{"format":"1.0","campaigns":[{"id":"x","trigger":{"event":"e","where":[{"prop":"p","op":"gtx","value":1}]},"popup":{"template":"modal","title":"t"}}]}"#,
            "error: campaigns[0].trigger.where[0].op:",
        ),
        ("not-json.json", "{", "error:"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, pack).unwrap();
        let out = reach(&["validate", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let stderr = text(&out.stderr);
        let line = stderr.lines().next().unwrap();
        assert!(
            line.starts_with(&format!("{}: {first}", path.display())),
            "{name}: {line}"
        );
        let json = reach(&["validate", path.to_str().unwrap(), "--format", "json"]);
        assert_eq!(json.status.code(), Some(1));
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(v["valid"], false);
        assert!(!v["errors"].as_array().unwrap().is_empty());
    }
}

#[test]
fn every_invalid_fixture_exits_1_with_the_parsers_first_error_first() {
    let dir = repo().join("tests/fixtures/packs/invalid");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let error = reach::rules::RulePack::parse(&std::fs::read_to_string(&path).unwrap())
            .expect_err("an invalid fixture");
        let out = reach(&["validate", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", path.display());
        let stderr = text(&out.stderr);
        assert_eq!(
            stderr.lines().next().unwrap(),
            format!("{}: error: {}", path.display(), error.first()),
        );
        assert!(
            !stderr.contains("Some(") && !stderr.contains("FieldError"),
            "{stderr}"
        );
        n += 1;
    }
    assert!(n >= 90, "{n}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(reach(&["validate"]).status.code(), Some(2));
    assert_eq!(
        reach(&["validate", "/no/such/pack.json"]).status.code(),
        Some(2)
    );
    assert_eq!(reach(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        reach(&["validate", "x.json", "--format", "xml"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn each_command_has_help_with_an_example() {
    for cmd in ["validate", "sign", "keygen", "serve"] {
        let out = reach(&[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{cmd}");
        let help = text(&out.stdout);
        assert!(
            help.contains(&format!("Example:\n  reach {cmd}")),
            "{cmd}: {help}"
        );
    }
}

const WARNINGS_PACK: &str = r#"{
  "format": "1.1",
  "limits": {"quiet_hours": [{"from": "00:00", "to": "12:00"}, {"from": "12:00", "to": "24:00"}]},
  "campaigns": [
    {"id": "ended", "trigger": {"event": "app_open"}, "schedule": {"end": "2001-01-01T00:00:00Z"},
     "popup": {"template": "modal", "title": "t"}},
    {"id": "typo", "trigger": {"event": "app_opn"}, "goal": {"event": "purchse", "within": "1d"},
     "popup": {"template": "modal", "title": "t"}},
    {"id": "late", "trigger": {"event": "app_open"}, "delay": {"after": "2h", "expire_after": "1h"},
     "popup": {"template": "modal", "title": "t"}},
    {"id": "links", "trigger": {"event": "app_open"},
     "popup": {"template": "modal", "title": "t", "image_url": "ftp://cdn.example/i.png",
       "buttons": [{"id": "go", "text": "Go", "action": {"type": "deep_link", "url": "myapp://home"}},
                   {"id": "bad", "text": "Bad", "action": {"type": "deep_link", "url": "otherapp://home"}}]}}
  ]
}"#;

#[test]
fn a_pack_made_to_warn_gets_every_warning_and_still_exits_0() {
    let dir = scratch("warnings");
    let pack = dir.join("warn.json");
    std::fs::write(&pack, WARNINGS_PACK).unwrap();
    let events = dir.join("events.txt");
    std::fs::write(&events, "app_open\npurchase\n").unwrap();
    let out = reach(&[
        "validate",
        pack.to_str().unwrap(),
        "--known-events",
        events.to_str().unwrap(),
        "--app-scheme",
        "myapp",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    let got: Vec<(String, String)> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["code"].as_str().unwrap().into(),
                w["path"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("ends_in_past", "campaigns[0].schedule.end"),
        ("unknown_event", "campaigns[1].trigger.event"),
        ("unknown_event", "campaigns[1].goal.event"),
        ("delay_past_expiry", "campaigns[2].delay"),
        ("url_scheme", "campaigns[3].popup.image_url"),
        ("url_scheme", "campaigns[3].popup.buttons[1].action.url"),
        ("quiet_all_day", "limits.quiet_hours"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, want);
    let plain = reach(&["validate", pack.to_str().unwrap()]);
    assert_eq!(plain.status.code(), Some(0));
    assert!(text(&plain.stdout)
        .contains("warning: campaigns[0].schedule.end: the schedule ended already"));
}

#[test]
fn sign_refuses_an_invalid_pack_and_signs_a_valid_one() {
    let dir = scratch("sign");
    let keys = dir.join("keys");
    let out = reach(&["keygen", "--out", keys.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let key = keys.join("reach-signing.key");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"format":"1.0","campaigns":[{"id":"x"}]}"#).unwrap();
    let out = reach(&[
        "sign",
        "--key",
        key.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not a valid pack; not signed"));
    assert!(!dir.join("bad.json.sig").exists());
    let good = dir.join("good.json");
    std::fs::copy(
        repo().join("tests/fixtures/packs/02-login-streak.json"),
        &good,
    )
    .unwrap();
    let out = reach(&[
        "sign",
        "--key",
        key.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let sig = std::fs::read_to_string(dir.join("good.json.sig")).unwrap();
    assert_eq!(sig.trim(), text(&out.stdout).trim());
}
