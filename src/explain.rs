//! `explain(campaignId)`: why a campaign did or did not fire for the last
//! event that concerned it — which condition failed with which values,
//! which cap blocked it, which variant was assigned, which delay is pending.
//! Built on the worker from the engine's state, so it is exact as of the
//! moment it is asked.

/// A campaign's explanation: the facts, and `text`, the same in sentences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub campaign_id: String,
    /// Whether the active pack has the campaign.
    pub in_pack: bool,
    /// The last event that triggered or moved the campaign, if any.
    pub last_event: Option<String>,
    pub last_event_at_ms: Option<i64>,
    /// `offered`, `scheduled`, `not offered` (also when the engine chose it
    /// and the worker then withheld it: stock exhausted, text or image
    /// missing, no presenter) or `no matching event yet`.
    pub outcome: String,
    /// Every reason and step, in order: the engine's verdict with its values,
    /// then what happened after it (variant, claim, presenter).
    pub reasons: Vec<String>,
    /// The person's arm, once assigned.
    pub variant: Option<String>,
    pub pending_delay_due_ms: Option<i64>,
    pub pending_delay_expires_ms: Option<i64>,
    /// Impressions (and control exposures) of the campaign for this person.
    pub impressions: u32,
    /// The whole explanation as readable text.
    pub text: String,
}
