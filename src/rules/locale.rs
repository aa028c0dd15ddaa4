//! Locales: matching a device's locale against an audience's list, and
//! choosing which translation of a popup's text to show.
//!
//! Tags are BCP 47 (`zh`, `zh-CN`, `zh-Hant-TW`) and compare case-insensitively.
//! A device's locale is read leniently: `zh_CN`, `en_US.UTF-8` and `de_DE@euro`
//! (POSIX and Java spellings) become `zh-cn`, `en-us`, `de-de`.
//!
//! Matching is RFC 4647 basic filtering: a listed `zh` covers `zh-CN` and
//! `zh-Hant-TW`, a listed `zh-CN` covers `zh-CN-x-private` but not `zh`.
//! Choosing a translation walks from the most specific tag to the least
//! (`zh-Hant-TW` → `zh-Hant` → `zh`), then falls back to the default locale.
//! There is no script inference: `zh-TW` does not find a `zh-Hant` text.

use std::fmt;

use super::error::FieldError;
use super::reader::Node;

/// Longest locale tag. BCP 47 tags in real use are under 20 characters
/// (`zh-Hant-TW`, `sr-Latn-RS`); RFC 5646 asks implementations to take at
/// least 35. Without a bound a tag of a million `-x` parts would be read.
pub const MAX_LOCALE_LEN: usize = 64;

/// A locale tag in canonical lower case with `-` separators.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Locale {
    tag: String,
}

impl Locale {
    /// The device's locale as the platform reports it; never fails (an
    /// unreadable locale just matches no listed one).
    pub fn from_device(text: &str) -> Locale {
        let text = text.split(['.', '@']).next().unwrap_or("");
        Locale {
            tag: text.trim().replace('_', "-").to_ascii_lowercase(),
        }
    }

    /// A tag written in a pack: a 2–3 letter language, then subtags of 1–8
    /// letters or digits, separated by `-`.
    pub fn parse(text: &str) -> Result<Locale, String> {
        if text.len() > MAX_LOCALE_LEN {
            return Err(format!(
                "invalid locale: {} characters, a tag has at most {MAX_LOCALE_LEN}",
                text.chars().count()
            ));
        }
        let mut parts = text.split('-');
        let language = parts.next().unwrap_or("");
        let language_ok =
            (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_alphabetic());
        let rest_ok = parts
            .all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !language_ok || !rest_ok {
            return Err(format!(
                "invalid locale \"{text}\": expected a BCP 47 tag like \"en\", \"zh-CN\" or \"zh-Hant-TW\""
            ));
        }
        Ok(Locale {
            tag: text.to_ascii_lowercase(),
        })
    }

    pub(crate) fn read(node: &Node) -> Result<Locale, FieldError> {
        Locale::parse(node.str()?).map_err(|m| node.error(m))
    }

    pub fn as_str(&self) -> &str {
        &self.tag
    }

    /// Whether this locale falls under `range` (basic filtering): equal, or
    /// `range` followed by `-` and more subtags.
    pub fn is_within(&self, range: &Locale) -> bool {
        self.tag
            .strip_prefix(range.tag.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
    }

    /// This tag and each shorter prefix of it, most specific first:
    /// `zh-hant-tw`, `zh-hant`, `zh`.
    pub fn fallbacks(&self) -> impl Iterator<Item = &str> {
        let tag = self.tag.as_str();
        std::iter::successors(Some(tag), |t| t.rfind('-').map(|i| &t[..i]))
            .filter(|t| !t.is_empty())
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &str) -> Locale {
        Locale::parse(s).unwrap()
    }

    #[test]
    fn device_locales_are_read_leniently() {
        assert_eq!(Locale::from_device("zh_CN"), l("zh-CN"));
        assert_eq!(Locale::from_device("en_US.UTF-8"), l("en-us"));
        assert_eq!(Locale::from_device("de_DE@euro"), l("de-DE"));
        assert_eq!(Locale::from_device("zh-Hant-TW"), l("zh-hant-tw"));
    }

    #[test]
    fn a_locale_tag_has_at_most_the_limit_of_characters() {
        let fits = format!("en{}", "-abcdefg".repeat((MAX_LOCALE_LEN - 2) / 8));
        assert!(Locale::parse(&fits).is_ok(), "{fits}");
        let long = format!("en{}", "-x".repeat(MAX_LOCALE_LEN));
        let e = Locale::parse(&long).unwrap_err();
        assert!(e.contains("a tag has at most 64"), "{e}");
        assert!(e.len() < 100, "the refusal does not quote the tag: {e}");
    }

    #[test]
    fn pack_locales_must_be_tags() {
        for bad in [
            "",
            "z",
            "chinese",
            "zh_CN",
            "zh-",
            "zh--CN",
            "12",
            "zh-CNCNCNCNCN",
        ] {
            assert!(Locale::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn basic_filtering_matches_prefixes_at_subtag_boundaries() {
        let device = Locale::from_device("zh_Hant_TW");
        assert!(device.is_within(&l("zh")));
        assert!(device.is_within(&l("zh-Hant")));
        assert!(device.is_within(&l("ZH-HANT-TW")));
        assert!(!device.is_within(&l("zh-TW")), "no script inference");
        assert!(!Locale::from_device("zhx").is_within(&l("zh")));
        assert!(!Locale::from_device("zh").is_within(&l("zh-CN")));
    }

    #[test]
    fn fallbacks_go_from_specific_to_general() {
        let device = Locale::from_device("zh-Hant-TW");
        assert_eq!(
            device.fallbacks().collect::<Vec<_>>(),
            ["zh-hant-tw", "zh-hant", "zh"]
        );
        assert_eq!(Locale::from_device("").fallbacks().count(), 0);
    }
}
