//! Measuring a campaign (added in format 1.1): variants that split people into
//! arms, a holdout (control) arm that sees nothing, and a conversion goal with
//! its attribution window.
//!
//! Assignment to an arm is the engine's (a hash of the salt, the campaign id
//! and the person's id); this module only reads and checks the arms.

use super::duration::Duration;
use super::error::FieldError;
use super::names::{read_id, read_name};
use super::popup::{Popup, PopupContext};
use super::predicate::{Predicate, PropertyLookup};
use super::reader::Node;
use super::timing::read_filter;

/// Longest `salt`: it is hashed with each person's id, and any label
/// (`"spring-2026-rerun"`) is far shorter.
pub const MAX_SALT_CHARS: usize = 256;

/// Fewest arms: one arm is no experiment.
pub const MIN_ARMS: usize = 2;

/// Most arms. Each arm needs enough people to tell it from the others; an
/// app's traffic rarely supports more than a handful, and twenty is far past
/// that.
pub const MAX_ARMS: usize = 20;

/// Largest weight of an arm: weights in basis points (10,000 = 100 %) give a
/// 0.01 % resolution, and any sum of [`MAX_ARMS`] weights fits in `u32`.
pub const MAX_WEIGHT: u32 = 10_000;

/// Shortest attribution window: zero would attribute nothing.
pub const MIN_GOAL_WINDOW: Duration = Duration::from_secs(1);

/// Longest attribution window. Each open window is kept per person and
/// campaign; a conversion months after a popup is mostly coincidence.
pub const MAX_GOAL_WINDOW: Duration = Duration::from_days(90);

/// The variant a person in the pack's global holdout has in every campaign:
/// a control arm no campaign may name itself.
pub const GLOBAL_HOLDOUT_VARIANT: &str = "global_holdout";

/// The global holdout's salt when the pack gives none. Persons keep their
/// place across packs as long as the salt stays.
pub const DEFAULT_GLOBAL_HOLDOUT_SALT: &str = "global_holdout";

/// Largest share held out of every campaign. A holdout measures the
/// campaigns' overall lift from a minority; holding out more than half
/// would be turning the campaigns off.
pub const MAX_GLOBAL_HOLDOUT_PERCENT: f64 = 50.0;

/// A pack's global holdout: a stable share of persons held out of every
/// campaign (each exposure recorded as control), so the lift of all
/// campaigns together can be measured.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalHoldout {
    pub salt: String,
    /// The share held out, in basis points (10,000 = 100 %).
    pub basis_points: u32,
}

impl GlobalHoldout {
    /// `{"percent": 5, "salt": "holdout-2026"}`.
    pub(crate) fn read(node: Node) -> Result<GlobalHoldout, FieldError> {
        let object = node.object(&["percent", "salt"])?;
        let percent_node = object.required("percent")?;
        let basis_points = percent_node
            .as_f64()
            .filter(|p| *p > 0.0 && *p <= MAX_GLOBAL_HOLDOUT_PERCENT)
            .map(|p| (p * 100.0).round() as u32)
            .filter(|bp| *bp >= 1)
            .ok_or_else(|| {
                percent_node.error(format!(
                    "expected a percentage above 0 and at most {MAX_GLOBAL_HOLDOUT_PERCENT} (0.01 steps)"
                ))
            })?;
        let salt = object
            .optional("salt", |n| n.short_str(MAX_SALT_CHARS).map(str::to_owned))?
            .unwrap_or_else(|| DEFAULT_GLOBAL_HOLDOUT_SALT.to_owned());
        Ok(GlobalHoldout { salt, basis_points })
    }
}

/// A campaign's arms.
#[derive(Debug, Clone, PartialEq)]
pub struct Variants {
    /// Hash salt; defaults to the campaign id. Changing it reshuffles everyone.
    pub salt: String,
    pub arms: Vec<Variant>,
}

/// One arm of a campaign's variants.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub id: String,
    /// The arm's share is its weight over the sum of all weights.
    pub weight: u32,
    /// A control arm sees nothing (holdout).
    pub control: bool,
    /// This arm's popup instead of the campaign's; never on a control arm.
    pub popup: Option<Popup>,
}

impl Variants {
    /// Reads a campaign's `variants` with its `salt`, if any.
    pub(crate) fn read(
        node: Node,
        salt: Option<Node>,
        campaign_id: &str,
        popups: PopupContext,
    ) -> Result<Variants, FieldError> {
        let salt = match salt {
            Some(n) => n.short_str(MAX_SALT_CHARS)?.to_owned(),
            None => campaign_id.to_owned(),
        };
        let items = node.elements()?;
        if !(MIN_ARMS..=MAX_ARMS).contains(&items.len()) {
            return Err(node.error(format!(
                "give {MIN_ARMS} to {MAX_ARMS} variants, found {}",
                items.len()
            )));
        }
        let mut arms: Vec<Variant> = Vec::with_capacity(items.len());
        for item in items {
            let arm = read_variant(item, popups)?;
            if arms.iter().any(|a| a.id == arm.id) {
                let object = item.map()?;
                return Err(object
                    .required("id")?
                    .error(format!("duplicate variant id \"{}\"", arm.id)));
            }
            arms.push(arm);
        }
        if arms.iter().all(|a| a.weight == 0) {
            return Err(
                node.error("every weight is 0; at least one variant needs a weight above 0")
            );
        }
        Ok(Variants { salt, arms })
    }
}

fn read_variant(node: Node, popups: PopupContext) -> Result<Variant, FieldError> {
    let object = node.object(&["id", "weight", "control", "popup"])?;
    let id_node = object.required("id")?;
    let id = read_id(&id_node)?.to_owned();
    if id == GLOBAL_HOLDOUT_VARIANT {
        return Err(id_node.error(format!(
            "\"{GLOBAL_HOLDOUT_VARIANT}\" is the pack's global holdout; name the variant otherwise"
        )));
    }
    let weight_node = object.required("weight")?;
    let weight = weight_node
        .integer()
        .filter(|w| (0..=i64::from(MAX_WEIGHT)).contains(w))
        .ok_or_else(|| {
            weight_node.error(format!("expected a whole number from 0 to {MAX_WEIGHT}"))
        })? as u32;
    let control = object.optional("control", |n| n.bool())?.unwrap_or(false);
    let popup = match object.get("popup") {
        Some(p) if control => {
            return Err(p.error("a control arm shows nothing; remove its popup"));
        }
        Some(p) => Some(Popup::read(p, popups)?),
        None => None,
    };
    Ok(Variant {
        id,
        weight,
        control,
        popup,
    })
}

/// A campaign's conversion goal.
#[derive(Debug, Clone, PartialEq)]
pub struct Goal {
    pub event: String,
    pub filter: Option<Predicate>,
    /// The attribution window after an impression or a control exposure.
    pub within_ms: i64,
    /// The goal event's property that carries the conversion's value
    /// (revenue: `"amount"`); a numeric value of it goes into
    /// `reach.conversion` as `value`, which the server's stats sum.
    pub value: Option<String>,
}

impl Goal {
    /// Whether an event with these properties is a conversion (the name is
    /// assumed equal).
    pub fn matches<P: PropertyLookup + ?Sized>(&self, properties: &P) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(properties))
    }

    /// `{"event": "purchase", "where": [...], "within": "24h"}`.
    pub(crate) fn read(node: Node) -> Result<Goal, FieldError> {
        let object = node.object(&["event", "where", "within", "value"])?;
        let event = read_name(&object.required("event")?)?.to_owned();
        let filter = read_filter(&object)?;
        let within = Duration::read_within(
            &object.required("within")?,
            MIN_GOAL_WINDOW,
            MAX_GOAL_WINDOW,
            "an attribution window",
        )?;
        let value = object.optional("value", |n| read_name(&n).map(str::to_owned))?;
        Ok(Goal {
            event,
            filter,
            within_ms: within.as_millis(),
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use crate::value::Value;
    use serde_json::json;

    fn variants(v: serde_json::Value, salt: Option<&str>) -> Result<Variants, String> {
        let doc = Document::from(json!({"variants": v, "salt": salt}));
        let root = Node::root(&doc);
        let object = root.map().unwrap();
        let salt = salt.and(object.get("salt"));
        Variants::read(
            object.required("variants").unwrap(),
            salt,
            "vip-upsell",
            PopupContext::default(),
        )
        .map_err(|e| e.to_string())
    }

    fn goal(g: serde_json::Value) -> Result<Goal, String> {
        let doc = Document::from(json!({ "goal": g }));
        let root = Node::root(&doc);
        let object = root.map().unwrap();
        Goal::read(object.required("goal").unwrap()).map_err(|e| e.to_string())
    }

    fn holdout() -> serde_json::Value {
        json!([{"id": "treatment", "weight": 90}, {"id": "control", "weight": 10, "control": true}])
    }

    #[test]
    fn arms_default_to_treated_without_a_popup_of_their_own_and_salt_to_the_id() {
        let v = variants(holdout(), None).unwrap();
        assert_eq!(v.salt, "vip-upsell");
        assert_eq!(
            v.arms[0],
            Variant {
                id: "treatment".into(),
                weight: 90,
                control: false,
                popup: None
            }
        );
        assert!(v.arms[1].control);
        assert_eq!(
            variants(holdout(), Some("2026-11")).unwrap().salt,
            "2026-11"
        );
    }

    #[test]
    fn an_arm_may_show_its_own_popup() {
        let v = variants(
            json!([{"id": "a", "weight": 1},
                   {"id": "b", "weight": 1, "popup": {"template": "banner", "body": "B"}}]),
            None,
        )
        .unwrap();
        assert_eq!(v.arms[1].popup.as_ref().unwrap().template.name(), "banner");
    }

    #[test]
    fn variant_errors_name_the_arm() {
        assert_eq!(
            variants(json!([{"id": "a", "weight": 1}]), None).unwrap_err(),
            "variants: give 2 to 20 variants, found 1"
        );
        assert_eq!(
            variants(
                json!([{"id": "a", "weight": 1}, {"id": "a", "weight": 1}]),
                None
            )
            .unwrap_err(),
            "variants[1].id: duplicate variant id \"a\""
        );
        assert_eq!(
            variants(
                json!([{"id": "a", "weight": 0}, {"id": "b", "weight": 0}]),
                None
            )
            .unwrap_err(),
            "variants: every weight is 0; at least one variant needs a weight above 0"
        );
        for bad in [json!(-1), json!(10_001), json!(2.5), json!("50")] {
            assert_eq!(
                variants(
                    json!([{"id": "a", "weight": bad}, {"id": "b", "weight": 1}]),
                    None
                )
                .unwrap_err(),
                "variants[0].weight: expected a whole number from 0 to 10000"
            );
        }
        assert_eq!(
            variants(
                json!([{"id": "a", "weight": 1},
                       {"id": "c", "weight": 1, "control": true,
                        "popup": {"template": "banner", "body": "B"}}]),
                None
            )
            .unwrap_err(),
            "variants[1].popup: a control arm shows nothing; remove its popup"
        );
        assert_eq!(
            variants(json!([{"id": "a"}, {"id": "b", "weight": 1}]), None).unwrap_err(),
            "variants[0]: missing required key \"weight\""
        );
        assert!(variants(
            json!([{"id": "a b", "weight": 1}, {"id": "b", "weight": 1}]),
            None
        )
        .unwrap_err()
        .starts_with("variants[0].id: invalid id"));
        assert_eq!(
            variants(holdout(), Some(" ")).unwrap_err(),
            "salt: must not be empty"
        );
    }

    #[test]
    fn a_goal_has_an_event_conditions_and_a_window() {
        let g = goal(json!({"event": "purchase", "within": "24h",
                            "where": [{"prop": "amount", "op": "gt", "value": 0}]}))
        .unwrap();
        assert_eq!((g.event.as_str(), g.within_ms), ("purchase", 86_400_000));
        let amount = |a: i64| vec![("amount".to_string(), Value::Int(a))];
        assert!(g.matches(&amount(99)));
        assert!(!g.matches(&amount(0)));
        assert_eq!(
            goal(json!({"event": "purchase"})).unwrap_err(),
            "goal: missing required key \"within\""
        );
        assert_eq!(
            goal(json!({"event": "purchase", "within": "100d"})).unwrap_err(),
            "goal.within: an attribution window must be between 1s and 90d, found 100d"
        );
        assert_eq!(g.value, None);
        let g = goal(json!({"event": "purchase", "within": "1h", "value": "amount"})).unwrap();
        assert_eq!(g.value.as_deref(), Some("amount"));
        assert_eq!(
            goal(json!({"event": "purchase", "within": "1h", "value": ""})).unwrap_err(),
            "goal.value: must not be empty"
        );
    }

    fn global(h: serde_json::Value) -> Result<GlobalHoldout, String> {
        let doc = Document::from(json!({ "holdout": h }));
        let root = Node::root(&doc);
        let object = root.map().unwrap();
        GlobalHoldout::read(object.required("holdout").unwrap()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_global_holdout_is_a_share_up_to_half_with_a_default_salt() {
        assert_eq!(
            global(json!({"percent": 5})).unwrap(),
            GlobalHoldout {
                salt: DEFAULT_GLOBAL_HOLDOUT_SALT.into(),
                basis_points: 500
            }
        );
        assert_eq!(
            global(json!({"percent": 0.25, "salt": "h-2026"})).unwrap(),
            GlobalHoldout {
                salt: "h-2026".into(),
                basis_points: 25
            }
        );
        for bad in [json!(0), json!(50.5), json!("5"), json!(0.001)] {
            assert_eq!(
                global(json!({ "percent": bad })).unwrap_err(),
                "holdout.percent: expected a percentage above 0 and at most 50 (0.01 steps)"
            );
        }
        assert_eq!(
            global(json!({"percent": 5, "share": 1}))
                .unwrap_err()
                .split(':')
                .next(),
            Some("holdout")
        );
        assert!(variants(
            json!([{"id": "global_holdout", "weight": 1}, {"id": "b", "weight": 1}]),
            None
        )
        .unwrap_err()
        .starts_with("variants[0].id: \"global_holdout\" is the pack's global holdout"));
    }
}
