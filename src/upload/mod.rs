//! Uploading stored events: Segment batches (see `batch`), gzipped, one
//! request at a time, retried with backoff (see `backoff`). Runs on the
//! `reach-network` thread only; it never touches SQLite — the worker reads
//! rows for it and deletes them once the server has acknowledged them
//! (`UploadQueue`). Policy and mapping: docs/upload.md.

pub mod answer;
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
use crate::transport::{HttpRequest, Method, Transport};

use answer::Verdict;
use backoff::Backoff;
use batch::Batch;

/// An upload answer is `{"success": true}`, `OK` or a short error; anything
/// longer is not from a collector and is not worth reading.
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

/// While the server has not yet accepted anything from this uploader (nor
/// any piece of the batch being isolated), this many requests spent
/// isolating refused events end the attempt: a host answering 400 to every
/// event is not a collector (a wrong URL), and halving would otherwise send
/// ~2 requests per queued event before deciding so. Isolating one bad event
/// in a batch of 500 costs ~18 requests, so 64 leaves room for a few.
const MAX_UNPROVEN_ISOLATION_REQUESTS: u32 = 64;

pub struct Uploader {
    server: Arc<ServerConfig>,
    transport: Arc<dyn Transport>,
    counters: Arc<Counters>,
    clock: Arc<dyn Clock>,
    consent: Arc<AtomicU8>,
    backoff: Backoff,
    authorization: String,
    /// The server acknowledged a request of this uploader: a 400 for one
    /// event then means that event, not the server, is wrong.
    accepted_once: bool,
    /// The last answer said the configuration is wrong (401, 403, 404, ...):
    /// the network thread retries at once when the app comes back.
    refused_by_configuration: bool,
}

/// One batch being sent, piece by piece (after 413/400 splits).
struct Isolation {
    /// Pieces still to send; the last is sent next (first half first).
    pieces: Vec<Batch>,
    acknowledged: bool,
    requests: u32,
    /// Single events refused (400/422) before the server showed it accepts
    /// anything: dropped once it does, kept if it never does.
    held: Vec<(Batch, u16)>,
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
            accepted_once: false,
            refused_by_configuration: false,
        }
    }

    /// True while the server's last answer refused the configuration (the
    /// events wait): a reason to try again when the app opens.
    pub fn refused_by_configuration(&self) -> bool {
        self.refused_by_configuration
    }

    fn consent_granted(&self) -> bool {
        crate::messages::consent_from_u8(self.consent.load(Relaxed)) == Some(Consent::Granted)
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
            let mut run = Isolation {
                pieces: vec![batch],
                acknowledged: false,
                requests: 0,
                held: Vec::new(),
            };
            if let Some(outcome) = self.send_pieces(queue, &mut run) {
                return outcome;
            }
        }
    }

    /// Sends every piece of one batch. `Some` ends the drain.
    fn send_pieces(
        &mut self,
        queue: &mut dyn UploadQueue,
        run: &mut Isolation,
    ) -> Option<DrainOutcome> {
        while let Some(piece) = run.pieces.pop() {
            if piece.events.is_empty() {
                self.remove(queue, &piece);
                continue;
            }
            if !self.consent_granted() {
                return Some(DrainOutcome::Withheld);
            }
            run.requests += 1;
            match self.send(&piece) {
                Verdict::Delivered => {
                    self.backoff.reset();
                    self.accepted_once = true;
                    self.refused_by_configuration = false;
                    run.acknowledged = true;
                    self.counters
                        .uploaded_events
                        .fetch_add(piece.events.len() as u64, Relaxed);
                    self.counters.update_network(|n| n.last_upload_error = None);
                    self.remove(queue, &piece);
                    for (held, status) in std::mem::take(&mut run.held) {
                        self.drop_refused(queue, &held, status);
                    }
                }
                Verdict::TooLarge => match piece.split() {
                    Ok((first, second)) => {
                        run.pieces.push(second);
                        run.pieces.push(first);
                    }
                    Err(piece) => {
                        // One event the server finds too large: it will
                        // never be accepted, and must not block the rest.
                        self.counters.upload_batches_dropped.fetch_add(1, Relaxed);
                        self.counters.upload_events_dropped.fetch_add(1, Relaxed);
                        queue.log(
                            Level::Error,
                            "the server refused a single event as too large (413); it is dropped"
                                .into(),
                        );
                        self.remove(queue, &piece);
                    }
                },
                Verdict::BadBatch(status) => match piece.split() {
                    Ok((first, second)) => {
                        run.pieces.push(second);
                        run.pieces.push(first);
                    }
                    Err(piece) if self.accepted_once || run.acknowledged => {
                        self.drop_refused(queue, &piece, status)
                    }
                    Err(piece) => run.held.push((piece, status)),
                },
                Verdict::Misconfigured {
                    retry_after, why, ..
                } => return Some(self.refused(queue, retry_after, why)),
                Verdict::Retry { retry_after, why } => {
                    let delay = self.backoff.next_delay(retry_after);
                    return Some(self.retry_later(queue, delay, why, Level::Warn));
                }
            }
            let unproven = !self.accepted_once && !run.acknowledged;
            if unproven && run.requests >= MAX_UNPROVEN_ISOLATION_REQUESTS {
                return Some(self.refusing_everything(queue, run));
            }
        }
        if !run.held.is_empty() {
            // Every event of the batch was refused one by one, and nothing
            // was ever accepted: the host, not the events, is wrong.
            return Some(self.refusing_everything(queue, run));
        }
        None
    }

    /// The server refuses every event it is sent: keep them all.
    fn refusing_everything(
        &mut self,
        queue: &mut dyn UploadQueue,
        run: &Isolation,
    ) -> DrainOutcome {
        let status = run.held.first().map_or(400, |(_, s)| *s);
        let why = format!(
            "HTTP {status} for each of {} events sent one by one, and no upload was ever \
             accepted: this host does not look like a collector; the events are kept until \
             the configuration is fixed",
            run.held.len()
        );
        self.refused(queue, None, why)
    }

    /// A configuration refusal: events kept, long backoff, reason surfaced.
    fn refused(
        &mut self,
        queue: &mut dyn UploadQueue,
        retry_after: Option<Duration>,
        why: String,
    ) -> DrainOutcome {
        self.refused_by_configuration = true;
        let delay = self
            .backoff
            .next_delay_up_to(retry_after, backoff::CONFIG_REFUSAL_MAX_BACKOFF);
        let outcome = self.retry_later(queue, delay, why, Level::Error);
        self.counters
            .upload_configuration_refusals
            .fetch_add(1, Relaxed);
        outcome
    }

    /// Schedules the next attempt. The time is fixed before any counter
    /// moves, so whoever sees the counter knows the deadline is set.
    fn retry_later(
        &mut self,
        queue: &mut dyn UploadQueue,
        delay: Duration,
        why: String,
        level: Level,
    ) -> DrainOutcome {
        let at = self.clock.now_ms().saturating_add(delay.as_millis() as i64);
        let text = format!(
            "upload failed ({why}); retrying in {} ms (attempt {})",
            delay.as_millis(),
            self.backoff.failures()
        );
        self.counters
            .update_network(|s| s.last_upload_error = Some(why));
        queue.log(level, text);
        self.counters.upload_retries.fetch_add(1, Relaxed);
        DrainOutcome::RetryAt(at)
    }

    /// One event the server refused as bad (400/422), isolated by halving.
    fn drop_refused(&self, queue: &mut dyn UploadQueue, piece: &Batch, status: u16) {
        self.counters.upload_batches_dropped.fetch_add(1, Relaxed);
        self.counters.upload_events_dropped.fetch_add(1, Relaxed);
        let why = format!(
            "the server refused one event (seq {}) with HTTP {status}; it is dropped, the rest of its batch is delivered",
            piece.last_seq
        );
        queue.log(Level::Error, why);
        self.remove(queue, piece);
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

    fn send(&mut self, piece: &Batch) -> Verdict {
        // Stamped per request, retries included: a stale sentAt would make
        // the server shift the events' times (analytics-react-native#977).
        let json = batch::body_json(&piece.events, self.clock.now_ms(), &self.server.write_key);
        let body = match gzip(&json) {
            Ok(b) => b,
            Err(e) => {
                return Verdict::Retry {
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
            Ok(response) => answer::judge(&response, self.clock.now_ms()),
            Err(e) => Verdict::Retry {
                retry_after: None,
                why: e.to_string(),
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
