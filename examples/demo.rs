//! The demo, on embedded defaults: starts the reference server on loopback
//! (SQLite, a signed rule pack, a prize stock), opens Reach against it the
//! way an app would, and walks through the main job:
//!
//! 1. Reach syncs the signed rule pack (conditional GET, verified with the
//!    app's public key);
//! 2. events trigger campaigns on the device: a popup at once, a popup that
//!    needs a prize claimed from the server, a popup 2 seconds later;
//! 3. the presenter (here: the console) shows them and reports back;
//! 4. `onBackground()` uploads the events (gzip, Segment batch format) and
//!    the server's stats show what arrived.
//!
//! Run with `cargo run --example demo`. Nothing leaves 127.0.0.1.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reach::facade::{
    AppInfo, CallbackError, Consent, LogLevel, LogSink, Popup, PopupPresenter, PresenterDecision,
    PropertyValue, Reach, ReachConfig,
};

/// The operators' campaigns for the demo, as the server serves them.
const PACK: &str = r#"{
  "format": "1.1",
  "revision": "demo-1",
  "version": 1,
  "campaigns": [
    {
      "id": "new-user-lottery",
      "trigger": {"event": "register"},
      "frequency": {"max_total": 1},
      "popup": {"template": "modal", "title": "New member lottery",
        "buttons": [{"id": "draw", "text": "Draw now", "action": {"type": "deep_link", "url": "app://lottery"}}]}
    },
    {
      "id": "golden-week-gift",
      "trigger": {"event": "purchase"},
      "inventory": {"per_user": 1, "offline": "skip"},
      "popup": {"template": "modal", "title": "A gift for you",
        "buttons": [{"id": "claim", "text": "Claim", "action": {"type": "deep_link", "url": "app://gift"}}]}
    },
    {
      "id": "cart-reminder",
      "trigger": {"event": "add_to_cart"},
      "delay": {"after": "2s", "expire_after": "1h"},
      "cancel_on": [{"event": "purchase"}],
      "popup": {"template": "banner", "title": "Still thinking it over?"}
    }
  ]
}"#;

const WRITE_KEY: &str = "demo-write-key";

struct PrintLog;

impl LogSink for PrintLog {
    fn log(&self, level: LogLevel, message: String) -> Result<(), CallbackError> {
        if level != LogLevel::Debug {
            println!("    [reach {level:?}] {message}");
        }
        Ok(())
    }
}

/// The "app's UI": shows every popup at once and hands it to the main
/// thread, which reports what the person did.
struct ConsolePresenter(Mutex<Sender<Popup>>);

impl PopupPresenter for ConsolePresenter {
    fn offer(&self, popup: Popup) -> Result<PresenterDecision, CallbackError> {
        println!(
            "  >> popup {} ({:?}): {}",
            popup.campaign_id,
            popup.template,
            popup.title.clone().unwrap_or_default()
        );
        if let Ok(s) = self.0.lock() {
            let _ = s.send(popup);
        }
        Ok(PresenterDecision::ShowNow)
    }
}

fn wait_for_popup(popups: &Receiver<Popup>, within: Duration) -> Option<Popup> {
    popups.recv_timeout(within).ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::temp_dir().join(format!("reach-demo-{}", std::process::id()));
    let packs = root.join("packs");
    std::fs::create_dir_all(&packs)?;
    std::fs::write(packs.join("default.json"), PACK)?;

    // The server side: a signing key, the pack, a stock of one prize.
    let (seed, public_key) = reach_server::keygen().map_err(|e| e.to_string())?;
    let mut server_config = reach_server::ServerConfig::new(root.join("server"));
    server_config.packs_dir = Some(packs);
    server_config.signing_key = Some(reach_server::decode_seed(&seed).map_err(|e| e.to_string())?);
    server_config.write_keys = vec![WRITE_KEY.into()];
    server_config.stock = vec![("golden-week-gift".into(), 1)];
    let server = reach_server::start(server_config).map_err(|e| e.to_string())?;
    println!(
        "Reference server on {} (data in {})",
        server.addr(),
        root.display()
    );

    // The app side: Reach with the server's address and the pack's public key.
    let config = ReachConfig {
        data_dir: root.join("app").to_string_lossy().into_owned(),
        app: AppInfo {
            app_version: "5.2.0".into(),
            build: "520".into(),
            platform: "android".into(),
            os_version: "14".into(),
            locale: "zh-CN".into(),
            timezone: "Asia/Shanghai".into(),
        },
        consent: Consent::Granted,
        max_queued_events: 50_000,
        max_queued_bytes: 10 * 1024 * 1024,
        strict: false,
        record_app_open: true,
        session_timeout_ms: 30 * 60 * 1000,
        flush_timeout_ms: 1000,
        bundled_rule_pack: None,
        server_url: Some(server.base_url()),
        write_key: WRITE_KEY.into(),
        pack_public_keys: vec![public_key],
        pack_name: "default".into(),
        upload_flush_at: 20,
        upload_interval_ms: 30_000,
        upload_max_batch_bytes: 512_000,
        upload_max_batch_events: 500,
        min_pack_interval_ms: 600_000,
        request_timeout_ms: 5_000,
        http_transport: None,
        app_url_schemes: vec!["app".into()],
        images_without_consent: false,
    };
    let reach = Reach::new(config, Some(Arc::new(PrintLog)))?;
    let (tx, popups) = mpsc::channel();
    reach.set_popup_presenter(Some(Arc::new(ConsolePresenter(Mutex::new(tx)))))?;

    println!("\n1. The app starts: Reach syncs the signed rule pack.");
    reach.on_foreground()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while reach.diagnostics().pack_version != Some(1) {
        if Instant::now() > deadline {
            return Err(format!(
                "the pack did not sync: {:?}",
                reach.diagnostics().last_sync_error
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("  pack {:?} active", reach.diagnostics().pack_revision);

    let s = |v: &str| PropertyValue::StringValue { value: v.into() };
    println!("\n2. register → the lottery popup; the person taps \"Draw now\".");
    reach.track(
        "register".into(),
        HashMap::from([("method".into(), s("sms"))]),
    )?;
    if let Some(p) = wait_for_popup(&popups, Duration::from_secs(5)) {
        reach.popup_shown(p.offer_id.clone())?;
        reach.popup_clicked(p.offer_id, "draw".into())?;
    }
    reach.identify("user-42".into())?;

    println!("\n3. add_to_cart → a reminder is scheduled for 2 s later (stored in SQLite).");
    reach.track(
        "add_to_cart".into(),
        HashMap::from([
            ("sku".into(), s("tea-001")),
            ("price".into(), PropertyValue::FloatValue { value: 99.5 }),
        ]),
    )?;
    match wait_for_popup(&popups, Duration::from_secs(5)) {
        Some(p) => {
            reach.popup_shown(p.offer_id.clone())?;
            reach.popup_dismissed(p.offer_id)?;
        }
        None => println!("  (no reminder within 5 s)"),
    }

    println!("\n4. purchase → a prize is claimed from the server's stock, then shown.");
    reach.track(
        "purchase".into(),
        HashMap::from([("amount".into(), PropertyValue::IntValue { value: 99 })]),
    )?;
    if let Some(p) = wait_for_popup(&popups, Duration::from_secs(5)) {
        reach.popup_shown(p.offer_id.clone())?;
        reach.popup_clicked(p.offer_id, "claim".into())?;
    }
    reach.flush();
    println!(
        "  prizes left on the server: {:?}",
        server
            .stock("golden-week-gift")
            .map_err(|e| e.to_string())?
    );

    println!("\n5. Why did each campaign fire (or not)? explain():");
    for id in ["new-user-lottery", "golden-week-gift", "cart-reminder"] {
        let e = reach.explain(id.into())?;
        for line in e.text.lines() {
            println!("  {line}");
        }
    }

    println!("\n6. The app goes to the background: events are uploaded (gzip, /v1/batch).");
    reach.on_background();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = reach.diagnostics();
        if d.stored == 0 || Instant::now() > deadline {
            println!(
                "  uploaded {} events in {} request(s); {} left on the device; last error {:?}",
                d.uploaded_events, d.upload_batches_sent, d.stored, d.last_upload_error
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = server.stats().map_err(|e| e.to_string())?;
    println!("  the server stored {} events:", stats.events_stored);
    for (name, n) in &stats.by_event {
        println!("    {n:>3}  {name}");
    }
    for (id, c) in &stats.by_campaign {
        println!(
            "    campaign {id}: shown {}, clicked {}, dismissed {}, control {}, conversions {}",
            c.shown, c.clicked, c.dismissed, c.control, c.conversions
        );
    }

    reach.close();
    server.shutdown();
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}
