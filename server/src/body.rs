//! Reading a request body with hard caps, so no client can make the server hold more than a few megabytes.
//!
//! The compressed body is read at most `MAX_COMPRESSED_BODY + 1` bytes; a gzip body is inflated at most
//! `MAX_BODY + 1` bytes and inflation stops there, so a gzip bomb (100 MB of zeros in 100 KB) costs ~0.5 MB of
//! memory and a few milliseconds before it gets its 413.

use std::io::Read;

use flate2::read::GzDecoder;

use crate::error::ApiError;

/// The protocol's limit on an upload body before compression (docs/protocol.md: "≤ 500 KB (512,000 bytes)").
pub const MAX_BODY: usize = 512_000;

/// The most compressed bytes read from the socket. JSON compresses 5–20×, so a legitimate gzip body is far
/// below this; a plain body never reaches it (it is already refused past `MAX_BODY`). It bounds what a client
/// can make the server buffer before inflating.
pub const MAX_COMPRESSED_BODY: usize = 4 * 1024 * 1024;

/// Bodies of the small JSON endpoints (claims): a claim is three short strings.
pub const MAX_SMALL_BODY: usize = 16 * 1024;

/// Reads at most `limit` bytes; more is `413 too_large`. A declared `Content-Length` above the limit is refused
/// before reading anything.
pub fn read_capped(
    reader: &mut dyn Read,
    declared: Option<usize>,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::too_large(format!(
            "body is larger than {limit} bytes"
        )));
    }
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| ApiError::invalid_json(format!("cannot read body: {e}")))?;
    if buf.len() > limit {
        return Err(ApiError::too_large(format!(
            "body is larger than {limit} bytes"
        )));
    }
    Ok(buf)
}

/// Inflates a gzip body, refusing it with `413` as soon as it passes `limit` bytes, and with
/// `400 invalid_json` if it is not gzip.
pub fn gunzip_capped(compressed: &[u8], limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    GzDecoder::new(compressed)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| ApiError::invalid_json(format!("body is not valid gzip: {e}")))?;
    if out.len() > limit {
        return Err(ApiError::too_large(format!(
            "uncompressed body is larger than {limit} bytes"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn a_body_at_the_limit_is_read_and_one_byte_more_is_too_large() {
        let ok = [b'x'; 100];
        assert_eq!(read_capped(&mut &ok[..], None, 100).unwrap().len(), 100);
        let over = [b'x'; 101];
        assert_eq!(
            read_capped(&mut &over[..], None, 100).unwrap_err().status,
            413
        );
    }

    #[test]
    fn a_declared_length_over_the_limit_is_refused_without_reading() {
        let mut empty: &[u8] = &[];
        assert_eq!(
            read_capped(&mut empty, Some(101), 100).unwrap_err().status,
            413
        );
    }

    #[test]
    fn gzip_round_trips_and_inflation_stops_past_the_limit() {
        assert_eq!(
            gunzip_capped(&gzip(b"{\"a\":1}"), 100).unwrap(),
            b"{\"a\":1}"
        );
        let bomb = gzip(&vec![0u8; 10 * MAX_BODY]);
        assert_eq!(
            gunzip_capped(&bomb, MAX_BODY).unwrap_err().code,
            "too_large"
        );
    }

    #[test]
    fn not_gzip_is_invalid_json() {
        assert_eq!(
            gunzip_capped(b"{\"batch\": []}", 100).unwrap_err().code,
            "invalid_json"
        );
    }
}
