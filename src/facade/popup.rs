//! The popup side of the facade: what the host's `PopupPresenter` receives
//! and answers.

use std::sync::Arc;

use super::types::PropertyValue;
use crate::popup::{self, Answer, OfferContent};
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PopupTemplate {
    Modal,
    Banner,
    Fullscreen,
    /// The host draws it from `payload` alone.
    Custom,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ButtonAction {
    /// Open this link in the app; report `popupClicked`.
    DeepLink { url: String },
    /// Close the popup; report `popupClicked` (Reach counts it as a dismiss).
    Dismiss,
    /// Reach records this event when the click is reported.
    TrackEvent { event: String },
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PopupButton {
    /// Report this id with `popupClicked`.
    pub id: String,
    /// Already localised for the device.
    pub text: String,
    pub action: ButtonAction,
}

/// A popup to show, localised for the device.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Popup {
    /// Pass it back with `popupShown`, `popupClicked`, `popupDismissed`.
    pub offer_id: String,
    pub campaign_id: String,
    pub variant: String,
    pub template: PopupTemplate,
    pub title: Option<String>,
    pub body: Option<String>,
    pub image_url: Option<String>,
    /// The image as a local file Reach downloaded (works offline); absent
    /// until it is cached. Valid while its pack is active.
    #[uniffi(default = None)]
    pub image_path: Option<String>,
    pub buttons: Vec<PopupButton>,
    pub payload: std::collections::HashMap<String, PropertyValue>,
    /// A preview or a test person's popup: a debug build may badge it.
    #[uniffi(default = false)]
    pub test: bool,
}

/// The host's answer to an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PresenterDecision {
    /// Show it now, then report `popupShown` (and later a click or dismiss).
    ShowNow,
    /// Not now (e.g. during checkout): offer again after `delay_ms`, or at the
    /// next foreground when absent. Nothing is counted meanwhile.
    Later { delay_ms: Option<u64> },
    /// Do not show it: nothing is counted; the decision is logged.
    Discard,
}

/// Implemented by the app: shows Reach's popups. Called on Reach's presenter
/// thread, never on the UI thread; hop to the UI thread to draw.
#[uniffi::export(with_foreign)]
pub trait PopupPresenter: Send + Sync {
    fn offer(&self, popup: Popup) -> Result<PresenterDecision, super::CallbackError>;
}

pub(super) struct ForeignPresenter(pub Arc<dyn PopupPresenter>);

fn property(v: &Value) -> PropertyValue {
    match v.clone() {
        Value::String(value) => PropertyValue::StringValue { value },
        Value::Int(value) => PropertyValue::IntValue { value },
        Value::Float(value) => PropertyValue::FloatValue { value },
        Value::Bool(value) => PropertyValue::BoolValue { value },
        Value::Timestamp(epoch_ms) => PropertyValue::TimestampValue { epoch_ms },
        Value::StringList(values) => PropertyValue::StringListValue { values },
        Value::Unsupported(type_name) => PropertyValue::UnsupportedValue { type_name },
    }
}

impl From<&OfferContent> for Popup {
    fn from(c: &OfferContent) -> Popup {
        Popup {
            offer_id: c.offer_id.clone(),
            campaign_id: c.campaign_id.clone(),
            variant: c.variant.clone(),
            template: match c.template {
                crate::rules::Template::Modal => PopupTemplate::Modal,
                crate::rules::Template::Banner => PopupTemplate::Banner,
                crate::rules::Template::Fullscreen => PopupTemplate::Fullscreen,
                crate::rules::Template::Custom => PopupTemplate::Custom,
            },
            title: c.title.clone(),
            body: c.body.clone(),
            image_url: c.image_url.clone(),
            image_path: c.image_path.clone(),
            buttons: c
                .buttons
                .iter()
                .map(|b| PopupButton {
                    id: b.id.clone(),
                    text: b.text.clone(),
                    action: match &b.action {
                        popup::ButtonAction::DeepLink { url } => {
                            ButtonAction::DeepLink { url: url.clone() }
                        }
                        popup::ButtonAction::Dismiss => ButtonAction::Dismiss,
                        popup::ButtonAction::TrackEvent { event } => ButtonAction::TrackEvent {
                            event: event.clone(),
                        },
                    },
                })
                .collect(),
            payload: c
                .payload
                .iter()
                .map(|(k, v)| (k.clone(), property(v)))
                .collect(),
            test: c.test,
        }
    }
}

impl popup::Presenter for ForeignPresenter {
    fn offer(&self, content: &OfferContent) -> Result<Answer, String> {
        match self.0.offer(content.into()) {
            Ok(PresenterDecision::ShowNow) => Ok(Answer::ShowNow),
            Ok(PresenterDecision::Later { delay_ms }) => Ok(Answer::Later { delay_ms }),
            Ok(PresenterDecision::Discard) => Ok(Answer::Discard),
            Err(e) => Err(e.to_string()),
        }
    }
}
