//! The local-notification fallback on the worker thread: when the app goes
//! to the background with a delayed popup pending for a campaign whose
//! channels list `local_notification`, it asks the host's scheduler for an
//! OS notification at the due time (moved out of quiet hours, only if caps
//! allow); it cancels it when the delay goes (cancelled, reset, consent
//! denied) or the app returns before it fired; one that fired counts as the
//! campaign's impression, and a tap reported back as its click.
//!
//! Costs nothing for packs without notifications: every hook returns at
//! once while nothing is scheduled and no campaign asks for one. Host calls
//! leave after the commit that records them, on the `reach-notifications`
//! thread, so a kill never leaves a scheduled notification Reach forgot:
//! at the next start the stored list is reconciled like any other.

use std::sync::Arc;

use super::Worker;
use crate::config::Consent;
use crate::event::EventKind;
use crate::log::Level;
use crate::messages::Command;
use crate::notification::{
    NotificationRequest, NotificationScheduler, SchedulerCall, SchedulerThread,
};
use crate::rfc3339::rfc3339_ms;
use crate::value::Value;

/// Where the scheduled notifications live in `meta`.
const META_NOTIFICATIONS: &str = "scheduled_notifications";

/// A notification that fired is kept this long for its tap: a person acts
/// on a notification within hours or not at all, and a tap after that is
/// not a response to this campaign's moment.
pub const TAP_WINDOW_MS: i64 = 24 * 3_600_000;

/// The event property that tells a notification's impression and click
/// from a popup's.
const CHANNEL: (&str, &str) = ("channel", "local_notification");

/// A notification handed to the host's scheduler.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct ScheduledNotification {
    pub notification_id: String,
    pub campaign_id: String,
    pub variant: String,
    pub fire_at_ms: i64,
    /// Its time came while the app was away: counted as shown.
    pub delivered: bool,
}

#[derive(Default)]
pub(super) struct NotificationState {
    scheduler: Option<SchedulerThread>,
    list: Vec<ScheduledNotification>,
    dirty: bool,
    /// Host calls decided in the open transaction, made after it commits.
    outbox: Vec<SchedulerCall>,
}

impl Worker {
    pub(super) fn restore_notifications(&mut self) {
        self.notifications.list = self
            .store
            .meta_get(META_NOTIFICATIONS)
            .ok()
            .flatten()
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default();
    }

    pub(super) fn set_notification_scheduler(
        &mut self,
        scheduler: Option<Arc<dyn NotificationScheduler>>,
    ) {
        self.notifications.scheduler = scheduler.and_then(|s| {
            let inbox = self.shared.inbox.clone();
            let spawned = SchedulerThread::spawn(
                s,
                move |cmd| inbox.send(cmd).is_ok(),
                |why| Command::Log(Level::Warn, why),
            );
            match spawned {
                Ok(t) => Some(t),
                Err(e) => {
                    self.shared.logger.log(
                        Level::Error,
                        &format!("cannot start the notifications thread: {e}"),
                    );
                    None
                }
            }
        });
        // Calls decided before it was set leave at the next commit.
    }

    /// The app went to the background: schedule the notifications of the
    /// pending delays that ask for one.
    pub(super) fn schedule_notifications(&mut self, now: i64) {
        if self.notifications.scheduler.is_none() || self.consent == Consent::Denied {
            return;
        }
        let pack = self.engine.pack().clone();
        if !pack.campaigns().iter().any(|c| c.notification.is_some()) {
            return;
        }
        let pending: Vec<String> = self
            .engine
            .delays_mut()
            .iter()
            .map(|d| d.campaign_id.clone())
            .collect();
        for id in pending {
            let Some(idx) = pack.index_of(&id) else {
                continue;
            };
            let campaign = pack.campaign(idx);
            let Some(text) = &campaign.notification else {
                continue;
            };
            if self.notifications.list.iter().any(|n| n.campaign_id == id) {
                continue;
            }
            let at = match self.engine.notification_time(&id, now) {
                Ok(at) => at,
                Err(why) => {
                    self.engine
                        .annotate(&id, format!("no local notification: {why}"));
                    continue;
                }
            };
            let unit = self
                .identity
                .user_id
                .clone()
                .unwrap_or_else(|| self.identity.anonymous_id.clone());
            let (variant, control) = self
                .engine
                .assign(idx, &unit, now, self.is_test_person())
                .unwrap_or_else(|| (crate::popup::DEFAULT_VARIANT.to_owned(), false));
            if control {
                // The control arm sees nothing; its exposure is recorded
                // when the delay comes due in the app.
                continue;
            }
            let locale = &self.engine.device().locale;
            let request = NotificationRequest {
                notification_id: uuid::Uuid::new_v4().hyphenated().to_string(),
                campaign_id: id.clone(),
                fire_at_ms: at,
                title: text.title.resolve(locale).to_owned(),
                body: text.body.as_ref().map(|b| b.resolve(locale).to_owned()),
            };
            self.engine.annotate(
                &id,
                format!(
                    "local notification {} scheduled for {}",
                    request.notification_id,
                    rfc3339_ms(at)
                ),
            );
            self.notifications.list.push(ScheduledNotification {
                notification_id: request.notification_id.clone(),
                campaign_id: id,
                variant,
                fire_at_ms: at,
                delivered: false,
            });
            self.notifications
                .outbox
                .push(SchedulerCall::Schedule(request));
            self.notifications.dirty = true;
        }
    }

    /// The app came back: a notification that fired meanwhile was the
    /// campaign's impression (its delayed popup is not shown as well); one
    /// still to come is cancelled, and the popup shows in the app instead.
    pub(super) fn notifications_at_foreground(&mut self, now: i64) {
        if self.notifications.list.is_empty() {
            return;
        }
        let list = std::mem::take(&mut self.notifications.list);
        for n in list {
            if n.delivered {
                self.notifications.list.push(n);
            } else if n.fire_at_ms <= now {
                self.notification_delivered(n);
            } else {
                self.engine.annotate(
                    &n.campaign_id,
                    format!(
                        "local notification {} cancelled: the app returned first",
                        n.notification_id
                    ),
                );
                self.notifications
                    .outbox
                    .push(SchedulerCall::Cancel(n.notification_id));
            }
        }
        self.notifications.dirty = true;
    }

    /// Counts a fired notification as shown and keeps it for its tap.
    fn notification_delivered(&mut self, mut n: ScheduledNotification) {
        self.engine.delays_mut().remove(&n.campaign_id);
        self.engine.record_impression(
            &n.campaign_id,
            n.fire_at_ms,
            &self.session.id,
            &n.variant,
            &n.notification_id,
            self.is_test_person(),
        );
        self.engine.annotate(
            &n.campaign_id,
            format!(
                "local notification {} shown at {}",
                n.notification_id,
                rfc3339_ms(n.fire_at_ms)
            ),
        );
        self.record(
            EventKind::Track,
            "reach.popup.shown",
            notification_props(&n, self.is_test_person()),
            n.fire_at_ms,
        );
        n.delivered = true;
        self.notifications.list.push(n);
        self.notifications.dirty = true;
    }

    /// The person tapped the notification: the campaign's click.
    pub(super) fn notification_tapped(&mut self, notification_id: &str, ts: i64) {
        let Some(i) = self
            .notifications
            .list
            .iter()
            .position(|n| n.notification_id == notification_id)
        else {
            self.shared.logger.log(
                Level::Debug,
                &format!("tap on notification {notification_id}, which Reach does not know (any more): ignored"),
            );
            return;
        };
        let n = self.notifications.list[i].clone();
        if !n.delivered {
            // Tapped before Reach heard of the foreground.
            self.notifications.list.remove(i);
            self.notification_delivered(ScheduledNotification {
                fire_at_ms: n.fire_at_ms.min(ts),
                ..n.clone()
            });
        }
        self.notifications
            .list
            .retain(|m| m.notification_id != notification_id);
        self.engine.record_click(&n.campaign_id, ts);
        self.engine.annotate(
            &n.campaign_id,
            format!("local notification {notification_id} tapped: a click"),
        );
        self.record(
            EventKind::Track,
            "reach.popup.clicked",
            notification_props(&n, self.is_test_person()),
            ts,
        );
        self.notifications.dirty = true;
    }

    /// Before each commit: cancels the notifications whose delay is gone
    /// (cancelled by an event, a new person, consent denied) and forgets
    /// fired ones past their tap window; then stores the list if it moved.
    pub(super) fn reconcile_notifications(&mut self, now: i64) {
        if !self.notifications.list.is_empty() {
            let denied = self.consent == Consent::Denied;
            let list = std::mem::take(&mut self.notifications.list);
            for n in list {
                let gone = self.engine.pending_delay(&n.campaign_id).is_none();
                if n.delivered {
                    if now.saturating_sub(n.fire_at_ms) < TAP_WINDOW_MS && !denied {
                        self.notifications.list.push(n);
                    } else {
                        self.notifications.dirty = true;
                    }
                } else if gone || denied {
                    self.engine.annotate(
                        &n.campaign_id,
                        format!(
                            "local notification {} cancelled: the delayed popup is no longer pending",
                            n.notification_id
                        ),
                    );
                    self.notifications
                        .outbox
                        .push(SchedulerCall::Cancel(n.notification_id));
                    self.notifications.dirty = true;
                } else {
                    self.notifications.list.push(n);
                }
            }
        }
        if std::mem::take(&mut self.notifications.dirty) {
            let r = if self.notifications.list.is_empty() {
                self.store.meta_delete(META_NOTIFICATIONS)
            } else {
                match serde_json::to_string(&self.notifications.list) {
                    Ok(json) => self.store.meta_set(META_NOTIFICATIONS, &json),
                    Err(_) => Ok(()),
                }
            };
            self.log_store_error("save the scheduled notifications", r);
        }
    }

    /// After a commit: makes the host calls it recorded.
    pub(super) fn dispatch_notification_calls(&mut self) {
        if self.notifications.outbox.is_empty() {
            return;
        }
        // Without a scheduler (at start-up, before the host sets it) the
        // calls wait for one: only cancels of a stored list can be
        // decided then, at most one per campaign.
        let Some(t) = &self.notifications.scheduler else {
            return;
        };
        for call in std::mem::take(&mut self.notifications.outbox) {
            if !t.call(call) {
                self.shared
                    .logger
                    .log(Level::Warn, "the notifications thread is gone");
                return;
            }
        }
    }
}

fn notification_props(n: &ScheduledNotification, test: bool) -> Vec<(String, Value)> {
    let mut props = super::offer::campaign_event_props(
        &n.campaign_id,
        &n.variant,
        &n.notification_id,
        test,
        false,
    );
    props.push((CHANNEL.0.into(), Value::String(CHANNEL.1.into())));
    props
}
