//! `POST /v1/batch`: the upload ingest. Authenticate, decode (gzip or plain, capped), validate every event, then
//! store the good ones in one transaction, deduplicated by `messageId`.
//!
//! It takes what real Segment clients send: all six call types (`track`, `identify`, `screen`, `page`, `group`,
//! `alias`) and whatever else an event carries (`context`, `integrations`, `_metadata`, `channel`, nulls), stored
//! as received. One bad event never refuses its batch: a client cannot tell which event was wrong, so it would
//! drop or resend the good ones with it. The good ones are stored, the bad ones are named by index in the answer
//! and counted (`events_refused`). Only a body that is not a batch at all is refused whole. A `messageId` already
//! stored is accepted and counted as a duplicate: a resend after an unknown outcome (timeout, lost answer) is the
//! normal case, not an error.

use base64::Engine;
use serde_json::{Map, Value};

use crate::body::{gunzip_capped, MAX_BODY};
use crate::error::ApiError;
use crate::store::Storage;
pub use crate::store::{Event, Outcome};

/// The protocol's limit on one event, serialized (docs/protocol.md). An event over it is refused with
/// `400 invalid_batch`, not `413`: the client answers 413 by splitting the batch, and a single event cannot be
/// split, so 413 would make it retry forever.
pub const MAX_EVENT_BYTES: usize = 32_768;

/// The Segment call types, as `type` names them.
pub const EVENT_TYPES: [&str; 6] = ["track", "identify", "screen", "page", "group", "alias"];

/// An event of the batch that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Its position in `batch`, from 0.
    pub index: usize,
    /// `batch[INDEX]: why`, for people.
    pub message: String,
}

/// A decoded batch: the events to store and the ones refused.
#[derive(Debug, Default, PartialEq)]
pub struct Decoded {
    pub events: Vec<Event>,
    pub refused: Vec<Refusal>,
}

/// Checks `Authorization: Basic base64(WRITE_KEY + ":")` against the configured keys. No keys configured means
/// the server is open (a demo or a test); the body's `writeKey` is informational and never consulted, so a key
/// cannot be smuggled past the check in a body the server has not yet decided to read.
pub fn authorize(write_keys: &[String], authorization: Option<&str>) -> Result<(), ApiError> {
    if write_keys.is_empty() {
        return Ok(());
    }
    let key = authorization.and_then(basic_user).ok_or_else(|| {
        ApiError::unauthorized(
            "missing write key: send Authorization: Basic base64(WRITE_KEY + \":\")",
        )
    })?;
    if write_keys.contains(&key) {
        Ok(())
    } else {
        Err(ApiError::unauthorized("unknown write key"))
    }
}

/// The user part of a Basic credential (`user:password` → `user`).
fn basic_user(header: &str) -> Option<String> {
    let (scheme, credential) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credential.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let user = text.split_once(':').map_or(text.as_str(), |(u, _)| u);
    (!user.is_empty()).then(|| user.to_string())
}

/// Turns the (already size-capped) request body into the batch's events and refusals, or refuses the body
/// when it is not a batch at all (not gzip or JSON, no `batch` array, too large).
pub fn decode(raw: &[u8], gzipped: bool) -> Result<Decoded, ApiError> {
    let inflated;
    let json = if gzipped {
        inflated = gunzip_capped(raw, MAX_BODY)?;
        &inflated[..]
    } else {
        if raw.len() > MAX_BODY {
            return Err(ApiError::too_large(format!(
                "body is larger than {MAX_BODY} bytes"
            )));
        }
        raw
    };
    let value: Value = serde_json::from_slice(json)
        .map_err(|e| ApiError::invalid_json(format!("body is not JSON: {e}")))?;
    let batch = value
        .get("batch")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ApiError::invalid_batch("missing \"batch\": expected {\"batch\": [EVENT, ...]}")
        })?;
    let mut decoded = Decoded::default();
    for (index, e) in batch.iter().enumerate() {
        match validate(index, e) {
            Ok(event) => decoded.events.push(event),
            Err(message) => decoded.refused.push(Refusal { index, message }),
        }
    }
    Ok(decoded)
}

fn validate(index: usize, event: &Value) -> Result<Event, String> {
    let refuse = |why: String| format!("batch[{index}]: {why}");
    let obj = event
        .as_object()
        .ok_or_else(|| refuse("an event must be a JSON object".into()))?;
    let kind = required_str(obj, "type").map_err(refuse)?;
    let message_id = required_str(obj, "messageId").map_err(refuse)?;
    required_str(obj, "timestamp").map_err(refuse)?;
    let name = match kind {
        "track" => Some(required_str(obj, "event").map_err(refuse)?),
        // A page or screen may be unnamed (the Segment libraries send `"name": null`).
        "screen" | "page" => optional_str(obj, "name").map_err(refuse)?,
        "identify" => None,
        "group" => {
            required_id(obj, "groupId").map_err(refuse)?;
            None
        }
        "alias" => {
            required_id(obj, "previousId").map_err(refuse)?;
            required_id(obj, "userId").map_err(refuse)?;
            None
        }
        other => {
            return Err(refuse(format!(
                "type {other:?} is not one of {}",
                EVENT_TYPES.join(", ")
            )))
        }
    };
    let json = event.to_string();
    if json.len() > MAX_EVENT_BYTES {
        return Err(refuse(format!(
            "event is {} bytes, more than {MAX_EVENT_BYTES}",
            json.len()
        )));
    }
    let campaign_id = obj
        .get("properties")
        .and_then(|p| p.get("campaign_id"))
        .and_then(|c| match c {
            Value::String(s) if s.contains('\0') => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    Ok(Event {
        message_id: message_id.to_string(),
        kind: kind.to_string(),
        name: name.map(str::to_string),
        campaign_id,
        json,
    })
}

/// A string field that may be absent or `null`, but not empty or of another type.
fn optional_str<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, String> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => required_str(obj, field).map(Some),
    }
}

/// An id (`groupId`, `previousId`, `userId`): a non-empty string, or a number as some libraries send.
fn required_id(obj: &Map<String, Value>, field: &str) -> Result<(), String> {
    match obj.get(field) {
        Some(Value::Number(_)) => Ok(()),
        _ => required_str(obj, field).map(|_| ()),
    }
}

fn required_str<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<&'a str, String> {
    match obj.get(field) {
        // PostgreSQL's text cannot hold U+0000, and no id or name needs it.
        Some(Value::String(s)) if s.contains('\0') => {
            Err(format!("\"{field}\" must not contain U+0000"))
        }
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(format!("\"{field}\" must be a non-empty string")),
        None => Err(format!("missing \"{field}\"")),
    }
}

/// Stores a decoded batch in one transaction: new `messageId`s are inserted, known ones only counted, refused
/// events counted.
pub fn store(store: &dyn Storage, decoded: &Decoded) -> Result<Outcome, ApiError> {
    Ok(store.store_batch(&decoded.events, decoded.refused.len() as u64)?)
}

/// The answer to a stored batch: `{"success": true}`, plus `refused` naming each event not stored.
pub fn answer(decoded: &Decoded) -> Value {
    if decoded.refused.is_empty() {
        return serde_json::json!({"success": true});
    }
    let refused: Vec<Value> = decoded
        .refused
        .iter()
        .map(|r| serde_json::json!({"index": r.index, "code": "invalid_event", "message": r.message}))
        .collect();
    serde_json::json!({"success": true, "refused": refused})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn track(id: &str) -> Value {
        json!({"type": "track", "event": "e", "messageId": id, "timestamp": "2026-11-24T05:10:44.123Z",
               "properties": {"campaign_id": "c1"}})
    }

    fn body(events: Vec<Value>) -> Vec<u8> {
        json!({"batch": events, "sentAt": "2026-11-24T05:10:44.123Z"})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn basic_credentials_are_matched_by_their_user_part() {
        let keys = vec!["wk1".to_string()];
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("wk1:")
        );
        assert!(authorize(&keys, Some(&header)).is_ok());
        assert_eq!(authorize(&keys, None).unwrap_err().status, 401);
        assert_eq!(
            authorize(&keys, Some("Bearer wk1")).unwrap_err().status,
            401
        );
        assert_eq!(authorize(&keys, Some("Basic !!!")).unwrap_err().status, 401);
        assert!(authorize(&[], None).is_ok());
    }

    #[test]
    fn each_required_field_is_named_by_index_and_the_rest_is_kept() {
        for (field, event) in [
            ("type", json!({"messageId": "m", "timestamp": "t"})),
            ("messageId", json!({"type": "identify", "timestamp": "t"})),
            ("timestamp", json!({"type": "identify", "messageId": "m"})),
            (
                "event",
                json!({"type": "track", "messageId": "m", "timestamp": "t"}),
            ),
            (
                "groupId",
                json!({"type": "group", "messageId": "m", "timestamp": "t"}),
            ),
            (
                "previousId",
                json!({"type": "alias", "userId": "u", "messageId": "m", "timestamp": "t"}),
            ),
        ] {
            let d = decode(&body(vec![track("ok"), event, track("ok2")]), false).unwrap();
            assert_eq!(d.events.len(), 2, "{field}");
            assert_eq!(d.refused.len(), 1, "{field}");
            assert_eq!(d.refused[0].index, 1);
            assert!(
                d.refused[0]
                    .message
                    .contains(&format!("batch[1]: missing \"{field}\"")),
                "{}",
                d.refused[0].message
            );
        }
    }

    #[test]
    fn all_six_call_types_are_accepted_and_pages_and_screens_may_be_unnamed() {
        let events = vec![
            track("t"),
            json!({"type": "identify", "messageId": "i", "timestamp": "t", "traits": {"plan": "pro"}}),
            json!({"type": "screen", "messageId": "s", "timestamp": "t", "name": "Home"}),
            json!({"type": "page", "messageId": "p", "timestamp": "t", "name": null, "category": null}),
            json!({"type": "group", "messageId": "g", "timestamp": "t", "groupId": 7}),
            json!({"type": "alias", "messageId": "a", "timestamp": "t", "previousId": "x", "userId": "u"}),
        ];
        let d = decode(&body(events), false).unwrap();
        assert_eq!(d.refused, vec![]);
        let kinds: Vec<&str> = d.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, EVENT_TYPES);
        assert_eq!(d.events[2].name.as_deref(), Some("Home"));
        assert_eq!(d.events[3].name, None);
    }

    #[test]
    fn an_unknown_type_and_an_oversized_event_are_refused_alone() {
        let odd = json!({"type": "sneeze", "messageId": "m", "timestamp": "t"});
        let mut big = track("m");
        big["properties"]["blob"] = json!("x".repeat(MAX_EVENT_BYTES));
        let d = decode(&body(vec![odd, track("ok"), big, json!(17)]), false).unwrap();
        let indices: Vec<usize> = d.refused.iter().map(|r| r.index).collect();
        assert_eq!(indices, vec![0, 2, 3]);
        assert!(d.refused[0].message.contains("\"sneeze\""));
        assert_eq!(d.events.len(), 1);
        let answer = answer(&d);
        assert_eq!(answer["success"], true);
        assert_eq!(answer["refused"][1]["index"], 2);
        assert_eq!(answer["refused"][1]["code"], "invalid_event");
    }

    #[test]
    fn a_body_that_is_not_a_batch_is_refused_whole() {
        assert_eq!(decode(b"[]", false).unwrap_err().code, "invalid_batch");
        assert_eq!(decode(b"{", false).unwrap_err().code, "invalid_json");
    }

    #[test]
    fn campaign_id_is_taken_from_properties() {
        let events = decode(&body(vec![track("m1")]), false).unwrap().events;
        assert_eq!(events[0].campaign_id.as_deref(), Some("c1"));
        assert_eq!(events[0].name.as_deref(), Some("e"));
    }

    #[test]
    fn duplicates_within_and_across_batches_are_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = crate::store::open(&crate::store::Database::Sqlite, dir.path()).unwrap();
        let s = &*s;
        let first = decode(&body(vec![track("a"), track("b"), track("a")]), false).unwrap();
        assert_eq!(
            store(s, &first).unwrap(),
            Outcome {
                received: 3,
                stored: 2,
                duplicates: 1,
                refused: 0
            }
        );
        let again = decode(&body(vec![track("b"), track("c")]), false).unwrap();
        assert_eq!(
            store(s, &again).unwrap(),
            Outcome {
                received: 2,
                stored: 1,
                duplicates: 1,
                refused: 0
            }
        );
        assert_eq!(s.receipts("a").unwrap(), 2);
        assert_eq!(s.receipts("c").unwrap(), 1);
    }
}
