//! The trigger engine like for like with the compiled rule evaluators of
//! ../shared/peers (datalogic-rs, cel, jexl): exactly their 1,000 conditions
//! `region in ['shanghai','hangzhou'] && verified == true &&
//! count(evt_i, 7 d) >= 1 + i % 5`, as a pack of 1,000 campaigns on one
//! event, against the same person (region "shanghai", verified, each evt_i
//! once a day for 30 days, so every condition holds). The peers get their
//! 7-day counts handed to them in a map; Reach reads its own bucketed
//! counters.
//!
//! Every campaign is evaluated to the end, as the peers evaluate every rule:
//! the event arrives while an offer is in flight, so each campaign that
//! passes its conditions is then held back as busy (none is offered, so none
//! outranks the rest). The decision's skips are checked to be exactly that.
//!
//!     cargo bench --bench engine_peers
//!     CARGO_TARGET_DIR=target/peers cargo run --release --manifest-path ../shared/peers/Cargo.toml
//!
//! Run both in the same sitting and quote the ratio to datalogic-rs's
//! "(d) 1,000 precompiled rules per event" row.

mod common;

use std::sync::Arc;
use std::time::Instant;

use reach::engine::{Person, Skip, TriggerEngine};
use reach::rules::RulePack;
use reach::Value;

const CAMPAIGNS: usize = 1_000;
/// Events per repeat, as the peers' CAMPAIGN_ITERS.
const EVENTS: usize = 200;
const REPEATS: usize = 5;
const DAY_MS: i64 = 86_400_000;

/// The peers' threshold: campaign `i` asks for 1..=5 events in 7 days.
fn threshold(i: usize) -> usize {
    1 + i % 5
}

fn pack() -> String {
    let campaigns: Vec<String> = (0..CAMPAIGNS)
        .map(|i| {
            format!(
                r#"{{"id": "c{i}",
                  "trigger": {{"event": "hot"}},
                  "audience": {{"user_properties": [
                      {{"prop": "region", "op": "in", "value": ["shanghai", "hangzhou"]}},
                      {{"prop": "verified", "op": "eq", "value": true}}]}},
                  "behaviour": [{{"count": "evt{i}", "within": "7d", "op": "gte", "value": {t}}}],
                  "popup": {{"template": "modal", "title": "Offer {i}"}}}}"#,
                t = threshold(i)
            )
        })
        .collect();
    format!(
        r#"{{"format": "1.0", "campaigns": [{}]}}"#,
        campaigns.join(",")
    )
}

fn main() {
    // 2026-09-22 12:00 in Shanghai.
    let now = 1_790_049_600_000i64;
    let pack = Arc::new(RulePack::parse(&pack()).unwrap());
    let mut e = TriggerEngine::new(pack, common::engine_device());
    let user: reach::value::Properties = [
        ("region".to_owned(), Value::String("shanghai".into())),
        ("verified".to_owned(), Value::Bool(true)),
    ]
    .into();
    let person = Person {
        user_properties: &user,
        identified: false,
        session_id: "s",
        segments: None,
        test: false,
    };
    // The peers' history: each evt_i once a day for the last 30 days.
    for day in (0..30).rev() {
        let at = now - day * DAY_MS - 3_600_000;
        for i in 0..CAMPAIGNS {
            e.on_event(&format!("evt{i}"), &[], at, at, &person, false);
        }
    }
    println!("engine like for like with ../shared/peers: 1,000 campaigns, {EVENTS} events x {REPEATS} repeats");
    println!("| repeat | median µs/event | p99 µs/event |");
    println!("|---|---:|---:|");
    let mut medians = Vec::new();
    for repeat in 1..=REPEATS {
        let mut ns = Vec::with_capacity(EVENTS);
        for k in 0..EVENTS {
            let t = now + k as i64;
            let start = Instant::now();
            let d = e.on_event("hot", &[], t, t, &person, true);
            ns.push(start.elapsed().as_nanos() as u64);
            assert!(d.offer.is_none());
            assert_eq!(d.skipped.len(), CAMPAIGNS);
            // Held back only as busy: every condition before it held.
            for (idx, why) in &d.skipped {
                assert!(matches!(why, Skip::OfferInFlight), "c{idx}: {why}");
            }
        }
        let (m, p) = common::median_p99(ns);
        medians.push(m as f64 / 1e3);
        println!(
            "| {repeat} | {:.1} | {:.1} |",
            m as f64 / 1e3,
            p as f64 / 1e3
        );
    }
    println!("summary: median of repeats {}", common::summary(&medians));
}
