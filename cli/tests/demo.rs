//! `reach demo` run as a process, end to end: the three popups drawn as
//! cards with their buttons, the kill and the offline spell, the server's
//! counts, the explanation in words, exit 0, and its temporary directory
//! gone (TMPDIR points at a directory of this test's own, empty after).

use std::path::Path;
use std::process::Command;

const REACH: &str = env!("CARGO_BIN_EXE_reach");

#[test]
fn the_demo_tells_the_whole_story_and_leaves_nothing_behind() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let output = Command::new(REACH)
        .arg("demo")
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stdout:\n{out}\nstderr:\n{err}");

    // Each popup once, as a card whose edges carry the campaign id.
    for campaign in ["welcome-lottery", "login-streak", "cart-reminder"] {
        let edge = format!("┌─ {campaign} ─");
        assert_eq!(out.matches(&edge).count(), 1, "{campaign}:\n{out}");
    }
    for text in [
        "│ Welcome! Draw your prize",
        "│ Three logins this week!",
        "│ Still thinking it over?",
        "[ Open ]  [ Not now ]",
        "Ada taps [ Open ]",
        "Ada closes it",
        "the app verified and activated pack \"demo-1\" from the server",
        "the app process is killed",
        // The reminder is offered after the reopen, 35 minutes after the cart.
        "day 3, 09:35  popup:",
        "upload: no connection, 1 event waits on the phone",
        "upload: the server acknowledged 1 event, 0 wait on the phone",
        "  events per name: add_to_cart 1, app_open 4, login 3,",
        "  cart-reminder: 1 shown, 0 clicked, 1 dismissed, 0 conversions",
        "  login-streak: 1 shown, 1 clicked, 0 dismissed, 0 conversions",
        "  welcome-lottery: 1 shown, 1 clicked, 0 dismissed, 0 conversions",
        "  no popup was shown twice, across the kill",
        "behaviour condition not met: count \"app_open\" within 2w eq 1; the count was 4",
    ] {
        assert!(out.contains(text), "missing {text:?} in:\n{out}");
    }
    // The reminder comes after the kill: its delay survived the process.
    let kill = out.find("the app process is killed").unwrap();
    assert!(out.find("┌─ cart-reminder").unwrap() > kill, "{out}");
    // People read it: no Rust Debug output.
    for debug in ["Some(", "None", "Ok(", "Err(", "\\\""] {
        assert!(!out.contains(debug), "{debug} in:\n{out}");
    }
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
