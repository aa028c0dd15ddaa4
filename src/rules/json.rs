//! The JSON document a pack is read from: one arena of small values whose
//! strings point into the text.
//!
//! Not `serde_json::Value`, for two reasons. A 1,000-campaign pack is about
//! 2 MB of JSON, and `Value` allocates every key, every string, every array
//! and every object (as a B-tree); building and freeing that tree alone used
//! most of the parse budget (≤ 20 ms). Here all values of a document live in
//! one vector of 16-byte cells, a container's children side by side, and a
//! string is an offset into the text unless it had escapes. And `Value`
//! silently keeps the last of two equal keys, so a pack with two `where`
//! would lose a condition; here duplicates are kept and marked, and the reader
//! refuses them with their path.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::error::{push_index, push_key};

/// A parsed JSON document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document<'a> {
    text: &'a str,
    root: Json,
    /// Children of arrays and objects; each container's are contiguous.
    values: Vec<Json>,
    /// The key of each entry of `values` (an empty string for array elements).
    keys: Vec<Str>,
    /// Strings that contained escapes, unescaped.
    unescaped: Vec<String>,
}

/// One JSON value; arrays, objects and strings refer into the [`Document`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// A number written without fraction or exponent that fits `i64`.
    Int(i64),
    Float(f64),
    String(Str),
    Array(Span),
    Object(ObjectSpan),
}

/// A string: a range of the text, or (when `len` is `u32::MAX`) an index
/// into the unescaped strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Str {
    start: u32,
    len: u32,
}

const UNESCAPED: u32 = u32::MAX;

/// Where a container's children are in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    start: u32,
    len: u32,
}

/// An object's entries, and the first of them whose key came before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectSpan {
    entries: Span,
    /// Index within the object; `u32::MAX` when every key is unique.
    duplicate: u32,
}

impl ObjectSpan {
    /// The index (within the object) of the first entry whose key an earlier
    /// entry already has.
    pub fn duplicate(&self) -> Option<usize> {
        (self.duplicate != u32::MAX).then_some(self.duplicate as usize)
    }
}

/// The largest text a document indexes with its 32-bit offsets.
const MAX_TEXT_LEN: usize = (u32::MAX / 2) as usize;

/// Most arrays and objects nested in one another. The deepest the format
/// goes is conditions at their limit (12 levels, two JSON levels each) under
/// a campaign, about 30; 64 leaves room for descriptive `meta`. It is below
/// serde_json's own recursion limit (128), so a deeper document is refused
/// here, with the path down to where the limit was hit, rather than by the
/// parser with only a line and column.
pub const MAX_JSON_DEPTH: usize = 64;

/// Text that is not a JSON document, and where in it reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The path of the value being read when it failed, like
    /// `campaigns[2].popup.title` (empty at the top level).
    pub path: String,
    /// serde_json's message, with line and column.
    pub message: String,
}

impl<'a> Document<'a> {
    /// Parses JSON text.
    pub fn parse(text: &'a str) -> Result<Document<'a>, SyntaxError> {
        if text.len() > MAX_TEXT_LEN {
            return Err(SyntaxError {
                path: String::new(),
                message: format!("more than {MAX_TEXT_LEN} bytes"),
            });
        }
        let mut builder = Builder::with_capacity_for(text);
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let parsed = Seed(&mut builder)
            .deserialize(&mut deserializer)
            .and_then(|root| deserializer.end().map(|()| root));
        match parsed {
            Ok(root) => Ok(builder.finish(root)),
            Err(e) => Err(SyntaxError {
                path: builder.path_text(),
                message: e.to_string(),
            }),
        }
    }

    pub fn root(&self) -> &Json {
        &self.root
    }

    pub fn str(&self, s: Str) -> &str {
        if s.len == UNESCAPED {
            &self.unescaped[s.start as usize]
        } else {
            &self.text[s.start as usize..(s.start + s.len) as usize]
        }
    }

    /// An array's elements.
    pub fn elements(&self, span: Span) -> &[Json] {
        &self.values[span.start as usize..(span.start + span.len) as usize]
    }

    /// An object's keys and values, in document order.
    pub fn entries(&self, object: ObjectSpan) -> (&[Str], &[Json]) {
        let range =
            object.entries.start as usize..(object.entries.start + object.entries.len) as usize;
        (&self.keys[range.clone()], &self.values[range])
    }

    /// The property value `json` holds, as `Value::from_json` reads it: a
    /// string, number, boolean or list of strings; `None` otherwise.
    pub fn to_value(&self, json: &Json) -> Option<crate::value::Value> {
        use crate::value::Value;
        match json {
            Json::String(s) => Some(Value::String(self.str(*s).to_owned())),
            Json::Bool(b) => Some(Value::Bool(*b)),
            Json::Int(i) => Some(Value::Int(*i)),
            Json::Float(f) => Some(Value::Float(*f)),
            Json::Array(span) => self
                .elements(*span)
                .iter()
                .map(|i| match i {
                    Json::String(s) => Some(self.str(*s).to_owned()),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(Value::StringList),
            Json::Null | Json::Object(_) => None,
        }
    }
}

impl Json {
    /// The kind of value, for error messages: "a string", "an object", …
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Int(_) | Json::Float(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

/// Builds a document from a `serde_json::Value`, for tests written with `json!`.
impl From<serde_json::Value> for Document<'static> {
    fn from(value: serde_json::Value) -> Document<'static> {
        fn add(b: &mut Builder<'static>, value: serde_json::Value) -> Json {
            match value {
                serde_json::Value::Null => Json::Null,
                serde_json::Value::Bool(x) => Json::Bool(x),
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => Json::Int(i),
                    None => Json::Float(n.as_f64().unwrap_or(f64::NAN)),
                },
                serde_json::Value::String(s) => Json::String(b.own(s)),
                serde_json::Value::Array(items) => {
                    let mark = b.pending.len();
                    for item in items {
                        let json = add(b, item);
                        b.pending.push((Str::EMPTY, json));
                    }
                    Json::Array(b.close(mark))
                }
                serde_json::Value::Object(map) => {
                    let mark = b.pending.len();
                    for (k, v) in map {
                        let json = add(b, v);
                        let key = b.own(k);
                        b.pending.push((key, json));
                    }
                    Json::Object(b.close_object(mark))
                }
            }
        }
        let mut builder = Builder::with_capacity_for("");
        let root = add(&mut builder, value);
        builder.finish(root)
    }
}

impl Str {
    const EMPTY: Str = Str { start: 0, len: 0 };
}

/// Collects values while parsing. A container's children gather on the
/// pending stack (their own children, if containers, close first), then move
/// side by side into the arena when it closes.
struct Builder<'a> {
    text: &'a str,
    values: Vec<Json>,
    keys: Vec<Str>,
    unescaped: Vec<String>,
    pending: Vec<(Str, Json)>,
    /// Where the parser is: one step per open container (its key or index
    /// in its parent), so a syntax error can name its path.
    path: Vec<Step>,
}

/// One step down into a container.
#[derive(Debug, Clone, Copy)]
enum Step {
    Key(Str),
    Index(usize),
    /// Inside a container, before its first entry or between entries.
    Between,
}

impl<'a> Builder<'a> {
    /// Sizes the arena once from a count of the text's punctuation, instead
    /// of growing it by copying. Every element or entry but the first in a
    /// container follows a `,`, and every container opens with `[` or `{`;
    /// punctuation inside strings only over-counts.
    fn with_capacity_for(text: &'a str) -> Builder<'a> {
        let cells = text
            .bytes()
            .filter(|b| matches!(b, b',' | b'[' | b'{'))
            .count();
        Builder {
            text,
            values: Vec::with_capacity(cells),
            keys: Vec::with_capacity(cells),
            unescaped: Vec::new(),
            pending: Vec::new(),
            path: Vec::new(),
        }
    }

    fn key_text(&self, s: Str) -> &str {
        if s.len == UNESCAPED {
            &self.unescaped[s.start as usize]
        } else {
            &self.text[s.start as usize..(s.start + s.len) as usize]
        }
    }

    /// The path of the value being read, as `Node::path` writes paths.
    fn path_text(&self) -> String {
        let mut out = String::new();
        for step in &self.path {
            match step {
                Step::Key(k) => push_key(&mut out, self.key_text(*k)),
                Step::Index(i) => push_index(&mut out, *i),
                Step::Between => {}
            }
        }
        out
    }

    /// Enters a container, refusing one nested deeper than [`MAX_JSON_DEPTH`].
    fn enter<E: serde::de::Error>(&mut self) -> Result<(), E> {
        if self.path.len() >= MAX_JSON_DEPTH {
            return Err(E::custom(format!(
                "arrays and objects nest deeper than {MAX_JSON_DEPTH} levels"
            )));
        }
        self.path.push(Step::Between);
        Ok(())
    }

    /// The string as a range of the text when it is one, else stored apart.
    fn borrowed(&self, s: &'a str) -> Str {
        let start = s.as_ptr() as usize - self.text.as_ptr() as usize;
        Str {
            start: start as u32,
            len: s.len() as u32,
        }
    }

    fn own(&mut self, s: String) -> Str {
        self.unescaped.push(s);
        Str {
            start: (self.unescaped.len() - 1) as u32,
            len: UNESCAPED,
        }
    }

    fn close(&mut self, mark: usize) -> Span {
        let start = self.values.len();
        for (key, value) in self.pending.drain(mark..) {
            self.keys.push(key);
            self.values.push(value);
        }
        Span {
            start: start as u32,
            len: (self.values.len() - start) as u32,
        }
    }

    fn close_object(&mut self, mark: usize) -> ObjectSpan {
        let duplicate = self.first_duplicate(mark).map_or(u32::MAX, |i| i as u32);
        ObjectSpan {
            entries: self.close(mark),
            duplicate,
        }
    }

    /// The index of the first pending key (from `mark`) that appeared before.
    /// Sorting for large objects keeps a hostile pack with a huge `meta` from
    /// costing quadratic time.
    fn first_duplicate(&self, mark: usize) -> Option<usize> {
        /// Up to this many keys a pairwise scan is cheaper than sorting.
        const PAIRWISE_SCAN_MAX: usize = 16;
        let entries = &self.pending[mark..];
        let key = |i: usize| self.key_text(entries[i].0);
        if entries.len() <= PAIRWISE_SCAN_MAX {
            return (1..entries.len()).find(|&i| (0..i).any(|j| key(j) == key(i)));
        }
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by(|&a, &b| key(a).cmp(key(b)).then(a.cmp(&b)));
        order
            .windows(2)
            .filter(|w| key(w[0]) == key(w[1]))
            .map(|w| w[1])
            .min()
    }

    fn finish(self, root: Json) -> Document<'a> {
        debug_assert!(self.pending.is_empty());
        Document {
            text: self.text,
            root,
            values: self.values,
            keys: self.keys,
            unescaped: self.unescaped,
        }
    }
}

/// Parses one value into the builder.
struct Seed<'b, 'a>(&'b mut Builder<'a>);

impl<'de> DeserializeSeed<'de> for Seed<'_, 'de> {
    type Value = Json;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_, 'de> {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Json, E> {
        Ok(Json::Int(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Json, E> {
        Ok(i64::try_from(u).map_or(Json::Float(u as f64), Json::Int))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Json, E> {
        Ok(Json::Float(f))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Json, E> {
        Ok(Json::String(self.0.borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Json, E> {
        Ok(Json::String(self.0.own(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Json, E> {
        Ok(Json::String(self.0.own(s)))
    }

    // On an error the path is left as it stands: it names where reading
    // stopped.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let builder = self.0;
        builder.enter()?;
        let mark = builder.pending.len();
        let mut index = 0;
        loop {
            *builder.path.last_mut().expect("entered") = Step::Index(index);
            let Some(item) = seq.next_element_seed(Seed(&mut *builder))? else {
                break;
            };
            builder.pending.push((Str::EMPTY, item));
            index += 1;
        }
        builder.path.pop();
        Ok(Json::Array(builder.close(mark)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let builder = self.0;
        builder.enter()?;
        let mark = builder.pending.len();
        while let Some(key) = map.next_key_seed(KeySeed(&mut *builder))? {
            *builder.path.last_mut().expect("entered") = Step::Key(key);
            let value = map.next_value_seed(Seed(&mut *builder))?;
            builder.pending.push((key, value));
            *builder.path.last_mut().expect("entered") = Step::Between;
        }
        builder.path.pop();
        Ok(Json::Object(builder.close_object(mark)))
    }
}

/// Parses an object key.
struct KeySeed<'b, 'a>(&'b mut Builder<'a>);

impl<'de> DeserializeSeed<'de> for KeySeed<'_, 'de> {
    type Value = Str;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Str, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, 'de> {
    type Value = Str;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Str, E> {
        Ok(self.0.borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Str, E> {
        Ok(self.0.own(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Str, E> {
        Ok(self.0.own(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object<'d>(doc: &'d Document, json: &Json) -> (Vec<&'d str>, &'d [Json], Option<usize>) {
        let Json::Object(o) = json else {
            panic!("not an object")
        };
        let (keys, values) = doc.entries(*o);
        (
            keys.iter().map(|k| doc.str(*k)).collect(),
            values,
            o.duplicate(),
        )
    }

    #[test]
    fn cells_are_small() {
        assert_eq!(size_of::<Json>(), 16);
    }

    #[test]
    fn reads_every_kind_and_keeps_duplicate_keys() {
        let text = r#"{"a": "plain", "b": "esc\"aped", "a": [1, -2, 2.5, 18446744073709551615, null, true, {"c\n": []}]}"#;
        let doc = Document::parse(text).unwrap();
        let (keys, values, duplicate) = object(&doc, doc.root());
        assert_eq!(keys, ["a", "b", "a"], "both \"a\" kept");
        assert_eq!(duplicate, Some(2));
        let Json::String(plain) = values[0] else {
            panic!()
        };
        assert_eq!(doc.str(plain), "plain");
        let Json::String(escaped) = values[1] else {
            panic!()
        };
        assert_eq!(doc.str(escaped), "esc\"aped");
        let Json::Array(items) = values[2] else {
            panic!()
        };
        let items = doc.elements(items);
        assert_eq!(
            items[..6],
            [
                Json::Int(1),
                Json::Int(-2),
                Json::Float(2.5),
                Json::Float(18446744073709551615.0),
                Json::Null,
                Json::Bool(true),
            ]
        );
        let (keys, values, _) = object(&doc, &items[6]);
        assert_eq!(keys, ["c\n"]);
        assert!(matches!(values[0], Json::Array(Span { len: 0, .. })));
    }

    #[test]
    fn refuses_text_that_is_not_one_json_value() {
        assert!(Document::parse("{} {}").is_err());
        assert!(Document::parse("{").is_err());
        assert!(Document::parse("").is_err());
    }

    #[test]
    fn a_syntax_error_names_the_path_where_reading_stopped() {
        let path = |text: &str| Document::parse(text).unwrap_err().path;
        assert_eq!(
            path(r#"{"campaigns": [{"id": "a"}, {"id": tru}]}"#),
            "campaigns[1].id"
        );
        assert_eq!(path(r#"{"a": {"zh-CN": [1, 2,]}}"#), "a[\"zh-CN\"][2]");
        assert_eq!(path(r#"{"a": 1,}"#), "");
        assert_eq!(path("[1, 2"), "[2]");
        let e = Document::parse(r#"{"a": "\x"}"#).unwrap_err();
        assert_eq!(e.path, "a");
        assert!(e.message.contains("line 1"), "{}", e.message);
    }

    #[test]
    fn nesting_past_the_limit_is_refused_with_its_path() {
        let nested = |depth: usize| {
            let mut text = String::from(r#"{"meta": "#);
            text.push_str(&"[".repeat(depth - 1));
            text.push_str(&"]".repeat(depth - 1));
            text.push('}');
            text
        };
        assert!(Document::parse(&nested(MAX_JSON_DEPTH)).is_ok());
        let e = Document::parse(&nested(MAX_JSON_DEPTH + 1)).unwrap_err();
        assert!(e.message.contains("deeper than 64 levels"), "{}", e.message);
        assert_eq!(e.path, format!("meta{}", "[0]".repeat(MAX_JSON_DEPTH - 1)));
        // Far past serde_json's own limit (128) too: still ours, still a path.
        let e = Document::parse(&nested(100_000)).unwrap_err();
        assert!(e.message.contains("deeper than 64 levels"), "{}", e.message);
        assert!(e.path.starts_with("meta[0][0]"), "{}", e.path);
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
            object(&doc, doc.root()).2
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
        let escaped = Document::parse(r#"{"a": 1, "\u0061": 2}"#).unwrap();
        assert_eq!(
            object(&escaped, escaped.root()).2,
            Some(1),
            "escapes do not hide a repeat"
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
            let text = v.to_string();
            let parsed = Document::parse(&text).unwrap();
            assert_eq!(parsed.to_value(parsed.root()), Value::from_json(&v), "{v}");
        }
    }
}
