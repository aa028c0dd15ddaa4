//! The device's judgement of an answer to `POST /v1/batch`
//! (src/upload/answer.rs): any status, headers and body. Nothing panics; a
//! 2xx that is not an HTML page delivers; 400/422 split the batch; 413
//! splits; nothing else ever drops events.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reach::upload::answer::{judge, Verdict};

fuzz_target!(|data: &[u8]| {
    // Eight bytes of "now" (an HTTP-date Retry-After is counted from it), then
    // the answer.
    let (now, rest) = data.split_at(data.len().min(8));
    let mut now_bytes = [0u8; 8];
    now_bytes[..now.len()].copy_from_slice(now);
    let now_ms = i64::from_le_bytes(now_bytes);
    let response = reach_fuzz::response_from(rest);
    let verdict = judge(&response, now_ms);
    match response.status {
        200..=299 => assert!(matches!(
            verdict,
            Verdict::Delivered | Verdict::Retry { .. }
        )),
        400 | 422 => assert_eq!(verdict, Verdict::BadBatch(response.status)),
        413 => assert_eq!(verdict, Verdict::TooLarge),
        _ => assert!(matches!(
            verdict,
            Verdict::Misconfigured { .. } | Verdict::Retry { .. }
        )),
    }
});
