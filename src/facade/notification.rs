//! The local-notification side of the facade: what the host's
//! `NotificationScheduler` receives.

use std::sync::Arc;

use crate::notification::{self, NotificationRequest};

/// An OS notification to schedule, standing in for a delayed popup the
/// person was not in the app for.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LocalNotification {
    /// Cancel by this id; pass it to `notificationTapped` when tapped.
    pub notification_id: String,
    pub campaign_id: String,
    /// When to show it, in milliseconds since the Unix epoch (already out
    /// of the pack's quiet hours).
    pub fire_at_ms: i64,
    /// Localised for the device.
    pub title: String,
    pub body: Option<String>,
}

/// Implemented by the app: schedules OS local notifications
/// (`NotificationManager` with `AlarmManager`/`WorkManager`,
/// `UNUserNotificationCenter`). Called on Reach's notifications thread; an
/// error is logged and harmless.
#[uniffi::export(with_foreign)]
pub trait NotificationScheduler: Send + Sync {
    fn schedule(&self, notification: LocalNotification) -> Result<(), super::CallbackError>;
    fn cancel(&self, notification_id: String) -> Result<(), super::CallbackError>;
}

pub(super) struct ForeignScheduler(pub Arc<dyn NotificationScheduler>);

impl notification::NotificationScheduler for ForeignScheduler {
    fn schedule(&self, r: &NotificationRequest) -> Result<(), String> {
        self.0
            .schedule(LocalNotification {
                notification_id: r.notification_id.clone(),
                campaign_id: r.campaign_id.clone(),
                fire_at_ms: r.fire_at_ms,
                title: r.title.clone(),
                body: r.body.clone(),
            })
            .map_err(|e| e.to_string())
    }

    fn cancel(&self, notification_id: &str) -> Result<(), String> {
        self.0
            .cancel(notification_id.to_owned())
            .map_err(|e| e.to_string())
    }
}
