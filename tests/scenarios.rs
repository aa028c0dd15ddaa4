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

/// A device's own view of the shared stock: the device can go offline alone.
struct DeviceLink {
    stock: std::sync::Arc<reach::claim::LocalStock>,
    offline: std::sync::atomic::AtomicBool,
}

impl reach::claim::ClaimClient for DeviceLink {
    fn claim(&self, r: &reach::claim::ClaimRequest) -> reach::claim::ClaimAnswer {
        if self.offline.load(std::sync::atomic::Ordering::SeqCst) {
            return reach::claim::ClaimAnswer::Unavailable("no network".into());
        }
        self.stock.claim(r)
    }

    fn release(&self, campaign_id: &str, key: &str) -> Result<(), String> {
        self.stock.release(campaign_id, key)
    }
}

/// Waits (bounded) until the shared stock holds `left` prizes: releases run
/// on the device's claims thread.
#[track_caller]
fn wait_for_stock(stock: &reach::claim::LocalStock, left: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while stock.left("golden-week-gift") != left {
        assert!(
            std::time::Instant::now() < deadline,
            "stock {} != {left}",
            stock.left("golden-week-gift")
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

#[test]
fn scenario_06_prize_inventory() {
    use reach::popup::Answer;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    let stock = Arc::new(reach::claim::LocalStock::new());
    stock.set_stock("golden-week-gift", 2);
    let t0 = day(0, "10:00");
    let device = |user: &str| {
        let phone = Phone::new(SHANGHAI, "06-prize-inventory", t0);
        let link = Arc::new(DeviceLink {
            stock: stock.clone(),
            offline: false.into(),
        });
        phone.set_claim_client(link.clone());
        phone.identify(user);
        (phone, link)
    };
    let (mut u1, u1_link) = device("U1");
    let (mut u2, _) = device("U2");
    let (mut u3, _) = device("U3");

    // U1: granted, shown.
    let p = u1.event(t0 + 1_000, "purchase", &[]);
    expect(&p, Some("golden-week-gift"));
    u1.show_and_dismiss(&p.unwrap());
    assert_eq!(stock.left("golden-week-gift"), 1);
    // U1 again: one prize per person, so no claim at all.
    let claims = stock.claims_seen();
    expect(&u1.event(t0 + 2_000, "purchase", &[]), None);
    assert_eq!(
        stock.claims_seen(),
        claims,
        "no claim for a person at their limit"
    );
    assert!(u1
        .explain("golden-week-gift")
        .text
        .contains("already received 1 prize(s)"));

    // U2: granted, but the host discards: the prize goes back.
    u2.set_answer(Answer::Discard);
    expect(
        &u2.event(t0 + 3_000, "purchase", &[]),
        Some("golden-week-gift"),
    );
    wait_for_stock(&stock, 1);

    // U3: gets the released prize.
    let p = u3.event(t0 + 4_000, "purchase", &[]);
    expect(&p, Some("golden-week-gift"));
    u3.show_and_dismiss(&p.unwrap());
    assert_eq!(stock.left("golden-week-gift"), 0);

    // U2 again: exhausted, no popup.
    u2.set_answer(Answer::ShowNow);
    expect(&u2.event(t0 + 5_000, "purchase", &[]), None);
    assert!(u2.log.contains("the stock is exhausted: no popup"));
    assert!(u2
        .explain("golden-week-gift")
        .reasons
        .iter()
        .any(|r| r.contains("stock is exhausted")));

    // U1's device offline, a new user U4 on it: policy skip.
    u1_link.offline.store(true, Ordering::SeqCst);
    u1.identify("U4");
    expect(&u1.event(t0 + 6_000, "purchase", &[]), None);
    assert!(u1.log.contains("not shown: offline, claim required"));
    let why = u1.explain("golden-week-gift");
    assert!(why.text.contains("offline, claim required"), "{}", why.text);

    // Each shown prize was recorded once, on the devices that showed it.
    for (phone, shown) in [(&u1, 1), (&u2, 0), (&u3, 1)] {
        let n = phone
            .stored()
            .iter()
            .filter(|e| e.name == "reach.popup.shown")
            .count();
        assert_eq!(n, shown);
    }
}

const CART_CHILD_ENV: &str = "REACH_CART_CHILD";

/// Scenario 07's child process: `trigger` tracks add_to_cart at t0 and
/// waits to be killed; `offer` starts at t0 + 2 h, gets the reminder offered
/// and waits to be killed before the host reports anything.
/// Not a test: ignored, run only by its parent (`--ignored --exact`) with
/// the phase set; run any other way, it fails.
#[test]
#[ignore = "the child process of scenario_07_abandoned_cart"]
fn scenario_07_child() {
    let spec =
        std::env::var(CART_CHILD_ENV).expect("run only by its parent test, which sets the phase");
    let (phase, dir) = spec.split_once(':').unwrap();
    let t0 = day(0, "10:00");
    match phase {
        "trigger" => {
            let mut phone = Phone::open_dir(dir.into(), SHANGHAI, t0);
            phone
                .tracker()
                .load_rule_pack(&pack("07-abandoned-cart"))
                .unwrap();
            phone.foreground(t0);
            expect(&phone.event(t0, "add_to_cart", &[]), None);
            println!("scheduled");
        }
        "offer" => {
            let mut phone = Phone::open_dir(dir.into(), SHANGHAI, t0 + 2 * HOUR);
            let p = phone.foreground(t0 + 2 * HOUR);
            println!("offered {}", p.map(|p| p.campaign_id).unwrap_or_default());
        }
        _ => unreachable!(),
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// Runs the child phase and kills it (SIGKILL) once it has printed a line.
fn run_and_kill(phase: &str, dir: &std::path::Path) -> String {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "scenario_07_child",
            "--ignored",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CART_CHILD_ENV, format!("{phase}:{}", dir.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines
        .find_map(|l| {
            // The test harness may print "test ... " on the same line.
            let l = l.ok()?;
            let at = l.find("scheduled").or_else(|| l.find("offered"))?;
            Some(l[at..].to_owned())
        })
        .expect("the child reported");
    child.kill().unwrap();
    child.wait().unwrap();
    line
}

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

#[test]
fn scenario_07_abandoned_cart() {
    let t0 = day(0, "10:00");
    let id = "cart-reminder";

    // A: a second add_to_cart while pending starts nothing; the reminder
    // comes at t+30m while the app stays in the foreground, once.
    let mut a = Phone::new(SHANGHAI, "07-abandoned-cart", t0);
    a.foreground(t0);
    expect(&a.event(t0, "add_to_cart", &[]), None);
    expect(&a.event(t0 + 10 * MIN, "add_to_cart", &[]), None);
    assert!(a
        .explain(id)
        .text
        .contains("a delayed popup of this campaign is already pending"));
    a.clock.set_ms(t0 + 30 * MIN - 1);
    expect(&a.next_offer(), None);
    a.clock.set_ms(t0 + 30 * MIN);
    let p = a.next_offer();
    expect(&p, Some(id));
    a.show_and_dismiss(&p.unwrap());
    a.clock.set_ms(t0 + 40 * MIN);
    expect(&a.next_offer(), None);
    assert_eq!(a.explain(id).pending_delay_due_ms, None);

    // B: purchase cancels it.
    let mut b = Phone::new(SHANGHAI, "07-abandoned-cart", t0);
    b.foreground(t0);
    b.event(t0, "add_to_cart", &[]);
    b.event(t0 + 10 * MIN, "purchase", &[]);
    b.clock.set_ms(t0 + 30 * MIN);
    expect(&b.next_offer(), None);
    assert!(b.explain(id).text.contains("cancelled by \"purchase\""));

    // C: killed at t+5m (a real SIGKILL); started at t+2h: offered at start;
    // killed again right after the offer; started again: not re-offered,
    // and counted as shown.
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(run_and_kill("trigger", dir.path()), "scheduled");
    assert_eq!(run_and_kill("offer", dir.path()), format!("offered {id}"));
    let mut c = Phone::open_dir(dir.path().to_owned(), SHANGHAI, t0 + 2 * HOUR + MIN);
    expect(&c.foreground(t0 + 2 * HOUR + MIN), None);
    let shown: Vec<_> = c
        .stored()
        .into_iter()
        .filter(|e| e.name == "reach.popup.shown")
        .collect();
    assert_eq!(
        shown.len(),
        1,
        "offered exactly once across both kills: {:?} {:?}",
        c.stored()
            .iter()
            .map(|e| e.name.clone())
            .collect::<Vec<_>>(),
        c.log.lines.lock().unwrap()
    );
    assert_eq!(json(&shown[0])["assumed"], true);
    drop(c);

    // D: started at t+25h: expired (due t+30m, expiry t+24h30m), logged.
    let mut d = Phone::new(SHANGHAI, "07-abandoned-cart", t0);
    d.foreground(t0);
    d.event(t0, "add_to_cart", &[]);
    d.clock.set_ms(t0 + 5 * MIN);
    d.restart(None);
    expect(&d.foreground(t0 + 25 * HOUR), None);
    assert!(d.log.contains("the delayed popup expired"));
    assert!(d.explain(id).text.contains("expired"));
}

/// The arm a person id gets in a campaign of the scenario's pack.
fn arm_of(pack_name: &str, campaign: &str, unit: &str) -> String {
    let pack = reach::rules::RulePack::parse(&pack(pack_name)).unwrap();
    let v = pack
        .campaign_by_id(campaign)
        .unwrap()
        .variants
        .clone()
        .unwrap();
    let weights: Vec<u32> = v.arms.iter().map(|a| a.weight).collect();
    let i = reach::engine::assignment::choose(
        &weights,
        reach::engine::assignment::hash_point(&v.salt, campaign, unit),
    );
    v.arms[i].id.clone()
}

/// The first user id `user-N` in the given arm.
fn user_in(pack_name: &str, campaign: &str, arm: &str) -> String {
    (0..10_000)
        .map(|i| format!("user-{i}"))
        .find(|u| arm_of(pack_name, campaign, u) == arm)
        .unwrap()
}

#[test]
fn scenario_09_holdout_group() {
    const PACK: &str = "09-holdout-group";
    // The split over 100,000 ids, through the pack's own weights and salts.
    let pack = reach::rules::RulePack::parse(&pack(PACK)).unwrap();
    let split = |campaign: &'static str| {
        let v = pack
            .campaign_by_id(campaign)
            .unwrap()
            .variants
            .clone()
            .unwrap();
        let weights: Vec<u32> = v.arms.iter().map(|a| a.weight).collect();
        move |unit: &str| {
            v.arms[reach::engine::assignment::choose(
                &weights,
                reach::engine::assignment::hash_point(&v.salt, campaign, unit),
            )]
            .control
        }
    };
    let (first, second) = (split("vip-upsell"), split("vip-upsell-2"));
    let (mut a, mut both) = (0u32, 0u32);
    for i in 0..100_000 {
        let unit = format!("id-{i}");
        let in_a = first(&unit);
        a += u32::from(in_a);
        both += u32::from(in_a && second(&unit));
    }
    assert!((f64::from(a) / 1e5 - 0.10).abs() <= 0.003, "control {a}");
    assert!((f64::from(both) / 1e5 - 0.01).abs() <= 0.001, "both {both}");

    // On devices: a control person sees nothing but is exposed, counted
    // like an impression; a treated one sees the popup.
    let t0 = day(0, "10:00");
    let control_user = user_in(PACK, "vip-upsell", "control");
    let treated_user = user_in(PACK, "vip-upsell", "treatment");
    let mut ctl = Phone::new(SHANGHAI, PACK, t0);
    ctl.identify(&control_user);
    expect(&ctl.event(t0, "view_item", &[]), None);
    let exposures: Vec<_> = ctl
        .stored()
        .into_iter()
        .filter(|e| e.name == "reach.popup.control")
        .collect();
    assert_eq!(exposures.len(), 1);
    assert_eq!(json(&exposures[0])["campaign_id"], "vip-upsell");
    assert_eq!(json(&exposures[0])["variant"], "control");
    let why = ctl.explain("vip-upsell");
    assert_eq!(why.variant.as_deref(), Some("control"));
    assert_eq!(
        why.impressions, 1,
        "the control exposure counts against caps"
    );

    let mut treated = Phone::new(SHANGHAI, PACK, t0);
    treated.identify(&treated_user);
    let p = treated.event(t0, "view_item", &[]).expect("popup");
    assert_eq!(
        (p.campaign_id.as_str(), p.variant.as_str()),
        ("vip-upsell", "treatment")
    );
    treated.show_and_dismiss(&p);

    // Stable: after a restart, and on a reinstall with the same id.
    ctl.restart(None);
    assert_eq!(
        ctl.explain("vip-upsell").variant.as_deref(),
        Some("control")
    );
    let mut reinstall = Phone::new(SHANGHAI, PACK, t0);
    reinstall.identify(&control_user);
    expect(&reinstall.event(t0 + MIN, "view_item", &[]), None);
    assert_eq!(
        reinstall.explain("vip-upsell").variant.as_deref(),
        Some("control")
    );

    // Exposed anonymously, then identified: the arm stays.
    let mut anon = Phone::new(SHANGHAI, PACK, t0);
    anon.event(t0, "view_item", &[]);
    let before = anon.explain("vip-upsell").variant.unwrap();
    anon.identify(&treated_user);
    anon.identify(&treated_user);
    assert_eq!(anon.explain("vip-upsell").variant.unwrap(), before);
}

#[test]
fn scenario_10_conversion_attribution() {
    const PACK: &str = "10-conversion-attribution";
    let id = "coupon-push";
    let treated = |n: usize| {
        (0..10_000)
            .map(|i| format!("user-{i}"))
            .filter(|u| arm_of(PACK, id, u) == "treatment")
            .nth(n)
            .unwrap()
    };
    let conversions = |phone: &Phone| -> Vec<serde_json::Value> {
        phone
            .stored()
            .iter()
            .filter(|e| e.name == "reach.conversion")
            .map(json)
            .collect()
    };
    let shown_at = |user: &str| {
        let mut phone = Phone::new(SHANGHAI, PACK, day(0, "09:00"));
        phone.identify(user);
        let p = phone
            .event(day(0, "10:00"), "view_item", &[])
            .expect("popup");
        phone.shown(&p);
        (phone, p)
    };

    // Clicked, then a purchase the same evening: a conversion.
    let (mut first, p) = shown_at(&treated(0));
    first.clock.set_ms(day(0, "10:01"));
    first.click(&p, "use");
    first.event(day(0, "20:00"), "purchase", &[("amount", Value::Int(99))]);
    let c = conversions(&first);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0]["campaign_id"], id);
    assert_eq!(c[0]["variant"], "treatment");
    assert_eq!(c[0]["amount"], 99);
    assert_eq!(c[0]["goal_event"], "purchase");
    assert_eq!(c[0]["offer_id"], p.offer_id.as_str());
    // Only the first goal in the window converts.
    first.event(day(0, "21:00"), "purchase", &[("amount", Value::Int(5))]);
    assert_eq!(conversions(&first).len(), 1);

    // Outside the window: nothing.
    let (mut second, p) = shown_at(&treated(1));
    second.dismiss(&p);
    second.event(day(2, "12:00"), "purchase", &[("amount", Value::Int(99))]);
    assert!(conversions(&second).is_empty());

    // View-through: dismissed without a click, purchase within the window.
    let (mut third, p) = shown_at(&treated(2));
    third.dismiss(&p);
    third.event(day(0, "11:00"), "purchase", &[]);
    assert_eq!(conversions(&third).len(), 1);

    // Control: the exposure opens the window; the conversion says control.
    let mut ctl = Phone::new(SHANGHAI, PACK, day(0, "09:00"));
    ctl.identify(&user_in(PACK, id, "control"));
    expect(&ctl.event(day(0, "10:00"), "view_item", &[]), None);
    ctl.event(day(0, "12:00"), "purchase", &[]);
    let c = conversions(&ctl);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0]["variant"], "control");
}
