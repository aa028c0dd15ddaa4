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

mod json;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use base64::Engine;
use serde_json::Value;

use crate::body::{gunzip_capped, MAX_BODY};
use crate::error::ApiError;
use crate::store::Storage;
pub use crate::store::{Event, Outcome};
use json::{Body, EventFields, Field};

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
pub struct Decoded<'a> {
    pub events: Vec<Event<'a>>,
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

/// The body as JSON text: inflated when gzipped, refused when it is over `MAX_BODY` either way (or not gzip).
pub fn inflate(raw: &[u8], gzipped: bool) -> Result<Cow<'_, [u8]>, ApiError> {
    if gzipped {
        return Ok(Cow::Owned(gunzip_capped(raw, MAX_BODY)?));
    }
    if raw.len() > MAX_BODY {
        return Err(ApiError::too_large(format!(
            "body is larger than {MAX_BODY} bytes"
        )));
    }
    Ok(Cow::Borrowed(raw))
}

/// Turns the (inflated, size-capped) body into the batch's events and refusals, or refuses the body when it
/// is not a batch at all (not JSON, no `batch` array). The events borrow from `json`: each one's stored text
/// is its slice of the body (see `json.rs`).
pub fn decode(json: &[u8]) -> Result<Decoded<'_>, ApiError> {
    let not_json =
        |e: &dyn std::fmt::Display| ApiError::invalid_json(format!("body is not JSON: {e}"));
    let text = std::str::from_utf8(json).map_err(|e| not_json(&e))?;
    let batch = match json::parse_body(text).map_err(|e| not_json(&e))? {
        Body::Batch(batch) => batch,
        Body::NotABatch => {
            return Err(ApiError::invalid_batch(
                "missing \"batch\": expected {\"batch\": [EVENT, ...]}",
            ))
        }
    };
    // Every event is read before any is judged: one that is not JSON refuses the whole body.
    let mut read = Vec::with_capacity(batch.len());
    for (index, raw) in batch.iter().enumerate() {
        let fields = json::parse_event(raw.get())
            .map_err(|e| not_json(&format_args!("batch[{index}]: {e}")))?;
        read.push((raw.get(), fields));
    }
    let mut decoded = Decoded {
        events: Vec::with_capacity(read.len()),
        refused: Vec::new(),
    };
    for (index, (raw, fields)) in read.into_iter().enumerate() {
        match validate(index, raw, fields) {
            Ok(event) => decoded.events.push(event),
            Err(message) => decoded.refused.push(Refusal { index, message }),
        }
    }
    Ok(decoded)
}

fn validate<'a>(index: usize, raw: &'a str, f: EventFields<'a>) -> Result<Event<'a>, String> {
    let refuse = |why: String| format!("batch[{index}]: {why}");
    if !f.object {
        return Err(refuse("an event must be a JSON object".into()));
    }
    let kind = required_str(f.kind, "type").map_err(refuse)?;
    let message_id = required_str(f.message_id, "messageId").map_err(refuse)?;
    required_str(f.timestamp, "timestamp").map_err(refuse)?;
    let name = match &*kind {
        "track" => Some(required_str(f.event, "event").map_err(refuse)?),
        // A page or screen may be unnamed (the Segment libraries send `"name": null`).
        "screen" | "page" => optional_str(f.name, "name").map_err(refuse)?,
        "identify" => None,
        "group" => {
            required_id(f.group_id, "groupId").map_err(refuse)?;
            None
        }
        "alias" => {
            required_id(f.previous_id, "previousId").map_err(refuse)?;
            required_id(f.user_id, "userId").map_err(refuse)?;
            None
        }
        other => {
            return Err(refuse(format!(
                "type {other:?} is not one of {}",
                EVENT_TYPES.join(", ")
            )))
        }
    };
    let kind = EVENT_TYPES
        .into_iter()
        .find(|t| *t == kind)
        .expect("matched above");
    if f.compact_len > MAX_EVENT_BYTES {
        return Err(refuse(format!(
            "event is {} bytes, more than {MAX_EVENT_BYTES}",
            f.compact_len
        )));
    }
    // A test person's or a preview's event (`properties.test == true`, docs/rule-pack.md) is stored and counted
    // by name, but belongs to no campaign's line: `/v1/stats` leaves it out of `by_campaign` and the arms.
    let campaign_id = match f.campaign_id {
        _ if f.test => None,
        Field::Str(s) if s.contains('\0') => None,
        Field::Str(s) => Some(s),
        Field::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    };
    Ok(Event {
        message_id,
        kind,
        name,
        campaign_id,
        json: raw,
    })
}

/// A string field that may be absent or `null`, but not empty or of another type.
fn optional_str<'a>(field: Field<'a>, name: &str) -> Result<Option<Cow<'a, str>>, String> {
    match field {
        Field::Absent | Field::Null => Ok(None),
        field => required_str(field, name).map(Some),
    }
}

/// An id (`groupId`, `previousId`, `userId`): a non-empty string, or a number as some libraries send.
fn required_id(field: Field<'_>, name: &str) -> Result<(), String> {
    match field {
        Field::Number(_) => Ok(()),
        field => required_str(field, name).map(|_| ()),
    }
}

fn required_str<'a>(field: Field<'a>, name: &str) -> Result<Cow<'a, str>, String> {
    match field {
        // PostgreSQL's text cannot hold U+0000, and no id or name needs it.
        Field::Str(s) if s.contains('\0') => Err(format!("\"{name}\" must not contain U+0000")),
        Field::Str(s) if !s.is_empty() => Ok(s),
        Field::Absent => Err(format!("missing \"{name}\"")),
        _ => Err(format!("\"{name}\" must be a non-empty string")),
    }
}

/// Stores a decoded batch in one transaction: new `messageId`s are inserted, known ones only counted, refused
/// events counted.
pub fn store(store: &dyn Storage, decoded: &Decoded<'_>) -> Result<Outcome, ApiError> {
    Ok(store.store_batch(&decoded.events, decoded.refused.len() as u64)?)
}

/// The answer to a stored batch: `{"success": true}`, plus `refused` naming each event not stored.
pub fn answer(decoded: &Decoded<'_>) -> Value {
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
