//! The image files on disk: written atomically (a temporary file, synced,
//! then renamed to the SHA-256 of its bytes), so a kill leaves either the
//! whole image or none, never a torn one under a real name; and cleaned up
//! against the index, so files no active popup uses (and temporary files a
//! kill left behind) are deleted.
//!
//! Used only on the `reach-network` thread, the folder's only writer.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{image_dir, CachedImage, ImageIndex};

/// Temporary files start with this; a real file's name is 64 hex digits.
const TEMP_PREFIX: &str = ".part-";

pub struct ImageCache {
    dir: PathBuf,
}

impl ImageCache {
    pub fn new(data_dir: &Path) -> ImageCache {
        ImageCache {
            dir: image_dir(data_dir),
        }
    }

    /// Writes `bytes` under their hash (if that file is not there yet).
    pub fn store(&self, bytes: &[u8]) -> std::io::Result<CachedImage> {
        let sha256 = hex(&Sha256::digest(bytes));
        let path = self.dir.join(&sha256);
        let image = CachedImage {
            sha256,
            bytes: bytes.len() as u64,
        };
        if fs::metadata(&path).is_ok_and(|m| m.len() == image.bytes) {
            return Ok(image);
        }
        fs::create_dir_all(&self.dir)?;
        let temp = self
            .dir
            .join(format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple()));
        let written = (|| {
            let mut f = fs::File::create(&temp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&temp, &path)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written?;
        // The rename is durable once the folder is synced (best effort:
        // not every platform lets a folder be opened for it).
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(image)
    }

    /// True when the image's file is there, whole.
    pub fn holds(&self, image: &CachedImage) -> bool {
        fs::metadata(self.dir.join(&image.sha256)).is_ok_and(|m| m.len() == image.bytes)
    }

    /// Deletes every file in the folder that no index entry names
    /// (temporary files included). Returns how many were deleted.
    pub fn remove_unused(&self, index: &ImageIndex) -> usize {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return 0;
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !index.values().any(|i| i.sha256 == name) && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_is_stored_under_the_hash_of_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ImageCache::new(dir.path());
        let image = cache.store(b"abc").unwrap();
        assert_eq!(
            image.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let path = super::super::image_path(dir.path(), &image.sha256);
        assert_eq!(fs::read(path).unwrap(), b"abc");
        assert!(cache.holds(&image));
        // The same bytes again: the same file, nothing else written.
        assert_eq!(cache.store(b"abc").unwrap(), image);
        assert_eq!(fs::read_dir(image_dir(dir.path())).unwrap().count(), 1);
    }

    #[test]
    fn files_no_entry_names_are_removed_with_leftover_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ImageCache::new(dir.path());
        let kept = cache.store(b"kept").unwrap();
        let dropped = cache.store(b"dropped").unwrap();
        // What a kill mid-write leaves.
        fs::write(image_dir(dir.path()).join(".part-123"), b"half").unwrap();
        let mut index = ImageIndex::new();
        index.insert("https://a/kept.png".into(), kept.clone());
        assert_eq!(cache.remove_unused(&index), 2);
        assert!(cache.holds(&kept));
        assert!(!cache.holds(&dropped));
    }
}
