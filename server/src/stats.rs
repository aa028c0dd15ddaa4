//! `GET /v1/stats`: read-only counts over what the server has stored, for tests, demos and a curious operator.
//!
//! Everything is computed from the tables at request time (no second set of counters to drift from the rows).
//! Each campaign's arms (per variant: assigned, exposed, converted persons and revenue) and its measured effect
//! come from `arms.rs` and `lift.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::arms;
use crate::error::ServerError;
use crate::lift::{Arm, Effect};
use crate::store::Storage;

/// Reach's own campaign events and the `by_campaign` field each one counts in.
const CAMPAIGN_EVENTS: [(&str, &str); 6] = [
    ("reach.popup.offered", "offered"),
    ("reach.popup.shown", "shown"),
    ("reach.popup.clicked", "clicked"),
    ("reach.popup.dismissed", "dismissed"),
    ("reach.popup.control", "control"),
    ("reach.conversion", "conversions"),
];

/// The body of `GET /v1/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Events in accepted batches, duplicates included.
    pub events_received: u64,
    /// Distinct `messageId`s stored.
    pub events_stored: u64,
    /// `events_received - events_stored`: events whose `messageId` was already stored.
    pub duplicates: u64,
    /// Accepted batches.
    pub batches: u64,
    /// Events refused one by one inside accepted batches (not stored; the answer named each by index).
    #[serde(default)]
    pub events_refused: u64,
    /// Stored `track` events per event name.
    pub by_event: BTreeMap<String, u64>,
    /// Stored campaign events per `properties.campaign_id`.
    pub by_campaign: BTreeMap<String, CampaignStats>,
    /// Treated persons against the global holdout across campaigns; `None` when no `global_holdout` event is
    /// stored.
    #[serde(default)]
    pub global_holdout: Option<GlobalHoldout>,
}

/// One campaign's line in `by_campaign`: events counted by name, then persons per variant and the effect.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CampaignStats {
    pub shown: u64,
    pub clicked: u64,
    pub dismissed: u64,
    pub control: u64,
    pub conversions: u64,
    /// `reach.popup.offered` events.
    #[serde(default)]
    pub offered: u64,
    /// Persons per `properties.variant`.
    #[serde(default)]
    pub variants: BTreeMap<String, VariantStats>,
    /// Treatment variants pooled against the campaign's control variants pooled (`global_holdout` excluded);
    /// `None` when either side has no person.
    #[serde(default)]
    pub effect: Option<Effect>,
    /// Treatment variants pooled against the campaign's `global_holdout` arm; `None` when either is empty.
    #[serde(default)]
    pub effect_vs_global_holdout: Option<Effect>,
}

/// One variant of a campaign: its arm in persons.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VariantStats {
    /// Named by `reach.popup.control` events (or `global_holdout`): nobody is shown anything.
    pub control: bool,
    #[serde(flatten)]
    pub arm: ArmStats,
}

/// An arm's persons and revenue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArmStats {
    pub assigned: u64,
    pub exposed: u64,
    pub converted: u64,
    /// `converted / assigned`; `None` when nobody is assigned.
    pub conversion_rate: Option<f64>,
    /// Sum of the conversions' numeric `properties.value`.
    pub revenue: f64,
    /// `revenue / assigned`; `None` when nobody is assigned.
    pub revenue_per_person: Option<f64>,
}

impl From<Arm> for ArmStats {
    fn from(a: Arm) -> ArmStats {
        ArmStats {
            assigned: a.assigned,
            exposed: a.exposed,
            converted: a.converted,
            conversion_rate: a.conversion_rate(),
            revenue: a.value_sum,
            revenue_per_person: a.value_per_person(),
        }
    }
}

/// The top-level `global_holdout`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalHoldout {
    /// Persons assigned to a treatment arm of any campaign and never held out.
    pub treated: ArmStats,
    /// Persons with a `global_holdout` event.
    pub held_out: ArmStats,
    /// Treated against held out; `None` when either is empty.
    pub effect: Option<Effect>,
}

impl CampaignStats {
    fn slot(&mut self, field: &str) -> Option<&mut u64> {
        match field {
            "shown" => Some(&mut self.shown),
            "clicked" => Some(&mut self.clicked),
            "dismissed" => Some(&mut self.dismissed),
            "control" => Some(&mut self.control),
            "conversions" => Some(&mut self.conversions),
            "offered" => Some(&mut self.offered),
            _ => None,
        }
    }
}

/// Reads the current stats: the counters in one read transaction, so they agree with each other, then the
/// campaign events for the arms in a second one (events stored in between are in the arms only).
pub fn compute(store: &dyn Storage) -> Result<Stats, ServerError> {
    let names = CAMPAIGN_EVENTS.map(|(event, _)| event);
    let counts = store.counts(&names)?;
    let mut stats = Stats {
        events_refused: counts.refused,
        events_received: counts.received,
        events_stored: counts.stored,
        duplicates: counts.received.saturating_sub(counts.stored),
        batches: counts.batches,
        by_event: counts.by_event.into_iter().collect(),
        ..Stats::default()
    };
    for (campaign, name, n) in counts.by_campaign {
        let field = CAMPAIGN_EVENTS
            .iter()
            .find(|(event, _)| *event == name)
            .map(|(_, f)| *f);
        if let Some(slot) =
            field.and_then(|f| stats.by_campaign.entry(campaign).or_default().slot(f))
        {
            *slot = n;
        }
    }
    let arms = arms::compute(&store.campaign_events(&arms::EVENTS)?);
    for (campaign, a) in arms.campaigns {
        let line = stats.by_campaign.entry(campaign).or_default();
        line.variants = a
            .variants
            .into_iter()
            .map(|(name, v)| {
                let stats = VariantStats {
                    control: v.control,
                    arm: v.arm.into(),
                };
                (name, stats)
            })
            .collect();
        line.effect = a.effect;
        line.effect_vs_global_holdout = a.effect_vs_global_holdout;
    }
    stats.global_holdout = arms.global_holdout.map(|g| GlobalHoldout {
        treated: g.treated.into(),
        held_out: g.held_out.into(),
        effect: g.effect,
    });
    Ok(stats)
}

/// Checks `Authorization: Bearer TOKEN` against the server's admin token: stats describe every user's
/// behaviour, so only the operator reads them.
pub(crate) fn authorize_admin(
    token: &str,
    authorization: Option<&str>,
) -> Result<(), crate::error::ApiError> {
    let given = authorization
        .and_then(|h| h.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match given {
        None => Err(crate::error::ApiError::unauthorized(
            "this call needs the admin token: send Authorization: Bearer TOKEN (reach serve --admin-token)",
        )),
        // Compared in full whatever the first difference, so the answer's timing tells nothing.
        Some(t) if t.len() == token.len()
            && t.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0 =>
        {
            Ok(())
        }
        Some(_) => Err(crate::error::ApiError::unauthorized("wrong admin token")),
    }
}

/// A fresh admin token: 128 random bits in hex.
pub(crate) fn new_admin_token() -> Result<String, ServerError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| ServerError::Io(format!("no randomness from the OS: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch;
    use serde_json::json;

    #[test]
    fn campaign_events_are_counted_per_campaign_and_others_only_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let s = crate::store::open(&crate::store::Database::Sqlite, dir.path()).unwrap();
        let s = &*s;
        let ev = |id: &str, name: &str, campaign: &str| {
            json!({"type": "track", "event": name, "messageId": id, "timestamp": "t",
                   "properties": {"campaign_id": campaign}})
        };
        let body = json!({"batch": [
            ev("1", "reach.popup.shown", "c1"), ev("2", "reach.popup.shown", "c1"),
            ev("3", "reach.popup.clicked", "c1"), ev("4", "reach.conversion", "c2"),
            ev("5", "add_to_cart", "c1"), ev("5", "add_to_cart", "c1"),
            {"type": "screen", "name": "home", "messageId": "6", "timestamp": "t"},
            {"type": "track", "messageId": "7", "timestamp": "t"},
        ]});
        let body = body.to_string();
        let events = batch::decode(body.as_bytes()).unwrap();
        batch::store(s, &events).unwrap();
        let stats = compute(s).unwrap();
        assert_eq!(
            (
                stats.events_received,
                stats.events_stored,
                stats.duplicates,
                stats.batches
            ),
            (7, 6, 1, 1)
        );
        assert_eq!(stats.events_refused, 1);
        assert_eq!(stats.by_event["reach.popup.shown"], 2);
        assert_eq!(stats.by_event["add_to_cart"], 1);
        assert!(!stats.by_event.contains_key("home"));
        assert_eq!(
            stats.by_campaign["c1"],
            CampaignStats {
                shown: 2,
                clicked: 1,
                ..Default::default()
            }
        );
        assert_eq!(stats.by_campaign["c2"].conversions, 1);
    }
}
