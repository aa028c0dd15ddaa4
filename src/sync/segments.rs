//! Segment sync: the current person's server-computed segments, fetched with
//! a conditional `GET /v1/segments?user_id=…` (or `anonymous_id=…` before
//! `identify()`), authenticated with the write key like uploads, on the
//! `reach-network` thread. The worker stores what arrives and checks it
//! belongs to the person still current, so an answer that races an
//! `identify()` or `reset()` never serves the next person.
//!
//! Never touches SQLite; never retries on its own timer: it polls at start,
//! at each foreground, when the person changes and when consent is granted,
//! at most every [`MIN_SEGMENTS_INTERVAL`].

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::{max_age, query_escape, MAX_POLL_INTERVAL};
use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::rules::MAX_NAME_LEN;
use crate::transport::{HttpRequest, Method, Transport, TransportErrorKind};

/// Segments are computed by the server's batch jobs (hourly or daily in
/// the systems operators come from); asking more often than every ten
/// minutes would cost radio wake-ups and server load without fresher
/// answers. A `max-age` may lengthen it (up to a day), never shorten it.
pub const MIN_SEGMENTS_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// Most segments one person may have. An audience lists at most 1,000
/// (`MAX_AUDIENCE_LIST_LEN`); a person in more than this is a server bug,
/// and the set is held in memory and checked on events.
pub const MAX_SEGMENTS: usize = 1_000;

/// The largest answer read: 1,000 names of a few dozen bytes, with room.
pub const MAX_SEGMENTS_ANSWER_BYTES: u64 = 256 * 1024;

/// Whom segments are asked for: the user id once `identify()` named the
/// person, the anonymous id before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentsPerson {
    User(String),
    Anonymous(String),
}

impl SegmentsPerson {
    /// The stored form (`user:ID` / `anonymous:ID`), distinct for the two kinds.
    pub fn key(&self) -> String {
        match self {
            SegmentsPerson::User(id) => format!("user:{id}"),
            SegmentsPerson::Anonymous(id) => format!("anonymous:{id}"),
        }
    }

    /// The query parameter and answer field that name the person.
    fn field(&self) -> (&'static str, &str) {
        match self {
            SegmentsPerson::User(id) => ("user_id", id),
            SegmentsPerson::Anonymous(id) => ("anonymous_id", id),
        }
    }
}

/// A checked answer for one person.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchedSegments {
    pub person: SegmentsPerson,
    pub segments: BTreeSet<String>,
    pub etag: Option<String>,
}

#[derive(Debug)]
pub enum SegmentsOutcome {
    /// Nothing asked: not due, or no person yet.
    Skipped,
    /// 304: the stored segments are current.
    NotModified,
    Fetched(FetchedSegments),
    /// An answer that must not be used; the last good segments keep serving.
    Refused(String),
    /// No usable answer (offline, HTTP error); the cached segments serve.
    Failed(String),
}

pub struct SegmentSync {
    server: Arc<ServerConfig>,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    authorization: String,
    person: Option<SegmentsPerson>,
    etag: Option<String>,
    /// Whether the active pack tests `segments` at all: an app whose packs
    /// never do pays no request, and tells the server nothing about who uses it.
    wanted: bool,
    /// No poll before this time (the clock's ms).
    next_poll_ms: i64,
}

impl SegmentSync {
    pub fn new(
        server: Arc<ServerConfig>,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
    ) -> SegmentSync {
        use base64::Engine;
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:", server.write_key));
        SegmentSync {
            server,
            transport,
            clock,
            authorization: format!("Basic {credentials}"),
            person: None,
            etag: None,
            wanted: false,
            next_poll_ms: i64::MIN,
        }
    }

    /// The current person and the ETag of their stored segments. A new
    /// person is due at once, whatever the interval.
    pub fn set_person(&mut self, person: SegmentsPerson, etag: Option<String>) {
        if self.person.as_ref() != Some(&person) {
            self.next_poll_ms = i64::MIN;
        }
        self.person = Some(person);
        self.etag = etag;
    }

    /// The worker stored an answer with this ETag.
    pub fn set_etag(&mut self, etag: Option<String>) {
        self.etag = etag;
    }

    /// The active pack does (or no longer does) test segments; a pack that
    /// starts to is asked about at once.
    pub fn set_wanted(&mut self, wanted: bool) {
        if wanted && !self.wanted {
            self.next_poll_ms = i64::MIN;
        }
        self.wanted = wanted;
    }

    pub fn is_due(&self) -> bool {
        self.wanted && self.person.is_some() && self.clock.now_ms() >= self.next_poll_ms
    }

    /// Asks the server when due.
    pub fn poll(&mut self) -> SegmentsOutcome {
        let Some(person) = self.person.clone().filter(|_| self.is_due()) else {
            return SegmentsOutcome::Skipped;
        };
        let now = self.clock.now_ms();
        self.next_poll_ms = now.saturating_add(MIN_SEGMENTS_INTERVAL.as_millis() as i64);
        let (field, id) = person.field();
        let mut headers = vec![
            ("Accept".into(), "application/json".into()),
            ("Authorization".into(), self.authorization.clone()),
        ];
        if let Some(etag) = &self.etag {
            headers.push(("If-None-Match".into(), etag.clone()));
        }
        let request = HttpRequest {
            method: Method::Get,
            url: format!(
                "{}?{field}={}",
                self.server.url("/v1/segments"),
                query_escape(id)
            ),
            headers,
            body: Vec::new(),
            timeout: self.server.request_timeout,
            max_response_bytes: MAX_SEGMENTS_ANSWER_BYTES,
        };
        let response = match self.transport.send(request) {
            Ok(r) => r,
            Err(e) if e.kind == TransportErrorKind::ResponseTooLarge => {
                return SegmentsOutcome::Refused(format!(
                    "the answer is larger than the {MAX_SEGMENTS_ANSWER_BYTES} bytes allowed"
                ))
            }
            Err(e) => return SegmentsOutcome::Failed(e.to_string()),
        };
        if let Some(age) = response.header("Cache-Control").and_then(max_age) {
            let age = age.clamp(MIN_SEGMENTS_INTERVAL, MAX_POLL_INTERVAL);
            self.next_poll_ms = now.saturating_add(age.as_millis() as i64);
        }
        match response.status {
            304 if self.etag.is_some() => return SegmentsOutcome::NotModified,
            304 => {
                return SegmentsOutcome::Refused(
                    "304 Not Modified to a request without If-None-Match".into(),
                )
            }
            200 => {}
            s => return SegmentsOutcome::Failed(format!("HTTP {s} from the segments endpoint")),
        }
        let etag = response.header("ETag").map(str::to_owned);
        match parse_answer(&response.body, &person) {
            Ok(segments) => SegmentsOutcome::Fetched(FetchedSegments {
                person,
                segments,
                etag,
            }),
            Err(why) => SegmentsOutcome::Refused(why),
        }
    }
}

/// Reads `{"user_id" | "anonymous_id": ID, "segments": [NAME, …]}`: the id
/// must be the one asked about (a shared cache or a server bug must not hand
/// one person another's segments), names as in packs (not empty, no blanks
/// around, at most `MAX_NAME_LEN` characters), at most [`MAX_SEGMENTS`].
/// Other keys are ignored, so a server may add some.
pub fn parse_answer(body: &[u8], person: &SegmentsPerson) -> Result<BTreeSet<String>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let object = value.as_object().ok_or("the answer is not a JSON object")?;
    let (field, id) = person.field();
    match object.get(field) {
        Some(Value::String(s)) if s == id => {}
        Some(other) => {
            return Err(format!(
                "{field}: the answer is for {other}, not for the person asked about"
            ))
        }
        None => return Err(format!("{field}: missing (the person the answer is for)")),
    }
    let list = object
        .get("segments")
        .ok_or("segments: missing")?
        .as_array()
        .ok_or("segments: expected an array")?;
    if list.len() > MAX_SEGMENTS {
        return Err(format!(
            "segments: at most {MAX_SEGMENTS} entries, found {}",
            list.len()
        ));
    }
    let mut out = BTreeSet::new();
    for (i, item) in list.iter().enumerate() {
        let name = item
            .as_str()
            .ok_or_else(|| format!("segments[{i}]: expected a string"))?;
        if name.is_empty() || name.trim() != name || name.chars().count() > MAX_NAME_LEN {
            return Err(format!(
                "segments[{i}]: a segment name is 1 to {MAX_NAME_LEN} characters without blanks around it"
            ));
        }
        out.insert(name.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> SegmentsPerson {
        SegmentsPerson::User("u-1".into())
    }

    #[test]
    fn answers_are_read_for_the_person_asked_about() {
        let s = parse_answer(
            br#"{"user_id":"u-1","segments":["b","a","b"],"x":1}"#,
            &user(),
        )
        .unwrap();
        assert_eq!(s, ["a".to_owned(), "b".to_owned()].into());
        let anon = SegmentsPerson::Anonymous("an-1".into());
        assert!(
            parse_answer(br#"{"anonymous_id":"an-1","segments":[]}"#, &anon)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn malformed_answers_are_refused_with_the_path() {
        let refuse = |body: &str| parse_answer(body.as_bytes(), &user()).unwrap_err();
        assert!(refuse("not json").starts_with("the answer is not JSON"));
        assert_eq!(refuse("[]"), "the answer is not a JSON object");
        assert_eq!(
            refuse(r#"{"user_id":"u-2","segments":[]}"#),
            "user_id: the answer is for \"u-2\", not for the person asked about"
        );
        assert_eq!(
            refuse(r#"{"segments":[]}"#),
            "user_id: missing (the person the answer is for)"
        );
        assert_eq!(
            refuse(r#"{"anonymous_id":"u-1","segments":[]}"#),
            "user_id: missing (the person the answer is for)"
        );
        assert_eq!(refuse(r#"{"user_id":"u-1"}"#), "segments: missing");
        assert_eq!(
            refuse(r#"{"user_id":"u-1","segments":"vip"}"#),
            "segments: expected an array"
        );
        assert_eq!(
            refuse(r#"{"user_id":"u-1","segments":["vip",3]}"#),
            "segments[1]: expected a string"
        );
        assert!(refuse(r#"{"user_id":"u-1","segments":[" vip"]}"#).starts_with("segments[0]:"));
        let many: Vec<String> = (0..=MAX_SEGMENTS).map(|i| format!("s{i}")).collect();
        let body = serde_json::json!({"user_id": "u-1", "segments": many}).to_string();
        assert_eq!(refuse(&body), "segments: at most 1000 entries, found 1001");
    }

    #[test]
    fn person_keys_tell_the_kinds_apart() {
        assert_eq!(user().key(), "user:u-1");
        assert_ne!(
            SegmentsPerson::User("x".into()).key(),
            SegmentsPerson::Anonymous("x".into()).key()
        );
    }
}
