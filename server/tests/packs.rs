//! `GET /v1/rule-pack` over a real socket: ETag, signature, 304, changes, `.sig` files, missing packs.

mod common;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use common::*;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use reach_server::{decode_seed, keygen, start, ServerConfig};

const PACK: &[u8] = b"{\"version\": 1,\n \"campaigns\": []}\n";

fn verifies(public_b64: &str, body: &[u8], signature_b64: &str) -> bool {
    let public: [u8; 32] = B64.decode(public_b64).unwrap().try_into().unwrap();
    let Ok(sig) = <[u8; 64]>::try_from(B64.decode(signature_b64).unwrap()) else {
        return false;
    };
    VerifyingKey::from_bytes(&public)
        .unwrap()
        .verify(body, &Signature::from_bytes(&sig))
        .is_ok()
}

struct Fixture {
    _data: tempfile::TempDir,
    packs: tempfile::TempDir,
    server: reach_server::RunningServer,
}

fn serve(signing_seed: Option<[u8; 32]>) -> Fixture {
    let data = tempfile::tempdir().unwrap();
    let packs = tempfile::tempdir().unwrap();
    std::fs::write(packs.path().join("default.json"), PACK).unwrap();
    let mut config = ServerConfig::new(data.path());
    config.packs_dir = Some(packs.path().to_path_buf());
    config.signing_key = signing_seed;
    let server = start(config).unwrap();
    Fixture {
        _data: data,
        packs,
        server,
    }
}

#[test]
fn a_pack_is_served_byte_for_byte_with_etag_and_a_signature_that_verifies() {
    let (secret, public) = keygen().unwrap();
    let f = serve(Some(decode_seed(&secret).unwrap()));
    let r = get(f.server.addr(), "/v1/rule-pack");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, PACK);
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert_eq!(r.header("Cache-Control"), Some("max-age=600"));
    let etag = r.header("ETag").unwrap();
    assert!(
        etag.len() == 34 && etag.starts_with('"') && etag.ends_with('"'),
        "{etag}"
    );
    assert!(etag[1..33]
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert!(verifies(
        &public,
        &r.body,
        r.header("X-Reach-Signature").unwrap()
    ));
    let (_, other_public) = keygen().unwrap();
    assert!(!verifies(
        &other_public,
        &r.body,
        r.header("X-Reach-Signature").unwrap()
    ));
}

#[test]
fn if_none_match_with_the_current_etag_is_304_without_a_body() {
    let f = serve(None);
    let etag = get(f.server.addr(), "/v1/rule-pack?name=default")
        .header("ETag")
        .unwrap()
        .to_string();
    let r = request(
        f.server.addr(),
        "GET",
        "/v1/rule-pack",
        &[("If-None-Match", &etag)],
        b"",
    );
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    let r = request(
        f.server.addr(),
        "GET",
        "/v1/rule-pack",
        &[("If-None-Match", "\"0000\"")],
        b"",
    );
    assert_eq!(r.status, 200);
}

#[test]
fn a_changed_file_gets_a_new_etag_and_is_served_again() {
    let f = serve(None);
    let first = get(f.server.addr(), "/v1/rule-pack")
        .header("ETag")
        .unwrap()
        .to_string();
    std::fs::write(
        f.packs.path().join("default.json"),
        b"{\"version\": 2, \"campaigns\": []}",
    )
    .unwrap();
    let r = request(
        f.server.addr(),
        "GET",
        "/v1/rule-pack",
        &[("If-None-Match", &first)],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_ne!(r.header("ETag").unwrap(), first);
    assert_eq!(r.body, b"{\"version\": 2, \"campaigns\": []}");
}

#[test]
fn without_a_key_the_sig_file_is_served_and_without_either_no_signature() {
    let f = serve(None);
    let r = get(f.server.addr(), "/v1/rule-pack");
    assert_eq!(r.header("X-Reach-Signature"), None);
    let (secret, public) = keygen().unwrap();
    let sig = reach_server::sign(&secret, PACK).unwrap();
    std::fs::write(f.packs.path().join("default.json.sig"), format!("{sig}\n")).unwrap();
    let r = get(f.server.addr(), "/v1/rule-pack");
    assert_eq!(r.header("X-Reach-Signature"), Some(sig.as_str()));
    assert!(verifies(&public, &r.body, &sig));
}

#[test]
fn a_missing_pack_is_404_and_a_bad_name_is_400() {
    let f = serve(None);
    let r = get(f.server.addr(), "/v1/rule-pack?name=spring");
    assert_eq!((r.status, r.code()), (404, "not_found".to_string()));
    let r = get(f.server.addr(), "/v1/rule-pack?name=../default");
    assert_eq!(r.status, 400);
    let dir = tempfile::tempdir().unwrap();
    let bare = start(ServerConfig::new(dir.path())).unwrap();
    let r = get(bare.addr(), "/v1/rule-pack");
    assert_eq!((r.status, r.code()), (404, "not_found".to_string()));
}
