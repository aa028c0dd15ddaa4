//! `POST /v1/batch`: the upload ingest. Authenticate, decode (gzip or plain, capped), validate every event, then
//! store the whole batch in one transaction, deduplicated by `messageId`.
//!
//! A batch is all or nothing: one bad event refuses the batch (`400 invalid_batch`) and nothing of it is stored,
//! so a client never has to guess which half landed. A `messageId` already stored is accepted and counted as a
//! duplicate: a resend after an unknown outcome (timeout, lost answer) is the normal case, not an error.

use base64::Engine;
use rusqlite::params;
use serde_json::{Map, Value};

use crate::body::{gunzip_capped, MAX_BODY};
use crate::error::ApiError;
use crate::store::{now_ms, Store};

/// The protocol's limit on one event, serialized (docs/protocol.md). An event over it is refused with
/// `400 invalid_batch`, not `413`: the client answers 413 by splitting the batch, and a single event cannot be
/// split, so 413 would make it retry forever.
pub const MAX_EVENT_BYTES: usize = 32_768;

/// One validated event, ready to store.
#[derive(Debug, PartialEq)]
pub struct Event {
    pub message_id: String,
    pub kind: String,
    /// `event` for track, `name` for screen, none for identify.
    pub name: Option<String>,
    /// `properties.campaign_id` (Reach's own popup and conversion events carry it).
    pub campaign_id: Option<String>,
    /// The event re-serialized compactly, as stored.
    pub json: String,
}

/// What storing one batch did.
#[derive(Debug, PartialEq, Eq, Default, Clone, Copy)]
pub struct Outcome {
    pub received: u64,
    pub stored: u64,
    pub duplicates: u64,
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

/// Turns the (already size-capped) request body into the batch's events, or refuses it.
pub fn decode(raw: &[u8], gzipped: bool) -> Result<Vec<Event>, ApiError> {
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
    batch
        .iter()
        .enumerate()
        .map(|(i, e)| validate(i, e))
        .collect()
}

fn validate(index: usize, event: &Value) -> Result<Event, ApiError> {
    let refuse = |why: String| ApiError::invalid_batch(format!("batch[{index}]: {why}"));
    let obj = event
        .as_object()
        .ok_or_else(|| refuse("an event must be a JSON object".into()))?;
    let kind = required_str(obj, "type").map_err(refuse)?;
    let message_id = required_str(obj, "messageId").map_err(refuse)?;
    required_str(obj, "timestamp").map_err(refuse)?;
    let name = match kind {
        "track" => Some(required_str(obj, "event").map_err(refuse)?),
        "screen" => Some(required_str(obj, "name").map_err(refuse)?),
        "identify" => None,
        other => {
            return Err(refuse(format!(
                "type {other:?} is not track, screen or identify"
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

fn required_str<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<&'a str, String> {
    match obj.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(format!("\"{field}\" must be a non-empty string")),
        None => Err(format!("missing \"{field}\"")),
    }
}

/// Stores a validated batch in one transaction: new `messageId`s are inserted, known ones only counted.
pub fn store(store: &Store, events: &[Event]) -> Result<Outcome, ApiError> {
    let mut conn = store.conn();
    let tx = conn.transaction()?;
    let now = now_ms();
    let mut outcome = Outcome::default();
    {
        // One statement per event: a new messageId is inserted, a known one
        // only counts its receipt; `times` says which happened.
        let mut insert = tx.prepare_cached(
            "INSERT INTO events (message_id, type, name, campaign_id, body, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (message_id) DO UPDATE SET times = times + 1
             RETURNING times",
        )?;
        for e in events {
            let times: i64 = insert.query_row(
                params![e.message_id, e.kind, e.name, e.campaign_id, e.json, now],
                |r| r.get(0),
            )?;
            let inserted = usize::from(times == 1);
            outcome.received += 1;
            if inserted == 1 {
                outcome.stored += 1;
            } else {
                outcome.duplicates += 1;
            }
        }
    }
    tx.execute(
        "INSERT INTO counters (name, value) VALUES ('batches', 1)
         ON CONFLICT (name) DO UPDATE SET value = value + 1",
        [],
    )?;
    tx.commit()?;
    Ok(outcome)
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
    fn each_required_field_is_named_when_missing() {
        for (field, event) in [
            ("type", json!({"messageId": "m", "timestamp": "t"})),
            ("messageId", json!({"type": "identify", "timestamp": "t"})),
            ("timestamp", json!({"type": "identify", "messageId": "m"})),
            (
                "event",
                json!({"type": "track", "messageId": "m", "timestamp": "t"}),
            ),
            (
                "name",
                json!({"type": "screen", "messageId": "m", "timestamp": "t"}),
            ),
        ] {
            let err = decode(&body(vec![track("ok"), event]), false).unwrap_err();
            assert_eq!(err.code, "invalid_batch");
            assert!(
                err.message
                    .contains(&format!("batch[1]: missing \"{field}\"")),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn an_unknown_type_and_an_oversized_event_refuse_the_batch() {
        let odd = json!({"type": "page", "messageId": "m", "timestamp": "t"});
        assert_eq!(
            decode(&body(vec![odd]), false).unwrap_err().code,
            "invalid_batch"
        );
        let mut big = track("m");
        big["properties"]["blob"] = json!("x".repeat(MAX_EVENT_BYTES));
        assert_eq!(
            decode(&body(vec![big]), false).unwrap_err().code,
            "invalid_batch"
        );
    }

    #[test]
    fn campaign_id_is_taken_from_properties() {
        let events = decode(&body(vec![track("m1")]), false).unwrap();
        assert_eq!(events[0].campaign_id.as_deref(), Some("c1"));
        assert_eq!(events[0].name.as_deref(), Some("e"));
    }

    #[test]
    fn duplicates_within_and_across_batches_are_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let first = decode(&body(vec![track("a"), track("b"), track("a")]), false).unwrap();
        assert_eq!(
            store(&s, &first).unwrap(),
            Outcome {
                received: 3,
                stored: 2,
                duplicates: 1
            }
        );
        let again = decode(&body(vec![track("b"), track("c")]), false).unwrap();
        assert_eq!(
            store(&s, &again).unwrap(),
            Outcome {
                received: 2,
                stored: 1,
                duplicates: 1
            }
        );
        assert_eq!(s.receipts("a").unwrap(), 2);
        assert_eq!(s.receipts("c").unwrap(), 1);
    }
}
