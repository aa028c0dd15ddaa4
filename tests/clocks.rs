//! Clocks that lie: set forward and back by days and then corrected, a
//! timezone change while the app runs, and daylight-saving transitions.
//! Through the real tracker on a `ManualClock` (tests/scenario_harness): caps,
//! windows and delays behave as docs/rule-pack.md says, nothing is offered
//! twice, nothing resets, and a clock corrected from the future does not
//! silence capped campaigns until real time catches up.

mod scenario_harness;

use reach::engine::timeline::BACKWARD_CORRECTION_MS;
use scenario_harness::*;
use serde_json::json;

const SH: &str = "Asia/Shanghai";
const NY: &str = "America/New_York";
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// One campaign on the event `e` with the given frequency (and extra keys).
fn capped(frequency: serde_json::Value, extra: serde_json::Value) -> String {
    let mut c = json!({
        "id": "c",
        "trigger": { "event": "e" },
        "frequency": frequency,
        "popup": { "template": "modal", "title": "Hello" }
    });
    if let serde_json::Value::Object(extra) = extra {
        for (k, v) in extra {
            c[k] = v;
        }
    }
    json!({ "format": "1.1", "campaigns": [c] }).to_string()
}

fn once_a_day() -> String {
    capped(json!({ "caps": [{ "max": 1, "per": "day" }] }), json!(null))
}

/// Shows the offer `e` makes at `at_ms` (asserting there is one) and closes it.
#[track_caller]
fn shown_at(phone: &mut Phone, at_ms: i64) {
    let offer = phone.event(at_ms, "e", &[]);
    expect(&offer, Some("c"));
    phone.show_and_dismiss(&offer.unwrap());
}

#[test]
fn a_clock_corrected_from_the_future_does_not_silence_a_daily_cap() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &once_a_day(), t0);
    phone.event(t0, "warm_up", &[]);
    // The clock runs three days ahead; the popup is shown then.
    shown_at(&mut phone, t0 + 3 * DAY);
    // Corrected: the impression counts today (nothing resets) ...
    expect(&phone.event(t0 + MIN, "e", &[]), None);
    expect(&phone.event(day(0, "23:59"), "e", &[]), None);
    // ... and the next real day may show again, not three days later.
    shown_at(&mut phone, day(1, "00:01"));
    expect(&phone.event(day(1, "12:00"), "e", &[]), None);
}

#[test]
fn a_minimum_interval_runs_from_the_correction_not_from_the_future() {
    let t0 = day(0, "10:00");
    let pack = capped(json!({ "min_interval": "1d" }), json!(null));
    let mut phone = Phone::with_pack(SH, &pack, t0);
    phone.event(t0, "warm_up", &[]);
    shown_at(&mut phone, t0 + 5 * DAY);
    let corrected = t0 + HOUR;
    expect(&phone.event(corrected, "e", &[]), None);
    expect(&phone.event(corrected + DAY - 1, "e", &[]), None);
    shown_at(&mut phone, corrected + DAY);
}

#[test]
fn a_correction_made_while_the_app_was_closed_is_seen_at_the_next_start() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &once_a_day(), t0);
    shown_at(&mut phone, t0 + 3 * DAY);
    // Killed or closed while ahead; the clock is corrected before it opens.
    phone.clock.set_ms(t0 + MIN);
    phone.restart(None);
    expect(&phone.event(t0 + 2 * MIN, "e", &[]), None);
    shown_at(&mut phone, day(1, "09:00"));
    assert!(
        phone.log.contains("the clock went back"),
        "the correction is logged"
    );
}

#[test]
fn a_clock_set_back_by_days_resets_no_cap() {
    let t0 = day(10, "10:00");
    let pack = capped(json!({ "max_total": 1 }), json!(null));
    let mut phone = Phone::with_pack(SH, &pack, t0);
    shown_at(&mut phone, t0);
    expect(&phone.event(t0 - 3 * DAY, "e", &[]), None);
    expect(&phone.event(t0 + DAY, "e", &[]), None);
    phone.restart(None);
    expect(&phone.event(t0 + 2 * DAY, "e", &[]), None);
}

#[test]
fn a_clock_set_back_by_days_and_forward_again_resets_no_daily_cap() {
    let t0 = day(10, "10:00");
    let pack = json!({ "format": "1.1",
        "limits": { "max_per_day": 1 },
        "campaigns": [{
            "id": "c", "trigger": { "event": "e" },
            "frequency": { "caps": [{ "max": 1, "per": "day" }, { "max": 1, "per": "week" }] },
            "popup": { "template": "modal", "title": "Hello" }
        }, {
            "id": "other", "trigger": { "event": "o" },
            "popup": { "template": "modal", "title": "Other" }
        }]
    })
    .to_string();
    let mut phone = Phone::with_pack(SH, &pack, t0);
    shown_at(&mut phone, t0);
    // Set back three days: the day it lands on is capped ...
    expect(&phone.event(t0 - 3 * DAY, "e", &[]), None);
    // ... and set forward again, the real day still is (also across campaigns).
    expect(&phone.event(t0 + HOUR, "e", &[]), None);
    expect(&phone.event(t0 + 2 * HOUR, "o", &[]), None);
    phone.restart(None);
    expect(&phone.event(t0 + 3 * HOUR, "e", &[]), None);
    expect(&phone.event(t0 + 3 * HOUR, "o", &[]), None);
    // The next day the global limit lets another campaign show.
    expect(&phone.event(day(11, "10:00"), "o", &[]), Some("other"));
}

#[test]
fn a_small_step_back_keeps_the_impression_where_it_was() {
    // Within the correction threshold, the caps' own rule holds: the
    // impression stamped "later than now" still counts, the interval is
    // measured from it.
    let t0 = day(0, "10:00");
    let pack = capped(json!({ "min_interval": "1h" }), json!(null));
    let mut phone = Phone::with_pack(SH, &pack, t0);
    shown_at(&mut phone, t0);
    let back = t0 - BACKWARD_CORRECTION_MS / 2;
    expect(&phone.event(back, "e", &[]), None);
    expect(&phone.event(back + HOUR, "e", &[]), None);
    shown_at(&mut phone, t0 + HOUR);
    assert!(!phone.log.contains("the clock went back"));
}

/// `add_to_cart`, then a reminder 30 minutes later (once a day).
fn reminder() -> String {
    json!({ "format": "1.1", "campaigns": [{
        "id": "reminder",
        "trigger": { "event": "add_to_cart" },
        "delay": { "after": "30m", "expire_after": "24h" },
        "frequency": { "caps": [{ "max": 1, "per": "day" }] },
        "popup": { "template": "modal", "title": "Still thinking it over?" }
    }]})
    .to_string()
}

#[test]
fn a_delay_scheduled_while_the_clock_was_ahead_keeps_its_length_after_the_correction() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &reminder(), t0);
    phone.foreground(t0);
    expect(&phone.event(t0 + 2 * DAY, "add_to_cart", &[]), None);
    let corrected = t0 + MIN;
    phone.clock.set_ms(corrected);
    expect(&phone.next_offer(), None);
    assert_eq!(
        phone.explain("reminder").pending_delay_due_ms,
        Some(corrected + 30 * MIN)
    );
    phone.clock.set_ms(corrected + 30 * MIN - 1);
    expect(&phone.next_offer(), None);
    phone.clock.set_ms(corrected + 30 * MIN);
    let offer = phone.next_offer();
    expect(&offer, Some("reminder"));
    phone.show_and_dismiss(&offer.unwrap());
    // Offered once: neither the old due time nor a restart offers it again.
    phone.clock.set_ms(t0 + 2 * DAY + 31 * MIN);
    expect(&phone.next_offer(), None);
    phone.restart(None);
    expect(&phone.foreground(t0 + 2 * DAY + 40 * MIN), None);
    assert_eq!(phone.explain("reminder").pending_delay_due_ms, None);
}

#[test]
fn a_clock_set_forward_then_corrected_fires_a_pending_delay_once() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &reminder(), t0);
    phone.foreground(t0);
    phone.event(t0, "add_to_cart", &[]);
    // The clock jumps a day ahead: the delay is due and offered.
    phone.clock.set_ms(t0 + DAY);
    let offer = phone.next_offer();
    expect(&offer, Some("reminder"));
    phone.show_and_dismiss(&offer.unwrap());
    // Corrected back to before the due time: it is gone, not offered again.
    phone.clock.set_ms(t0 + 10 * MIN);
    expect(&phone.next_offer(), None);
    phone.clock.set_ms(t0 + 30 * MIN);
    expect(&phone.next_offer(), None);
    // And the daily cap still holds today (nothing reset).
    phone.event(t0 + HOUR, "add_to_cart", &[]);
    phone.clock.set_ms(t0 + 2 * HOUR);
    expect(&phone.next_offer(), None);
}

// ---------------------------------------------------------------------------
// Timezones

fn quiet_nights() -> String {
    json!({ "format": "1.1",
        "limits": { "quiet_hours": [{ "from": "21:00", "to": "08:00" }] },
        "campaigns": [{
            "id": "c",
            "trigger": { "event": "e" },
            "popup": { "template": "modal", "title": "Hello" }
        }]
    })
    .to_string()
}

#[test]
fn a_timezone_change_at_foreground_moves_quiet_hours_with_the_person() {
    // 10:00 in Shanghai is 21:00 the evening before in New York (EST).
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &quiet_nights(), t0);
    shown_at(&mut phone, t0);
    phone.tracker().set_timezone(NY.into()).unwrap();
    expect(&phone.foreground(t0 + MIN), None);
    expect(&phone.event(t0 + 2 * MIN, "e", &[]), None);
    // 08:00 in New York.
    shown_at(&mut phone, local_ms(NY, "2026-03-02 08:00"));
    // Back home: Shanghai's 21:00 is quiet again.
    phone.tracker().set_timezone(SH.into()).unwrap();
    expect(&phone.event(day(1, "21:30"), "e", &[]), None);
    shown_at(&mut phone, day(1, "20:00") + DAY);
}

#[test]
fn the_events_after_a_timezone_change_carry_the_new_zone() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &quiet_nights(), t0);
    phone.event(t0, "before", &[]);
    phone.tracker().set_timezone(NY.into()).unwrap();
    phone.event(t0 + MIN, "after", &[]);
    let zones: Vec<(String, String)> = phone
        .stored()
        .iter()
        .filter(|e| e.name == "before" || e.name == "after")
        .map(|e| {
            let ctx: serde_json::Value = serde_json::from_str(&e.context_json).unwrap();
            (e.name.clone(), ctx["timezone"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        zones,
        vec![("before".into(), SH.into()), ("after".into(), NY.into())]
    );
}

#[test]
fn an_unknown_timezone_keeps_the_previous_one_and_says_so() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &quiet_nights(), t0);
    phone
        .tracker()
        .set_timezone("Mars/Olympus_Mons".into())
        .unwrap();
    // Still Shanghai: 10:00 is not quiet.
    shown_at(&mut phone, t0);
    assert!(phone.log.contains("unknown timezone \"Mars/Olympus_Mons\""));
}

// ---------------------------------------------------------------------------
// Daylight saving (New York: 2026-03-08 02:00 → 03:00, 2026-11-01 02:00 → 01:00)

#[test]
fn a_daily_cap_counts_calendar_days_across_spring_forward() {
    let mut phone = Phone::with_pack(NY, &once_a_day(), local_ms(NY, "2026-03-07 12:00"));
    shown_at(&mut phone, local_ms(NY, "2026-03-08 01:30"));
    // One real hour later it is 03:30 the same day: still capped.
    expect(
        &phone.event(local_ms(NY, "2026-03-08 01:30") + HOUR, "e", &[]),
        None,
    );
    expect(
        &phone.event(local_ms(NY, "2026-03-08 23:59"), "e", &[]),
        None,
    );
    shown_at(&mut phone, local_ms(NY, "2026-03-09 00:00"));
}

#[test]
fn a_daily_cap_holds_through_the_repeated_hour_of_fall_back() {
    let mut phone = Phone::with_pack(NY, &once_a_day(), local_ms(NY, "2026-10-31 12:00"));
    // The first 01:30 (EDT) ...
    let first = local_ms(NY, "2026-11-01 01:30");
    shown_at(&mut phone, first);
    // ... and the second, an hour later (EST): the same day, still capped.
    expect(&phone.event(first + HOUR, "e", &[]), None);
    expect(
        &phone.event(local_ms(NY, "2026-11-01 23:59"), "e", &[]),
        None,
    );
    shown_at(&mut phone, local_ms(NY, "2026-11-02 00:00"));
}

#[test]
fn a_delay_across_spring_forward_waits_real_time() {
    let t = local_ms(NY, "2026-03-08 01:45");
    let mut phone = Phone::with_pack(NY, &reminder(), t);
    phone.foreground(t);
    phone.event(t, "add_to_cart", &[]);
    // 30 real minutes: 03:15 on the wall clock, not 02:15 (which never is).
    assert_eq!(
        phone.explain("reminder").pending_delay_due_ms,
        Some(t + 30 * MIN)
    );
    assert_eq!(t + 30 * MIN, local_ms(NY, "2026-03-08 03:15"));
    phone.clock.set_ms(t + 30 * MIN - 1);
    expect(&phone.next_offer(), None);
    phone.clock.set_ms(t + 30 * MIN);
    let offer = phone.next_offer();
    expect(&offer, Some("reminder"));
    phone.show_and_dismiss(&offer.unwrap());
    phone.clock.set_ms(t + 2 * HOUR);
    expect(&phone.next_offer(), None);
}

#[test]
fn quiet_hours_follow_the_wall_clock_across_fall_back() {
    // Quiet from 21:00; on 2026-11-01 the wall clock repeats 01:00–02:00,
    // which stays quiet both times; 08:00 EST ends it.
    let mut phone = Phone::with_pack(NY, &quiet_nights(), local_ms(NY, "2026-10-31 20:00"));
    let first = local_ms(NY, "2026-11-01 01:30");
    expect(&phone.event(first, "e", &[]), None);
    expect(&phone.event(first + HOUR, "e", &[]), None);
    expect(
        &phone.event(local_ms(NY, "2026-11-01 07:59"), "e", &[]),
        None,
    );
    shown_at(&mut phone, local_ms(NY, "2026-11-01 08:00"));
}

/// A campaign on `trigger` with the behaviour conditions `behaviour`.
fn with_behaviour(trigger: &str, behaviour: serde_json::Value) -> String {
    json!({ "format": "1.1", "campaigns": [{
        "id": "c",
        "trigger": { "event": trigger },
        "behaviour": behaviour,
        "popup": { "template": "modal", "title": "Hello" }
    }] })
    .to_string()
}

#[test]
fn counts_stamped_while_the_clock_was_ahead_leave_their_window_from_the_correction() {
    let t0 = day(0, "10:00");
    let pack = with_behaviour(
        "open_shop",
        json!([{ "count": "login", "within": "1d", "op": "gte", "value": 3 }]),
    );
    let mut phone = Phone::with_pack(SH, &pack, t0);
    phone.event(t0, "warm_up", &[]);
    // Three logins while the clock runs three days ahead, then corrected.
    for i in 0..3 {
        phone.event(t0 + 3 * DAY + i * MIN, "login", &[]);
    }
    let corrected = t0 + HOUR;
    shown_at_event(&mut phone, corrected, "open_shop");
    // They happened at the correction, as far as windows go: a day after it
    // they are out (left in the future, they would count for three more days).
    phone.restart(None);
    expect(&phone.event(corrected + DAY + HOUR, "open_shop", &[]), None);
}

#[test]
fn last_seen_stamped_ahead_reads_as_the_correction_after_it() {
    let t0 = day(0, "10:00");
    let pack = with_behaviour(
        "app_open",
        json!([{ "last_seen": "login", "op": "gt", "value": "2d" }]),
    );
    let mut phone = Phone::with_pack(SH, &pack, t0);
    phone.event(t0, "warm_up", &[]);
    phone.event(t0 + 3 * DAY, "login", &[]);
    let corrected = t0 + HOUR;
    expect(&phone.event(corrected, "app_open", &[]), None);
    phone.restart(None);
    // Two days and a bit after the correction the person counts as away;
    // with the login left three days ahead they would not for another three.
    shown_at_event(&mut phone, corrected + 2 * DAY + HOUR, "app_open");
}

#[test]
fn a_sequence_step_stamped_ahead_times_out_from_the_correction() {
    let t0 = day(0, "10:00");
    let pack = json!({ "format": "1.1", "campaigns": [{
        "id": "c",
        "trigger": { "sequence": [
            { "event": "view_item" },
            { "event": "add_to_cart", "within": "1h" }
        ] },
        "popup": { "template": "modal", "title": "Hello" }
    }] })
    .to_string();
    let mut phone = Phone::with_pack(SH, &pack, t0);
    phone.event(t0, "warm_up", &[]);
    expect(&phone.event(t0 + 3 * DAY, "view_item", &[]), None);
    let corrected = t0 + HOUR;
    expect(&phone.event(corrected, "warm_up", &[]), None);
    phone.restart(None);
    // Two hours after the correction the first step is out of time (left at
    // its wrong stamp, it would still be "in the future" and complete).
    expect(&phone.event(corrected + 2 * HOUR, "add_to_cart", &[]), None);
    // The sequence still works from a fresh start.
    expect(&phone.event(corrected + 3 * HOUR, "view_item", &[]), None);
    let offer = phone.event(corrected + 3 * HOUR + MIN, "add_to_cart", &[]);
    expect(&offer, Some("c"));
}

/// Tracks `name` at `at_ms`, which must offer the campaign; shows and closes it.
#[track_caller]
fn shown_at_event(phone: &mut Phone, at_ms: i64, name: &str) {
    let offer = phone.event(at_ms, name, &[]);
    expect(&offer, Some("c"));
    phone.show_and_dismiss(&offer.unwrap());
}
