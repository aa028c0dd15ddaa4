//! Reading property tests from a pack and compiling them: numbers are
//! normalised, timestamps converted to milliseconds, `in` lists sorted.

use super::{Comparison, Number, Ordered, Predicate, PropertyTest, Scalar, ScalarSet, Test};
use crate::rules::condition::{read_all, LeafReader};
use crate::rules::error::FieldError;
use crate::rules::instant::read_instant;
use crate::rules::names::read_name;
use crate::rules::reader::{Node, Shape};

use super::eval::integral;

/// The most values one `in` / `not_in` may list. Audience lists of cities or
/// channels run to dozens; a list of thousands belongs in a server-side segment
/// (a user tag), not in every device's pack.
pub const MAX_SET_LEN: usize = 1_000;

/// Longest string a property test compares with (`eq`, `ne`, `in`,
/// `contains`, `starts_with`), in characters: as long as a payload string
/// may be; an event property compared with it is rarely a tenth of that.
pub const MAX_VALUE_CHARS: usize = 4_096;

/// The key that makes a condition a property test.
const PROPERTY_LEAF_KINDS: &[&str] = &["prop"];

const OPERATORS: [&str; 12] = [
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "not_in",
    "contains",
    "starts_with",
    "exists",
    "not_exists",
];

/// Reads a `where`: a list of property conditions that must all hold.
pub(crate) fn read_where(node: &Node) -> Result<Predicate, FieldError> {
    let leaf = LeafReader {
        kinds: PROPERTY_LEAF_KINDS,
        fields: &["op", "value"],
        read: &read_property_test,
    };
    read_all(node, &leaf)
}

fn read_property_test(node: Node) -> Result<PropertyTest, FieldError> {
    let object = node.object(&["prop", "op", "value"])?;
    let property = read_name(&object.required("prop")?)?.to_owned();
    let op_node = object.required("op")?;
    let op = op_node.str()?;
    if !OPERATORS.contains(&op) {
        return Err(op_node.error(format!("unknown operator \"{op}\"")));
    }
    let value = object.get("value");
    let takes_value = !matches!(op, "exists" | "not_exists");
    let value = match (takes_value, value) {
        (true, Some(v)) => v,
        (true, None) => return Err(object.node().error(format!("\"{op}\" needs a \"value\""))),
        (false, Some(v)) => return Err(v.error(format!("\"{op}\" takes no value"))),
        (false, None) => {
            let test = if op == "exists" {
                Test::Exists
            } else {
                Test::NotExists
            };
            return Ok(PropertyTest { property, test });
        }
    };
    let test = match op {
        "eq" => Test::Eq(read_scalar(&value)?),
        "ne" => Test::Ne(read_scalar(&value)?),
        "gt" => Test::Compare(Comparison::Gt, read_ordered(&value, op)?),
        "gte" => Test::Compare(Comparison::Gte, read_ordered(&value, op)?),
        "lt" => Test::Compare(Comparison::Lt, read_ordered(&value, op)?),
        "lte" => Test::Compare(Comparison::Lte, read_ordered(&value, op)?),
        "in" => Test::In(read_set(&value)?),
        "not_in" => Test::NotIn(read_set(&value)?),
        "contains" => Test::Contains(bounded(&value, value.non_empty_str()?)?.to_owned()),
        _ => Test::StartsWith(bounded(&value, value.non_empty_str()?)?.to_owned()),
    };
    Ok(PropertyTest { property, test })
}

/// `text`, refused when longer than [`MAX_VALUE_CHARS`].
fn bounded<'t>(node: &Node, text: &'t str) -> Result<&'t str, FieldError> {
    if text.len() > MAX_VALUE_CHARS && text.chars().count() > MAX_VALUE_CHARS {
        return Err(node.error(format!("a value has at most {MAX_VALUE_CHARS} characters")));
    }
    Ok(text)
}

/// A string, number, boolean or `{"timestamp": "…"}`.
pub(crate) fn read_scalar(node: &Node) -> Result<Scalar, FieldError> {
    match node.shape() {
        Shape::String(s) => Ok(Scalar::String(bounded(node, s)?.to_owned())),
        Shape::Bool(b) => Ok(Scalar::Bool(b)),
        Shape::Int(_) | Shape::Float(_) => Ok(Scalar::Number(read_number(node)?)),
        Shape::Object => Ok(Scalar::Timestamp(read_timestamp(node)?)),
        Shape::Null => {
            Err(node
                .error("null is not a value; to test that a property is absent use \"not_exists\""))
        }
        Shape::Array => Err(node.error(format!(
            "expected a string, number, boolean or {{\"timestamp\": …}}, found {}",
            node.kind()
        ))),
    }
}

fn read_ordered(node: &Node, op: &str) -> Result<Ordered, FieldError> {
    match read_scalar(node)? {
        Scalar::Number(n) => Ok(Ordered::Number(n)),
        Scalar::Timestamp(t) => Ok(Ordered::Timestamp(t)),
        _ => Err(node.error(format!(
            "\"{op}\" compares numbers or timestamps ({{\"timestamp\": …}}), found {}",
            node.kind()
        ))),
    }
}

/// A JSON number, whole numbers as `Int` whichever way they were written.
pub(crate) fn read_number(node: &Node) -> Result<Number, FieldError> {
    match node.shape() {
        Shape::Int(i) => Ok(Number::Int(i)),
        Shape::Float(f) if f.is_finite() => Ok(integral(f).map_or(Number::Float(f), Number::Int)),
        Shape::Float(_) => Err(node.error("number out of range")),
        _ => Err(node.error(format!("expected a number, found {}", node.kind()))),
    }
}

/// `{"timestamp": "2026-09-20T00:00:00+08:00"}`: an instant with its offset,
/// as milliseconds since the epoch.
fn read_timestamp(node: &Node) -> Result<i64, FieldError> {
    let object = node.object(&["timestamp"])?;
    read_instant(
        &object.required("timestamp")?,
        None,
        "a timestamp value needs \"Z\" or an offset like \"+08:00\"",
    )
}

/// A non-empty list of strings, or of numbers.
fn read_set(node: &Node) -> Result<ScalarSet, FieldError> {
    let items = node.non_empty_elements()?;
    if items.len() > MAX_SET_LEN {
        return Err(node.error(format!("lists at most {MAX_SET_LEN} values")));
    }
    let mut strings = Vec::new();
    let mut ints = Vec::new();
    let mut floats = Vec::new();
    for item in items {
        match item.shape() {
            Shape::String(s) if ints.is_empty() && floats.is_empty() => {
                strings.push(bounded(&item, s)?.to_owned())
            }
            Shape::Int(_) | Shape::Float(_) if strings.is_empty() => match read_number(&item)? {
                Number::Int(i) => ints.push(i),
                Number::Float(f) => floats.push(f),
            },
            _ => {
                return Err(item.error(format!(
                    "a list holds only strings or only numbers; found {}",
                    item.kind()
                )))
            }
        }
    }
    if !strings.is_empty() {
        strings.sort_unstable();
        strings.dedup();
        return Ok(ScalarSet::Strings(strings.into()));
    }
    ints.sort_unstable();
    ints.dedup();
    floats.sort_unstable_by(f64::total_cmp);
    floats.dedup();
    Ok(ScalarSet::Numbers {
        ints: ints.into(),
        floats: floats.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use crate::value::Value;
    use serde_json::json;

    fn parse(json: serde_json::Value) -> Result<Predicate, String> {
        read_where(&Node::root(&Document::from(json))).map_err(|e| e.to_string())
    }

    fn props(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn compared_strings_have_at_most_the_limit_of_characters() {
        let fits = "é".repeat(MAX_VALUE_CHARS);
        let long = "x".repeat(MAX_VALUE_CHARS + 1);
        for op in ["eq", "ne", "contains", "starts_with"] {
            assert!(parse(json!([{"prop": "p", "op": op, "value": fits}])).is_ok());
            let e = parse(json!([{"prop": "p", "op": op, "value": long}])).unwrap_err();
            assert_eq!(e, "[0].value: a value has at most 4096 characters", "{op}");
        }
        let e = parse(json!([{"prop": "p", "op": "in", "value": ["a", long]}])).unwrap_err();
        assert_eq!(e, "[0].value[1]: a value has at most 4096 characters");
    }

    #[test]
    fn each_operator_parses_and_matches() {
        let event = props(&[
            ("channel", Value::String("qzone".into())),
            ("amount", Value::Float(99.5)),
            ("count", Value::Int(3)),
            ("vip", Value::Bool(true)),
            ("tags", Value::StringList(vec!["a".into(), "b".into()])),
            ("url", Value::String("app://lottery/today".into())),
            ("at", Value::Timestamp(1_790_000_000_000)),
        ]);
        let cases = [
            (
                json!({"prop": "channel", "op": "eq", "value": "qzone"}),
                true,
            ),
            (json!({"prop": "channel", "op": "ne", "value": "sms"}), true),
            (json!({"prop": "amount", "op": "gt", "value": 99}), true),
            (json!({"prop": "amount", "op": "gte", "value": 99.5}), true),
            (json!({"prop": "count", "op": "lt", "value": 3}), false),
            (json!({"prop": "count", "op": "lte", "value": 3.0}), true),
            (
                json!({"prop": "channel", "op": "in", "value": ["wechat_moments", "qzone"]}),
                true,
            ),
            (
                json!({"prop": "count", "op": "not_in", "value": [1, 2]}),
                true,
            ),
            (
                json!({"prop": "tags", "op": "contains", "value": "b"}),
                true,
            ),
            (
                json!({"prop": "url", "op": "contains", "value": "lottery"}),
                true,
            ),
            (
                json!({"prop": "url", "op": "starts_with", "value": "app://"}),
                true,
            ),
            (json!({"prop": "vip", "op": "exists"}), true),
            (json!({"prop": "coupon", "op": "not_exists"}), true),
            (json!({"prop": "vip", "op": "eq", "value": true}), true),
            (
                json!({"prop": "at", "op": "gt", "value": {"timestamp": "2026-01-01T00:00:00Z"}}),
                true,
            ),
            (
                json!({"prop": "at", "op": "lt", "value": {"timestamp": "2026-01-01T08:00:00+08:00"}}),
                false,
            ),
        ];
        for (json, expected) in cases {
            let p = parse(json!([json.clone()])).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(p.matches(&event), expected, "{json}");
        }
    }

    #[test]
    fn a_string_does_not_match_a_number() {
        let event = props(&[("amount", Value::String("150".into()))]);
        for op in ["eq", "ne", "gt", "gte", "lt", "lte"] {
            let p = parse(json!([{"prop": "amount", "op": op, "value": 150}])).unwrap();
            assert!(!p.matches(&event), "{op}");
        }
        let p = parse(json!([{"prop": "amount", "op": "not_in", "value": [1]}])).unwrap();
        assert!(!p.matches(&event));
    }

    #[test]
    fn works_over_event_pairs_and_user_property_maps() {
        let p = parse(json!([{"prop": "region", "op": "in", "value": ["shanghai", "hangzhou"]}]))
            .unwrap();
        let pairs = props(&[("region", Value::String("hangzhou".into()))]);
        let mut map = crate::value::Properties::new();
        map.insert("region".into(), Value::String("beijing".into()));
        assert!(p.matches(&pairs));
        assert!(p.matches(pairs.as_slice()));
        assert!(!p.matches(&map));
    }

    #[test]
    fn operator_errors_name_their_path() {
        assert_eq!(
            parse(json!([{"prop": "a", "op": "eq", "value": 1},
                         {"prop": "b", "op": "gtx", "value": 1}]))
            .unwrap_err(),
            "[1].op: unknown operator \"gtx\""
        );
        assert_eq!(
            parse(json!([{"prop": "a", "op": "exists", "value": 1}])).unwrap_err(),
            "[0].value: \"exists\" takes no value"
        );
        assert_eq!(
            parse(json!([{"prop": "a", "op": "eq"}])).unwrap_err(),
            "[0]: \"eq\" needs a \"value\""
        );
        assert!(parse(json!([{"prop": "a", "op": "gt", "value": "150"}]))
            .unwrap_err()
            .starts_with("[0].value: \"gt\" compares numbers or timestamps"));
        assert!(parse(json!([{"prop": "a", "op": "eq", "value": null}]))
            .unwrap_err()
            .contains("not_exists"));
        assert!(parse(json!([{"prop": "a", "op": "in", "value": []}]))
            .unwrap_err()
            .ends_with("must not be empty"));
        assert_eq!(
            parse(json!([{"prop": "a", "op": "in", "value": ["x", 1]}])).unwrap_err(),
            "[0].value[1]: a list holds only strings or only numbers; found a number"
        );
        assert!(parse(json!([{"prop": "", "op": "exists"}])).is_err());
        assert_eq!(
            parse(json!([{"property": "a", "op": "exists"}])).unwrap_err(),
            "[0]: unknown condition \"property\" (a condition has one of \"prop\", \"and\", \"or\", \"not\")"
        );
        assert!(parse(json!([{"op": "exists"}]))
            .unwrap_err()
            .contains("needs one of"));
        assert!(parse(json!([{"prop": "a", "op": "contains", "value": ""}])).is_err());
        assert!(
            parse(json!([{"prop": "a", "op": "eq", "value": {"timestamp": "2026-01-01"}}]))
                .unwrap_err()
                .contains("has no offset")
        );
        assert!(
            parse(json!([{"prop": "a", "op": "eq", "value": 1, "values": [1]}]))
                .unwrap_err()
                .contains("unknown key \"values\"")
        );
        let too_many: Vec<i64> = (0..=MAX_SET_LEN as i64).collect();
        assert!(parse(json!([{"prop": "a", "op": "in", "value": too_many}])).is_err());
    }

    #[test]
    fn display_is_canonical_for_equal_content() {
        let a = parse(
            json!([{"prop": "channel", "op": "in", "value": ["qzone", "wechat_moments", "qzone"]},
                             {"prop": "amount", "op": "gte", "value": 100.0}]),
        )
        .unwrap();
        let b = parse(json!([{"prop": "channel", "op": "in", "value": ["wechat_moments", "qzone"], "label": "x"},
                             {"prop": "amount", "op": "gte", "value": 100}])).unwrap();
        assert_eq!(a.to_string(), b.to_string());
        assert_eq!(
            a.to_string(),
            "(\"channel\" in [\"qzone\", \"wechat_moments\"] and \"amount\" gte 100)"
        );
    }
}
