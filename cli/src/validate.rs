//! `reach validate`: the SDK's own parser decides errors (with the paths it
//! reports); warnings add what parses but can never fire or will surprise.
//!
//! JSON output (`--format json`) is a stable shape, documented in
//! docs/operators.md:
//! `{"valid": bool, "errors": [{"path", "message"}], "warnings": [{"path", "code", "message"}]}`.
//! New fields may be added; none is renamed or removed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use reach::rules::{Action, Campaign, RulePack};
use serde_json::{json, Value as Json};

use crate::{EXIT_FAILED, EXIT_USAGE};

#[derive(Args)]
pub struct ValidateArgs {
    /// The rule pack (JSON).
    pack: PathBuf,
    /// The app's event names, one a line: triggers and goals on other names get a warning.
    #[arg(long, value_name = "FILE")]
    known_events: Option<PathBuf>,
    /// A URL scheme of the app's own (like myapp), allowed beside https in popups (repeatable).
    #[arg(long, value_name = "SCHEME")]
    app_scheme: Vec<String>,
    /// text (for people) or json (for scripts).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Something that parses but will not do what the operator meant.
#[derive(Debug, PartialEq)]
pub struct Warning {
    pub path: String,
    /// A stable name for scripts (`ends_in_past`, `unknown_event`, ...).
    pub code: &'static str,
    pub message: String,
}

pub fn read_pack(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

pub fn run(args: &ValidateArgs) -> Result<u8, String> {
    let text = match read_pack(&args.pack) {
        Ok(t) => t,
        Err(message) => {
            eprintln!("reach: {message}");
            return Ok(EXIT_USAGE);
        }
    };
    let known = match &args.known_events {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Ok(t) => Some(
                t.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect::<BTreeSet<_>>(),
            ),
            Err(e) => {
                eprintln!("reach: cannot read {}: {e}", path.display());
                return Ok(EXIT_USAGE);
            }
        },
    };
    let name = args.pack.display();
    let (errors, warnings) = match RulePack::parse(&text) {
        Err(e) => (e.errors().to_vec(), Vec::new()),
        Ok(pack) => {
            let raw: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
            let options = WarningOptions {
                now_ms: now_ms(),
                known_events: known.as_ref(),
                app_schemes: &args.app_scheme,
            };
            (Vec::new(), warnings(&pack, &raw, &options))
        }
    };
    match args.format {
        Format::Json => {
            let out = json!({
                "valid": errors.is_empty(),
                "errors": errors.iter().map(|e| json!({"path": e.path, "message": e.message})).collect::<Vec<_>>(),
                "warnings": warnings.iter().map(|w| json!({"path": w.path, "code": w.code, "message": w.message})).collect::<Vec<_>>(),
            });
            println!("{out}");
        }
        Format::Text => {
            for e in &errors {
                eprintln!("{name}: error: {e}");
            }
            for w in &warnings {
                println!("{name}: warning: {}: {}", w.path, w.message);
            }
            if errors.is_empty() {
                println!(
                    "{name}: valid ({} warning{})",
                    warnings.len(),
                    if warnings.len() == 1 { "" } else { "s" }
                );
            }
        }
    }
    Ok(if errors.is_empty() { 0 } else { EXIT_FAILED })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub struct WarningOptions<'a> {
    pub now_ms: i64,
    pub known_events: Option<&'a BTreeSet<String>>,
    pub app_schemes: &'a [String],
}

/// The warnings of a valid pack, in campaign order.
pub fn warnings(pack: &RulePack, raw: &Json, options: &WarningOptions) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut warn = |path: String, code: &'static str, message: String| {
        out.push(Warning {
            path,
            code,
            message,
        })
    };
    let raw_campaigns = raw.get("campaigns").and_then(Json::as_array);
    for (i, c) in pack.campaigns().iter().enumerate() {
        // The raw index: inactive campaigns (min_sdk) are not in `campaigns()`.
        let index = raw_campaigns
            .and_then(|list| {
                list.iter()
                    .position(|r| r.get("id").and_then(Json::as_str) == Some(&c.id))
            })
            .unwrap_or(i);
        let at = |field: &str| format!("campaigns[{index}].{field}");
        campaign_warnings(c, options, &at, &mut warn);
    }
    if (0..1440u16).all(|m| pack.limits.quiet_hours.iter().any(|w| w.contains(m)))
        && !pack.limits.quiet_hours.is_empty()
    {
        warn(
            "limits.quiet_hours".into(),
            "quiet_all_day",
            "the quiet hours cover the whole day: no popup is ever shown".into(),
        );
    }
    out
}

fn campaign_warnings(
    c: &Campaign,
    options: &WarningOptions,
    at: &dyn Fn(&str) -> String,
    warn: &mut dyn FnMut(String, &'static str, String),
) {
    // A start at or after the end, an empty `in` list, a cap of 0 and
    // variant weights summing to 0 are errors of the parser itself (with their paths), so no warning here.
    let s = &c.schedule;
    if let Some(end) = s.end_ms {
        if end <= options.now_ms {
            warn(
                at("schedule.end"),
                "ends_in_past",
                "the schedule ended already: the campaign never runs".into(),
            );
        }
    }
    if let Some(known) = options.known_events {
        let mut names: Vec<(String, &str)> = Vec::new();
        if c.trigger.sequence.is_empty() {
            names.push((at("trigger.event"), &c.trigger.event));
        }
        for (k, step) in c.trigger.sequence.iter().enumerate() {
            names.push((at(&format!("trigger.sequence[{k}].event")), &step.event));
        }
        if let Some(goal) = &c.goal {
            names.push((at("goal.event"), &goal.event));
        }
        for (path, name) in names {
            if !known.contains(name) && !name.starts_with(reach::rules::RESERVED_EVENT_PREFIX) {
                warn(
                    path,
                    "unknown_event",
                    format!("\"{name}\" is not in the known events: the app may never send it"),
                );
            }
        }
    }
    if let Some(d) = &c.delay {
        if d.after_ms > d.expire_after_ms {
            warn(
                at("delay"),
                "delay_past_expiry",
                "the delay is longer than its expiry: the popup may expire before it is due".into(),
            );
        }
    }
    let mut urls: Vec<(String, &str)> = Vec::new();
    let mut popups = vec![(at("popup"), &c.popup)];
    if let Some(v) = &c.variants {
        for (k, arm) in v.arms.iter().enumerate() {
            if let Some(p) = &arm.popup {
                popups.push((at(&format!("variants.arms[{k}].popup")), p));
            }
        }
    }
    for (path, popup) in &popups {
        if let Some(url) = &popup.image_url {
            urls.push((format!("{path}.image_url"), url));
        }
        for (k, b) in popup.buttons.iter().enumerate() {
            if let Action::DeepLink { url } = &b.action {
                urls.push((format!("{path}.buttons[{k}].action.url"), url));
            }
        }
    }
    for (path, url) in urls {
        let scheme = url
            .split_once(':')
            .map_or("", |(s, _)| s)
            .to_ascii_lowercase();
        if scheme != "https"
            && !options
                .app_schemes
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&scheme))
        {
            warn(
                path,
                "url_scheme",
                format!("\"{url}\" is neither https nor the app's own scheme (--app-scheme)"),
            );
        }
    }
}
