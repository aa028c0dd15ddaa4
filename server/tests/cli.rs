//! The built `reach` binary: `serve` prints its address first and answers; `keygen` + `sign` round trip.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};

const REACH: &str = env!("CARGO_BIN_EXE_reach-server");

/// Kills the child even when an assertion fails first.
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_prints_its_address_first_then_answers_health() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Child(
        Command::new(REACH)
            .args(["serve", "--port", "0", "--data"])
            .arg(data.path())
            .args(["--stock", "c1=2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut first = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let line = first.trim_end_matches('\n');
    let port = line
        .strip_prefix("127.0.0.1:")
        .unwrap_or_else(|| panic!("first line {line:?}"));
    assert!(
        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()),
        "{line:?}"
    );
    let r = common::get(line.parse().unwrap(), "/health");
    assert_eq!((r.status, r.json()), (200, serde_json::json!({"ok": true})));
    assert!(data.path().join("reach-server.db").exists());
}

#[test]
fn a_usage_error_exits_2_with_the_usage() {
    let out = Command::new(REACH)
        .args(["serve", "--port", "eighty"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--port") && err.contains("usage:"), "{err}");
    assert_eq!(Command::new(REACH).output().unwrap().status.code(), Some(2));
}

#[test]
fn keygen_then_sign_writes_a_signature_that_verifies_with_the_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let out = Command::new(REACH)
        .arg("keygen")
        .arg("--out")
        .arg(&keys)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(
        std::fs::read_to_string(keys.join("reach-signing.pub"))
            .unwrap()
            .trim(),
        public
    );

    let pack = dir.path().join("default.json");
    std::fs::write(&pack, b"{\"campaigns\": []}\n").unwrap();
    let out = Command::new(REACH)
        .arg("sign")
        .arg("--key")
        .arg(keys.join("reach-signing.key"))
        .arg(&pack)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let file = std::fs::read_to_string(dir.path().join("default.json.sig")).unwrap();
    assert_eq!(file, format!("{printed}\n"));

    let public: [u8; 32] = B64.decode(public).unwrap().try_into().unwrap();
    let sig: [u8; 64] = B64.decode(printed).unwrap().try_into().unwrap();
    let key = VerifyingKey::from_bytes(&public).unwrap();
    assert!(key
        .verify(b"{\"campaigns\": []}\n", &Signature::from_bytes(&sig))
        .is_ok());

    // A second keygen into the same directory must not replace the key.
    let again = Command::new(REACH)
        .arg("keygen")
        .arg("--out")
        .arg(&keys)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
}
