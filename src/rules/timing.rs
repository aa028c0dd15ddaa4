//! When a campaign fires, beyond "at once, on one event" (added in format
//! 1.1): a delay before the popup (with events that cancel it), a trigger made
//! of several events in order, and the replay of recent events to a campaign
//! that arrives in a new pack.
//!
//! This module only reads and states the rules; the engine keeps the pending
//! delays and the sequences' progress, durably, and applies them.

use super::duration::Duration;
use super::error::FieldError;
use super::names::read_name;
use super::predicate::{read_where, Predicate, PropertyLookup};
use super::reader::{Node, Object, Shape};

/// Shortest delay. A zero delay is no delay: leave `delay` out.
pub const MIN_DELAY: Duration = Duration::from_secs(1);

/// Longest delay, and longest `expire_after`. Each pending popup is a durable
/// record per person; a month is past any reminder's relevance, and the bound
/// keeps such records from piling up for good.
pub const MAX_DELAY: Duration = Duration::from_days(30);

/// How long a pending popup may wait, once due, for a moment to be shown (the
/// app in the foreground, no quiet hours, no other popup) before it is dropped.
/// A day covers a night's quiet hours and an app not opened until tomorrow.
pub const DEFAULT_EXPIRE_AFTER: Duration = Duration::from_hours(24);

/// Shortest `expire_after`: zero would drop a popup that is due while the app
/// is busy for a moment, which is never what an operator means.
pub const MIN_EXPIRE_AFTER: Duration = Duration::from_secs(1);

/// Most `cancel_on` entries. Each is indexed by its event name; more belong
/// in one broader app event.
pub const MAX_CANCEL_ON: usize = 20;

/// Fewest steps of a sequence: one step is a plain event trigger.
pub const MIN_SEQUENCE_STEPS: usize = 2;

/// Most steps of a sequence. Progress is kept per person and campaign; funnels
/// written by hand rarely pass five steps.
pub const MAX_SEQUENCE_STEPS: usize = 10;

/// Shortest time limit of a step: zero would require two events at the same
/// millisecond.
pub const MIN_STEP_WITHIN: Duration = Duration::from_secs(1);

/// Longest time limit of a step: a sequence's progress is kept at most this
/// long after its last step.
pub const MAX_STEP_WITHIN: Duration = Duration::from_days(30);

/// How far back events are replayed, by default, to a campaign that first
/// appears in a newly loaded pack: enough for an event that raced the pack's
/// arrival (the pack is fetched at start, while the app already tracks).
pub const DEFAULT_REPLAY: Duration = Duration::from_secs(30);

/// Longest replay. Replay covers a race, not a backfill: a campaign added
/// today must not fire for what the person did an hour ago.
pub const MAX_REPLAY: Duration = Duration::from_mins(10);

/// An event (with optional property conditions) that something listens for:
/// a `cancel_on` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct EventMatch {
    pub event: String,
    /// `None` when any occurrence of the event matches.
    pub filter: Option<Predicate>,
}

impl EventMatch {
    /// Whether an event with these properties matches (the name is assumed
    /// equal: the index already chose by name).
    pub fn matches<P: PropertyLookup + ?Sized>(&self, properties: &P) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(properties))
    }

    /// `{"event": NAME, "where": [...]}`.
    pub(crate) fn read(node: Node) -> Result<EventMatch, FieldError> {
        let object = node.object(&["event", "where"])?;
        Ok(EventMatch {
            event: read_name(&object.required("event")?)?.to_owned(),
            filter: read_filter(&object)?,
        })
    }
}

/// An optional `where`, `None` when it asks nothing.
pub(crate) fn read_filter(object: &Object) -> Result<Option<Predicate>, FieldError> {
    Ok(object
        .optional("where", |n| read_where(&n))?
        .filter(|p| !p.is_always_true()))
}

/// A campaign's `delay` (with its campaign-level `cancel_on`).
#[derive(Debug, Clone, PartialEq)]
pub struct Delay {
    pub after_ms: i64,
    /// A pending popup not shown within this long after it became due is
    /// dropped. Default 24 h.
    pub expire_after_ms: i64,
    /// Events that cancel a pending delay (campaign-level key `cancel_on`).
    pub cancel_on: Vec<EventMatch>,
}

impl Delay {
    /// `{"after": "30m", "expire_after": "24h"}`, with the campaign's
    /// `cancel_on` when it has one.
    pub(crate) fn read(node: Node, cancel_on: Option<Node>) -> Result<Delay, FieldError> {
        let object = node.object(&["after", "expire_after"])?;
        let after =
            Duration::read_within(&object.required("after")?, MIN_DELAY, MAX_DELAY, "a delay")?;
        let expire_after = object
            .optional("expire_after", |n| {
                Duration::read_within(&n, MIN_EXPIRE_AFTER, MAX_DELAY, "\"expire_after\"")
            })?
            .unwrap_or(DEFAULT_EXPIRE_AFTER);
        Ok(Delay {
            after_ms: after.as_millis(),
            expire_after_ms: expire_after.as_millis(),
            cancel_on: cancel_on
                .map(|n| read_cancel_on(&n))
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

/// `[{"event": "purchase", "where": [...]}, …]`: 1 to [`MAX_CANCEL_ON`].
fn read_cancel_on(node: &Node) -> Result<Vec<EventMatch>, FieldError> {
    let items = node.non_empty_elements()?;
    if items.len() > MAX_CANCEL_ON {
        return Err(node.error(format!("at most {MAX_CANCEL_ON} events")));
    }
    items.map(EventMatch::read).collect()
}

/// One step of a sequence trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceStep {
    pub event: String,
    pub filter: Option<Predicate>,
    /// Time limit since the previous step; `None` only for the first step.
    pub within_ms: Option<i64>,
}

impl SequenceStep {
    /// Whether an event with these properties fulfils the step (the name is
    /// assumed equal).
    pub fn matches<P: PropertyLookup + ?Sized>(&self, properties: &P) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(properties))
    }
}

/// A trigger's `sequence`: [`MIN_SEQUENCE_STEPS`] to [`MAX_SEQUENCE_STEPS`]
/// steps; the first without `within`, every later one with it.
pub(crate) fn read_sequence(node: &Node) -> Result<Vec<SequenceStep>, FieldError> {
    let items = node.elements()?;
    if !(MIN_SEQUENCE_STEPS..=MAX_SEQUENCE_STEPS).contains(&items.len()) {
        return Err(node.error(format!(
            "a sequence has {MIN_SEQUENCE_STEPS} to {MAX_SEQUENCE_STEPS} steps, found {} \
             (for one event, write \"event\" instead)",
            items.len()
        )));
    }
    let mut steps = Vec::with_capacity(items.len());
    for (i, item) in items.enumerate() {
        let object = item.object(&["event", "where", "within"])?;
        let event = read_name(&object.required("event")?)?.to_owned();
        let filter = read_filter(&object)?;
        let within = object.get("within");
        let within_ms = match (i, within) {
            (0, None) => None,
            (0, Some(w)) => {
                return Err(w.error(
                    "the first step has no \"within\": a step's time limit counts from the step before it",
                ))
            }
            (_, None) => {
                return Err(item.error(
                    "missing required key \"within\" (the time allowed since the previous step)",
                ))
            }
            (_, Some(w)) => Some(
                Duration::read_within(&w, MIN_STEP_WITHIN, MAX_STEP_WITHIN, "a step's \"within\"")?
                    .as_millis(),
            ),
        };
        steps.push(SequenceStep {
            event,
            filter,
            within_ms,
        });
    }
    Ok(steps)
}

/// A campaign's `replay` in milliseconds: a duration up to [`MAX_REPLAY`], or
/// `false` for none (0).
pub(crate) fn read_replay(node: &Node) -> Result<i64, FieldError> {
    match node.shape() {
        Shape::Bool(false) => Ok(0),
        Shape::Bool(true) => Err(node.error(format!(
            "expected a duration (\"{DEFAULT_REPLAY}\" is the default) or false to turn replay off"
        ))),
        _ => Ok(Duration::read_within(node, Duration::ZERO, MAX_REPLAY, "\"replay\"")?.as_millis()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use crate::value::Value;
    use serde_json::json;

    fn delay(d: serde_json::Value, cancel: Option<serde_json::Value>) -> Result<Delay, String> {
        let doc = Document::from(json!({"delay": d, "cancel_on": cancel}));
        let root = Node::root(&doc);
        let object = root.map().unwrap();
        let cancel_on = object.get("cancel_on").filter(|n| n.shape() != Shape::Null);
        Delay::read(object.required("delay").unwrap(), cancel_on).map_err(|e| e.to_string())
    }

    fn sequence(s: serde_json::Value) -> Result<Vec<SequenceStep>, String> {
        let doc = Document::from(json!({ "sequence": s }));
        let root = Node::root(&doc);
        let object = root.map().unwrap();
        read_sequence(&object.required("sequence").unwrap()).map_err(|e| e.to_string())
    }

    fn replay(r: serde_json::Value) -> Result<i64, String> {
        read_replay(&Node::root(&Document::from(r))).map_err(|e| e.to_string())
    }

    fn props(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn a_delay_defaults_to_expire_after_a_day_and_cancels_on_nothing() {
        let d = delay(json!({"after": "30m"}), None).unwrap();
        assert_eq!(
            d,
            Delay {
                after_ms: 30 * 60_000,
                expire_after_ms: 86_400_000,
                cancel_on: vec![]
            }
        );
        let d = delay(json!({"after": "1s", "expire_after": "30d"}), None).unwrap();
        assert_eq!((d.after_ms, d.expire_after_ms), (1_000, 30 * 86_400_000));
    }

    #[test]
    fn a_delay_is_between_a_second_and_thirty_days() {
        assert_eq!(
            delay(json!({"after": "0s"}), None).unwrap_err(),
            "delay.after: a delay must be between 1s and 30d, found 0s"
        );
        assert!(delay(json!({"after": "31d"}), None)
            .unwrap_err()
            .starts_with("delay.after: a delay must be between"));
        assert!(delay(json!({"after": "1m", "expire_after": "5w"}), None)
            .unwrap_err()
            .starts_with("delay.expire_after: \"expire_after\" must be between 1s and 30d"));
        assert_eq!(
            delay(json!({"expire_after": "1h"}), None).unwrap_err(),
            "delay: missing required key \"after\""
        );
        assert!(delay(json!({"after": "1m", "expires_after": "1h"}), None)
            .unwrap_err()
            .starts_with("delay: unknown key \"expires_after\""));
    }

    #[test]
    fn cancel_on_lists_events_with_optional_conditions() {
        let d = delay(
            json!({"after": "30m"}),
            Some(json!([{"event": "purchase"},
                        {"event": "clear_cart", "where": [{"prop": "all", "op": "eq", "value": true}]}])),
        )
        .unwrap();
        assert_eq!(d.cancel_on.len(), 2);
        assert_eq!(d.cancel_on[0].event, "purchase");
        assert_eq!(d.cancel_on[0].filter, None);
        assert!(d.cancel_on[1].matches(&props(&[("all", Value::Bool(true))])));
        assert!(!d.cancel_on[1].matches(&props(&[("all", Value::Bool(false))])));
        assert_eq!(
            delay(json!({"after": "30m"}), Some(json!([]))).unwrap_err(),
            "cancel_on: must not be empty"
        );
        let many: Vec<_> = (0..21).map(|i| json!({"event": format!("e{i}")})).collect();
        assert_eq!(
            delay(json!({"after": "30m"}), Some(json!(many))).unwrap_err(),
            "cancel_on: at most 20 events"
        );
        assert_eq!(
            delay(
                json!({"after": "30m"}),
                Some(json!([{"event": " purchase"}]))
            )
            .unwrap_err(),
            "cancel_on[0].event: name \" purchase\" has blanks around it"
        );
    }

    #[test]
    fn a_sequence_has_timed_steps_after_the_first() {
        let steps = sequence(json!([
            {"event": "view_item"},
            {"event": "add_to_cart", "within": "10m",
             "where": [{"prop": "price", "op": "gt", "value": 10}]},
            {"event": "checkout", "within": "1h"}
        ]))
        .unwrap();
        let within: Vec<_> = steps.iter().map(|s| s.within_ms).collect();
        assert_eq!(within, [None, Some(600_000), Some(3_600_000)]);
        assert!(steps[0].matches(&props(&[])));
        assert!(steps[1].matches(&props(&[("price", Value::Int(11))])));
        assert!(!steps[1].matches(&props(&[("price", Value::Int(9))])));
    }

    #[test]
    fn sequence_errors_name_the_step() {
        assert_eq!(
            sequence(json!([{"event": "a"}])).unwrap_err(),
            "sequence: a sequence has 2 to 10 steps, found 1 (for one event, write \"event\" instead)"
        );
        let eleven: Vec<_> = (0..11)
            .map(|i| {
                if i == 0 {
                    json!({"event": "e"})
                } else {
                    json!({"event": "e", "within": "1m"})
                }
            })
            .collect();
        assert!(sequence(json!(eleven))
            .unwrap_err()
            .contains("2 to 10 steps, found 11"));
        assert!(
            sequence(json!([{"event": "a", "within": "1m"}, {"event": "b", "within": "1m"}]))
                .unwrap_err()
                .starts_with("sequence[0].within: the first step has no \"within\"")
        );
        assert_eq!(
            sequence(json!([{"event": "a"}, {"event": "b"}])).unwrap_err(),
            "sequence[1]: missing required key \"within\" (the time allowed since the previous step)"
        );
        assert_eq!(
            sequence(json!([{"event": "a"}, {"event": "b", "within": "31d"}])).unwrap_err(),
            "sequence[1].within: a step's \"within\" must be between 1s and 30d, found 31d"
        );
        assert!(
            sequence(json!([{"event": "a"}, {"event": "b", "within": "1m", "after": "1m"}]))
                .unwrap_err()
                .starts_with("sequence[1]: unknown key \"after\"")
        );
    }

    #[test]
    fn replay_is_a_short_duration_or_false() {
        assert_eq!(replay(json!("10m")), Ok(600_000));
        assert_eq!(replay(json!("0s")), Ok(0));
        assert_eq!(replay(json!(false)), Ok(0));
        assert_eq!(
            replay(json!("11m")).unwrap_err(),
            "\"replay\" must be between 0s and 10m, found 11m"
        );
        assert!(replay(json!(true)).unwrap_err().contains("or false"));
        assert!(replay(json!(30)).unwrap_err().contains("not a bare number"));
        assert_eq!(DEFAULT_REPLAY.as_millis(), 30_000);
    }
}
