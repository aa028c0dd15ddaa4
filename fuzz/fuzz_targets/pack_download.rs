//! Rule-pack download (src/sync): any answer to `GET /v1/rule-pack`, with the
//! body signed by the configured key when the first byte says so (else with
//! whatever `X-Reach-Signature` the headers carry), so that fuzzed packs get
//! past the signature into the parser. Nothing panics; a pack is accepted
//! only from a 200 whose signature verifies, and it is the body's own text.
#![no_main]

use std::sync::Arc;

use base64::Engine as _;
use ed25519_dalek::{Signer, SigningKey};
use libfuzzer_sys::fuzz_target;
use reach::sync::{PackKeys, PackSync, SyncOutcome};
use reach::transport::Transport;
use reach::{ManualClock, ServerConfig};
use reach_fuzz::CannedTransport;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let signing = SigningKey::from_bytes(&[7; 32]);
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut response = reach_fuzz::response_from(rest);
    let signed = mode & 1 == 0;
    if signed {
        let signature = b64.encode(signing.sign(&response.body).to_bytes());
        response
            .headers
            .push(("X-Reach-Signature".into(), signature));
    }
    let (keys, problems) = PackKeys::parse(&[b64.encode(signing.verifying_key().to_bytes())]);
    assert!(problems.is_empty());
    let transport = CannedTransport::new(Ok(response.clone()));
    let mut config = ServerConfig::new("https://reach.invalid", "key");
    config.pack_name = String::from_utf8_lossy(&rest[..rest.len().min(3)]).into_owned();
    let mut sync = PackSync::new(
        Arc::new(config),
        transport.clone() as Arc<dyn Transport>,
        Arc::new(ManualClock::new(1_700_000_000_000)),
        keys,
    );
    sync.set_etag(response.header("ETag").map(str::to_owned));
    match sync.poll() {
        SyncOutcome::Fetched(fetched) => {
            assert_eq!(response.status, 200);
            assert_eq!(fetched.json.as_bytes(), response.body.as_slice());
            assert!(signed || response.header("X-Reach-Signature").is_some());
        }
        SyncOutcome::NotModified => assert_eq!(response.status, 304),
        SyncOutcome::Refused(why) | SyncOutcome::Failed(why) => assert!(!why.is_empty()),
    }
    // The server's max-age, however large or odd, leaves the next poll due
    // at some time: polling is never stopped for good.
    let _ = sync.is_due();
    assert_eq!(transport.requests.lock().unwrap().len(), 1);
});
