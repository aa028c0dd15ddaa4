//! The worker's side of popup images: it stores the index the network
//! thread reports (in `meta`, committed with everything else), and gives
//! each offered popup the local path of its image — or holds the popup
//! back when its image is missing and its pack says `hold_back`.
//!
//! Never reads or writes image files (the network thread owns the folder);
//! it only checks that a file named in the index is there before handing
//! its path to the host.

use super::Worker;
use crate::images::{self, ImageIndex};
use crate::popup::OfferContent;
use crate::rules::{ImageMissing, Popup};

/// Where the image index lives in `meta`.
const META_IMAGE_CACHE: &str = "image_cache";

impl Worker {
    pub(super) fn restore_images(&mut self) {
        self.images = self
            .store
            .meta_get(META_IMAGE_CACHE)
            .ok()
            .flatten()
            .map(|j| images::index_from_json(&j))
            .unwrap_or_default();
    }

    /// The network thread wrote or deleted image files. A kill before the
    /// commit leaves the files without their entries: the network thread
    /// downloads them again (same hash, same file) or deletes them.
    pub(super) fn images_cached(&mut self, index: ImageIndex) {
        let r = if index.is_empty() {
            self.store.meta_delete(META_IMAGE_CACHE)
        } else {
            self.store
                .meta_set(META_IMAGE_CACHE, &images::index_to_json(&index))
        };
        self.log_store_error("save the image index", r);
        self.images = index;
    }

    /// The local file of this popup's image, if it is cached and there.
    fn cached_image_path(&self, popup: &Popup) -> Option<String> {
        let url = popup.image_url.as_deref()?;
        let image = self.images.get(url)?;
        let path = images::image_path(&self.config.data_dir, &image.sha256);
        std::fs::metadata(&path)
            .is_ok_and(|m| m.len() == image.bytes)
            .then(|| path.to_string_lossy().into_owned())
    }

    /// Why this popup may not be offered now: its image is missing and it
    /// waits for it. Costs nothing for popups without an image.
    pub(super) fn held_back_for_image(&self, popup: &Popup) -> Option<String> {
        if popup.image_missing != ImageMissing::HoldBack || popup.image_url.is_none() {
            return None;
        }
        match self.cached_image_path(popup) {
            Some(_) => None,
            None => Some(format!(
                "not offered: its image {} is not on the device yet (image_missing: hold_back)",
                popup.image_url.as_deref().unwrap_or_default()
            )),
        }
    }

    /// Gives the offer its image's local path; `Err` with the reason when
    /// the popup is held back for its image.
    pub(super) fn attach_image(
        &self,
        content: &mut OfferContent,
        popup: &Popup,
    ) -> Result<(), String> {
        if popup.image_url.is_none() {
            return Ok(());
        }
        if let Some(why) = self.held_back_for_image(popup) {
            return Err(why);
        }
        content.image_path = self.cached_image_path(popup);
        Ok(())
    }
}
