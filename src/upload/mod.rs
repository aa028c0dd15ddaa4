//! Uploading stored events: Segment batches (see `batch`), gzipped, one
//! request at a time, retried with backoff (see `backoff`). Runs on the
//! `reach-network` thread only; it never touches SQLite — the worker reads
//! rows for it and deletes them once the server has acknowledged them
//! (`UploadQueue`). Policy and mapping: docs/upload.md.

pub mod backoff;
pub mod batch;

use std::io::Write as _;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;

use crate::clock::Clock;
use crate::config::{Consent, ServerConfig};
use crate::diagnostics::Counters;
use crate::event::StoredEvent;
use crate::log::Level;
use crate::transport::{HttpRequest, HttpResponse, Method, Transport};

use backoff::Backoff;
use batch::Batch;

/// An upload answer is `{"success": true}` or a short error; anything longer
/// is not from a Reach server and is not worth reading.
const MAX_UPLOAD_RESPONSE_BYTES: u64 = 64 * 1024;

/// gzip level 1: on event JSON it compresses ~8× (level 6 gains little more)
/// at several times the speed, which matters on a phone's small cores.
const GZIP_LEVEL: u32 = 1;

/// Where the uploader gets events and reports those that may leave the
/// queue. The network thread implements it with worker commands; the worker
/// stays the only owner of the database.
pub trait UploadQueue {
    /// The oldest stored events, at most `max`, in sequence order; `None`
    /// when the worker is gone (Reach is closing).
    fn oldest(&mut self, max: usize) -> Option<Vec<StoredEvent>>;
    /// Every row with a sequence number in `first..=last` may be deleted:
    /// the server acknowledged it, or refused it for good.
    fn remove(&mut self, first_seq: i64, last_seq: i64);
    fn log(&mut self, level: Level, message: String);
}

/// How a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainOutcome {
    /// Nothing is left to send.
    Drained,
    /// A request failed; try again at this time (the clock's milliseconds).
    RetryAt(i64),
    /// Consent is not granted: nothing may be sent.
    Withheld,
    /// The worker is gone.
    Stopped,
}

/// What one request achieved.
enum Sent {
    Acknowledged,
    /// Refused for good (4xx): the events are dropped and counted.
    Refused(u16),
    TooLarge,
    Retry {
        retry_after: Option<Duration>,
        why: String,
    },
}

pub struct Uploader {
    server: Arc<ServerConfig>,
    transport: Arc<dyn Transport>,
    counters: Arc<Counters>,
    clock: Arc<dyn Clock>,
    consent: Arc<AtomicU8>,
    backoff: Backoff,
    authorization: String,
}

impl Uploader {
    pub fn new(
        server: Arc<ServerConfig>,
        transport: Arc<dyn Transport>,
        counters: Arc<Counters>,
        clock: Arc<dyn Clock>,
        consent: Arc<AtomicU8>,
    ) -> Uploader {
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:", server.write_key));
        Uploader {
            server,
            transport,
            counters,
            clock,
            consent,
            backoff: Backoff::new(),
            authorization: format!("Basic {credentials}"),
        }
    }

    fn consent_granted(&self) -> bool {
        crate::worker::consent_from_u8(self.consent.load(Relaxed)) == Some(Consent::Granted)
    }

    /// Sends batches one after the other until the queue is empty or a
    /// request fails. Never more than one request in flight: this thread
    /// waits for each answer.
    pub fn drain(&mut self, queue: &mut dyn UploadQueue) -> DrainOutcome {
        loop {
            if !self.consent_granted() {
                return DrainOutcome::Withheld;
            }
            let Some(rows) = queue.oldest(self.server.max_batch_events.max(1)) else {
                return DrainOutcome::Stopped;
            };
            let Some(batch) =
                Batch::build(&rows, self.server.max_batch_bytes, &self.server.write_key)
            else {
                return DrainOutcome::Drained;
            };
            // 413 splits a batch; the halves go first-half first, in order.
            let mut pieces = vec![batch];
            while let Some(piece) = pieces.pop() {
                if piece.events.is_empty() {
                    self.remove(queue, &piece);
                    continue;
                }
                if !self.consent_granted() {
                    return DrainOutcome::Withheld;
                }
                match self.send(&piece) {
                    Sent::Acknowledged => {
                        self.backoff.reset();
                        self.counters
                            .uploaded_events
                            .fetch_add(piece.events.len() as u64, Relaxed);
                        self.counters.update_network(|n| n.last_upload_error = None);
                        self.remove(queue, &piece);
                    }
                    Sent::Refused(status) => {
                        self.backoff.reset();
                        let n = piece.events.len() as u64;
                        self.counters.upload_batches_dropped.fetch_add(1, Relaxed);
                        self.counters.upload_events_dropped.fetch_add(n, Relaxed);
                        let why = format!(
                            "the server refused a batch of {n} events with HTTP {status}; they are dropped"
                        );
                        self.counters
                            .update_network(|s| s.last_upload_error = Some(why.clone()));
                        queue.log(Level::Error, why);
                        self.remove(queue, &piece);
                    }
                    Sent::TooLarge => match piece.split() {
                        Some((first, second)) => {
                            pieces.push(second);
                            pieces.push(first);
                        }
                        None => {
                            // One event the server finds too large: it will
                            // never be accepted, and must not block the rest.
                            self.counters.upload_batches_dropped.fetch_add(1, Relaxed);
                            self.counters.upload_events_dropped.fetch_add(1, Relaxed);
                            queue.log(
                                Level::Error,
                                "the server refused a single event as too large (413); it is dropped"
                                    .into(),
                            );
                        }
                    },
                    Sent::Retry { retry_after, why } => {
                        let delay = self.backoff.next_delay(retry_after);
                        self.counters.upload_retries.fetch_add(1, Relaxed);
                        let text = format!(
                            "upload failed ({why}); retrying in {} ms (attempt {})",
                            delay.as_millis(),
                            self.backoff.failures()
                        );
                        self.counters
                            .update_network(|s| s.last_upload_error = Some(why.clone()));
                        queue.log(Level::Warn, text);
                        return DrainOutcome::RetryAt(
                            self.clock.now_ms().saturating_add(delay.as_millis() as i64),
                        );
                    }
                }
            }
        }
    }

    fn remove(&self, queue: &mut dyn UploadQueue, piece: &Batch) {
        if !piece.oversized.is_empty() {
            let n = piece.oversized.len() as u64;
            self.counters.dropped_oversized.fetch_add(n, Relaxed);
            queue.log(
                Level::Warn,
                format!(
                    "dropped {n} events over the {} bytes allowed per event",
                    batch::MAX_EVENT_BYTES
                ),
            );
        }
        if !piece.unreadable.is_empty() {
            let n = piece.unreadable.len() as u64;
            self.counters.upload_events_dropped.fetch_add(n, Relaxed);
            queue.log(
                Level::Error,
                format!("dropped {n} stored events whose JSON is damaged"),
            );
        }
        queue.remove(piece.first_seq, piece.last_seq);
    }

    fn send(&mut self, piece: &Batch) -> Sent {
        // Stamped per request, retries included: a stale sentAt would make
        // the server shift the events' times (analytics-react-native#977).
        let json = batch::body_json(&piece.events, self.clock.now_ms(), &self.server.write_key);
        let body = match gzip(&json) {
            Ok(b) => b,
            Err(e) => {
                return Sent::Retry {
                    retry_after: None,
                    why: format!("cannot compress: {e}"),
                }
            }
        };
        let request = HttpRequest {
            method: Method::Post,
            url: self.server.url("/v1/batch"),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Content-Encoding".into(), "gzip".into()),
                ("Authorization".into(), self.authorization.clone()),
            ],
            body,
            timeout: self.server.request_timeout,
            max_response_bytes: MAX_UPLOAD_RESPONSE_BYTES,
        };
        self.counters.upload_batches_sent.fetch_add(1, Relaxed);
        match self.transport.send(request) {
            Ok(response) => self.judge(&response),
            Err(e) => Sent::Retry {
                retry_after: None,
                why: e.to_string(),
            },
        }
    }

    fn judge(&self, r: &HttpResponse) -> Sent {
        let retry_after = r
            .header("Retry-After")
            .and_then(|v| backoff::parse_retry_after(v, self.clock.now_ms()));
        match r.status {
            200..=299 => {
                let ok = serde_json::from_slice::<serde_json::Value>(&r.body)
                    .map(|v| v.get("success") == Some(&serde_json::Value::Bool(true)))
                    .unwrap_or(false);
                if ok {
                    Sent::Acknowledged
                } else {
                    // Not the answer of a server that stored the batch: the
                    // outcome is unknown, and a resend is deduplicated.
                    Sent::Retry {
                        retry_after,
                        why: format!("HTTP {} without {{\"success\": true}}", r.status),
                    }
                }
            }
            413 => Sent::TooLarge,
            408 | 429 => Sent::Retry {
                retry_after,
                why: format!("HTTP {}", r.status),
            },
            400..=499 => Sent::Refused(r.status),
            _ => Sent::Retry {
                retry_after,
                why: format!("HTTP {}", r.status),
            },
        }
    }
}

/// gzip, as the protocol asks of every upload body.
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 6 + 64),
        flate2::Compression::new(GZIP_LEVEL),
    );
    e.write_all(bytes)?;
    e.finish()
}
