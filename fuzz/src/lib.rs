//! What the fuzz targets share: an HTTP answer read from fuzzer bytes, and a
//! transport that hands it to the code under test.
//!
//! The layout of an answer keeps the seeds writable by hand (`scripts/fuzz.sh`
//! makes them from tests/fixtures): two bytes of status (little endian), one
//! byte giving the length of a header block, the header block
//! (`Name: value` lines), then the body, to the end.

use std::sync::{Arc, Mutex};

use reach::transport::{HttpRequest, HttpResponse, Transport, TransportError};

/// Reads an HTTP answer from fuzzer bytes (layout in the module doc). Short
/// inputs give a 200 with no headers and whatever body is left.
pub fn response_from(data: &[u8]) -> HttpResponse {
    let status = match data {
        [lo, hi, ..] => u16::from_le_bytes([*lo, *hi]),
        _ => 200,
    };
    let rest = data.get(2..).unwrap_or_default();
    let (block, body) = match rest.split_first() {
        Some((&len, tail)) => tail.split_at(usize::from(len).min(tail.len())),
        None => (&[][..], &[][..]),
    };
    let headers = String::from_utf8_lossy(block)
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.to_string(), value.trim_start().to_string()))
        })
        .collect();
    HttpResponse {
        status,
        headers,
        body: body.to_vec(),
    }
}

/// Answers every request with the same response (or error), and keeps the
/// requests it was sent for the target to look at.
pub struct CannedTransport {
    answer: Result<HttpResponse, TransportError>,
    pub requests: Mutex<Vec<HttpRequest>>,
}

impl CannedTransport {
    pub fn new(answer: Result<HttpResponse, TransportError>) -> Arc<CannedTransport> {
        Arc::new(CannedTransport {
            answer,
            requests: Mutex::new(Vec::new()),
        })
    }
}

impl Transport for CannedTransport {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.requests.lock().unwrap().push(request);
        self.answer.clone()
    }
}
