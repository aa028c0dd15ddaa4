//! What counts as a valid id or name in a pack.
//!
//! Campaign and button ids travel in every `reach.popup.*` event and in logs
//! and URLs, so they are short ASCII tokens. Event and property names are the
//! app's own and may be any text, but never empty or padded with blanks (a
//! trailing space is an invisible typo that would make a campaign never fire).

use super::error::FieldError;
use super::reader::Node;

/// Longest campaign or button id. Ids are tokens, not prose; 128 fits any
/// naming scheme seen in operators' tools with room to spare.
pub const MAX_ID_LEN: usize = 128;

/// Longest event or property name a pack may test. Generous, since names are
/// the app's; the bound only stops a pasted paragraph.
pub const MAX_NAME_LEN: usize = 256;

/// An id: 1 to [`MAX_ID_LEN`] characters of `A-Z a-z 0-9 - _ . :`.
pub(crate) fn read_id<'j>(node: &Node<'j, '_>) -> Result<&'j str, FieldError> {
    let id = node.str()?;
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(node.error(format!("an id has 1 to {MAX_ID_LEN} characters")));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')))
    {
        return Err(node.error(format!(
            "invalid id \"{id}\": {bad:?} is not allowed (use letters, digits, - _ . :)"
        )));
    }
    Ok(id)
}

/// An event or property name: not empty, no surrounding blanks, at most
/// [`MAX_NAME_LEN`] characters.
pub(crate) fn read_name<'j>(node: &Node<'j, '_>) -> Result<&'j str, FieldError> {
    let name = node.non_empty_str()?;
    if name.trim() != name {
        return Err(node.error(format!("name \"{name}\" has blanks around it")));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(node.error(format!("a name has at most {MAX_NAME_LEN} characters")));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use serde_json::json;

    #[test]
    fn ids_are_ascii_tokens() {
        for ok in ["new-user-lottery", "a", "2026.golden_week:v2"] {
            assert!(
                read_id(&Node::root(&Document::from(json!(ok)))).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            json!(""),
            json!("has space"),
            json!("抽奖"),
            json!(7),
            json!("x".repeat(129)),
        ] {
            assert!(
                read_id(&Node::root(&Document::from(bad.clone()))).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn names_are_any_text_without_blanks_around() {
        assert!(read_name(&Node::root(&Document::from(json!("加入购物车")))).is_ok());
        assert!(read_name(&Node::root(&Document::from(json!("add to cart")))).is_ok());
        for bad in [json!(""), json!("   "), json!("login "), json!(1)] {
            assert!(
                read_name(&Node::root(&Document::from(bad.clone()))).is_err(),
                "{bad}"
            );
        }
    }
}
