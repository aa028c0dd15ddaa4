//! Format 1.1 campaigns over (virtual) time, through the real tracker: a real
//! SQLite file, the worker, presenter and claims threads, a test presenter
//! and a `ManualClock`. One behaviour per test, each with a small inline
//! pack: sequences, delays re-checked when due, variants, prize inventory,
//! goals, replay to a new pack's campaigns, and `explain`.
//! The operators' scenarios (06, 07, 09, 10) are in tests/scenarios.rs.

mod scenario_harness;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reach::claim::{ClaimAnswer, ClaimClient, ClaimRequest, LocalStock};
use reach::popup::CLAIM_TIMEOUT_MS;
use reach::Value;
use scenario_harness::*;
use serde_json::json;

const SH: &str = "Asia/Shanghai";
const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;

/// A format 1.1 pack of `campaigns`, with global `limits` (or none).
fn pack_of(limits: serde_json::Value, campaigns: serde_json::Value) -> String {
    let mut p = json!({ "format": "1.1", "campaigns": campaigns });
    if !limits.is_null() {
        p["limits"] = limits;
    }
    p.to_string()
}

fn campaigns(c: serde_json::Value) -> String {
    pack_of(serde_json::Value::Null, c)
}

fn modal(title: &str) -> serde_json::Value {
    json!({ "template": "modal", "title": title })
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

/// Stored events named `name`, as JSON properties.
/// Waits (bounded, real time) until `cond` holds.
#[track_caller]
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

// ---------------------------------------------------------------------------
// Sequences

/// view_item, then add_to_cart within 10 min, then checkout within 1 h.
fn funnel(extra: serde_json::Value) -> String {
    let mut c = json!({
        "id": "funnel",
        "trigger": { "sequence": [
            { "event": "view_item" },
            { "event": "add_to_cart", "within": "10m" },
            { "event": "checkout", "within": "1h" }
        ] },
        "popup": modal("Need help checking out?")
    });
    if let serde_json::Value::Object(extra) = extra {
        for (k, v) in extra {
            c[k] = v;
        }
    }
    campaigns(json!([c]))
}

#[test]
fn sequence_in_order_and_in_time_offers_on_the_last_step() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &funnel(json!({})), t0);
    expect(&phone.event(t0, "view_item", &[]), None);
    expect(&phone.event(t0 + 9 * MIN, "add_to_cart", &[]), None);
    expect(
        &phone.event(t0 + 9 * MIN + HOUR, "checkout", &[]),
        Some("funnel"),
    );
}

#[test]
fn sequence_step_out_of_time_offers_nothing() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &funnel(json!({})), t0);
    phone.event(t0, "view_item", &[]);
    expect(&phone.event(t0 + 10 * MIN + 1, "add_to_cart", &[]), None);
    expect(&phone.event(t0 + 11 * MIN, "checkout", &[]), None);
    // And a late last step, after an in-time second one.
    phone.event(t0 + 20 * MIN, "view_item", &[]);
    phone.event(t0 + 21 * MIN, "add_to_cart", &[]);
    expect(
        &phone.event(t0 + 21 * MIN + HOUR + 1, "checkout", &[]),
        None,
    );
}

#[test]
fn sequence_first_step_again_restarts_the_clock() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &funnel(json!({})), t0);
    phone.event(t0, "view_item", &[]);
    phone.event(t0 + 8 * MIN, "view_item", &[]);
    // 15 min after the first view, 7 after the second: in time.
    expect(&phone.event(t0 + 15 * MIN, "add_to_cart", &[]), None);
    expect(&phone.event(t0 + 20 * MIN, "checkout", &[]), Some("funnel"));
}

#[test]
fn sequence_progress_survives_a_restart() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &funnel(json!({})), t0);
    phone.event(t0, "view_item", &[]);
    phone.event(t0 + 5 * MIN, "add_to_cart", &[]);
    phone.clock.set_ms(t0 + 6 * MIN);
    phone.restart(None);
    expect(&phone.event(t0 + 30 * MIN, "checkout", &[]), Some("funnel"));
}

#[test]
fn explain_shows_the_sequence_step_reached() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &funnel(json!({})), t0);
    phone.event(t0, "view_item", &[]);
    let why = phone.explain("funnel");
    assert_eq!(why.outcome, "not offered");
    assert!(why.text.contains("sequence step 1 of 3"), "{}", why.text);
    phone.event(t0 + MIN, "add_to_cart", &[]);
    let why = phone.explain("funnel");
    assert!(why.text.contains("sequence step 2 of 3"), "{}", why.text);
    assert!(
        why.text.contains("sequence progress: 2 of 3 steps done"),
        "{}",
        why.text
    );
}

#[test]
fn sequence_with_delay_offers_after_the_last_step() {
    let t0 = day(0, "10:00");
    let pack = funnel(json!({ "delay": { "after": "5m" } }));
    let mut phone = Phone::with_pack(SH, &pack, t0);
    phone.foreground(t0);
    phone.event(t0, "view_item", &[]);
    phone.event(t0 + MIN, "add_to_cart", &[]);
    expect(&phone.event(t0 + 2 * MIN, "checkout", &[]), None);
    assert_eq!(
        phone.explain("funnel").pending_delay_due_ms,
        Some(t0 + 7 * MIN)
    );
    phone.clock.set_ms(t0 + 7 * MIN - 1);
    expect(&phone.next_offer(), None);
    phone.clock.set_ms(t0 + 7 * MIN);
    expect(&phone.next_offer(), Some("funnel"));
}

// ---------------------------------------------------------------------------
// Delays

/// `add_to_cart`, then the reminder 30 min later unless cancelled.
fn reminder(limits: serde_json::Value, cancel_on: serde_json::Value) -> String {
    let mut c = json!({
        "id": "reminder",
        "trigger": { "event": "add_to_cart" },
        "delay": { "after": "30m", "expire_after": "24h" },
        "popup": modal("Still thinking it over?")
    });
    if !cancel_on.is_null() {
        c["cancel_on"] = cancel_on;
    }
    pack_of(limits, json!([c]))
}

#[test]
fn delay_due_in_quiet_hours_stays_pending_and_is_offered_when_they_end() {
    let quiet = json!({ "quiet_hours": [{ "from": "22:00", "to": "08:00" }] });
    let t0 = day(0, "21:50");
    let mut phone = Phone::with_pack(SH, &reminder(quiet, serde_json::Value::Null), t0);
    phone.foreground(t0);
    expect(&phone.event(t0, "add_to_cart", &[]), None);
    // Due at 22:20, inside quiet hours: kept.
    phone.clock.set_ms(day(0, "22:20"));
    expect(&phone.next_offer(), None);
    phone.clock.set_ms(day(1, "07:59"));
    expect(&phone.next_offer(), None);
    assert_eq!(
        phone.explain("reminder").pending_delay_due_ms,
        Some(day(0, "22:20"))
    );
    phone.clock.set_ms(day(1, "08:00"));
    expect(&phone.next_offer(), Some("reminder"));
}

#[test]
fn a_delay_kept_pending_by_quiet_hours_leaves_the_worker_idle() {
    let quiet = json!({ "quiet_hours": [{ "from": "22:00", "to": "08:00" }] });
    let t0 = day(0, "21:50");
    let mut phone = Phone::with_pack(SH, &reminder(quiet, serde_json::Value::Null), t0);
    phone.foreground(t0);
    phone.event(t0, "add_to_cart", &[]);
    phone.clock.set_ms(day(0, "22:20"));
    expect(&phone.next_offer(), None);
    // Nothing happens until quiet hours end: the worker must sleep, not
    // wake at once and commit again and again (each commit writes the WAL).
    let before = phone.tracker().diagnostics().database_bytes;
    std::thread::sleep(Duration::from_secs(1));
    let after = phone.tracker().diagnostics().database_bytes;
    assert_eq!(after, before, "the database grew while nothing happened");
}

#[test]
fn delay_due_in_the_background_is_offered_at_the_next_foreground() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &reminder(json!(null), json!(null)), t0);
    phone.foreground(t0);
    phone.event(t0, "add_to_cart", &[]);
    phone.clock.set_ms(t0 + MIN);
    assert!(phone.tracker().on_background());
    phone.clock.set_ms(t0 + 31 * MIN);
    expect(&phone.next_offer(), None);
    phone.clock.set_ms(t0 + 2 * HOUR);
    expect(&phone.next_offer(), None);
    expect(&phone.foreground(t0 + 2 * HOUR + MIN), Some("reminder"));
}

#[test]
fn delay_whose_campaign_a_new_pack_removed_is_dropped_with_a_log_line() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &reminder(json!(null), json!(null)), t0);
    phone.foreground(t0);
    phone.event(t0, "add_to_cart", &[]);
    phone.clock.set_ms(t0 + MIN);
    let other = campaigns(json!([{
        "id": "other", "trigger": { "event": "never_tracked" }, "popup": modal("Other")
    }]));
    phone.tracker().load_rule_pack(&other).unwrap();
    phone.clock.set_ms(t0 + 30 * MIN);
    expect(&phone.next_offer(), None);
    assert!(
        phone
            .log
            .contains("campaign reminder: the delayed popup is dropped: the campaign is no longer in the active pack"),
        "{:?}",
        phone.log.lines.lock().unwrap()
    );
    let why = phone.explain("reminder");
    assert_eq!(why.outcome, "not in the active pack");
    assert_eq!(why.pending_delay_due_ms, None);
}

#[test]
fn reset_clears_pending_delays() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &reminder(json!(null), json!(null)), t0);
    phone.foreground(t0);
    phone.event(t0, "add_to_cart", &[]);
    assert!(phone.explain("reminder").pending_delay_due_ms.is_some());
    phone.clock.set_ms(t0 + MIN);
    phone.tracker().reset().unwrap();
    assert_eq!(phone.explain("reminder").pending_delay_due_ms, None);
    phone.clock.set_ms(t0 + 30 * MIN);
    expect(&phone.next_offer(), None);
    // Nor does it come back from the disk.
    phone.restart(None);
    expect(&phone.foreground(t0 + 31 * MIN), None);
    assert_eq!(phone.explain("reminder").pending_delay_due_ms, None);
}

fn cart_reminder() -> String {
    reminder(
        json!(null),
        json!([{ "event": "remove_from_cart",
                 "where": [{ "prop": "cart_empty", "op": "eq", "value": true }] }]),
    )
}

#[test]
fn cancel_on_with_a_condition_that_does_not_hold_keeps_the_delay() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &cart_reminder(), t0);
    phone.foreground(t0);
    phone.event(t0, "add_to_cart", &[]);
    phone.event(
        t0 + MIN,
        "remove_from_cart",
        &[("cart_empty", Value::Bool(false))],
    );
    phone.event(t0 + 2 * MIN, "remove_from_cart", &[]);
    assert_eq!(
        phone.explain("reminder").pending_delay_due_ms,
        Some(t0 + 30 * MIN)
    );
    phone.clock.set_ms(t0 + 30 * MIN);
    expect(&phone.next_offer(), Some("reminder"));
}

#[test]
fn cancel_on_with_a_condition_that_holds_cancels_the_delay() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &cart_reminder(), t0);
    phone.foreground(t0);
    phone.event(t0, "add_to_cart", &[]);
    phone.event(
        t0 + MIN,
        "remove_from_cart",
        &[("cart_empty", Value::Bool(true))],
    );
    let why = phone.explain("reminder");
    assert_eq!(why.pending_delay_due_ms, None);
    assert!(
        why.text.contains("cancelled by \"remove_from_cart\""),
        "{}",
        why.text
    );
    phone.clock.set_ms(t0 + 30 * MIN);
    expect(&phone.next_offer(), None);
}

#[test]
fn a_due_delay_wakes_the_worker_on_its_own() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &reminder(json!(null), json!(null)), t0);
    phone.foreground(t0);
    phone.event(t0, "add_to_cart", &[]);
    let before = phone.tracker().diagnostics().popups_offered;
    // No flush, no track: only the worker's own timer (at most 5 s real).
    phone.clock.set_ms(t0 + 30 * MIN);
    let deadline = Instant::now() + Duration::from_secs(15);
    while phone.tracker().diagnostics().popups_offered == before {
        assert!(
            Instant::now() < deadline,
            "the due delay was not offered within 15 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    expect(&phone.next_offer(), Some("reminder"));
}

// ---------------------------------------------------------------------------
// Variants

#[test]
fn a_variants_own_popup_is_presented_and_the_variant_is_reported() {
    let t0 = day(0, "10:00");
    let pack = campaigns(json!([{
        "id": "vip",
        "trigger": { "event": "view_item" },
        "variants": [
            { "id": "treatment", "weight": 0 },
            { "id": "short-copy", "weight": 1, "popup": { "template": "banner", "title": "Go VIP" } }
        ],
        "popup": modal("Become a VIP")
    }]));
    let mut phone = Phone::with_pack(SH, &pack, t0);
    let p = phone.event(t0, "view_item", &[]).expect("an offer");
    assert_eq!(p.title.as_deref(), Some("Go VIP"));
    assert_eq!(p.variant, "short-copy");
    phone.show_and_dismiss(&p);
    let shown = phone.stored_named("reach.popup.shown");
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0]["variant"], "short-copy");
    assert_eq!(shown[0]["campaign_id"], "vip");
}

#[test]
fn a_control_exposure_blocks_lower_priority_campaigns_for_that_event() {
    let t0 = day(0, "10:00");
    let pack = campaigns(json!([
        {
            "id": "low", "priority": 1,
            "trigger": { "event": "view_item" },
            "popup": modal("Low")
        },
        {
            "id": "holdout", "priority": 10,
            "trigger": { "event": "view_item" },
            "variants": [
                { "id": "treatment", "weight": 0 },
                { "id": "control", "weight": 1, "control": true }
            ],
            "popup": modal("High")
        }
    ]));
    let mut phone = Phone::with_pack(SH, &pack, t0);
    expect(&phone.event(t0, "view_item", &[]), None);
    let control = phone.stored_named("reach.popup.control");
    assert_eq!(control.len(), 1);
    assert_eq!(control[0]["campaign_id"], "holdout");
    let why = phone.explain("low");
    assert_eq!(why.outcome, "not offered");
    assert!(why.text.contains("campaign holdout"), "{}", why.text);
}

#[test]
fn new_weights_in_a_new_pack_do_not_move_an_assigned_person() {
    let t0 = day(0, "10:00");
    let arms = |a: u32, b: u32| {
        campaigns(json!([{
            "id": "ab",
            "trigger": { "event": "view_item" },
            "variants": [
                { "id": "a", "weight": a },
                { "id": "b", "weight": b, "popup": modal("B") }
            ],
            "popup": modal("A")
        }]))
    };
    let mut phone = Phone::with_pack(SH, &arms(1, 0), t0);
    let p = phone.event(t0, "view_item", &[]).expect("an offer");
    assert_eq!(p.variant, "a");
    phone.show_and_dismiss(&p);
    phone.tracker().load_rule_pack(&arms(0, 1)).unwrap();
    let p = phone.event(t0 + MIN, "view_item", &[]).expect("an offer");
    assert_eq!((p.variant.as_str(), p.title.as_deref()), ("a", Some("A")));
    phone.show_and_dismiss(&p);
    assert_eq!(phone.explain("ab").variant.as_deref(), Some("a"));
}

// ---------------------------------------------------------------------------
// Inventory

fn gift(inventory: serde_json::Value) -> String {
    campaigns(json!([{
        "id": "gift",
        "trigger": { "event": "purchase" },
        "inventory": inventory,
        "popup": modal("A gift for you")
    }]))
}

#[test]
fn sold_out_popup_is_offered_when_the_stock_is_exhausted_and_no_prize_counts() {
    let t0 = day(0, "10:00");
    let pack = gift(json!({ "sold_out": { "template": "banner", "title": "All gifts are gone" } }));
    let mut phone = Phone::with_pack(SH, &pack, t0);
    let stock = Arc::new(LocalStock::new());
    stock.set_stock("gift", 0);
    phone.set_claim_client(stock.clone());
    let p = phone
        .event(t0, "purchase", &[])
        .expect("the sold-out popup");
    assert_eq!(p.title.as_deref(), Some("All gifts are gone"));
    phone.show_and_dismiss(&p);
    let why = phone.explain("gift");
    assert!(
        why.text.contains("prizes received: 0 of at most 1"),
        "{}",
        why.text
    );
    // No prize was counted, so the person is not at their limit: claims again.
    let claims = stock.claims_seen();
    let p = phone
        .event(t0 + MIN, "purchase", &[])
        .expect("sold out again");
    assert_eq!(p.title.as_deref(), Some("All gifts are gone"));
    assert_eq!(stock.claims_seen(), claims + 1);
}

#[test]
fn show_unclaimed_shows_the_popup_when_the_claim_is_unavailable() {
    let t0 = day(0, "10:00");
    let pack = gift(json!({ "offline": "show_unclaimed" }));
    let mut phone = Phone::with_pack(SH, &pack, t0);
    let stock = Arc::new(LocalStock::new());
    stock.set_stock("gift", 5);
    stock.set_offline(true);
    phone.set_claim_client(stock.clone());
    let p = phone.event(t0, "purchase", &[]).expect("shown unclaimed");
    assert_eq!(p.title.as_deref(), Some("A gift for you"));
    phone.show_and_dismiss(&p);
    assert_eq!(stock.left("gift"), 5);
    let why = phone.explain("gift");
    assert!(why.text.contains("show_unclaimed"), "{}", why.text);
    assert!(why.text.contains("prizes received: 0"), "{}", why.text);
}

#[test]
fn without_a_claim_client_the_offline_policy_decides() {
    let t0 = day(0, "10:00");
    let pack = campaigns(json!([
        {
            "id": "gift-skip", "trigger": { "event": "purchase" },
            "inventory": {}, "popup": modal("Skip")
        },
        {
            "id": "gift-show", "trigger": { "event": "share" },
            "inventory": { "offline": "show_unclaimed" }, "popup": modal("Show")
        }
    ]));
    let mut phone = Phone::with_pack(SH, &pack, t0);
    expect(&phone.event(t0, "purchase", &[]), None);
    assert!(phone.log.contains("no claim client is configured"));
    let p = phone
        .event(t0 + MIN, "share", &[])
        .expect("shown unclaimed");
    assert_eq!(p.campaign_id, "gift-show");
}

/// A claim client whose claims block until the test lets them go (or the
/// test ends and drops the gate), recording every claim and release.
struct GatedClient {
    gate: Mutex<mpsc::Receiver<()>>,
    claims: Mutex<Vec<ClaimRequest>>,
    releases: Mutex<Vec<(String, String)>>,
    waiting: AtomicUsize,
}

impl GatedClient {
    fn new() -> (Arc<GatedClient>, mpsc::Sender<()>) {
        let (tx, rx) = mpsc::channel();
        let c = GatedClient {
            gate: Mutex::new(rx),
            claims: Mutex::default(),
            releases: Mutex::default(),
            waiting: AtomicUsize::new(0),
        };
        (Arc::new(c), tx)
    }

    fn claim_keys(&self) -> Vec<String> {
        let c = self.claims.lock().unwrap();
        c.iter().map(|r| r.idempotency_key.clone()).collect()
    }

    fn released(&self) -> Vec<(String, String)> {
        self.releases.lock().unwrap().clone()
    }
}

impl ClaimClient for GatedClient {
    fn claim(&self, r: &ClaimRequest) -> ClaimAnswer {
        self.claims.lock().unwrap().push(r.clone());
        self.waiting.fetch_add(1, Ordering::SeqCst);
        // Returns at the latest when the test drops the sender, or after 30 s.
        let _ = self
            .gate
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(30));
        ClaimAnswer::Granted {
            claim_id: format!("late:{}", r.idempotency_key),
        }
    }

    fn release(&self, campaign_id: &str, key: &str) -> Result<(), String> {
        self.releases
            .lock()
            .unwrap()
            .push((campaign_id.to_owned(), key.to_owned()));
        Ok(())
    }
}

/// A claim client that never blocks and records releases.
#[derive(Default)]
struct Recorder {
    releases: Mutex<Vec<(String, String)>>,
}

impl ClaimClient for Recorder {
    fn claim(&self, _: &ClaimRequest) -> ClaimAnswer {
        ClaimAnswer::Exhausted
    }

    fn release(&self, campaign_id: &str, key: &str) -> Result<(), String> {
        self.releases
            .lock()
            .unwrap()
            .push((campaign_id.to_owned(), key.to_owned()));
        Ok(())
    }
}

#[test]
fn a_claim_that_never_answers_times_out_to_the_offline_policy_and_is_released_later() {
    let t0 = day(0, "10:00");
    let pack = gift(json!({ "offline": "show_unclaimed" }));
    let mut phone = Phone::with_pack(SH, &pack, t0);
    let (client, gate) = GatedClient::new();
    phone.set_claim_client(client.clone());
    phone.clock.set_ms(t0);
    phone.tracker().track("purchase".into(), vec![]).unwrap();
    assert!(phone.tracker().flush());
    wait_until("the claim reached the client", || {
        client.waiting.load(Ordering::SeqCst) == 1
    });
    let key = client.claim_keys()[0].clone();

    phone.clock.set_ms(t0 + CLAIM_TIMEOUT_MS - 1);
    assert!(phone.tracker().flush());
    assert!(phone.tracker().flush());
    assert_eq!(phone.tracker().diagnostics().popups_offered, 0);

    // The timeout: the offline policy decides while the client still hangs.
    phone.clock.set_ms(t0 + CLAIM_TIMEOUT_MS);
    assert!(phone.tracker().flush());
    assert!(phone.tracker().flush());
    assert_eq!(phone.tracker().diagnostics().popups_offered, 1);
    let why = phone.explain("gift");
    assert!(why.text.contains("no answer within 10 s"), "{}", why.text);
    assert!(client.released().is_empty(), "the client is still busy");

    // The client returns (late, granted): the key is released, nothing more
    // is offered.
    gate.send(()).unwrap();
    let p = phone.next_offer().expect("the offer made at the timeout");
    assert_eq!(p.title.as_deref(), Some("A gift for you"));
    wait_until("the release", || !client.released().is_empty());
    assert_eq!(client.released(), vec![("gift".to_owned(), key)]);
    phone.show_and_dismiss(&p);
    assert_eq!(phone.tracker().diagnostics().popups_offered, 1);
    let why = phone.explain("gift");
    assert!(
        why.text.contains("prizes received: 0"),
        "a late grant is no prize: {}",
        why.text
    );
}

#[test]
fn restart_while_claiming_offers_nothing_and_releases_the_key_once_a_client_is_set() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &gift(json!({ "offline": "show_unclaimed" })), t0);
    let (client, gate) = GatedClient::new();
    phone.set_claim_client(client.clone());
    phone.foreground(t0);
    phone.tracker().track("purchase".into(), vec![]).unwrap();
    assert!(phone.tracker().flush());
    wait_until("the claim reached the client", || {
        client.waiting.load(Ordering::SeqCst) == 1
    });
    let key = client.claim_keys()[0].clone();

    phone.clock.set_ms(t0 + SEC);
    phone.restart(None);
    expect(&phone.foreground(t0 + 2 * SEC), None);
    phone.clock.set_ms(t0 + CLAIM_TIMEOUT_MS + MIN);
    expect(&phone.next_offer(), None);
    assert!(phone.log.contains("was waiting for its prize claim"));

    let recorder = Arc::new(Recorder::default());
    phone.set_claim_client(recorder.clone());
    wait_until("the release after restart", || {
        !recorder.releases.lock().unwrap().is_empty()
    });
    assert_eq!(
        *recorder.releases.lock().unwrap(),
        vec![("gift".to_owned(), key)]
    );
    assert_eq!(phone.tracker().diagnostics().popups_offered, 0);
    drop(gate);
}

// ---------------------------------------------------------------------------
// Goals

fn coupon(goal: serde_json::Value) -> String {
    campaigns(json!([{
        "id": "coupon",
        "trigger": { "event": "view_item" },
        "goal": goal,
        "popup": modal("A coupon for you")
    }]))
}

#[test]
fn a_goal_with_a_condition_converts_only_when_it_holds() {
    let t0 = day(0, "10:00");
    let pack = coupon(json!({
        "event": "purchase", "within": "1h",
        "where": [{ "prop": "amount", "op": "gt", "value": 100 }]
    }));
    let mut phone = Phone::with_pack(SH, &pack, t0);
    let p = phone.event(t0, "view_item", &[]).unwrap();
    phone.show_and_dismiss(&p);
    phone.event(t0 + MIN, "purchase", &[("amount", Value::Int(50))]);
    phone.event(t0 + 2 * MIN, "purchase", &[("amount", s("150"))]);
    assert!(phone.stored_named("reach.conversion").is_empty());
    phone.event(t0 + 3 * MIN, "purchase", &[("amount", Value::Int(150))]);
    let c = phone.stored_named("reach.conversion");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0]["amount"], 150);
    assert_eq!(c[0]["offer_id"], p.offer_id.as_str());
}

#[test]
fn a_new_impression_reopens_the_window_after_a_conversion() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(
        SH,
        &coupon(json!({ "event": "purchase", "within": "1h" })),
        t0,
    );
    let first = phone.event(t0, "view_item", &[]).unwrap();
    phone.show_and_dismiss(&first);
    phone.event(t0 + MIN, "purchase", &[]);
    phone.event(t0 + 2 * MIN, "purchase", &[]);
    assert_eq!(phone.stored_named("reach.conversion").len(), 1);
    let second = phone.event(t0 + 3 * MIN, "view_item", &[]).unwrap();
    phone.show_and_dismiss(&second);
    phone.event(t0 + 4 * MIN, "purchase", &[]);
    let c = phone.stored_named("reach.conversion");
    assert_eq!(c.len(), 2);
    assert_eq!(c[0]["offer_id"], first.offer_id.as_str());
    assert_eq!(c[1]["offer_id"], second.offer_id.as_str());
}

// ---------------------------------------------------------------------------
// Replay

fn welcome(replay: Option<serde_json::Value>) -> String {
    let mut c = json!({
        "id": "welcome",
        "trigger": { "event": "app_open_custom" },
        "popup": modal("Welcome")
    });
    if let Some(r) = replay {
        c["replay"] = r;
    }
    campaigns(json!([c]))
}

/// Tracks the trigger at `t0`, loads the pack `lag` later; the offer, if any.
fn replayed(pack: &str, lag: i64) -> (Phone, Option<reach::popup::OfferContent>) {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &campaigns(json!([])), t0);
    expect(&phone.event(t0, "app_open_custom", &[]), None);
    phone.clock.set_ms(t0 + lag);
    phone.tracker().load_rule_pack(pack).unwrap();
    let offer = phone.next_offer();
    (phone, offer)
}

#[test]
fn an_event_10s_before_a_new_pack_is_replayed_to_its_new_campaign() {
    let (_, offer) = replayed(&welcome(None), 10 * SEC);
    expect(&offer, Some("welcome"));
}

#[test]
fn an_event_40s_before_a_new_pack_is_past_the_default_replay() {
    let (_, offer) = replayed(&welcome(None), 40 * SEC);
    expect(&offer, None);
}

#[test]
fn replay_false_turns_replay_off() {
    let (_, offer) = replayed(&welcome(Some(json!(false))), 10 * SEC);
    expect(&offer, None);
}

#[test]
fn a_campaign_already_in_the_previous_pack_is_not_replayed_to() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &welcome(None), t0);
    let p = phone.event(t0, "app_open_custom", &[]).expect("triggered");
    phone.show_and_dismiss(&p);
    phone.clock.set_ms(t0 + 10 * SEC);
    let mut next: serde_json::Value = serde_json::from_str(&welcome(None)).unwrap();
    next["revision"] = json!("2");
    phone.tracker().load_rule_pack(&next.to_string()).unwrap();
    expect(&phone.next_offer(), None);
    assert_eq!(phone.stored_named("reach.popup.shown").len(), 1);
}

// ---------------------------------------------------------------------------
// explain

#[test]
fn explain_an_unknown_campaign_says_it_is_not_in_the_active_pack() {
    let phone = Phone::with_pack(SH, &welcome(None), day(0, "10:00"));
    let why = phone.explain("no-such-campaign");
    assert_eq!(why.outcome, "not in the active pack");
    assert!(!why.in_pack);
    assert!(why.text.contains("no campaign \"no-such-campaign\""));
}

#[test]
fn explain_a_property_filter_miss_names_the_condition_value_and_type() {
    let t0 = day(0, "10:00");
    let pack = campaigns(json!([{
        "id": "big-spender",
        "trigger": { "event": "purchase",
                     "where": [{ "prop": "amount", "op": "gt", "value": 100 }] },
        "popup": modal("Thank you!")
    }]));
    let mut phone = Phone::with_pack(SH, &pack, t0);
    expect(&phone.event(t0, "purchase", &[("amount", s("150"))]), None);
    let why = phone.explain("big-spender");
    assert_eq!(why.outcome, "not offered");
    assert!(
        why.text.contains(r#"gt 100: amount is "150" (string)"#),
        "{}",
        why.text
    );
}

#[test]
fn explain_an_audience_miss_names_the_failing_part() {
    let t0 = day(0, "10:00");
    let pack = campaigns(json!([{
        "id": "english-only",
        "trigger": { "event": "view_item" },
        "audience": { "locales": ["en"], "platforms": ["android"] },
        "popup": modal("Hello")
    }]));
    let mut phone = Phone::with_pack(SH, &pack, t0);
    expect(&phone.event(t0, "view_item", &[]), None);
    let why = phone.explain("english-only");
    assert!(
        why.text
            .to_lowercase()
            .contains("locale must fall under en, the device's is zh-cn"),
        "{}",
        why.text
    );
    assert!(!why.text.contains("platform"), "{}", why.text);
}

#[test]
fn explain_a_cap_block_names_the_cap() {
    let t0 = day(0, "10:00");
    let pack = campaigns(json!([{
        "id": "once",
        "trigger": { "event": "view_item" },
        "frequency": { "max_total": 1 },
        "popup": modal("Once")
    }]));
    let mut phone = Phone::with_pack(SH, &pack, t0);
    let p = phone.event(t0, "view_item", &[]).unwrap();
    phone.show_and_dismiss(&p);
    expect(&phone.event(t0 + MIN, "view_item", &[]), None);
    let why = phone.explain("once");
    assert!(
        why.text
            .contains("shown 1 times in total, the campaign's limit"),
        "{}",
        why.text
    );
}
