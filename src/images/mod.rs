//! Popup images on the device: which images the active pack's popups want,
//! where they are kept (the data directory's `images/` folder, one file per
//! image named by the SHA-256 of its bytes) and the index from URL to file.
//!
//! The `reach-network` thread is the only writer of that folder
//! (`fetch.rs` downloads, `cache.rs` writes and deletes); the worker only
//! keeps the index (in `meta`, with its other state) and hands the host a
//! file's path with a popup. Nothing here touches SQLite or calls the host.

pub mod cache;
pub mod fetch;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::rules::RulePack;

/// The largest image Reach downloads, in bytes. A full-screen JPEG or WebP
/// at phone resolution is 200–600 KB; 2 MB leaves room for a PNG, while one
/// wrong URL (a video, an uncompressed original) cannot make a phone
/// download, and hold in memory (a transport returns the body whole), tens
/// of megabytes.
pub const MAX_IMAGE_BYTES: u64 = 2 * 1024 * 1024;

/// The most bytes the image cache holds. Ten images at the size limit, more
/// than the handful of campaigns live at once use; the data directory is
/// never purged by the OS and counts in the app's storage size the user
/// sees, so it must stay small. Images past it are not downloaded (their
/// popups follow `image_missing`).
pub const MAX_IMAGE_CACHE_BYTES: u64 = 20 * 1024 * 1024;

/// The most images one pack's popups may have downloaded: each is a
/// request on the network thread when the pack becomes active, and a pack
/// of thousands of campaigns must not turn a pack change into thousands of
/// downloads.
pub const MAX_IMAGES_PER_PACK: usize = 100;

/// The cache's folder inside the data directory.
pub const IMAGE_DIR: &str = "images";

/// One cached image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CachedImage {
    /// Lowercase hex SHA-256 of the bytes: the file's name.
    pub sha256: String,
    pub bytes: u64,
}

/// Which file holds the image of which URL.
pub type ImageIndex = BTreeMap<String, CachedImage>;

/// The cache folder of a data directory.
pub fn image_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(IMAGE_DIR)
}

/// Where the image with this hash lives.
pub fn image_path(data_dir: &Path, sha256: &str) -> PathBuf {
    image_dir(data_dir).join(sha256)
}

/// True for the URLs Reach downloads: `https:` only (popup URLs may also
/// use the app's own schemes, which only the app can resolve).
pub fn is_downloadable(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// The https images of a pack's popups (every campaign's own, its
/// variants' and its sold-out popup), each once, in pack order, at most
/// [`MAX_IMAGES_PER_PACK`]. Runs when a pack becomes active, never per event.
pub fn wanted_urls(pack: &RulePack) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let popups = pack.campaigns().iter().flat_map(|c| {
        std::iter::once(&c.popup)
            .chain(
                c.variants
                    .iter()
                    .flat_map(|v| v.arms.iter().filter_map(|a| a.popup.as_ref())),
            )
            .chain(c.inventory.iter().filter_map(|i| i.sold_out.as_ref()))
    });
    for url in popups.filter_map(|p| p.image_url.as_deref()) {
        if is_downloadable(url) && !out.iter().any(|u| u == url) {
            if out.len() == MAX_IMAGES_PER_PACK {
                break;
            }
            out.push(url.to_owned());
        }
    }
    out
}

/// The index as the worker stores it (JSON in `meta`).
pub fn index_to_json(index: &ImageIndex) -> String {
    serde_json::to_string(index).unwrap_or_else(|_| "{}".into())
}

/// A stored index; an unreadable one is empty (the images are downloaded
/// again, and the orphan files removed by the next clean-up).
pub fn index_from_json(json: &str) -> ImageIndex {
    serde_json::from_str(json).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_images_are_downloaded() {
        assert!(is_downloadable("https://cdn.example.com/a.png"));
        assert!(is_downloadable("HTTPS://cdn.example.com/a.png"));
        assert!(!is_downloadable("myapp://a.png"));
        assert!(!is_downloadable("https:"));
    }

    #[test]
    fn a_damaged_index_reads_as_empty() {
        let mut index = ImageIndex::new();
        index.insert(
            "https://a/x.png".into(),
            CachedImage {
                sha256: "ab".into(),
                bytes: 3,
            },
        );
        assert_eq!(index_from_json(&index_to_json(&index)), index);
        assert!(index_from_json("{not json").is_empty());
    }
}
