//! `POST /v1/claims` and `POST /v1/claims/release`: prize inventory with atomic, idempotent claims.
//!
//! A claim is one transaction under the store's lock: find the key's held prize (answer it again), else take one
//! from the stock and record it. So 100 parallel claims on a stock of 10 grant exactly 10, and a client that
//! retries a claim after a lost answer gets the same `claim_id`, never a second prize. A campaign with no stock
//! row has none to give (`exhausted`). A person (the claim's `person_id`: the device's user id, or its anonymous
//! id) holds at most the campaign's `inventory.per_user` prizes, as the packs the server serves say: a device
//! that lost its own count (reinstalled, a second phone) still gets no more (`limit_reached`).

use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::store::{ClaimAttempt, ClaimOutcome, Storage};

#[derive(Deserialize)]
struct ClaimRequest {
    campaign_id: Option<String>,
    person_id: Option<String>,
    idempotency_key: Option<String>,
}

fn parse(body: &[u8]) -> Result<ClaimRequest, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_json(format!("body is not a JSON claim: {e}")))
}

fn required(value: Option<String>, field: &str) -> Result<String, ApiError> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| {
        ApiError::invalid_request(format!("missing \"{field}\" (a non-empty string)"))
    })
}

/// Claims a prize for `(campaign_id, idempotency_key)`; the answer is the JSON body of a `200`. `per_user`
/// answers a campaign's prize limit per person (`None`: no limit known to the server).
pub fn claim(
    store: &dyn Storage,
    body: &[u8],
    per_user: impl Fn(&str) -> Option<u64>,
) -> Result<Value, ApiError> {
    let req = parse(body)?;
    let campaign = required(req.campaign_id, "campaign_id")?;
    let person = required(req.person_id, "person_id")?;
    let key = required(req.idempotency_key, "idempotency_key")?;

    let new_claim_id = new_claim_id()?;
    let attempt = ClaimAttempt {
        campaign_id: &campaign,
        person_id: &person,
        idempotency_key: &key,
        per_user: per_user(&campaign),
        new_claim_id: &new_claim_id,
    };
    Ok(match store.claim(&attempt)? {
        ClaimOutcome::Granted { claim_id } => json!({"status": "granted", "claim_id": claim_id}),
        ClaimOutcome::LimitReached => json!({"status": "limit_reached"}),
        ClaimOutcome::Exhausted => json!({"status": "exhausted"}),
    })
}

/// Returns the prize held by `(campaign_id, idempotency_key)` to the stock; a key holding none is `unknown`.
pub fn release(store: &dyn Storage, body: &[u8]) -> Result<Value, ApiError> {
    let req = parse(body)?;
    let campaign = required(req.campaign_id, "campaign_id")?;
    let key = required(req.idempotency_key, "idempotency_key")?;

    Ok(if store.release(&campaign, &key)? {
        json!({"status": "released"})
    } else {
        json!({"status": "unknown"})
    })
}

/// 128 random bits in hex: unguessable, so a claim id can serve as a voucher reference.
fn new_claim_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::internal(format!("no randomness from the OS: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with(stock: u64) -> (tempfile::TempDir, Box<dyn Storage>) {
        let dir = tempfile::tempdir().unwrap();
        let s = crate::store::open(&crate::store::Database::Sqlite, dir.path()).unwrap();
        s.seed_stock(&[("c".into(), stock)]).unwrap();
        (dir, s)
    }

    fn req(key: &str) -> Vec<u8> {
        json!({"campaign_id": "c", "person_id": "p", "idempotency_key": key})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn a_retried_claim_gets_the_same_prize_and_the_stock_drops_once() {
        let (_d, s) = store_with(2);
        let first = claim(&*s, &req("k1"), |_| None).unwrap();
        assert_eq!(first["status"], "granted");
        assert_eq!(claim(&*s, &req("k1"), |_| None).unwrap(), first);
        assert_eq!(s.stock("c").unwrap(), Some(1));
    }

    #[test]
    fn an_empty_or_missing_stock_is_exhausted() {
        let (_d, s) = store_with(0);
        assert_eq!(
            claim(&*s, &req("k"), |_| None).unwrap()["status"],
            "exhausted"
        );
        let other =
            json!({"campaign_id": "nope", "person_id": "p", "idempotency_key": "k"}).to_string();
        assert_eq!(
            claim(&*s, other.as_bytes(), |_| None).unwrap()["status"],
            "exhausted"
        );
    }

    #[test]
    fn a_person_gets_at_most_the_per_user_limit_whatever_the_keys() {
        let (_d, s) = store_with(10);
        let two = |_: &str| Some(2);
        assert_eq!(claim(&*s, &req("k1"), two).unwrap()["status"], "granted");
        assert_eq!(claim(&*s, &req("k2"), two).unwrap()["status"], "granted");
        assert_eq!(
            claim(&*s, &req("k3"), two).unwrap()["status"],
            "limit_reached"
        );
        // A retry of a granted key still gets its prize; another person is not limited.
        assert_eq!(claim(&*s, &req("k1"), two).unwrap()["status"], "granted");
        let other =
            json!({"campaign_id": "c", "person_id": "q", "idempotency_key": "k9"}).to_string();
        assert_eq!(
            claim(&*s, other.as_bytes(), two).unwrap()["status"],
            "granted"
        );
        assert_eq!(s.stock("c").unwrap(), Some(7));
        // A released prize no longer counts.
        let rel = json!({"campaign_id": "c", "idempotency_key": "k1"}).to_string();
        release(&*s, rel.as_bytes()).unwrap();
        assert_eq!(claim(&*s, &req("k4"), two).unwrap()["status"], "granted");
    }

    #[test]
    fn release_returns_the_prize_once() {
        let (_d, s) = store_with(1);
        claim(&*s, &req("k"), |_| None).unwrap();
        let rel = json!({"campaign_id": "c", "idempotency_key": "k"}).to_string();
        assert_eq!(release(&*s, rel.as_bytes()).unwrap()["status"], "released");
        assert_eq!(release(&*s, rel.as_bytes()).unwrap()["status"], "unknown");
        assert_eq!(s.stock("c").unwrap(), Some(1));
    }

    #[test]
    fn bad_json_and_missing_fields_are_400() {
        let (_d, s) = store_with(1);
        assert_eq!(
            claim(&*s, b"{not json", |_| None).unwrap_err().code,
            "invalid_json"
        );
        assert_eq!(
            claim(&*s, b"{\"campaign_id\": \"c\"}", |_| None)
                .unwrap_err()
                .code,
            "invalid_request"
        );
        assert_eq!(claim(&*s, b"[1]", |_| None).unwrap_err().status, 400);
    }
}
