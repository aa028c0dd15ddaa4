//! The worker's side of campaigns around the trigger engine: restoring and
//! persisting its state, loading packs (with replay of recent events),
//! feeding events, exposures and due delays. The life of the offer in
//! flight (presenter, claims, reports, timers) is in `offer.rs`. Runs on the
//! worker thread only.

use std::sync::Arc;

use super::offer::{campaign_event_props, mark_test, popup_props};
use super::Worker;
use crate::claim::{ClaimAnswer, ClaimRequest};
use crate::engine::caps::{CampaignHistory, GlobalHistory};
use crate::engine::counters::{Bucket, TIERS};
use crate::engine::{Decision, Person};
use crate::event::EventKind;
use crate::log::Level;
use crate::popup::{
    popup_for, text_values_for, ClaimTicket, InFlight, OfferContent, OfferState, DEFAULT_VARIANT,
};
use crate::rfc3339::rfc3339_ms;
use crate::rules::RulePack;
use crate::value::Value;

pub(super) const META_RULE_PACK: &str = "rule_pack";
const META_GLOBAL_HISTORY: &str = "global_history";
const META_IN_FLIGHT: &str = "offer_in_flight";

/// Skip reasons logged per event (the rest are counted in one line).
const MAX_LOGGED_SKIPS: usize = 5;

/// Counter buckets past every horizon are deleted at most this often (in the
/// clock's time): pruning is a range delete, cheap, but not per event.
const PRUNE_EVERY_MS: i64 = 3_600_000;

/// Recent events kept for replay to campaigns of a new pack: a burst of
/// this many within the replay window still replays in full; more is
/// replayed from the most recent.
const REPLAY_MAX_EVENTS: usize = 256;

/// How long a due delay that quiet hours, a cap or a popup on screen held
/// back waits (in the clock's time) before the worker wakes to look again
/// on its own; any command looks sooner. Quiet hours and caps move in
/// minutes, so a minute is soon enough and never a busy loop.
const DELAY_RECHECK_MS: i64 = 60_000;

/// Keys of `reach.conversion` that a goal event's properties cannot shadow.
const CONVERSION_KEYS: [&str; 4] = ["campaign_id", "variant", "offer_id", "goal_event"];

/// The numeric value of the campaign goal's `value` property among the goal
/// event's properties; none when the goal names none or the event's value is
/// missing or not a number (a text "12.50" is not revenue Reach can sum).
fn conversion_value(
    pack: &crate::rules::RulePack,
    campaign_id: &str,
    props: &[(String, Value)],
) -> Option<Value> {
    let name = pack
        .campaign_by_id(campaign_id)?
        .goal
        .as_ref()?
        .value
        .as_ref()?;
    props
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .filter(|v| matches!(v, Value::Int(_) | Value::Float(_)))
        .cloned()
}

impl Worker {
    /// Restores the active pack, counters, histories and the offer in flight.
    pub(super) fn load_campaign_state(&mut self) {
        self.restore_pack();
        let b = self.engine.behaviours_mut();
        if let Ok(series) = self.store.load_counter_series() {
            for s in series {
                b.restore(&s.series, s.first_ms, s.last_ms);
            }
        }
        if let Ok(buckets) = self.store.load_counter_buckets() {
            for r in buckets {
                if r.tier < TIERS.len() {
                    b.restore_bucket(
                        &r.series,
                        r.tier,
                        r.bucket,
                        Bucket {
                            count: r.count,
                            sum: r.sum,
                        },
                    );
                }
            }
        }
        if let Ok(histories) = self.store.load_campaign_histories() {
            for (id, json) in histories {
                if let Ok(h) = serde_json::from_str::<CampaignHistory>(&json) {
                    self.engine.restore_history(id, h);
                }
            }
        }
        if let Some(g) = self
            .store
            .meta_get(META_GLOBAL_HISTORY)
            .ok()
            .flatten()
            .and_then(|j| serde_json::from_str::<GlobalHistory>(&j).ok())
        {
            self.engine.restore_global(g);
        }
        if let Ok(delays) = self.store.load_pending_delays() {
            for d in delays {
                self.engine.delays_mut().restore(d);
            }
        }
        if let Ok(progress) = self.store.load_sequence_progress() {
            for (id, p) in progress {
                self.engine.sequences_mut().restore(id, p);
            }
        }
        if let Ok(assignments) = self.store.load_assignments() {
            for (id, a) in assignments {
                self.engine.restore_assignment(id, a);
            }
        }
        if let Ok(explanations) = self.store.load_explanations() {
            self.stored_explanations = explanations.into_iter().collect();
        }
        let in_flight = self
            .store
            .meta_get(META_IN_FLIGHT)
            .ok()
            .flatten()
            .and_then(|j| serde_json::from_str::<InFlight>(&j).ok());
        if let Some(f) = in_flight {
            self.restore_in_flight(f);
        }
    }

    pub(super) fn load_pack(&mut self, pack: Arc<RulePack>, json: &str) {
        let campaigns = pack.campaigns().len();
        let revision = pack.revision.clone().unwrap_or_else(|| "-".into());
        let old = self.engine.pack().clone();
        let arrived: rustc_hash::FxHashSet<usize> = pack
            .campaigns()
            .iter()
            .enumerate()
            .filter(|(_, c)| c.replay_ms > 0 && old.campaign_by_id(&c.id).is_none())
            .map(|(i, _)| i)
            .collect();
        self.engine.set_pack(pack);
        if !arrived.is_empty() {
            self.replay_recent(&arrived);
        }
        let r = self.store.meta_set(META_RULE_PACK, json);
        self.log_store_error("save the rule pack", r);
        self.shared.logger.log(
            Level::Info,
            &format!("rule pack {revision} active: {campaigns} campaigns"),
        );
    }

    /// Evaluates the last events again for campaigns that just arrived (each
    /// within its own `replay` window), so an event that raced the pack
    /// still triggers.
    fn replay_recent(&mut self, arrived: &rustc_hash::FxHashSet<usize>) {
        let now = self.shared.clock.now_ms();
        let pack = self.engine.pack().clone();
        let recent: Vec<_> = self.recent.iter().cloned().collect();
        for e in recent {
            let only: rustc_hash::FxHashSet<usize> = arrived
                .iter()
                .copied()
                .filter(|&i| now.saturating_sub(e.ts_ms) <= pack.campaign(i).replay_ms)
                .collect();
            if only.is_empty() {
                continue;
            }
            let person = Person {
                user_properties: &self.user_properties,
                identified: self.identity.user_id.is_some(),
                session_id: &self.session.id,
                segments: self.segments.known(),
                test: self.is_test_person(),
            };
            let busy = self.in_flight.is_some();
            let decision = self.engine.replay_event(&e, now, &person, busy, &only);
            self.shared.logger.log(
                Level::Debug,
                &format!(
                    "replayed \"{}\" to {} campaign(s) that arrived with the new pack",
                    e.name,
                    only.len()
                ),
            );
            self.apply_decision(decision, &e.name, &e.props, now);
        }
    }

    /// Remembers a track event for replay to campaigns of a later pack.
    fn remember_for_replay(
        &mut self,
        name: &str,
        props: Vec<(String, Value)>,
        ts: i64,
    ) -> Arc<crate::engine::SeenEvent> {
        while self.recent.len() >= REPLAY_MAX_EVENTS
            || self
                .recent
                .front()
                .is_some_and(|e| ts.saturating_sub(e.ts_ms) > crate::rules::MAX_REPLAY.as_millis())
        {
            self.recent.pop_front();
        }
        let seen = Arc::new(crate::engine::SeenEvent {
            name: name.to_owned(),
            props,
            ts_ms: ts,
        });
        self.recent.push_back(seen.clone());
        seen
    }

    /// Feeds a stored track event to the engine and acts on its decision.
    pub(super) fn evaluate(&mut self, name: &str, props: Vec<(String, Value)>, ts: i64) {
        // Decide at the moment the person acted, not when the worker got to
        // it: a queued event sees the same caps and windows it would have.
        let now = ts;
        let seen = self.remember_for_replay(name, props, ts);
        let person = Person {
            user_properties: &self.user_properties,
            identified: self.identity.user_id.is_some(),
            session_id: &self.session.id,
            segments: self.segments.known(),
            test: self.is_test_person(),
        };
        let busy = self.in_flight.is_some();
        let decision = self.engine.on_seen_event(&seen, now, &person, busy);
        self.apply_decision(decision, name, &seen.props, now);
    }

    fn apply_decision(
        &mut self,
        decision: Decision,
        name: &str,
        props: &[(String, Value)],
        now: i64,
    ) {
        // Say why for the first few; a thousand lines per event would cost
        // more than the decision.
        let pack = self.engine.pack().clone();
        for (idx, why) in decision.skipped.iter().take(MAX_LOGGED_SKIPS) {
            let id = &pack.campaign(*idx).id;
            self.shared.logger.log(
                Level::Debug,
                &format!("campaign {id} not offered for \"{name}\": {why}"),
            );
        }
        if decision.skipped.len() > MAX_LOGGED_SKIPS {
            self.shared.logger.log(
                Level::Debug,
                &format!(
                    "... and {} more campaigns not offered for \"{name}\"",
                    decision.skipped.len() - MAX_LOGGED_SKIPS
                ),
            );
        }
        for p in &decision.cancelled {
            self.engine.annotate(
                &p.campaign_id,
                format!("the pending popup was cancelled by \"{name}\""),
            );
            self.shared.logger.log(
                Level::Info,
                &format!(
                    "the pending popup of campaign {} (due at {}) is cancelled by \"{name}\"",
                    p.campaign_id,
                    rfc3339_ms(p.due_ms)
                ),
            );
        }
        for (_, p) in &decision.scheduled {
            self.shared.logger.log(
                Level::Info,
                &format!(
                    "campaign {} scheduled: due at {}, expires at {}",
                    p.campaign_id,
                    rfc3339_ms(p.due_ms),
                    rfc3339_ms(p.expires_ms)
                ),
            );
        }
        for c in decision.conversions {
            let mut out = vec![
                (
                    "campaign_id".to_owned(),
                    Value::String(c.campaign_id.clone()),
                ),
                ("variant".to_owned(), Value::String(c.variant.clone())),
                ("offer_id".to_owned(), Value::String(c.offer_id.clone())),
                ("goal_event".to_owned(), Value::String(name.to_owned())),
            ];
            mark_test(&mut out, c.test);
            // The goal event's own properties, except where they would
            // shadow Reach's keys.
            out.extend(
                props
                    .iter()
                    .filter(|(k, _)| !CONVERSION_KEYS.contains(&k.as_str()))
                    .cloned(),
            );
            if let Some(v) = conversion_value(&self.engine.pack().clone(), &c.campaign_id, props) {
                // The goal's value property, under Reach's own key (it wins
                // over a goal event's own `value`).
                out.retain(|(k, _)| k != "value");
                out.push(("value".to_owned(), v));
            }
            self.shared.logger.log(
                Level::Info,
                &format!(
                    "conversion: \"{name}\" attributed to campaign {} (variant {})",
                    c.campaign_id, c.variant
                ),
            );
            self.engine.annotate(
                &c.campaign_id,
                format!("goal \"{name}\" reached: conversion recorded"),
            );
            self.record(EventKind::Track, "reach.conversion", out, now);
        }
        if let Some(idx) = decision.offer {
            self.expose(idx, now, props);
        }
    }

    /// The campaign is to be shown now: assign its variant (at first
    /// exposure), then record a control exposure, claim a prize, or offer.
    /// `event` is the triggering event's properties (none for a delayed
    /// popup), for the popup's personal text.
    fn expose(&mut self, idx: usize, now: i64, event: &[(String, Value)]) {
        let pack = self.engine.pack().clone();
        let campaign = pack.campaign(idx);
        let test = self.is_test_person();
        let unit = self
            .identity
            .user_id
            .clone()
            .unwrap_or_else(|| self.identity.anonymous_id.clone());
        let (variant, control) = self
            .engine
            .assign(idx, &unit, now, test)
            .unwrap_or_else(|| (DEFAULT_VARIANT.to_owned(), false));
        let exposures = self.engine.history(&campaign.id).map_or(0, |h| h.total);
        let offer_id = super::ids::new(
            self.config.id_seed,
            now,
            &format!("offer {} {exposures} {unit}", campaign.id),
        );
        // Checked before the control arm too: a person whose treatment
        // could not be shown is not counted as control either, so both
        // arms hold the same people.
        let text_values = text_values_for(campaign, &self.user_properties, event);
        if let Some(why) = self.held_back_for_image(popup_for(campaign, &variant, false)) {
            self.not_offered(&campaign.id, why);
            return;
        }
        if let Err(missing) = OfferContent::render_popup(
            campaign,
            popup_for(campaign, &variant, false),
            &offer_id,
            &variant,
            &self.engine.device().locale,
            &text_values,
        ) {
            self.not_offered_for_text(&campaign.id, &missing);
            return;
        }
        if control {
            // Exactly where a treated person's impression would be: caps
            // and the attribution window count it, the host sees nothing.
            self.engine.record_impression(
                &campaign.id,
                now,
                &self.session.id,
                &variant,
                &offer_id,
                test,
            );
            let props = campaign_event_props(&campaign.id, &variant, &offer_id, test, false);
            self.record(EventKind::Track, "reach.popup.control", props, now);
            let note = format!(
                "variant {variant} is a control group: nothing shown, control exposure recorded"
            );
            self.shared
                .logger
                .log(Level::Info, &format!("campaign {}: {note}", campaign.id));
            self.engine.annotate(&campaign.id, note);
            return;
        }
        if self.presenter.is_none() {
            let note = "eligible, but no PopupPresenter is set: nothing is shown".to_owned();
            self.shared
                .logger
                .log(Level::Info, &format!("campaign {} is {note}", campaign.id));
            self.engine.annotate_withheld(&campaign.id, note);
            return;
        }
        // The treated arm's exposure point, where a control person's
        // `reach.popup.control` is: the offer is made (the host may still
        // not show it), and the goal's window opens.
        self.engine
            .record_offer(&campaign.id, now, &variant, &offer_id, test);
        let mut f = InFlight {
            test,
            ..InFlight::offered(offer_id, campaign.id.clone(), variant, now, text_values)
        };
        self.record(
            EventKind::Track,
            "reach.popup.offered",
            popup_props(&f),
            now,
        );
        if campaign.inventory.is_some() {
            if self.claims.is_none() {
                self.claim_answered_for(
                    f,
                    ClaimAnswer::Unavailable("no claim client is configured".into()),
                    now,
                );
                return;
            }
            let key = super::ids::new(self.config.id_seed, now, &format!("claim {}", f.offer_id));
            f.claim = Some(ClaimTicket {
                key: key.clone(),
                claim_id: None,
            });
            f.state = OfferState::Claiming { since_ms: now };
            // Sent after the commit: the key is on disk before the claim.
            self.claim_outbox.push((
                f.offer_id.clone(),
                ClaimRequest {
                    campaign_id: campaign.id.clone(),
                    person_id: unit,
                    idempotency_key: key,
                },
            ));
            self.engine
                .annotate(&campaign.id, "claiming a prize from the stock".to_owned());
            self.in_flight = Some(f);
            self.in_flight_dirty = true;
            return;
        }
        self.present(f);
    }

    /// Offers the first due delayed popup, when one can be offered now
    /// (foreground, a presenter, nothing in flight); drops expired ones.
    pub(super) fn offer_due_delays(&mut self, now: i64) {
        if !self.foreground {
            return;
        }
        let can_offer = self.presenter.is_some();
        loop {
            if self.in_flight.is_some() {
                return;
            }
            if self.engine.next_due_delay_ms().is_none_or(|due| due > now) {
                return;
            }
            let person = Person {
                user_properties: &self.user_properties,
                identified: self.identity.user_id.is_some(),
                session_id: &self.session.id,
                segments: self.segments.known(),
                test: self.is_test_person(),
            };
            let due = self.engine.take_due_delay(now, &person, can_offer);
            for p in &due.expired {
                let note = format!(
                    "the delayed popup expired: due at {}, not shown by {}",
                    rfc3339_ms(p.due_ms),
                    rfc3339_ms(p.expires_ms)
                );
                self.shared
                    .logger
                    .log(Level::Info, &format!("campaign {}: {note}", p.campaign_id));
                self.engine.annotate(&p.campaign_id, note);
            }
            for (p, why) in &due.dropped {
                let note = format!("the delayed popup is dropped: {why}");
                self.shared
                    .logger
                    .log(Level::Info, &format!("campaign {}: {note}", p.campaign_id));
                self.engine.annotate(&p.campaign_id, note);
            }
            let Some((idx, p)) = due.offer else {
                // Due but held back: look again a little later (or at the
                // next command), not in a loop.
                self.delays_recheck_at_ms = now.saturating_add(DELAY_RECHECK_MS);
                return;
            };
            self.engine.annotate(
                &p.campaign_id,
                format!("the delayed popup came due at {}", rfc3339_ms(p.due_ms)),
            );
            self.expose(idx, now, &[]);
        }
    }

    /// Writes what the engine changed into the open transaction.
    pub(super) fn persist_campaign_state(&mut self) {
        let now = self.shared.clock.now_ms();
        let mut errors = Vec::new();
        for d in self.engine.behaviours_mut().take_dirty() {
            if let Err(e) =
                self.store
                    .save_counter_series(&d.key, d.series.first_ms, d.series.last_ms)
            {
                errors.push(e);
            }
            for (tier, bucket, value) in d.buckets {
                let r = if value.count == 0 {
                    // Emptied by a clock correction (engine/counters.rs).
                    self.store.delete_counter_bucket(&d.key, tier, bucket)
                } else {
                    self.store
                        .save_counter_bucket(&d.key, tier, bucket, value.count, value.sum)
                };
                if let Err(e) = r {
                    errors.push(e);
                }
            }
        }
        if now.saturating_sub(self.last_prune_ms) >= PRUNE_EVERY_MS {
            self.last_prune_ms = now;
            for (tier, first) in self
                .engine
                .behaviours_mut()
                .prune(now)
                .into_iter()
                .enumerate()
            {
                if let Err(e) = self.store.prune_counter_buckets(tier, first) {
                    errors.push(e);
                }
            }
        }
        for (id, d) in self.engine.delays_mut().take_dirty() {
            if let Err(e) = self.store.save_pending_delay(&id, d.as_ref()) {
                errors.push(e);
            }
        }
        for (id, p) in self.engine.sequences_mut().take_dirty() {
            if let Err(e) = self.store.save_sequence_progress(&id, p.as_ref()) {
                errors.push(e);
            }
        }
        for (id, a) in self.engine.take_dirty_assignments() {
            if let Err(e) = self.store.save_assignment(&id, &a) {
                errors.push(e);
            }
        }
        for idx in self.engine.take_dirty_last() {
            if let Some((id, stored)) = self.explanation_to_store(idx) {
                if let Err(e) = self.store.save_explanation(&id, &stored) {
                    errors.push(e);
                }
            }
        }
        let (histories, global) = self.engine.take_dirty_histories();
        for (id, h) in histories {
            if let Ok(json) = serde_json::to_string(&h) {
                if let Err(e) = self.store.save_campaign_history(&id, &json) {
                    errors.push(e);
                }
            }
        }
        if let Some(g) = global {
            if let Ok(json) = serde_json::to_string(&g) {
                if let Err(e) = self.store.meta_set(META_GLOBAL_HISTORY, &json) {
                    errors.push(e);
                }
            }
        }
        if std::mem::take(&mut self.in_flight_dirty) {
            let r = match &self.in_flight {
                Some(f) => serde_json::to_string(f)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
                    .and_then(|j| self.store.meta_set(META_IN_FLIGHT, &j)),
                None => self.store.meta_delete(META_IN_FLIGHT),
            };
            if let Err(e) = r {
                errors.push(e);
            }
        }
        if let Some(e) = errors.into_iter().next() {
            self.log_store_error("save campaign state", Err(e));
        }
    }
}
