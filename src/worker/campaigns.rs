//! The worker's side of campaigns: feeding events to the trigger engine,
//! persisting its state, and the life of the one offer in flight (offer,
//! answer, report, timers). Runs on the worker thread only.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::{Command, Worker};
use crate::claim::{ClaimAnswer, ClaimClient, ClaimRequest, ClaimThread};
use crate::engine::caps::{CampaignHistory, GlobalHistory};
use crate::engine::counters::{Bucket, TIERS};
use crate::engine::{Decision, Person};
use crate::event::EventKind;
use crate::log::Level;
use crate::popup::{
    popup_for, Answer, ClaimTicket, Due, InFlight, OfferContent, OfferState, Presenter,
    PresenterThread, Report, DEFAULT_VARIANT,
};
use crate::rules::{Action, OfflinePolicy, RulePack};
use crate::value::{format_timestamp_ms, Value};

pub(super) const META_RULE_PACK: &str = "rule_pack";
const META_GLOBAL_HISTORY: &str = "global_history";
const META_IN_FLIGHT: &str = "offer_in_flight";

/// Skip reasons logged per event (the rest are counted in one line).
const MAX_LOGGED_SKIPS: usize = 5;

/// Counter buckets past every horizon are deleted at most this often (in the
/// clock's time): pruning is a range delete, cheap, but not per event.
const PRUNE_EVERY_MS: i64 = 3_600_000;

/// Longest real wait between timer checks while an offer is in flight; the
/// deadlines are in the injected clock's time, which may not run in step.
const MAX_TIMER_WAIT: Duration = Duration::from_secs(5);

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

    /// After a restart: an offer that may have reached the screen counts as
    /// shown and is never offered again; a deferred one waits for the next
    /// foreground.
    fn restore_in_flight(&mut self, f: InFlight) {
        let now = self.shared.clock.now_ms();
        self.in_flight_dirty = true;
        match f.state {
            OfferState::Claiming { .. } => {
                // The claim's answer is lost with the process: give back
                // whatever it may have taken, and offer nothing.
                self.shared.logger.log(
                    Level::Info,
                    &format!(
                        "popup {} of campaign {} was waiting for its prize claim when the app stopped; dropped, the claim is released",
                        f.offer_id, f.campaign_id
                    ),
                );
                self.release_claim(&f);
            }
            OfferState::Offered { .. } | OfferState::Showing { .. } => {
                self.shared.logger.log(
                    Level::Info,
                    &format!(
                        "popup {} of campaign {} was being offered when the app stopped; counted as shown, not offered again",
                        f.offer_id, f.campaign_id
                    ),
                );
                self.count_impression(&f, now, true);
            }
            OfferState::Shown { .. } => {}
            OfferState::Deferred { .. } => self.in_flight = Some(f),
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

    pub(super) fn set_claim_client(&mut self, client: Option<Arc<dyn ClaimClient>>) {
        self.claims = client.and_then(|c| {
            let spawned = ClaimThread::spawn(
                c,
                self.shared.inbox.clone(),
                |offer_id, answer| Command::ClaimAnswered { offer_id, answer },
                |why| Command::Log(Level::Warn, why),
            );
            match spawned {
                Ok(t) => Some(t),
                Err(e) => {
                    self.shared.logger.log(
                        Level::Error,
                        &format!("cannot start the claims thread: {e}"),
                    );
                    None
                }
            }
        });
        if let Some(t) = &self.claims {
            for (campaign_id, key) in self.pending_releases.drain(..) {
                t.release(campaign_id, key);
            }
        }
    }

    pub(super) fn set_presenter(&mut self, presenter: Option<Arc<dyn Presenter>>) {
        self.presenter = None;
        self.presenter = presenter.and_then(|p| {
            let spawned =
                PresenterThread::spawn(p, self.shared.inbox.clone(), |offer_id, answer| {
                    Command::OfferAnswer { offer_id, answer }
                });
            match spawned {
                Ok(t) => Some(t),
                Err(e) => {
                    self.shared.logger.log(
                        Level::Error,
                        &format!("cannot start the presenter thread: {e}"),
                    );
                    None
                }
            }
        });
        if self.presenter.is_some() && self.foreground {
            let now = self.shared.clock.now_ms();
            self.reoffer_deferred(now);
            self.offer_due_delays(now);
        }
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
                    format_timestamp_ms(p.due_ms)
                ),
            );
        }
        for (_, p) in &decision.scheduled {
            self.shared.logger.log(
                Level::Info,
                &format!(
                    "campaign {} scheduled: due at {}, expires at {}",
                    p.campaign_id,
                    format_timestamp_ms(p.due_ms),
                    format_timestamp_ms(p.expires_ms)
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
            // The goal event's own properties, except where they would
            // shadow Reach's keys.
            out.extend(
                props
                    .iter()
                    .filter(|(k, _)| !CONVERSION_KEYS.contains(&k.as_str()))
                    .cloned(),
            );
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
            self.expose(idx, now);
        }
    }

    /// The campaign is to be shown now: assign its variant (at first
    /// exposure), then record a control exposure, claim a prize, or offer.
    fn expose(&mut self, idx: usize, now: i64) {
        let pack = self.engine.pack().clone();
        let campaign = pack.campaign(idx);
        let unit = self
            .identity
            .user_id
            .clone()
            .unwrap_or_else(|| self.identity.anonymous_id.clone());
        let (variant, control) = self
            .engine
            .assign(idx, &unit, now)
            .unwrap_or_else(|| (DEFAULT_VARIANT.to_owned(), false));
        let offer_id = uuid::Uuid::new_v4().hyphenated().to_string();
        if control {
            // Exactly where a treated person's impression would be: caps
            // and the attribution window count it, the host sees nothing.
            self.engine
                .record_impression(&campaign.id, now, &self.session.id, &variant, &offer_id);
            let props = vec![
                ("campaign_id".to_owned(), Value::String(campaign.id.clone())),
                ("variant".to_owned(), Value::String(variant.clone())),
                ("offer_id".to_owned(), Value::String(offer_id)),
            ];
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
            self.engine.annotate(&campaign.id, note);
            return;
        }
        let mut f = InFlight {
            offer_id,
            campaign_id: campaign.id.clone(),
            variant,
            state: OfferState::Offered { at_ms: now },
            claim: None,
            sold_out: false,
        };
        if campaign.inventory.is_some() {
            if self.claims.is_none() {
                self.claim_answered_for(
                    f,
                    ClaimAnswer::Unavailable("no claim client is configured".into()),
                    now,
                );
                return;
            }
            let key = uuid::Uuid::new_v4().hyphenated().to_string();
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

    /// Hands the offer to the presenter (after the commit).
    fn present(&mut self, f: InFlight) {
        let pack = self.engine.pack().clone();
        let Some(campaign) = pack.campaign_by_id(&f.campaign_id) else {
            return;
        };
        let content = OfferContent::render_popup(
            campaign,
            popup_for(campaign, &f.variant, f.sold_out),
            &f.offer_id,
            &f.variant,
            &self.engine.device().locale,
        );
        self.shared.logger.log(
            Level::Info,
            &format!(
                "offering campaign {} (popup {}, variant {})",
                campaign.id, f.offer_id, f.variant
            ),
        );
        self.engine.annotate(
            &campaign.id,
            format!(
                "offered to the presenter (popup {}, variant {})",
                f.offer_id, f.variant
            ),
        );
        self.in_flight = Some(f);
        self.in_flight_dirty = true;
        self.outbox.push(content);
    }

    pub(super) fn claim_answered(&mut self, offer_id: &str, answer: ClaimAnswer) {
        self.shared
            .counters
            .claims_answered
            .fetch_add(1, Ordering::Relaxed);
        let now = self.shared.clock.now_ms();
        match self.matching(offer_id) {
            Some(f) if matches!(f.state, OfferState::Claiming { .. }) => {
                self.claim_answered_for(f, answer, now)
            }
            _ => {
                // Too late: the offer was given up (claim time-out), and its
                // release was queued behind this claim on the same thread.
                self.shared.logger.log(
                    Level::Debug,
                    &format!(
                        "late claim answer for popup {offer_id} ({answer:?}): already released"
                    ),
                );
            }
        }
    }

    fn claim_answered_for(&mut self, mut f: InFlight, answer: ClaimAnswer, now: i64) {
        let pack = self.engine.pack().clone();
        let Some(campaign) = pack.campaign_by_id(&f.campaign_id) else {
            self.release_claim(&f);
            self.release(&f.offer_id);
            return;
        };
        let id = campaign.id.clone();
        let (offline, has_sold_out) = campaign
            .inventory
            .as_ref()
            .map_or((OfflinePolicy::Skip, false), |i| {
                (i.offline, i.sold_out.is_some())
            });
        f.state = OfferState::Offered { at_ms: now };
        match answer {
            ClaimAnswer::Granted { claim_id } => {
                self.engine
                    .annotate(&id, format!("prize claimed (claim {claim_id})"));
                if let Some(t) = f.claim.as_mut() {
                    t.claim_id = Some(claim_id);
                }
                self.present(f);
            }
            ClaimAnswer::Exhausted if has_sold_out => {
                self.engine.annotate(
                    &id,
                    "the stock is exhausted: the sold-out popup is offered".to_owned(),
                );
                f.claim = None;
                f.sold_out = true;
                self.present(f);
            }
            ClaimAnswer::Exhausted => {
                let note = "the stock is exhausted: no popup".to_owned();
                self.shared
                    .logger
                    .log(Level::Info, &format!("campaign {id} not shown: {note}"));
                self.engine.annotate(&id, note);
                f.claim = None;
                self.release(&f.offer_id);
                self.in_flight = None;
                self.in_flight_dirty = true;
            }
            ClaimAnswer::Unavailable(why) => {
                // The server may have granted a prize whose answer we lost.
                self.release_claim(&f);
                f.claim = None;
                match offline {
                    OfflinePolicy::Skip => {
                        let note = format!("offline, claim required ({why})");
                        self.shared
                            .logger
                            .log(Level::Info, &format!("campaign {id} not shown: {note}"));
                        self.engine.annotate(&id, note);
                        self.in_flight = None;
                        self.in_flight_dirty = true;
                    }
                    OfflinePolicy::ShowUnclaimed => {
                        self.engine.annotate(
                            &id,
                            format!("no claim answer ({why}): shown without a prize (offline policy show_unclaimed)"),
                        );
                        self.present(f);
                    }
                }
            }
        }
    }

    /// Gives back the prize (or the claim that may have taken one) of `f`.
    fn release_claim(&mut self, f: &InFlight) {
        if let Some(t) = &f.claim {
            self.release_key(f.campaign_id.clone(), t.key.clone());
        }
    }

    fn release_key(&mut self, campaign_id: String, key: String) {
        match &self.claims {
            Some(t) => {
                t.release(campaign_id, key);
            }
            None => self.pending_releases.push((campaign_id, key)),
        }
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
            };
            let due = self.engine.take_due_delay(now, &person, can_offer);
            for p in &due.expired {
                let note = format!(
                    "the delayed popup expired: due at {}, not shown by {}",
                    format_timestamp_ms(p.due_ms),
                    format_timestamp_ms(p.expires_ms)
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
                format!(
                    "the delayed popup came due at {}",
                    format_timestamp_ms(p.due_ms)
                ),
            );
            self.expose(idx, now);
        }
    }

    /// After a commit: hand the offers now on disk to the presenter thread.
    pub(super) fn dispatch_offers(&mut self) {
        for (offer_id, request) in std::mem::take(&mut self.claim_outbox) {
            self.shared
                .counters
                .claims_requested
                .fetch_add(1, Ordering::Relaxed);
            let sent = self
                .claims
                .as_ref()
                .is_some_and(|t| t.claim(offer_id.clone(), request));
            if !sent {
                self.shared
                    .inbox
                    .send(Command::ClaimAnswered {
                        offer_id,
                        answer: ClaimAnswer::Unavailable("the claims thread is gone".into()),
                    })
                    .ok();
            }
        }
        for content in self.outbox.drain(..) {
            let delivered = self.presenter.as_ref().is_some_and(|p| p.offer(content));
            if delivered {
                self.shared
                    .counters
                    .popups_offered
                    .fetch_add(1, Ordering::Relaxed);
            } else {
                self.shared.logger.log(
                    Level::Warn,
                    "the presenter thread is gone; the offer is dropped",
                );
            }
        }
    }

    fn matching(&self, offer_id: &str) -> Option<InFlight> {
        self.in_flight
            .as_ref()
            .filter(|f| f.offer_id == offer_id)
            .cloned()
    }

    pub(super) fn offer_answered(&mut self, offer_id: &str, answer: Result<Answer, String>) {
        let answer = answer.unwrap_or_else(|why| {
            self.shared.logger.log(
                Level::Error,
                &format!("the presenter failed on popup {offer_id} ({why}); treated as a discard"),
            );
            Answer::Discard
        });
        self.shared
            .counters
            .popups_answered
            .fetch_add(1, Ordering::Relaxed);
        let Some(mut f) = self.matching(offer_id) else {
            return;
        };
        if !matches!(f.state, OfferState::Offered { .. }) {
            return;
        }
        let now = self.shared.clock.now_ms();
        match answer {
            Answer::ShowNow => f.state = OfferState::Showing { since_ms: now },
            Answer::Later { delay_ms } => {
                f.state = OfferState::Deferred {
                    offered_ms: now,
                    until_ms: delay_ms
                        .map(|d| now.saturating_add(i64::try_from(d).unwrap_or(i64::MAX))),
                };
            }
            Answer::Discard => {
                self.shared.logger.log(
                    Level::Info,
                    &format!(
                        "the host discarded popup {offer_id} of campaign {}: nothing counted",
                        f.campaign_id
                    ),
                );
                self.release_claim(&f);
                self.engine.annotate(
                    &f.campaign_id,
                    "the host discarded the popup: nothing counted".to_owned(),
                );
                self.in_flight = None;
                self.in_flight_dirty = true;
                return;
            }
        }
        self.in_flight = Some(f);
        self.in_flight_dirty = true;
    }

    pub(super) fn popup_reported(&mut self, offer_id: &str, report: Report, ts: i64) {
        let Some(f) = self.matching(offer_id) else {
            self.shared.logger.log(
                Level::Debug,
                &format!("report {report:?} for popup {offer_id}, which is not in flight: ignored"),
            );
            return;
        };
        let shown = matches!(f.state, OfferState::Shown { .. });
        match report {
            Report::Shown => {
                if !shown {
                    self.count_impression(&f, ts, false);
                }
            }
            Report::Clicked { button_id } => {
                let action = self
                    .engine
                    .pack()
                    .campaign_by_id(&f.campaign_id)
                    .and_then(|c| c.popup.buttons.iter().find(|b| b.id == button_id))
                    .map(|b| b.action.clone());
                if !shown {
                    self.count_impression(&f, ts, false);
                }
                if matches!(action, Some(Action::Dismiss)) {
                    self.dismissed(&f, ts, Some(&button_id));
                } else {
                    self.engine.record_click(&f.campaign_id, ts);
                    let mut props = popup_props(&f);
                    props.push(("button_id".into(), Value::String(button_id)));
                    self.record(EventKind::Track, "reach.popup.clicked", props, ts);
                    if let Some(Action::TrackEvent { event, properties }) = action {
                        let props: Vec<(String, Value)> = properties.into_iter().collect();
                        self.record(EventKind::Track, &event, props, ts);
                    }
                }
                self.release(&f.offer_id);
            }
            Report::Dismissed => {
                if !shown {
                    self.count_impression(&f, ts, false);
                }
                self.dismissed(&f, ts, None);
                self.release(&f.offer_id);
            }
        }
    }

    fn dismissed(&mut self, f: &InFlight, ts: i64, button_id: Option<&str>) {
        self.engine.record_dismiss(&f.campaign_id, ts);
        let mut props = popup_props(f);
        if let Some(b) = button_id {
            props.push(("button_id".into(), Value::String(b.to_owned())));
        }
        self.record(EventKind::Track, "reach.popup.dismissed", props, ts);
    }

    /// Counts an impression and records `reach.popup.shown`; `assumed` when
    /// no report came and Reach errs on the side of the user.
    fn count_impression(&mut self, f: &InFlight, at: i64, assumed: bool) {
        self.engine.record_impression(
            &f.campaign_id,
            at,
            &self.session.id,
            &f.variant,
            &f.offer_id,
        );
        if f.claim.as_ref().is_some_and(|t| t.claim_id.is_some()) {
            self.engine.record_prize(&f.campaign_id);
        }
        let mut props = popup_props(f);
        if assumed {
            props.push(("assumed".into(), Value::Bool(true)));
        }
        self.in_flight = Some(InFlight {
            state: OfferState::Shown { at_ms: at },
            ..f.clone()
        });
        self.in_flight_dirty = true;
        self.record(EventKind::Track, "reach.popup.shown", props, at);
    }

    fn release(&mut self, offer_id: &str) {
        if self
            .in_flight
            .as_ref()
            .is_some_and(|f| f.offer_id == offer_id)
        {
            self.in_flight = None;
            self.in_flight_dirty = true;
        }
    }

    /// Applies the offer's timers at `now` (a command's timestamp, so that
    /// commands queued before a deadline are applied before it).
    pub(super) fn check_offer_timers(&mut self, now: i64) {
        let Some(f) = self.in_flight.clone() else {
            return;
        };
        match f.due(now, self.foreground) {
            Due::Nothing => {}
            Due::CountAsShown => {
                self.shared.logger.log(
                    Level::Info,
                    &format!(
                        "no report for popup {} within the timeout: counted as shown",
                        f.offer_id
                    ),
                );
                self.count_impression(&f, now, true);
            }
            Due::Release => self.release(&f.offer_id),
            Due::Expire => {
                self.shared.logger.log(
                    Level::Info,
                    &format!(
                        "deferred popup {} of campaign {} expired without being shown",
                        f.offer_id, f.campaign_id
                    ),
                );
                self.release_claim(&f);
                self.release(&f.offer_id);
            }
            Due::ClaimTimeout => {
                let why = format!(
                    "no answer within {} s",
                    crate::popup::CLAIM_TIMEOUT_MS / 1000
                );
                self.claim_answered_for(f, ClaimAnswer::Unavailable(why), now);
            }
            Due::Reoffer => self.reoffer(f, now),
        }
    }

    /// At foreground, a popup the host deferred is offered again.
    /// (Only one without a delay, or whose delay has passed.)
    pub(super) fn reoffer_deferred(&mut self, now: i64) {
        if let Some(f) = self.in_flight.clone() {
            if let OfferState::Deferred { until_ms, .. } = f.state {
                if until_ms.is_none_or(|u| now >= u) && f.due(now, true) != Due::Expire {
                    self.reoffer(f, now);
                }
            }
        }
    }

    fn reoffer(&mut self, f: InFlight, now: i64) {
        let pack = self.engine.pack().clone();
        let Some(campaign) = pack.campaign_by_id(&f.campaign_id) else {
            self.release(&f.offer_id);
            return;
        };
        if self.presenter.is_none() {
            return;
        }
        self.outbox.push(OfferContent::render_popup(
            campaign,
            popup_for(campaign, &f.variant, f.sold_out),
            &f.offer_id,
            &f.variant,
            &self.engine.device().locale,
        ));
        self.in_flight = Some(InFlight {
            state: OfferState::Offered { at_ms: now },
            ..f
        });
        self.in_flight_dirty = true;
    }

    /// How long the worker may sleep before an offer timer is due.
    pub(super) fn timer_wait(&self) -> Option<Duration> {
        // Without a presenter a due deferred offer cannot be re-offered: only
        // its expiry is a deadline, or the worker would spin.
        let can_offer = self.foreground && self.presenter.is_some();
        let deadline = match &self.in_flight {
            Some(f) => f.next_deadline(can_offer)?,
            // A due delay wakes the worker only while it could be offered,
            // and one held back (quiet hours, a cap) only at its next
            // re-check: a due time in the past must not make it spin.
            None if can_offer => self
                .engine
                .next_due_delay_ms()?
                .max(self.delays_recheck_at_ms),
            None => return None,
        };
        let left = (deadline - self.shared.clock.now_ms()).max(0) as u64;
        Some(Duration::from_millis(left).min(MAX_TIMER_WAIT))
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
                if let Err(e) =
                    self.store
                        .save_counter_bucket(&d.key, tier, bucket, value.count, value.sum)
                {
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

fn popup_props(f: &InFlight) -> Vec<(String, Value)> {
    vec![
        ("campaign_id".into(), Value::String(f.campaign_id.clone())),
        ("variant".into(), Value::String(f.variant.clone())),
        ("offer_id".into(), Value::String(f.offer_id.clone())),
    ]
}
