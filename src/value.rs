//! Property values: what an event property or a user property can hold.
//!
//! One type serves events, user properties and (later) rule conditions, so a
//! value compares the same wherever it came from. Serialised to JSON the way
//! the upload wire format (Segment's batch API) expects: timestamps as RFC 3339
//! strings in UTC, lists of strings as arrays.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeSeq, Serializer};

use crate::rfc3339::rfc3339_ms;

/// A property value. `Unsupported` carries what a binding could not convert
/// (a Kotlin `null` or a custom object), so the core rejects the event with a
/// precise reason and counts it, instead of the wrapper silently dropping it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Milliseconds since the Unix epoch, UTC.
    Timestamp(i64),
    StringList(Vec<String>),
    Unsupported(String),
}

/// Properties keyed by name. A `BTreeMap` keeps the serialised JSON stable,
/// which makes stored events and uploaded batches reproducible.
pub type Properties = BTreeMap<String, Value>;

impl Value {
    /// The name of the value's type, as used in error messages and docs.
    pub fn type_name(&self) -> &str {
        match self {
            Value::String(_) => "string",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::Timestamp(_) => "timestamp",
            Value::StringList(_) => "string list",
            Value::Unsupported(t) => t,
        }
    }

    /// Converts a JSON value back (used when reading user properties from disk).
    /// Timestamps come back as strings: JSON has no timestamp type.
    pub fn from_json(v: &serde_json::Value) -> Option<Value> {
        match v {
            serde_json::Value::String(s) => Some(Value::String(s.clone())),
            serde_json::Value::Bool(b) => Some(Value::Bool(*b)),
            serde_json::Value::Number(n) => n
                .as_i64()
                .map(Value::Int)
                .or_else(|| n.as_f64().map(Value::Float)),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(Value::StringList),
            _ => None,
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::String(v) => s.serialize_str(v),
            Value::Int(v) => s.serialize_i64(*v),
            Value::Float(v) => s.serialize_f64(*v),
            Value::Bool(v) => s.serialize_bool(*v),
            Value::Timestamp(ms) => s.serialize_str(&rfc3339_ms(*ms)),
            Value::StringList(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            // Never stored: validation rejects events carrying one.
            Value::Unsupported(_) => s.serialize_unit(),
        }
    }
}

/// Serialises event properties as a JSON object with keys in sorted order,
/// so the same properties always give the same bytes.
pub fn properties_to_json(props: &[(String, Value)]) -> String {
    struct Sorted<'a>(Vec<&'a (String, Value)>);
    impl Serialize for Sorted<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in &self.0 {
                map.serialize_entry(k, v)?;
            }
            map.end()
        }
    }
    let mut sorted: Vec<&(String, Value)> = props.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    // Serialising strings, numbers and lists into a String cannot fail.
    serde_json::to_string(&Sorted(sorted)).unwrap_or_else(|_| "{}".to_owned())
}

/// A value with its type kept, for persisting user properties: plain JSON
/// would turn a timestamp into a string and an integral float into an int.
#[derive(serde::Serialize, serde::Deserialize)]
enum Tagged {
    #[serde(rename = "s")]
    String(String),
    #[serde(rename = "i")]
    Int(i64),
    #[serde(rename = "f")]
    Float(f64),
    #[serde(rename = "b")]
    Bool(bool),
    #[serde(rename = "t")]
    Timestamp(i64),
    #[serde(rename = "l")]
    StringList(Vec<String>),
}

/// Persists properties with their types (see `Tagged`).
pub fn properties_to_tagged_json(props: &Properties) -> String {
    let tagged: BTreeMap<&String, Tagged> = props
        .iter()
        .filter_map(|(k, v)| {
            let t = match v.clone() {
                Value::String(s) => Tagged::String(s),
                Value::Int(i) => Tagged::Int(i),
                Value::Float(f) => Tagged::Float(f),
                Value::Bool(b) => Tagged::Bool(b),
                Value::Timestamp(t) => Tagged::Timestamp(t),
                Value::StringList(l) => Tagged::StringList(l),
                Value::Unsupported(_) => return None,
            };
            Some((k, t))
        })
        .collect();
    serde_json::to_string(&tagged).unwrap_or_else(|_| "{}".to_owned())
}

/// Reads what `properties_to_tagged_json` wrote; unreadable input gives none.
pub fn properties_from_tagged_json(json: &str) -> Properties {
    let tagged: BTreeMap<String, Tagged> = serde_json::from_str(json).unwrap_or_default();
    tagged
        .into_iter()
        .map(|(k, t)| {
            let v = match t {
                Tagged::String(s) => Value::String(s),
                Tagged::Int(i) => Value::Int(i),
                Tagged::Float(f) => Value::Float(f),
                Tagged::Bool(b) => Value::Bool(b),
                Tagged::Timestamp(t) => Value::Timestamp(t),
                Tagged::StringList(l) => Value::StringList(l),
            };
            (k, v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_serialise_sorted_with_typed_values() {
        let props = vec![
            ("z".to_owned(), Value::Int(1)),
            ("a".to_owned(), Value::Float(1.5)),
            ("t".to_owned(), Value::Timestamp(0)),
            ("l".to_owned(), Value::StringList(vec!["x".into()])),
            ("b".to_owned(), Value::Bool(true)),
        ];
        assert_eq!(
            properties_to_json(&props),
            r#"{"a":1.5,"b":true,"l":["x"],"t":"1970-01-01T00:00:00.000Z","z":1}"#
        );
    }

    #[test]
    fn tagged_json_keeps_every_type() {
        let props: Properties = [
            ("s", Value::String("x".into())),
            ("i", Value::Int(-3)),
            ("f", Value::Float(2.0)),
            ("b", Value::Bool(false)),
            ("t", Value::Timestamp(1_700_000_000_000)),
            ("l", Value::StringList(vec!["a".into(), "b".into()])),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(
            properties_from_tagged_json(&properties_to_tagged_json(&props)),
            props
        );
    }
}
