//! A campaign: what triggers it, who may see it, when, how often, and what it
//! shows.
//!
//! A campaign may set `min_sdk`. On an older SDK it is inactive, and only its
//! `id` and `min_sdk` are read: the rest may use fields from a later format
//! version, which this SDK could not judge. Everything else is checked in full.
//!
//! Format 1.1 added `delay` and `cancel_on`, sequence triggers and `replay`
//! (see [`super::timing`]), `variants`, `salt` and `goal` (see
//! [`super::experiment`]), and `inventory` (see [`super::inventory`]).

use super::audience::Audience;
use super::behaviour::{read_behaviour, Behaviour};
use super::error::FieldError;
use super::frequency::Frequency;
use super::names::{read_id, read_name};
use super::notification::{read_channels, LocalNotification};
use super::popup::{Popup, PopupContext};
use super::predicate::{Predicate, PropertyLookup};
use super::reader::Node;
use super::schedule::Schedule;
use super::timing::{read_filter, read_replay, read_sequence, DEFAULT_REPLAY};
use super::version::Version;

pub use super::experiment::{Goal, Variant, Variants};
pub use super::inventory::{Inventory, OfflinePolicy};
pub use super::timing::{Delay, EventMatch, SequenceStep};

/// One campaign of a pack.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    pub id: String,
    /// Higher wins when several campaigns are eligible for one event; equal
    /// priorities go to the one listed first.
    pub priority: i32,
    pub min_sdk: Option<Version>,
    /// A disabled campaign keeps its state (caps, counters) but never fires.
    pub enabled: bool,
    pub trigger: Trigger,
    pub audience: Audience,
    /// Conditions on past behaviour; `None` asks nothing.
    pub behaviour: Option<Behaviour>,
    pub schedule: Schedule,
    pub frequency: Frequency,
    pub popup: Popup,
    /// Show this long after the trigger instead of at once; `None`: at once.
    pub delay: Option<Delay>,
    /// A/B arms and holdout; `None`: everyone gets `popup`.
    pub variants: Option<Variants>,
    /// Conversion goal with its attribution window.
    pub goal: Option<Goal>,
    /// The popup needs a prize claimed from the server's stock first.
    pub inventory: Option<Inventory>,
    /// How far back events are replayed to this campaign when it arrives in a
    /// new pack; 0 = off. Default 30 s.
    pub replay_ms: i64,
    /// The OS notification sent instead of the delayed popup when the app
    /// is in the background at its due time; `None`: in-app only.
    pub notification: Option<LocalNotification>,
}

/// The event that triggers a campaign, with conditions on its properties; or
/// (format 1.1) a sequence of such events in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// The triggering event; for a sequence, the last step's event.
    pub event: String,
    /// `None` when any occurrence of the event triggers; for a sequence, the
    /// last step's filter.
    pub filter: Option<Predicate>,
    /// All steps of a sequence trigger in order (>= 2); empty for a plain
    /// event trigger.
    pub sequence: Vec<SequenceStep>,
}

impl Trigger {
    /// Whether an event with these properties triggers (the name is assumed
    /// to match: the pack's index already chose by name). For a sequence this
    /// tests the last step only; the engine tracks the steps before it.
    pub fn matches<P: PropertyLookup + ?Sized>(&self, properties: &P) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(properties))
    }

    /// Whether the trigger is a sequence of events rather than one event.
    pub fn is_sequence(&self) -> bool {
        !self.sequence.is_empty()
    }

    /// `{"event": NAME, "where": [...]}` or `{"sequence": [STEP, ...]}`.
    fn read(node: Node) -> Result<Trigger, FieldError> {
        let object = node.object(&["event", "where", "sequence"])?;
        match (object.get("event"), object.get("sequence")) {
            (Some(_), Some(_)) => Err(node.error("give \"event\" or \"sequence\", not both")),
            (None, None) => Err(node.error(
                "missing required key \"event\" (or \"sequence\", for several events in order)",
            )),
            (Some(event), None) => Ok(Trigger {
                event: read_name(&event)?.to_owned(),
                filter: read_filter(&object)?,
                sequence: Vec::new(),
            }),
            (None, Some(sequence)) => {
                if let Some(filter) = object.get("where") {
                    // Which step would it apply to? Saying so is the author's job.
                    return Err(filter.error(
                        "a sequence takes its conditions on its steps; move \"where\" into the step it is about",
                    ));
                }
                let steps = read_sequence(&sequence)?;
                let last = steps.last().expect("a sequence has at least two steps");
                Ok(Trigger {
                    event: last.event.clone(),
                    filter: last.filter.clone(),
                    sequence: steps,
                })
            }
        }
    }

    /// The distinct event names that advance or complete this trigger, in
    /// step order.
    pub(crate) fn event_names(&self) -> Vec<&str> {
        if self.sequence.is_empty() {
            return vec![self.event.as_str()];
        }
        let mut names: Vec<&str> = Vec::with_capacity(self.sequence.len());
        for step in &self.sequence {
            if !names.contains(&step.event.as_str()) {
                names.push(&step.event);
            }
        }
        names
    }
}

/// A campaign set aside because it needs a newer SDK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InactiveCampaign {
    pub id: String,
    pub min_sdk: Version,
}

/// What reading one campaign gives.
#[derive(Debug)]
pub(crate) enum CampaignEntry {
    Active(Box<Campaign>),
    NeedsNewerSdk(InactiveCampaign),
}

const CAMPAIGN_KEYS: [&str; 19] = [
    "id",
    "priority",
    "min_sdk",
    "enabled",
    "trigger",
    "audience",
    "behaviour",
    "schedule",
    "frequency",
    "popup",
    // Added in format 1.1.
    "delay",
    "cancel_on",
    "variants",
    "salt",
    "goal",
    "inventory",
    "replay",
    // Issue 14: the local-notification fallback.
    "channels",
    "notification",
];

/// Reads a campaign for an SDK of version `sdk`.
pub(crate) fn read_campaign(
    node: Node,
    sdk: &Version,
    popups: PopupContext,
) -> Result<CampaignEntry, FieldError> {
    let outline = node.map()?;
    let id = read_id(&outline.required("id")?)?.to_owned();
    let min_sdk = outline.optional("min_sdk", |n| Version::read(&n))?;
    if let Some(min_sdk) = min_sdk.as_ref().filter(|m| *m > sdk) {
        return Ok(CampaignEntry::NeedsNewerSdk(InactiveCampaign {
            id,
            min_sdk: min_sdk.clone(),
        }));
    }
    let object = node.object(&CAMPAIGN_KEYS)?;
    let priority = object
        .optional("priority", |n| {
            n.integer()
                .and_then(|p| i32::try_from(p).ok())
                .ok_or_else(|| n.error("expected a whole number (a 32-bit integer)"))
        })?
        .unwrap_or(0);
    let enabled = object.optional("enabled", |n| n.bool())?.unwrap_or(true);
    let trigger = Trigger::read(object.required("trigger")?)?;
    let audience = object
        .optional("audience", Audience::read)?
        .unwrap_or_default();
    let behaviour = object
        .optional("behaviour", |n| read_behaviour(&n))?
        .filter(|b| !b.is_always_true());
    let schedule = object
        .optional("schedule", Schedule::read)?
        .unwrap_or_default();
    let frequency = object
        .optional("frequency", Frequency::read)?
        .unwrap_or_default();
    let popup = Popup::read(object.required("popup")?, popups)?;
    let delay = match (object.get("delay"), object.get("cancel_on")) {
        (Some(delay), cancel_on) => Some(Delay::read(delay, cancel_on)?),
        (None, Some(cancel_on)) => {
            return Err(cancel_on.error("needs \"delay\": only a pending delay can be cancelled"))
        }
        (None, None) => None,
    };
    let variants = match (object.get("variants"), object.get("salt")) {
        (Some(variants), salt) => Some(Variants::read(variants, salt, &id, popups)?),
        (None, Some(salt)) => {
            return Err(
                salt.error("needs \"variants\": the salt only decides who gets which variant")
            )
        }
        (None, None) => None,
    };
    let goal = object.optional("goal", Goal::read)?;
    let inventory = object.optional("inventory", |n| Inventory::read(n, popups))?;
    let replay_ms = object
        .optional("replay", |n| read_replay(&n))?
        .unwrap_or(DEFAULT_REPLAY.as_millis());
    let notification = read_channels(&object, delay.is_some(), popups.default_locale)?;
    Ok(CampaignEntry::Active(Box::new(Campaign {
        id,
        priority,
        min_sdk,
        enabled,
        trigger,
        audience,
        behaviour,
        schedule,
        frequency,
        popup,
        delay,
        variants,
        goal,
        inventory,
        replay_ms,
        notification,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use crate::value::Value;
    use serde_json::json;

    fn read(json: serde_json::Value, sdk: &str) -> Result<CampaignEntry, String> {
        read_campaign(
            Node::root(&Document::from(json)),
            &Version::parse(sdk).unwrap(),
            PopupContext::default(),
        )
        .map_err(|e| e.to_string())
    }

    fn minimal() -> serde_json::Value {
        json!({"id": "c", "trigger": {"event": "app_open"},
               "popup": {"template": "modal", "title": "Hi"}})
    }

    #[test]
    fn a_minimal_campaign_gets_defaults() {
        let CampaignEntry::Active(c) = read(minimal(), "0.1.0").unwrap() else {
            panic!()
        };
        assert_eq!((c.priority, c.enabled), (0, true));
        assert_eq!(c.audience, Audience::default());
        assert_eq!(c.trigger.filter, None);
        assert!(c.trigger.matches(&Vec::<(String, Value)>::new()));
    }

    #[test]
    fn a_campaign_for_a_newer_sdk_is_set_aside_unread() {
        let mut future = minimal();
        future["min_sdk"] = json!("2.0.0");
        future["journey"] = json!({"steps": 3});
        future["popup"] = json!({"template": "carousel"});
        let CampaignEntry::NeedsNewerSdk(c) = read(future.clone(), "0.1.0").unwrap() else {
            panic!()
        };
        assert_eq!(c.min_sdk, Version::new(2, 0, 0));
        // On a new enough SDK it is read in full, and this one is refused.
        assert!(read(future, "2.0.0")
            .unwrap_err()
            .starts_with("unknown key \"journey\""));
    }

    #[test]
    fn min_sdk_is_still_checked_when_set_aside() {
        let mut c = minimal();
        c["min_sdk"] = json!("2.0");
        assert!(read(c, "0.1.0")
            .unwrap_err()
            .starts_with("min_sdk: invalid version"));
    }

    #[test]
    fn unknown_trigger_kinds_and_campaign_keys_are_errors() {
        let mut c = minimal();
        c["trigger"] = json!({"screen": "home"});
        assert_eq!(
            read(c, "0.1.0").unwrap_err(),
            "trigger: unknown key \"screen\" (expected one of: event, where, sequence)"
        );
        let mut c = minimal();
        c["audiance"] = json!({});
        assert!(read(c, "0.1.0")
            .unwrap_err()
            .contains("unknown key \"audiance\""));
        let mut c = minimal();
        c["priority"] = json!(1.5);
        assert!(read(c, "0.1.0").unwrap_err().starts_with("priority:"));
    }

    fn active(json: serde_json::Value) -> Campaign {
        match read(json, "0.1.0").unwrap() {
            CampaignEntry::Active(c) => *c,
            CampaignEntry::NeedsNewerSdk(_) => panic!("set aside"),
        }
    }

    fn with(key: &str, value: serde_json::Value) -> serde_json::Value {
        let mut c = minimal();
        c[key] = value;
        c
    }

    #[test]
    fn format_1_1_fields_default_to_off_and_replay_to_thirty_seconds() {
        let c = active(minimal());
        assert_eq!(
            (&c.delay, &c.variants, &c.goal, &c.inventory),
            (&None, &None, &None, &None)
        );
        assert_eq!(c.replay_ms, 30_000);
        assert!(c.trigger.sequence.is_empty() && !c.trigger.is_sequence());
        assert_eq!(active(with("replay", json!(false))).replay_ms, 0);
        assert_eq!(active(with("replay", json!("2m"))).replay_ms, 120_000);
    }

    #[test]
    fn a_sequence_trigger_names_its_last_step_as_the_event() {
        let c = active(with(
            "trigger",
            json!({"sequence": [
                {"event": "view_item"},
                {"event": "add_to_cart", "within": "10m"},
                {"event": "checkout", "within": "1h",
                 "where": [{"prop": "total", "op": "gt", "value": 0}]},
                {"event": "view_item", "within": "1h"},
                {"event": "checkout", "within": "1h",
                 "where": [{"prop": "total", "op": "gt", "value": 100}]}
            ]}),
        ));
        assert!(c.trigger.is_sequence());
        assert_eq!(c.trigger.event, "checkout");
        assert_eq!(c.trigger.filter, c.trigger.sequence[4].filter);
        assert_eq!(
            c.trigger.event_names(),
            ["view_item", "add_to_cart", "checkout"]
        );
        let total = |t: i64| vec![("total".to_string(), Value::Int(t))];
        assert!(c.trigger.matches(&total(101)));
        assert!(!c.trigger.matches(&total(50)));
    }

    #[test]
    fn a_trigger_is_one_event_or_a_sequence() {
        let steps = json!([{"event": "a"}, {"event": "b", "within": "1m"}]);
        assert_eq!(
            read(
                with("trigger", json!({"event": "a", "sequence": steps})),
                "0.1.0"
            )
            .unwrap_err(),
            "trigger: give \"event\" or \"sequence\", not both"
        );
        assert_eq!(
            read(with("trigger", json!({})), "0.1.0").unwrap_err(),
            "trigger: missing required key \"event\" (or \"sequence\", for several events in order)"
        );
        assert_eq!(
            read(
                with(
                    "trigger",
                    json!({"sequence": steps, "where": [{"prop": "x", "op": "exists"}]})
                ),
                "0.1.0"
            )
            .unwrap_err(),
            "trigger.where: a sequence takes its conditions on its steps; move \"where\" into the step it is about"
        );
    }

    #[test]
    fn a_delay_with_what_cancels_it() {
        let mut c = with("delay", json!({"after": "30m"}));
        c["cancel_on"] = json!([{"event": "purchase"}]);
        let c = active(c);
        let delay = c.delay.unwrap();
        assert_eq!(
            (delay.after_ms, delay.expire_after_ms),
            (1_800_000, 86_400_000)
        );
        assert_eq!(delay.cancel_on[0].event, "purchase");
        assert_eq!(
            read(with("cancel_on", json!([{"event": "purchase"}])), "0.1.0").unwrap_err(),
            "cancel_on: needs \"delay\": only a pending delay can be cancelled"
        );
    }

    #[test]
    fn variants_salt_goal_and_inventory() {
        let mut c = with(
            "variants",
            json!([{"id": "treatment", "weight": 90},
                   {"id": "control", "weight": 10, "control": true}]),
        );
        c["goal"] = json!({"event": "purchase", "within": "24h"});
        c["inventory"] = json!({"offline": "show_unclaimed"});
        let c = active(c);
        let variants = c.variants.unwrap();
        assert_eq!(variants.salt, "c");
        assert_eq!(variants.arms.len(), 2);
        assert_eq!(c.goal.unwrap().within_ms, 86_400_000);
        assert_eq!(c.inventory.unwrap().offline, OfflinePolicy::ShowUnclaimed);
        assert_eq!(
            read(with("salt", json!("2026-11")), "0.1.0").unwrap_err(),
            "salt: needs \"variants\": the salt only decides who gets which variant"
        );
    }
}
