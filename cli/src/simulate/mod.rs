//! `reach simulate PACK TRACE`: runs a trace (see [`trace`]) on the real
//! `Tracker` on virtual time and prints the timeline. The trace is checked
//! whole first; then each life between `kill` steps runs in a child process
//! ([`life`]) on one scratch data directory, removed at the end. Output holds
//! no random ids or wall-clock times, so the same inputs print the same bytes.

pub mod life;
pub mod network;
pub mod trace;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::Args;
use serde_json::{json, Value as Json};

use crate::validate::Format;
use crate::{EXIT_FAILED, EXIT_USAGE};

/// The trace's virtual start: 2026-03-02 09:00 in Asia/Shanghai (the
/// operator scenarios' first day), so golden files never depend on today.
pub const DEFAULT_START_MS: i64 = 1_772_413_200_000;

#[derive(Args)]
pub struct SimulateArgs {
    /// The rule pack loaded before the first step.
    pack: PathBuf,
    /// The trace: JSON lines, one step each (docs/operators.md).
    trace: PathBuf,
    /// text (for people) or json (one record a line, for scripts).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The device's IANA time zone.
    #[arg(long, default_value = "Asia/Shanghai")]
    timezone: String,
    /// The virtual start, in milliseconds since 1970 (default 2026-03-02 09:00 Asia/Shanghai).
    #[arg(long, default_value_t = DEFAULT_START_MS)]
    start_ms: i64,
    /// The app's version at the start (an `app_version` step updates it).
    #[arg(long, default_value = DEFAULT_APP_VERSION)]
    app_version: String,
    /// Seeds the device's anonymous ids (A/B and holdout buckets follow
    /// them): the same seed, the same people, the same output.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
}

/// The simulated app's version unless `--app-version` says otherwise.
pub const DEFAULT_APP_VERSION: &str = "1.0.0";
/// The anonymous ids' seed unless `--seed` says otherwise.
pub const DEFAULT_SEED: u64 = 1;

pub fn run(args: &SimulateArgs) -> Result<u8, String> {
    let text = match std::fs::read_to_string(&args.trace) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("reach: cannot read {}: {e}", args.trace.display());
            return Ok(EXIT_USAGE);
        }
    };
    let base = args.trace.parent().unwrap_or(Path::new("."));
    let steps = match trace::parse(&text, base) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("reach: {}: {e}; nothing was run", args.trace.display());
            return Ok(EXIT_FAILED);
        }
    };
    if !reach::rules::is_known_timezone(&args.timezone) {
        eprintln!(
            "reach: --timezone {}: not an IANA time zone like Asia/Shanghai",
            args.timezone
        );
        return Ok(EXIT_USAGE);
    }
    if reach::rules::Version::parse(&args.app_version).is_err() {
        eprintln!(
            "reach: --app-version {}: not a version like 5.2.0",
            args.app_version
        );
        return Ok(EXIT_USAGE);
    }
    let pack_text = crate::validate::read_pack(&args.pack)?;
    if let Err(e) = reach::rules::RulePack::parse(&pack_text) {
        for error in e.errors() {
            eprintln!("{}: error: {error}", args.pack.display());
        }
        return Ok(EXIT_FAILED);
    }
    let dir = std::env::temp_dir().join(format!("reach-simulate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let lives = Lives {
        pack: args.pack.clone(),
        load_pack_first: true,
        trace: args.trace.clone(),
        timezone: args.timezone.clone(),
        start_ms: args.start_ms,
        app_version: args.app_version.clone(),
        seed: args.seed,
        server: None,
    };
    let mut out = std::io::stdout();
    let format = args.format;
    let result = run_lives(&lives, &steps, &dir, &mut |record| {
        let line = match format {
            Format::Json => record.to_string(),
            Format::Text => describe(record),
        };
        writeln!(out, "{line}").map_err(|e| format!("cannot write: {e}"))
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// What a run of lives needs besides its steps (`simulate` and the demo).
pub struct Lives {
    /// The pack whose campaigns `explain()` covers at the end (unless a
    /// `load_pack` step replaced it).
    pub pack: PathBuf,
    /// Load `pack` before the first step (`simulate`); the demo's app syncs
    /// it from the server instead.
    pub load_pack_first: bool,
    /// The trace file: each life reads its steps from it.
    pub trace: PathBuf,
    pub timezone: String,
    pub start_ms: i64,
    /// The app's version in the first life.
    pub app_version: String,
    /// Seeds the anonymous ids (`Config::id_seed`).
    pub seed: u64,
    pub server: Option<network::LifeServer>,
}

/// Runs each life between `kill` steps in a child process on `dir`, handing
/// every record the lives write to `sink` in order.
pub fn run_lives(
    args: &Lives,
    steps: &[trace::Step],
    dir: &Path,
    sink: &mut dyn FnMut(&Json) -> Result<(), String>,
) -> Result<u8, String> {
    // A life ends at a kill (abort) or an app update (closed, reopened at
    // the new version).
    let mut lives: Vec<(String, Vec<trace::Step>)> = vec![(args.app_version.clone(), Vec::new())];
    for s in steps {
        lives.last_mut().expect("one life").1.push(s.clone());
        match &s.kind {
            trace::StepKind::Kill => {
                let version = lives.last().expect("one life").0.clone();
                lives.push((version, Vec::new()));
            }
            trace::StepKind::AppVersion(v) => lives.push((v.clone(), Vec::new())),
            _ => {}
        }
    }
    let final_pack = steps
        .iter()
        .rev()
        .find_map(|s| match &s.kind {
            trace::StepKind::LoadPack(p) => Some(p.clone()),
            _ => None,
        })
        .unwrap_or_else(|| args.pack.display().to_string());
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut now = args.start_ms;
    let mut offered: Vec<String> = Vec::new();
    let count = lives.len();
    for (i, (app_version, life_steps)) in lives.into_iter().enumerate() {
        let last = i + 1 == count;
        let ends_in_kill = life_steps
            .last()
            .is_some_and(|s| matches!(s.kind, trace::StepKind::Kill));
        let plan = json!({
            "data_dir": dir.display().to_string(),
            "timezone": args.timezone,
            "start_ms": now,
            "trace_start_ms": args.start_ms,
            "load_first": if i == 0 && args.load_pack_first { Some(args.pack.display().to_string()) } else { None },
            "final_pack": if last { Some(final_pack.clone()) } else { None },
            "app_version": app_version,
            "seed": args.seed,
            "steps": life_steps.iter().map(|s| s.line).collect::<Vec<_>>(),
            "ends_in_kill": ends_in_kill,
            "offered_before": offered,
            "trace": args.trace.display().to_string(),
            "server": args.server.as_ref().map(network::LifeServer::to_json),
        });
        for s in &life_steps {
            if let trace::StepKind::Advance(ms) | trace::StepKind::ClockJump(ms) = s.kind {
                now += ms;
            }
        }
        let mut child = Command::new(&exe)
            .arg("simulate-life")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the simulated app: {e}"))?;
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(plan.to_string().as_bytes())
            .map_err(|e| format!("cannot hand the trace over: {e}"))?;
        let output = child
            .wait_with_output()
            .map_err(|e| format!("the simulated app failed: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        for record in stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Json>(l).ok())
        {
            if record["what"] == "popup offered" {
                if let Some(c) = record["campaign"].as_str() {
                    offered.push(c.to_string());
                }
            }
            sink(&record)?;
        }
        let killed_as_planned = ends_in_kill && !output.status.success();
        if !output.status.success() && !killed_as_planned {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(stderr
                .lines()
                .find_map(|l| l.strip_prefix("reach: "))
                .unwrap_or("the simulated app stopped unexpectedly")
                .to_string());
        }
    }
    Ok(0)
}

/// A record as a line a person reads: virtual time, trace line, what happened.
fn describe(r: &Json) -> String {
    let when = r["local"].as_str().map_or_else(
        || clock_text(r["at_ms"].as_i64().unwrap_or(0)),
        String::from,
    );
    let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
    let line = r["line"].as_u64().unwrap_or(0);
    let what = match r["what"].as_str().unwrap_or("") {
        "popup offered" => {
            format!(
                "popup offered: {} (variant {}, {}) \"{}\" [{}]",
                s("campaign"),
                s("variant"),
                s("template"),
                s("title"),
                r["buttons"]
                    .as_array()
                    .map(|b| b
                        .iter()
                        .filter_map(Json::as_str)
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            ) + if r["test"] == Json::Bool(true) {
                " (test)"
            } else {
                ""
            } + match r["answer"].as_str() {
                Some("later") => "; the host answers later",
                Some("discard") => "; the host answers discard",
                _ => "",
            }
        }
        "explain" => {
            let reasons = r["reasons"]
                .as_array()
                .map(|b| {
                    b.iter()
                        .filter_map(Json::as_str)
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            format!("explain {}: {} — {reasons}", s("campaign"), s("outcome"))
        }
        "pack loaded" => format!("pack loaded: {}", s("pack")),
        "killed" => "the app is killed (no close)".to_string(),
        "app updated" => format!(
            "the app is updated to {} (closed and reopened)",
            s("version")
        ),
        "timezone" => format!("the device moves to {}", s("timezone")),
        "prize claim" => format!("prize claim for {}: {}", s("campaign"), s("answer")),
        "prize released" => format!("prize released for {}", s("campaign")),
        "delay scheduled" | "delay due" | "delay expired" | "delay cancelled" | "delay kept" => {
            let due = r["due_local"].as_str().map(|d| format!(", due {d}"));
            let expires = r["expires_local"]
                .as_str()
                .map(|d| format!(", expires {d}"));
            format!(
                "{} for {}{}{}",
                r["what"].as_str().unwrap_or(""),
                s("campaign"),
                due.unwrap_or_default(),
                expires.unwrap_or_default()
            )
        }
        other => {
            let mut parts = vec![other.to_string()];
            for k in ["campaign_id", "variant", "button_id", "goal_event"] {
                if let Some(v) = r[k].as_str() {
                    parts.push(format!("{k}={v}"));
                }
            }
            // A test person's or a preview's event (`"test": true`).
            for flag in ["test", "preview"] {
                if r[flag] == Json::Bool(true) {
                    parts.push(flag.to_string());
                }
            }
            if let Some(props) = r["properties"].as_object() {
                for (k, v) in props {
                    match v.as_str() {
                        Some(text) => parts.push(format!("{k}={text}")),
                        None => parts.push(format!("{k}={v}")),
                    }
                }
            }
            parts.join(" ")
        }
    };
    if line == 0 {
        format!("{when}  {what}")
    } else {
        format!("{when}  line {line}: {what}")
    }
}

/// Time since the trace started: `day 1 +02:30:00`.
fn clock_text(at_ms: i64) -> String {
    let (d, rest) = (
        at_ms.div_euclid(86_400_000),
        at_ms.rem_euclid(86_400_000) / 1000,
    );
    format!(
        "day {d} +{:02}:{:02}:{:02}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The child side: reads the plan from stdin and runs one life.
pub fn run_life() -> Result<u8, String> {
    let mut input = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut input)
        .map_err(|e| format!("cannot read the plan: {e}"))?;
    let plan: Json = serde_json::from_str(&input).map_err(|e| format!("bad plan: {e}"))?;
    let trace_path = PathBuf::from(plan["trace"].as_str().unwrap_or(""));
    let text = std::fs::read_to_string(&trace_path).map_err(|e| e.to_string())?;
    let all = trace::parse(&text, trace_path.parent().unwrap_or(Path::new(".")))?;
    let lines: Vec<u64> = plan["steps"]
        .as_array()
        .map(|a| a.iter().filter_map(Json::as_u64).collect())
        .unwrap_or_default();
    let steps = all
        .into_iter()
        .filter(|s| lines.contains(&(s.line as u64)))
        .filter(|s| !matches!(s.kind, trace::StepKind::Kill))
        .collect();
    let string = |k: &str| plan[k].as_str().map(String::from);
    life::run(life::Plan {
        data_dir: string("data_dir").unwrap_or_default(),
        timezone: string("timezone").unwrap_or_default(),
        start_ms: plan["start_ms"].as_i64().unwrap_or(0),
        trace_start_ms: plan["trace_start_ms"].as_i64().unwrap_or(0),
        app_version: string("app_version").unwrap_or_else(|| DEFAULT_APP_VERSION.into()),
        seed: plan["seed"].as_u64().unwrap_or(DEFAULT_SEED),
        load_first: string("load_first"),
        final_pack: string("final_pack"),
        steps,
        ends_in_kill: plan["ends_in_kill"].as_bool().unwrap_or(false),
        offered_before: plan["offered_before"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        server: network::LifeServer::from_json(&plan["server"]),
    })?;
    Ok(0)
}
