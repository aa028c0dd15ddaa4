//! The operators' scenarios from ../shared/scenarios, one test each, named
//! after the file, run through the tracker with a test presenter on virtual
//! time. Packs are in tests/fixtures/packs/<scenario>.json.

mod scenario_harness;

use reach::Value;
use scenario_harness::*;

const SHANGHAI: &str = "Asia/Shanghai";

fn s(v: &str) -> Value {
    Value::String(v.into())
}

#[test]
fn scenario_01_registration_lottery() {
    let t0 = day(0, "12:00");
    let mut phone = Phone::new(SHANGHAI, "01-registration-lottery", t0);
    expect(&phone.foreground(t0), None);
    let popup = phone.event(t0 + 10_000, "register", &[("method", s("sms"))]);
    expect(&popup, Some("new-user-lottery"));
    let popup = popup.unwrap();
    assert_eq!(popup.title.as_deref(), Some("New member lottery"));
    assert_eq!(
        popup
            .buttons
            .iter()
            .map(|b| b.text.as_str())
            .collect::<Vec<_>>(),
        ["Draw now", "Later"]
    );
    phone.shown(&popup);
    phone.clock.set_ms(t0 + 20_000);
    phone.click(&popup, "draw");

    phone.clock.set_ms(t0 + 3_600_000);
    phone.restart(None);
    expect(&phone.event(t0 + 3_605_000, "register", &[]), None);

    let events = phone.stored();
    let clicked: Vec<_> = events
        .iter()
        .filter(|e| e.name == "reach.popup.clicked")
        .collect();
    assert_eq!(clicked.len(), 1);
    let p = json(clicked[0]);
    assert_eq!(p["campaign_id"], "new-user-lottery");
    assert_eq!(p["button_id"], "draw");
    assert_eq!(p["variant"], "default");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.name == "reach.popup.shown")
            .count(),
        1
    );
    assert_eq!(clicked[0].timestamp_ms, t0 + 20_000);
}

#[test]
fn scenario_02_login_streak() {
    let login = |phone: &mut Phone, d: i64| phone.event(day(d, "10:00"), "login", &[]);
    // Trace A
    let mut a = Phone::new(SHANGHAI, "02-login-streak", day(0, "09:00"));
    expect(&login(&mut a, 0), None);
    expect(&login(&mut a, 2), None);
    let p = login(&mut a, 5);
    expect(&p, Some("login-streak"));
    a.show_and_dismiss(&p.unwrap());
    expect(&login(&mut a, 6), None);
    expect(&login(&mut a, 40), None);
    expect(&login(&mut a, 41), None);
    expect(&login(&mut a, 42), Some("login-streak"));
    // Trace B
    let mut b = Phone::new(SHANGHAI, "02-login-streak", day(0, "09:00"));
    for d in [0, 3, 8] {
        expect(&login(&mut b, d), None);
    }
    // Trace C: the counts survive a restart.
    let mut c = Phone::new(SHANGHAI, "02-login-streak", day(0, "09:00"));
    expect(&login(&mut c, 0), None);
    expect(&login(&mut c, 1), None);
    c.restart(None);
    expect(&login(&mut c, 2), Some("login-streak"));
}

#[test]
fn scenario_03_verified_share() {
    let mut phone = Phone::new(SHANGHAI, "03-verified-share", day(0, "09:00"));
    let verified = |phone: &Phone, v: bool| {
        phone
            .tracker()
            .set_user_properties(vec![("verified".into(), Value::Bool(v))])
            .unwrap()
    };
    verified(&phone, false);
    expect(
        &phone.event(
            day(0, "10:00"),
            "share",
            &[("channel", s("wechat_moments"))],
        ),
        None,
    );
    phone.clock.set_ms(day(0, "11:00"));
    verified(&phone, true);
    expect(
        &phone.event(day(0, "11:05"), "share", &[("channel", s("sms"))]),
        None,
    );
    let p = phone.event(day(0, "11:10"), "share", &[("channel", s("qzone"))]);
    expect(&p, Some("share-reward"));
    phone.show_and_dismiss(&p.unwrap());
    expect(
        &phone.event(day(0, "18:00"), "share", &[("channel", s("qzone"))]),
        None,
    );
    let p = phone.event(
        day(1, "11:11"),
        "share",
        &[("channel", s("wechat_moments"))],
    );
    expect(&p, Some("share-reward"));
    phone.show_and_dismiss(&p.unwrap());
    expect(
        &phone.event(day(3, "11:00"), "share", &[("channel", s("qzone"))]),
        None,
    );
}

#[test]
fn scenario_04_festival_window() {
    let sh = |t: &str| local_ms(SHANGHAI, t);
    let mut phone = Phone::new(SHANGHAI, "04-festival-window", sh("2026-09-19 11:00"));
    let open = |phone: &mut Phone, at: i64| phone.event(at, "app_open", &[]);
    expect(&open(&mut phone, sh("2026-09-19 12:00")), None);
    expect(&open(&mut phone, sh("2026-09-24 22:30")), None);
    expect(&open(&mut phone, sh("2026-09-25 09:30")), None);
    let p = open(&mut phone, sh("2026-09-25 10:05"));
    expect(&p, Some("mid-autumn"));
    phone.show_and_dismiss(&p.unwrap());
    expect(&open(&mut phone, sh("2026-09-25 15:00")), None);
    let p = open(&mut phone, sh("2026-09-26 21:59"));
    expect(&p, Some("mid-autumn"));
    phone.show_and_dismiss(&p.unwrap());
    expect(&open(&mut phone, sh("2026-09-26 23:30")), None);
    expect(&open(&mut phone, sh("2026-10-01 12:00")), None);

    // Trace 2: a fresh device in Berlin.
    let be = |t: &str| local_ms("Europe/Berlin", t);
    let mut berlin = Phone::new(
        "Europe/Berlin",
        "04-festival-window",
        be("2026-09-25 09:00"),
    );
    expect(&open(&mut berlin, be("2026-09-25 09:30")), None);
    let p = open(&mut berlin, be("2026-09-25 10:05"));
    expect(&p, Some("mid-autumn"));
    berlin.show_and_dismiss(&p.unwrap());
    expect(&open(&mut berlin, be("2026-09-26 18:30")), None);
    assert!(
        berlin
            .log
            .contains("mid-autumn not offered for \"app_open\": the campaign has ended"),
        "the only reason is the end date"
    );
}

#[test]
fn scenario_05_regional_audience() {
    let dir = tempfile::tempdir().unwrap();
    let _ = dir;
    let mut phone = Phone::new(SHANGHAI, "05-regional-audience", day(0, "09:00"));
    phone.restart(Some("5.1.9"));
    phone
        .tracker()
        .set_user_properties(vec![("region".into(), s("beijing"))])
        .unwrap();
    expect(&phone.event(day(0, "10:00"), "view_item", &[]), None);
    phone
        .tracker()
        .set_user_properties(vec![("region".into(), s("hangzhou"))])
        .unwrap();
    expect(&phone.event(day(0, "10:01"), "view_item", &[]), None);
    phone.restart(Some("5.2.0"));
    expect(
        &phone.event(day(0, "10:02"), "view_item", &[]),
        Some("jiangnan-coupon"),
    );
}

#[test]
fn scenario_08_anti_harassment() {
    let mut phone = Phone::new(SHANGHAI, "08-anti-harassment", day(0, "08:59"));
    let step = |phone: &mut Phone, at: i64, name: &str, want: Option<&str>| {
        let p = phone.event(at, name, &[]);
        expect(&p, want);
        if let Some(p) = p {
            phone.show_and_dismiss(&p);
        }
    };
    step(&mut phone, day(0, "09:00:00"), "app_open", Some("A"));
    step(&mut phone, day(0, "09:00:30"), "app_open", None);
    step(&mut phone, day(0, "09:01:10"), "app_open", Some("B"));
    step(&mut phone, day(0, "09:02:20"), "app_open", Some("C"));
    step(&mut phone, day(0, "09:04:00"), "view_item", None);
    step(&mut phone, day(1, "07:59"), "app_open", None);
    step(&mut phone, day(1, "08:00"), "app_open", Some("A"));
    step(&mut phone, day(1, "08:00:40"), "view_item", None);
    step(&mut phone, day(1, "08:01:30"), "view_item", Some("D"));

    let mut fresh = Phone::new(SHANGHAI, "08-anti-harassment", day(0, "22:00"));
    step(&mut fresh, day(0, "22:30"), "app_open", None);
    assert!(fresh
        .log
        .contains("not offered for \"app_open\": quiet hours"));
    assert!(!fresh.log.contains("popups today"));
}

#[test]
fn scenario_11_retry_after_dismiss() {
    let mut phone = Phone::new(SHANGHAI, "11-retry-after-dismiss", day(0, "08:00"));
    let open = |phone: &mut Phone, d: i64, hm: &str| phone.event(day(d, hm), "app_open", &[]);
    for (d, hm, want) in [
        (0, "09:00", true),
        (0, "12:00", false),
        (1, "09:05", true),
        (2, "09:10", true),
        (3, "09:15", false),
    ] {
        let p = open(&mut phone, d, hm);
        expect(&p, want.then_some("open-notifications"));
        if let Some(p) = p {
            phone.show_and_dismiss(&p);
        }
    }
    let mut second = Phone::new(SHANGHAI, "11-retry-after-dismiss", day(0, "08:00"));
    let p = open(&mut second, 0, "09:00").expect("popup");
    second.shown(&p);
    second.click(&p, "enable");
    for d in 1..5 {
        expect(&open(&mut second, d, "09:00"), None);
    }
}
