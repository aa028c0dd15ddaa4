//! `ClaimClient` over HTTP: `POST /v1/claims` and `/v1/claims/release`
//! through the same `Transport` as uploads. A claim blocks a popup that is
//! about to show, so it gets a short timeout and every failure (offline,
//! timeout, HTTP error, unreadable answer) becomes `Unavailable`: the
//! campaign's offline policy decides, the app never waits long.

use std::sync::Arc;
use std::time::Duration;

use crate::claim::{ClaimAnswer, ClaimClient, ClaimRequest};
use crate::config::ServerConfig;
use crate::transport::{HttpRequest, Method, Transport};

/// A popup waits for the answer; three seconds is about as long as a person
/// tolerates before the moment has passed, and a healthy server answers in
/// well under one.
pub const CLAIM_TIMEOUT: Duration = Duration::from_secs(3);

/// A claim answer is a few dozen bytes.
const MAX_CLAIM_RESPONSE_BYTES: u64 = 16 * 1024;

pub struct HttpClaimClient {
    /// The write key as HTTP Basic, as uploads send it: the server takes
    /// claims only from its own apps.
    authorization: String,
    claims_url: String,
    release_url: String,
    transport: Arc<dyn Transport>,
    timeout: Duration,
}

/// The claim client the worker uses when a server is configured.
pub fn http_claim_client(config: &ServerConfig) -> Arc<dyn ClaimClient> {
    let transport: Arc<dyn Transport> = match &config.transport {
        Some(t) => t.clone(),
        None => crate::transport::default_transport(),
    };
    Arc::new(HttpClaimClient::new(config, transport, CLAIM_TIMEOUT))
}

impl HttpClaimClient {
    pub fn new(
        config: &ServerConfig,
        transport: Arc<dyn Transport>,
        timeout: Duration,
    ) -> HttpClaimClient {
        use base64::Engine as _;
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:", config.write_key));
        HttpClaimClient {
            authorization: format!("Basic {credentials}"),
            claims_url: config.url("/v1/claims"),
            release_url: config.url("/v1/claims/release"),
            transport,
            timeout,
        }
    }

    fn post(&self, url: &str, body: serde_json::Value) -> Result<serde_json::Value, String> {
        let request = HttpRequest {
            method: Method::Post,
            url: url.to_owned(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Authorization".into(), self.authorization.clone()),
            ],
            body: body.to_string().into_bytes(),
            timeout: self.timeout,
            max_response_bytes: MAX_CLAIM_RESPONSE_BYTES,
        };
        let response = self.transport.send(request).map_err(|e| e.to_string())?;
        if response.status != 200 {
            return Err(format!("HTTP {}", response.status));
        }
        serde_json::from_slice(&response.body).map_err(|e| format!("unreadable answer: {e}"))
    }
}

impl ClaimClient for HttpClaimClient {
    fn claim(&self, r: &ClaimRequest) -> ClaimAnswer {
        let body = serde_json::json!({
            "campaign_id": r.campaign_id,
            "person_id": r.person_id,
            "idempotency_key": r.idempotency_key,
        });
        let answer = match self.post(&self.claims_url, body) {
            Ok(a) => a,
            Err(why) => return ClaimAnswer::Unavailable(why),
        };
        match answer["status"].as_str() {
            Some("granted") => match answer["claim_id"].as_str() {
                Some(id) => ClaimAnswer::Granted {
                    claim_id: id.to_owned(),
                },
                None => ClaimAnswer::Unavailable("granted without a claim_id".into()),
            },
            // The person already holds the campaign's per-user prizes (the
            // server counts across devices): no prize for them, like no stock.
            Some("exhausted") | Some("limit_reached") => ClaimAnswer::Exhausted,
            other => ClaimAnswer::Unavailable(format!("unexpected claim status {other:?}")),
        }
    }

    fn release(&self, campaign_id: &str, idempotency_key: &str) -> Result<(), String> {
        let body = serde_json::json!({
            "campaign_id": campaign_id,
            "idempotency_key": idempotency_key,
        });
        let answer = self.post(&self.release_url, body)?;
        match answer["status"].as_str() {
            Some("released") | Some("unknown") => Ok(()),
            other => Err(format!("unexpected release status {other:?}")),
        }
    }
}
