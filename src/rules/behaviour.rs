//! Conditions on what the person did before: how often an event happened in a
//! rolling window, the sum of a numeric property, when an event was first or
//! last seen, how many days ago.
//!
//! This module only says what is asked. The engine owns the counters (in the
//! store) and answers each measure with an [`Observation`]; the triggering event
//! itself is recorded before conditions are checked, so it counts (scenario
//! 02: "the current one included").

use std::cmp::Ordering;
use std::fmt;

use super::condition::{read_all, Condition, LeafReader};
use super::duration::Duration;
use super::error::FieldError;
use super::names::read_name;
use super::predicate::{read_where, Predicate};
use super::reader::Node;

/// Shortest window a count or sum may use: the counters' finest buckets are
/// one minute wide, so a shorter window could not be answered exactly.
pub const MIN_WINDOW: Duration = Duration::from_mins(1);

/// Longest window: one year (365 days). Counters keep a year of buckets; a
/// longer window would silently read as a year.
pub const MAX_WINDOW: Duration = Duration::from_days(365);

/// A tree of behaviour tests.
pub type Behaviour = Condition<BehaviourTest>;

/// One measure of past behaviour and what it must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub struct BehaviourTest {
    pub measure: Measure,
    pub check: Check,
}

/// What is measured.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    /// How many times `event` happened within the last `window` (and matched
    /// `filter`, when given).
    Count {
        event: String,
        filter: Option<Predicate>,
        window: Duration,
    },
    /// The sum of the numeric `property` over those events; events without it,
    /// or with a non-numeric value, add nothing.
    Sum {
        event: String,
        property: String,
        filter: Option<Predicate>,
        window: Duration,
    },
    /// Time elapsed since the first time `event` happened.
    FirstSeen { event: String },
    /// Time elapsed since the last time `event` happened.
    LastSeen { event: String },
    /// Calendar days in the device's local time since the last time `event`
    /// happened: 0 the same day, 1 the day after, whatever the hour.
    DaysSince { event: String },
}

/// The test applied to a measure.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// Count, sum or days against a number.
    Compare(Relation, f64),
    /// Elapsed time against a duration (first_seen, last_seen).
    Elapsed(Relation, Duration),
    /// The event happened at least once (first_seen, last_seen, days_since).
    Happened,
    /// The event never happened.
    NeverHappened,
}

/// `eq`, `ne`, `gt`, `gte`, `lt`, `lte`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Relation {
    /// Whether `measured.cmp(threshold)` giving `ordering` passes.
    pub fn accepts(self, ordering: Ordering) -> bool {
        use Ordering::*;
        matches!(
            (self, ordering),
            (Relation::Eq, Equal)
                | (Relation::Ne, Less | Greater)
                | (Relation::Gt, Greater)
                | (Relation::Gte, Greater | Equal)
                | (Relation::Lt, Less)
                | (Relation::Lte, Less | Equal)
        )
    }

    fn from_name(name: &str) -> Option<Relation> {
        Some(match name {
            "eq" => Relation::Eq,
            "ne" => Relation::Ne,
            "gt" => Relation::Gt,
            "gte" => Relation::Gte,
            "lt" => Relation::Lt,
            "lte" => Relation::Lte,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Relation::Eq => "eq",
            Relation::Ne => "ne",
            Relation::Gt => "gt",
            Relation::Gte => "gte",
            Relation::Lt => "lt",
            Relation::Lte => "lte",
        }
    }
}

/// The engine's answer for one [`Measure`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observation {
    /// For [`Measure::Count`].
    Count(u64),
    /// For [`Measure::Sum`].
    Sum(f64),
    /// For [`Measure::FirstSeen`] and [`Measure::LastSeen`]; `None` when the
    /// event never happened.
    Elapsed(Option<Duration>),
    /// For [`Measure::DaysSince`]; `None` when the event never happened.
    Days(Option<i64>),
}

impl BehaviourTest {
    /// Whether the observation passes. An event that never happened fails
    /// every comparison (it has no "days since"); only `not_exists` passes.
    /// An observation of another measure's kind fails.
    pub fn holds(&self, observation: Observation) -> bool {
        let fits = matches!(
            (&self.measure, observation),
            (Measure::Count { .. }, Observation::Count(_))
                | (Measure::Sum { .. }, Observation::Sum(_))
                | (
                    Measure::FirstSeen { .. } | Measure::LastSeen { .. },
                    Observation::Elapsed(_)
                )
                | (Measure::DaysSince { .. }, Observation::Days(_))
        );
        if !fits {
            return false;
        }
        let compare = |relation: Relation, measured: f64, threshold: f64| {
            measured
                .partial_cmp(&threshold)
                .is_some_and(|o| relation.accepts(o))
        };
        match (&self.check, observation) {
            (Check::Compare(r, t), Observation::Count(n)) => compare(*r, n as f64, *t),
            (Check::Compare(r, t), Observation::Sum(s)) => compare(*r, s, *t),
            (Check::Compare(r, t), Observation::Days(Some(d))) => compare(*r, d as f64, *t),
            (Check::Elapsed(r, t), Observation::Elapsed(Some(e))) => r.accepts(e.cmp(t)),
            (Check::Happened, Observation::Elapsed(Some(_)) | Observation::Days(Some(_))) => true,
            (Check::NeverHappened, Observation::Elapsed(None) | Observation::Days(None)) => true,
            _ => false,
        }
    }
}

impl Measure {
    /// The event this measure reads.
    pub fn event(&self) -> &str {
        match self {
            Measure::Count { event, .. }
            | Measure::Sum { event, .. }
            | Measure::FirstSeen { event }
            | Measure::LastSeen { event }
            | Measure::DaysSince { event } => event,
        }
    }

    /// The property filter, for counts and sums that have one.
    pub fn filter(&self) -> Option<&Predicate> {
        match self {
            Measure::Count { filter, .. } | Measure::Sum { filter, .. } => filter.as_ref(),
            _ => None,
        }
    }

    /// Names the series of events this measure reads, without the window:
    /// the event, its filter in canonical form and the summed property. Equal
    /// content gives an equal key, so counters keyed by it survive a pack
    /// update that keeps the condition.
    pub fn series_key(&self) -> String {
        let event = serde_json::Value::from(self.event());
        let filter = self
            .filter()
            .map(|f| format!(" where {f}"))
            .unwrap_or_default();
        match self {
            Measure::Sum { property, .. } => {
                format!(
                    "sum {} of {event}{filter}",
                    serde_json::Value::from(property.as_str())
                )
            }
            _ => format!("{event}{filter}"),
        }
    }
}

impl fmt::Display for BehaviourTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.measure {
            Measure::Count { window, .. } => {
                write!(f, "count {} within {window}", self.measure.series_key())?
            }
            Measure::Sum { window, .. } => {
                write!(f, "{} within {window}", self.measure.series_key())?
            }
            Measure::FirstSeen { .. } => write!(f, "first_seen {}", self.measure.series_key())?,
            Measure::LastSeen { .. } => write!(f, "last_seen {}", self.measure.series_key())?,
            Measure::DaysSince { .. } => write!(f, "days_since {}", self.measure.series_key())?,
        }
        match &self.check {
            Check::Compare(r, t) => write!(f, " {} {t}", r.name()),
            Check::Elapsed(r, d) => write!(f, " {} {d}", r.name()),
            Check::Happened => f.write_str(" exists"),
            Check::NeverHappened => f.write_str(" not_exists"),
        }
    }
}

const MEASURES: &[&str] = &["count", "sum", "first_seen", "last_seen", "days_since"];

/// Reads a `behaviour` list: conditions that must all hold.
pub(crate) fn read_behaviour(node: &Node) -> Result<Behaviour, FieldError> {
    let leaf = LeafReader {
        kinds: MEASURES,
        fields: &["prop", "where", "within", "op", "value"],
        read: &read_test,
    };
    read_all(node, &leaf)
}

fn read_test(node: Node) -> Result<BehaviourTest, FieldError> {
    let outline = node.map()?;
    let kind = *MEASURES
        .iter()
        .find(|k| outline.has(k))
        .expect("the tree reader only hands over leaves with a measure key");
    let allowed: &[&str] = match kind {
        "count" => &["count", "where", "within", "op", "value"],
        "sum" => &["sum", "prop", "where", "within", "op", "value"],
        _ => &[kind, "op", "value"],
    };
    let object = node.object(allowed)?;
    let event = read_name(&object.required(kind)?)?.to_owned();
    let window = || {
        Duration::read_within(
            &object.required("within")?,
            MIN_WINDOW,
            MAX_WINDOW,
            "a window",
        )
    };
    let filter = || object.optional("where", |n| read_where(&n));
    let measure = match kind {
        "count" => Measure::Count {
            event,
            filter: filter()?,
            window: window()?,
        },
        "sum" => Measure::Sum {
            event,
            property: read_name(&object.required("prop")?)?.to_owned(),
            filter: filter()?,
            window: window()?,
        },
        "first_seen" => Measure::FirstSeen { event },
        "last_seen" => Measure::LastSeen { event },
        _ => Measure::DaysSince { event },
    };

    let op_node = object.required("op")?;
    let op = op_node.str()?;
    let value = object.get("value");
    let ever_form = matches!(kind, "first_seen" | "last_seen" | "days_since");
    let check = match (op, value) {
        ("exists" | "not_exists", _) if !ever_form => {
            return Err(op_node.error(format!("\"{kind}\" takes eq, ne, gt, gte, lt or lte")))
        }
        ("exists" | "not_exists", Some(v)) => {
            return Err(v.error(format!("\"{op}\" takes no value")))
        }
        ("exists", None) => Check::Happened,
        ("not_exists", None) => Check::NeverHappened,
        (_, value) => {
            let relation = Relation::from_name(op)
                .ok_or_else(|| op_node.error(format!("unknown operator \"{op}\"")))?;
            let value =
                value.ok_or_else(|| object.node().error(format!("\"{op}\" needs a \"value\"")))?;
            match kind {
                "first_seen" | "last_seen" => {
                    if matches!(relation, Relation::Eq | Relation::Ne) {
                        return Err(op_node.error(
                            "elapsed time is compared with gt, gte, lt or lte (an exact second never matches)",
                        ));
                    }
                    Check::Elapsed(relation, Duration::read(&value)?)
                }
                "sum" => {
                    let n = value.as_f64().filter(|f| f.is_finite());
                    Check::Compare(relation, n.ok_or_else(|| value.error("expected a number"))?)
                }
                _ => {
                    let n = value.integer().filter(|n| *n >= 0);
                    let n = n.ok_or_else(|| value.error("expected a whole number ≥ 0"))?;
                    Check::Compare(relation, n as f64)
                }
            }
        }
    };
    Ok(BehaviourTest { measure, check })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use serde_json::json;

    fn parse(json: serde_json::Value) -> Result<Behaviour, String> {
        read_behaviour(&Node::root(&Document::from(json))).map_err(|e| e.to_string())
    }

    fn one(json: serde_json::Value) -> BehaviourTest {
        match parse(json!([json])).unwrap() {
            Condition::Leaf(t) => t,
            other => panic!("expected a leaf, got {other:?}"),
        }
    }

    #[test]
    fn login_streak_counts_within_seven_days() {
        let t = one(json!({"count": "login", "within": "7d", "op": "gte", "value": 3}));
        assert_eq!(
            t.measure,
            Measure::Count {
                event: "login".into(),
                filter: None,
                window: Duration::from_days(7)
            }
        );
        assert!(!t.holds(Observation::Count(2)));
        assert!(t.holds(Observation::Count(3)));
        assert!(
            !t.holds(Observation::Sum(3.0)),
            "a mismatched observation fails"
        );
    }

    #[test]
    fn sums_first_last_and_days_since() {
        let sum = one(json!({"sum": "purchase", "prop": "amount", "within": "30d",
                             "where": [{"prop": "currency", "op": "eq", "value": "CNY"}],
                             "op": "gte", "value": 499.5}));
        assert!(sum.holds(Observation::Sum(500.0)));
        assert!(!sum.holds(Observation::Sum(10.0)));
        assert_eq!(
            sum.measure.series_key(),
            "sum \"amount\" of \"purchase\" where \"currency\" eq \"CNY\""
        );
        let old_user = one(json!({"first_seen": "app_open", "op": "gte", "value": "30d"}));
        assert!(old_user.holds(Observation::Elapsed(Some(Duration::from_days(31)))));
        assert!(!old_user.holds(Observation::Elapsed(None)));
        let never_bought = one(json!({"last_seen": "purchase", "op": "not_exists"}));
        assert!(never_bought.holds(Observation::Elapsed(None)));
        assert!(!never_bought.holds(Observation::Elapsed(Some(Duration::ZERO))));
        let new_user = one(json!({"days_since": "register", "op": "lte", "value": 7}));
        assert!(new_user.holds(Observation::Days(Some(0))));
        assert!(!new_user.holds(Observation::Days(Some(8))));
        assert!(
            !new_user.holds(Observation::Days(None)),
            "never registered: no days since"
        );
        let registered = one(json!({"days_since": "register", "op": "exists"}));
        assert!(registered.holds(Observation::Days(Some(100))));
    }

    #[test]
    fn windows_run_from_a_minute_to_a_year() {
        assert!(parse(json!([{"count": "a", "within": "1m", "op": "gt", "value": 0}])).is_ok());
        assert!(parse(json!([{"count": "a", "within": "365d", "op": "gt", "value": 0}])).is_ok());
        assert_eq!(
            parse(json!([{"count": "a", "within": "366d", "op": "gt", "value": 0}])).unwrap_err(),
            "[0].within: a window must be between 1m and 365d, found 366d"
        );
        assert!(parse(json!([{"count": "a", "within": "30s", "op": "gt", "value": 0}])).is_err());
        assert!(
            parse(json!([{"count": "a", "within": 7, "op": "gt", "value": 0}]))
                .unwrap_err()
                .contains("not a bare number")
        );
    }

    #[test]
    fn malformed_behaviour_is_refused() {
        for (json, expected) in [
            (
                json!({"count": "a", "op": "gt", "value": 1}),
                "missing required key \"within\"",
            ),
            (
                json!({"count": "a", "within": "1d", "op": "exists"}),
                "takes eq, ne",
            ),
            (
                json!({"count": "a", "within": "1d", "op": "gt", "value": -1}),
                "whole number ≥ 0",
            ),
            (
                json!({"count": "a", "within": "1d", "op": "gt", "value": 1.5}),
                "whole number ≥ 0",
            ),
            (
                json!({"count": "a", "within": "1d", "op": "most", "value": 1}),
                "unknown operator \"most\"",
            ),
            (
                json!({"sum": "a", "within": "1d", "op": "gt", "value": 1}),
                "missing required key \"prop\"",
            ),
            (
                json!({"last_seen": "a", "op": "eq", "value": "1d"}),
                "gt, gte, lt or lte",
            ),
            (
                json!({"last_seen": "a", "op": "gt", "value": 3}),
                "not a bare number",
            ),
            (
                json!({"first_seen": "a", "within": "1d", "op": "exists"}),
                "unknown key \"within\"",
            ),
            (
                json!({"count": "a", "sum": "b", "within": "1d", "op": "gt", "value": 1}),
                "unknown key \"sum\"",
            ),
            (
                json!({"streak": "login", "op": "gte", "value": 3}),
                "unknown condition \"streak\"",
            ),
        ] {
            let e = parse(json!([json.clone()])).unwrap_err();
            assert!(e.contains(expected), "{json}: {e}");
        }
    }
}
