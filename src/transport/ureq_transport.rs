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

use super::{HttpRequest, HttpResponse, Method, Transport, TransportError, TransportErrorKind};

/// Idle connections kept for reuse: one server, one request at a time.
const MAX_IDLE_CONNECTIONS: usize = 2;

pub struct UreqTransport {
    agent: ureq::Agent,
}

impl Default for UreqTransport {
    fn default() -> Self {
        UreqTransport::new()
    }
}

impl UreqTransport {
    pub fn new() -> UreqTransport {
        let config = ureq::Agent::config_builder()
            // A 4xx/5xx is an answer for the caller to judge, not an error.
            .http_status_as_error(false)
            .max_idle_connections(MAX_IDLE_CONNECTIONS)
            .max_idle_connections_per_host(MAX_IDLE_CONNECTIONS)
            .user_agent(concat!("reach/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls_config())
            .build();
        UreqTransport {
            agent: config.into(),
        }
    }
}

impl Transport for UreqTransport {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let timeout = Some(request.timeout);
        let result = match request.method {
            Method::Get => {
                let mut b = self.agent.get(&request.url);
                for (n, v) in &request.headers {
                    b = b.header(n, v);
                }
                b.config().timeout_global(timeout).build().call()
            }
            Method::Post => {
                let mut b = self.agent.post(&request.url);
                for (n, v) in &request.headers {
                    b = b.header(n, v);
                }
                b.config()
                    .timeout_global(timeout)
                    .build()
                    .send(&request.body[..])
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
