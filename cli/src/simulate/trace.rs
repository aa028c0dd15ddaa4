//! The trace format of `reach simulate`: JSON lines, one step each, read and
//! checked whole before anything runs (a malformed step is refused with its
//! line number). Blank lines and lines starting with `#` are skipped.
//!
//! Each line is an object whose first key names the step:
//! `{"track": "login", "properties": {"k": 1}}`, `{"screen": "home"}`,
//! `{"identify": "u1"}`, `{"reset": true}`, `{"set_user_properties": {...}}`,
//! `{"consent": "granted" | "pending" | "denied"}`, `{"foreground": true}`,
//! `{"background": true}`, `{"kill": true}`, `{"advance": "30m"}`,
//! `{"clock_jump": "-2h"}`, `{"load_pack": "other.json"}` (relative to the
//! trace), and the host's answers to the last popup offered: `{"shown": true}`,
//! `{"clicked": "BUTTON"}`, `{"dismissed": true}`; `{"next_answer": "show" |
//! "later" | "discard"}` sets how the host answers the offers that follow;
//! `{"claim": "granted" | "exhausted" | "unavailable"}` sets how the prize
//! server answers the claims that follow (granted until a trace says
//! otherwise). `{"timezone": "Europe/Berlin"}` moves the device to another
//! zone; `{"explain": "CAMPAIGN"}` prints `explain()` for a campaign at
//! that moment; `{"app_version": "5.2.0"}` updates the app: it is closed and
//! reopened at that version on the same data directory.
//! `{"preview": "CAMPAIGN", "variant": "b"}` is a QA screen's `preview()`
//! (`variant` optional): the popup is offered now, flagged as a test.
//! With a server (the demo), `{"network": "offline" | "online"}` switches the
//! phone's network and `{"upload": true}` asks the SDK to upload now.

use std::path::Path;

use serde_json::{Map, Value as Json};

/// One step of a trace, with its 1-based line number.
#[derive(Debug, Clone)]
pub struct Step {
    pub line: usize,
    pub kind: StepKind,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Track {
        name: String,
        properties: Map<String, Json>,
    },
    Screen {
        name: String,
        properties: Map<String, Json>,
    },
    Identify(String),
    Reset,
    SetUserProperties(Map<String, Json>),
    Consent(String),
    Foreground,
    Background,
    Kill,
    Advance(i64),
    ClockJump(i64),
    LoadPack(String),
    Shown,
    Clicked(String),
    Dismissed,
    NextAnswer(String),
    /// How the prize server answers the claims that follow.
    Claim(String),
    Timezone(String),
    Explain(String),
    /// The app is updated to this version (closed, reopened).
    AppVersion(String),
    /// The phone's network: `true` online.
    Network(bool),
    Upload,
    /// `preview(campaign, variant)`.
    Preview {
        campaign: String,
        variant: Option<String>,
    },
}

/// Reads a whole trace; the first problem is returned as "line N: ...".
pub fn parse(text: &str, base: &Path) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let kind = parse_step(trimmed, base).map_err(|e| format!("line {line}: {e}"))?;
        steps.push(Step { line, kind });
    }
    Ok(steps)
}

fn parse_step(text: &str, base: &Path) -> Result<StepKind, String> {
    let value: Json = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Json::Object(map) = value else {
        return Err("a step is a JSON object like {\"track\": \"login\"}".into());
    };
    // JSON objects are unordered: the step is the one key that is not a
    // companion (`properties`, `variant`).
    let mut names = map
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "properties" | "variant"));
    let Some((key, arg)) = names.next() else {
        return Err("no step named: write an object like {\"track\": \"login\"}".into());
    };
    if let Some((extra, _)) = names.next() {
        return Err(format!("one step a line: \"{key}\" and \"{extra}\""));
    }
    if map.contains_key("properties") && !matches!(key.as_str(), "track" | "screen") {
        return Err(format!("\"{key}\" takes no \"properties\""));
    }
    if map.contains_key("variant") && key != "preview" {
        return Err(format!("\"{key}\" takes no \"variant\""));
    }
    let string = |what: &str| {
        arg.as_str()
            .filter(|s| !s.is_empty())
            .map(String::from)
            .ok_or_else(|| format!("\"{key}\" needs {what}"))
    };
    let flag = || {
        if arg == &Json::Bool(true) {
            Ok(())
        } else {
            Err(format!("write {{\"{key}\": true}}"))
        }
    };
    let properties = || match map.get("properties") {
        None => Ok(Map::new()),
        Some(Json::Object(p)) => Ok(p.clone()),
        Some(_) => Err("\"properties\" must be an object".to_string()),
    };
    Ok(match key.as_str() {
        "track" => StepKind::Track {
            name: string("an event name")?,
            properties: properties()?,
        },
        "screen" => StepKind::Screen {
            name: string("a screen name")?,
            properties: properties()?,
        },
        "identify" => StepKind::Identify(string("a user id")?),
        "reset" => flag().map(|()| StepKind::Reset)?,
        "set_user_properties" => match arg {
            Json::Object(p) => StepKind::SetUserProperties(p.clone()),
            _ => return Err("\"set_user_properties\" needs an object".into()),
        },
        "consent" => {
            let c = string("granted, pending or denied")?;
            if !["granted", "pending", "denied"].contains(&c.as_str()) {
                return Err(format!("consent \"{c}\" is not granted, pending or denied"));
            }
            StepKind::Consent(c)
        }
        "foreground" => flag().map(|()| StepKind::Foreground)?,
        "background" => flag().map(|()| StepKind::Background)?,
        "kill" => flag().map(|()| StepKind::Kill)?,
        "advance" => {
            let ms = duration_ms(&string("a duration like \"30m\"")?)?;
            if ms < 0 {
                return Err("time only moves forward with \"advance\"; use \"clock_jump\"".into());
            }
            StepKind::Advance(ms)
        }
        "clock_jump" => StepKind::ClockJump(duration_ms(&string("a duration like \"-2h\"")?)?),
        "load_pack" => {
            let p = string("a pack file")?;
            StepKind::LoadPack(base.join(p).display().to_string())
        }
        "shown" => flag().map(|()| StepKind::Shown)?,
        "clicked" => StepKind::Clicked(string("a button id")?),
        "dismissed" => flag().map(|()| StepKind::Dismissed)?,
        "next_answer" => {
            let a = string("show, later or discard")?;
            if !["show", "later", "discard"].contains(&a.as_str()) {
                return Err(format!("answer \"{a}\" is not show, later or discard"));
            }
            StepKind::NextAnswer(a)
        }
        "claim" => {
            let c = string("granted, exhausted or unavailable")?;
            if !["granted", "exhausted", "unavailable"].contains(&c.as_str()) {
                return Err(format!(
                    "claim \"{c}\" is not granted, exhausted or unavailable"
                ));
            }
            StepKind::Claim(c)
        }
        "timezone" => {
            let zone = string("an IANA time zone like \"Europe/Berlin\"")?;
            if !reach::rules::is_known_timezone(&zone) {
                return Err(format!("\"{zone}\" is not an IANA time zone"));
            }
            StepKind::Timezone(zone)
        }
        "explain" => StepKind::Explain(string("a campaign id")?),
        "app_version" => {
            let v = string("a version like \"5.2.0\"")?;
            if reach::rules::Version::parse(&v).is_err() {
                return Err(format!("\"{v}\" is not a version like 5.2.0"));
            }
            StepKind::AppVersion(v)
        }
        "network" => match string("offline or online")?.as_str() {
            "offline" => StepKind::Network(false),
            "online" => StepKind::Network(true),
            other => return Err(format!("network \"{other}\" is not offline or online")),
        },
        "upload" => flag().map(|()| StepKind::Upload)?,
        "preview" => StepKind::Preview {
            campaign: string("a campaign id")?,
            variant: match map.get("variant") {
                None => None,
                Some(Json::String(v)) if !v.is_empty() => Some(v.clone()),
                Some(_) => return Err("\"variant\" must be a variant id".into()),
            },
        },
        other => return Err(format!("unknown step \"{other}\"")),
    })
}

/// `"30s"`, `"10m"`, `"2h"`, `"7d"`, optionally negative.
pub fn duration_ms(text: &str) -> Result<i64, String> {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, text),
    };
    let split = rest.len().saturating_sub(1);
    let (number, unit) = rest.split_at(split);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" is not a duration like 30s, 10m, 2h or 7d"))?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(format!(
                "\"{text}\" is not a duration like 30s, 10m, 2h or 7d"
            ))
        }
    };
    Ok(sign * n * unit_ms)
}
