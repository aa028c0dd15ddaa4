//! What an answer to `POST /v1/batch` means for the events in it. Pure: it
//! reads a response and the clock's "now" (for an HTTP-date `Retry-After`),
//! never the queue.
//!
//! The collectors people run answer success differently: Segment
//! `{"success": true}`, RudderStack a plain `OK`, others an empty `200` or a
//! `204`. Any 2xx is delivered — except an HTML page, which is what a captive
//! portal (hotel Wi-Fi) or a proxy answers to every request: the collector
//! never saw the batch. A 4xx that is not about the batch itself (a mistyped
//! URL, a rotated key, a proxy refusing the method) is a configuration
//! mistake: it must never cost the user's events. Table: docs/upload.md.

use std::time::Duration;

use crate::transport::HttpResponse;

use super::backoff::parse_retry_after;

/// How far into a body the HTML check looks: a page's first tag comes
/// right after optional whitespace or a byte-order mark.
const HTML_SNIFF_BYTES: usize = 64;

/// The meaning of one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Delivered: the rows may leave the queue.
    Delivered,
    /// `413`: split the batch; a single event is dropped.
    TooLarge,
    /// `400`, `422`: something in the batch is bad; split it until the bad
    /// event is isolated, drop only that one.
    BadBatch(u16),
    /// The server refuses this client's configuration, not the batch: keep
    /// the events, back off long, say why.
    Misconfigured {
        status: u16,
        retry_after: Option<Duration>,
        why: String,
    },
    /// Unknown outcome or a passing fault: keep the events, retry with the
    /// usual backoff (a resend is deduplicated by `messageId`).
    Retry {
        retry_after: Option<Duration>,
        why: String,
    },
}

/// Judges an answer to an upload.
pub fn judge(r: &HttpResponse, now_ms: i64) -> Verdict {
    let retry_after = r
        .header("Retry-After")
        .and_then(|v| parse_retry_after(v, now_ms));
    let status = r.status;
    match status {
        200..=299 if is_html_page(r) => Verdict::Retry {
            retry_after,
            why: format!(
                "HTTP {status} with an HTML page instead of a collector's answer \
                 (a captive portal or proxy?); the events are kept"
            ),
        },
        200..=299 => Verdict::Delivered,
        413 => Verdict::TooLarge,
        400 | 422 => Verdict::BadBatch(status),
        408 | 429 => Verdict::Retry {
            retry_after,
            why: format!("HTTP {status}"),
        },
        401 | 403 => Verdict::Misconfigured {
            status,
            retry_after,
            why: format!(
                "HTTP {status}: the server refuses the write key; the events are kept \
                 until the configuration is fixed"
            ),
        },
        // 404, 405, 410, ...: the URL (or a proxy in front of it) is wrong;
        // 3xx left after ureq followed redirects: a redirect loop or one to
        // nowhere, also a URL to fix.
        300..=499 => Verdict::Misconfigured {
            status,
            retry_after,
            why: format!(
                "HTTP {status}: the server refuses the upload URL or method; the events are \
                 kept until the configuration is fixed"
            ),
        },
        _ => Verdict::Retry {
            retry_after,
            why: format!("HTTP {status}"),
        },
    }
}

/// A captive portal's or proxy's page: declared HTML, or, with no or a
/// vague content type, a body that starts like a page.
fn is_html_page(r: &HttpResponse) -> bool {
    let declared = r
        .header("Content-Type")
        .unwrap_or("")
        .trim_start()
        .to_ascii_lowercase();
    if declared.starts_with("text/html") || declared.starts_with("application/xhtml") {
        return true;
    }
    let head = &r.body[..r.body.len().min(HTML_SNIFF_BYTES)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let head = head[start..].to_ascii_lowercase();
    head.starts_with(b"<!doctype html") || head.starts_with(b"<html")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, content_type: Option<&str>, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: content_type
                .map(|c| ("Content-Type".to_string(), c.to_string()))
                .into_iter()
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn every_collectors_success_is_delivered() {
        for r in [
            answer(200, Some("application/json"), r#"{"success": true}"#),
            answer(200, Some("text/plain; charset=utf-8"), "OK"),
            answer(200, None, ""),
            answer(204, None, ""),
            answer(202, Some("application/json"), r#"{"success": false}"#),
        ] {
            assert_eq!(judge(&r, 0), Verdict::Delivered, "{r:?}");
        }
    }

    #[test]
    fn an_html_page_is_an_unknown_outcome() {
        for r in [
            answer(200, Some("text/html; charset=UTF-8"), "<p>Log in</p>"),
            answer(200, Some("TEXT/HTML"), ""),
            answer(200, None, "\n  <!DOCTYPE html><html>hotel wifi</html>"),
            answer(200, Some("text/plain"), "\u{feff}<html><body>login"),
        ] {
            assert!(matches!(judge(&r, 0), Verdict::Retry { .. }), "{r:?}");
        }
    }

    #[test]
    fn statuses_map_to_their_verdicts() {
        let v = |s| judge(&answer(s, Some("application/json"), "{}"), 0);
        assert_eq!(v(413), Verdict::TooLarge);
        assert_eq!(v(400), Verdict::BadBatch(400));
        assert_eq!(v(422), Verdict::BadBatch(422));
        for s in [401, 403, 404, 405, 410, 418, 308] {
            assert!(
                matches!(v(s), Verdict::Misconfigured { status, .. } if status == s),
                "{s}"
            );
        }
        for s in [408, 429, 500, 502, 503, 504, 100] {
            assert!(matches!(v(s), Verdict::Retry { .. }), "{s}");
        }
    }

    #[test]
    fn retry_after_rides_along_with_a_refusal() {
        let mut r = answer(403, None, "");
        r.headers.push(("Retry-After".into(), "90".into()));
        assert!(matches!(
            judge(&r, 0),
            Verdict::Misconfigured { retry_after: Some(d), .. } if d == Duration::from_secs(90)
        ));
    }
}
