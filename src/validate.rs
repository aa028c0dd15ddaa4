//! Checks an event on the caller's thread before it is queued.
//!
//! Runs on every `track()`, so it never allocates on the success path and the
//! size check estimates the JSON length instead of serialising.

use std::fmt;

use crate::value::Value;

/// Longest event name or property key. Long enough for any sensible name,
/// short enough that a name can never be a smuggled payload.
pub const MAX_NAME_CHARS: usize = 255;
/// Most properties on one event. Matches the common collector limits and keeps
/// one event's property map small enough to evaluate rules against quickly.
pub const MAX_PROPERTIES: usize = 255;
/// Largest properties object as JSON. Segment's collector refuses events over
/// 32 KB; refusing them here reports the mistake to the developer instead of
/// losing the event at upload.
pub const MAX_PROPERTIES_JSON_BYTES: usize = 32 * 1024;
/// Names starting with this are Reach's own events (`reach.popup.shown`...).
pub const RESERVED_PREFIX: &str = "reach.";

/// Why an event (or a user-properties update) was refused. The `code` is what
/// `diagnostics()` counts by; the Display text is what the log and the strict
/// error say.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejection {
    NameEmpty,
    NameTooLong { chars: usize },
    NameControlCharacter,
    NameReservedPrefix { name: String },
    TooManyProperties { count: usize },
    PropertiesTooLarge { bytes: usize },
    PropertyKeyInvalid { key: String, why: &'static str },
    DuplicateProperty { key: String },
    NonFiniteFloat { key: String },
    UnsupportedValue { key: String, type_name: String },
    ConsentDenied,
    Closed,
}

impl Rejection {
    pub const CODES: [&'static str; 12] = [
        "name_empty",
        "name_too_long",
        "name_control_character",
        "name_reserved_prefix",
        "too_many_properties",
        "properties_too_large",
        "property_key_invalid",
        "duplicate_property",
        "non_finite_float",
        "unsupported_value",
        "consent_denied",
        "closed",
    ];

    /// Index into `CODES`, used for lock-free counters.
    pub fn index(&self) -> usize {
        match self {
            Rejection::NameEmpty => 0,
            Rejection::NameTooLong { .. } => 1,
            Rejection::NameControlCharacter => 2,
            Rejection::NameReservedPrefix { .. } => 3,
            Rejection::TooManyProperties { .. } => 4,
            Rejection::PropertiesTooLarge { .. } => 5,
            Rejection::PropertyKeyInvalid { .. } => 6,
            Rejection::DuplicateProperty { .. } => 7,
            Rejection::NonFiniteFloat { .. } => 8,
            Rejection::UnsupportedValue { .. } => 9,
            Rejection::ConsentDenied => 10,
            Rejection::Closed => 11,
        }
    }

    pub fn code(&self) -> &'static str {
        Self::CODES[self.index()]
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::NameEmpty => write!(f, "event name is empty"),
            Rejection::NameTooLong { chars } => {
                write!(f, "event name has {chars} characters, the limit is {MAX_NAME_CHARS}")
            }
            Rejection::NameControlCharacter => write!(f, "event name contains a control character"),
            Rejection::NameReservedPrefix { name } => write!(
                f,
                "event name \"{name}\" starts with \"{RESERVED_PREFIX}\", which is reserved for Reach's own events"
            ),
            Rejection::TooManyProperties { count } => {
                write!(f, "{count} properties, the limit is {MAX_PROPERTIES}")
            }
            Rejection::PropertiesTooLarge { bytes } => write!(
                f,
                "properties take {bytes} bytes as JSON, the limit is {MAX_PROPERTIES_JSON_BYTES}"
            ),
            Rejection::PropertyKeyInvalid { key, why } => {
                write!(f, "property key {key:?} is invalid: {why}")
            }
            Rejection::DuplicateProperty { key } => write!(f, "property {key:?} is given twice"),
            Rejection::NonFiniteFloat { key } => {
                write!(f, "property {key:?} is not a finite number (NaN or infinity)")
            }
            Rejection::UnsupportedValue { key, type_name } => write!(
                f,
                "property {key:?} has a value of type {type_name}, which Reach cannot store \
                 (use string, integer, float, bool, timestamp or list of strings)"
            ),
            Rejection::ConsentDenied => write!(f, "consent is denied: nothing is recorded"),
            Rejection::Closed => write!(f, "this Reach instance is closed"),
        }
    }
}

/// Checks an event name.
pub fn check_name(name: &str) -> Result<(), Rejection> {
    if name.is_empty() {
        return Err(Rejection::NameEmpty);
    }
    if name.len() > MAX_NAME_CHARS {
        let chars = name.chars().count();
        if chars > MAX_NAME_CHARS {
            return Err(Rejection::NameTooLong { chars });
        }
    }
    if name.chars().any(char::is_control) {
        return Err(Rejection::NameControlCharacter);
    }
    if name.len() >= RESERVED_PREFIX.len()
        && name.as_bytes()[..RESERVED_PREFIX.len()].eq_ignore_ascii_case(RESERVED_PREFIX.as_bytes())
    {
        return Err(Rejection::NameReservedPrefix {
            name: name.to_owned(),
        });
    }
    Ok(())
}

fn check_key(key: &str) -> Result<(), Rejection> {
    let why = if key.is_empty() {
        "empty"
    } else if key.len() > MAX_NAME_CHARS && key.chars().count() > MAX_NAME_CHARS {
        "longer than 255 characters"
    } else if key.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(Rejection::PropertyKeyInvalid {
        key: key.chars().take(64).collect(),
        why,
    })
}

/// Checks a set of properties (of an event, or user properties).
pub fn check_properties<'a, I>(props: I) -> Result<(), Rejection>
where
    I: IntoIterator<Item = (&'a String, &'a Value)>,
    I::IntoIter: ExactSizeIterator + Clone,
{
    let iter = props.into_iter();
    let exact = iter.clone();
    let count = iter.len();
    if count > MAX_PROPERTIES {
        return Err(Rejection::TooManyProperties { count });
    }
    // `{}` plus a comma between entries.
    let mut bytes = 2 + count.saturating_sub(1);
    let mut has_float = false;
    for (key, value) in iter {
        check_key(key)?;
        bytes += json_string_len(key) + 1;
        bytes += match value {
            Value::String(s) => json_string_len(s),
            Value::Int(i) => int_len(*i),
            Value::Float(f) => {
                if !f.is_finite() {
                    return Err(Rejection::NonFiniteFloat { key: key.clone() });
                }
                has_float = true;
                FLOAT_MAX_JSON_LEN
            }
            Value::Bool(b) => {
                if *b {
                    4
                } else {
                    5
                }
            }
            Value::Timestamp(ms) => timestamp_json_len(*ms),
            Value::StringList(items) => {
                2 + items.len().saturating_sub(1)
                    + items.iter().map(|s| json_string_len(s)).sum::<usize>()
            }
            Value::Unsupported(type_name) => {
                return Err(Rejection::UnsupportedValue {
                    key: key.clone(),
                    type_name: type_name.clone(),
                })
            }
        };
    }
    // Floats were counted at their longest; only when that pushes the estimate
    // over the limit is the exact length worth computing.
    if bytes > MAX_PROPERTIES_JSON_BYTES && has_float {
        for (_, value) in exact.clone() {
            if let Value::Float(f) = value {
                bytes -= FLOAT_MAX_JSON_LEN;
                bytes += serde_json::to_string(f)
                    .map(|s| s.len())
                    .unwrap_or(FLOAT_MAX_JSON_LEN);
            }
        }
    }
    if bytes > MAX_PROPERTIES_JSON_BYTES {
        return Err(Rejection::PropertiesTooLarge { bytes });
    }
    Ok(())
}

/// Longest JSON text of an f64 as serde_json writes it (ryu: sign, 17
/// significant digits, point, exponent).
const FLOAT_MAX_JSON_LEN: usize = 24;
/// `"2026-11-24T02:28:15.123Z"` with its quotes.
const TIMESTAMP_JSON_LEN: usize = 26;
/// The times written with four-digit years (0000-01-01 to 9999-12-31), so
/// in `TIMESTAMP_JSON_LEN` bytes.
const FOUR_DIGIT_YEARS_MS: std::ops::RangeInclusive<i64> =
    -62_167_219_200_000..=253_402_300_799_999;

/// Length of a timestamp as JSON. Other years (`+10000-…`, `-0001-…`) are
/// longer; only they are formatted to be measured, so the common case
/// allocates nothing.
fn timestamp_json_len(ms: i64) -> usize {
    if FOUR_DIGIT_YEARS_MS.contains(&ms) {
        TIMESTAMP_JSON_LEN
    } else {
        crate::rfc3339::rfc3339_ms(ms).len() + 2
    }
}

/// Length of `s` as a JSON string literal, quotes included, escaped as
/// serde_json escapes.
fn json_string_len(s: &str) -> usize {
    let mut n = s.len() + 2;
    for &b in s.as_bytes() {
        match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => n += 1,
            0..=0x1f => n += 5,
            _ => {}
        }
    }
    n
}

fn int_len(i: i64) -> usize {
    let mut n = if i < 0 { 2 } else { 1 };
    let mut v = i.unsigned_abs();
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: Vec<(&str, Value)>) -> Vec<(String, Value)> {
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    fn check(p: &[(String, Value)]) -> Result<(), Rejection> {
        check_properties(p.iter().map(|(k, v)| (k, v)))
    }

    #[test]
    fn names_are_checked_for_each_rule() {
        assert_eq!(check_name(""), Err(Rejection::NameEmpty));
        assert!(matches!(
            check_name(&"x".repeat(256)),
            Err(Rejection::NameTooLong { chars: 256 })
        ));
        assert!(
            check_name(&"é".repeat(255)).is_ok(),
            "the limit counts characters, not bytes"
        );
        assert_eq!(check_name("a\nb"), Err(Rejection::NameControlCharacter));
        assert!(matches!(
            check_name("reach.popup.shown"),
            Err(Rejection::NameReservedPrefix { .. })
        ));
        assert!(matches!(
            check_name("Reach.x"),
            Err(Rejection::NameReservedPrefix { .. })
        ));
        assert!(check_name("reachable").is_ok());
        assert!(check_name("register").is_ok());
    }

    #[test]
    fn properties_are_checked_for_each_rule() {
        assert!(check(&props(vec![("a", Value::Float(f64::NAN))])).is_err());
        assert_eq!(
            check(&props(vec![("a", Value::Float(f64::INFINITY))])),
            Err(Rejection::NonFiniteFloat { key: "a".into() })
        );
        assert!(matches!(
            check(&props(vec![("", Value::Int(1))])),
            Err(Rejection::PropertyKeyInvalid { why: "empty", .. })
        ));
        assert!(matches!(
            check(&props(vec![("x", Value::Unsupported("null".into()))])),
            Err(Rejection::UnsupportedValue { .. })
        ));
        let many: Vec<_> = (0..256).map(|i| (format!("k{i}"), Value::Int(i))).collect();
        assert_eq!(
            check(&many),
            Err(Rejection::TooManyProperties { count: 256 })
        );
        let max: Vec<_> = (0..255).map(|i| (format!("k{i}"), Value::Int(i))).collect();
        assert!(check(&max).is_ok());
    }

    #[test]
    fn size_limit_matches_the_serialised_json_exactly_at_the_edge() {
        // {"k":"<s>"} is 8 bytes plus the string: find the longest that fits.
        let fits = "x".repeat(MAX_PROPERTIES_JSON_BYTES - 8);
        let p = props(vec![("k", Value::String(fits))]);
        let json = serde_json::to_string(
            &p.iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<std::collections::BTreeMap<_, _>>(),
        )
        .unwrap();
        assert_eq!(json.len(), MAX_PROPERTIES_JSON_BYTES);
        assert!(check(&p).is_ok());
        let over = props(vec![(
            "k",
            Value::String("x".repeat(MAX_PROPERTIES_JSON_BYTES - 7)),
        )]);
        assert!(matches!(
            check(&over),
            Err(Rejection::PropertiesTooLarge { .. })
        ));
        // Escapes count as serde_json writes them.
        let quoted = props(vec![("k", Value::String("\"\u{1}".into()))]);
        let json = serde_json::to_string(&serde_json::json!({"k": "\"\u{1}"})).unwrap();
        assert_eq!(json_string_len("\"\u{1}") + 6, json.len());
        assert!(check(&quoted).is_ok());
    }

    #[test]
    fn timestamp_lengths_match_their_json_in_every_year() {
        for ms in [
            0,
            -1,
            *FOUR_DIGIT_YEARS_MS.start(),
            *FOUR_DIGIT_YEARS_MS.start() - 1,
            *FOUR_DIGIT_YEARS_MS.end(),
            *FOUR_DIGIT_YEARS_MS.end() + 1,
            8_210_298_412_799_999,
            i64::MIN,
            i64::MAX,
        ] {
            let json = serde_json::to_string(&Value::Timestamp(ms)).unwrap();
            assert_eq!(timestamp_json_len(ms), json.len(), "{ms}: {json}");
        }
        // Timestamps of year 10000 and later once counted 26 bytes and took
        // 28 or 29: enough of them passed the check and serialised past it.
        let far: Vec<_> = (0..255)
            .map(|i| (format!("{i:0>97}"), Value::Timestamp(6_000_000_000_000_000)))
            .collect();
        let json = crate::value::properties_to_json(&far);
        assert!(json.len() > MAX_PROPERTIES_JSON_BYTES);
        assert!(matches!(
            check(&far),
            Err(Rejection::PropertiesTooLarge { .. })
        ));
    }

    #[test]
    fn integer_lengths_match_their_decimal_text() {
        for i in [0i64, 9, 10, -1, -10, 12345, i64::MIN, i64::MAX] {
            assert_eq!(int_len(i), i.to_string().len(), "{i}");
        }
    }
}
