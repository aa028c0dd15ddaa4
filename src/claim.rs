//! Prize inventory: before a campaign with a limited stock shows its popup,
//! the device claims one prize from a server that holds the stock for all
//! users, and releases it when the host discards the popup.
//!
//! The engine only knows the `ClaimClient` interface. Calls run on the
//! `reach-claims` thread, never on the worker (which never touches the
//! network) nor on the caller's thread. Every claim carries an idempotency
//! key, stored with the offer before the call, so a retry after a timeout or
//! a restart can never take a second prize.

use std::collections::HashMap;
use std::sync::Mutex;

/// One claim: which campaign's stock, for whom, under which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest {
    pub campaign_id: String,
    /// The person's id in effect (user id, or the anonymous id).
    pub person_id: String,
    /// Unique per claim attempt; the server grants at most once per key.
    pub idempotency_key: String,
}

/// The server's answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimAnswer {
    /// One prize is reserved for this key; `claim_id` names it.
    Granted { claim_id: String },
    /// The stock is gone.
    Exhausted,
    /// No answer (offline, time-out, server error): the campaign's offline
    /// policy decides. The text says why, for the log and `explain`.
    Unavailable(String),
}

/// Talks to whatever holds the stock. Implementations must be thread-safe and
/// must return (not hang): the HTTP one uses short timeouts.
pub trait ClaimClient: Send + Sync {
    fn claim(&self, request: &ClaimRequest) -> ClaimAnswer;
    /// Gives a granted prize back (the host discarded the popup). Releasing a
    /// key that holds no prize is not an error.
    fn release(&self, campaign_id: &str, idempotency_key: &str) -> Result<(), String>;
}

/// An in-process stock shared by the devices of a test or the simulator: the
/// same rules as the reference server (atomic, idempotent per key).
#[derive(Debug, Default)]
pub struct LocalStock {
    state: Mutex<LocalStockState>,
}

#[derive(Debug, Default)]
struct LocalStockState {
    /// Prizes left per campaign; a campaign not listed has none.
    left: HashMap<String, u64>,
    /// Granted keys: (campaign, key) → claim id.
    granted: HashMap<(String, String), String>,
    offline: bool,
    claims_seen: u64,
}

impl LocalStock {
    pub fn new() -> LocalStock {
        LocalStock::default()
    }

    pub fn set_stock(&self, campaign_id: &str, prizes: u64) {
        self.lock().left.insert(campaign_id.to_owned(), prizes);
    }

    pub fn left(&self, campaign_id: &str) -> u64 {
        self.lock().left.get(campaign_id).copied().unwrap_or(0)
    }

    /// While offline every claim answers `Unavailable`.
    pub fn set_offline(&self, offline: bool) {
        self.lock().offline = offline;
    }

    /// Claims received (including repeats and offline ones).
    pub fn claims_seen(&self) -> u64 {
        self.lock().claims_seen
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LocalStockState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ClaimClient for LocalStock {
    fn claim(&self, r: &ClaimRequest) -> ClaimAnswer {
        let mut s = self.lock();
        s.claims_seen += 1;
        if s.offline {
            return ClaimAnswer::Unavailable("offline".into());
        }
        let key = (r.campaign_id.clone(), r.idempotency_key.clone());
        if let Some(id) = s.granted.get(&key) {
            return ClaimAnswer::Granted {
                claim_id: id.clone(),
            };
        }
        match s.left.get_mut(&r.campaign_id) {
            Some(n) if *n > 0 => {
                *n -= 1;
                let claim_id = format!("{}:{}", r.campaign_id, r.idempotency_key);
                s.granted.insert(key, claim_id.clone());
                ClaimAnswer::Granted { claim_id }
            }
            _ => ClaimAnswer::Exhausted,
        }
    }

    fn release(&self, campaign_id: &str, key: &str) -> Result<(), String> {
        let mut s = self.lock();
        if s.offline {
            return Err("offline".into());
        }
        if s.granted
            .remove(&(campaign_id.to_owned(), key.to_owned()))
            .is_some()
        {
            *s.left.entry(campaign_id.to_owned()).or_default() += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(key: &str) -> ClaimRequest {
        ClaimRequest {
            campaign_id: "gift".into(),
            person_id: "u".into(),
            idempotency_key: key.into(),
        }
    }

    #[test]
    fn a_stock_grants_once_per_key_and_takes_releases_back() {
        let s = LocalStock::new();
        s.set_stock("gift", 1);
        let first = s.claim(&req("k1"));
        assert!(matches!(first, ClaimAnswer::Granted { .. }));
        assert_eq!(s.claim(&req("k1")), first, "same key, same prize");
        assert_eq!(s.claim(&req("k2")), ClaimAnswer::Exhausted);
        s.release("gift", "k1").unwrap();
        s.release("gift", "k1").unwrap();
        assert_eq!(s.left("gift"), 1, "a second release gives nothing back");
        assert!(matches!(s.claim(&req("k2")), ClaimAnswer::Granted { .. }));
        s.set_offline(true);
        assert!(matches!(s.claim(&req("k3")), ClaimAnswer::Unavailable(_)));
    }
}
