//! The demo: opens Reach on a local data directory, tracks a few events the
//! way an app would (from the UI thread, never waiting on disk), and prints
//! what Reach recorded and refused.
//!
//! Run with `cargo run --example demo`.

use std::collections::HashMap;
use std::sync::Arc;

use reach::facade::{
    AppInfo, CallbackError, Consent, LogLevel, LogSink, PropertyValue, Reach, ReachConfig,
};

struct PrintLog;

impl LogSink for PrintLog {
    fn log(&self, level: LogLevel, message: String) -> Result<(), CallbackError> {
        println!("  [reach {level:?}] {message}");
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data_dir = std::env::temp_dir().join(format!("reach-demo-{}", std::process::id()));
    println!("Reach demo: data directory {}", data_dir.display());
    let config = ReachConfig {
        data_dir: data_dir.to_string_lossy().into_owned(),
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
        // No server: the demo never touches the network.
        server_url: None,
        write_key: String::new(),
        pack_public_keys: Vec::new(),
        pack_name: "default".into(),
        upload_flush_at: 20,
        upload_interval_ms: 30_000,
        upload_max_batch_bytes: 512_000,
        upload_max_batch_events: 500,
        min_pack_interval_ms: 600_000,
        request_timeout_ms: 30_000,
        http_transport: None,
    };
    let reach = Reach::new(config, Some(Arc::new(PrintLog)))?;

    reach.on_foreground()?;
    let s = |v: &str| PropertyValue::StringValue { value: v.into() };
    reach.track(
        "register".into(),
        HashMap::from([("method".into(), s("sms"))]),
    )?;
    reach.identify("user-42".into())?;
    reach.set_user_properties(HashMap::from([
        ("region".into(), s("hangzhou")),
        ("verified".into(), PropertyValue::BoolValue { value: true }),
    ]))?;
    reach.screen("home".into(), HashMap::new())?;
    reach.track(
        "add_to_cart".into(),
        HashMap::from([
            ("sku".into(), s("tea-001")),
            ("price".into(), PropertyValue::FloatValue { value: 99.5 }),
            ("qty".into(), PropertyValue::IntValue { value: 2 }),
        ]),
    )?;
    println!("Tracking two bad events (they are refused with a reason, never thrown):");
    reach.track("reach.popup.shown".into(), HashMap::new())?;
    reach.track(
        "purchase".into(),
        HashMap::from([(
            "amount".into(),
            PropertyValue::FloatValue { value: f64::NAN },
        )]),
    )?;

    let flushed = reach.on_background();
    println!("on_background(): everything tracked is on disk = {flushed}");
    let d = reach.diagnostics();
    println!("diagnostics():");
    println!("  stored events      {}", d.stored);
    println!("  queued (in memory) {}", d.queued);
    println!(
        "  rejected           {} {:?}",
        d.rejected_total, d.rejected_by_reason
    );
    println!("  dropped (overflow) {}", d.dropped_overflow);
    println!("  database bytes     {}", d.database_bytes);
    reach.close();
    std::fs::remove_dir_all(&data_dir)?;
    Ok(())
}
