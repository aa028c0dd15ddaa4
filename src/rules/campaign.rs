//! A campaign: what triggers it, who may see it, when, how often, and what it
//! shows.
//!
//! A campaign may set `min_sdk`. On an older SDK it is inactive, and only its
//! `id` and `min_sdk` are read: the rest may use fields from a later format
//! version, which this SDK could not judge. Everything else is checked in full.

use super::audience::Audience;
use super::behaviour::{read_behaviour, Behaviour};
use super::error::FieldError;
use super::frequency::Frequency;
use super::locale::Locale;
use super::names::{read_id, read_name};
use super::popup::Popup;
use super::predicate::{read_where, Predicate, PropertyLookup};
use super::reader::Node;
use super::schedule::Schedule;
use super::version::Version;

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
}

/// The event that triggers a campaign, with conditions on its properties.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub event: String,
    /// `None` when any occurrence of the event triggers.
    pub filter: Option<Predicate>,
}

impl Trigger {
    /// Whether an event with these properties triggers (the name is assumed
    /// to match: the pack's index already chose by name).
    pub fn matches<P: PropertyLookup + ?Sized>(&self, properties: &P) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(properties))
    }

    fn read(node: Node) -> Result<Trigger, FieldError> {
        let object = node.object(&["event", "where"])?;
        Ok(Trigger {
            event: read_name(&object.required("event")?)?.to_owned(),
            filter: object
                .optional("where", |n| read_where(&n))?
                .filter(|p| !p.is_always_true()),
        })
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

const CAMPAIGN_KEYS: [&str; 10] = [
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
];

/// Reads a campaign for an SDK of version `sdk`.
pub(crate) fn read_campaign(
    node: Node,
    sdk: &Version,
    default_locale: Option<&Locale>,
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
    Ok(CampaignEntry::Active(Box::new(Campaign {
        id,
        priority,
        min_sdk,
        enabled: object.optional("enabled", |n| n.bool())?.unwrap_or(true),
        trigger: Trigger::read(object.required("trigger")?)?,
        audience: object
            .optional("audience", Audience::read)?
            .unwrap_or_default(),
        behaviour: object
            .optional("behaviour", |n| read_behaviour(&n))?
            .filter(|b| !b.is_always_true()),
        schedule: object
            .optional("schedule", Schedule::read)?
            .unwrap_or_default(),
        frequency: object
            .optional("frequency", Frequency::read)?
            .unwrap_or_default(),
        popup: Popup::read(object.required("popup")?, default_locale)?,
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
            None,
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
        future["delay"] = json!({"after": "30m"});
        future["popup"] = json!({"template": "carousel"});
        let CampaignEntry::NeedsNewerSdk(c) = read(future.clone(), "0.1.0").unwrap() else {
            panic!()
        };
        assert_eq!(c.min_sdk, Version::new(2, 0, 0));
        // On a new enough SDK it is read in full, and this one is refused.
        assert!(read(future, "2.0.0")
            .unwrap_err()
            .contains("later format version"));
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
            "trigger: unknown key \"screen\" (expected one of: event, where)"
        );
        let mut c = minimal();
        c["trigger"] = json!({"event": "a", "sequence": []});
        assert!(read(c, "0.1.0")
            .unwrap_err()
            .contains("later format version"));
        let mut c = minimal();
        c["audiance"] = json!({});
        assert!(read(c, "0.1.0")
            .unwrap_err()
            .contains("unknown key \"audiance\""));
        let mut c = minimal();
        c["priority"] = json!(1.5);
        assert!(read(c, "0.1.0").unwrap_err().starts_with("priority:"));
    }
}
