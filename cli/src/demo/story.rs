//! The demo's story: the pack (made from `reach new`'s templates), the trace
//! a person's week becomes (run by `reach simulate`'s machinery), and the
//! words printed for each record the simulated app writes.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use super::card;

/// The campaigns of the demo's pack: (template, campaign id).
const CAMPAIGNS: &[(&str, &str)] = &[
    ("registration-lottery", "welcome-lottery"),
    ("login-streak", "login-streak"),
    ("abandoned-cart", "cart-reminder"),
    ("win-back", "win-back"),
];

/// The campaign the story explains at the end: it never fires, because the
/// person never stayed away for 14 days.
pub const EXPLAINED: &str = "win-back";

/// The pack revision the server serves.
pub const REVISION: &str = "demo-1";

/// One pack with every campaign of [`CAMPAIGNS`].
pub fn pack() -> Result<String, String> {
    let mut campaigns = Vec::new();
    for (template, id) in CAMPAIGNS {
        let text = crate::new::pack_from_template(template, id)
            .ok_or_else(|| format!("no template {template}"))?;
        let pack: Json = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        campaigns.extend(pack["campaigns"].as_array().cloned().unwrap_or_default());
    }
    let pack = json!({"format": "1.1", "revision": REVISION, "campaigns": campaigns});
    Ok(serde_json::to_string_pretty(&pack).expect("a JSON value serialises"))
}

/// The trace: (step, what the story says before it). Lines are numbered
/// from 1 in this order, so captions are tied to the steps they introduce.
const TRACE: &[(&str, &str)] = &[
    (r#"{"foreground": true}"#, "Day 1, 09:00. Ada installs the app and opens it; it syncs the signed pack."),
    (r#"{"identify": "ada"}"#, ""),
    (r#"{"track": "register"}"#, "She registers: the lottery popup appears."),
    (r#"{"shown": true}"#, ""),
    (r#"{"clicked": "go"}"#, ""),
    (r#"{"track": "login"}"#, "She logs in; she will come back on the next two days."),
    (r#"{"background": true}"#, ""),
    (r#"{"advance": "1d"}"#, ""),
    (r#"{"foreground": true}"#, ""),
    (r#"{"track": "login"}"#, "Day 2: second login."),
    (r#"{"background": true}"#, ""),
    (r#"{"advance": "1d"}"#, ""),
    (r#"{"foreground": true}"#, ""),
    (r#"{"track": "login"}"#, "Day 3: third login in a week, the streak popup."),
    (r#"{"shown": true}"#, ""),
    (r#"{"clicked": "go"}"#, ""),
    (r#"{"track": "add_to_cart", "properties": {"sku": "green-tea"}}"#, "She adds green tea to her cart, and leaves the app without buying."),
    (r#"{"background": true}"#, ""),
    (r#"{"advance": "10m"}"#, ""),
    (r#"{"kill": true}"#, "Ten minutes later the phone kills the app (no chance to close)."),
    (r#"{"advance": "25m"}"#, ""),
    (r#"{"foreground": true}"#, "35 minutes after the cart she opens the app again: the reminder's delay survived the kill, and nothing is shown twice."),
    (r#"{"shown": true}"#, ""),
    (r#"{"dismissed": true}"#, ""),
    (r#"{"network": "offline"}"#, "Her train enters a tunnel: the phone is offline."),
    (r#"{"track": "view_item", "properties": {"sku": "green-tea"}}"#, ""),
    (r#"{"upload": true}"#, ""),
    (r#"{"network": "online"}"#, "Out of the tunnel: the waiting events upload."),
    (r#"{"upload": true}"#, ""),
];

pub fn trace_text() -> String {
    TRACE.iter().map(|(step, _)| format!("{step}\n")).collect()
}

/// Prints the story as the records arrive.
#[derive(Default)]
pub struct Narrator {
    /// The next caption (index into `TRACE`) not printed yet.
    next_caption: usize,
    /// How often each campaign's popup was offered.
    pub offered: BTreeMap<String, u32>,
    /// The sentence explaining [`EXPLAINED`], once the app gave it.
    pub explained: Option<String>,
    /// Button ids to their texts, for the last popup offered.
    buttons: Vec<(String, String)>,
}

impl Narrator {
    /// The lines to print for one record of the simulated app.
    pub fn tell(&mut self, r: &Json) -> Vec<String> {
        let line = r["line"].as_u64().unwrap_or(0) as usize;
        let what = r["what"].as_str().unwrap_or("");
        let mut out = match what {
            "killed" => self.captions_through(kill_line()),
            "explain" => Vec::new(),
            _ => self.captions_through(line),
        };
        let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
        let campaign = s("campaign_id");
        match what {
            "pack synced" => out.push(format!(
                "    the app verified and activated pack \"{}\" from the server",
                s("revision")
            )),
            "popup offered" => {
                *self.offered.entry(s("campaign")).or_default() += 1;
                let strings = |k: &str| -> Vec<String> {
                    r[k].as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(Json::as_str)
                                .map(String::from)
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let texts = strings("button_texts");
                self.buttons = strings("buttons").into_iter().zip(texts.clone()).collect();
                out.push(format!("    {}  popup:", clock(r)));
                out.push(card::draw(
                    &s("campaign"),
                    &s("title"),
                    &s("body"),
                    &texts,
                    "    ",
                ));
            }
            "reach.popup.shown" => out.push(format!("    (seen by Ada: {campaign})")),
            "reach.popup.clicked" => {
                let id = s("button_id");
                let text = self
                    .buttons
                    .iter()
                    .find(|(b, _)| *b == id)
                    .map_or(id.clone(), |(_, t)| t.clone());
                out.push(format!("    Ada taps [ {text} ]"));
            }
            "reach.popup.dismissed" => out.push("    Ada closes it".to_string()),
            "killed" => out.push("    the app process is killed".to_string()),
            "network offline" | "network online" => {
                out.push(format!("    the phone is {}", &what["network ".len()..]))
            }
            "upload" => {
                let n = |k: &str| r[k].as_u64().unwrap_or(0);
                let events = |n: u64| {
                    if n == 1 {
                        "1 event".to_string()
                    } else {
                        format!("{n} events")
                    }
                };
                let waits = |n: u64| if n == 1 { "waits" } else { "wait" };
                let (acked, waiting) = (n("acknowledged"), n("waiting"));
                out.push(match r["result"].as_str() {
                    Some("all sent") => format!(
                        "    upload: the server acknowledged {}, {waiting} {} on the phone",
                        events(acked),
                        waits(waiting)
                    ),
                    _ => format!(
                        "    upload: no connection, {} {} on the phone",
                        events(waiting),
                        waits(waiting)
                    ),
                })
            }
            "explain" if s("campaign") == EXPLAINED => {
                let reasons: Vec<String> = r["reasons"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Json::as_str)
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default();
                self.explained = Some(format!(
                    "{EXPLAINED}: {} ({})",
                    s("outcome"),
                    reasons.join("; ")
                ));
            }
            _ => {}
        }
        out
    }

    fn captions_through(&mut self, line: usize) -> Vec<String> {
        let mut out = Vec::new();
        while self.next_caption < TRACE.len() && self.next_caption < line {
            let caption = TRACE[self.next_caption].1;
            if !caption.is_empty() {
                out.push(String::new());
                out.push(caption.to_string());
            }
            self.next_caption += 1;
        }
        out
    }
}

/// The 1-based trace line of the kill step.
fn kill_line() -> usize {
    TRACE
        .iter()
        .position(|(s, _)| s.contains("\"kill\""))
        .map_or(0, |i| i + 1)
}

/// "day 3, 09:20" from a record's time since the start (09:00 on day 1).
fn clock(r: &Json) -> String {
    let at = r["at_ms"].as_i64().unwrap_or(0) + 9 * 3_600_000;
    let minutes = at.rem_euclid(86_400_000) / 60_000;
    format!(
        "day {}, {:02}:{:02}",
        at.div_euclid(86_400_000) + 1,
        minutes / 60,
        minutes % 60
    )
}
