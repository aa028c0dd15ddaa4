//! The batch body's JSON, read in place instead of into a `serde_json::Value` tree.
//!
//! Building a `Value` per event (a `String` per key and value, a map node per entry) and serializing it again
//! to store it was most of the server's CPU per event. Here the body is read twice, with no tree:
//! 1. `parse_body`: the envelope. Every top-level value is checked, and `batch` comes back as its elements'
//!    slices of the body (`&RawValue`: serde_json checks their syntax only).
//! 2. `parse_event`: each element again, fully (what `Value` would refuse — a lone surrogate escape, a number
//!    out of range, nesting past serde_json's limit — is refused the same way). It keeps only the fields the
//!    validation reads, borrowed where they need no unescaping, and the event's length as compact JSON.
//!
//! The stored event is the element's slice as received. It parses to the same `Value` as the compact text the
//! server stored before (same key/value pairs, the last of a repeated key winning, same numbers), so readers
//! see no difference; `MAX_EVENT_BYTES` is still measured on the compact form, as docs/protocol.md says,
//! which `compact_len` computes exactly as serde_json would write it (`Value` serialization: keys sorted,
//! a repeated key once, its escapes, its number formatting).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Number;

/// The deepest nesting of arrays and objects serde_json accepts (its recursion limit, 128, counts the level
/// that fails). Checked here because `RawValue` does not check it, and an event read on its own starts 2
/// levels higher than it does inside the body.
const MAX_NESTING: usize = 127;

/// The nesting level of an event: inside the body object (1) and its `batch` array (2).
const EVENT_LEVEL: usize = 3;

/// The top of a body: either a batch or valid JSON that is not one.
pub(super) enum Body<'a> {
    /// An object with a `batch` array (the last one, if `batch` is repeated): its elements as received.
    Batch(Vec<&'a RawValue>),
    /// Valid JSON without a `batch` array.
    NotABatch,
}

/// Reads the envelope; errors are syntax errors (the body is not JSON).
pub(super) fn parse_body(json: &str) -> Result<Body<'_>, serde_json::Error> {
    serde_json::from_str(json)
}

/// A field the validation reads, as received.
#[derive(Debug, Default, PartialEq)]
pub(super) enum Field<'a> {
    #[default]
    Absent,
    Null,
    Str(Cow<'a, str>),
    Number(Number),
    Bool(bool),
    /// An array or an object.
    Other,
}

/// What the validation needs from one event.
#[derive(Debug, Default, PartialEq)]
pub(super) struct EventFields<'a> {
    /// Whether the event is a JSON object (nothing else is read when it is not).
    pub object: bool,
    pub kind: Field<'a>,
    pub message_id: Field<'a>,
    pub timestamp: Field<'a>,
    pub event: Field<'a>,
    pub name: Field<'a>,
    pub group_id: Field<'a>,
    pub previous_id: Field<'a>,
    pub user_id: Field<'a>,
    /// `properties.campaign_id`, when `properties` is an object holding it.
    pub campaign_id: Field<'a>,
    /// `properties.test` is `true`: a test person's or a preview's event.
    pub test: bool,
    /// The event's length as compact JSON, as `Value::to_string` would write it.
    pub compact_len: usize,
}

/// Reads one element of `batch` fully; an error means the body is not JSON (or nests too deep).
pub(super) fn parse_event(raw: &str) -> Result<EventFields<'_>, serde_json::Error> {
    serde_json::from_str(raw)
}

impl<'de> Deserialize<'de> for Body<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = Body<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body<'de>, A::Error> {
        let mut batch = None;
        while let Some(Key(key)) = map.next_key()? {
            if key == "batch" {
                batch = map.next_value_seed(BatchSeed)?;
            } else {
                map.next_value_seed(Compact { level: 2 })?;
            }
        }
        Ok(batch.map_or(Body::NotABatch, Body::Batch))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Body<'de>, A::Error> {
        Compact { level: 1 }.visit_seq(seq)?;
        Ok(Body::NotABatch)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Body<'de>, E> {
        Ok(Body::NotABatch)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Body<'de>, E> {
        Ok(Body::NotABatch)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Body<'de>, E> {
        Ok(Body::NotABatch)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Body<'de>, E> {
        Ok(Body::NotABatch)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Body<'de>, E> {
        Ok(Body::NotABatch)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Body<'de>, E> {
        Ok(Body::NotABatch)
    }
}

/// The value of `batch`: its elements if it is an array, `None` (after checking it) otherwise.
struct BatchSeed;

impl<'de> DeserializeSeed<'de> for BatchSeed {
    type Value = Option<Vec<&'de RawValue>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BatchSeed {
    type Value = Option<Vec<&'de RawValue>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut events = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(raw) = seq.next_element()? {
            events.push(raw);
        }
        Ok(Some(events))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Compact { level: 2 }.visit_map(map)?;
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// An object key, borrowed from the body unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }
}

/// Any JSON value, checked and measured: its length as compact JSON. `level` is the nesting level an array
/// or object here has.
#[derive(Clone, Copy)]
struct Compact {
    level: usize,
}

impl Compact {
    /// The level of the values inside an array or object here, refusing one nested too deep.
    fn enter<E: de::Error>(self) -> Result<Compact, E> {
        if self.level > MAX_NESTING {
            return Err(E::custom("recursion limit exceeded"));
        }
        Ok(Compact {
            level: self.level + 1,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Compact {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Compact {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<usize, E> {
        Ok(if v { 4 } else { 5 })
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<usize, E> {
        Ok(usize::from(v < 0) + digits(v.unsigned_abs()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<usize, E> {
        Ok(digits(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<usize, E> {
        // `Value` holds a non-finite float as `null`.
        Ok(Number::from_f64(v).map_or(4, |n| number_len(&n)))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<usize, E> {
        Ok(unescaped_len(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
        Ok(escaped_len(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<usize, E> {
        Ok(4)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let inner = self.enter()?;
        let (mut len, mut n) = (2, 0usize);
        while let Some(l) = seq.next_element_seed(inner)? {
            len += l;
            n += 1;
        }
        Ok(len + n.saturating_sub(1))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let inner = self.enter()?;
        let mut entries = Entries::default();
        while let Some(Key(key)) = map.next_key()? {
            let len = map.next_value_seed(inner)?;
            entries.push(key, len);
        }
        Ok(entries.compact_len())
    }
}

/// An object's entries as compact JSON: each key with the length of `"key":value`.
#[derive(Default)]
struct Entries<'a>(Vec<(Cow<'a, str>, usize)>);

impl<'a> Entries<'a> {
    fn push(&mut self, key: Cow<'a, str>, value_len: usize) {
        let key_len = match &key {
            Cow::Borrowed(k) => unescaped_len(k),
            Cow::Owned(k) => escaped_len(k),
        };
        self.0.push((key, key_len + 1 + value_len));
    }

    /// `{…}` with each key once: `Value` keeps a repeated key's last value.
    fn compact_len(mut self) -> usize {
        let entries = &self.0;
        let n = entries.len();
        // Objects are small and keys rarely repeat: comparing each pair is cheaper than sorting, up to a size
        // where sorting wins (and stays O(n log n) for a huge object).
        let repeated = if n <= PAIRWISE_KEYS {
            (1..n).any(|i| entries[..i].iter().any(|(k, _)| *k == entries[i].0))
        } else {
            true
        };
        if !repeated {
            let sum: usize = entries.iter().map(|(_, l)| l).sum();
            return 2 + sum + n.saturating_sub(1);
        }
        // Stable, so a repeated key's last occurrence ends its run.
        self.0.sort_by(|a, b| a.0.cmp(&b.0));
        let (mut len, mut kept) = (2, 0usize);
        for (i, (key, l)) in self.0.iter().enumerate() {
            if self.0.get(i + 1).is_some_and(|next| next.0 == *key) {
                continue;
            }
            len += l;
            kept += 1;
        }
        len + kept.saturating_sub(1)
    }
}

/// Objects up to this many keys are checked for a repeated key pair by pair (≤ 496 comparisons, most of them
/// decided by the length or the first byte); larger ones are sorted.
const PAIRWISE_KEYS: usize = 32;

/// A string serde_json handed over borrowed: it had no escape in the body, so it holds no byte serde_json
/// escapes (`"`, `\` and control characters cannot appear unescaped in JSON); quoted, it is 2 bytes longer.
fn unescaped_len(s: &str) -> usize {
    2 + s.len()
}

/// Decimal digits of `v`.
fn digits(v: u64) -> usize {
    v.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// How serde_json writes a number (`Display` and serialization share the formatting).
fn number_len(n: &Number) -> usize {
    struct Count(usize);
    impl fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = fmt::write(&mut count, format_args!("{n}"));
    count.0
}

/// A string as serde_json writes it: quoted, `"` `\` and control characters escaped (`\b \t \n \f \r` in
/// two bytes, the rest as `\u00XX`), everything else as is.
fn escaped_len(s: &str) -> usize {
    let extra: usize = s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | 0x08 | b'\t' | b'\n' | 0x0c | b'\r' => 1,
            0..=0x1f => 5,
            _ => 0,
        })
        .sum();
    2 + s.len() + extra
}

impl<'de> Deserialize<'de> for EventFields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EventVisitor)
    }
}

/// Non-objects: measured and checked, nothing read.
macro_rules! scalars_to_compact {
    ($wrap:expr) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            self.compact().visit_bool(v).map($wrap)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            self.compact().visit_i64(v).map($wrap)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.compact().visit_u64(v).map($wrap)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            self.compact().visit_f64(v).map($wrap)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            self.compact().visit_str(v).map($wrap)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            self.compact().visit_unit().map($wrap)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            self.compact().visit_seq(seq).map($wrap)
        }
    };
}

struct EventVisitor;

impl EventVisitor {
    fn compact(&self) -> Compact {
        Compact { level: EVENT_LEVEL }
    }
}

impl<'de> Visitor<'de> for EventVisitor {
    type Value = EventFields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    scalars_to_compact!(|compact_len| EventFields {
        compact_len,
        ..EventFields::default()
    });

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventFields<'de>, A::Error> {
        let inner = Compact { level: EVENT_LEVEL }.enter()?;
        let mut f = EventFields {
            object: true,
            ..EventFields::default()
        };
        let mut entries = Entries(Vec::with_capacity(16));
        while let Some(Key(key)) = map.next_key()? {
            let slot = match &*key {
                "type" => Some(&mut f.kind),
                "messageId" => Some(&mut f.message_id),
                "timestamp" => Some(&mut f.timestamp),
                "event" => Some(&mut f.event),
                "name" => Some(&mut f.name),
                "groupId" => Some(&mut f.group_id),
                "previousId" => Some(&mut f.previous_id),
                "userId" => Some(&mut f.user_id),
                _ => None,
            };
            let len = if let Some(slot) = slot {
                let (field, len) = map.next_value_seed(FieldSeed(inner))?;
                *slot = field;
                len
            } else if key == "properties" {
                let (campaign_id, test, len) = map.next_value_seed(PropertiesSeed(inner))?;
                f.campaign_id = campaign_id;
                f.test = test;
                len
            } else {
                map.next_value_seed(inner)?
            };
            entries.push(key, len);
        }
        f.compact_len = entries.compact_len();
        Ok(f)
    }
}

/// A field the validation reads, with its compact length.
#[derive(Clone, Copy)]
struct FieldSeed(Compact);

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = (Field<'de>, usize);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed {
    type Value = (Field<'de>, usize);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok((Field::Str(Cow::Borrowed(v)), escaped_len(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok((Field::Str(Cow::Owned(v.to_owned())), escaped_len(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok((Field::Null, 4))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok((Field::Number(v.into()), digits(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok((Field::Number(v.into()), self.0.visit_i64::<E>(v)?))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(match Number::from_f64(v) {
            Some(n) => {
                let len = number_len(&n);
                (Field::Number(n), len)
            }
            None => (Field::Null, 4),
        })
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok((Field::Bool(v), self.0.visit_bool::<E>(v)?))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Ok((Field::Other, self.0.visit_seq(seq)?))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok((Field::Other, self.0.visit_map(map)?))
    }
}

/// `properties`: its `campaign_id` and whether `test` is `true` when it is an object, with its compact length.
struct PropertiesSeed(Compact);

impl PropertiesSeed {
    fn compact(&self) -> Compact {
        self.0
    }
}

impl<'de> DeserializeSeed<'de> for PropertiesSeed {
    type Value = (Field<'de>, bool, usize);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PropertiesSeed {
    type Value = (Field<'de>, bool, usize);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    scalars_to_compact!(|len| (Field::Absent, false, len));

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let inner = self.0.enter()?;
        let mut campaign_id = Field::Absent;
        let mut test = false;
        let mut entries = Entries(Vec::with_capacity(8));
        while let Some(Key(key)) = map.next_key()? {
            let len = if key == "campaign_id" {
                let (field, len) = map.next_value_seed(FieldSeed(inner))?;
                campaign_id = field;
                len
            } else if key == "test" {
                // The last of repeated keys wins, as for every field.
                let (field, len) = map.next_value_seed(FieldSeed(inner))?;
                test = field == Field::Bool(true);
                len
            } else {
                map.next_value_seed(inner)?
            };
            entries.push(key, len);
        }
        Ok((campaign_id, test, entries.compact_len()))
    }
}
