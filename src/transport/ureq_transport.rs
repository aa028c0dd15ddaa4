//! The built-in transport, on ureq (blocking, no async runtime).
//!
//! TLS is rustls. Certificates are checked against the device's trust store
//! (rustls-platform-verifier: Keychain on Apple platforms, the system CA files
//! on Linux), so an enterprise or user-installed CA works as in the rest of
//! the app. On Android that verifier needs a JVM context Reach does not have:
//! there Mozilla's roots compiled in (webpki-roots) serve, and apps that need
//! the device store or certificate pinning pass their own transport (the
//! facade's `HttpTransport`, e.g. over OkHttp). Size cost: docs/upload.md.

use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::{HttpRequest, HttpResponse, Method, Transport, TransportError, TransportErrorKind};

/// Idle connections kept for reuse per agent: one server, one request at a
/// time per thread (network and claims).
const MAX_IDLE_CONNECTIONS: usize = 2;

/// Agents kept, one per request timeout: Reach itself uses two (uploads and
/// pack sync share `request_timeout`, claims have 3 s); a host creating more
/// timeouts replaces the oldest agent rather than growing without bound.
const MAX_AGENTS: usize = 4;

pub struct UreqTransport {
    tls: ureq::tls::TlsConfig,
    /// One agent per timeout, each built once. ureq caches its TLS setup
    /// (the rustls config with the trust store loaded) only for agent-level
    /// configuration: a per-request timeout would rebuild it, and read the
    /// platform's roots again, on every request.
    agents: Mutex<Vec<(Duration, ureq::Agent)>>,
}

impl Default for UreqTransport {
    fn default() -> Self {
        UreqTransport::new()
    }
}

/// The transport every instance without a host transport uses, built once
/// per process so that uploads, pack sync and claims share its agents (and
/// their connections and TLS setup).
pub fn shared_ureq() -> Arc<dyn Transport> {
    static SHARED: OnceLock<Arc<UreqTransport>> = OnceLock::new();
    SHARED
        .get_or_init(|| Arc::new(UreqTransport::new()))
        .clone()
}

impl UreqTransport {
    pub fn new() -> UreqTransport {
        UreqTransport::with_tls(tls_config())
    }

    /// For tests only (never used by Reach's own code): trusts exactly these
    /// DER root certificates instead of the platform's or Mozilla's, so a
    /// test can serve HTTPS on loopback with a certificate it generated and
    /// still exercise the real rustls verification path.
    #[doc(hidden)]
    pub fn trusting_only(roots_der: &[Vec<u8>]) -> UreqTransport {
        let roots: Vec<ureq::tls::Certificate<'static>> = roots_der
            .iter()
            .map(|der| ureq::tls::Certificate::from_der(der).to_owned())
            .collect();
        UreqTransport::with_tls(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
                .build(),
        )
    }

    fn with_tls(tls: ureq::tls::TlsConfig) -> UreqTransport {
        UreqTransport {
            tls,
            agents: Mutex::new(Vec::with_capacity(MAX_AGENTS)),
        }
    }

    fn agent(&self, timeout: Duration) -> ureq::Agent {
        let mut agents = self.agents.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, a)) = agents.iter().find(|(t, _)| *t == timeout) {
            return a.clone();
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            // A 4xx/5xx is an answer for the caller to judge, not an error.
            .http_status_as_error(false)
            .max_idle_connections(MAX_IDLE_CONNECTIONS)
            .max_idle_connections_per_host(MAX_IDLE_CONNECTIONS)
            .user_agent(concat!("reach/", env!("CARGO_PKG_VERSION")))
            .timeout_global(Some(timeout))
            .tls_config(self.tls.clone())
            .build()
            .into();
        if agents.len() >= MAX_AGENTS {
            agents.remove(0);
        }
        agents.push((timeout, agent.clone()));
        agent
    }
}

impl Transport for UreqTransport {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let agent = self.agent(request.timeout);
        let result = match request.method {
            Method::Get => {
                let mut b = agent.get(&request.url);
                for (n, v) in &request.headers {
                    b = b.header(n, v);
                }
                b.call()
            }
            Method::Post => {
                let mut b = agent.post(&request.url);
                for (n, v) in &request.headers {
                    b = b.header(n, v);
                }
                b.send(&request.body[..])
            }
        };
        let mut response = result.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(request.max_response_bytes)
            .read_to_vec()
            .map_err(classify)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

#[cfg(not(target_os = "android"))]
fn tls_config() -> ureq::tls::TlsConfig {
    ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build()
}

#[cfg(target_os = "android")]
fn tls_config() -> ureq::tls::TlsConfig {
    ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::WebPki)
        .build()
}

fn classify(e: ureq::Error) -> TransportError {
    use TransportErrorKind::*;
    let kind = match &e {
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed | ureq::Error::BadUri(_) => {
            Connect
        }
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => Connect,
        ureq::Error::Timeout(t) => match t {
            ureq::Timeout::Resolve | ureq::Timeout::Connect => Connect,
            _ => Timeout,
        },
        ureq::Error::Io(io) => match io.kind() {
            io::ErrorKind::ConnectionRefused
            | io::ErrorKind::AddrNotAvailable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::HostUnreachable => Connect,
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Timeout,
            // rustls reports a refused certificate or handshake this way,
            // before any request byte is sent. (A TLS record corrupted later
            // would land here too; both are retried alike.)
            io::ErrorKind::InvalidData => Connect,
            _ => ConnectionLost,
        },
        ureq::Error::BodyExceedsLimit(_) => ResponseTooLarge,
        _ => Other,
    };
    TransportError::new(kind, e.to_string())
}
