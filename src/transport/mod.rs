//! How Reach sends an HTTP request: one small trait, so the host can route
//! requests through its own stack (OkHttp, URLSession, certificate pinning)
//! and tests through a fake, while the default uses ureq.
//!
//! A transport is called only from the `reach-network` thread (and the
//! claims thread); it may block up to the request's timeout, never longer.
//! It must tell "surely not delivered" (no connection was made) from
//! "outcome unknown" (the request may have reached the server): the uploader
//! relies on the difference to explain resends, and the server deduplicates.

#[cfg(feature = "builtin-transport")]
mod ureq_transport;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "builtin-transport")]
pub use ureq_transport::{shared_ureq, UreqTransport};

/// The transport used when the host passes none: the built-in one (ureq and
/// rustls), or in a build without it (`--no-default-features`, for apps
/// that always pass their own `HttpTransport`) one that refuses every
/// request as "could not connect", so events are kept, never lost, and the
/// reason shows in `diagnostics().last_upload_error`.
pub fn default_transport() -> Arc<dyn Transport> {
    #[cfg(feature = "builtin-transport")]
    {
        shared_ureq()
    }
    #[cfg(not(feature = "builtin-transport"))]
    {
        Arc::new(NoBuiltinTransport)
    }
}

/// Why a build without the built-in transport cannot send.
pub const NO_BUILTIN_TRANSPORT: &str = "this build of Reach has no built-in HTTP transport \
     (the builtin-transport feature is off): pass an HttpTransport in the config";

#[cfg(not(feature = "builtin-transport"))]
struct NoBuiltinTransport;

#[cfg(not(feature = "builtin-transport"))]
impl Transport for NoBuiltinTransport {
    fn send(&self, _request: HttpRequest) -> Result<HttpResponse, TransportError> {
        Err(TransportError::new(
            TransportErrorKind::Connect,
            NO_BUILTIN_TRANSPORT,
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    /// In order; names as Reach writes them (`Content-Type`, ...).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// For the whole exchange, connection to last body byte.
    pub timeout: Duration,
    /// A response body longer than this is an error (`ResponseTooLarge`),
    /// so a broken or hostile server cannot exhaust the app's memory.
    pub max_response_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header of that name, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no response came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportErrorKind {
    /// No connection was made (DNS, refused, TLS handshake, offline): the
    /// request surely did not reach the server.
    Connect,
    /// The timeout expired after the connection was made: outcome unknown.
    Timeout,
    /// The connection broke mid-exchange (reset, closed early, truncated
    /// response): outcome unknown.
    ConnectionLost,
    /// The response was longer than `max_response_bytes`.
    ResponseTooLarge,
    /// Anything else (malformed response, host transport failure): outcome
    /// unknown.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    pub kind: TransportErrorKind,
    pub detail: String,
}

impl TransportError {
    pub fn new(kind: TransportErrorKind, detail: impl Into<String>) -> TransportError {
        TransportError {
            kind,
            detail: detail.into(),
        }
    }

    /// True when the server may have received (and acted on) the request.
    pub fn may_have_been_delivered(&self) -> bool {
        !matches!(self.kind, TransportErrorKind::Connect)
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            TransportErrorKind::Connect => "could not connect",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::ConnectionLost => "connection lost",
            TransportErrorKind::ResponseTooLarge => "response too large",
            TransportErrorKind::Other => "transport error",
        };
        write!(f, "{kind}: {}", self.detail)
    }
}

impl std::error::Error for TransportError {}

pub trait Transport: Send + Sync {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}
