//! A campaign's arms, from its stored events: who was assigned to each variant, who saw the popup, who
//! converted and for how much, as the per-person counts `lift::effect` needs.
//!
//! Why persons, not events: a device resends, a person reaches the exposure point on several sessions and
//! converts more than once. The statistics assume independent persons (`lift.rs`), so every count here is of
//! distinct persons and revenue is summed per person before it is squared.
//!
//! Why in Rust, not SQL: both engines return the same rows (`Storage::campaign_events`) and this one function
//! gives both the same answer, with the person key and the value read exactly as described below.
//!
//! The rules (docs/protocol.md, `/v1/stats`):
//! - person: `userId` when a non-empty string, else `anonymousId` (a user and an anonymous id with equal text
//!   are different persons, as for segments); an event with neither, or without `properties.variant`, is in
//!   the counters only;
//! - a variant is a control arm when some `reach.popup.control` event of the campaign names it (and
//!   `global_holdout` always is);
//! - treatment arm: assigned = persons with `reach.popup.offered` or `reach.popup.shown` (shown without offered
//!   is an older device), exposed = persons with `shown`; control arm: assigned = persons with `control`,
//!   exposed = 0;
//! - converted = persons with a `reach.conversion` for the campaign and variant; such a person is assigned
//!   even without another event (nobody converts before assignment); `properties.value`, when a JSON number,
//!   is summed per person.
//!
//! The global holdout: persons held out of every campaign report `control` (and conversions) with the variant
//! `global_holdout`. Across campaigns, held-out persons (any `global_holdout` event) are compared with treated
//! persons (assigned to any treatment arm, never held out), counting any conversion of theirs.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::lift::{self, Arm, Effect};
use crate::store::CampaignEvent;

pub const OFFERED: &str = "reach.popup.offered";
pub const SHOWN: &str = "reach.popup.shown";
pub const CONTROL: &str = "reach.popup.control";
pub const CONVERSION: &str = "reach.conversion";
/// The events the arms are built from.
pub const EVENTS: [&str; 4] = [OFFERED, SHOWN, CONTROL, CONVERSION];
/// The variant of persons held out of every campaign.
pub const GLOBAL_HOLDOUT: &str = "global_holdout";

/// A person: `(true, userId)` or `(false, anonymousId)`.
type Person = (bool, String);

/// Persons behind one arm (or a pool of arms).
#[derive(Debug, Default, Clone)]
struct Pool {
    assigned: BTreeSet<Person>,
    exposed: BTreeSet<Person>,
    /// Converted persons and the sum of their values.
    converted: BTreeMap<Person, f64>,
}

impl Pool {
    /// Adds another arm's persons (a person in both is counted once, their values added).
    fn add(&mut self, other: &Pool) {
        self.assigned.extend(other.assigned.iter().cloned());
        self.exposed.extend(other.exposed.iter().cloned());
        for (p, v) in &other.converted {
            *self.converted.entry(p.clone()).or_default() += v;
        }
    }

    fn arm(&self) -> Arm {
        let (value_sum, value_sum_squares) = self
            .converted
            .values()
            .fold((0.0, 0.0), |(s, q), v| (s + v, q + v * v));
        Arm {
            assigned: self.assigned.len() as u64,
            exposed: self.exposed.len() as u64,
            converted: self.converted.len() as u64,
            value_sum,
            value_sum_squares,
        }
    }
}

/// The events of one `(campaign, variant)`, by kind.
#[derive(Debug, Default)]
struct Variant {
    offered_or_shown: BTreeSet<Person>,
    shown: BTreeSet<Person>,
    control: BTreeSet<Person>,
    converted: BTreeMap<Person, f64>,
    /// Named by a `control` event (or `global_holdout`).
    is_control: bool,
}

impl Variant {
    fn pool(&self) -> Pool {
        let mut assigned = if self.is_control {
            self.control.clone()
        } else {
            self.offered_or_shown.clone()
        };
        assigned.extend(self.converted.keys().cloned());
        Pool {
            assigned,
            exposed: if self.is_control {
                BTreeSet::new()
            } else {
                self.shown.clone()
            },
            converted: self.converted.clone(),
        }
    }
}

/// One variant's arm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VariantArm {
    pub control: bool,
    pub arm: Arm,
}

/// One campaign's arms and effects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CampaignArms {
    pub variants: BTreeMap<String, VariantArm>,
    /// Treatment variants pooled against the campaign's own control variants pooled (not `global_holdout`).
    pub effect: Option<Effect>,
    /// Treatment variants pooled against the campaign's `global_holdout` arm.
    pub effect_vs_global_holdout: Option<Effect>,
}

/// Treated persons against globally held-out ones, across campaigns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GlobalArms {
    pub treated: Arm,
    pub held_out: Arm,
    pub effect: Option<Effect>,
}

/// Everything `/v1/stats` reports about arms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Arms {
    pub campaigns: BTreeMap<String, CampaignArms>,
    /// `None` when no `global_holdout` event is stored.
    pub global_holdout: Option<GlobalArms>,
}

/// One event as the arms read it.
struct Read {
    person: Person,
    variant: String,
    value: Option<f64>,
}

fn read(body: &str) -> Option<Read> {
    let event: Value = serde_json::from_str(body).ok()?;
    let text = |v: &Value| match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let person = match event.get("userId") {
        Some(Value::String(u)) if !u.is_empty() => (true, u.clone()),
        _ => (false, text(event.get("anonymousId")?)?),
    };
    let properties = event.get("properties")?;
    Some(Read {
        person,
        variant: text(properties.get("variant")?)?,
        value: properties.get("value").and_then(Value::as_f64),
    })
}

/// Groups the stored campaign events into arms and computes each campaign's effects and the global holdout's.
pub fn compute(events: &[CampaignEvent]) -> Arms {
    let mut campaigns: BTreeMap<&str, BTreeMap<String, Variant>> = BTreeMap::new();
    for e in events {
        let Some(r) = read(&e.body) else { continue };
        let v = campaigns
            .entry(&e.campaign_id)
            .or_default()
            .entry(r.variant.clone())
            .or_default();
        v.is_control |= r.variant == GLOBAL_HOLDOUT;
        match e.name.as_str() {
            OFFERED => {
                v.offered_or_shown.insert(r.person);
            }
            SHOWN => {
                v.offered_or_shown.insert(r.person.clone());
                v.shown.insert(r.person);
            }
            CONTROL => {
                v.is_control = true;
                v.control.insert(r.person);
            }
            CONVERSION => *v.converted.entry(r.person).or_default() += r.value.unwrap_or(0.0),
            _ => {}
        }
    }
    let mut arms = Arms::default();
    let (mut treated, mut held_out) = (Pool::default(), Pool::default());
    let mut any_holdout = false;
    let mut all_conversions: BTreeMap<Person, f64> = BTreeMap::new();
    for (campaign, variants) in &campaigns {
        let (mut treatment, mut control, mut holdout) =
            (Pool::default(), Pool::default(), Pool::default());
        let mut out = CampaignArms::default();
        for (name, v) in variants {
            let pool = v.pool();
            for (p, value) in &pool.converted {
                *all_conversions.entry(p.clone()).or_default() += value;
            }
            if name == GLOBAL_HOLDOUT {
                any_holdout = true;
                holdout.add(&pool);
            } else if v.is_control {
                control.add(&pool);
            } else {
                treatment.add(&pool);
            }
            out.variants.insert(
                name.clone(),
                VariantArm {
                    control: v.is_control,
                    arm: pool.arm(),
                },
            );
        }
        let t = treatment.arm();
        out.effect = lift::effect(&t, &control.arm());
        out.effect_vs_global_holdout = lift::effect(&t, &holdout.arm());
        treated.add(&treatment);
        held_out.add(&holdout);
        arms.campaigns.insert(campaign.to_string(), out);
    }
    if any_holdout {
        // Any conversion of the person counts, whatever campaign it names.
        let only = |pool: &Pool| Pool {
            converted: all_conversions
                .iter()
                .filter(|(p, _)| pool.assigned.contains(*p))
                .map(|(p, v)| (p.clone(), *v))
                .collect(),
            ..pool.clone()
        };
        let treated = Pool {
            assigned: &treated.assigned - &held_out.assigned,
            exposed: &treated.exposed - &held_out.assigned,
            converted: BTreeMap::new(),
        };
        let (treated, held_out) = (only(&treated).arm(), only(&held_out).arm());
        arms.global_holdout = Some(GlobalArms {
            treated,
            held_out,
            effect: lift::effect(&treated, &held_out),
        });
    }
    arms
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Builds stored events the way the tests describe them.
    struct Events(Vec<CampaignEvent>);

    impl Events {
        fn add(&mut self, name: &str, campaign: &str, variant: &str, person: &str, value: Value) {
            // Persons named `a…` have only an anonymous id (and an empty userId, as some clients send).
            let who = if person.starts_with('a') {
                json!({"userId": "", "anonymousId": person})
            } else {
                json!({"userId": person, "anonymousId": "device"})
            };
            let mut body = json!({"type": "track", "event": name, "messageId": self.0.len().to_string(),
                "properties": {"campaign_id": campaign, "variant": variant, "offer_id": "o", "value": value}});
            body.as_object_mut()
                .unwrap()
                .extend(who.as_object().unwrap().clone());
            self.0.push(CampaignEvent {
                name: name.into(),
                campaign_id: campaign.into(),
                body: body.to_string(),
            });
        }
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    /// Treatment "A": persons t0..t39 (t20.. anonymous as a20..), offered t0..t35 (t0 twice), shown t10..t39
    /// (t36..t39 older devices: shown without offered): assigned 40, exposed 30. Converted t0..t11: t0 twice
    /// (10 + 15 = 25), t1 with a non-number value (0), t2..t11 20 each: value sum 225, squares 625 + 4,000.
    /// Control "ctl": control events c1..c39, conversions c0..c5 (c0 without a control event) of 5 each:
    /// assigned 40, converted 6, value sum 30, squares 150.
    fn scenario() -> Events {
        let mut e = Events(Vec::new());
        let t = |i: usize| {
            if i < 20 {
                format!("t{i}")
            } else {
                format!("a{i}")
            }
        };
        for i in 0..36 {
            e.add(OFFERED, "spring", "A", &t(i), Value::Null);
        }
        e.add(OFFERED, "spring", "A", &t(0), Value::Null);
        for i in 10..40 {
            e.add(SHOWN, "spring", "A", &t(i), Value::Null);
        }
        e.add(CONVERSION, "spring", "A", &t(0), json!(10));
        e.add(CONVERSION, "spring", "A", &t(0), json!(15.0));
        e.add(CONVERSION, "spring", "A", &t(1), json!("12"));
        for i in 2..12 {
            e.add(CONVERSION, "spring", "A", &t(i), json!(20));
        }
        for i in 1..40 {
            e.add(CONTROL, "spring", "ctl", &format!("c{i}"), Value::Null);
        }
        for i in 0..6 {
            e.add(CONVERSION, "spring", "ctl", &format!("c{i}"), json!(5));
        }
        e
    }

    #[test]
    fn arms_count_distinct_persons_and_the_effect_is_lifts() {
        let arms = compute(&scenario().0);
        let spring = &arms.campaigns["spring"];
        let treatment = Arm {
            assigned: 40,
            exposed: 30,
            converted: 12,
            value_sum: 225.0,
            value_sum_squares: 4_625.0,
        };
        let control = Arm {
            assigned: 40,
            exposed: 0,
            converted: 6,
            value_sum: 30.0,
            value_sum_squares: 150.0,
        };
        assert_eq!(
            spring.variants["A"],
            VariantArm {
                control: false,
                arm: treatment
            }
        );
        assert_eq!(
            spring.variants["ctl"],
            VariantArm {
                control: true,
                arm: control
            }
        );
        let effect = spring.effect.unwrap();
        assert_eq!(Some(effect), lift::effect(&treatment, &control));
        close(effect.absolute_lift.value, 12.0 / 40.0 - 6.0 / 40.0);
        close(effect.compliance, 0.75);
        close(
            effect.value_lift_per_person.value,
            225.0 / 40.0 - 30.0 / 40.0,
        );
        assert!(effect.absolute_lift.ci95_low.is_some(), "40 per arm");
        assert_eq!(spring.effect_vs_global_holdout, None);
        assert_eq!(arms.global_holdout, None);
    }

    #[test]
    fn the_global_holdout_is_compared_with_every_treated_person() {
        let mut e = scenario();
        // Held out: h0..h39 in spring, h0 also converting (8) and h1 (2) in autumn's holdout, h2 with only a
        // conversion (3). Autumn's treatment "B": t0 (again), u0 (converts 7), and h3, who is held out and so
        // not treated.
        for i in 0..40 {
            e.add(
                CONTROL,
                "spring",
                GLOBAL_HOLDOUT,
                &format!("h{i}"),
                Value::Null,
            );
        }
        e.add(CONVERSION, "autumn", GLOBAL_HOLDOUT, "h0", json!(8));
        e.add(CONVERSION, "autumn", GLOBAL_HOLDOUT, "h1", json!(2));
        e.add(CONVERSION, "spring", GLOBAL_HOLDOUT, "h2", json!(3));
        e.add(SHOWN, "autumn", "B", "t0", Value::Null);
        e.add(OFFERED, "autumn", "B", "u0", Value::Null);
        e.add(CONVERSION, "autumn", "B", "u0", json!(7));
        e.add(OFFERED, "autumn", "B", "h3", Value::Null);
        let arms = compute(&e.0);
        let spring = &arms.campaigns["spring"];
        let holdout = spring.variants[GLOBAL_HOLDOUT];
        assert!(holdout.control);
        assert_eq!(
            (
                holdout.arm.assigned,
                holdout.arm.converted,
                holdout.arm.value_sum
            ),
            (40, 1, 3.0)
        );
        // The campaign's own effect ignores the holdout; the other effect uses it.
        assert_eq!(
            spring.effect,
            compute(&scenario().0).campaigns["spring"].effect
        );
        assert_eq!(
            spring.effect_vs_global_holdout,
            lift::effect(&spring.variants["A"].arm, &holdout.arm)
        );
        let autumn = &arms.campaigns["autumn"];
        assert_eq!(autumn.variants["B"].arm.assigned, 3);
        assert_eq!(autumn.effect, None, "autumn has no own control");
        let g = arms.global_holdout.unwrap();
        // Treated: t0..t39 and u0 = 41; exposed t10..t39 and t0 (autumn) = 31; converted 12 + u0.
        assert_eq!(
            g.treated,
            Arm {
                assigned: 41,
                exposed: 31,
                converted: 13,
                value_sum: 232.0,
                value_sum_squares: 4_625.0 + 49.0,
            }
        );
        assert_eq!(
            g.held_out,
            Arm {
                assigned: 40,
                exposed: 0,
                converted: 3,
                value_sum: 13.0,
                value_sum_squares: 64.0 + 4.0 + 9.0,
            }
        );
        assert_eq!(g.effect, lift::effect(&g.treated, &g.held_out));
    }

    #[test]
    fn events_without_a_person_or_variant_are_not_in_the_arms() {
        let rows = [
            json!({"event": SHOWN, "properties": {"variant": "A"}}),
            json!({"event": SHOWN, "anonymousId": "x", "properties": {}}),
            json!({"event": SHOWN, "userId": "", "properties": {"variant": "A"}}),
        ]
        .map(|b| CampaignEvent {
            name: SHOWN.into(),
            campaign_id: "c".into(),
            body: b.to_string(),
        });
        assert_eq!(compute(&rows), Arms::default());
    }
}
