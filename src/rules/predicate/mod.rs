//! Property predicates: tests on an event's or a user's properties, compiled
//! at parse time so that evaluation never parses text.
//!
//! In a pack a test is `{"prop": "amount", "op": "gte", "value": 100}`; tests
//! combine with and / or / not (see [`super::condition`]).
//!
//! # How values compare (the type-mismatch rule)
//! - A test only matches a property of the type its value implies. The string
//!   `"150"` and the number `150` are different: `{"op": "eq", "value": 150}`
//!   does not match the property `"150"`, and neither does `ne` — a mismatch is
//!   a non-match for every operator, including `ne` and `not_in`.
//! - Integers and floats are both numbers and compare by numeric value,
//!   exactly (`2` equals `2.0`; no rounding through `f64` for large integers).
//!   A NaN property matches nothing.
//! - A missing property matches nothing except `not_exists`. So `ne` means
//!   "present, of the same type, and different"; to include absent properties
//!   write `{"not": {"prop": …, "op": "eq", …}}`.
//! - `gt`, `gte`, `lt`, `lte` order numbers, and timestamps against a
//!   `{"timestamp": "…"}` value; strings are not ordered.
//! - `contains` is a substring test on a string (case-sensitive) and a
//!   membership test on a string list; `starts_with` applies to strings.
//! - Booleans support `eq` and `ne`.

mod eval;
mod parse;

use std::collections::{BTreeMap, HashMap};
use std::fmt;

pub(crate) use parse::read_where;
pub use parse::MAX_SET_LEN;

use super::condition::Condition;
use crate::value::Value;

/// A tree of property tests; see the module docs for the comparison rules.
pub type Predicate = Condition<PropertyTest>;

impl Predicate {
    /// Whether the properties satisfy the predicate.
    pub fn matches<P: PropertyLookup + ?Sized>(&self, properties: &P) -> bool {
        self.eval(&mut |t: &PropertyTest| t.matches(properties))
    }
}

/// Where a predicate finds property values. Event properties arrive as a small
/// unsorted list of pairs and user properties as a map; both implement it.
pub trait PropertyLookup {
    fn property(&self, name: &str) -> Option<&Value>;
}

impl PropertyLookup for [(String, Value)] {
    /// A linear scan: events carry few properties, and a scan of a handful
    /// of pairs beats building a map for each event.
    fn property(&self, name: &str) -> Option<&Value> {
        self.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

impl PropertyLookup for Vec<(String, Value)> {
    fn property(&self, name: &str) -> Option<&Value> {
        self.as_slice().property(name)
    }
}

impl PropertyLookup for BTreeMap<String, Value> {
    fn property(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

impl PropertyLookup for HashMap<String, Value> {
    fn property(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

impl<T: PropertyLookup + ?Sized> PropertyLookup for &T {
    fn property(&self, name: &str) -> Option<&Value> {
        (**self).property(name)
    }
}

/// One test on one property.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyTest {
    pub property: String,
    pub test: Test,
}

impl PropertyTest {
    pub fn matches<P: PropertyLookup + ?Sized>(&self, properties: &P) -> bool {
        self.test.matches(properties.property(&self.property))
    }
}

/// What is asked of the property's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Exists,
    NotExists,
    Eq(Scalar),
    Ne(Scalar),
    Compare(Comparison, Ordered),
    In(ScalarSet),
    NotIn(ScalarSet),
    /// Substring of a string, or element of a string list.
    Contains(String),
    StartsWith(String),
}

/// A single value written in a pack.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    String(String),
    Number(Number),
    Bool(bool),
    /// Milliseconds since the Unix epoch, from `{"timestamp": "…"}`.
    Timestamp(i64),
}

/// A number written in a pack. Whole numbers are always `Int` (also when
/// written `2.0`), so a `Float` is never integral.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

/// A value that can be ordered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ordered {
    Number(Number),
    /// Milliseconds since the Unix epoch.
    Timestamp(i64),
}

/// `gt`, `gte`, `lt`, `lte`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Comparison {
    /// Whether `property.cmp(value)` giving `ordering` passes.
    pub fn accepts(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        matches!(
            (self, ordering),
            (Comparison::Gt, Greater)
                | (Comparison::Gte, Greater | Equal)
                | (Comparison::Lt, Less)
                | (Comparison::Lte, Less | Equal)
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Comparison::Gt => "gt",
            Comparison::Gte => "gte",
            Comparison::Lt => "lt",
            Comparison::Lte => "lte",
        }
    }
}

/// The values of an `in` / `not_in`, sorted for binary search.
#[derive(Debug, Clone, PartialEq)]
pub enum ScalarSet {
    Strings(Box<[String]>),
    /// Whole numbers and the (never integral) other numbers, apart, so a
    /// property value is looked up in one sorted list only.
    Numbers {
        ints: Box<[i64]>,
        floats: Box<[f64]>,
    },
}

impl fmt::Display for PropertyTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = serde_json::Value::from(self.property.as_str());
        let op = |f: &mut fmt::Formatter<'_>, op: &str| write!(f, "{name} {op}");
        match &self.test {
            Test::Exists => op(f, "exists"),
            Test::NotExists => op(f, "not_exists"),
            Test::Eq(v) => op(f, "eq").and_then(|_| write!(f, " {v}")),
            Test::Ne(v) => op(f, "ne").and_then(|_| write!(f, " {v}")),
            Test::Compare(c, Ordered::Number(n)) => {
                op(f, c.name()).and_then(|_| write!(f, " {}", Scalar::Number(*n)))
            }
            Test::Compare(c, Ordered::Timestamp(t)) => {
                op(f, c.name()).and_then(|_| write!(f, " {}", Scalar::Timestamp(*t)))
            }
            Test::In(set) => op(f, "in").and_then(|_| write!(f, " {set}")),
            Test::NotIn(set) => op(f, "not_in").and_then(|_| write!(f, " {set}")),
            Test::Contains(s) => op(f, "contains").and_then(|_| write!(f, " {}", json_str(s))),
            Test::StartsWith(s) => op(f, "starts_with").and_then(|_| write!(f, " {}", json_str(s))),
        }
    }
}

fn json_str(s: &str) -> serde_json::Value {
    serde_json::Value::from(s)
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::String(s) => write!(f, "{}", json_str(s)),
            Scalar::Number(Number::Int(i)) => write!(f, "{i}"),
            Scalar::Number(Number::Float(x)) => write!(f, "{x:?}"),
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Timestamp(ms) => write!(
                f,
                "{{\"timestamp\": \"{}\"}}",
                crate::rfc3339::rfc3339_ms(*ms)
            ),
        }
    }
}

impl fmt::Display for ScalarSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = match self {
            ScalarSet::Strings(s) => s.iter().map(|s| json_str(s).to_string()).collect(),
            ScalarSet::Numbers { ints, floats } => ints
                .iter()
                .map(|i| i.to_string())
                .chain(floats.iter().map(|x| format!("{x:?}")))
                .collect(),
        };
        write!(f, "[{}]", items.join(", "))
    }
}
