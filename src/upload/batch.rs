//! Stored events → Segment batch JSON (the mapping is documented in
//! docs/upload.md). Pure functions: no I/O, no clock but the one passed in.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::event::{EventKind, StoredEvent};
use crate::rfc3339::write_rfc3339_ms;

/// The protocol's limit on one serialized event. A bigger one is deleted
/// and counted rather than sent: the server would refuse the whole batch,
/// and one event must never block the queue behind it.
pub const MAX_EVENT_BYTES: usize = 32_768;

/// Room kept in a request for `{"batch":[...],"sentAt":...,"writeKey":...}`
/// around the events (the write key is counted separately).
const ENVELOPE_BYTES: usize = 96;

/// Events of one request, serialized, covering every stored row with a
/// sequence number in `first_seq..=last_seq` (rows in that range that are not
/// in `events` were dropped as oversized or unreadable).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub first_seq: i64,
    pub last_seq: i64,
    /// `(seq, event JSON)` in sequence order.
    pub events: Vec<(i64, String)>,
    /// Rows in the range over `MAX_EVENT_BYTES`, counted when the range is
    /// deleted (not when read: a retried batch is read again).
    pub oversized: Vec<i64>,
    /// Rows whose stored JSON is damaged (its properties no longer match
    /// their checksum, or do not parse): sending them would make the server
    /// refuse their whole batch.
    pub unreadable: Vec<i64>,
}

impl Batch {
    /// Takes rows (in sequence order) while the request stays within
    /// `max_body_bytes`; rows after the first that does not fit are left for
    /// the next batch. `None` when `rows` is empty.
    pub fn build(rows: &[StoredEvent], max_body_bytes: usize, write_key: &str) -> Option<Batch> {
        let first = rows.first()?;
        let budget = max_body_bytes.saturating_sub(ENVELOPE_BYTES + write_key.len());
        let mut batch = Batch {
            first_seq: first.seq,
            last_seq: first.seq,
            events: Vec::with_capacity(rows.len()),
            oversized: Vec::new(),
            unreadable: Vec::new(),
        };
        let mut used = 0usize;
        // The context a batch's events share is checked once, not per event.
        let mut checked_context: Option<(&Arc<str>, bool)> = None;
        for row in rows {
            let context_ok = match checked_context {
                Some((c, ok)) if Arc::ptr_eq(c, &row.context_json) => ok,
                _ => {
                    let ok = is_json(&row.context_json);
                    checked_context = Some((&row.context_json, ok));
                    ok
                }
            };
            if !context_ok || !properties_intact(row) {
                batch.unreadable.push(row.seq);
                batch.last_seq = row.seq;
                continue;
            }
            let json = event_json(row);
            if json.len() > MAX_EVENT_BYTES {
                batch.oversized.push(row.seq);
                batch.last_seq = row.seq;
                continue;
            }
            // +1 for the comma between events.
            if used + json.len() + 1 > budget && !batch.events.is_empty() {
                break;
            }
            used += json.len() + 1;
            batch.last_seq = row.seq;
            batch.events.push((row.seq, json));
        }
        Some(batch)
    }

    /// Splits in two halves by event count (after a 413, 400 or 422), each
    /// covering its own part of the sequence range. A batch of fewer than
    /// two events comes back whole, as `Err`.
    pub fn split(self) -> Result<(Batch, Batch), Batch> {
        if self.events.len() < 2 {
            return Err(self);
        }
        let mut first = self;
        let second_events = first.events.split_off(first.events.len() / 2);
        let boundary = first
            .events
            .last()
            .map(|(s, _)| *s)
            .unwrap_or(first.first_seq);
        let second = Batch {
            first_seq: boundary + 1,
            last_seq: first.last_seq,
            events: second_events,
            oversized: first
                .oversized
                .iter()
                .copied()
                .filter(|s| *s > boundary)
                .collect(),
            unreadable: first
                .unreadable
                .iter()
                .copied()
                .filter(|s| *s > boundary)
                .collect(),
        };
        first.oversized.retain(|s| *s <= boundary);
        first.unreadable.retain(|s| *s <= boundary);
        first.last_seq = boundary;
        Ok((first, second))
    }
}

fn is_json(s: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok()
}

/// Whether a row's properties are still the JSON the worker wrote: their
/// checksum when the row has one (a CRC-32 of ~100 bytes costs a fraction of
/// the parse, which was a third of the network thread's time per event, and
/// it also catches damage that still parses), else a parse.
fn properties_intact(row: &StoredEvent) -> bool {
    match row.properties_crc {
        Some(crc) => crate::event::properties_checksum(&row.properties_json) == crc,
        None => is_json(&row.properties_json),
    }
}

/// Appends `s` as a JSON string literal.
fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// One event as Segment JSON (see docs/upload.md for the mapping).
pub fn event_json(e: &StoredEvent) -> String {
    let mut out =
        String::with_capacity(160 + e.name.len() + e.properties_json.len() + e.context_json.len());
    out.push_str("{\"type\":\"");
    out.push_str(e.kind.as_str());
    out.push('"');
    match e.kind {
        EventKind::Track => {
            out.push_str(",\"event\":");
            push_str(&mut out, &e.name);
            out.push_str(",\"properties\":");
        }
        EventKind::Screen => {
            out.push_str(",\"name\":");
            push_str(&mut out, &e.name);
            out.push_str(",\"properties\":");
        }
        EventKind::Identify => out.push_str(",\"traits\":"),
    }
    out.push_str(&e.properties_json);
    out.push_str(",\"messageId\":\"");
    out.push_str(
        e.message_id
            .hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer()),
    );
    out.push('"');
    out.push_str(",\"timestamp\":\"");
    write_rfc3339_ms(&mut out, e.timestamp_ms);
    out.push('"');
    out.push_str(",\"anonymousId\":");
    push_str(&mut out, &e.anonymous_id);
    if let Some(user) = &e.user_id {
        out.push_str(",\"userId\":");
        push_str(&mut out, user);
    }
    out.push_str(",\"context\":");
    // The stored context is an object; Reach's own fields go inside it.
    let ctx = e.context_json.trim_end();
    let inner = ctx.strip_suffix('}').unwrap_or("{");
    out.push_str(inner);
    if inner.trim_end() != "{" {
        out.push(',');
    }
    let _ = write!(out, "\"reach\":{{\"seq\":{},\"session_id\":", e.seq);
    push_str(&mut out, &e.session_id);
    out.push_str("}}}");
    out
}

/// The request body before compression, `sentAt` stamped now.
pub fn body_json(events: &[(i64, String)], sent_at_ms: i64, write_key: &str) -> Vec<u8> {
    let size: usize = events.iter().map(|(_, j)| j.len() + 1).sum();
    let mut out = String::with_capacity(size + ENVELOPE_BYTES + write_key.len());
    out.push_str("{\"batch\":[");
    for (i, (_, json)) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(json);
    }
    out.push_str("],\"sentAt\":\"");
    write_rfc3339_ms(&mut out, sent_at_ms);
    out.push_str("\",\"writeKey\":");
    push_str(&mut out, write_key);
    out.push('}');
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: i64, kind: EventKind, props: &str) -> StoredEvent {
        StoredEvent {
            seq,
            message_id: uuid::Uuid::from_u128(seq as u128),
            kind,
            name: "add_to_cart".into(),
            properties_json: props.into(),
            properties_crc: None,
            timestamp_ms: 1_790_000_000_123,
            session_id: "s-1".into(),
            anonymous_id: "a-1".into(),
            user_id: (seq % 2 == 0).then(|| "u-42".into()),
            context_json: r#"{"app":{"version":"5.2.0"},"locale":"zh-CN"}"#.into(),
        }
    }

    #[test]
    fn a_track_event_maps_to_segment_fields_with_reach_context() {
        let j: serde_json::Value =
            serde_json::from_str(&event_json(&ev(2, EventKind::Track, r#"{"sku":"A1"}"#))).unwrap();
        assert_eq!(j["type"], "track");
        assert_eq!(j["event"], "add_to_cart");
        assert_eq!(j["properties"]["sku"], "A1");
        assert_eq!(j["messageId"], "00000000-0000-0000-0000-000000000002");
        assert_eq!(j["timestamp"], "2026-09-21T14:13:20.123Z");
        assert_eq!(j["userId"], "u-42");
        assert_eq!(j["anonymousId"], "a-1");
        assert_eq!(j["context"]["locale"], "zh-CN");
        assert_eq!(j["context"]["reach"]["seq"], 2);
        assert_eq!(j["context"]["reach"]["session_id"], "s-1");
    }

    #[test]
    fn screen_and_identify_use_name_and_traits_and_no_user_id_before_identify() {
        let s: serde_json::Value =
            serde_json::from_str(&event_json(&ev(1, EventKind::Screen, "{}"))).unwrap();
        assert_eq!(s["name"], "add_to_cart");
        assert!(s.get("userId").is_none());
        let i: serde_json::Value = serde_json::from_str(&event_json(&ev(
            1,
            EventKind::Identify,
            r#"{"plan":"pro"}"#,
        )))
        .unwrap();
        assert_eq!(i["traits"]["plan"], "pro");
        assert!(i.get("event").is_none() && i.get("properties").is_none());
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        push_str(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(
            serde_json::from_str::<String>(&out).unwrap(),
            "a\"b\\c\nd\u{1}é"
        );
    }

    #[test]
    fn rows_whose_stored_json_is_damaged_are_set_aside() {
        let damaged: Arc<str> = Arc::from(r#"{"app":{"version":"5.2"#);
        let good: Arc<str> = Arc::from(r#"{"app":{"version":"5.3.0"}}"#);
        let mut rows: Vec<StoredEvent> = (1..=6).map(|s| ev(s, EventKind::Track, "{}")).collect();
        // Rows 1, 2 and 4 share one damaged context; 3 and 6 share a good
        // one; row 5 has its own context but damaged properties.
        for i in [0, 1, 3] {
            rows[i].context_json = damaged.clone();
        }
        for i in [2, 5] {
            rows[i].context_json = good.clone();
        }
        rows[4].properties_json = r#"{"sku":"#.into();
        let b = Batch::build(&rows, 1 << 20, "k").unwrap();
        assert_eq!(b.unreadable, vec![1, 2, 4, 5]);
        assert_eq!(b.events.iter().map(|e| e.0).collect::<Vec<_>>(), vec![3, 6]);
        assert_eq!((b.first_seq, b.last_seq), (1, 6));
    }

    #[test]
    fn properties_are_checked_by_their_checksum_when_the_row_has_one() {
        let crc = |s: &str| Some(crate::event::properties_checksum(s));
        let mut rows: Vec<StoredEvent> = (1..=5)
            .map(|s| ev(s, EventKind::Track, r#"{"sku":"A1"}"#))
            .collect();
        rows[0].properties_crc = crc(r#"{"sku":"A1"}"#);
        // Still JSON, but not what was written: only the checksum sees it.
        rows[1].properties_crc = crc(r#"{"sku":"A2"}"#);
        // Written before checksums: parsed, and sent when it parses.
        rows[2].properties_crc = None;
        rows[3].properties_crc = None;
        rows[3].properties_json = r#"{"sku":"#.into();
        // A stored value no CRC-32 can have.
        rows[4].properties_crc = Some(-1);
        let b = Batch::build(&rows, 1 << 20, "k").unwrap();
        assert_eq!(b.events.iter().map(|e| e.0).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(b.unreadable, vec![2, 4, 5]);
    }

    #[test]
    fn an_empty_context_still_gets_reach_fields() {
        let mut e = ev(1, EventKind::Track, "{}");
        e.context_json = "{}".into();
        let j: serde_json::Value = serde_json::from_str(&event_json(&e)).unwrap();
        assert_eq!(j["context"]["reach"]["seq"], 1);
    }

    #[test]
    fn batches_stop_at_the_byte_limit_and_skip_oversized_events() {
        let big = format!(r#"{{"x":"{}"}}"#, "y".repeat(MAX_EVENT_BYTES));
        let rows = vec![
            ev(1, EventKind::Track, "{}"),
            ev(2, EventKind::Track, &big),
            ev(3, EventKind::Track, "{}"),
            ev(4, EventKind::Track, "{}"),
        ];
        let one = event_json(&rows[0]).len();
        let b = Batch::build(&rows, 2 * one + 2 + ENVELOPE_BYTES + 1, "k").unwrap();
        assert_eq!((b.first_seq, b.last_seq), (1, 3));
        assert_eq!(b.oversized, vec![2]);
        assert_eq!(b.events.iter().map(|e| e.0).collect::<Vec<_>>(), vec![1, 3]);
        let body: serde_json::Value =
            serde_json::from_slice(&body_json(&b.events, 0, "k")).unwrap();
        assert_eq!(body["batch"].as_array().unwrap().len(), 2);
        assert_eq!(body["writeKey"], "k");
        assert_eq!(body["sentAt"], "1970-01-01T00:00:00.000Z");
        let (a, c) = b.split().unwrap_or_else(|_| panic!("splits"));
        assert_eq!(
            (a.first_seq, a.last_seq, c.first_seq, c.last_seq),
            (1, 1, 2, 3)
        );
        assert_eq!((a.oversized.len(), c.oversized.len()), (0, 1));
    }
}
