//! `scripts/build-ios.sh` needs a Mac with Xcode. Anywhere else it must stop at
//! once with one line that says so, and build nothing: a developer who runs it
//! on Linux learns why in one line instead of after a long failed build.

use std::path::Path;
use std::process::Command;

#[test]
fn without_xcode_the_script_stops_at_once_with_one_line_and_builds_nothing() {
    if cfg!(target_os = "macos") && Command::new("xcodebuild").arg("-version").output().is_ok() {
        eprintln!("skipped: this machine has Xcode, the script would really build");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let framework = root.join("bindings/swift/ReachCore.xcframework");
    let ios_out = root.join("target/ios");
    let had_framework = framework.exists();
    let had_out = ios_out.exists();

    let out = Command::new("bash")
        .arg(root.join("scripts/build-ios.sh"))
        .current_dir(root)
        .output()
        .expect("bash runs");

    assert!(!out.status.success(), "exit status {:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one stderr line, got: {stderr:?}");
    assert!(
        lines[0].contains("Xcode"),
        "the line names Xcode: {stderr:?}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        framework.exists(),
        had_framework,
        "no xcframework was created"
    );
    assert_eq!(ios_out.exists(), had_out, "target/ios was not created");
}
