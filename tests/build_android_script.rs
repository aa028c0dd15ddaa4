//! `scripts/build-android.sh` on a machine without what it needs: it must stop
//! at once, with one line on stderr naming the missing piece and how to get
//! it, and build nothing. (The build itself needs the Android NDK, so it runs
//! only on a developer's machine.)
//!
//! The script runs from a copy in an empty directory (it works relative to
//! its own location), so "nothing was built" is simply "the directory still
//! holds only the script", and a real build in this clone is never touched.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Far above a preflight's few milliseconds, far below any cargo build.
const PREFLIGHT_LIMIT: Duration = Duration::from_secs(10);

const ANDROID_VARS: [&str; 4] = [
    "ANDROID_NDK_HOME",
    "ANDROID_NDK_ROOT",
    "ANDROID_HOME",
    "ANDROID_SDK_ROOT",
];

/// A copy of the script at `<dir>/scripts/build-android.sh`.
fn script_copy(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-android.sh");
    let scripts = dir.join("scripts");
    std::fs::create_dir(&scripts).expect("create scripts/");
    let copy = scripts.join("build-android.sh");
    std::fs::copy(&source, &copy).expect("copy the script");
    copy
}

/// Runs the script with no Android variable set and the given `PATH`.
fn run(script: &Path, extra_env: &[(&str, &str)], path: &str) -> (Output, Duration) {
    let mut command = Command::new("bash");
    command.arg(script).env("PATH", path);
    for var in ANDROID_VARS {
        command.env_remove(var);
    }
    for (k, v) in extra_env {
        command.env(k, v);
    }
    let started = Instant::now();
    let output = command.output().expect("bash runs");
    (output, started.elapsed())
}

/// Every file and directory under `dir`, relative to it, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable dir") {
            let path = entry.expect("dir entry").path();
            out.push(
                path.strip_prefix(dir)
                    .expect("under dir")
                    .display()
                    .to_string(),
            );
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The current `PATH` without the directories that hold `cargo-ndk`, so the
/// test means the same on a developer's machine that has it installed
/// (usually in `~/.cargo/bin`; one installed beside bash in `/usr/bin` would
/// take bash away too, and the test would fail on starting it).
fn path_without_cargo_ndk() -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|d| !d.join("cargo-ndk").exists())
        .collect();
    std::env::join_paths(kept)
        .expect("PATH entries join")
        .into_string()
        .expect("PATH is UTF-8")
}

/// Asserts the failure shape every preflight check shares; returns the line.
fn assert_stops_with_one_line(output: &Output, took: Duration, dir: &Path) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the script succeeded; stderr: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line on stderr, got: {stderr:?}"
    );
    assert!(
        output.stdout.is_empty(),
        "nothing should start, yet stdout says: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(
        tree(dir),
        ["scripts", "scripts/build-android.sh"],
        "the script built or created something"
    );
    assert!(
        took < PREFLIGHT_LIMIT,
        "took {took:?}: the check must come before any build"
    );
    lines[0].to_owned()
}

#[test]
fn without_an_ndk_it_stops_at_once_with_one_line_naming_the_ndk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = script_copy(dir.path());
    let (output, took) = run(&script, &[], &path_without_cargo_ndk());
    let line = assert_stops_with_one_line(&output, took, dir.path());
    assert!(line.contains("Android NDK not found"), "{line}");
    assert!(
        line.contains("ANDROID_NDK_HOME"),
        "the line should say which variable to set: {line}"
    );
    assert!(
        line.contains("SDK Manager"),
        "the line should say how to install it: {line}"
    );
}

#[test]
fn an_ndk_variable_pointing_nowhere_names_the_path_it_tried() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = script_copy(dir.path());
    let nowhere = dir.path().join("no-such-ndk");
    let nowhere = nowhere.to_str().expect("UTF-8 temp path");
    let (output, took) = run(
        &script,
        &[("ANDROID_NDK_HOME", nowhere)],
        &path_without_cargo_ndk(),
    );
    let line = assert_stops_with_one_line(&output, took, dir.path());
    assert!(line.contains("Android NDK not found at"), "{line}");
    assert!(line.contains(nowhere), "{line}");
}

#[test]
fn with_an_ndk_but_no_cargo_ndk_it_names_cargo_ndk_and_its_install_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = script_copy(dir.path());
    // The script only looks for the NDK's toolchain directory before it
    // looks for cargo-ndk. Kept outside `dir`, whose tree is asserted.
    let ndk = tempfile::tempdir().expect("temp NDK dir");
    std::fs::create_dir_all(ndk.path().join("toolchains/llvm/prebuilt")).expect("fake NDK");
    let ndk_path = ndk.path().to_str().expect("UTF-8 temp path");
    let (output, took) = run(
        &script,
        &[("ANDROID_NDK_HOME", ndk_path)],
        &path_without_cargo_ndk(),
    );
    let line = assert_stops_with_one_line(&output, took, dir.path());
    assert!(line.contains("cargo-ndk not found"), "{line}");
    assert!(line.contains("cargo install cargo-ndk"), "{line}");
}
