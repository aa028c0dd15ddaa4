//! The local-notification fallback's side facing the host: what Reach asks
//! the host's `NotificationScheduler` to schedule or cancel, and the
//! `reach-notifications` thread that makes those calls.
//!
//! Reach never talks to the OS itself: the host schedules with
//! `NotificationManager`/`AlarmManager` or `UNUserNotificationCenter` and
//! reports a tap back. Calls run on their own thread, never on the worker
//! (a slow host must not stall recording) nor the caller's; a host call that
//! fails or panics is logged and changes nothing else.

use std::sync::mpsc::{self, Sender};
use std::sync::Arc;

/// A notification for the OS to show at `fire_at_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRequest {
    /// Reach's id for it: the host cancels by it and reports a tap with it.
    pub notification_id: String,
    pub campaign_id: String,
    /// Milliseconds since the Unix epoch.
    pub fire_at_ms: i64,
    /// Localised for the device.
    pub title: String,
    pub body: Option<String>,
}

/// Implemented by the host (through the facade) or by tests. An error is
/// logged; Reach carries on as if the call had been made.
pub trait NotificationScheduler: Send + Sync {
    fn schedule(&self, request: &NotificationRequest) -> Result<(), String>;
    fn cancel(&self, notification_id: &str) -> Result<(), String>;
}

/// What the worker asks the scheduler thread to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchedulerCall {
    Schedule(NotificationRequest),
    Cancel(String),
}

/// How long closing waits for a host call still running: scheduling a
/// local notification is a quick OS call.
const SCHEDULER_JOIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// The `reach-notifications` thread.
pub struct SchedulerThread {
    calls: Option<Sender<SchedulerCall>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl SchedulerThread {
    /// `failed` turns a failure's description into a worker command (a log
    /// line); `back` hands it to the worker, false once the worker is gone.
    pub fn spawn<C, B, F>(
        scheduler: Arc<dyn NotificationScheduler>,
        back: B,
        failed: F,
    ) -> std::io::Result<SchedulerThread>
    where
        C: Send + 'static,
        B: Fn(C) -> bool + Send + 'static,
        F: Fn(String) -> C + Send + 'static,
    {
        let (calls, rx) = mpsc::channel::<SchedulerCall>();
        let handle = std::thread::Builder::new()
            .name("reach-notifications".into())
            .spawn(move || {
                for call in rx {
                    let (what, r) = match &call {
                        SchedulerCall::Schedule(n) => (
                            format!(
                                "schedule notification {} of campaign {}",
                                n.notification_id, n.campaign_id
                            ),
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                scheduler.schedule(n)
                            })),
                        ),
                        SchedulerCall::Cancel(id) => (
                            format!("cancel notification {id}"),
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                scheduler.cancel(id)
                            })),
                        ),
                    };
                    let r = r.unwrap_or_else(|_| Err("the notification scheduler panicked".into()));
                    if let Err(why) = r {
                        if !back(failed(format!("the host could not {what}: {why}"))) {
                            break;
                        }
                    }
                }
            })?;
        Ok(SchedulerThread {
            calls: Some(calls),
            handle: Some(handle),
        })
    }

    /// Hands a call over; false when the thread is gone.
    pub fn call(&self, call: SchedulerCall) -> bool {
        self.calls.as_ref().is_some_and(|c| c.send(call).is_ok())
    }
}

impl Drop for SchedulerThread {
    fn drop(&mut self) {
        self.calls = None;
        if let Some(h) = self.handle.take() {
            crate::thread::join_within(h, SCHEDULER_JOIN_TIMEOUT);
        }
    }
}
