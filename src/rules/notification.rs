//! A campaign's channels: in-app only (the default), or in-app with a local
//! notification as fallback (`"channels": ["in_app", "local_notification"]`)
//! and the notification's text.
//!
//! The fallback is for delayed campaigns ("come back in 30 min"): a popup
//! only reaches a person who reopens the app in time; the OS notification
//! reaches one who does not. So `local_notification` needs a `delay`, and
//! the notification's texts are plain (no `{{…}}`: the values a popup's
//! personal text takes are read at the trigger, which a notification
//! scheduled at the app's background would have to keep).

use super::error::FieldError;
use super::locale::Locale;
use super::popup::Text;
use super::reader::{Node, Object};
use super::text_template;

/// A campaign's local notification: what the OS shows at the delay's due time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalNotification {
    pub title: Text,
    pub body: Option<Text>,
}

/// Reads `channels` and `notification` from a campaign; `None` for an
/// in-app-only campaign. `has_delay`: the campaign has a `delay`.
pub(crate) fn read_channels(
    object: &Object,
    has_delay: bool,
    default_locale: Option<&Locale>,
) -> Result<Option<LocalNotification>, FieldError> {
    let mut local = false;
    if let Some(node) = object.get("channels") {
        let mut in_app = false;
        for item in node.non_empty_elements()? {
            match item.str()? {
                "in_app" if !in_app => in_app = true,
                "local_notification" if !local => local = true,
                "in_app" | "local_notification" => {
                    return Err(item.error("listed twice"));
                }
                other => {
                    return Err(item.error(format!(
                        "unknown channel \"{other}\" (expected one of: in_app, local_notification)"
                    )))
                }
            }
        }
        if !in_app {
            return Err(
                node.error("must list \"in_app\": a local notification is the fallback of a popup")
            );
        }
        if local && !has_delay {
            return Err(node.error(
                "\"local_notification\" needs a \"delay\": it stands in for a delayed popup the person was not there for",
            ));
        }
    }
    let notification = object.get("notification");
    match (local, notification) {
        (false, None) => Ok(None),
        (false, Some(n)) => Err(n.error(
            "needs \"channels\": [\"in_app\", \"local_notification\"]; only then is a notification sent",
        )),
        (true, None) => Err(object.node().error(
            "missing required key \"notification\" (the channels list \"local_notification\")",
        )),
        (true, Some(n)) => {
            let fields = n.object(&["title", "body"])?;
            let text = |node: Node| -> Result<Text, FieldError> {
                let text = Text::read(&node, default_locale)?;
                if text
                    .all_texts()
                    .any(|t| !text_template::placeholders(t).is_empty())
                {
                    return Err(node.error(
                        "a notification's text is plain: {{…}} values are not available when it is scheduled",
                    ));
                }
                Ok(text)
            };
            Ok(Some(LocalNotification {
                title: text(fields.required("title")?)?,
                body: fields.optional("body", text)?,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::RulePack;
    use serde_json::json;

    fn campaign(extra: serde_json::Value) -> Result<RulePack, String> {
        let mut c = json!({"id": "cart", "trigger": {"event": "add_to_cart"},
                           "popup": {"template": "modal", "title": "Still thinking?"}});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        RulePack::parse(&json!({"format": "1.1", "campaigns": [c]}).to_string())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_delayed_campaign_may_fall_back_to_a_local_notification() {
        let pack = campaign(json!({"delay": {"after": "30m"},
            "channels": ["in_app", "local_notification"],
            "notification": {"title": "Your cart misses you"}}))
        .unwrap();
        let n = pack.campaigns()[0].notification.as_ref().unwrap();
        assert_eq!(n.title.default_text(), "Your cart misses you");
        assert_eq!(n.body, None);
        let plain = campaign(json!({"channels": ["in_app"]})).unwrap();
        assert_eq!(plain.campaigns()[0].notification, None);
    }

    #[test]
    fn channels_that_cannot_work_are_refused_with_the_path() {
        let note = json!({"title": "t"});
        for (extra, expected) in [
            (
                json!({"channels": ["in_app", "local_notification"], "notification": note}),
                "campaigns[0].channels: \"local_notification\" needs a \"delay\"",
            ),
            (
                json!({"delay": {"after": "30m"}, "channels": ["local_notification"],
                       "notification": note}),
                "campaigns[0].channels: must list \"in_app\"",
            ),
            (
                json!({"channels": ["in_app", "sms"]}),
                "campaigns[0].channels[1]: unknown channel \"sms\"",
            ),
            (
                json!({"channels": ["in_app", "in_app"]}),
                "campaigns[0].channels[1]: listed twice",
            ),
            (
                json!({"delay": {"after": "30m"}, "notification": note}),
                "campaigns[0].notification: needs \"channels\"",
            ),
            (
                json!({"delay": {"after": "30m"}, "channels": ["in_app", "local_notification"]}),
                "campaigns[0]: missing required key \"notification\"",
            ),
            (
                json!({"delay": {"after": "30m"}, "channels": ["in_app", "local_notification"],
                       "notification": {"title": "Hi {{user.first_name | \"there\"}}"}}),
                "campaigns[0].notification.title: a notification's text is plain",
            ),
        ] {
            let e = campaign(extra.clone()).unwrap_err();
            assert!(e.contains(expected), "{extra}: {e}");
        }
    }
}
