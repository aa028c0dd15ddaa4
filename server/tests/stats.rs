//! `GET /v1/stats` after posting a batch: per event name and per campaign.

mod common;

use common::*;
use reach_server::{start, ServerConfig};
use serde_json::json;

#[test]
fn stats_count_events_by_name_and_campaign_events_by_campaign() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(ServerConfig::new(dir.path())).unwrap();
    let c = |id: &str| json!({"campaign_id": id, "offer_id": "o"});
    let events = vec![
        track("1", "reach.popup.shown", c("c1")),
        track("2", "reach.popup.shown", c("c1")),
        track("3", "reach.popup.clicked", c("c1")),
        track("4", "reach.popup.dismissed", c("c2")),
        track("5", "reach.popup.control", c("c2")),
        track("6", "reach.conversion", c("c1")),
        track("7", "add_to_cart", json!({"sku": "A1"})),
        track("7", "add_to_cart", json!({"sku": "A1"})),
    ];
    assert_eq!(post_batch_gzip(s.addr(), &batch(events), None).status, 200);
    let bearer = format!("Bearer {}", s.admin_token());
    let r = request(
        s.addr(),
        "GET",
        "/v1/stats",
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({
            "events_received": 8, "events_stored": 7, "duplicates": 1, "batches": 1, "events_refused": 0,
            "by_event": {"reach.popup.shown": 2, "reach.popup.clicked": 1, "reach.popup.dismissed": 1,
                         "reach.popup.control": 1, "reach.conversion": 1, "add_to_cart": 1},
            "by_campaign": {
                "c1": {"shown": 2, "clicked": 1, "dismissed": 0, "control": 0, "conversions": 1},
                "c2": {"shown": 0, "clicked": 0, "dismissed": 1, "control": 1, "conversions": 0}
            }
        })
    );
    assert_eq!(serde_json::to_value(s.stats().unwrap()).unwrap(), r.json());
}
