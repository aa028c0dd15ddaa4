//! Server-computed segments per person (docs/protocol.md, "Segments"): `GET /v1/segments?user_id=ID` (or
//! `anonymous_id=ID`) answers the person's segment names with an ETag and `Cache-Control: max-age=600`, so the
//! SDK asks conditionally; `POST /v1/segments` (admin token) sets one person's whole list, which is how a
//! data team's job (or a test) feeds them in. An unknown person has no segments: `200` with an empty list.
//!
//! Its table lives in the shared database, created here on start (`CREATE TABLE IF NOT EXISTS`), so this module
//! owns its schema and SQL; it knows nothing of HTTP.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{params, OptionalExtension};
use serde_json::{json, Value};

use crate::error::{ApiError, ServerError};
use crate::packs::etag;
use crate::store::Store;

/// How long a client may reuse an answer without asking. Segments come from batch jobs; the SDK never asks more
/// often than every ten minutes anyway (its `MIN_SEGMENTS_INTERVAL`), so a longer age would only delay changes.
pub const CACHE_CONTROL: &str = "max-age=600";

/// Most segments per person, as the SDK reads them (its `MAX_SEGMENTS`): a longer list would be refused there.
pub const MAX_SEGMENTS: usize = 1_000;

/// Longest segment name, as for names in rule packs (the SDK's `MAX_NAME_LEN`).
pub const MAX_SEGMENT_NAME_CHARS: usize = 256;

/// Longest user or anonymous id accepted: ids are tokens; a longer one is a client bug, not a person.
pub const MAX_PERSON_ID_CHARS: usize = 256;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS segments (
    kind       TEXT NOT NULL,    -- 'user_id' or 'anonymous_id'
    person     TEXT NOT NULL,
    names      TEXT NOT NULL,    -- JSON array, sorted, no repeats
    updated_at INTEGER NOT NULL, -- Unix milliseconds
    PRIMARY KEY (kind, person)
);
";

/// Creates the table if the database has none yet.
pub fn init(store: &Store) -> Result<(), ServerError> {
    store.conn().execute_batch(SCHEMA)?;
    Ok(())
}

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

/// Whom a request is about: `("user_id" | "anonymous_id", id)`.
type Person = (&'static str, String);

fn check_id(kind: &'static str, id: &str) -> Result<Person, ApiError> {
    if id.is_empty() || id.chars().count() > MAX_PERSON_ID_CHARS {
        return Err(ApiError::invalid_request(format!(
            "{kind} must have 1 to {MAX_PERSON_ID_CHARS} characters"
        )));
    }
    Ok((kind, id.to_owned()))
}

/// The person named by the query: exactly one of `user_id`, `anonymous_id`, percent-decoded.
pub fn person_from_query(query: Option<&str>) -> Result<Person, ApiError> {
    let mut found = Vec::new();
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let kind = match k {
            "user_id" => "user_id",
            "anonymous_id" => "anonymous_id",
            _ => continue,
        };
        let id = percent_decode(v).ok_or_else(|| {
            ApiError::invalid_request(format!("{kind} is not valid percent-encoded UTF-8"))
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

fn load(store: &Store, (kind, person): &Person) -> Result<BTreeSet<String>, ApiError> {
    let names: Option<String> = store
        .conn()
        .query_row(
            "SELECT names FROM segments WHERE kind = ?1 AND person = ?2",
            params![kind, person],
            |r| r.get(0),
        )
        .optional()?;
    match names {
        None => Ok(BTreeSet::new()),
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| ApiError::internal(format!("stored segments are unreadable: {e}"))),
    }
}

/// The body both calls answer: `{"user_id": ID, "segments": [sorted names]}`.
fn body((kind, person): &Person, names: &BTreeSet<String>) -> Vec<u8> {
    json!({ *kind: person, "segments": names })
        .to_string()
        .into_bytes()
}

/// `GET /v1/segments`: the person's segments, or `304` when `If-None-Match` names the current ETag.
pub fn get(
    store: &Store,
    counters: &SegmentCounters,
    query: Option<&str>,
    if_none_match: Option<&str>,
) -> Result<SegmentsAnswer, ApiError> {
    let person = person_from_query(query)?;
    let body = body(&person, &load(store, &person)?);
    let etag = etag(&body);
    let unchanged = if_none_match.is_some_and(|h| {
        h.split(',')
            .map(str::trim)
            .any(|t| t == "*" || t.trim_start_matches("W/") == etag)
    });
    if unchanged {
        counters.not_modified.fetch_add(1, Ordering::Relaxed);
        Ok(SegmentsAnswer::NotModified { etag })
    } else {
        counters.fresh.fetch_add(1, Ordering::Relaxed);
        Ok(SegmentsAnswer::Fresh { body, etag })
    }
}

/// `POST /v1/segments` (admin): `{"user_id" | "anonymous_id": ID, "segments": [NAME, …]}` replaces the person's
/// list (an empty list deletes it). Repeats are folded; names follow the SDK's rules, so nothing set here is
/// refused on the device. Answers what `GET` now serves.
pub fn set(store: &Store, raw: &[u8], now_ms: i64) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(raw)
        .map_err(|e| ApiError::invalid_json(format!("the body is not JSON: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| ApiError::invalid_request("the body must be a JSON object"))?;
    let mut people = Vec::new();
    for kind in ["user_id", "anonymous_id"] {
        if let Some(v) = object.get(kind) {
            let id = v
                .as_str()
                .ok_or_else(|| ApiError::invalid_request(format!("{kind}: expected a string")))?;
            people.push(check_id(kind, id)?);
        }
    }
    if people.len() != 1 {
        return Err(ApiError::invalid_request(
            "name exactly one person: \"user_id\" or \"anonymous_id\"",
        ));
    }
    let person = people.remove(0);
    let list = object
        .get("segments")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::invalid_request("segments: expected an array of names"))?;
    if list.len() > MAX_SEGMENTS {
        return Err(ApiError::invalid_request(format!(
            "segments: at most {MAX_SEGMENTS} entries, found {}",
            list.len()
        )));
    }
    let mut names = BTreeSet::new();
    for (i, item) in list.iter().enumerate() {
        let name = item
            .as_str()
            .filter(|n| !n.is_empty() && n.trim() == *n && n.chars().count() <= MAX_SEGMENT_NAME_CHARS)
            .ok_or_else(|| {
                ApiError::invalid_request(format!(
                    "segments[{i}]: a name is a string of 1 to {MAX_SEGMENT_NAME_CHARS} characters without blanks around it"
                ))
            })?;
        names.insert(name.to_owned());
    }
    let (kind, id) = &person;
    let conn = store.conn();
    if names.is_empty() {
        conn.execute(
            "DELETE FROM segments WHERE kind = ?1 AND person = ?2",
            params![kind, id],
        )?;
    } else {
        let json = serde_json::to_string(&names).map_err(|e| ApiError::internal(e.to_string()))?;
        conn.execute(
            "INSERT INTO segments (kind, person, names, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (kind, person) DO UPDATE SET names = excluded.names, updated_at = excluded.updated_at",
            params![kind, id, json, now_ms],
        )?;
    }
    drop(conn);
    serde_json::from_slice(&body(&person, &names)).map_err(|e| ApiError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        init(&store).unwrap();
        (dir, store)
    }

    #[test]
    fn the_query_names_exactly_one_person() {
        assert_eq!(
            person_from_query(Some("user_id=a%20b%C3%A7")).unwrap(),
            ("user_id", "a bç".to_owned())
        );
        assert_eq!(
            person_from_query(Some("x=1&anonymous_id=an")).unwrap(),
            ("anonymous_id", "an".to_owned())
        );
        for bad in [
            None,
            Some(""),
            Some("user_id="),
            Some("user_id=a&anonymous_id=b"),
            Some("user_id=%ff"),
        ] {
            assert_eq!(person_from_query(bad).unwrap_err().status, 400, "{bad:?}");
        }
    }

    #[test]
    fn set_then_get_with_etag_and_304() {
        let (_dir, store) = store();
        let counters = SegmentCounters::default();
        let set_answer = set(
            &store,
            br#"{"user_id":"u1","segments":["whale","vip","vip"]}"#,
            1,
        )
        .unwrap();
        assert_eq!(
            set_answer,
            json!({"user_id": "u1", "segments": ["vip", "whale"]})
        );
        let SegmentsAnswer::Fresh { body, etag } =
            get(&store, &counters, Some("user_id=u1"), None).unwrap()
        else {
            panic!("expected a fresh answer");
        };
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), set_answer);
        assert_eq!(
            get(&store, &counters, Some("user_id=u1"), Some(&etag)).unwrap(),
            SegmentsAnswer::NotModified { etag: etag.clone() }
        );
        // Another person, and the same id as an anonymous id, have none.
        for q in ["user_id=u2", "anonymous_id=u1"] {
            let SegmentsAnswer::Fresh { body, .. } =
                get(&store, &counters, Some(q), Some(&etag)).unwrap()
            else {
                panic!("{q}: a different body, a different ETag");
            };
            assert_eq!(
                serde_json::from_slice::<Value>(&body).unwrap()["segments"],
                json!([])
            );
        }
        // A change makes a new ETag; an empty list deletes.
        set(&store, br#"{"user_id":"u1","segments":["vip"]}"#, 2).unwrap();
        assert!(matches!(
            get(&store, &counters, Some("user_id=u1"), Some(&etag)).unwrap(),
            SegmentsAnswer::Fresh { .. }
        ));
        set(&store, br#"{"user_id":"u1","segments":[]}"#, 3).unwrap();
        let n: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM segments", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        assert_eq!(counters.not_modified.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn malformed_sets_are_refused_and_change_nothing() {
        let (_dir, store) = store();
        set(&store, br#"{"user_id":"u1","segments":["vip"]}"#, 1).unwrap();
        for bad in [
            "nope",
            "[]",
            r#"{"segments":["a"]}"#,
            r#"{"user_id":"u1","anonymous_id":"a","segments":["a"]}"#,
            r#"{"user_id":7,"segments":["a"]}"#,
            r#"{"user_id":"u1"}"#,
            r#"{"user_id":"u1","segments":"a"}"#,
            r#"{"user_id":"u1","segments":["ok"," padded"]}"#,
            r#"{"user_id":"u1","segments":[""]}"#,
            r#"{"user_id":"u1","segments":[1]}"#,
        ] {
            assert!(set(&store, bad.as_bytes(), 2).is_err(), "{bad}");
        }
        let e = set(
            &store,
            br#"{"user_id":"u1","segments":["ok"," padded"]}"#,
            2,
        )
        .unwrap_err();
        assert!(e.message.starts_with("segments[1]:"), "{}", e.message);
        assert_eq!(
            load(&store, &("user_id", "u1".into())).unwrap(),
            ["vip".to_owned()].into()
        );
    }
}
