//! Semantic versions and version ranges, for a campaign's `min_sdk` and an
//! audience's `app_version`.
//!
//! Versions written in a pack must be strict SemVer 2.0 (`5.2.0`,
//! `5.2.0-beta.1`, build metadata after `+` allowed and ignored), so a typo is
//! caught before shipping. The version an app reports about itself is read
//! leniently ([`Version::parse_lenient`]): app stores accept `5.2` or `v5.2.1`,
//! and refusing them would hide campaigns for no gain.
//!
//! Ordering is SemVer precedence: a pre-release sorts before its release
//! (`5.2.0-beta < 5.2.0`) and build metadata is ignored. Unlike Cargo, a range
//! does not treat pre-releases specially: `>= 5.2.0-beta` includes `5.2.1-rc.1`.

use std::cmp::Ordering;
use std::fmt;

use super::error::FieldError;
use super::reader::Node;

/// A version: `major.minor.patch` plus optional pre-release identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// Dot-separated pre-release identifiers; empty for a release.
    pub pre: Vec<PreRelease>,
}

/// One pre-release identifier. Numeric ones sort numerically and before
/// alphanumeric ones, as SemVer says.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PreRelease {
    Numeric(u64),
    Alpha(String),
}

impl Version {
    pub const fn new(major: u64, minor: u64, patch: u64) -> Version {
        Version {
            major,
            minor,
            patch,
            pre: Vec::new(),
        }
    }

    /// Strict SemVer 2.0, as a pack must write it.
    pub fn parse(text: &str) -> Result<Version, String> {
        parse(text, false).ok_or_else(|| {
            format!(
                "invalid version \"{text}\": expected MAJOR.MINOR.PATCH, like \"5.2.0\" or \"5.2.0-beta.1\""
            )
        })
    }

    /// The version an app reports: a leading `v` is dropped and a missing minor
    /// or patch counts as 0 (`5.2` = `5.2.0`). Anything else unusual is `None`,
    /// and an audience that asks for an app version then does not match.
    pub fn parse_lenient(text: &str) -> Option<Version> {
        let text = text.trim();
        let text = text
            .strip_prefix('v')
            .or_else(|| text.strip_prefix('V'))
            .unwrap_or(text);
        parse(text, true)
    }

    pub(crate) fn read(node: &Node) -> Result<Version, FieldError> {
        Version::parse(node.str()?).map_err(|m| node.error(m))
    }
}

fn parse(text: &str, lenient: bool) -> Option<Version> {
    let without_build = match text.split_once('+') {
        Some((v, build)) => {
            if build.split('.').any(|id| !is_identifier(id)) {
                return None;
            }
            v
        }
        None => text,
    };
    let (core, pre) = match without_build.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (without_build, None),
    };
    let mut numbers = core.split('.');
    let major = number(numbers.next()?)?;
    let mut next = |lenient: bool| match numbers.next() {
        Some(n) => number(n),
        None if lenient => Some(0),
        None => None,
    };
    let minor = next(lenient)?;
    let patch = next(lenient)?;
    if numbers.next().is_some() {
        return None;
    }
    let pre = match pre {
        None => Vec::new(),
        Some(pre) => pre
            .split('.')
            .map(|id| {
                if !is_identifier(id) {
                    None
                } else if id.bytes().all(|b| b.is_ascii_digit()) {
                    number(id).map(PreRelease::Numeric)
                } else {
                    Some(PreRelease::Alpha(id.to_owned()))
                }
            })
            .collect::<Option<Vec<_>>>()?,
    };
    Some(Version {
        major,
        minor,
        patch,
        pre,
    })
}

/// A numeric part: digits without a leading zero.
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                // Lexicographic over identifiers; a longer list wins a tie.
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        for (i, id) in self.pre.iter().enumerate() {
            f.write_str(if i == 0 { "-" } else { "." })?;
            match id {
                PreRelease::Numeric(n) => write!(f, "{n}")?,
                PreRelease::Alpha(s) => f.write_str(s)?,
            }
        }
        Ok(())
    }
}

/// A range of versions, written in a pack as an object of bounds:
/// `{"gte": "5.2.0", "lt": "6.0.0"}`. Keys: `gt` or `gte` for the lower bound,
/// `lt` or `lte` for the upper, or `eq` alone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionRange {
    pub lower: Option<Bound>,
    pub upper: Option<Bound>,
}

/// One end of a [`VersionRange`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub version: Version,
    pub inclusive: bool,
}

/// `>= 5.2.0 and < 6.0.0`, `= 5.2.0`, `any version`: for `explain()` and
/// the CLI, which people read.
impl fmt::Display for VersionRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.lower, &self.upper) {
            (None, None) => f.write_str("any version"),
            (Some(l), Some(u)) if l.inclusive && u.inclusive && l.version == u.version => {
                write!(f, "= {}", l.version)
            }
            (lower, upper) => {
                let lower = lower
                    .as_ref()
                    .map(|b| format!("{} {}", if b.inclusive { ">=" } else { ">" }, b.version));
                let upper = upper
                    .as_ref()
                    .map(|b| format!("{} {}", if b.inclusive { "<=" } else { "<" }, b.version));
                let parts: Vec<String> = lower.into_iter().chain(upper).collect();
                f.write_str(&parts.join(" and "))
            }
        }
    }
}

impl VersionRange {
    pub fn contains(&self, version: &Version) -> bool {
        let above_lower = self
            .lower
            .as_ref()
            .is_none_or(|b| match version.cmp(&b.version) {
                Ordering::Greater => true,
                Ordering::Equal => b.inclusive,
                Ordering::Less => false,
            });
        let below_upper = self
            .upper
            .as_ref()
            .is_none_or(|b| match version.cmp(&b.version) {
                Ordering::Less => true,
                Ordering::Equal => b.inclusive,
                Ordering::Greater => false,
            });
        above_lower && below_upper
    }

    pub(crate) fn read(node: Node) -> Result<VersionRange, FieldError> {
        let object = node.object(&["eq", "gt", "gte", "lt", "lte"])?;
        let bound = |key: &str, inclusive: bool| {
            object.optional(key, |n| {
                Ok(Bound {
                    version: Version::read(&n)?,
                    inclusive,
                })
            })
        };
        if let Some(eq) = bound("eq", true)? {
            if object.meaningful_keys().count() > 1 {
                return Err(node.error("\"eq\" cannot be combined with other bounds"));
            }
            return Ok(VersionRange {
                lower: Some(eq.clone()),
                upper: Some(eq),
            });
        }
        let one_of = |a: &str, b: &str| {
            if object.has(a) && object.has(b) {
                Err(node.error(format!("give \"{a}\" or \"{b}\", not both")))
            } else {
                Ok(())
            }
        };
        one_of("gt", "gte")?;
        one_of("lt", "lte")?;
        let range = VersionRange {
            lower: bound("gt", false)?.or(bound("gte", true)?),
            upper: bound("lt", false)?.or(bound("lte", true)?),
        };
        match (&range.lower, &range.upper) {
            (None, None) => Err(node.error("a version range needs at least one bound")),
            (Some(lo), Some(hi))
                if lo.version > hi.version
                    || (lo.version == hi.version && !(lo.inclusive && hi.inclusive)) =>
            {
                Err(node.error("the range is empty: its lower bound is above its upper bound"))
            }
            _ => Ok(range),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use serde_json::json;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn range(json: serde_json::Value) -> Result<VersionRange, String> {
        VersionRange::read(Node::root(&Document::from(json))).map_err(|e| e.to_string())
    }

    #[test]
    fn a_range_reads_as_people_write_it() {
        let shown = |j| range(j).unwrap().to_string();
        assert_eq!(shown(json!({"gte": "5.2.0"})), ">= 5.2.0");
        assert_eq!(
            shown(json!({"gt": "5.2.0", "lte": "6.0.0"})),
            "> 5.2.0 and <= 6.0.0"
        );
        assert_eq!(shown(json!({"lt": "6.0.0-rc.1"})), "< 6.0.0-rc.1");
        assert_eq!(shown(json!({"eq": "5.2.0"})), "= 5.2.0");
    }

    #[test]
    fn strict_parse_accepts_semver_and_refuses_the_rest() {
        assert_eq!(v("5.2.0"), Version::new(5, 2, 0));
        assert_eq!(v("5.2.0+build.7"), Version::new(5, 2, 0));
        assert_eq!(v("1.0.0-rc.1").to_string(), "1.0.0-rc.1");
        for bad in [
            "5.2",
            "5",
            "05.2.0",
            "5.2.0.1",
            "5.2.0-",
            "5.2.0-beta..1",
            "5.2.x",
            "",
            "v5.2.0",
            "5.2.0-01",
            "5.2.0+",
        ] {
            assert!(Version::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn lenient_parse_fills_missing_parts_for_app_versions() {
        assert_eq!(Version::parse_lenient("5.2"), Some(Version::new(5, 2, 0)));
        assert_eq!(Version::parse_lenient("5"), Some(Version::new(5, 0, 0)));
        assert_eq!(
            Version::parse_lenient("v5.2.1"),
            Some(Version::new(5, 2, 1))
        );
        assert_eq!(Version::parse_lenient("5.2-beta"), Some(v("5.2.0-beta")));
        assert_eq!(Version::parse_lenient("5.2.0.1234"), None);
        assert_eq!(Version::parse_lenient("five"), None);
    }

    #[test]
    fn ordering_follows_semver_precedence() {
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.2.0",
            "5.1.9",
            "5.2.0",
            "10.0.0",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn ranges_include_and_exclude_their_bounds() {
        let r = range(json!({"gte": "5.2.0", "lt": "6.0.0"})).unwrap();
        assert!(!r.contains(&v("5.1.9")));
        assert!(r.contains(&v("5.2.0")));
        assert!(r.contains(&v("5.99.0")));
        assert!(!r.contains(&v("6.0.0")));
        assert!(
            r.contains(&v("6.0.0-beta")),
            "pre-releases sort below their release"
        );
        let r = range(json!({"gt": "5.2.0"})).unwrap();
        assert!(!r.contains(&v("5.2.0")));
        assert!(r.contains(&v("5.2.1")));
        let r = range(json!({"lte": "5.2.0"})).unwrap();
        assert!(r.contains(&v("5.2.0")));
        let r = range(json!({"eq": "5.2.0"})).unwrap();
        assert!(r.contains(&v("5.2.0")) && !r.contains(&v("5.2.1")));
    }

    #[test]
    fn malformed_or_empty_ranges_are_refused() {
        assert_eq!(
            range(json!({"gte": "5.2"})).unwrap_err(),
            "gte: invalid version \"5.2\": expected MAJOR.MINOR.PATCH, like \"5.2.0\" or \"5.2.0-beta.1\""
        );
        assert!(range(json!({})).is_err());
        assert!(range(json!({"gt": "1.0.0", "gte": "1.0.0"})).is_err());
        assert!(range(json!({"eq": "1.0.0", "lt": "2.0.0"})).is_err());
        assert!(range(json!({"gte": "2.0.0", "lt": "1.0.0"})).is_err());
        assert!(range(json!({"gt": "1.0.0", "lte": "1.0.0"})).is_err());
        assert!(range(json!({"from": "1.0.0"})).is_err());
    }
}
