//! The uniffi facade: the only code that knows about FFI.
//!
//! A thin object over `Tracker` that converts FFI types in and errors out.
//! uniffi catches panics at this boundary, but none should reach it: the core
//! returns errors instead of panicking.

mod campaigns;
mod notification;
mod popup;
mod queue;
mod transport;
mod types;

use std::collections::HashMap;
use std::sync::Arc;

pub use campaigns::{CampaignExplanation, ClaimClient, ClaimOutcome};
pub use notification::{LocalNotification, NotificationScheduler};
pub use popup::{
    ButtonAction, Popup, PopupButton, PopupPresenter, PopupTemplate, PresenterDecision,
};
pub use queue::{QueuedCall, UploadOutcome, UploadStop};
pub use transport::{
    foreign_transport, from_core_result, to_core_request, ForeignTransport, HttpHeader,
    HttpRequest, HttpResponse, HttpTransport, HttpTransportError,
};
pub use types::{AppInfo, Consent, Diagnostics, LogLevel, PropertyValue, ReachConfig, ReachError};

use crate::clock::SystemClock;
use crate::tracker::Tracker;

/// Where Reach sends its log lines (Logcat, os_log, a test list). Called from
/// Reach's worker thread, never from the thread that called Reach.
///
/// It returns a `Result` so that an exception thrown by the host's code comes
/// back as an error, which Reach ignores, instead of a panic in Reach's thread.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    fn log(&self, level: LogLevel, message: String) -> Result<(), CallbackError>;
}

/// What a host callback threw; Reach logs nothing about it (it would go to the
/// same sink) and carries on.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
pub enum CallbackError {
    Failed { message: String },
}

impl std::fmt::Display for CallbackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallbackError::Failed { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for CallbackError {}

impl From<uniffi::UnexpectedUniFFICallbackError> for CallbackError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        CallbackError::Failed { message: e.reason }
    }
}

struct ForeignSink(Arc<dyn LogSink>);

impl crate::log::LogSink for ForeignSink {
    fn log(&self, level: crate::log::Level, message: &str) {
        let _ = self.0.log(level.into(), message.to_owned());
    }
}

fn adapt(sink: Option<Arc<dyn LogSink>>) -> Option<Arc<dyn crate::log::LogSink>> {
    sink.map(|s| Arc::new(ForeignSink(s)) as Arc<dyn crate::log::LogSink>)
}

/// One Reach instance per data directory.
#[derive(uniffi::Object)]
pub struct Reach {
    tracker: Tracker,
}

#[uniffi::export]
impl Reach {
    /// Opens Reach. Cheap on the calling thread: the database is opened on
    /// Reach's worker thread.
    #[uniffi::constructor]
    pub fn new(
        config: ReachConfig,
        log_sink: Option<Arc<dyn LogSink>>,
    ) -> Result<Arc<Self>, ReachError> {
        let tracker = Tracker::open(config.into(), Arc::new(SystemClock), adapt(log_sink))?;
        Ok(Arc::new(Reach { tracker }))
    }

    /// Records an event. Never blocks on disk. Bad input is logged and counted
    /// in `diagnostics()`; in strict mode it throws instead.
    pub fn track(
        &self,
        name: String,
        properties: HashMap<String, PropertyValue>,
    ) -> Result<(), ReachError> {
        Ok(self.tracker.track(name, types::properties(properties))?)
    }

    /// Applies calls the wrapper queued on its callers' threads, in order,
    /// each stamped with the time it was made: the wrappers' `track()` costs
    /// an enqueue, and one FFI crossing carries many calls. Never throws; a
    /// refused call is logged and counted as in non-strict mode (strict
    /// wrappers use the direct calls, so the error reaches the caller).
    pub fn apply_calls(&self, calls: Vec<QueuedCall>) {
        self.tracker
            .apply_calls(calls.into_iter().map(Into::into).collect());
    }

    /// For background work (WorkManager, `BGTaskScheduler`): commits what is
    /// queued, uploads what is stored, once, and returns how many events the
    /// server acknowledged, how many remain, and why it stopped, waiting at
    /// most `timeout_ms`. Blocks on the network: never call it on the UI
    /// thread.
    pub fn upload_now(&self, timeout_ms: u64) -> UploadOutcome {
        self.tracker
            .upload_now(std::time::Duration::from_millis(timeout_ms))
            .into()
    }

    /// Records a screen view.
    pub fn screen(
        &self,
        name: String,
        properties: HashMap<String, PropertyValue>,
    ) -> Result<(), ReachError> {
        Ok(self.tracker.screen(name, types::properties(properties))?)
    }

    pub fn identify(&self, user_id: String) -> Result<(), ReachError> {
        Ok(self.tracker.identify(user_id)?)
    }

    pub fn set_user_properties(
        &self,
        properties: HashMap<String, PropertyValue>,
    ) -> Result<(), ReachError> {
        Ok(self
            .tracker
            .set_user_properties(types::properties(properties))?)
    }

    pub fn unset_user_properties(&self, keys: Vec<String>) -> Result<(), ReachError> {
        Ok(self.tracker.unset_user_properties(keys)?)
    }

    /// Logout: new anonymous id, user id and user properties cleared.
    pub fn reset(&self) -> Result<(), ReachError> {
        Ok(self.tracker.reset()?)
    }

    pub fn set_consent(&self, consent: Consent) -> Result<(), ReachError> {
        Ok(self.tracker.set_consent(consent.into())?)
    }

    pub fn consent(&self) -> Consent {
        self.tracker.consent().into()
    }

    pub fn delete_local_data(&self) -> Result<(), ReachError> {
        Ok(self.tracker.delete_local_data()?)
    }

    /// Waits (at most the flush timeout) until everything tracked before is
    /// on disk, then (with a server configured) starts an upload in the
    /// background. Returns whether the commit completed. Never waits for the
    /// network.
    pub fn flush(&self) -> bool {
        self.tracker.flush()
    }

    pub fn on_foreground(&self) -> Result<(), ReachError> {
        Ok(self.tracker.on_foreground()?)
    }

    /// The device's current IANA timezone; the wrappers call it right before
    /// `on_foreground()`, so a zone changed while the app ran takes effect.
    pub fn set_timezone(&self, timezone: String) -> Result<(), ReachError> {
        Ok(self.tracker.set_timezone(timezone)?)
    }

    /// Like `flush()`, after noting the time the app left the foreground.
    pub fn on_background(&self) -> bool {
        self.tracker.on_background()
    }

    /// Flushes (bounded), stops the worker and frees the data directory.
    pub fn close(&self) -> bool {
        self.tracker.close()
    }

    pub fn diagnostics(&self) -> Diagnostics {
        self.tracker.diagnostics().into()
    }

    pub fn set_log_sink(&self, sink: Option<Arc<dyn LogSink>>) {
        self.tracker.set_log_sink(adapt(sink));
    }

    /// Validates and activates a rule pack; a refused pack throws
    /// `InvalidRulePack` naming the offending field, and the active pack
    /// keeps serving. The active pack is persisted for offline use.
    pub fn load_rule_pack(&self, json: String) -> Result<(), ReachError> {
        Ok(self.tracker.load_rule_pack(&json)?)
    }

    /// Sets the presenter that shows popups (or removes it with null).
    pub fn set_popup_presenter(
        &self,
        presenter: Option<Arc<dyn PopupPresenter>>,
    ) -> Result<(), ReachError> {
        let p = presenter
            .map(|p| Arc::new(popup::ForeignPresenter(p)) as Arc<dyn crate::popup::Presenter>);
        Ok(self.tracker.set_presenter(p)?)
    }

    /// Sets the client that claims prizes for campaigns with an inventory
    /// (or removes it with null: such campaigns follow their offline policy).
    pub fn set_claim_client(&self, client: Option<Arc<dyn ClaimClient>>) -> Result<(), ReachError> {
        let c = client.map(|c| {
            Arc::new(campaigns::ForeignClaimClient(c)) as Arc<dyn crate::claim::ClaimClient>
        });
        Ok(self.tracker.set_claim_client(c)?)
    }

    /// Why the campaign did or did not fire for its last matching event:
    /// the condition that failed with its values, the cap that blocked it,
    /// the variant, a pending delay. Waits for the worker (at most the flush
    /// timeout), so call it off the UI thread in production.
    /// Campaigns with a `local_notification` channel schedule through it
    /// when the app goes to the background with their delay pending.
    pub fn set_notification_scheduler(
        &self,
        scheduler: Option<Arc<dyn NotificationScheduler>>,
    ) -> Result<(), ReachError> {
        let s = scheduler.map(|s| {
            Arc::new(notification::ForeignScheduler(s))
                as Arc<dyn crate::notification::NotificationScheduler>
        });
        Ok(self.tracker.set_notification_scheduler(s)?)
    }

    /// The person tapped a notification Reach scheduled: the campaign's click.
    pub fn notification_tapped(&self, notification_id: String) -> Result<(), ReachError> {
        Ok(self.tracker.notification_tapped(notification_id)?)
    }

    /// Offers the campaign's popup now, as a test, whatever its schedule and
    /// caps (a debug build's QA screen); `variant` picks a variant's popup.
    /// Returns at once: `explain(campaign_id)` says why a preview could not
    /// be offered.
    #[uniffi::method(default(variant = None))]
    pub fn preview(&self, campaign_id: String, variant: Option<String>) -> Result<(), ReachError> {
        Ok(self.tracker.preview(campaign_id, variant)?)
    }

    pub fn explain(&self, campaign_id: String) -> Result<CampaignExplanation, ReachError> {
        Ok(self.tracker.explain(&campaign_id)?.into())
    }

    /// The popup of `offer_id` is on screen: an impression.
    pub fn popup_shown(&self, offer_id: String) -> Result<(), ReachError> {
        Ok(self.tracker.popup_shown(offer_id)?)
    }

    /// The person tapped button `button_id` of the popup.
    pub fn popup_clicked(&self, offer_id: String, button_id: String) -> Result<(), ReachError> {
        Ok(self.tracker.popup_clicked(offer_id, button_id)?)
    }

    /// The person closed the popup without acting.
    pub fn popup_dismissed(&self, offer_id: String) -> Result<(), ReachError> {
        Ok(self.tracker.popup_dismissed(offer_id)?)
    }
}
