//! The simulated app's network, when a life talks to a server (the demo:
//! the reference server on loopback). The SDK's own HTTP client sends every
//! request; a switch in front of it plays the phone losing its network, so
//! events wait on the device while the server stays up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reach::transport::{HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind};
use serde_json::{json, Value as Json};

/// Where a life's app sends its events and syncs its pack from.
#[derive(Clone)]
pub struct LifeServer {
    pub base_url: String,
    pub write_key: String,
    /// The Ed25519 public key the synced pack must verify with.
    pub public_key: String,
}

impl LifeServer {
    pub fn to_json(&self) -> Json {
        json!({"base_url": self.base_url, "write_key": self.write_key, "public_key": self.public_key})
    }

    pub fn from_json(value: &Json) -> Option<LifeServer> {
        let s = |k: &str| value[k].as_str().map(String::from);
        Some(LifeServer {
            base_url: s("base_url")?,
            write_key: s("write_key")?,
            public_key: s("public_key")?,
        })
    }

    /// The SDK's server settings with uploads only when a step asks
    /// (`upload`): automatic ones would make the counts depend on timing.
    pub fn config(&self, offline: Arc<AtomicBool>) -> reach::ServerConfig {
        let mut server = reach::ServerConfig::new(&self.base_url, &self.write_key);
        server.pack_public_keys = vec![self.public_key.clone()];
        server.flush_at = NEVER_BY_COUNT;
        server.flush_interval = NEVER_BY_TIME;
        server.transport = Some(Arc::new(SwitchedTransport {
            inner: reach::transport::default_transport(),
            offline,
        }));
        server
    }
}

/// Above any trace's event count: no upload starts because events piled up.
const NEVER_BY_COUNT: u64 = 1_000_000;
/// Above any trace's virtual length (the SDK's interval runs on the trace's
/// clock, and traces advance by days): no upload starts on the timer.
const NEVER_BY_TIME: Duration = Duration::from_secs(10 * 365 * 24 * 3_600);

/// The SDK's transport, or "no connection" while `offline` is set.
struct SwitchedTransport {
    inner: Arc<dyn Transport>,
    offline: Arc<AtomicBool>,
}

impl Transport for SwitchedTransport {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if self.offline.load(Ordering::SeqCst) {
            return Err(TransportError::new(
                TransportErrorKind::Connect,
                "the phone is offline",
            ));
        }
        self.inner.send(request)
    }
}
