//! A pack's test persons (format 1.2, `test_persons`): the QA team's phones,
//! named by user id or anonymous id, on which operators see a campaign before
//! it goes live.
//!
//! For a test person a campaign that has not started yet or is paused
//! (`"enabled": false`) is eligible, its caps and the pack's global limits do
//! not hold, and the global holdout never holds them out; the audience, the
//! trigger, behaviour and prize limits still apply, so targeting is what is
//! being tested. Every campaign event of a test person carries `"test": true`,
//! and the reference server's stats leave such events out.

use std::collections::BTreeSet;

use super::reader::Node;
use super::FieldError;

/// At most this many test persons per list: a QA team's devices, not an
/// audience (audiences belong in `audience` or server segments), and each
/// list is held in memory on every device.
pub const MAX_TEST_PERSONS: usize = 100;

/// A user id or anonymous id in the lists: longer than any id an app sends
/// in practice (UUIDs are 36, emails rarely above 100).
pub const MAX_TEST_PERSON_ID_CHARS: usize = 256;

/// Who is a test person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestPersons {
    user_ids: BTreeSet<String>,
    anonymous_ids: BTreeSet<String>,
}

impl TestPersons {
    /// `{"user_ids": [...], "anonymous_ids": [...]}`, each optional.
    pub(crate) fn read(node: Node) -> Result<TestPersons, FieldError> {
        let object = node.object(&["user_ids", "anonymous_ids"])?;
        let list = |key: &str| -> Result<BTreeSet<String>, FieldError> {
            let Some(n) = object.get(key) else {
                return Ok(BTreeSet::new());
            };
            let items = n.elements()?;
            if items.len() > MAX_TEST_PERSONS {
                return Err(n.error(format!("at most {MAX_TEST_PERSONS} test persons")));
            }
            let mut ids = BTreeSet::new();
            for item in items {
                let id = item.short_str(MAX_TEST_PERSON_ID_CHARS)?;
                if !ids.insert(id.to_owned()) {
                    return Err(item.error(format!("\"{id}\" is listed twice")));
                }
            }
            Ok(ids)
        };
        Ok(TestPersons {
            user_ids: list("user_ids")?,
            anonymous_ids: list("anonymous_ids")?,
        })
    }

    /// Whether the person with these ids is a test person: by user id once
    /// identified, else (or also) by the device's anonymous id.
    pub fn contains(&self, user_id: Option<&str>, anonymous_id: &str) -> bool {
        user_id.is_some_and(|u| self.user_ids.contains(u))
            || self.anonymous_ids.contains(anonymous_id)
    }

    pub fn is_empty(&self) -> bool {
        self.user_ids.is_empty() && self.anonymous_ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use serde_json::json;

    fn read(v: serde_json::Value) -> Result<TestPersons, String> {
        let doc = Document::from(json!({ "test_persons": v }));
        let root = Node::root(&doc);
        let object = root.map().unwrap();
        TestPersons::read(object.required("test_persons").unwrap()).map_err(|e| e.to_string())
    }

    #[test]
    fn matches_by_user_id_or_anonymous_id() {
        let t = read(json!({"user_ids": ["qa-lin"], "anonymous_ids": ["device-7"]})).unwrap();
        assert!(t.contains(Some("qa-lin"), "other"));
        assert!(t.contains(None, "device-7"));
        assert!(t.contains(Some("someone"), "device-7"));
        assert!(!t.contains(Some("someone"), "other"));
        assert!(
            !t.contains(None, "qa-lin"),
            "a user id is not an anonymous id"
        );
        assert!(read(json!({})).unwrap().is_empty());
    }

    #[test]
    fn refuses_bad_lists_with_their_path() {
        assert_eq!(
            read(json!({"user_ids": ["a", "a"]})).unwrap_err(),
            "test_persons.user_ids[1]: \"a\" is listed twice"
        );
        assert_eq!(
            read(json!({"anonymous_ids": [""]})).unwrap_err(),
            "test_persons.anonymous_ids[0]: must not be empty"
        );
        let e = read(json!({"users": ["a"]})).unwrap_err();
        assert!(e.starts_with("test_persons: unknown key \"users\""), "{e}");
        let many: Vec<String> = (0..=MAX_TEST_PERSONS).map(|i| format!("u{i}")).collect();
        assert_eq!(
            read(json!({ "user_ids": many })).unwrap_err(),
            format!("test_persons.user_ids: at most {MAX_TEST_PERSONS} test persons")
        );
        let long = "x".repeat(MAX_TEST_PERSON_ID_CHARS + 1);
        assert!(read(json!({ "user_ids": [long] })).is_err());
    }
}
