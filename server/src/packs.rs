//! `GET /v1/rule-pack?name=NAME`: serves `PACKS_DIR/NAME.json` byte for byte, with an ETag and a signature.
//!
//! The file is read on every request (packs are small, and an operator editing it sees the change at once,
//! with a new ETag). The signature is over the exact bytes served: made with the server's key when it has one,
//! else read from `NAME.json.sig` beside the pack. This module never modifies a pack.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::keys::sign_with_seed;

/// The pack served when the query names none.
pub const DEFAULT_PACK: &str = "default";

/// Pack names are file stems; limiting them to `[A-Za-z0-9_.-]`, not starting with a dot, keeps a name from
/// reaching outside the packs directory (`../`, absolute paths) or at hidden files.
const MAX_NAME_LEN: usize = 128;

/// How long a client may reuse a pack without asking (docs/protocol.md: `Cache-Control: max-age=600`).
pub const CACHE_CONTROL: &str = "max-age=600";

/// What a pack request gets.
#[derive(Debug, PartialEq, Eq)]
pub enum PackAnswer {
    /// `200` with the body.
    Fresh {
        body: Vec<u8>,
        etag: String,
        signature: Option<String>,
    },
    /// `304`: the client's `If-None-Match` is the current ETag.
    NotModified { etag: String },
}

/// The pack name from a query string (`name=NAME`, default `default`).
pub fn name_from_query(query: Option<&str>) -> Result<String, ApiError> {
    let name = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "name")
        .map_or(DEFAULT_PACK, |(_, v)| v);
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if valid {
        Ok(name.to_string())
    } else {
        Err(ApiError::invalid_request(format!(
            "pack name {name:?} must be 1-{MAX_NAME_LEN} of [A-Za-z0-9_.-], not starting with '.'"
        )))
    }
}

/// `"` + the first 32 hex characters of SHA-256 of the body + `"` (quotes included, as sent in the header).
pub fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether an `If-None-Match` header names this ETag (a list, a weak `W/` form, or `*` also match).
pub(crate) fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

/// Answers a pack request.
pub fn serve(
    packs_dir: Option<&Path>,
    seed: Option<&[u8; 32]>,
    name: &str,
    if_none_match: Option<&str>,
) -> Result<PackAnswer, ApiError> {
    let dir = packs_dir
        .ok_or_else(|| ApiError::not_found("this server serves no rule packs (no --packs)"))?;
    let path = dir.join(format!("{name}.json"));
    let body = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::not_found(format!("no rule pack named {name:?}")))
        }
        Err(e) => {
            return Err(ApiError::internal(format!(
                "cannot read pack {name:?}: {e}"
            )))
        }
    };
    let etag = etag(&body);
    if if_none_match.is_some_and(|h| matches(h, &etag)) {
        return Ok(PackAnswer::NotModified { etag });
    }
    let signature = match seed {
        Some(seed) => Some(sign_with_seed(seed, &body)),
        None => read_signature_file(dir, name)?,
    };
    Ok(PackAnswer::Fresh {
        body,
        etag,
        signature,
    })
}

/// The signature in `NAME.json.sig` (first line, trimmed), if that file exists.
fn read_signature_file(dir: &Path, name: &str) -> Result<Option<String>, ApiError> {
    match std::fs::read_to_string(dir.join(format!("{name}.json.sig"))) {
        Ok(text) => Ok(text
            .lines()
            .next()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ApiError::internal(format!(
            "cannot read signature of {name:?}: {e}"
        ))),
    }
}

/// The prize limit per person of `campaign_id`, as the packs in `packs_dir` declare it: the campaign's
/// `inventory.per_user` (1 when its inventory names none, as on the device). `None` when no served pack has the
/// campaign with an inventory (the server then knows no limit). Read at each claim, so a pack replaced on disk
/// takes effect at once; claims are rare, and a pack is at most a few hundred KB.
pub fn per_user_limit(packs_dir: Option<&Path>, campaign_id: &str) -> Option<u64> {
    let entries = std::fs::read_dir(packs_dir?).ok()?;
    let mut limit: Option<u64> = None;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let Some(pack) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        else {
            continue;
        };
        let campaigns = pack["campaigns"].as_array().into_iter().flatten();
        for c in campaigns.filter(|c| c["id"] == campaign_id) {
            if let Some(inventory) = c.get("inventory").filter(|i| i.is_object()) {
                let n = inventory["per_user"].as_u64().unwrap_or(1);
                // Two packs naming the campaign: the stricter limit holds.
                limit = Some(limit.map_or(n, |l| l.min(n)));
            }
        }
    }
    limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_etag_is_32_hex_characters_in_quotes() {
        // SHA-256("") = e3b0c442 98fc1c14 9afbf4c8 996fb924 ...
        assert_eq!(etag(b""), "\"e3b0c44298fc1c149afbf4c8996fb924\"");
    }

    #[test]
    fn names_cannot_leave_the_packs_directory() {
        assert_eq!(name_from_query(None).unwrap(), "default");
        assert_eq!(
            name_from_query(Some("x=1&name=spring-2026")).unwrap(),
            "spring-2026"
        );
        for bad in [
            "name=../etc/passwd",
            "name=.hidden",
            "name=",
            "name=a%2Fb",
            "name=a/b",
        ] {
            assert_eq!(name_from_query(Some(bad)).unwrap_err().status, 400, "{bad}");
        }
    }

    #[test]
    fn if_none_match_accepts_lists_and_weak_tags() {
        let tag = "\"abc\"";
        assert!(matches("\"abc\"", tag));
        assert!(matches("\"x\", W/\"abc\"", tag));
        assert!(matches("*", tag));
        assert!(!matches("\"abd\"", tag));
    }

    #[test]
    fn no_packs_directory_means_not_found() {
        assert_eq!(
            serve(None, None, "default", None).unwrap_err().code,
            "not_found"
        );
    }
}
