//! The device's reading of a claim answer (src/claim_http.rs): any status,
//! headers and body for `POST /v1/claims` and `/v1/claims/release`. Nothing
//! panics; only a 200 with `"status": "granted"` and a claim id grants.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use reach::claim::{ClaimAnswer, ClaimClient, ClaimRequest};
use reach::claim_http::HttpClaimClient;
use reach::ServerConfig;
use reach_fuzz::CannedTransport;

fuzz_target!(|data: &[u8]| {
    let response = reach_fuzz::response_from(data);
    let transport = CannedTransport::new(Ok(response.clone()));
    let config = ServerConfig::new("https://reach.invalid", "key");
    let client = HttpClaimClient::new(&config, transport, Duration::from_secs(3));
    let answer = client.claim(&ClaimRequest {
        campaign_id: "c".into(),
        person_id: "p".into(),
        idempotency_key: "k".into(),
    });
    if let ClaimAnswer::Granted { claim_id } = &answer {
        assert_eq!(response.status, 200);
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body["status"], "granted");
        assert_eq!(body["claim_id"].as_str(), Some(claim_id.as_str()));
    }
    let released = client.release("c", "k");
    if released.is_ok() {
        assert_eq!(response.status, 200);
    }
});
