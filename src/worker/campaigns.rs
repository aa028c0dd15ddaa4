//! The worker's side of campaigns: feeding events to the trigger engine,
//! persisting its state, and the life of the one offer in flight (offer,
//! answer, report, timers). Runs on the worker thread only.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::{Command, Worker};
use crate::engine::caps::{CampaignHistory, GlobalHistory};
use crate::engine::counters::{Bucket, TIERS};
use crate::engine::Person;
use crate::event::EventKind;
use crate::log::Level;
use crate::popup::{
    Answer, Due, InFlight, OfferContent, OfferState, Presenter, PresenterThread, Report,
    DEFAULT_VARIANT,
};
use crate::rules::{Action, RulePack};
use crate::value::Value;

const META_RULE_PACK: &str = "rule_pack";
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

impl Worker {
    /// Restores the active pack, counters, histories and the offer in flight.
    pub(super) fn load_campaign_state(&mut self) {
        let stored = self.store.meta_get(META_RULE_PACK).ok().flatten();
        let (text, origin) = match stored {
            Some(t) => (Some(t), "stored"),
            None => (self.config.bundled_rule_pack.clone(), "bundled"),
        };
        if let Some(text) = text {
            match RulePack::parse(&text) {
                Ok(pack) => self.engine.set_pack(Arc::new(pack)),
                Err(e) => self.shared.logger.log(
                    Level::Error,
                    &format!("the {origin} rule pack is refused, no campaign is active: {e}"),
                ),
            }
        }
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
        self.engine.set_pack(pack);
        let r = self.store.meta_set(META_RULE_PACK, json);
        self.log_store_error("save the rule pack", r);
        self.shared.logger.log(
            Level::Info,
            &format!("rule pack {revision} active: {campaigns} campaigns"),
        );
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
            self.reoffer_deferred(self.shared.clock.now_ms());
        }
    }

    /// Feeds a stored track event to the engine and acts on its decision.
    pub(super) fn evaluate(&mut self, name: &str, props: &[(String, Value)], ts: i64) {
        // Decide at the moment the person acted, not when the worker got to
        // it: a queued event sees the same caps and windows it would have.
        let now = ts;
        let person = Person {
            user_properties: &self.user_properties,
            identified: self.identity.user_id.is_some(),
            session_id: &self.session.id,
        };
        let busy = self.in_flight.is_some();
        let decision = self.engine.on_event(name, props, ts, now, &person, busy);
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
        if let Some(idx) = decision.offer {
            self.offer(idx, now);
        }
    }

    fn offer(&mut self, idx: usize, now: i64) {
        let pack = self.engine.pack().clone();
        let campaign = pack.campaign(idx);
        if self.presenter.is_none() {
            self.shared.logger.log(
                Level::Info,
                &format!(
                    "campaign {} is eligible, but no PopupPresenter is set: nothing is shown",
                    campaign.id
                ),
            );
            return;
        }
        let offer_id = uuid::Uuid::new_v4().hyphenated().to_string();
        let content = OfferContent::render(
            campaign,
            &offer_id,
            DEFAULT_VARIANT,
            &self.engine.device().locale,
        );
        self.shared.logger.log(
            Level::Info,
            &format!("offering campaign {} (popup {offer_id})", campaign.id),
        );
        self.in_flight = Some(InFlight {
            offer_id,
            campaign_id: campaign.id.clone(),
            variant: DEFAULT_VARIANT.to_owned(),
            state: OfferState::Offered { at_ms: now },
        });
        self.in_flight_dirty = true;
        self.outbox.push(content);
    }

    /// After a commit: hand the offers now on disk to the presenter thread.
    pub(super) fn dispatch_offers(&mut self) {
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
                    self.record(EventKind::Track, "reach.popup.clicked", &props, ts);
                    if let Some(Action::TrackEvent { event, properties }) = action {
                        let props: Vec<(String, Value)> = properties.into_iter().collect();
                        self.record(EventKind::Track, &event, &props, ts);
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
        self.record(EventKind::Track, "reach.popup.dismissed", &props, ts);
    }

    /// Counts an impression and records `reach.popup.shown`; `assumed` when
    /// no report came and Reach errs on the side of the user.
    fn count_impression(&mut self, f: &InFlight, at: i64, assumed: bool) {
        self.engine
            .record_impression(&f.campaign_id, at, &self.session.id);
        let mut props = popup_props(f);
        if assumed {
            props.push(("assumed".into(), Value::Bool(true)));
        }
        self.in_flight = Some(InFlight {
            state: OfferState::Shown { at_ms: at },
            ..f.clone()
        });
        self.in_flight_dirty = true;
        self.record(EventKind::Track, "reach.popup.shown", &props, at);
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
                self.release(&f.offer_id);
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
        self.outbox.push(OfferContent::render(
            campaign,
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
        let deadline = self.in_flight.as_ref()?.next_deadline(can_offer)?;
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
