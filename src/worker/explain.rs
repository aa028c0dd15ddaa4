//! Builds `explain(campaignId)` on the worker, which owns the engine state.

use super::Worker;
use crate::engine::caps::{self, Calendar, NO_HISTORY};
use crate::engine::{LastMatch, Outcome, SeenEvent, Skip};
use crate::explain::Explanation;
use crate::rfc3339::rfc3339_ms;
use crate::rules::{Campaign, Platform, PropertyLookup, PropertyTest};
use crate::store::StoredExplanation;
use crate::value::Value;

impl Worker {
    pub(super) fn explain(&self, id: &str) -> Explanation {
        let pack = self.engine.pack().clone();
        let campaign = pack.campaign_by_id(id);
        let mut reasons = Vec::new();
        let last = self.engine.last_match(id);
        // Before this run's first decision, the one stored by the last run.
        let stored = self
            .stored_explanations
            .get(id)
            .filter(|_| last.is_none() && campaign.is_some());
        let outcome = match (campaign, last, stored) {
            (None, _, _) => "not in the active pack",
            (Some(_), Some(l), _) => outcome_name(l),
            (Some(_), None, Some(s)) => s.outcome.as_str(),
            (Some(_), None, None) => "no matching event yet",
        };
        let revision = pack.revision.as_deref().unwrap_or("-");
        match campaign {
            None => match pack.needs_newer_sdk().iter().find(|c| c.id == id) {
                Some(c) => reasons.push(format!(
                    "the active pack (revision {revision}) has it, but it needs SDK {} or later",
                    c.min_sdk
                )),
                None => reasons.push(format!(
                    "the active pack (revision {revision}) has no campaign \"{id}\""
                )),
            },
            Some(c) => {
                if !c.enabled {
                    reasons
                        .push("the campaign is disabled in the pack (\"enabled\": false)".into());
                }
                match last {
                    None if stored.is_some() => {
                        reasons.push("as recorded before the app restarted:".to_owned());
                        reasons.extend(stored.iter().flat_map(|s| s.reasons.iter().cloned()));
                    }
                    None => reasons.push(format!(
                        "no \"{}\" event has reached it since the app started",
                        c.trigger.event
                    )),
                    Some(l) => {
                        reasons.push(self.describe_outcome(c, &l.outcome, &l.event));
                        reasons.extend(l.notes.iter().cloned());
                    }
                }
                reasons.extend(self.engine.loose_notes(id).iter().cloned());
                if c.audience.segments.is_some() && self.segments.known().is_none() {
                    reasons.push(
                        "its audience tests segments, which are not yet known for this person: it cannot match until the server answers".into(),
                    );
                }
                if let Some(p) = self.engine.sequence_progress(id) {
                    reasons.push(format!(
                        "sequence progress: {} of {} steps done, the last at {}",
                        p.done,
                        c.trigger.sequence.len(),
                        rfc3339_ms(p.last_ms)
                    ));
                }
                self.describe_caps_now(c, &mut reasons);
            }
        }
        let delay = self.engine.pending_delay(id);
        if let Some(d) = delay {
            reasons.push(format!(
                "a delayed popup is pending: due at {}, expires at {}",
                rfc3339_ms(d.due_ms),
                rfc3339_ms(d.expires_ms)
            ));
        }
        let assignment = self.engine.assignment(id);
        if let Some(a) = assignment {
            reasons.push(format!(
                "assigned to variant {} at {} (from id {})",
                a.variant,
                rfc3339_ms(a.assigned_ms),
                a.unit_id
            ));
        }
        if let Some(f) = self.in_flight.as_ref().filter(|f| f.campaign_id == id) {
            reasons.push(format!("popup {} is in flight: {}", f.offer_id, f.state));
        }
        let history = self.engine.history(id);
        let impressions = history.map_or(0, |h| h.total);
        let mut text = format!("Campaign {id}: {outcome}.");
        for r in &reasons {
            text.push_str("\n- ");
            text.push_str(r);
        }
        Explanation {
            campaign_id: id.to_owned(),
            in_pack: campaign.is_some(),
            last_event: last
                .map(|l| l.event.name.clone())
                .or_else(|| stored.map(|s| s.event.clone())),
            last_event_at_ms: last
                .map(|l| l.event.ts_ms)
                .or_else(|| stored.map(|s| s.event_ms)),
            outcome: outcome.to_owned(),
            reasons,
            variant: assignment.map(|a| a.variant.clone()),
            pending_delay_due_ms: delay.map(|d| d.due_ms),
            pending_delay_expires_ms: delay.map(|d| d.expires_ms),
            impressions,
            text,
        }
    }

    /// The campaign's last decision (index into the active pack) as
    /// `explain()` words it now, for the store: so the verdict with its
    /// observed values survives a restart.
    pub(super) fn explanation_to_store(&self, idx: usize) -> Option<(String, StoredExplanation)> {
        let c = self.engine.pack().campaigns().get(idx)?;
        let l = self.engine.last_match(&c.id)?;
        let mut reasons = vec![self.describe_outcome(c, &l.outcome, &l.event)];
        reasons.extend(l.notes.iter().cloned());
        let stored = StoredExplanation {
            event: l.event.name.clone(),
            event_ms: l.event.ts_ms,
            outcome: outcome_name(l).to_owned(),
            reasons,
        };
        Some((c.id.clone(), stored))
    }

    fn describe_outcome(&self, c: &Campaign, outcome: &Outcome, e: &SeenEvent) -> String {
        let at = rfc3339_ms(e.ts_ms);
        let event = &e.name;
        match outcome {
            Outcome::Offered => format!("\"{event}\" at {at} triggered it and it was chosen"),
            Outcome::Scheduled { due_ms } => format!(
                "\"{event}\" at {at} triggered it; its popup was scheduled for {}",
                rfc3339_ms(*due_ms)
            ),
            Outcome::Skipped(Skip::PropertyFilter) => {
                let mut failed = Vec::new();
                let filter = if c.trigger.is_sequence() {
                    c.trigger
                        .sequence
                        .iter()
                        .find(|s| s.event == *event)
                        .and_then(|s| s.filter.as_ref())
                } else {
                    c.trigger.filter.as_ref()
                };
                if let Some(f) = filter {
                    f.for_each_leaf(&mut |t| {
                        if !t.matches(e.props.as_slice()) {
                            failed.push(describe_test(t, e.props.as_slice()));
                        }
                    });
                }
                format!(
                    "\"{event}\" at {at} did not match the trigger's conditions: {}",
                    failed.join("; ")
                )
            }
            Outcome::Skipped(Skip::Audience) => format!(
                "\"{event}\" at {at}: the person is not in the audience ({})",
                self.describe_audience(c).join("; ")
            ),
            Outcome::Skipped(Skip::Outranked { by }) => format!(
                "\"{event}\" at {at}: campaign {} has a higher priority and was offered instead",
                self.engine.pack().campaign(*by).id
            ),
            Outcome::Skipped(skip) => format!("\"{event}\" at {at}: {skip}"),
        }
    }

    /// Which parts of the audience fail now, with the values seen.
    fn describe_audience(&self, c: &Campaign) -> Vec<String> {
        let a = &c.audience;
        let d = self.engine.device();
        let mut out = Vec::new();
        let identified = self.identity.user_id.is_some();
        if a.identified.is_some_and(|want| want != identified) {
            out.push(format!(
                "identified must be {}, the person is {}",
                !identified,
                if identified {
                    "identified"
                } else {
                    "anonymous"
                }
            ));
        }
        if !a.platforms.is_empty() && !d.platform.is_some_and(|p| a.platforms.contains(&p)) {
            let names: Vec<&str> = a.platforms.iter().map(|p| Platform::name(*p)).collect();
            out.push(format!(
                "platform must be one of {}, the device is {}",
                names.join(", "),
                d.platform.map_or("unknown", Platform::name)
            ));
        }
        if !a.locales.is_empty() && !a.locales.iter().any(|l| d.locale.is_within(l)) {
            let names: Vec<String> = a.locales.iter().map(|l| l.to_string()).collect();
            out.push(format!(
                "locale must fall under {}, the device's is {}",
                names.join(", "),
                d.locale
            ));
        }
        if let Some(range) = &a.app_version {
            if !d.app_version.as_ref().is_some_and(|v| range.contains(v)) {
                out.push(format!(
                    "app version must be {range}, the app is {}",
                    d.app_version
                        .as_ref()
                        .map_or_else(|| "unreadable".to_owned(), |v| v.to_string())
                ));
            }
        }
        let tags = crate::engine::tags_of(&self.user_properties);
        if !a.tags.matches(&tags) {
            out.push(format!(
                "tags ({}) do not match the person's ({})",
                describe_set_test(&a.tags.any, &a.tags.all, &a.tags.none),
                list(tags.iter())
            ));
        }
        if let Some(test) = &a.segments {
            match self.segments.known() {
                None => out.push(
                    "segments are not yet known for this person (the server has not answered for them yet): a segments test fails until it does".into(),
                ),
                Some(s) if !test.matches(s) => out.push(format!(
                    "segments ({}) do not match the person's ({})",
                    describe_set_test(&test.any, &test.all, &test.none),
                    list(s.iter())
                )),
                Some(_) => {}
            }
        }
        if let Some(p) = &a.user_properties {
            p.for_each_leaf(&mut |t| {
                if !t.matches(&self.user_properties) {
                    out.push(format!(
                        "user property {}",
                        describe_test(t, &self.user_properties)
                    ));
                }
            });
        }
        if out.is_empty() {
            out.push("it matches now: the user's properties changed since".into());
        }
        out
    }

    /// Whether caps would allow the campaign now, and its impressions.
    fn describe_caps_now(&self, c: &Campaign, reasons: &mut Vec<String>) {
        let now = self.shared.clock.now_ms();
        let h = self.engine.history(&c.id).unwrap_or(&NO_HISTORY);
        let cal = Calendar::at(now, &self.engine.device().zone);
        if let Err(b) = caps::campaign_allows(&c.frequency, h, &cal) {
            reasons.push(format!("right now its frequency cap holds it back: {b}"));
        }
        if h.total > 0 {
            reasons.push(format!(
                "shown (or control-exposed) {} time(s) to this person{}",
                h.total,
                h.exposure
                    .as_ref()
                    .map(|e| format!(
                        ", the last at {} (variant {}{})",
                        rfc3339_ms(e.at_ms),
                        e.variant,
                        if e.converted { ", converted" } else { "" }
                    ))
                    .unwrap_or_default()
            ));
        }
        if let Some(inv) = &c.inventory {
            reasons.push(format!(
                "prizes received: {} of at most {}",
                h.prizes, inv.per_user
            ));
        }
    }
}

fn outcome_name(l: &LastMatch) -> &'static str {
    match &l.outcome {
        Outcome::Offered if l.withheld => "not offered",
        Outcome::Offered => "offered",
        Outcome::Scheduled { .. } => "scheduled",
        Outcome::Skipped(_) => "not offered",
    }
}

/// `amount gt 100: amount is "150" (a string)`.
fn describe_test<P: PropertyLookup + ?Sized>(t: &PropertyTest, props: &P) -> String {
    match props.property(&t.property) {
        None => format!("{t}: {} is missing", t.property),
        Some(v) => format!("{t}: {} is {} ({})", t.property, show(v), v.type_name()),
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => serde_json::Value::from(s.as_str()).to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Timestamp(ms) => rfc3339_ms(*ms),
        Value::StringList(l) => format!(
            "[{}]",
            l.iter()
                .map(|s| serde_json::Value::from(s.as_str()).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Unsupported(s) => s.clone(),
    }
}

/// `a, b` or `none`.
fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// `any of a, b; all of c; none of d`, leaving out the empty parts.
fn describe_set_test(any: &[String], all: &[String], none: &[String]) -> String {
    let mut parts = Vec::new();
    for (what, names) in [("any of", any), ("all of", all), ("none of", none)] {
        if !names.is_empty() {
            parts.push(format!("{what} {}", list(names.iter())));
        }
    }
    parts.join("; ")
}
