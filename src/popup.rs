//! Popup delivery: what Reach hands the host's presenter, what the host
//! answers, and the state of the one offer in flight.
//!
//! The presenter is called on Reach's own `reach-presenter` thread, never on
//! the worker (a slow host must not stall recording) and never on the caller's
//! thread. The worker persists an offer (and commits) before the presenter is
//! called, so a kill between the two can lose that one offer but never show
//! it twice.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

use crate::rules::text_template;
use crate::rules::{Action, Campaign, Locale, Popup, Template, Text};
use crate::value::{Properties, Value};

/// How long the host may take to answer an offer, and then to report the
/// popup shown, before Reach counts it as shown: caps err on the side of the
/// user, so a host that forgets to report never causes a repeat.
pub const REPORT_TIMEOUT_MS: i64 = 30_000;

/// A shown popup holds the single offer slot until clicked or dismissed, or
/// for this long: enough for a person to read it, short enough that a host
/// that never reports the dismiss does not silence Reach for the session.
pub const SHOWN_SLOT_MS: i64 = 10 * 60_000;

/// A popup the host deferred (`later`) is re-offered when due or at the next
/// foreground, but not after this long: a day-old trigger is stale.
pub const DEFERRED_TTL_MS: i64 = 24 * 3_600_000;

/// The variant of a campaign without variants.
pub const DEFAULT_VARIANT: &str = "default";

/// How long a prize claim may take before the campaign's offline policy
/// decides: the HTTP client gives up sooner; this guards a host-supplied
/// client that never returns from holding the popup slot.
pub const CLAIM_TIMEOUT_MS: i64 = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub enum ButtonAction {
    DeepLink { url: String },
    Dismiss,
    TrackEvent { event: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ButtonContent {
    pub id: String,
    pub text: String,
    pub action: ButtonAction,
}

/// A popup, localised for the device, as the presenter receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferContent {
    pub offer_id: String,
    pub campaign_id: String,
    pub variant: String,
    pub template: Template,
    pub title: Option<String>,
    pub body: Option<String>,
    pub image_url: Option<String>,
    /// The image's file in Reach's cache, once downloaded (set by the
    /// worker, which knows the cache; `render_popup` leaves it `None`).
    pub image_path: Option<String>,
    pub buttons: Vec<ButtonContent>,
    pub payload: Vec<(String, Value)>,
    /// A test person's offer or a preview (set by the worker): a host may
    /// mark it as such on screen.
    pub test: bool,
}

impl OfferContent {
    /// Renders one of the campaign's popups (its own, a variant's, or the
    /// sold-out one).
    pub fn render_popup(
        campaign: &Campaign,
        p: &Popup,
        offer_id: &str,
        variant: &str,
        locale: &Locale,
        text_values: &[(String, String)],
    ) -> Result<OfferContent, MissingValue> {
        let personal = |t: &Text| {
            text_template::render(t.resolve(locale), |key| {
                text_values
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.as_str())
            })
            .map_err(MissingValue)
        };
        let mut buttons = Vec::with_capacity(p.buttons.len());
        for b in &p.buttons {
            buttons.push(ButtonContent {
                id: b.id.clone(),
                text: personal(&b.text)?,
                action: match &b.action {
                    Action::DeepLink { url } => ButtonAction::DeepLink { url: url.clone() },
                    Action::Dismiss => ButtonAction::Dismiss,
                    Action::TrackEvent { event, .. } => ButtonAction::TrackEvent {
                        event: event.clone(),
                    },
                },
            });
        }
        Ok(OfferContent {
            offer_id: offer_id.to_owned(),
            campaign_id: campaign.id.clone(),
            variant: variant.to_owned(),
            template: p.template,
            title: p.title.as_ref().map(personal).transpose()?,
            body: p.body.as_ref().map(personal).transpose()?,
            image_url: p.image_url.clone(),
            image_path: None,
            buttons,
            payload: p
                .payload
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            test: false,
        })
    }
}

/// A popup's text needs a value (`user.first_name`) the person or the
/// triggering event does not have, and gives no fallback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingValue(pub String);

impl std::fmt::Display for MissingValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "its text needs {0}, which is not set, and gives no fallback \
             (write {{{{{0} | \"...\"}}}} to show it anyway)",
            self.0
        )
    }
}

/// The values a campaign's popups (main, variants, sold-out) need, looked
/// up once when the campaign is exposed and kept with the offer, so a
/// deferred or restored offer shows the same text.
pub fn text_values_for(
    campaign: &Campaign,
    user: &Properties,
    event: &[(String, Value)],
) -> Vec<(String, String)> {
    let popups = std::iter::once(&campaign.popup)
        .chain(
            campaign
                .variants
                .iter()
                .flat_map(|v| v.arms.iter().filter_map(|a| a.popup.as_ref())),
        )
        .chain(
            campaign
                .inventory
                .iter()
                .filter_map(|i| i.sold_out.as_ref()),
        );
    let mut out: Vec<(String, String)> = Vec::new();
    for text in popups.flat_map(Popup::texts) {
        for p in text_template::placeholders(text) {
            let key = p.key();
            if out.iter().any(|(k, _)| *k == key) {
                continue;
            }
            let value = match p.source {
                text_template::Source::User => user.get(p.name),
                text_template::Source::Event => {
                    event.iter().find(|(k, _)| k == p.name).map(|(_, v)| v)
                }
            };
            if let Some(v) = value.and_then(plain_text) {
                out.push((key, v));
            }
        }
    }
    out
}

/// A property as a person reads it; lists and unsupported values have no
/// text form and count as missing.
fn plain_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Timestamp(ms) => Some(crate::rfc3339::rfc3339_ms(*ms)),
        Value::StringList(_) | Value::Unsupported(_) => None,
    }
}

/// Which of a campaign's popups an offer shows: the sold-out popup when
/// `sold_out`, else the variant's own popup, else the campaign's.
pub fn popup_for<'c>(campaign: &'c Campaign, variant: &str, sold_out: bool) -> &'c Popup {
    if sold_out {
        if let Some(p) = campaign
            .inventory
            .as_ref()
            .and_then(|i| i.sold_out.as_ref())
        {
            return p;
        }
    }
    campaign
        .variants
        .as_ref()
        .and_then(|v| v.arms.iter().find(|a| a.id == variant))
        .and_then(|a| a.popup.as_ref())
        .unwrap_or(&campaign.popup)
}

/// The host's answer to an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    ShowNow,
    /// Re-offer after this delay, or at the next foreground when `None`.
    Later {
        delay_ms: Option<u64>,
    },
    /// Not now, not later: nothing is counted.
    Discard,
}

/// What the host reports about a popup it showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    Shown,
    Clicked { button_id: String },
    Dismissed,
}

/// Implemented by the host (through the facade) or by tests. An error (the
/// host's code threw) is logged and treated as a discard.
pub trait Presenter: Send + Sync {
    fn offer(&self, content: &OfferContent) -> Result<Answer, String>;
}

/// Where the one offer in flight stands. Persisted (as JSON in `meta`) with
/// every change, in the same commit as the decision that made it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OfferState {
    /// Waiting for the prize claim's answer (the presenter is not asked yet).
    Claiming { since_ms: i64 },
    /// Handed to the presenter; no answer yet.
    Offered { at_ms: i64 },
    /// The host answered "show now"; waiting for its `shown` report.
    Showing { since_ms: i64 },
    /// Counted as an impression; waiting for click or dismiss.
    Shown { at_ms: i64 },
    /// The host answered "later".
    Deferred {
        offered_ms: i64,
        until_ms: Option<i64>,
    },
}

/// Where an offer stands, in words (for `explain()`).
impl std::fmt::Display for OfferState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = crate::rfc3339::rfc3339_ms;
        match self {
            OfferState::Claiming { since_ms } => {
                write!(f, "waiting for the prize claim since {}", at(*since_ms))
            }
            OfferState::Offered { at_ms } => {
                write!(f, "offered to the app at {}, no answer yet", at(*at_ms))
            }
            OfferState::Showing { since_ms } => write!(
                f,
                "the app is showing it since {}, its shown report has not come",
                at(*since_ms)
            ),
            OfferState::Shown { at_ms } => {
                write!(f, "shown at {}, not yet clicked or dismissed", at(*at_ms))
            }
            OfferState::Deferred {
                offered_ms,
                until_ms,
            } => match until_ms {
                Some(u) => write!(
                    f,
                    "offered at {}, the app asked to wait until {}",
                    at(*offered_ms),
                    at(*u)
                ),
                None => write!(f, "offered at {}, the app said later", at(*offered_ms)),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InFlight {
    pub offer_id: String,
    pub campaign_id: String,
    pub variant: String,
    pub state: OfferState,
    /// The prize claim of a campaign with inventory.
    #[serde(default)]
    pub claim: Option<ClaimTicket>,
    /// Shows the campaign's sold-out popup.
    #[serde(default)]
    pub sold_out: bool,
    /// The values its personal text needs (`user.first_name` → "Lin"),
    /// taken when the campaign was exposed.
    #[serde(default)]
    pub text_values: Vec<(String, String)>,
    /// A test person's offer, or a preview: its events carry `"test": true`.
    #[serde(default)]
    pub test: bool,
    /// Made by `preview()`: shown whatever the caps, counted in none.
    #[serde(default)]
    pub preview: bool,
}

/// A claim made for an offer: its idempotency key (stored before the call,
/// so a retry can never take a second prize) and, once granted, the prize.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClaimTicket {
    pub key: String,
    pub claim_id: Option<String>,
}

/// What the timer says about the offer in flight at `now_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Nothing,
    /// No answer or no report in time: count it as shown.
    CountAsShown,
    /// The slot is free again (shown long enough ago).
    Release,
    /// A deferred offer is due again.
    Reoffer,
    /// A deferred offer is too old.
    Expire,
    /// The prize claim did not answer in time.
    ClaimTimeout,
}

impl InFlight {
    /// A new offer of `campaign_id`'s `variant`, made at `at_ms`: no claim,
    /// not sold out, no flags.
    pub fn offered(
        offer_id: String,
        campaign_id: String,
        variant: String,
        at_ms: i64,
        text_values: Vec<(String, String)>,
    ) -> InFlight {
        InFlight {
            offer_id,
            campaign_id,
            variant,
            state: OfferState::Offered { at_ms },
            claim: None,
            sold_out: false,
            text_values,
            test: false,
            preview: false,
        }
    }

    pub fn due(&self, now_ms: i64, foreground: bool) -> Due {
        match self.state {
            OfferState::Claiming { since_ms } if now_ms - since_ms >= CLAIM_TIMEOUT_MS => {
                Due::ClaimTimeout
            }
            OfferState::Offered { at_ms } if now_ms - at_ms >= REPORT_TIMEOUT_MS => {
                Due::CountAsShown
            }
            OfferState::Showing { since_ms } if now_ms - since_ms >= REPORT_TIMEOUT_MS => {
                Due::CountAsShown
            }
            OfferState::Shown { at_ms } if now_ms - at_ms >= SHOWN_SLOT_MS => Due::Release,
            OfferState::Deferred { offered_ms, .. } if now_ms - offered_ms >= DEFERRED_TTL_MS => {
                Due::Expire
            }
            OfferState::Deferred {
                until_ms: Some(until),
                ..
            } if now_ms >= until && foreground => Due::Reoffer,
            _ => Due::Nothing,
        }
    }

    /// The next time `due` may change, for the worker's timer. A deferred
    /// offer is only re-offered in the foreground, so in the background only
    /// its expiry is a deadline (the `Foreground` command wakes the worker).
    pub fn next_deadline(&self, foreground: bool) -> Option<i64> {
        match self.state {
            OfferState::Claiming { since_ms } => Some(since_ms + CLAIM_TIMEOUT_MS),
            OfferState::Offered { at_ms } => Some(at_ms + REPORT_TIMEOUT_MS),
            OfferState::Showing { since_ms } => Some(since_ms + REPORT_TIMEOUT_MS),
            OfferState::Shown { at_ms } => Some(at_ms + SHOWN_SLOT_MS),
            OfferState::Deferred {
                offered_ms,
                until_ms,
            } => {
                let expiry = offered_ms + DEFERRED_TTL_MS;
                Some(match until_ms {
                    Some(u) if foreground => u.min(expiry),
                    _ => expiry,
                })
            }
        }
    }
}

/// The presenter thread: takes offers from the worker, asks the host, and
/// sends the answer back as a worker command built by `answer_to_command`.
pub struct PresenterThread {
    offers: Option<Sender<OfferContent>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

/// How long replacing a presenter waits for the old one still running: the
/// host's `offer()` should return at once (it only schedules UI work).
const PRESENTER_JOIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

impl PresenterThread {
    /// `back` hands a command to the worker; false once the worker is gone.
    pub fn spawn<C, B, F>(
        presenter: Arc<dyn Presenter>,
        back: B,
        answer_to_command: F,
    ) -> std::io::Result<PresenterThread>
    where
        C: Send + 'static,
        B: Fn(C) -> bool + Send + 'static,
        F: Fn(String, Result<Answer, String>) -> C + Send + 'static,
    {
        let (offers, rx): (Sender<OfferContent>, Receiver<OfferContent>) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("reach-presenter".into())
            .spawn(move || {
                for content in rx {
                    // A host presenter that panics is a discard, not a crash.
                    let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        presenter.offer(&content)
                    }))
                    .unwrap_or_else(|_| Err("the presenter panicked".into()));
                    if !back(answer_to_command(content.offer_id, answer)) {
                        break;
                    }
                }
            })?;
        Ok(PresenterThread {
            offers: Some(offers),
            handle: Some(handle),
        })
    }

    /// Hands an offer over; false when the thread is gone.
    pub fn offer(&self, content: OfferContent) -> bool {
        self.offers
            .as_ref()
            .is_some_and(|o| o.send(content).is_ok())
    }
}

impl PresenterThread {
    /// Stops the thread and waits up to `timeout` for a host `offer()` still
    /// running, so that Reach never calls into the host after `close()`
    /// returns in time. Returns whether the thread ended.
    pub fn shutdown(mut self, timeout: std::time::Duration) -> bool {
        self.stop(timeout)
    }

    fn stop(&mut self, timeout: std::time::Duration) -> bool {
        self.offers = None;
        self.handle
            .take()
            .is_none_or(|handle| crate::thread::join_within(handle, timeout))
    }
}

impl Drop for PresenterThread {
    fn drop(&mut self) {
        self.stop(PRESENTER_JOIN_TIMEOUT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offer_state_reads_in_words() {
        let text = OfferState::Deferred {
            offered_ms: 0,
            until_ms: Some(60_000),
        }
        .to_string();
        assert_eq!(
            text,
            "offered at 1970-01-01T00:00:00.000Z, the app asked to wait until 1970-01-01T00:01:00.000Z"
        );
        let text = OfferState::Claiming { since_ms: 0 }.to_string();
        assert!(text.starts_with("waiting for the prize claim"), "{text}");
        assert!(!text.contains('{'), "{text}");
    }

    fn deferred(until_ms: Option<i64>) -> InFlight {
        InFlight {
            offer_id: "o".into(),
            campaign_id: "c".into(),
            variant: DEFAULT_VARIANT.into(),
            state: OfferState::Deferred {
                offered_ms: 0,
                until_ms,
            },
            claim: None,
            sold_out: false,
            text_values: Vec::new(),
            test: false,
            preview: false,
        }
    }

    #[test]
    fn a_deferred_offer_in_the_background_only_wakes_the_worker_for_its_expiry() {
        // A past `until` in the background must not be a deadline, or the
        // worker would spin until the next foreground.
        let f = deferred(Some(200));
        assert_eq!(f.next_deadline(false), Some(DEFERRED_TTL_MS));
        assert_eq!(f.next_deadline(true), Some(200));
        assert_eq!(f.due(1_000, false), Due::Nothing);
        assert_eq!(f.due(1_000, true), Due::Reoffer);
        assert_eq!(f.due(DEFERRED_TTL_MS, false), Due::Expire);
    }

    #[test]
    fn offers_without_answers_or_reports_count_as_shown_after_the_timeout() {
        let mut f = deferred(None);
        f.state = OfferState::Offered { at_ms: 0 };
        assert_eq!(f.due(REPORT_TIMEOUT_MS - 1, true), Due::Nothing);
        assert_eq!(f.due(REPORT_TIMEOUT_MS, true), Due::CountAsShown);
        f.state = OfferState::Shown { at_ms: 0 };
        assert_eq!(f.due(SHOWN_SLOT_MS, false), Due::Release);
    }
}
