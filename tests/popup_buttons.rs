//! What a tap means is read from the popup that was offered (a variant's, or
//! the sold-out one, not only the campaign's main popup), and when several
//! delayed popups come due together the highest priority goes first. Real
//! tracker, real SQLite file, `ManualClock`, the scenario harness's phone.

mod scenario_harness;

use std::sync::Arc;

use reach::claim::LocalStock;
use scenario_harness::*;
use serde_json::json;

const SH: &str = "Asia/Shanghai";
const MIN: i64 = 60_000;

fn pack_of(campaigns: serde_json::Value) -> String {
    json!({ "format": "1.1", "campaigns": campaigns }).to_string()
}

fn buttons(title: &str, prefix: &str) -> serde_json::Value {
    json!({
        "template": "modal",
        "title": title,
        "buttons": [
            { "id": format!("{prefix}-go"), "text": "Go",
              "action": { "type": "track_event", "event": format!("{prefix}_tapped"),
                          "properties": { "from": prefix } } },
            { "id": format!("{prefix}-close"), "text": "Not now",
              "action": { "type": "dismiss" } }
        ]
    })
}

/// Variant "b" (weight 1 of 1) has its own buttons; the main popup others.
fn ab_pack() -> String {
    pack_of(json!([{
        "id": "ab",
        "trigger": { "event": "view_item" },
        "variants": [
            { "id": "a", "weight": 0 },
            { "id": "b", "weight": 1, "popup": buttons("B", "b") }
        ],
        "popup": buttons("A", "a")
    }]))
}

#[test]
fn a_variants_dismiss_button_is_a_dismiss_not_a_click() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &ab_pack(), t0);
    let p = phone.event(t0, "view_item", &[]).expect("an offer");
    assert_eq!((p.variant.as_str(), p.title.as_deref()), ("b", Some("B")));
    phone.shown(&p);
    phone.click(&p, "b-close");
    let dismissed = phone.stored_named("reach.popup.dismissed");
    assert_eq!(dismissed.len(), 1, "{dismissed:?}");
    assert_eq!(dismissed[0]["button_id"], "b-close");
    assert!(phone.stored_named("reach.popup.clicked").is_empty());
    // A dismiss does not end the campaign the way a click does
    // (`after_click: never` by default): it may be offered again.
    let again = phone.event(t0 + MIN, "view_item", &[]);
    expect(&again, Some("ab"));
}

#[test]
fn a_variants_track_event_button_records_its_event() {
    let t0 = day(0, "10:00");
    let mut phone = Phone::with_pack(SH, &ab_pack(), t0);
    let p = phone.event(t0, "view_item", &[]).expect("an offer");
    phone.shown(&p);
    phone.click(&p, "b-go");
    let clicked = phone.stored_named("reach.popup.clicked");
    assert_eq!(clicked.len(), 1);
    assert_eq!(clicked[0]["button_id"], "b-go");
    assert_eq!(clicked[0]["variant"], "b");
    let tapped = phone.stored_named("b_tapped");
    assert_eq!(tapped.len(), 1, "the variant's track_event action");
    assert_eq!(tapped[0]["from"], "b");
    assert!(phone.stored_named("a_tapped").is_empty());
}

#[test]
fn the_sold_out_popups_buttons_are_the_ones_that_count() {
    let t0 = day(0, "10:00");
    let pack = pack_of(json!([{
        "id": "gift",
        "trigger": { "event": "purchase" },
        "inventory": { "sold_out": buttons("All gifts are gone", "sold") },
        "popup": buttons("A gift for you", "gift")
    }]));
    let mut phone = Phone::with_pack(SH, &pack, t0);
    let stock = Arc::new(LocalStock::new());
    stock.set_stock("gift", 0);
    phone.set_claim_client(stock);
    let p = phone
        .event(t0, "purchase", &[])
        .expect("the sold-out popup");
    assert_eq!(p.title.as_deref(), Some("All gifts are gone"));
    phone.shown(&p);
    phone.click(&p, "sold-close");
    assert_eq!(phone.stored_named("reach.popup.dismissed").len(), 1);
    assert!(phone.stored_named("reach.popup.clicked").is_empty());

    let p = phone
        .event(t0 + MIN, "purchase", &[])
        .expect("sold out again");
    phone.shown(&p);
    phone.click(&p, "sold-go");
    assert_eq!(phone.stored_named("reach.popup.clicked").len(), 1);
    assert_eq!(phone.stored_named("sold_tapped").len(), 1);
}

#[test]
fn delays_due_together_go_by_priority_then_due_time() {
    let t0 = day(0, "10:00");
    let delayed = |id: &str, priority: i32, after: &str| {
        json!({
            "id": id, "priority": priority,
            "trigger": { "event": "add_to_cart" },
            "delay": { "after": after, "expire_after": "24h" },
            "popup": { "template": "modal", "title": id }
        })
    };
    // "early" comes due first, but "important" outranks it; "late" has the
    // same priority as "early" and comes due after it.
    let pack = pack_of(json!([
        delayed("early", 1, "10m"),
        delayed("important", 5, "20m"),
        delayed("late", 1, "15m"),
    ]));
    let mut phone = Phone::with_pack(SH, &pack, t0);
    phone.foreground(t0);
    expect(&phone.event(t0, "add_to_cart", &[]), None);
    assert!(phone.tracker().on_background());
    // All three are due when the app comes back.
    let first = phone.foreground(t0 + 30 * MIN);
    expect(&first, Some("important"));
    phone.show_and_dismiss(first.as_ref().unwrap());
    let second = phone.next_offer();
    expect(&second, Some("early"));
    phone.show_and_dismiss(second.as_ref().unwrap());
    let third = phone.next_offer();
    expect(&third, Some("late"));
}
