//! Who may see a campaign: user properties and tags, server-computed
//! segments, app version, platform, locale, and whether the person is
//! identified.
//!
//! Every part is optional and all given parts must hold. Evaluation is pure:
//! the engine gathers the facts in an [`AudienceContext`] and asks.

use std::collections::BTreeSet;
use std::fmt;

use super::error::FieldError;
use super::locale::Locale;
use super::names::read_name;
use super::predicate::{read_where, Predicate, PropertyLookup};
use super::reader::Node;
use super::version::{Version, VersionRange};

/// The platforms a pack can name. A closed list, so a typo (`andriod`) is an
/// error rather than a campaign that silently never shows; a new platform comes
/// with a format minor version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    Android,
    Ios,
    HarmonyOs,
    MacOs,
    Windows,
    Linux,
}

impl Platform {
    pub const ALL: [Platform; 6] = [
        Platform::Android,
        Platform::Ios,
        Platform::HarmonyOs,
        Platform::MacOs,
        Platform::Windows,
        Platform::Linux,
    ];

    /// The name used in packs: `android`, `ios`, `harmonyos`, `macos`,
    /// `windows`, `linux`.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Android => "android",
            Platform::Ios => "ios",
            Platform::HarmonyOs => "harmonyos",
            Platform::MacOs => "macos",
            Platform::Windows => "windows",
            Platform::Linux => "linux",
        }
    }

    pub fn from_name(name: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The facts about the person and device that an audience is checked against.
pub struct AudienceContext<'a> {
    pub user_properties: &'a dyn PropertyLookup,
    pub tags: &'a BTreeSet<String>,
    /// `None` when the app's version could not be read: then any `app_version`
    /// condition fails.
    pub app_version: Option<&'a Version>,
    pub platform: Platform,
    pub locale: &'a Locale,
    /// Whether `identify()` named the person (as opposed to anonymous).
    pub identified: bool,
    /// The person's segments as the server last answered for them; `None`
    /// before any answer for this person: then every `segments` test fails
    /// (an unknown membership must not show a campaign meant for members,
    /// nor one meant for non-members).
    pub segments: Option<&'a BTreeSet<String>>,
}

/// A campaign's audience; the default (nothing given) is everyone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Audience {
    pub user_properties: Option<Predicate>,
    pub tags: TagTest,
    /// Segments computed on the server (`GET /v1/segments`); `None` asks
    /// nothing. *(added in format 1.2)*
    pub segments: Option<TagTest>,
    pub app_version: Option<VersionRange>,
    /// Empty means any platform.
    pub platforms: Vec<Platform>,
    /// Empty means any locale; otherwise the device's must fall under one.
    pub locales: Vec<Locale>,
    pub identified: Option<bool>,
}

/// Conditions on the person's tags. Empty lists ask nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagTest {
    /// At least one of these (when not empty).
    pub any: Vec<String>,
    /// Every one of these.
    pub all: Vec<String>,
    /// None of these.
    pub none: Vec<String>,
}

impl TagTest {
    pub fn matches(&self, tags: &BTreeSet<String>) -> bool {
        (self.any.is_empty() || self.any.iter().any(|t| tags.contains(t)))
            && self.all.iter().all(|t| tags.contains(t))
            && !self.none.iter().any(|t| tags.contains(t))
    }
}

impl Audience {
    /// Whether the person and device are in the audience. Cheap checks first.
    pub fn matches(&self, ctx: &AudienceContext) -> bool {
        self.identified.is_none_or(|want| want == ctx.identified)
            && (self.platforms.is_empty() || self.platforms.contains(&ctx.platform))
            && (self.locales.is_empty() || self.locales.iter().any(|l| ctx.locale.is_within(l)))
            && self
                .app_version
                .as_ref()
                .is_none_or(|range| ctx.app_version.is_some_and(|v| range.contains(v)))
            && self.tags.matches(ctx.tags)
            && self
                .segments
                .as_ref()
                .is_none_or(|test| ctx.segments.is_some_and(|s| test.matches(s)))
            && self
                .user_properties
                .as_ref()
                .is_none_or(|p| p.matches(ctx.user_properties))
    }

    pub(crate) fn read(node: Node) -> Result<Audience, FieldError> {
        let object = node.object(&[
            "user_properties",
            "tags",
            "segments",
            "app_version",
            "platforms",
            "locales",
            "identified",
        ])?;
        Ok(Audience {
            user_properties: object.optional("user_properties", |n| read_where(&n))?,
            tags: object.optional("tags", read_tags)?.unwrap_or_default(),
            segments: object.optional("segments", read_tags)?,
            app_version: object.optional("app_version", VersionRange::read)?,
            platforms: object
                .optional("platforms", |n| {
                    read_unique_list(&n, |item| {
                        let name = item.str()?;
                        Platform::from_name(name).ok_or_else(|| {
                            let known: Vec<_> = Platform::ALL.iter().map(|p| p.name()).collect();
                            item.error(format!(
                                "unknown platform \"{name}\" (expected one of: {})",
                                known.join(", ")
                            ))
                        })
                    })
                })?
                .unwrap_or_default(),
            locales: object
                .optional("locales", |n| {
                    read_unique_list(&n, |item| Locale::read(&item))
                })?
                .unwrap_or_default(),
            identified: object.optional("identified", |n| n.bool())?,
        })
    }
}

fn read_tags(node: Node) -> Result<TagTest, FieldError> {
    let object = node.object(&["any", "all", "none"])?;
    let list = |key| {
        object
            .optional(key, |n| {
                read_unique_list(&n, |item| read_name(&item).map(str::to_owned))
            })
            .map(Option::unwrap_or_default)
    };
    let tags = TagTest {
        any: list("any")?,
        all: list("all")?,
        none: list("none")?,
    };
    if tags.any.is_empty() && tags.all.is_empty() && tags.none.is_empty() {
        return Err(node.error("give at least one of \"any\", \"all\", \"none\""));
    }
    Ok(tags)
}

/// Most entries in one audience list (tags, segments, platforms, locales). A list of
/// thousands of tags is a server-side segment, as for `in` lists
/// ([`MAX_SET_LEN`](super::MAX_SET_LEN)); the bound also keeps the repeat
/// check below (quadratic) cheap.
pub const MAX_AUDIENCE_LIST_LEN: usize = 1_000;

/// A non-empty list without repeats; a repeat is almost always a copy-paste
/// slip that hides a missing entry.
fn read_unique_list<T: PartialEq + fmt::Debug>(
    node: &Node,
    read: impl Fn(Node) -> Result<T, FieldError>,
) -> Result<Vec<T>, FieldError> {
    let items = node.non_empty_elements()?;
    if items.len() > MAX_AUDIENCE_LIST_LEN {
        return Err(node.error(format!(
            "at most {MAX_AUDIENCE_LIST_LEN} entries, found {}",
            items.len()
        )));
    }
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        let value = read(item)?;
        if out.contains(&value) {
            return Err(item.error("listed twice"));
        }
        out.push(value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use crate::value::{Properties, Value};
    use serde_json::json;

    fn audience(json: serde_json::Value) -> Result<Audience, String> {
        Audience::read(Node::root(&Document::from(json))).map_err(|e| e.to_string())
    }

    struct Facts {
        user: Properties,
        tags: BTreeSet<String>,
        version: Option<Version>,
        platform: Platform,
        locale: Locale,
        identified: bool,
        segments: Option<BTreeSet<String>>,
    }

    impl Facts {
        fn new() -> Facts {
            Facts {
                user: Properties::new(),
                tags: BTreeSet::new(),
                version: Version::parse_lenient("5.2.0"),
                platform: Platform::Android,
                locale: Locale::from_device("zh_CN"),
                identified: false,
                segments: None,
            }
        }

        fn check(&self, a: &Audience) -> bool {
            a.matches(&AudienceContext {
                user_properties: &self.user,
                tags: &self.tags,
                app_version: self.version.as_ref(),
                platform: self.platform,
                locale: &self.locale,
                identified: self.identified,
                segments: self.segments.as_ref(),
            })
        }
    }

    #[test]
    fn audience_lists_hold_at_most_the_limit() {
        let tags = |n: usize| (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>();
        assert!(audience(json!({"tags": {"any": tags(MAX_AUDIENCE_LIST_LEN)}})).is_ok());
        let e = audience(json!({"tags": {"none": tags(MAX_AUDIENCE_LIST_LEN + 1)}})).unwrap_err();
        assert_eq!(e, "tags.none: at most 1000 entries, found 1001");
    }

    #[test]
    fn an_empty_audience_is_everyone() {
        assert!(Facts::new().check(&audience(json!({})).unwrap()));
    }

    #[test]
    fn regional_audience_from_scenario_05() {
        let a = audience(json!({
            "user_properties": [{"prop": "region", "op": "in", "value": ["shanghai", "hangzhou"]}],
            "app_version": {"gte": "5.2.0"}
        }))
        .unwrap();
        let mut f = Facts::new();
        f.version = Version::parse_lenient("5.1.9");
        f.user
            .insert("region".into(), Value::String("beijing".into()));
        assert!(!f.check(&a));
        f.user
            .insert("region".into(), Value::String("hangzhou".into()));
        assert!(!f.check(&a), "app version");
        f.version = Version::parse_lenient("5.2.0");
        assert!(f.check(&a));
        f.version = None;
        assert!(
            !f.check(&a),
            "an unreadable app version fails a version condition"
        );
    }

    #[test]
    fn platform_locale_identity_and_tags() {
        let a = audience(json!({
            "platforms": ["ios", "android"],
            "locales": ["zh", "en-US"],
            "identified": true,
            "tags": {"any": ["vip", "gold"], "none": ["churned"]}
        }))
        .unwrap();
        let mut f = Facts::new();
        f.identified = true;
        f.tags.insert("gold".into());
        assert!(f.check(&a));
        f.tags.insert("churned".into());
        assert!(!f.check(&a));
        f.tags.remove("churned");
        f.locale = Locale::from_device("en_GB");
        assert!(!f.check(&a));
        f.locale = Locale::from_device("en-US");
        f.platform = Platform::HarmonyOs;
        assert!(!f.check(&a));
        f.platform = Platform::Ios;
        f.identified = false;
        assert!(!f.check(&a));
    }

    #[test]
    fn segments_match_only_once_known() {
        let a = audience(json!({"segments": {"any": ["high_value", "whale"], "none": ["fraud"]}}))
            .unwrap();
        let mut f = Facts::new();
        assert!(!f.check(&a), "unknown segments never match");
        f.segments = Some(BTreeSet::new());
        assert!(!f.check(&a), "known: in none of them");
        f.segments = Some(["whale".to_owned()].into());
        assert!(f.check(&a));
        f.segments = Some(["whale".to_owned(), "fraud".to_owned()].into());
        assert!(!f.check(&a));
        let only_none = audience(json!({"segments": {"none": ["fraud"]}})).unwrap();
        f.segments = None;
        assert!(
            !f.check(&only_none),
            "not-in is not assumed before the server answered"
        );
        f.segments = Some(BTreeSet::new());
        assert!(f.check(&only_none));
        f.tags.insert("whale".into());
        f.segments = Some(BTreeSet::new());
        assert!(!f.check(&a), "a tag is not a segment");
        assert!(
            f.check(&audience(json!({})).unwrap()),
            "no segments test: unknown segments do not matter"
        );
    }

    #[test]
    fn segment_errors_name_their_path() {
        assert_eq!(
            audience(json!({"segments": {}})).unwrap_err(),
            "segments: give at least one of \"any\", \"all\", \"none\""
        );
        assert_eq!(
            audience(json!({"segments": {"any": ["vip", "vip"]}})).unwrap_err(),
            "segments.any[1]: listed twice"
        );
        assert!(audience(json!({"segments": ["vip"]})).is_err());
        assert!(audience(json!({"segments": {"in": ["vip"]}}))
            .unwrap_err()
            .contains("unknown key \"in\""));
    }

    #[test]
    fn audience_errors_name_their_path() {
        assert_eq!(
            audience(json!({"platforms": ["andriod"]})).unwrap_err(),
            "platforms[0]: unknown platform \"andriod\" (expected one of: android, ios, harmonyos, macos, windows, linux)"
        );
        assert_eq!(
            audience(json!({"locales": ["zh", "zh"]})).unwrap_err(),
            "locales[1]: listed twice"
        );
        assert!(audience(json!({"tags": {}})).is_err());
        assert!(audience(json!({"platforms": []})).is_err());
        assert!(audience(json!({"app_version": {"gte": "5.2"}})).is_err());
        assert!(audience(json!({"country": "cn"}))
            .unwrap_err()
            .contains("unknown key \"country\""));
    }
}
