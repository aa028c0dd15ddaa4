//! Walking a parsed JSON document while remembering where we are, so that every
//! error names its field, and enforcing the unknown-key rule in one place.
//!
//! The path is a chain of borrowed segments on the stack: nothing is allocated
//! while a pack is valid, and the path string is only built for an error.
//!
//! An object with the same key twice is refused (with the key's path): JSON
//! leaves it undefined, and taking either copy would drop the other silently.
//!
//! # The unknown-key rule
//! Every object of the format has a closed set of keys. Beyond those, each such
//! object may carry *descriptive* keys, which the SDK ignores whatever they hold:
//! `label`, `description`, `notes`, `meta`, and any key starting with `x-` (for
//! tools that write packs). Any other key is an error: an unknown condition,
//! operator or trigger kind must never be dropped silently, since a dropped
//! condition widens the audience. Maps whose keys are data (a popup's `payload`,
//! localised texts, a tracked event's `properties`) take every key as data.

use super::error::{cut, push_index, push_key, FieldError, MAX_MESSAGE_CHARS};
use super::json::{Document, Json, Str};

/// Keys every object of the format may carry and the SDK ignores.
pub const DESCRIPTIVE_KEYS: [&str; 4] = ["label", "description", "notes", "meta"];

/// Prefix of keys the SDK ignores, reserved for tools that write packs.
pub const DESCRIPTIVE_PREFIX: &str = "x-";

/// Whether the SDK ignores this key in any object of the format.
pub fn is_descriptive_key(key: &str) -> bool {
    DESCRIPTIVE_KEYS.contains(&key) || key.starts_with(DESCRIPTIVE_PREFIX)
}

#[derive(Clone, Copy, Debug)]
enum Segment<'j> {
    Root,
    Key(&'j str),
    Index(usize),
}

/// A JSON value together with its path in the document.
#[derive(Clone, Copy, Debug)]
pub struct Node<'j, 'p> {
    doc: &'j Document<'j>,
    json: &'j Json,
    segment: Segment<'j>,
    parent: Option<&'p Node<'j, 'p>>,
}

impl<'j> Node<'j, 'j> {
    /// The document itself.
    pub fn root(doc: &'j Document<'j>) -> Node<'j, 'j> {
        Node {
            doc,
            json: doc.root(),
            segment: Segment::Root,
            parent: None,
        }
    }
}

impl<'j, 'p> Node<'j, 'p> {
    fn child<'s>(&'s self, segment: Segment<'j>, json: &'j Json) -> Node<'j, 's> {
        Node {
            doc: self.doc,
            json,
            segment,
            parent: Some(self),
        }
    }

    /// The path as operators read it: `campaigns[3].trigger.where[1].op`. Keys
    /// that are not plain words are quoted: `title["zh-CN"]`.
    pub fn path(&self) -> String {
        let mut segments = Vec::new();
        let mut node = Some(self);
        while let Some(n) = node {
            segments.push(n.segment);
            node = n.parent;
        }
        let mut out = String::new();
        for segment in segments.iter().rev() {
            match segment {
                Segment::Root => {}
                Segment::Index(i) => push_index(&mut out, *i),
                Segment::Key(k) => push_key(&mut out, k),
            }
        }
        out
    }

    /// An error at this node; a message quoting a long value is cut at
    /// [`MAX_MESSAGE_CHARS`].
    pub fn error(&self, message: impl Into<String>) -> FieldError {
        let message = message.into();
        FieldError {
            path: self.path(),
            message: match cut(&message, MAX_MESSAGE_CHARS) {
                std::borrow::Cow::Borrowed(_) => message,
                std::borrow::Cow::Owned(cut) => cut,
            },
        }
    }

    fn expected(&self, what: &str) -> FieldError {
        self.error(format!("expected {what}, found {}", self.json.kind()))
    }

    /// The value's kind and, for scalars, its content.
    pub fn shape(&self) -> Shape<'j> {
        match self.json {
            Json::Null => Shape::Null,
            Json::Bool(b) => Shape::Bool(*b),
            Json::Int(i) => Shape::Int(*i),
            Json::Float(f) => Shape::Float(*f),
            Json::String(s) => Shape::String(self.doc.str(*s)),
            Json::Array(_) => Shape::Array,
            Json::Object(_) => Shape::Object,
        }
    }

    /// "a string", "an object", …, for error messages.
    pub fn kind(&self) -> &'static str {
        self.json.kind()
    }

    pub fn as_str(&self) -> Option<&'j str> {
        match self.json {
            Json::String(s) => Some(self.doc.str(*s)),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self.json {
            Json::Int(i) => Some(*i as f64),
            Json::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn is_number(&self) -> bool {
        matches!(self.json, Json::Int(_) | Json::Float(_))
    }

    pub fn is_string(&self) -> bool {
        matches!(self.json, Json::String(_))
    }

    pub fn str(&self) -> Result<&'j str, FieldError> {
        self.as_str().ok_or_else(|| self.expected("a string"))
    }

    /// A string that is not empty and not only blanks.
    pub fn non_empty_str(&self) -> Result<&'j str, FieldError> {
        let s = self.str()?;
        if s.trim().is_empty() {
            return Err(self.error("must not be empty"));
        }
        Ok(s)
    }

    /// A non-empty string of at most `max_chars` characters.
    pub fn short_str(&self, max_chars: usize) -> Result<&'j str, FieldError> {
        let s = self.non_empty_str()?;
        if s.len() > max_chars && s.chars().count() > max_chars {
            return Err(self.error(format!("at most {max_chars} characters")));
        }
        Ok(s)
    }

    pub fn bool(&self) -> Result<bool, FieldError> {
        match self.json {
            Json::Bool(b) => Ok(*b),
            _ => Err(self.expected("true or false")),
        }
    }

    /// A whole number ≥ `min` that fits in `u32`.
    pub fn count(&self, min: u32) -> Result<u32, FieldError> {
        let Some(n) = self.integer() else {
            return Err(self.expected("a whole number"));
        };
        if n < i64::from(min) {
            return Err(self.error(format!("must be at least {min}, found {n}")));
        }
        u32::try_from(n).map_err(|_| self.error(format!("must be at most {}", u32::MAX)))
    }

    /// A whole number: `3` or `3.0`, not `3.5`.
    pub fn integer(&self) -> Option<i64> {
        match self.json {
            Json::Int(i) => Some(*i),
            Json::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            _ => None,
        }
    }

    /// An object whose keys must be among `allowed` or descriptive.
    pub fn object(self, allowed: &[&str]) -> Result<Object<'j, 'p>, FieldError> {
        let object = self.map()?;
        for key in object.keys() {
            if !allowed.contains(&key) && !is_descriptive_key(key) {
                return Err(self.error(unknown_key_message(key, allowed)));
            }
        }
        Ok(object)
    }

    /// An object whose keys are data: any key is accepted.
    pub fn map(self) -> Result<Object<'j, 'p>, FieldError> {
        let Json::Object(object) = self.json else {
            return Err(self.expected("an object"));
        };
        let (keys, values) = self.doc.entries(*object);
        if let Some(i) = object.duplicate() {
            let key = self.doc.str(keys[i]);
            return Err(self.error(format!("key \"{key}\" appears twice")));
        }
        Ok(Object {
            node: self,
            keys,
            values,
        })
    }

    /// The property value this node holds (string, number, boolean or list
    /// of strings), or `None`.
    pub fn property_value(&self) -> Option<crate::value::Value> {
        self.doc.to_value(self.json)
    }

    /// The elements of an array, each with its path.
    pub fn elements<'s>(
        &'s self,
    ) -> Result<impl ExactSizeIterator<Item = Node<'j, 's>> + 's, FieldError> {
        match self.json {
            Json::Array(span) => Ok(self
                .doc
                .elements(*span)
                .iter()
                .enumerate()
                .map(move |(i, item)| self.child(Segment::Index(i), item))),
            _ => Err(self.expected("an array")),
        }
    }

    /// The elements of an array that must not be empty.
    pub fn non_empty_elements<'s>(
        &'s self,
    ) -> Result<impl ExactSizeIterator<Item = Node<'j, 's>> + 's, FieldError> {
        let items = self.elements()?;
        if items.len() == 0 {
            return Err(self.error("must not be empty"));
        }
        Ok(items)
    }
}

/// What a [`Node`] holds, for reading values of several possible kinds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape<'j> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(&'j str),
    Array,
    Object,
}

/// A JSON object with its path.
#[derive(Clone, Copy, Debug)]
pub struct Object<'j, 'p> {
    node: Node<'j, 'p>,
    keys: &'j [Str],
    values: &'j [Json],
}

impl<'j, 'p> Object<'j, 'p> {
    fn keys(&self) -> impl Iterator<Item = &'j str> + use<'j> {
        let (doc, keys) = (self.node.doc, self.keys);
        keys.iter().map(move |k| doc.str(*k))
    }

    pub fn node(&self) -> &Node<'j, 'p> {
        &self.node
    }

    pub fn has(&self, key: &str) -> bool {
        self.keys().any(|k| k == key)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn get<'s>(&'s self, key: &str) -> Option<Node<'j, 's>> {
        let (i, k) = self.keys().enumerate().find(|(_, k)| *k == key)?;
        Some(self.node.child(Segment::Key(k), &self.values[i]))
    }

    pub fn required<'s>(&'s self, key: &str) -> Result<Node<'j, 's>, FieldError> {
        self.get(key)
            .ok_or_else(|| self.node.error(format!("missing required key \"{key}\"")))
    }

    /// All entries, each with its path; for maps whose keys are data.
    pub fn entries<'s>(&'s self) -> impl Iterator<Item = (&'j str, Node<'j, 's>)> + 's {
        self.keys()
            .zip(self.values)
            .map(move |(k, v)| (k, self.node.child(Segment::Key(k), v)))
    }

    /// The keys that are not descriptive; for objects whose meaning is chosen
    /// by which key they carry (conditions).
    pub fn meaningful_keys(&self) -> impl Iterator<Item = &'j str> {
        self.keys().filter(|k| !is_descriptive_key(k))
    }

    /// Reads an optional field with `read`, or returns `None` when it is absent.
    pub fn optional<T>(
        &self,
        key: &str,
        read: impl FnOnce(Node<'j, '_>) -> Result<T, FieldError>,
    ) -> Result<Option<T>, FieldError> {
        self.get(key).map(read).transpose()
    }
}

fn unknown_key_message(key: &str, allowed: &[&str]) -> String {
    let mut message = format!("unknown key \"{key}\"");
    if !allowed.is_empty() {
        message.push_str(" (expected one of: ");
        message.push_str(&allowed.join(", "));
        message.push(')');
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: serde_json::Value) -> Document<'static> {
        Document::from(v)
    }

    #[test]
    fn paths_name_keys_and_indices_and_quote_odd_keys() {
        let doc = doc(json!({"campaigns": [{}, {"title": {"zh-CN": 1}}]}));
        let root = Node::root(&doc);
        let pack = root.object(&["campaigns"]).unwrap();
        let campaigns = pack.required("campaigns").unwrap();
        let second = campaigns.elements().unwrap().nth(1).unwrap();
        let campaign = second.object(&["title"]).unwrap();
        let title = campaign.required("title").unwrap().map().unwrap();
        let zh = title.get("zh-CN").unwrap();
        assert_eq!(
            zh.str().unwrap_err().to_string(),
            "campaigns[1].title[\"zh-CN\"]: expected a string, found a number"
        );
    }

    #[test]
    fn descriptive_keys_are_ignored_and_others_refused() {
        let doc = doc(
            json!({"event": "x", "label": 1, "notes": [], "description": "d",
                         "meta": {"a": 1}, "x-editor": {"pos": 3}}),
        );
        assert!(Node::root(&doc).object(&["event"]).is_ok());
        let doc = super::tests::doc(json!({"event": "x", "lable": "typo"}));
        let e = Node::root(&doc).object(&["event"]).unwrap_err();
        assert_eq!(e.message, "unknown key \"lable\" (expected one of: event)");
    }

    #[test]
    fn counts_refuse_fractions_negatives_and_overflow() {
        for (doc, ok) in [
            (json!(3), Some(3)),
            (json!(3.0), Some(3)),
            (json!(3.5), None),
            (json!(-1), None),
            (json!(0), None),
            (json!(1u64 << 40), None),
            (json!("3"), None),
        ] {
            assert_eq!(
                Node::root(&Document::from(doc.clone())).count(1).ok(),
                ok,
                "{doc}"
            );
        }
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_path() {
        let text =
            r#"{"trigger": {"event": "a", "where": [], "where": [{"prop": "x", "op": "exists"}]}}"#;
        let json = Document::parse(text).unwrap();
        let root = Node::root(&json);
        let pack = root.object(&["trigger"]).unwrap();
        let trigger = pack.required("trigger").unwrap();
        assert_eq!(
            trigger.object(&["event", "where"]).unwrap_err().to_string(),
            "trigger: key \"where\" appears twice"
        );
        let many: String = (0..40).map(|i| format!("\"k{i}\": 1, ")).collect();
        let text = format!("{{{many}\"k7\": 2}}");
        let json = Document::parse(&text).unwrap();
        assert!(Node::root(&json)
            .map()
            .unwrap_err()
            .message
            .contains("\"k7\" appears twice"));
    }
}
