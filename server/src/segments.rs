//! Server-computed segments per person (docs/protocol.md, "Segments"): `GET /v1/segments?user_id=ID` (or
//! `anonymous_id=ID`, write key) answers the person's segment names with an ETag and `Cache-Control`, so the SDK
//! asks conditionally; `POST /v1/segments` (admin token) replaces one person's list, which is how a data team's
//! job (or a test) feeds them in. An unknown person has no segments: `200` with an empty list.
//!
//! What is checked here is what the SDK checks when it reads an answer (`src/sync/segments.rs`), so nothing set
//! through this server is refused on the device. The store (`store::Storage`) keeps the names; this module knows
//! neither SQL nor HTTP.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

use crate::error::ApiError;
use crate::packs;
use crate::store::{PersonKind, Storage};

/// How long a client may reuse an answer without asking. Segments come from batch jobs (hourly or daily); the
/// SDK never asks more often than every ten minutes anyway (its `MIN_SEGMENTS_INTERVAL`), so a longer age would
/// only delay changes. `private`: the answer is one person's, no shared cache may keep it.
pub const CACHE_CONTROL: &str = "private, max-age=600";

/// Most segments per person, as the SDK reads them (its `MAX_SEGMENTS`): a longer list is refused there.
pub const MAX_SEGMENTS: usize = 1_000;

/// Longest segment name, in characters: the SDK's rule for names in packs and answers (`MAX_NAME_LEN`).
pub const MAX_SEGMENT_NAME_CHARS: usize = 256;

/// Longest user or anonymous id, in characters. Ids are tokens (UUIDs, database keys, e-mail addresses); this
/// bound keeps the request line under the 8 KB that servers and proxies commonly accept (256 characters of
/// 4-byte UTF-8, percent-encoded, are 3 KB). A person with a longer id has no segments.
pub const MAX_PERSON_ID_CHARS: usize = 256;

/// The largest answer the SDK reads (its `MAX_SEGMENTS_ANSWER_BYTES`): a list whose answer would be longer is
/// refused when it is set, not discovered on every device.
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// The largest `POST /v1/segments` body: the same list as the answer, with room for whitespace and escapes the
/// compact answer does not have.
pub const MAX_SET_BODY: usize = 2 * MAX_ANSWER_BYTES;

/// Answers served since start, for tests: fresh (`200`) and not modified (`304`).
#[derive(Debug, Default)]
pub struct SegmentCounters {
    pub fresh: AtomicU64,
    pub not_modified: AtomicU64,
}

/// What a `GET` gets.
#[derive(Debug, PartialEq, Eq)]
pub enum SegmentsAnswer {
    Fresh { body: Vec<u8>, etag: String },
    NotModified { etag: String },
}

/// Whom a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Person {
    kind: PersonKind,
    id: String,
}

/// An id as `identify()` accepts it (not empty, no control characters; U+0000 is one, which PostgreSQL text
/// cannot hold), at most [`MAX_PERSON_ID_CHARS`].
fn check_id(kind: PersonKind, id: &str) -> Result<Person, ApiError> {
    let field = kind.field();
    if id.is_empty() || id.chars().count() > MAX_PERSON_ID_CHARS {
        return Err(ApiError::invalid_request(format!(
            "{field}: an id has 1 to {MAX_PERSON_ID_CHARS} characters"
        )));
    }
    if id.chars().any(char::is_control) {
        return Err(ApiError::invalid_request(format!(
            "{field}: an id has no control characters"
        )));
    }
    Ok(Person {
        kind,
        id: id.to_owned(),
    })
}

fn kind_of(field: &str) -> Option<PersonKind> {
    match field {
        "user_id" => Some(PersonKind::User),
        "anonymous_id" => Some(PersonKind::Anonymous),
        _ => None,
    }
}

/// The person the query names: exactly one of `user_id`, `anonymous_id`, percent-decoded (`+` is a space, as
/// in forms; the SDK encodes every byte outside `A-Z a-z 0-9 - _ . ~`). Other parameters are ignored.
fn person_from_query(query: Option<&str>) -> Result<Person, ApiError> {
    let mut found = Vec::new();
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(kind) = kind_of(key) else { continue };
        let id = percent_decode(value).ok_or_else(|| {
            ApiError::invalid_request(format!("{key}: not valid percent-encoded UTF-8"))
        })?;
        found.push(check_id(kind, &id)?);
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(ApiError::invalid_request(
            "name the person: ?user_id=ID or ?anonymous_id=ID",
        )),
        _ => Err(ApiError::invalid_request(
            "name one person: user_id or anonymous_id, once",
        )),
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The body both calls answer: `{"user_id" | "anonymous_id": ID, "segments": [names, sorted]}`. Sorted, so
/// every replica answers the same bytes, and the same ETag, for the same list.
fn body(person: &Person, names: &BTreeSet<String>) -> Vec<u8> {
    json!({ person.kind.field(): person.id, "segments": names })
        .to_string()
        .into_bytes()
}

/// `GET /v1/segments`: the person's segments, or `304` when `If-None-Match` names the current ETag.
pub fn get(
    store: &dyn Storage,
    counters: &SegmentCounters,
    query: Option<&str>,
    if_none_match: Option<&str>,
) -> Result<SegmentsAnswer, ApiError> {
    let person = person_from_query(query)?;
    let names: BTreeSet<String> = store
        .segments(person.kind, &person.id)?
        .into_iter()
        .collect();
    let body = body(&person, &names);
    let etag = packs::etag(&body);
    if if_none_match.is_some_and(|h| packs::matches(h, &etag)) {
        counters.not_modified.fetch_add(1, Ordering::Relaxed);
        Ok(SegmentsAnswer::NotModified { etag })
    } else {
        counters.fresh.fetch_add(1, Ordering::Relaxed);
        Ok(SegmentsAnswer::Fresh { body, etag })
    }
}

/// `POST /v1/segments` (admin): `{"user_id" | "anonymous_id": ID, "segments": [NAME, …]}` replaces the person's
/// list (an empty list removes it). Repeats are folded; names follow the SDK's rules. Answers what `GET` now
/// serves for the person.
pub fn set(store: &dyn Storage, raw: &[u8]) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(raw)
        .map_err(|e| ApiError::invalid_json(format!("the body is not JSON: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| ApiError::invalid_request("the body must be a JSON object"))?;
    let mut people = Vec::new();
    for (key, v) in object {
        if key == "segments" {
            continue;
        }
        let kind = kind_of(key).ok_or_else(|| {
            ApiError::invalid_request(format!(
                "{key}: unknown field (expected \"user_id\" or \"anonymous_id\", and \"segments\")"
            ))
        })?;
        let id = v
            .as_str()
            .ok_or_else(|| ApiError::invalid_request(format!("{key}: expected a string")))?;
        people.push(check_id(kind, id)?);
    }
    if people.len() != 1 {
        return Err(ApiError::invalid_request(
            "name exactly one person: \"user_id\" or \"anonymous_id\"",
        ));
    }
    let person = people.remove(0);
    let list = object
        .get("segments")
        .ok_or_else(|| ApiError::invalid_request("segments: missing"))?
        .as_array()
        .ok_or_else(|| ApiError::invalid_request("segments: expected an array of names"))?;
    if list.len() > MAX_SEGMENTS {
        return Err(ApiError::invalid_request(format!(
            "segments: at most {MAX_SEGMENTS} entries, found {}",
            list.len()
        )));
    }
    let mut names = BTreeSet::new();
    for (i, item) in list.iter().enumerate() {
        let name = item.as_str().ok_or_else(|| {
            ApiError::invalid_request(format!("segments[{i}]: expected a string"))
        })?;
        let fits = !name.is_empty()
            && name.trim() == name
            && name.chars().count() <= MAX_SEGMENT_NAME_CHARS
            && !name.contains('\0');
        if !fits {
            return Err(ApiError::invalid_request(format!(
                "segments[{i}]: a segment name is 1 to {MAX_SEGMENT_NAME_CHARS} characters without blanks \
                 around it or U+0000"
            )));
        }
        names.insert(name.to_owned());
    }
    let answer = body(&person, &names);
    if answer.len() > MAX_ANSWER_BYTES {
        return Err(ApiError::invalid_request(format!(
            "segments: the answer would be {} bytes, more than the {MAX_ANSWER_BYTES} the SDK reads",
            answer.len()
        )));
    }
    let list: Vec<String> = names.into_iter().collect();
    store.set_segments(person.kind, &person.id, &list)?;
    serde_json::from_slice(&answer).map_err(|e| ApiError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{open, Database};

    fn store() -> (tempfile::TempDir, Box<dyn Storage>) {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&Database::Sqlite, dir.path()).unwrap();
        (dir, store)
    }

    fn fresh(answer: SegmentsAnswer) -> (Value, String) {
        match answer {
            SegmentsAnswer::Fresh { body, etag } => (serde_json::from_slice(&body).unwrap(), etag),
            other => panic!("expected a fresh answer, got {other:?}"),
        }
    }

    #[test]
    fn the_query_names_exactly_one_person() {
        let user = |id: &str| Person {
            kind: PersonKind::User,
            id: id.into(),
        };
        assert_eq!(
            person_from_query(Some("user_id=a%20b%C3%A7+c")).unwrap(),
            user("a bç c")
        );
        assert_eq!(
            person_from_query(Some("x=1&anonymous_id=an")).unwrap(),
            Person {
                kind: PersonKind::Anonymous,
                id: "an".into()
            }
        );
        let longest = "é".repeat(MAX_PERSON_ID_CHARS);
        assert!(person_from_query(Some(&format!("user_id={longest}"))).is_ok());
        for bad in [
            None,
            Some(""),
            Some("user_id="),
            Some("user_id=a&anonymous_id=b"),
            Some("user_id=a&user_id=a"),
            Some("user_id=%ff"),
            Some("user_id=%4"),
            Some("user_id=a%00b"),
            Some("user_id=a%0Ab"),
            Some(&format!("user_id={longest}e")),
        ] {
            let e = person_from_query(bad).unwrap_err();
            assert_eq!((e.status, e.code), (400, "invalid_request"), "{bad:?}");
        }
    }

    #[test]
    fn set_then_get_with_etag_and_304() {
        let (_dir, store) = store();
        let counters = SegmentCounters::default();
        let set_answer = set(
            &*store,
            br#"{"user_id":"u1","segments":["whale","vip","vip"]}"#,
        )
        .unwrap();
        assert_eq!(
            set_answer,
            json!({"user_id": "u1", "segments": ["vip", "whale"]})
        );
        let (body, etag) = fresh(get(&*store, &counters, Some("user_id=u1"), None).unwrap());
        assert_eq!(body, set_answer);
        assert_eq!(
            get(&*store, &counters, Some("user_id=u1"), Some(&etag)).unwrap(),
            SegmentsAnswer::NotModified { etag: etag.clone() }
        );
        // Another person, and the same id as an anonymous id, have none (and another ETag).
        for q in ["user_id=u2", "anonymous_id=u1"] {
            let (body, _) = fresh(get(&*store, &counters, Some(q), Some(&etag)).unwrap());
            assert_eq!(body["segments"], json!([]), "{q}");
        }
        // A change makes a new ETag; an empty list removes the person.
        set(&*store, br#"{"user_id":"u1","segments":["vip"]}"#).unwrap();
        let (body, _) = fresh(get(&*store, &counters, Some("user_id=u1"), Some(&etag)).unwrap());
        assert_eq!(body["segments"], json!(["vip"]));
        set(&*store, br#"{"user_id":"u1","segments":[]}"#).unwrap();
        assert!(store.segments(PersonKind::User, "u1").unwrap().is_empty());
        assert_eq!(counters.not_modified.load(Ordering::Relaxed), 1);
        assert_eq!(counters.fresh.load(Ordering::Relaxed), 4);
    }

    #[test]
    fn malformed_sets_are_refused_with_the_path_and_change_nothing() {
        let (_dir, store) = store();
        set(&*store, br#"{"user_id":"u1","segments":["vip"]}"#).unwrap();
        let many: Vec<String> = (0..=MAX_SEGMENTS).map(|i| format!("s{i}")).collect();
        let too_many = json!({"user_id": "u1", "segments": many}).to_string();
        let long: Vec<String> = (0..MAX_SEGMENTS)
            .map(|i| format!("{i:03}{}", "é".repeat(MAX_SEGMENT_NAME_CHARS - 3)))
            .collect();
        let too_long_answer = json!({"user_id": "u1", "segments": long}).to_string();
        for (bad, message) in [
            ("nope", "the body is not JSON"),
            ("[]", "the body must be a JSON object"),
            (r#"{"segments":["a"]}"#, "name exactly one person"),
            (
                r#"{"user_id":"u1","anonymous_id":"a","segments":["a"]}"#,
                "name exactly one person",
            ),
            (
                r#"{"userId":"u1","segments":["a"]}"#,
                "userId: unknown field",
            ),
            (
                r#"{"user_id":7,"segments":["a"]}"#,
                "user_id: expected a string",
            ),
            (
                r#"{"user_id":"","segments":["a"]}"#,
                "user_id: an id has 1 to",
            ),
            (r#"{"user_id":"u1"}"#, "segments: missing"),
            (
                r#"{"user_id":"u1","segments":"a"}"#,
                "segments: expected an array",
            ),
            (
                r#"{"user_id":"u1","segments":["ok"," padded"]}"#,
                "segments[1]:",
            ),
            (r#"{"user_id":"u1","segments":[""]}"#, "segments[0]:"),
            (r#"{"user_id":"u1","segments":["a\u0000"]}"#, "segments[0]:"),
            (
                r#"{"user_id":"u1","segments":["ok",1]}"#,
                "segments[1]: expected a string",
            ),
            (&too_many, "segments: at most 1000 entries, found 1001"),
            (&too_long_answer, "segments: the answer would be"),
        ] {
            let e = set(&*store, bad.as_bytes()).unwrap_err();
            assert!(e.message.starts_with(message), "{bad:.80}: {}", e.message);
            assert_eq!(e.status, 400);
        }
        assert_eq!(
            store.segments(PersonKind::User, "u1").unwrap(),
            vec!["vip".to_owned()]
        );
    }

    #[test]
    fn the_largest_list_the_sdk_reads_can_be_set() {
        let (_dir, store) = store();
        let names: Vec<String> = (0..MAX_SEGMENTS)
            .map(|i| format!("{i:04}{}", "x".repeat(MAX_SEGMENT_NAME_CHARS - 4)))
            .collect();
        let raw = json!({"anonymous_id": "an-1", "segments": names}).to_string();
        assert!(raw.len() < MAX_SET_BODY);
        let answer = set(&*store, raw.as_bytes()).unwrap();
        assert_eq!(answer["segments"].as_array().unwrap().len(), MAX_SEGMENTS);
    }
}
