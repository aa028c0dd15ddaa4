//! Why a rule pack was refused: each problem names the path of the offending field.
//!
//! Operators fix packs by hand, so an error must point at the field
//! (`campaigns[3].trigger.where[1].op: unknown operator "gtx"`), not at a byte
//! offset or a serde type name. A pack with any error is refused whole.

use std::fmt;

/// How many problems one refusal reports at most. A pack broken everywhere (say,
/// a renamed key in every campaign) would otherwise list thousands of lines; the
/// first fifty are enough to see the pattern and fix it.
pub const MAX_REPORTED_ERRORS: usize = 50;

/// One problem in a pack: the path of the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path in the JSON document, like `campaigns[3].trigger.where[1].op`; empty
    /// for the document itself.
    pub path: String,
    /// What is wrong, in words an operator understands.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Longest key shown in a path; a longer one is cut with `…`. Payload and
/// translation keys are data and may be long: a refusal stays readable,
/// and a hostile key does not make every error as large as itself.
pub const MAX_PATH_KEY_CHARS: usize = 64;

/// Longest error message; a longer one (it quotes a long value) is cut
/// with `…`, so a refusal's size stays bounded whatever the pack holds.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// Appends `key` to a path as operators read it: `.key` for plain words,
/// `["zh-CN"]` for others (cut at [`MAX_PATH_KEY_CHARS`]).
pub(crate) fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if plain && key.len() <= MAX_PATH_KEY_CHARS {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&serde_json::Value::from(cut(key, MAX_PATH_KEY_CHARS)).to_string());
        path.push(']');
    }
}

/// Appends an array index to a path: `[3]`.
pub(crate) fn push_index(path: &mut String, index: usize) {
    path.push_str(&format!("[{index}]"));
}

/// `text` cut to `max` characters, with `…` when something was cut.
pub(crate) fn cut(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => text.into(),
        Some((end, _)) => format!("{}…", &text[..end]).into(),
    }
}

/// A refused pack: at least one [`FieldError`], in document order.
///
/// Parsing continues past a broken campaign to the next one, so one refusal
/// lists the problems of every campaign (up to [`MAX_REPORTED_ERRORS`]); within
/// one campaign it stops at the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackError {
    errors: Vec<FieldError>,
    /// Problems found beyond [`MAX_REPORTED_ERRORS`].
    omitted: usize,
}

impl PackError {
    pub(crate) fn new(errors: Vec<FieldError>) -> PackError {
        debug_assert!(!errors.is_empty(), "a refusal names at least one problem");
        let omitted = errors.len().saturating_sub(MAX_REPORTED_ERRORS);
        let mut errors = errors;
        errors.truncate(MAX_REPORTED_ERRORS);
        PackError { errors, omitted }
    }

    /// The problems found, in document order.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// The first problem, the one a log line shows.
    pub fn first(&self) -> &FieldError {
        &self.errors[0]
    }
}

impl From<FieldError> for PackError {
    fn from(e: FieldError) -> PackError {
        PackError::new(vec![e])
    }
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.errors[0])?;
        let more = self.errors.len() - 1 + self.omitted;
        if more > 0 {
            write!(f, " (and {more} more)")?;
        }
        Ok(())
    }
}

impl std::error::Error for PackError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(path: &str, message: &str) -> FieldError {
        FieldError {
            path: path.into(),
            message: message.into(),
        }
    }

    #[test]
    fn display_is_path_colon_message() {
        let e = field(
            "campaigns[3].trigger.where[1].op",
            "unknown operator \"gtx\"",
        );
        assert_eq!(
            e.to_string(),
            "campaigns[3].trigger.where[1].op: unknown operator \"gtx\""
        );
        assert_eq!(field("", "not JSON").to_string(), "not JSON");
    }

    #[test]
    fn long_keys_are_cut_in_paths() {
        let mut path = String::new();
        push_key(&mut path, "campaigns");
        push_index(&mut path, 2);
        push_key(&mut path, "zh-CN");
        push_key(&mut path, &"k".repeat(1000));
        assert_eq!(
            path,
            format!(
                "campaigns[2][\"zh-CN\"][\"{}…\"]",
                "k".repeat(MAX_PATH_KEY_CHARS)
            )
        );
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("中文字", 2), "中文…");
    }

    #[test]
    fn a_refusal_counts_what_it_does_not_show() {
        let many = (0..MAX_REPORTED_ERRORS + 5)
            .map(|i| field(&format!("campaigns[{i}]"), "bad"))
            .collect();
        let e = PackError::new(many);
        assert_eq!(e.errors().len(), MAX_REPORTED_ERRORS);
        assert_eq!(
            e.to_string(),
            format!("campaigns[0]: bad (and {} more)", MAX_REPORTED_ERRORS + 4)
        );
    }
}
