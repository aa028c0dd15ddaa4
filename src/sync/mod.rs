//! Rule-pack sync: a conditional `GET /v1/rule-pack` (ETag / If-None-Match),
//! the signature checked against the configured keys, the pack parsed and
//! validated — all on the `reach-network` thread. The worker then installs it
//! (refusing an older `version`) and stores it with its ETag in one
//! transaction, so a kill mid-download leaves the last good pack active.
//! Segment sync (`segments.rs`) follows the same pattern for the current
//! person's server-computed segments.

pub mod segments;
pub mod signature;

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::rules::{Acceptance, RulePack};
use crate::transport::{HttpRequest, Method, Transport, TransportErrorKind};

pub use signature::PackKeys;

/// The largest pack sync accepts. Real packs of a few hundred campaigns are
/// ~200 KB; 4 MB leaves room for growth while a broken server cannot make a
/// phone download (and hold in memory) something huge.
pub const MAX_SYNCED_PACK_BYTES: u64 = 4 * 1024 * 1024;

/// A `max-age` longer than this is capped: a mistaken header must not stop
/// updates for days.
pub(crate) const MAX_POLL_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// A pack that passed every check sync can make on its own.
pub struct FetchedPack {
    pub pack: Arc<RulePack>,
    pub json: String,
    pub etag: Option<String>,
}

pub enum SyncOutcome {
    /// 304: the active pack is current; nothing is written.
    NotModified,
    Fetched(FetchedPack),
    /// The server answered with a pack that must not be used.
    Refused(String),
    /// No usable answer (offline, HTTP error); try at the next poll.
    Failed(String),
}

pub struct PackSync {
    server: Arc<ServerConfig>,
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Clock>,
    keys: PackKeys,
    etag: Option<String>,
    /// No poll before this time (the clock's ms).
    next_poll_ms: i64,
    /// `Config::app_url_schemes`: a pack's popup URLs are judged by them.
    app_url_schemes: Vec<String>,
}

impl PackSync {
    pub fn new(
        server: Arc<ServerConfig>,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
        keys: PackKeys,
    ) -> PackSync {
        PackSync {
            server,
            transport,
            clock,
            keys,
            etag: None,
            next_poll_ms: i64::MIN,
            app_url_schemes: Vec::new(),
        }
    }

    /// The app's own URL schemes (`Config::app_url_schemes`).
    pub fn set_app_url_schemes(&mut self, schemes: Vec<String>) {
        self.app_url_schemes = schemes;
    }

    /// The ETag of the pack the worker has stored (sent as If-None-Match).
    pub fn set_etag(&mut self, etag: Option<String>) {
        self.etag = etag;
    }

    pub fn is_due(&self) -> bool {
        self.clock.now_ms() >= self.next_poll_ms
    }

    pub fn poll(&mut self) -> SyncOutcome {
        let now = self.clock.now_ms();
        self.next_poll_ms = now.saturating_add(self.server.min_pack_interval.as_millis() as i64);
        let mut headers = vec![("Accept".into(), "application/json".into())];
        if let Some(etag) = &self.etag {
            headers.push(("If-None-Match".into(), etag.clone()));
        }
        let request = HttpRequest {
            method: Method::Get,
            url: format!(
                "{}?name={}",
                self.server.url("/v1/rule-pack"),
                query_escape(&self.server.pack_name)
            ),
            headers,
            body: Vec::new(),
            timeout: self.server.request_timeout,
            max_response_bytes: MAX_SYNCED_PACK_BYTES,
        };
        let response = match self.transport.send(request) {
            Ok(r) => r,
            Err(e) if e.kind == TransportErrorKind::ResponseTooLarge => {
                return SyncOutcome::Refused(format!(
                    "the pack is larger than the {MAX_SYNCED_PACK_BYTES} bytes allowed"
                ))
            }
            Err(e) => return SyncOutcome::Failed(e.to_string()),
        };
        // The server's max-age wins over the configured interval.
        if let Some(age) = response.header("Cache-Control").and_then(max_age) {
            let age = age.min(MAX_POLL_INTERVAL);
            self.next_poll_ms = now.saturating_add(age.as_millis() as i64);
        }
        match response.status {
            304 => return SyncOutcome::NotModified,
            200 => {}
            s => return SyncOutcome::Failed(format!("HTTP {s} from the rule-pack endpoint")),
        }
        if response.body.len() as u64 > MAX_SYNCED_PACK_BYTES {
            return SyncOutcome::Refused(format!(
                "the pack is {} bytes, more than the {MAX_SYNCED_PACK_BYTES} allowed",
                response.body.len()
            ));
        }
        if let Err(e) = self
            .keys
            .verify(&response.body, response.header("X-Reach-Signature"))
        {
            return SyncOutcome::Refused(e);
        }
        let etag = response.header("ETag").map(str::to_owned);
        let json = match String::from_utf8(response.body) {
            Ok(j) => j,
            Err(_) => return SyncOutcome::Refused("the pack is not UTF-8".into()),
        };
        match RulePack::parse_accepting(&json, &Acceptance::for_app(&self.app_url_schemes)) {
            Ok(pack) => SyncOutcome::Fetched(FetchedPack {
                pack: Arc::new(pack),
                json,
                etag,
            }),
            Err(e) => SyncOutcome::Refused(format!("the pack is invalid: {e}")),
        }
    }
}

/// `max-age=N` from a Cache-Control value.
pub(crate) fn max_age(value: &str) -> Option<Duration> {
    value.split(',').find_map(|d| {
        let (k, v) = d.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| v.trim().trim_matches('"').parse::<u64>().ok())
            .flatten()
            .map(Duration::from_secs)
    })
}

pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_among_other_directives() {
        assert_eq!(
            max_age("public, max-age=600"),
            Some(Duration::from_secs(600))
        );
        assert_eq!(max_age("no-cache"), None);
    }

    #[test]
    fn pack_names_are_escaped_in_the_query() {
        assert_eq!(query_escape("a b/ç"), "a%20b%2F%C3%A7");
    }
}
