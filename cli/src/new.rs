//! `reach new`: writes a starting pack from a template. The templates are
//! made from the operator scenarios (../shared/scenarios) and live in
//! cli/templates, each beside a trace that simulates it to a popup (tested).

use std::path::PathBuf;

use clap::Args;

use crate::{EXIT_FAILED, EXIT_USAGE};

/// The word in a template replaced by the campaign id.
const ID_PLACEHOLDER: &str = "{ID}";

/// Name, one line for `--list`, the pack, the trace shipped beside it.
pub const TEMPLATES: &[(&str, &str, &str, &str)] = &[
    t(
        "registration-lottery",
        "a lottery popup once, right after a person registers",
        include_str!("../templates/registration-lottery.json"),
        include_str!("../templates/registration-lottery.jsonl"),
    ),
    t(
        "login-streak",
        "a reward at the third login within 7 days",
        include_str!("../templates/login-streak.json"),
        include_str!("../templates/login-streak.jsonl"),
    ),
    t(
        "verified-share",
        "a bonus when a verified member shares to chosen channels",
        include_str!("../templates/verified-share.json"),
        include_str!("../templates/verified-share.jsonl"),
    ),
    t(
        "festival-window",
        "an offer during a festival's dates, 10:00-22:00 local, once a day",
        include_str!("../templates/festival-window.json"),
        include_str!("../templates/festival-window.jsonl"),
    ),
    t(
        "regional-audience",
        "a coupon only for people whose region property is in a list",
        include_str!("../templates/regional-audience.json"),
        include_str!("../templates/regional-audience.jsonl"),
    ),
    t(
        "prize-inventory",
        "a gift claimed from the server's stock, one per person",
        include_str!("../templates/prize-inventory.json"),
        include_str!("../templates/prize-inventory.jsonl"),
    ),
    t(
        "abandoned-cart",
        "a reminder 30 minutes after add_to_cart unless a purchase came first",
        include_str!("../templates/abandoned-cart.json"),
        include_str!("../templates/abandoned-cart.jsonl"),
    ),
    t(
        "holdout-experiment",
        "90 % see the popup, 10 % are a holdout that sees nothing (measured)",
        include_str!("../templates/holdout-experiment.json"),
        include_str!("../templates/holdout-experiment.jsonl"),
    ),
    t(
        "conversion-goal",
        "a popup whose purchases within 24 hours count as conversions",
        include_str!("../templates/conversion-goal.json"),
        include_str!("../templates/conversion-goal.jsonl"),
    ),
    t(
        "win-back",
        "a welcome back for someone returning after 14 days away",
        include_str!("../templates/win-back.json"),
        include_str!("../templates/win-back.jsonl"),
    ),
];

const fn t(
    name: &'static str,
    line: &'static str,
    pack: &'static str,
    trace: &'static str,
) -> (&'static str, &'static str, &'static str, &'static str) {
    (name, line, pack, trace)
}

#[derive(Args)]
pub struct NewArgs {
    /// The template (see --list).
    #[arg(long, required_unless_present = "list")]
    template: Option<String>,
    /// The campaign's id (default: the template's name).
    #[arg(long)]
    id: Option<String>,
    /// Where to write the pack (default: print it).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write the trace that simulates the template to a popup beside --out, as FILE.jsonl.
    #[arg(long, requires = "out")]
    with_trace: bool,
    /// List the templates, one line each.
    #[arg(long, conflicts_with = "template")]
    list: bool,
}

/// A template's pack with its campaign named `id`; `None` for an unknown name.
pub fn pack_from_template(name: &str, id: &str) -> Option<String> {
    TEMPLATES
        .iter()
        .find(|t| t.0 == name)
        .map(|t| t.2.replace(ID_PLACEHOLDER, id))
}

pub fn run(args: &NewArgs) -> Result<u8, String> {
    if args.list {
        for (name, line, _, _) in TEMPLATES {
            println!("{name:<22}{line}");
        }
        return Ok(0);
    }
    let wanted = args.template.as_deref().unwrap_or_default();
    let Some((name, _, pack, trace)) = TEMPLATES.iter().find(|t| t.0 == wanted) else {
        eprintln!("reach: no template \"{wanted}\"; `reach new --list` shows them");
        return Ok(EXIT_USAGE);
    };
    let id = args.id.as_deref().unwrap_or(name);
    let text = pack.replace(ID_PLACEHOLDER, id);
    if let Err(e) = reach::rules::RulePack::parse(&text) {
        // An id the format refuses (say, with spaces): the parser's words.
        eprintln!("reach: --id {id:?}: {e}");
        return Ok(EXIT_FAILED);
    }
    match &args.out {
        None => print!("{text}"),
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!("wrote {}", path.display());
            if args.with_trace {
                let trace_path = path.with_extension("jsonl");
                std::fs::write(&trace_path, trace)
                    .map_err(|e| format!("cannot write {}: {e}", trace_path.display()))?;
                eprintln!("wrote {}", trace_path.display());
            }
        }
    }
    Ok(0)
}
