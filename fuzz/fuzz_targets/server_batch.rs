//! The reference server's `POST /v1/batch` body (server/src/batch.rs,
//! body.rs): any bytes, as gzip when they start like gzip, else as plain
//! JSON — and then the same JSON gzipped by the harness, which must be read
//! the same. Nothing panics; every event is stored or refused by index.
#![no_main]

use std::io::Write;

use flate2::{write::GzEncoder, Compression};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let keys = ["key".to_string()];
    // Basic base64("key:"), as the SDK sends it.
    let authorization = Some("Basic a2V5Og==");
    if data.starts_with(&[0x1f, 0x8b]) {
        let _ = reach_server::batch_body_for_fuzzing(&keys, authorization, data, true);
        return;
    }
    let plain = reach_server::batch_body_for_fuzzing(&keys, authorization, data, false);
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(data).unwrap();
    let gzipped =
        reach_server::batch_body_for_fuzzing(&keys, authorization, &gz.finish().unwrap(), true);
    match (&plain, &gzipped) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.0, b.0, "{a:?} / {b:?}"),
        _ => panic!("plain {plain:?} but gzipped {gzipped:?}"),
    }
    if let Ok(answer) = &plain {
        let batch_len = serde_json::from_slice::<serde_json::Value>(data).unwrap()["batch"]
            .as_array()
            .unwrap()
            .len();
        let refused = answer["refused"].as_array().map_or(0, Vec::len);
        assert!(refused <= batch_len);
    }
    // A write key that is not configured is refused before the body is read.
    let refused = reach_server::batch_body_for_fuzzing(&keys, Some("Basic b3RoZXI6"), data, false);
    assert_eq!(refused.unwrap_err().0, 401);
});
