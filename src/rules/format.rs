//! The pack's format version, and which versions this SDK reads.
//!
//! A pack states `"format": "MAJOR.MINOR"` as a string (a JSON number would
//! make `1.10` equal `1.1`). A newer or older major version is refused before
//! anything else is read, since its structure may differ. A newer minor version
//! is read: minor versions only add, and a campaign that uses an addition this
//! SDK does not know must set `min_sdk` to an SDK that knows it (see
//! [`super::campaign`]); without that, the unknown key refuses the pack.

use std::fmt;

use super::error::FieldError;
use super::reader::Node;

/// The major format version this SDK reads.
pub const FORMAT_MAJOR: u32 = 1;

/// The newest minor format version this SDK knows. 1.1 added delays,
/// sequence triggers, variants, goals, prize inventory and replay; 1.2 added
/// the audience's server-computed `segments`, the global `holdout`, goal
/// `value`s and `test_persons`.
pub const FORMAT_MINOR: u32 = 2;

/// A pack's `format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FormatVersion {
    pub major: u32,
    pub minor: u32,
}

impl FormatVersion {
    /// The version this SDK writes in its examples and knows fully.
    pub const CURRENT: FormatVersion = FormatVersion {
        major: FORMAT_MAJOR,
        minor: FORMAT_MINOR,
    };

    /// Reads and checks the `format` field: it must be `MAJOR.MINOR` with the
    /// major version this SDK reads.
    pub(crate) fn read(node: &Node) -> Result<FormatVersion, FieldError> {
        let text = node
            .str()
            .map_err(|_| node.error("expected the format version as a string like \"1.0\""))?;
        let parse = |s: &str| {
            // At most nine digits, as the schema says; always fits u32.
            let ok = (1..=9).contains(&s.len())
                && s.bytes().all(|b| b.is_ascii_digit())
                && (s == "0" || !s.starts_with('0'));
            ok.then(|| s.parse::<u32>().ok()).flatten()
        };
        let version = text
            .split_once('.')
            .and_then(|(major, minor)| {
                Some(FormatVersion {
                    major: parse(major)?,
                    minor: parse(minor)?,
                })
            })
            .ok_or_else(|| {
                node.error(format!(
                    "invalid format version \"{text}\": expected MAJOR.MINOR, like \"1.0\""
                ))
            })?;
        if version.major > FORMAT_MAJOR {
            return Err(node.error(format!(
                "pack format {version} is newer than this SDK reads ({FORMAT_MAJOR}.x); update the SDK"
            )));
        }
        if version.major < FORMAT_MAJOR {
            return Err(node.error(format!(
                "pack format {version} is older than this SDK reads ({FORMAT_MAJOR}.x)"
            )));
        }
        Ok(version)
    }

    /// Whether this SDK knows every field this version of the format defines.
    pub fn is_fully_known(self) -> bool {
        self <= FormatVersion::CURRENT
    }
}

impl fmt::Display for FormatVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use serde_json::json;

    fn read(json: serde_json::Value) -> Result<FormatVersion, String> {
        FormatVersion::read(&Node::root(&Document::from(json))).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_its_own_major_with_any_minor() {
        assert_eq!(read(json!("1.0")), Ok(FormatVersion { major: 1, minor: 0 }));
        assert_eq!(read(json!("1.7")), Ok(FormatVersion { major: 1, minor: 7 }));
        assert!(!FormatVersion { major: 1, minor: 7 }.is_fully_known());
        assert!(FormatVersion::CURRENT.is_fully_known());
        assert_eq!(FormatVersion::CURRENT.to_string(), "1.2");
        assert!(FormatVersion { major: 1, minor: 0 }.is_fully_known());
    }

    #[test]
    fn refuses_a_newer_or_older_major() {
        assert_eq!(
            read(json!("2.0")).unwrap_err(),
            "pack format 2.0 is newer than this SDK reads (1.x); update the SDK"
        );
        assert!(read(json!("0.9")).unwrap_err().contains("older"));
    }

    #[test]
    fn refuses_malformed_versions() {
        for bad in [
            json!(1.0),
            json!("1"),
            json!("1.0.0"),
            json!("v1.0"),
            json!("01.0"),
            json!("1."),
            json!(""),
        ] {
            assert!(read(bad.clone()).is_err(), "{bad}");
        }
    }
}
