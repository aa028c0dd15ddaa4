//! What a campaign shows: a template, texts in several languages, an image,
//! buttons with actions, and a key/value payload for the host's own layouts.
//!
//! Reach never draws anything; the host's `PopupPresenter` renders this. A
//! text is either a plain string or a map from locale to string; a map must
//! hold the default locale (the popup's `default_locale`, else the pack's),
//! which is what a device whose locale has no translation sees.

use super::error::FieldError;
use super::locale::Locale;
use super::names::{read_id, read_name};
use super::reader::Node;
use super::text_template;
use crate::value::Properties;

/// Most buttons a popup may have: no template lays out more, and the cap
/// catches a pack that repeats its buttons by mistake.
pub const MAX_BUTTONS: usize = 4;

/// Most entries in a payload or a tracked event's properties. Hosts read a
/// handful of keys; every device holds every campaign's payload in memory.
pub const MAX_PAYLOAD_ENTRIES: usize = 100;

/// Events whose names start with this are Reach's own (`reach.popup.shown`);
/// an app event tracked by a button must not pose as one.
pub const RESERVED_EVENT_PREFIX: &str = "reach.";

/// Longest URL, in characters: what browsers and app-link handlers reliably
/// accept.
pub const MAX_URL_LEN: usize = 2_048;

/// Longest popup text (a title, body or button text, per locale), in
/// characters: far more than any popup shows, and it bounds what a hostile
/// or broken pack makes every device hold (up to 5,000 campaigns each).
pub const MAX_TEXT_CHARS: usize = 4_000;

/// Most translations of one text: more locales than any app ships.
pub const MAX_TRANSLATIONS: usize = 200;

/// Longest string in a payload or a button's event properties, and most
/// strings in one list there, for the same reason as `MAX_TEXT_CHARS`.
pub const MAX_PAYLOAD_STRING_CHARS: usize = 4_096;
pub const MAX_PAYLOAD_LIST_LEN: usize = 100;

/// What reading a popup takes from around it: the pack's default locale
/// and the app's own URL schemes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PopupContext<'a> {
    /// The pack's `default_locale`; a popup's own wins.
    pub default_locale: Option<&'a Locale>,
    /// The schemes the app's own links use (`Config::app_url_schemes`,
    /// without the colon). Empty: every scheme but [`REFUSED_URL_SCHEMES`]
    /// passes. Else a URL is `https:` or one of these.
    pub app_url_schemes: &'a [String],
}

/// A popup's content.
#[derive(Debug, Clone, PartialEq)]
pub struct Popup {
    pub template: Template,
    pub title: Option<Text>,
    pub body: Option<Text>,
    pub image_url: Option<String>,
    /// What happens while the image is not cached on the device yet.
    pub image_missing: ImageMissing,
    pub buttons: Vec<Button>,
    /// Free key/value data for the host (the whole content of a `custom` popup).
    pub payload: Properties,
}

/// A popup whose image is not on the device yet (not downloaded, failed,
/// or refused): shown without it, or held back until it is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageMissing {
    /// Offered with `image_path` absent; the host may load `image_url`
    /// itself or lay the popup out without it. What packs before this
    /// field got.
    #[default]
    ShowWithoutImage,
    /// Not offered until the image is cached: for popups that make no
    /// sense without it (a prize wheel drawn as a picture).
    HoldBack,
}

/// How the host lays the popup out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    Modal,
    Banner,
    Fullscreen,
    /// The host draws it from `payload` alone.
    Custom,
}

impl Template {
    pub fn name(self) -> &'static str {
        match self {
            Template::Modal => "modal",
            Template::Banner => "banner",
            Template::Fullscreen => "fullscreen",
            Template::Custom => "custom",
        }
    }
}

/// A button and what tapping it does. Every tap closes the popup.
#[derive(Debug, Clone, PartialEq)]
pub struct Button {
    /// Stable across translations; reported as `button_id`.
    pub id: String,
    pub text: Text,
    pub action: Action,
}

/// What a button does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Opens a link in the app (or a universal link). A click.
    DeepLink { url: String },
    /// Closes the popup. Reported and counted as a dismiss, not a click.
    Dismiss,
    /// Records an event, then closes. A click.
    TrackEvent {
        event: String,
        properties: Properties,
    },
}

/// A text, plain or with translations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// The same text for every locale.
    Plain(String),
    Translated {
        /// Every locale's text, sorted by locale.
        translations: Vec<(Locale, String)>,
        /// The index of the default locale's text.
        default: usize,
    },
}

impl Text {
    /// The text to show on a device in `locale`: its most specific translation
    /// (`zh-Hant-TW`, then `zh-Hant`, then `zh`), else the default locale's.
    pub fn resolve(&self, locale: &Locale) -> &str {
        let Text::Translated { translations, .. } = self else {
            return self.default_text();
        };
        locale
            .fallbacks()
            .find_map(|tag| {
                let i = translations
                    .binary_search_by(|(l, _)| l.as_str().cmp(tag))
                    .ok()?;
                Some(translations[i].1.as_str())
            })
            .unwrap_or_else(|| self.default_text())
    }

    /// Every text of every locale, for the placeholders they use.
    pub fn all_texts(&self) -> impl Iterator<Item = &str> {
        let (plain, translated) = match self {
            Text::Plain(t) => (Some(t.as_str()), &[][..]),
            Text::Translated { translations, .. } => (None, translations.as_slice()),
        };
        plain
            .into_iter()
            .chain(translated.iter().map(|(_, t)| t.as_str()))
    }

    /// The text in the default locale (or the only text).
    pub fn default_text(&self) -> &str {
        match self {
            Text::Plain(text) => text,
            Text::Translated {
                translations,
                default,
            } => &translations[*default].1,
        }
    }

    pub(crate) fn read(node: &Node, default_locale: Option<&Locale>) -> Result<Text, FieldError> {
        if node.is_string() {
            let text = node.non_empty_str()?;
            check_text_len(node, text)?;
            text_template::check(text).map_err(|m| node.error(m))?;
            return Ok(Text::Plain(text.to_owned()));
        }
        let map = node.map().map_err(|_| {
            node.error(format!(
                "expected a string or an object of translations, found {}",
                node.kind()
            ))
        })?;
        let Some(default_locale) = default_locale else {
            return Err(
                node.error("translations need a \"default_locale\" (on the popup or the pack)")
            );
        };
        if map.len() > MAX_TRANSLATIONS {
            return Err(node.error(format!("at most {MAX_TRANSLATIONS} translations")));
        }
        let mut translations: Vec<(Locale, String)> = Vec::with_capacity(map.len());
        for (key, value) in map.entries() {
            let locale = Locale::parse(key).map_err(|m| value.error(m))?;
            if translations.iter().any(|(l, _)| *l == locale) {
                return Err(value.error(format!(
                    "locale \"{key}\" appears twice (case does not count)"
                )));
            }
            let text = value.non_empty_str()?;
            check_text_len(&value, text)?;
            text_template::check(text).map_err(|m| value.error(m))?;
            translations.push((locale, text.to_owned()));
        }
        translations.sort_by(|a, b| a.0.cmp(&b.0));
        let default = translations
            .iter()
            .position(|(l, _)| l == default_locale)
            .ok_or_else(|| {
                node.error(format!(
                    "no text for the default locale \"{default_locale}\""
                ))
            })?;
        Ok(Text::Translated {
            translations,
            default,
        })
    }
}

impl Popup {
    /// Every text of the popup (title, body, buttons; every locale), for the
    /// placeholders they use.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.title
            .iter()
            .chain(self.body.iter())
            .chain(self.buttons.iter().map(|b| &b.text))
            .flat_map(Text::all_texts)
    }

    /// Reads a popup in its pack's context.
    pub(crate) fn read(node: Node, context: PopupContext) -> Result<Popup, FieldError> {
        let object = node.object(&[
            "template",
            "title",
            "body",
            "image_url",
            "image_missing",
            "buttons",
            "payload",
            "default_locale",
        ])?;
        let own_locale = object.optional("default_locale", |n| Locale::read(&n))?;
        let default_locale = own_locale.as_ref().or(context.default_locale);
        let schemes = context.app_url_schemes;
        let template_node = object.required("template")?;
        let template = match template_node.str()? {
            "modal" => Template::Modal,
            "banner" => Template::Banner,
            "fullscreen" => Template::Fullscreen,
            "custom" => Template::Custom,
            other => {
                return Err(template_node.error(format!(
                "unknown template \"{other}\" (expected one of: modal, banner, fullscreen, custom)"
            )))
            }
        };
        let text = |key: &str| object.optional(key, |n| Text::read(&n, default_locale));
        let popup = Popup {
            template,
            title: text("title")?,
            body: text("body")?,
            image_url: object.optional("image_url", |n| read_url(&n, schemes))?,
            image_missing: object
                .optional("image_missing", |n| read_image_missing(&n))?
                .unwrap_or_default(),
            buttons: object
                .optional("buttons", |n| read_buttons(&n, default_locale, schemes))?
                .unwrap_or_default(),
            payload: object
                .optional("payload", |n| read_properties(&n))?
                .unwrap_or_default(),
        };
        if popup.image_missing == ImageMissing::HoldBack
            && !popup.image_url.as_deref().is_some_and(|u| {
                u.get(..8)
                    .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
            })
        {
            // Only https images are downloaded: any other would hold the
            // popup back for ever.
            return Err(object
                .required("image_missing")?
                .error("\"hold_back\" needs an https \"image_url\" (only those are downloaded)"));
        }
        match template {
            Template::Custom if popup.payload.is_empty() => {
                Err(node.error("a custom popup needs a non-empty \"payload\""))
            }
            Template::Modal | Template::Banner | Template::Fullscreen
                if popup.title.is_none() && popup.body.is_none() =>
            {
                Err(node.error(format!(
                    "a {} popup needs a \"title\" or a \"body\"",
                    template.name()
                )))
            }
            _ => Ok(popup),
        }
    }
}

fn read_image_missing(node: &Node) -> Result<ImageMissing, FieldError> {
    match node.str()? {
        "show_without_image" => Ok(ImageMissing::ShowWithoutImage),
        "hold_back" => Ok(ImageMissing::HoldBack),
        other => Err(node.error(format!(
            "unknown value \"{other}\" (expected one of: show_without_image, hold_back)"
        ))),
    }
}

fn read_buttons(
    node: &Node,
    default_locale: Option<&Locale>,
    schemes: &[String],
) -> Result<Vec<Button>, FieldError> {
    let items = node.elements()?;
    if items.len() > MAX_BUTTONS {
        return Err(node.error(format!("a popup has at most {MAX_BUTTONS} buttons")));
    }
    let mut buttons: Vec<Button> = Vec::with_capacity(items.len());
    for item in items {
        let object = item.object(&["id", "text", "action"])?;
        let id_node = object.required("id")?;
        let id = read_id(&id_node)?;
        if buttons.iter().any(|b| b.id == id) {
            return Err(id_node.error(format!("duplicate button id \"{id}\"")));
        }
        buttons.push(Button {
            id: id.to_owned(),
            text: Text::read(&object.required("text")?, default_locale)?,
            action: read_action(object.required("action")?, schemes)?,
        });
    }
    Ok(buttons)
}

fn read_action(node: Node, schemes: &[String]) -> Result<Action, FieldError> {
    let outline = node.map()?;
    let kind_node = outline.required("type")?;
    match kind_node.str()? {
        "deep_link" => {
            let object = node.object(&["type", "url"])?;
            Ok(Action::DeepLink {
                url: read_url(&object.required("url")?, schemes)?,
            })
        }
        "dismiss" => {
            node.object(&["type"])?;
            Ok(Action::Dismiss)
        }
        "track_event" => {
            let object = node.object(&["type", "event", "properties"])?;
            let event_node = object.required("event")?;
            let event = read_name(&event_node)?;
            if event.starts_with(RESERVED_EVENT_PREFIX) {
                return Err(event_node.error(format!(
                    "event names starting with \"{RESERVED_EVENT_PREFIX}\" are Reach's own"
                )));
            }
            Ok(Action::TrackEvent {
                event: event.to_owned(),
                properties: object
                    .optional("properties", |n| read_properties(&n))?
                    .unwrap_or_default(),
            })
        }
        other => Err(kind_node.error(format!(
            "unknown action \"{other}\" (expected one of: deep_link, dismiss, track_event)"
        ))),
    }
}

/// An absolute URL: a scheme, a colon, then no blanks; never a refused
/// scheme, and with `app_schemes` given, `https:` or one of them.
fn read_url(node: &Node, app_schemes: &[String]) -> Result<String, FieldError> {
    let url = node.str()?;
    let scheme_ok = url.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !scheme_ok || url.chars().any(char::is_whitespace) || url.chars().count() > MAX_URL_LEN {
        return Err(node.error(format!(
            "invalid URL \"{url}\": expected an absolute URL like \"https://…\" or \"app://…\", without blanks"
        )));
    }
    let scheme = url.split_once(':').map_or("", |(s, _)| s);
    if let Some(why) = REFUSED_URL_SCHEMES
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(scheme))
        .map(|(_, why)| why)
    {
        return Err(node.error(format!(
            "the URL scheme \"{scheme}:\" is refused: {why}; use https or the app's own scheme"
        )));
    }
    let allowed = |s: &str| s.trim_end_matches(':').eq_ignore_ascii_case(scheme);
    if !app_schemes.is_empty() && !allowed("https") && !app_schemes.iter().any(|s| allowed(s)) {
        return Err(node.error(format!(
            "the URL scheme \"{scheme}:\" is neither https nor one of the app's own schemes ({})",
            app_schemes.join(", ")
        )));
    }
    Ok(url.to_owned())
}

/// URL schemes a popup may never carry, with the reason: script and inline
/// content a host's web view or link handler would run or render, local
/// files, and plain HTTP (readable and changeable on the way).
const REFUSED_URL_SCHEMES: [(&str, &str); 5] = [
    ("javascript", "it runs script"),
    ("vbscript", "it runs script"),
    ("data", "it carries inline content"),
    ("file", "it reads the device's files"),
    ("http", "plain HTTP can be read and changed on the way"),
];

fn check_text_len(node: &Node, text: &str) -> Result<(), FieldError> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(node.error(format!("a text has at most {MAX_TEXT_CHARS} characters")));
    }
    Ok(())
}

/// Key/value data: strings, numbers, booleans or lists of strings.
fn read_properties(node: &Node) -> Result<Properties, FieldError> {
    let map = node.map()?;
    if map.len() > MAX_PAYLOAD_ENTRIES {
        return Err(node.error(format!("at most {MAX_PAYLOAD_ENTRIES} entries")));
    }
    let mut out = Properties::new();
    for (key, value) in map.entries() {
        if key.is_empty() {
            return Err(value.error("keys must not be empty"));
        }
        let v = value.property_value().ok_or_else(|| {
            value.error(format!(
                "expected a string, number, boolean or list of strings, found {}",
                value.kind()
            ))
        })?;
        let too_long = |t: &String| t.chars().count() > MAX_PAYLOAD_STRING_CHARS;
        match &v {
            crate::value::Value::String(t) if too_long(t) => {
                return Err(value.error(format!(
                    "a string has at most {MAX_PAYLOAD_STRING_CHARS} characters"
                )));
            }
            crate::value::Value::StringList(l) if l.len() > MAX_PAYLOAD_LIST_LEN => {
                return Err(
                    value.error(format!("a list has at most {MAX_PAYLOAD_LIST_LEN} strings"))
                );
            }
            crate::value::Value::StringList(l) if l.iter().any(too_long) => {
                return Err(value.error(format!(
                    "a string has at most {MAX_PAYLOAD_STRING_CHARS} characters"
                )));
            }
            _ => {}
        }
        out.insert(key.to_owned(), v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use crate::value::Value;
    use serde_json::json;

    fn popup(json: serde_json::Value) -> Result<Popup, String> {
        Popup::read(Node::root(&Document::from(json)), PopupContext::default())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn lottery_popup_from_scenario_01() {
        let p = popup(json!({
            "template": "modal",
            "title": "New member lottery",
            "buttons": [
                {"id": "draw", "text": "Draw now", "action": {"type": "deep_link", "url": "app://lottery"}},
                {"id": "later", "text": "Later", "action": {"type": "dismiss"}}
            ]
        }))
        .unwrap();
        assert_eq!(p.template, Template::Modal);
        assert_eq!(
            p.buttons[0].action,
            Action::DeepLink {
                url: "app://lottery".into()
            }
        );
        assert_eq!(p.buttons[1].action, Action::Dismiss);
    }

    #[test]
    fn translations_fall_back_to_the_default_locale() {
        let p = popup(json!({
            "template": "banner",
            "default_locale": "en",
            "title": {"en": "Lottery", "zh": "抽奖", "zh-Hant": "抽獎"},
        }))
        .unwrap();
        let title = p.title.unwrap();
        let shown = |device: &str| title.resolve(&Locale::from_device(device)).to_owned();
        assert_eq!(shown("zh_CN"), "抽奖");
        assert_eq!(shown("zh-Hant-TW"), "抽獎");
        assert_eq!(shown("en_US"), "Lottery");
        assert_eq!(shown("fr"), "Lottery");
        assert_eq!(shown(""), "Lottery");
    }

    #[test]
    fn the_pack_default_locale_applies_unless_the_popup_names_one() {
        let json = json!({"template": "modal", "title": {"zh-CN": "抽奖"}});
        let zh = Locale::parse("zh-CN").unwrap();
        fn with(locale: &Locale) -> PopupContext<'_> {
            PopupContext {
                default_locale: Some(locale),
                app_url_schemes: &[],
            }
        }
        assert!(Popup::read(Node::root(&Document::from(json.clone())), with(&zh)).is_ok());
        let en = Locale::parse("en").unwrap();
        let e = Popup::read(Node::root(&Document::from(json.clone())), with(&en)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "title: no text for the default locale \"en\""
        );
        assert!(popup(json)
            .unwrap_err()
            .contains("need a \"default_locale\""));
    }

    #[test]
    fn custom_popups_carry_a_payload() {
        let p = popup(
            json!({"template": "custom", "payload": {"layout": "wheel", "slots": 8,
                                                               "prizes": ["a", "b"]}}),
        )
        .unwrap();
        assert_eq!(p.payload.get("slots"), Some(&Value::Int(8)));
        assert!(popup(json!({"template": "custom"}))
            .unwrap_err()
            .contains("payload"));
        assert!(popup(json!({"template": "custom", "payload": {"a": null}})).is_err());
        assert!(popup(json!({"template": "custom", "payload": {"a": {"b": 1}}})).is_err());
    }

    #[test]
    fn hostile_sizes_are_refused_with_the_path() {
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        let e = popup(json!({"template": "modal", "title": long})).unwrap_err();
        assert!(
            e.starts_with("title:") && e.contains("at most 4000 characters"),
            "{e}"
        );
        let fine = "x".repeat(MAX_TEXT_CHARS);
        popup(json!({"template": "modal", "title": fine})).unwrap();

        let many: serde_json::Map<String, serde_json::Value> = (0..=MAX_TRANSLATIONS)
            .map(|i| (format!("x-l{i}"), json!("t")))
            .collect();
        let e =
            popup(json!({"template": "modal", "default_locale": "en", "title": many})).unwrap_err();
        assert!(
            e.starts_with("title:") && e.contains("at most 200 translations"),
            "{e}"
        );

        let e = popup(json!({"template": "custom",
            "payload": {"k": "y".repeat(MAX_PAYLOAD_STRING_CHARS + 1)}}))
        .unwrap_err();
        assert!(
            e.starts_with("payload.k:") && e.contains("4096 characters"),
            "{e}"
        );
        let list: Vec<String> = (0..=MAX_PAYLOAD_LIST_LEN).map(|i| i.to_string()).collect();
        let e = popup(json!({"template": "custom", "payload": {"k": list}})).unwrap_err();
        assert!(
            e.starts_with("payload.k:") && e.contains("at most 100 strings"),
            "{e}"
        );
    }

    #[test]
    fn dangerous_url_schemes_are_refused_with_the_path() {
        for (url, why) in [
            ("javascript:alert(1)", "runs script"),
            ("JavaScript:alert(1)", "runs script"),
            ("data:text/html,<b>x</b>", "inline content"),
            ("file:///etc/passwd", "device's files"),
            ("http://cdn.example.com/a.png", "plain HTTP"),
        ] {
            let e =
                popup(json!({"template": "modal", "title": "t", "image_url": url})).unwrap_err();
            assert!(e.starts_with("image_url:") && e.contains(why), "{url}: {e}");
            let e = popup(json!({"template": "modal", "title": "t", "buttons": [
                {"id": "go", "text": "Go", "action": {"type": "deep_link", "url": url}}
            ]}))
            .unwrap_err();
            assert!(
                e.contains("buttons[0].action.url") && e.contains(why),
                "{url}: {e}"
            );
        }
        for url in ["https://cdn.example.com/a.png", "myapp://sale/1"] {
            popup(json!({"template": "modal", "title": "t", "image_url": url})).unwrap();
        }
    }

    #[test]
    fn with_app_schemes_listed_a_url_is_https_or_one_of_them() {
        let schemes = ["myapp".to_string(), "Lottery:".to_string()];
        let read = |json| {
            Popup::read(
                Node::root(&Document::from(json)),
                PopupContext {
                    default_locale: None,
                    app_url_schemes: &schemes,
                },
            )
            .map_err(|e| e.to_string())
        };
        let with_link = |url: &str| {
            json!({"template": "modal", "title": "t", "image_url": "https://cdn.example.com/a.png",
                   "buttons": [{"id": "go", "text": "Go", "action": {"type": "deep_link", "url": url}}]})
        };
        for url in [
            "https://shop.example.com/sale",
            "myapp://sale/1",
            "MYAPP://x",
            "lottery:draw",
        ] {
            read(with_link(url)).unwrap();
        }
        for url in [
            "otherapp://steal",
            "ftp://files.example.com/a",
            "intent://x",
        ] {
            let e = read(with_link(url)).unwrap_err();
            assert!(
                e.starts_with("buttons[0].action.url:")
                    && e.contains(
                        "neither https nor one of the app's own schemes (myapp, Lottery:)"
                    ),
                "{url}: {e}"
            );
        }
        let e = read(json!({"template": "modal", "title": "t", "image_url": "otherapp://a.png"}))
            .unwrap_err();
        assert!(e.starts_with("image_url:"), "{e}");
        // Listing a refused scheme does not let it through.
        let http = ["http".to_string()];
        let e = Popup::read(
            Node::root(&Document::from(json!({"template": "modal", "title": "t",
                                               "image_url": "http://cdn.example.com/a.png"}))),
            PopupContext {
                default_locale: None,
                app_url_schemes: &http,
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("plain HTTP"), "{e}");
        // Without a list, any scheme but the refused ones passes.
        popup(with_link("otherapp://x")).unwrap();
    }

    #[test]
    fn a_popup_says_whether_it_waits_for_its_image() {
        let p = popup(json!({"template": "modal", "title": "t",
                              "image_url": "https://cdn.example.com/a.png"}))
        .unwrap();
        assert_eq!(p.image_missing, ImageMissing::ShowWithoutImage);
        let p = popup(
            json!({"template": "modal", "title": "t", "image_missing": "hold_back",
                              "image_url": "HTTPS://cdn.example.com/a.png"}),
        )
        .unwrap();
        assert_eq!(p.image_missing, ImageMissing::HoldBack);
        for (json, expected) in [
            (
                json!({"template": "modal", "title": "t", "image_missing": "hold_back"}),
                "image_missing: \"hold_back\" needs an https \"image_url\"",
            ),
            (
                json!({"template": "modal", "title": "t", "image_missing": "hold_back",
                       "image_url": "myapp://a.png"}),
                "image_missing: \"hold_back\" needs an https",
            ),
            (
                json!({"template": "modal", "title": "t", "image_missing": "wait",
                       "image_url": "https://cdn.example.com/a.png"}),
                "image_missing: unknown value \"wait\"",
            ),
        ] {
            let e = popup(json.clone()).unwrap_err();
            assert!(e.contains(expected), "{json}: {e}");
        }
    }

    #[test]
    fn bad_popups_are_refused() {
        let button = |action: serde_json::Value| {
            json!({"template": "modal", "title": "t",
            "buttons": [{"id": "b", "text": "B", "action": action}]})
        };
        for (json, expected) in [
            (
                json!({"template": "sheet", "title": "t"}),
                "unknown template \"sheet\"",
            ),
            (
                json!({"template": "modal"}),
                "needs a \"title\" or a \"body\"",
            ),
            (
                json!({"template": "modal", "title": ""}),
                "title: must not be empty",
            ),
            (
                json!({"template": "modal", "title": "t", "image_url": "images/a.png"}),
                "invalid URL",
            ),
            (
                button(json!({"type": "share"})),
                "buttons[0].action.type: unknown action \"share\"",
            ),
            (
                button(json!({"type": "deep_link"})),
                "missing required key \"url\"",
            ),
            (
                button(json!({"type": "dismiss", "url": "app://x"})),
                "unknown key \"url\"",
            ),
            (
                button(json!({"type": "track_event", "event": " x"})),
                "blanks around it",
            ),
            (
                button(json!({"type": "track_event", "event": "reach.popup.clicked"})),
                "are Reach's own",
            ),
            (
                json!({"template": "modal", "title": "t", "buttons": [
                {"id": "b", "text": "B", "action": {"type": "dismiss"}},
                {"id": "b", "text": "C", "action": {"type": "dismiss"}}]}),
                "buttons[1].id: duplicate button id \"b\"",
            ),
            (
                json!({"template": "modal", "default_locale": "en", "title": {"en": "a", "EN": "b"}}),
                "appears twice",
            ),
            (
                json!({"template": "modal", "default_locale": "en", "title": {"english": "a"}}),
                "invalid locale",
            ),
        ] {
            let e = popup(json.clone()).unwrap_err();
            assert!(e.contains(expected), "{json}: {e}");
        }
        let five: Vec<_> = (0..5)
            .map(|i| json!({"id": format!("b{i}"), "text": "x", "action": {"type": "dismiss"}}))
            .collect();
        assert!(popup(json!({"template": "modal", "title": "t", "buttons": five})).is_err());
    }
}
