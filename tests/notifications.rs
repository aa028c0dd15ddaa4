//! The local-notification fallback, on virtual time with a fake host
//! scheduler: scheduled at the background with the delay's due time and
//! the campaign's text, cancelled when the app returns first or the delay is
//! cancelled, a fired one counted as the impression (the popup not shown as
//! well) and a tap as the click; quiet hours move it, caps and consent
//! apply, a throwing scheduler is harmless.

mod scenario_harness;

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reach::notification::{NotificationRequest, NotificationScheduler};
use reach::Consent;
use scenario_harness::*;

const SH: &str = "Asia/Shanghai";

fn cart_pack(extra_limits: &str, frequency: &str) -> String {
    format!(
        r#"{{"format": "1.1", "version": 1, "default_locale": "en", "limits": {{{extra_limits}}}, "campaigns": [
  {{"id": "cart", "trigger": {{"event": "add_to_cart"}},
   "delay": {{"after": "30m", "expire_after": "24h"}}, "cancel_on": [{{"event": "purchase"}}],
   "channels": ["in_app", "local_notification"],
   "notification": {{"title": {{"en": "Your cart misses you", "zh": "购物车在等你"}}, "body": "Come back"}},
   {frequency}
   "popup": {{"template": "modal", "title": "Still thinking?"}}}}]}}"#
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Call {
    Schedule(NotificationRequest),
    Cancel(String),
}

struct FakeScheduler {
    calls: Mutex<Sender<Call>>,
    fail: bool,
}

impl NotificationScheduler for FakeScheduler {
    fn schedule(&self, r: &NotificationRequest) -> Result<(), String> {
        let _ = self.calls.lock().unwrap().send(Call::Schedule(r.clone()));
        if self.fail {
            return Err("notifications are off for this app".into());
        }
        Ok(())
    }

    fn cancel(&self, id: &str) -> Result<(), String> {
        let _ = self.calls.lock().unwrap().send(Call::Cancel(id.to_owned()));
        Ok(())
    }
}

fn phone_with(pack: &str, start: i64, fail: bool) -> (Phone, Receiver<Call>) {
    let phone = Phone::with_pack(SH, pack, start);
    let (tx, rx) = mpsc::channel();
    phone
        .tracker()
        .set_notification_scheduler(Some(Arc::new(FakeScheduler {
            calls: Mutex::new(tx),
            fail,
        })))
        .unwrap();
    (phone, rx)
}

fn next_call(rx: &Receiver<Call>) -> Call {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("a scheduler call")
}

fn background(phone: &Phone, at: i64) {
    phone.clock.set_ms(at);
    assert!(phone.tracker().on_background());
    assert!(phone.tracker().flush());
}

fn reasons(phone: &Phone) -> Vec<String> {
    phone.explain("cart").reasons
}

fn count(phone: &Phone, name: &str) -> usize {
    phone
        .stored()
        .iter()
        .filter(|e| e.name == name)
        .filter(|e| e.properties_json.contains("\"local_notification\""))
        .count()
}

#[test]
fn a_pending_delay_becomes_a_notification_in_the_background_and_the_popup_if_the_app_returns_first()
{
    let (mut phone, rx) = phone_with(&cart_pack("", ""), day(0, "10:00"), false);
    phone.foreground(day(0, "10:00"));
    assert_eq!(phone.event(day(0, "10:00"), "add_to_cart", &[]), None);
    background(&phone, day(0, "10:05"));
    let Call::Schedule(n) = next_call(&rx) else {
        panic!("scheduled first")
    };
    assert_eq!(n.campaign_id, "cart");
    assert_eq!(n.fire_at_ms, day(0, "10:30"));
    assert_eq!(n.title, "购物车在等你", "localised for zh-CN");
    assert_eq!(n.body.as_deref(), Some("Come back"));

    // Back at 10:10: the notification is cancelled, the popup comes in-app.
    assert_eq!(phone.foreground(day(0, "10:10")), None);
    assert_eq!(next_call(&rx), Call::Cancel(n.notification_id.clone()));
    let offer = phone.foreground(day(0, "10:31")).expect("the in-app popup");
    assert_eq!(offer.campaign_id, "cart");
    assert_eq!(count(&phone, "reach.popup.shown"), 0);
}

#[test]
fn a_fired_notification_is_the_impression_and_its_tap_the_click() {
    let (mut phone, rx) = phone_with(&cart_pack("", ""), day(0, "10:00"), false);
    phone.foreground(day(0, "10:00"));
    phone.event(day(0, "10:00"), "add_to_cart", &[]);
    background(&phone, day(0, "10:05"));
    let Call::Schedule(n) = next_call(&rx) else {
        panic!()
    };
    // The person comes back by tapping it at 10:40.
    phone.clock.set_ms(day(0, "10:40"));
    phone
        .tracker()
        .notification_tapped(n.notification_id.clone())
        .unwrap();
    assert_eq!(
        phone.foreground(day(0, "10:40")),
        None,
        "the popup is not shown as well"
    );
    assert_eq!(count(&phone, "reach.popup.shown"), 1);
    assert_eq!(count(&phone, "reach.popup.clicked"), 1);
    let why = reasons(&phone);
    assert!(why.iter().any(|r| r.contains("tapped: a click")), "{why:?}");
    // after_click: never (the default) ends the campaign for this person.
    phone.event(day(0, "11:00"), "add_to_cart", &[]);
    assert_eq!(phone.foreground(day(0, "12:00")), None);

    // Fired without a tap: counted as shown at the foreground, nothing else.
    let (mut phone, rx) = phone_with(&cart_pack("", ""), day(0, "10:00"), false);
    phone.foreground(day(0, "10:00"));
    phone.event(day(0, "10:00"), "add_to_cart", &[]);
    background(&phone, day(0, "10:05"));
    let _ = next_call(&rx);
    assert_eq!(phone.foreground(day(0, "11:00")), None);
    assert_eq!(count(&phone, "reach.popup.shown"), 1);
    assert_eq!(count(&phone, "reach.popup.clicked"), 0);
}

#[test]
fn a_cancelled_delay_cancels_its_notification() {
    let (mut phone, rx) = phone_with(&cart_pack("", ""), day(0, "10:00"), false);
    phone.foreground(day(0, "10:00"));
    phone.event(day(0, "10:00"), "add_to_cart", &[]);
    background(&phone, day(0, "10:05"));
    let Call::Schedule(n) = next_call(&rx) else {
        panic!()
    };
    // A purchase tracked in the background (a background sync).
    phone.event(day(0, "10:06"), "purchase", &[]);
    assert_eq!(next_call(&rx), Call::Cancel(n.notification_id));
}

#[test]
fn a_notification_scheduled_before_a_restart_is_still_cancelled_when_the_app_returns_first() {
    let (mut phone, rx) = phone_with(&cart_pack("", ""), day(0, "10:00"), false);
    phone.foreground(day(0, "10:00"));
    phone.event(day(0, "10:00"), "add_to_cart", &[]);
    background(&phone, day(0, "10:05"));
    let Call::Schedule(n) = next_call(&rx) else {
        panic!()
    };
    phone.restart(None);
    let (tx, rx) = mpsc::channel();
    phone
        .tracker()
        .set_notification_scheduler(Some(Arc::new(FakeScheduler {
            calls: Mutex::new(tx),
            fail: false,
        })))
        .unwrap();
    assert_eq!(phone.foreground(day(0, "10:10")), None);
    assert_eq!(next_call(&rx), Call::Cancel(n.notification_id));
    let offer = phone.foreground(day(0, "10:31")).expect("the in-app popup");
    assert_eq!(offer.campaign_id, "cart");
}

#[test]
fn a_due_time_in_quiet_hours_moves_to_their_end() {
    let limits = r#""quiet_hours": [{"from": "22:00", "to": "08:00"}]"#;
    let (mut phone, rx) = phone_with(&cart_pack(limits, ""), day(0, "21:50"), false);
    phone.foreground(day(0, "21:50"));
    phone.event(day(0, "21:50"), "add_to_cart", &[]);
    background(&phone, day(0, "21:55"));
    let Call::Schedule(n) = next_call(&rx) else {
        panic!()
    };
    assert_eq!(n.fire_at_ms, day(1, "08:00"));
}

#[test]
fn caps_and_consent_apply_as_for_popups() {
    // Another popup took the day's one impression while the delay waited.
    let pack = cart_pack(r#""max_per_day": 1"#, "").replace(
        r#"]}"#,
        r#", {"id": "promo", "trigger": {"event": "open_promo"},
              "popup": {"template": "banner", "title": "Promo"}}]}"#,
    );
    let (mut phone, rx) = phone_with(&pack, day(0, "10:00"), false);
    phone.foreground(day(0, "10:00"));
    phone.event(day(0, "10:00"), "add_to_cart", &[]);
    let promo = phone
        .event(day(0, "10:01"), "open_promo", &[])
        .expect("promo");
    phone.show_and_dismiss(&promo);
    background(&phone, day(0, "10:05"));
    let why = reasons(&phone);
    assert!(
        why.iter()
            .any(|r| r.starts_with("no local notification:") && r.contains("day")),
        "{why:?}"
    );
    assert!(rx.try_recv().is_err());

    // Consent denied: nothing is recorded, nothing scheduled.
    let (mut phone, rx) = phone_with(&cart_pack("", ""), day(0, "10:00"), false);
    phone.foreground(day(0, "10:00"));
    phone.event(day(0, "10:00"), "add_to_cart", &[]);
    phone.tracker().set_consent(Consent::Denied).unwrap();
    background(&phone, day(0, "10:05"));
    assert!(rx.try_recv().is_err());
    assert!(!reasons(&phone)
        .iter()
        .any(|r| r.contains("local notification")));
}

#[test]
fn a_scheduler_that_throws_is_logged_and_harmless() {
    let (mut phone, rx) = phone_with(&cart_pack("", ""), day(0, "10:00"), true);
    phone.foreground(day(0, "10:00"));
    phone.event(day(0, "10:00"), "add_to_cart", &[]);
    background(&phone, day(0, "10:05"));
    let _ = next_call(&rx);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !phone.log.contains("could not schedule notification") {
        assert!(std::time::Instant::now() < deadline, "logged");
        std::thread::sleep(Duration::from_millis(2));
        phone.tracker().flush();
    }
    // The app returns first: cancelled, and the popup shows in the app.
    phone.foreground(day(0, "10:10"));
    let offer = phone.foreground(day(0, "10:31")).expect("the in-app popup");
    assert_eq!(offer.campaign_id, "cart");
}
