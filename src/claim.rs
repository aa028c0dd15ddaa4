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
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};

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

enum Job {
    Claim {
        offer_id: String,
        request: ClaimRequest,
    },
    Release {
        campaign_id: String,
        key: String,
    },
}

/// The `reach-claims` thread: makes the claims and releases the worker asks
/// for, one at a time, and sends each claim's answer back as a worker command.
pub struct ClaimThread {
    jobs: Option<Sender<Job>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl ClaimThread {
    /// `back` hands a command to the worker; false once the worker is gone.
    pub fn spawn<C, B, F, L>(
        client: Arc<dyn ClaimClient>,
        back: B,
        answer_to_command: F,
        release_failed: L,
    ) -> std::io::Result<ClaimThread>
    where
        C: Send + 'static,
        B: Fn(C) -> bool + Send + 'static,
        F: Fn(String, ClaimAnswer) -> C + Send + 'static,
        L: Fn(String) -> C + Send + 'static,
    {
        let (jobs, rx) = mpsc::channel::<Job>();
        let handle = std::thread::Builder::new()
            .name("reach-claims".into())
            .spawn(move || {
                for job in rx {
                    // A client that panics is "unavailable", not a crash.
                    let sent = match job {
                        Job::Claim { offer_id, request } => {
                            let answer =
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                    client.claim(&request)
                                }))
                                .unwrap_or_else(|_| {
                                    ClaimAnswer::Unavailable("the claim client panicked".into())
                                });
                            back(answer_to_command(offer_id, answer))
                        }
                        Job::Release { campaign_id, key } => {
                            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                client.release(&campaign_id, &key)
                            }))
                            .unwrap_or_else(|_| Err("the claim client panicked".into()));
                            match r {
                                Ok(()) => true,
                                Err(why) => back(release_failed(format!(
                                    "could not release the prize of campaign {campaign_id} (key {key}): {why}"
                                ))),
                            }
                        }
                    };
                    if !sent {
                        break;
                    }
                }
            })?;
        Ok(ClaimThread {
            jobs: Some(jobs),
            handle: Some(handle),
        })
    }

    /// Asks for a claim; false when the thread is gone.
    pub fn claim(&self, offer_id: String, request: ClaimRequest) -> bool {
        self.send(Job::Claim { offer_id, request })
    }

    pub fn release(&self, campaign_id: String, key: String) -> bool {
        self.send(Job::Release { campaign_id, key })
    }

    fn send(&self, job: Job) -> bool {
        self.jobs.as_ref().is_some_and(|j| j.send(job).is_ok())
    }
}

impl Drop for ClaimThread {
    /// Lets queued releases finish for a short while; a client stuck on the
    /// network is left behind rather than blocking `close()`.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(handle) = self.handle.take() {
            crate::thread::join_within(handle, CLAIM_THREAD_JOIN_TIMEOUT);
        }
    }
}

/// How long closing waits for claims and releases still running.
const CLAIM_THREAD_JOIN_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

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
