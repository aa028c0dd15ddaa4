//! The host's HTTP stack as Reach's transport: a foreign trait the app
//! implements over OkHttp, URLSession or anything with certificate pinning,
//! and the adapter that makes it a core `Transport`. Called on Reach's
//! network thread (and the claims thread), never on the host's caller thread.

use std::sync::Arc;
use std::time::Duration;

use crate::transport::{self, TransportError, TransportErrorKind};

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

/// One request. The host must give up after `timeout_ms` and may refuse a
/// response body longer than `max_response_bytes` (Reach checks it too).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: String,
    pub url: String,
    pub headers: Vec<HttpHeader>,
    /// Sent as is (already gzipped when a `Content-Encoding` header says so).
    pub body: Vec<u8>,
    pub timeout_ms: u64,
    pub max_response_bytes: u64,
}

/// Any status is an answer (a 500 is not an error here); the body as
/// received, not decompressed by Reach.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
}

/// Why no response came back. The difference matters: after
/// `CouldNotConnect` the request surely did not reach the server; after the
/// others it may have, and Reach resends (the server deduplicates).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
pub enum HttpTransportError {
    /// No connection was made (offline, DNS, refused, TLS/pinning failure).
    CouldNotConnect { detail: String },
    /// The timeout expired after connecting.
    Timeout { detail: String },
    /// The connection broke mid-exchange.
    ConnectionLost { detail: String },
    /// Anything else.
    Other { detail: String },
}

impl std::fmt::Display for HttpTransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpTransportError::CouldNotConnect { detail }
            | HttpTransportError::Timeout { detail }
            | HttpTransportError::ConnectionLost { detail }
            | HttpTransportError::Other { detail } => f.write_str(detail),
        }
    }
}

impl std::error::Error for HttpTransportError {}

impl From<uniffi::UnexpectedUniFFICallbackError> for HttpTransportError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        HttpTransportError::Other { detail: e.reason }
    }
}

/// Sends Reach's HTTP requests through the host's own stack.
#[uniffi::export(with_foreign)]
pub trait HttpTransport: Send + Sync {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpTransportError>;
}

/// A host `HttpTransport` seen as a core `Transport`.
pub struct ForeignTransport(pub Arc<dyn HttpTransport>);

/// The adapter, public so Rust tests run the same suites through it.
pub fn foreign_transport(t: Arc<dyn HttpTransport>) -> Arc<dyn transport::Transport> {
    Arc::new(ForeignTransport(t))
}

fn headers_in(h: Vec<(String, String)>) -> Vec<HttpHeader> {
    h.into_iter()
        .map(|(name, value)| HttpHeader { name, value })
        .collect()
}

impl transport::Transport for ForeignTransport {
    fn send(
        &self,
        request: transport::HttpRequest,
    ) -> Result<transport::HttpResponse, TransportError> {
        let max = request.max_response_bytes;
        let foreign = HttpRequest {
            method: request.method.as_str().to_owned(),
            url: request.url,
            headers: headers_in(request.headers),
            body: request.body,
            timeout_ms: request.timeout.as_millis() as u64,
            max_response_bytes: max,
        };
        match self.0.send(foreign) {
            Ok(r) if r.body.len() as u64 > max => Err(TransportError::new(
                TransportErrorKind::ResponseTooLarge,
                format!("{} bytes, more than {max}", r.body.len()),
            )),
            Ok(r) => Ok(transport::HttpResponse {
                status: r.status,
                headers: r.headers.into_iter().map(|h| (h.name, h.value)).collect(),
                body: r.body,
            }),
            Err(e) => {
                let kind = match &e {
                    HttpTransportError::CouldNotConnect { .. } => TransportErrorKind::Connect,
                    HttpTransportError::Timeout { .. } => TransportErrorKind::Timeout,
                    HttpTransportError::ConnectionLost { .. } => TransportErrorKind::ConnectionLost,
                    HttpTransportError::Other { .. } => TransportErrorKind::Other,
                };
                Err(TransportError::new(kind, e.to_string()))
            }
        }
    }
}

/// The core request as the host sees it (for Rust-side fakes of a host
/// transport that wrap a core one).
pub fn to_core_request(r: HttpRequest) -> transport::HttpRequest {
    transport::HttpRequest {
        method: if r.method.eq_ignore_ascii_case("GET") {
            transport::Method::Get
        } else {
            transport::Method::Post
        },
        url: r.url,
        headers: r.headers.into_iter().map(|h| (h.name, h.value)).collect(),
        body: r.body,
        timeout: Duration::from_millis(r.timeout_ms),
        max_response_bytes: r.max_response_bytes,
    }
}

/// A core answer as the host would return it.
pub fn from_core_result(
    r: Result<transport::HttpResponse, TransportError>,
) -> Result<HttpResponse, HttpTransportError> {
    match r {
        Ok(r) => Ok(HttpResponse {
            status: r.status,
            headers: headers_in(r.headers),
            body: r.body,
        }),
        Err(e) => {
            let detail = e.detail;
            Err(match e.kind {
                TransportErrorKind::Connect => HttpTransportError::CouldNotConnect { detail },
                TransportErrorKind::Timeout => HttpTransportError::Timeout { detail },
                TransportErrorKind::ConnectionLost => HttpTransportError::ConnectionLost { detail },
                TransportErrorKind::ResponseTooLarge | TransportErrorKind::Other => {
                    HttpTransportError::Other { detail }
                }
            })
        }
    }
}
