//! The life of the one offer in flight, on the worker thread: handing it to
//! the presenter (after a prize claim when the campaign has stock), the
//! host's answer and reports (shown, clicked, dismissed), the impression,
//! click and dismiss events they record, and the offer's timers (answer
//! timeout, deferral, re-offer). Campaign bookkeeping around the engine is
//! in `campaigns.rs`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::Worker;
use crate::claim::{ClaimAnswer, ClaimClient, ClaimThread};
use crate::event::EventKind;
use crate::log::Level;
use crate::messages::Command;
use crate::popup::{
    popup_for, Answer, Due, InFlight, MissingValue, OfferContent, OfferState, Presenter,
    PresenterThread, Report,
};
use crate::rules::{Action, OfflinePolicy};
use crate::value::Value;

/// Longest real wait between timer checks while an offer is in flight; the
/// deadlines are in the injected clock's time, which may not run in step.
const MAX_TIMER_WAIT: Duration = Duration::from_secs(5);

impl Worker {
    /// After a restart: an offer that may have reached the screen counts as
    /// shown and is never offered again; a deferred one waits for the next
    /// foreground.
    pub(super) fn restore_in_flight(&mut self, f: InFlight) {
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

    pub(super) fn set_claim_client(&mut self, client: Option<Arc<dyn ClaimClient>>) {
        self.claims = client.and_then(|c| {
            let inbox = self.shared.inbox.clone();
            let spawned = ClaimThread::spawn(
                c,
                move |cmd| inbox.send(cmd).is_ok(),
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
            let inbox = self.shared.inbox.clone();
            let spawned = PresenterThread::spawn(
                p,
                move |cmd| inbox.send(cmd).is_ok(),
                |offer_id, answer| Command::OfferAnswer { offer_id, answer },
            );
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

    /// Hands the offer to the presenter (after the commit).
    pub(super) fn present(&mut self, f: InFlight) {
        let pack = self.engine.pack().clone();
        let Some(campaign) = pack.campaign_by_id(&f.campaign_id) else {
            return;
        };
        let popup = popup_for(campaign, &f.variant, f.sold_out);
        let rendered = OfferContent::render_popup(
            campaign,
            popup,
            &f.offer_id,
            &f.variant,
            &self.engine.device().locale,
            &f.text_values,
        );
        let mut content = match rendered {
            Ok(content) => OfferContent {
                test: f.test,
                ..content
            },
            Err(missing) => {
                // Only the sold-out popup can get here: the offered one was
                // checked at exposure. Nothing was shown: nothing counts.
                self.not_offered_for_text(&campaign.id, &missing);
                self.release_claim(&f);
                self.in_flight = None;
                self.in_flight_dirty = true;
                return;
            }
        };
        if let Err(why) = self.attach_image(&mut content, popup) {
            // The sold-out popup's image, or a file gone since exposure.
            self.not_offered(&campaign.id, why);
            self.release_claim(&f);
            self.in_flight = None;
            self.in_flight_dirty = true;
            return;
        }
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

    pub(super) fn claim_answered_for(&mut self, mut f: InFlight, answer: ClaimAnswer, now: i64) {
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
                self.engine.annotate_withheld(&id, note);
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
                        self.engine.annotate_withheld(&id, note);
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
                    .and_then(|c| {
                        // The button is looked up in the popup that was
                        // offered: a variant's or the sold-out one.
                        popup_for(c, &f.variant, f.sold_out)
                            .buttons
                            .iter()
                            .find(|b| b.id == button_id)
                    })
                    .map(|b| b.action.clone());
                if !shown {
                    self.count_impression(&f, ts, false);
                }
                if matches!(action, Some(Action::Dismiss)) {
                    self.dismissed(&f, ts, Some(&button_id));
                } else {
                    // A preview leaves the person's real campaign state alone.
                    if !f.preview {
                        self.engine.record_click(&f.campaign_id, ts);
                    }
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
        if !f.preview {
            self.engine.record_dismiss(&f.campaign_id, ts);
        }
        let mut props = popup_props(f);
        if let Some(b) = button_id {
            props.push(("button_id".into(), Value::String(b.to_owned())));
        }
        self.record(EventKind::Track, "reach.popup.dismissed", props, ts);
    }

    /// Counts an impression and records `reach.popup.shown`; `assumed` when
    /// no report came and Reach errs on the side of the user.
    fn count_impression(&mut self, f: &InFlight, at: i64, assumed: bool) {
        // A preview counts in no cap and opens no goal window.
        if !f.preview {
            self.engine.record_impression(
                &f.campaign_id,
                at,
                &self.session.id,
                &f.variant,
                &f.offer_id,
                f.test,
            );
        }
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
        let popup = popup_for(campaign, &f.variant, f.sold_out);
        let Ok(mut content) = OfferContent::render_popup(
            campaign,
            popup,
            &f.offer_id,
            &f.variant,
            &self.engine.device().locale,
            &f.text_values,
        ) else {
            // It rendered when first offered, with these same values; a
            // new pack may have changed the text since.
            self.release(&f.offer_id);
            return;
        };
        content.test = f.test;
        if let Err(why) = self.attach_image(&mut content, popup) {
            self.not_offered(&campaign.id, why);
            self.release_claim(&f);
            self.release(&f.offer_id);
            return;
        }
        self.outbox.push(content);
        self.in_flight = Some(InFlight {
            state: OfferState::Offered { at_ms: now },
            ..f
        });
        self.in_flight_dirty = true;
    }

    /// A popup whose personal text lacks a value is not offered; says why.
    pub(super) fn not_offered_for_text(&mut self, campaign_id: &str, missing: &MissingValue) {
        let note = format!("not offered: {missing}");
        self.shared
            .logger
            .log(Level::Info, &format!("campaign {campaign_id}: {note}"));
        self.engine.annotate_withheld(campaign_id, note);
    }

    /// A popup held back (for now) is not offered; says why.
    pub(super) fn not_offered(&mut self, campaign_id: &str, note: String) {
        self.shared
            .logger
            .log(Level::Info, &format!("campaign {campaign_id}: {note}"));
        self.engine.annotate_withheld(campaign_id, note);
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
}

/// The properties of an event about the offer `f`.
pub(super) fn popup_props(f: &InFlight) -> Vec<(String, Value)> {
    campaign_event_props(&f.campaign_id, &f.variant, &f.offer_id, f.test, f.preview)
}

/// The properties every campaign event carries: whose offer it was, and the
/// test and preview flags when set.
pub(super) fn campaign_event_props(
    campaign_id: &str,
    variant: &str,
    offer_id: &str,
    test: bool,
    preview: bool,
) -> Vec<(String, Value)> {
    let mut props = vec![
        ("campaign_id".into(), Value::String(campaign_id.to_owned())),
        ("variant".into(), Value::String(variant.to_owned())),
        ("offer_id".into(), Value::String(offer_id.to_owned())),
    ];
    mark_test(&mut props, test);
    if preview {
        props.push((PREVIEW_FLAG.into(), Value::Bool(true)));
    }
    props
}

/// The property that marks a campaign event of a test person or a preview
/// (`"test": true`): the server's stats leave such events out.
pub(super) const TEST_FLAG: &str = "test";

/// The property that marks the events of a `preview()` offer.
const PREVIEW_FLAG: &str = "preview";

/// Adds `"test": true` to a campaign event's properties when `test`.
pub(super) fn mark_test(props: &mut Vec<(String, Value)>, test: bool) {
    if test {
        props.push((TEST_FLAG.into(), Value::Bool(true)));
    }
}
