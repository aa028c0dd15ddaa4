//! The campaign side of the facade beyond popups: the host's prize-claim
//! client and `explain()`.

use std::sync::Arc;

use crate::claim::{self, ClaimAnswer, ClaimRequest};
use crate::explain::Explanation;

/// The answer of the host's claim client.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ClaimOutcome {
    /// One prize is reserved for this idempotency key.
    Granted { claim_id: String },
    /// The stock is gone.
    Exhausted,
    /// No answer (offline, time-out): the campaign's offline policy decides.
    Unavailable { reason: String },
}

/// Implemented by an app that holds prize stock in its own backend. Called
/// on Reach's `reach-claims` thread, never on the UI thread; it may block on
/// the network, but should give up within a few seconds (Reach applies the
/// offline policy after 10 s anyway). The same idempotency key must never
/// take a second prize.
#[uniffi::export(with_foreign)]
pub trait ClaimClient: Send + Sync {
    /// An error thrown here counts as `Unavailable`, with its message.
    fn claim(
        &self,
        campaign_id: String,
        person_id: String,
        idempotency_key: String,
    ) -> Result<ClaimOutcome, super::CallbackError>;
    /// Gives a granted prize back (the host discarded the popup). Releasing
    /// a key that holds no prize must succeed.
    fn release(
        &self,
        campaign_id: String,
        idempotency_key: String,
    ) -> Result<(), super::CallbackError>;
}

pub(super) struct ForeignClaimClient(pub Arc<dyn ClaimClient>);

impl claim::ClaimClient for ForeignClaimClient {
    fn claim(&self, r: &ClaimRequest) -> ClaimAnswer {
        match self.0.claim(
            r.campaign_id.clone(),
            r.person_id.clone(),
            r.idempotency_key.clone(),
        ) {
            Ok(ClaimOutcome::Granted { claim_id }) => ClaimAnswer::Granted { claim_id },
            Ok(ClaimOutcome::Exhausted) => ClaimAnswer::Exhausted,
            Ok(ClaimOutcome::Unavailable { reason }) => ClaimAnswer::Unavailable(reason),
            Err(e) => ClaimAnswer::Unavailable(format!("the claim client failed: {e}")),
        }
    }

    fn release(&self, campaign_id: &str, key: &str) -> Result<(), String> {
        self.0
            .release(campaign_id.to_owned(), key.to_owned())
            .map_err(|e| e.to_string())
    }
}

/// Why a campaign did or did not fire for its last matching event.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CampaignExplanation {
    pub campaign_id: String,
    /// Whether the active pack has the campaign.
    pub in_pack: bool,
    /// The last event that triggered or moved it (since the app started).
    pub last_event: Option<String>,
    pub last_event_at_ms: Option<i64>,
    /// `offered`, `scheduled`, `not offered`, `no matching event yet` or
    /// `not in the active pack`.
    pub outcome: String,
    /// Each reason with its values, in order.
    pub reasons: Vec<String>,
    /// The person's A/B arm, once assigned.
    pub variant: Option<String>,
    pub pending_delay_due_ms: Option<i64>,
    pub pending_delay_expires_ms: Option<i64>,
    /// Impressions and control exposures of the campaign for this person.
    pub impressions: u32,
    /// All of the above as readable text, for a debug screen or a log.
    pub text: String,
}

impl From<Explanation> for CampaignExplanation {
    fn from(e: Explanation) -> Self {
        CampaignExplanation {
            campaign_id: e.campaign_id,
            in_pack: e.in_pack,
            last_event: e.last_event,
            last_event_at_ms: e.last_event_at_ms,
            outcome: e.outcome,
            reasons: e.reasons,
            variant: e.variant,
            pending_delay_due_ms: e.pending_delay_due_ms,
            pending_delay_expires_ms: e.pending_delay_expires_ms,
            impressions: e.impressions,
            text: e.text,
        }
    }
}
