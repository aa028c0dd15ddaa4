//! Prize inventory (added in format 1.1): a popup that promises a prize from a
//! limited stock is shown only after the device has claimed one from the
//! server, so that nobody is promised a prize that is gone.
//!
//! This module reads the campaign's policy; the engine claims and releases
//! prizes through its `ClaimClient`.

use super::error::FieldError;
use super::popup::{Popup, PopupContext};
use super::reader::Node;

/// A campaign's prize inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    /// Prizes one person may receive from this campaign. Default 1.
    pub per_user: u32,
    pub offline: OfflinePolicy,
    /// Shown instead when the stock is exhausted; `None`: nothing is shown.
    pub sold_out: Option<Popup>,
}

/// What to do when the claim gets no answer (offline, time-out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfflinePolicy {
    /// Show nothing: never promise what may be gone (the default).
    Skip,
    /// Show the popup without a claimed prize; the host settles it later.
    ShowUnclaimed,
}

impl OfflinePolicy {
    pub fn name(self) -> &'static str {
        match self {
            OfflinePolicy::Skip => "skip",
            OfflinePolicy::ShowUnclaimed => "show_unclaimed",
        }
    }
}

impl Inventory {
    /// `{"per_user": 1, "offline": "skip", "sold_out": POPUP}`, all optional.
    pub(crate) fn read(node: Node, popups: PopupContext) -> Result<Inventory, FieldError> {
        let object = node.object(&["per_user", "offline", "sold_out"])?;
        let offline = object.optional("offline", |n| match n.str()? {
            "skip" => Ok(OfflinePolicy::Skip),
            "show_unclaimed" => Ok(OfflinePolicy::ShowUnclaimed),
            other => Err(n.error(format!(
                "unknown offline policy \"{other}\" (expected \"skip\" or \"show_unclaimed\")"
            ))),
        })?;
        Ok(Inventory {
            per_user: object.optional("per_user", |n| n.count(1))?.unwrap_or(1),
            offline: offline.unwrap_or(OfflinePolicy::Skip),
            sold_out: object.optional("sold_out", |n| Popup::read(n, popups))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::json::Document;
    use serde_json::json;

    fn read(json: serde_json::Value) -> Result<Inventory, String> {
        let doc = Document::from(json!({ "inventory": json }));
        let root = Node::root(&doc);
        let object = root.map().unwrap();
        Inventory::read(
            object.required("inventory").unwrap(),
            PopupContext::default(),
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn everything_is_optional_one_prize_each_and_skip_when_offline() {
        assert_eq!(
            read(json!({})),
            Ok(Inventory {
                per_user: 1,
                offline: OfflinePolicy::Skip,
                sold_out: None
            })
        );
        let i = read(json!({"per_user": 3, "offline": "show_unclaimed",
                            "sold_out": {"template": "banner", "title": "All gone"}}))
        .unwrap();
        assert_eq!((i.per_user, i.offline), (3, OfflinePolicy::ShowUnclaimed));
        assert_eq!(i.offline.name(), "show_unclaimed");
        assert!(i.sold_out.is_some());
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            read(json!({"per_user": 0})).unwrap_err(),
            "inventory.per_user: must be at least 1, found 0"
        );
        assert_eq!(
            read(json!({"offline": "show"})).unwrap_err(),
            "inventory.offline: unknown offline policy \"show\" (expected \"skip\" or \"show_unclaimed\")"
        );
        assert_eq!(
            read(json!({"sold_out": {"template": "modal"}})).unwrap_err(),
            "inventory.sold_out: a modal popup needs a \"title\" or a \"body\""
        );
        assert!(read(json!({"claim": true}))
            .unwrap_err()
            .starts_with("inventory: unknown key \"claim\""));
    }
}
