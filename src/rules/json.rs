//! The JSON document a pack is read from: one arena of values, strings
//! borrowed from the text.
//!
//! Not `serde_json::Value`, for two reasons. A 1,000-campaign pack is about
//! 2 MB of JSON, and `Value` allocates every key, every string, every array
//! and every object (as a B-tree); building and freeing that tree alone used
//! most of the parse budget (≤ 20 ms). Here the values of a document live in
//! two vectors, an object's or array's children side by side, and strings
//! borrow from the text unless they contain escapes. And `Value` silently keeps
//! the last of two equal keys, so a pack with two `where` would lose a
//! condition; here duplicates are kept and marked, and the reader refuses them
//! with their path.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// A parsed JSON document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document<'a> {
    root: Json<'a>,
    /// Children of arrays and objects; each container's are contiguous.
    values: Vec<Json<'a>>,
    /// Keys of objects, parallel to their values.
    keys: Vec<Cow<'a, str>>,
}

/// One JSON value. Arrays and objects refer to their children in the
/// [`Document`].
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Span),
    Object(ObjectSpan),
}

/// A JSON number: an integer when it was written as one and fits `i64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

/// Where an array's elements are in [`Document::values`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    start: u32,
    len: u32,
}

/// Where an object's values and keys are, and its first repeated key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectSpan {
    values: Span,
    keys_start: u32,
    /// The index (within the object) of the first entry whose key an earlier
    /// entry already has.
    pub duplicate: Option<u32>,
}

impl<'a> Document<'a> {
    /// Parses JSON text; strings without escapes borrow from `text`.
    pub fn parse(text: &'a str) -> Result<Document<'a>, serde_json::Error> {
        let mut builder = Builder::with_capacity_for(text);
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let root = Seed(&mut builder).deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(builder.finish(root))
    }

    pub fn root(&self) -> &Json<'a> {
        &self.root
    }

    /// An array's elements.
    pub fn elements(&self, span: Span) -> &[Json<'a>] {
        &self.values[span.start as usize..(span.start + span.len) as usize]
    }

    /// An object's keys and values, in document order.
    pub fn entries(&self, object: ObjectSpan) -> (&[Cow<'a, str>], &[Json<'a>]) {
        let keys = object.keys_start as usize;
        (
            &self.keys[keys..keys + object.values.len as usize],
            self.elements(object.values),
        )
    }

    /// The property value `json` holds, as `Value::from_json` reads it: a
    /// string, number, boolean or list of strings; `None` otherwise.
    pub fn to_value(&self, json: &Json) -> Option<crate::value::Value> {
        use crate::value::Value;
        match json {
            Json::String(s) => Some(Value::String(s.to_string())),
            Json::Bool(b) => Some(Value::Bool(*b)),
            Json::Number(Number::Int(i)) => Some(Value::Int(*i)),
            Json::Number(Number::Float(f)) => Some(Value::Float(*f)),
            Json::Array(span) => self
                .elements(*span)
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(Value::StringList),
            Json::Null | Json::Object(_) => None,
        }
    }
}

impl Json<'_> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(Number::Int(i)) => Some(*i as f64),
            Json::Number(Number::Float(f)) => Some(*f),
            _ => None,
        }
    }

    pub fn is_number(&self) -> bool {
        matches!(self, Json::Number(_))
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Json::String(_))
    }

    /// The kind of value, for error messages: "a string", "an object", …
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

/// Builds a document from a `serde_json::Value`, for tests written with `json!`.
impl From<serde_json::Value> for Document<'static> {
    fn from(value: serde_json::Value) -> Document<'static> {
        fn add(b: &mut Builder<'static>, value: serde_json::Value) -> Json<'static> {
            match value {
                serde_json::Value::Null => Json::Null,
                serde_json::Value::Bool(x) => Json::Bool(x),
                serde_json::Value::Number(n) => Json::Number(match n.as_i64() {
                    Some(i) => Number::Int(i),
                    None => Number::Float(n.as_f64().unwrap_or(f64::NAN)),
                }),
                serde_json::Value::String(s) => Json::String(Cow::Owned(s)),
                serde_json::Value::Array(items) => {
                    let mark = b.pending_values.len();
                    for item in items {
                        let json = add(b, item);
                        b.pending_values.push(json);
                    }
                    Json::Array(b.close_array(mark))
                }
                serde_json::Value::Object(map) => {
                    let mark = (b.pending_values.len(), b.pending_keys.len());
                    for (k, v) in map {
                        let json = add(b, v);
                        b.pending_keys.push(Cow::Owned(k));
                        b.pending_values.push(json);
                    }
                    Json::Object(b.close_object(mark))
                }
            }
        }
        let mut builder = Builder::default();
        let root = add(&mut builder, value);
        builder.finish(root)
    }
}

/// Collects values while parsing. A container's children are gathered on the
/// pending stacks (its own children may be containers, whose children go
/// first), then moved side by side into the arena when it closes.
#[derive(Default)]
struct Builder<'a> {
    values: Vec<Json<'a>>,
    keys: Vec<Cow<'a, str>>,
    pending_values: Vec<Json<'a>>,
    pending_keys: Vec<Cow<'a, str>>,
}

impl<'a> Builder<'a> {
    /// Sizes the arenas once from a count of the text's punctuation, instead
    /// of growing them by copying (which, for megabytes of values, cost more
    /// than the parse). Every element or entry but the first in a container
    /// follows a `,`, every container opens with `[` or `{`, every key precedes
    /// a `:`; punctuation inside strings only over-counts.
    fn with_capacity_for(text: &str) -> Builder<'a> {
        let (mut separators, mut colons) = (0, 0);
        for b in text.bytes() {
            match b {
                b',' | b'[' | b'{' => separators += 1,
                b':' => colons += 1,
                _ => {}
            }
        }
        Builder {
            values: Vec::with_capacity(separators),
            keys: Vec::with_capacity(colons),
            pending_values: Vec::new(),
            pending_keys: Vec::new(),
        }
    }

    fn close_array(&mut self, mark: usize) -> Span {
        let start = self.values.len();
        self.values.extend(self.pending_values.drain(mark..));
        span(start, self.values.len() - start)
    }

    fn close_object(&mut self, (values_mark, keys_mark): (usize, usize)) -> ObjectSpan {
        let duplicate = first_duplicate(&self.pending_keys[keys_mark..]).map(|i| i as u32);
        let keys_start = self.keys.len() as u32;
        self.keys.extend(self.pending_keys.drain(keys_mark..));
        ObjectSpan {
            values: self.close_array(values_mark),
            keys_start,
            duplicate,
        }
    }

    fn finish(self, root: Json<'a>) -> Document<'a> {
        debug_assert!(self.pending_values.is_empty() && self.pending_keys.is_empty());
        Document {
            root,
            values: self.values,
            keys: self.keys,
        }
    }
}

fn span(start: usize, len: usize) -> Span {
    // A document under MAX_PACK_BYTES holds far fewer than 2^32 values.
    Span {
        start: start as u32,
        len: len as u32,
    }
}

/// The index of the first key that appeared before. Sorting for large
/// objects keeps a hostile pack with a huge `meta` from costing quadratic time.
fn first_duplicate(keys: &[Cow<'_, str>]) -> Option<usize> {
    /// Up to this many keys a pairwise scan is cheaper than sorting.
    const PAIRWISE_SCAN_MAX: usize = 16;
    if keys.len() <= PAIRWISE_SCAN_MAX {
        // Comparing lengths and first bytes first skips most string compares.
        let same = |a: &str, b: &str| {
            a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
        };
        return (1..keys.len()).find(|&i| keys[..i].iter().any(|k| same(k, &keys[i])));
    }
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]).then(a.cmp(&b)));
    order
        .windows(2)
        .filter(|w| keys[w[0]] == keys[w[1]])
        .map(|w| w[1])
        .min()
}

/// Parses one value into the builder.
struct Seed<'b, 'a>(&'b mut Builder<'a>);

impl<'de> DeserializeSeed<'de> for Seed<'_, 'de> {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_, 'de> {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(Number::Int(i)))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(match i64::try_from(u) {
            Ok(i) => Number::Int(i),
            Err(_) => Number::Float(u as f64),
        }))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Json<'de>, E> {
        Ok(Json::Number(Number::Float(f)))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let builder = self.0;
        let mark = builder.pending_values.len();
        while let Some(item) = seq.next_element_seed(Seed(&mut *builder))? {
            builder.pending_values.push(item);
        }
        Ok(Json::Array(builder.close_array(mark)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let builder = self.0;
        let mark = (builder.pending_values.len(), builder.pending_keys.len());
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value = map.next_value_seed(Seed(&mut *builder))?;
            builder.pending_keys.push(key);
            builder.pending_values.push(value);
        }
        Ok(Json::Object(builder.close_object(mark)))
    }
}

/// Parses an object key, borrowed when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Cow<'de, str>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object_entries<'d, 'a>(
        doc: &'d Document<'a>,
        json: &Json,
    ) -> (Vec<&'d str>, &'d [Json<'a>], Option<u32>) {
        let Json::Object(o) = json else {
            panic!("not an object")
        };
        let (keys, values) = doc.entries(*o);
        (
            keys.iter().map(|k| k.as_ref()).collect(),
            values,
            o.duplicate,
        )
    }

    #[test]
    fn borrows_plain_strings_and_keeps_duplicate_keys() {
        let text = r#"{"a": "plain", "b": "esc\"aped", "a": [1, -2, 2.5, 18446744073709551615, null, true, {"c": []}]}"#;
        let doc = Document::parse(text).unwrap();
        let (keys, values, duplicate) = object_entries(&doc, doc.root());
        assert_eq!(keys, ["a", "b", "a"], "both \"a\" kept");
        assert_eq!(duplicate, Some(2));
        assert!(matches!(&values[0], Json::String(Cow::Borrowed("plain"))));
        assert!(matches!(&values[1], Json::String(Cow::Owned(s)) if s == "esc\"aped"));
        let Json::Array(items) = values[2] else {
            panic!()
        };
        let items = doc.elements(items);
        assert_eq!(
            items[..6],
            [
                Json::Number(Number::Int(1)),
                Json::Number(Number::Int(-2)),
                Json::Number(Number::Float(2.5)),
                Json::Number(Number::Float(18446744073709551615.0)),
                Json::Null,
                Json::Bool(true),
            ]
        );
        let (keys, values, _) = object_entries(&doc, &items[6]);
        assert_eq!(keys, ["c"]);
        assert!(matches!(values[0], Json::Array(Span { len: 0, .. })));
    }

    #[test]
    fn refuses_text_that_is_not_one_json_value() {
        assert!(Document::parse("{} {}").is_err());
        assert!(Document::parse("{").is_err());
        assert!(Document::parse("").is_err());
    }

    #[test]
    fn finds_the_first_duplicate_in_small_and_large_objects() {
        let duplicate = |keys: &[String]| {
            let text = keys
                .iter()
                .map(|k| format!("\"{k}\": 0"))
                .collect::<Vec<_>>()
                .join(",");
            let text = format!("{{{text}}}");
            let doc = Document::parse(&text).unwrap();
            object_entries(&doc, doc.root()).2
        };
        let keys = |n: usize| (0..n).map(|i| format!("k{i}")).collect::<Vec<_>>();
        assert_eq!(duplicate(&keys(10)), None);
        assert_eq!(duplicate(&keys(40)), None);
        let mut small = keys(10);
        small.push("k3".into());
        assert_eq!(duplicate(&small), Some(10));
        let mut large = keys(40);
        large.insert(20, "k30".into());
        large.push("k1".into());
        assert_eq!(
            duplicate(&large),
            Some(31),
            "the second k30 comes before the second k1"
        );
    }

    #[test]
    fn from_serde_value_builds_the_same_document_as_parsing() {
        let value = serde_json::json!({"a": [1, "x", {"b": null}], "c": {"d": 2.5}});
        let text = value.to_string();
        let parsed = Document::parse(&text).unwrap();
        let built = Document::from(value);
        // Same shape; strings are owned in one and borrowed in the other.
        assert_eq!(
            format!("{parsed:?}").replace("Borrowed", "Owned"),
            format!("{built:?}")
        );
    }

    #[test]
    fn converts_to_property_values_like_value_from_json() {
        use crate::value::Value;
        for v in [
            serde_json::json!("s"),
            serde_json::json!(3),
            serde_json::json!(3.0),
            serde_json::json!(true),
            serde_json::json!(["a", "b"]),
            serde_json::json!(["a", 1]),
            serde_json::json!(null),
            serde_json::json!({"a": 1}),
        ] {
            let doc = Document::from(v.clone());
            assert_eq!(doc.to_value(doc.root()), Value::from_json(&v), "{v}");
        }
    }
}
