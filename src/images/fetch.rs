//! Downloads the active pack's popup images into the cache, on the
//! `reach-network` thread, through the instance's transport (the host's own
//! HTTP stack when it passed one), one request at a time.
//!
//! Each image is asked for once per pack and foreground: a failure (offline,
//! a 404, an image over [`MAX_IMAGE_BYTES`]) waits for the next foreground
//! or pack, so a broken URL never turns into a request loop. It never calls
//! the host's log sink (its caller forwards the lines to the worker).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::cache::ImageCache;
use super::{ImageIndex, MAX_IMAGE_BYTES, MAX_IMAGE_CACHE_BYTES};
use crate::transport::{HttpRequest, Method, Transport, TransportErrorKind};

pub struct ImageFetcher {
    cache: ImageCache,
    transport: Arc<dyn Transport>,
    timeout: Duration,
    index: ImageIndex,
    /// The active pack's https images, in pack order; `None` until the
    /// worker has said which pack is active (nothing is deleted before).
    wanted: Option<Vec<String>>,
    /// Tried since the last foreground or pack, and failed.
    failed: BTreeSet<String>,
}

impl ImageFetcher {
    /// `index` is what the worker has stored; entries whose file is gone
    /// are dropped (and downloaded again if still wanted).
    pub fn new(
        data_dir: &Path,
        transport: Arc<dyn Transport>,
        timeout: Duration,
        mut index: ImageIndex,
    ) -> ImageFetcher {
        let cache = ImageCache::new(data_dir);
        index.retain(|_, image| cache.holds(image));
        ImageFetcher {
            cache,
            transport,
            timeout,
            index,
            wanted: None,
            failed: BTreeSet::new(),
        }
    }

    pub fn index(&self) -> &ImageIndex {
        &self.index
    }

    /// A pack became active with these images: forgets the others and
    /// deletes their files. Returns whether the index changed.
    pub fn set_wanted(&mut self, urls: Vec<String>) -> bool {
        let before = self.index.len();
        self.index.retain(|url, _| urls.contains(url));
        self.cache.remove_unused(&self.index);
        self.wanted = Some(urls);
        self.failed.clear();
        self.index.len() != before
    }

    /// At foreground: the images that failed may be tried again.
    pub fn retry_failed(&mut self) {
        self.failed.clear();
    }

    /// True when an image is wanted, not cached, and not failed yet.
    pub fn has_work(&self) -> bool {
        self.next_missing().is_some()
    }

    fn next_missing(&self) -> Option<&String> {
        self.wanted
            .as_ref()?
            .iter()
            .find(|u| !self.index.contains_key(*u) && !self.failed.contains(*u))
    }

    /// Downloads one missing image. Returns `None` when nothing is left
    /// to do, else whether it was cached and, if not, why.
    pub fn fetch_next(&mut self) -> Option<Result<String, String>> {
        let url = self.next_missing()?.clone();
        let outcome = self.download(&url);
        Some(match outcome {
            Ok(()) => Ok(url),
            Err(why) => {
                self.failed.insert(url.clone());
                Err(format!("popup image {url} not cached: {why}"))
            }
        })
    }

    fn download(&mut self, url: &str) -> Result<(), String> {
        let held: u64 = self.index.values().map(|i| i.bytes).sum();
        if held >= MAX_IMAGE_CACHE_BYTES {
            return Err(format!(
                "the image cache holds its {MAX_IMAGE_CACHE_BYTES} bytes already"
            ));
        }
        let request = HttpRequest {
            method: Method::Get,
            url: url.to_owned(),
            headers: vec![("Accept".into(), "image/*".into())],
            body: Vec::new(),
            timeout: self.timeout,
            max_response_bytes: MAX_IMAGE_BYTES,
        };
        let response = match self.transport.send(request) {
            Ok(r) => r,
            Err(e) if e.kind == TransportErrorKind::ResponseTooLarge => {
                return Err(format!(
                    "larger than the {MAX_IMAGE_BYTES} bytes an image may have"
                ))
            }
            Err(e) => return Err(e.to_string()),
        };
        if response.status != 200 {
            return Err(format!("HTTP {}", response.status));
        }
        // A captive portal or proxy answers 200 with its own page.
        if let Some(t) = response.header("Content-Type") {
            if !t.trim_start().to_ascii_lowercase().starts_with("image/") {
                return Err(format!("the answer is {t}, not an image"));
            }
        }
        let bytes = response.body.len() as u64;
        if bytes == 0 {
            return Err("the answer is empty".into());
        }
        if bytes > MAX_IMAGE_BYTES {
            return Err(format!(
                "{bytes} bytes, more than the {MAX_IMAGE_BYTES} an image may have"
            ));
        }
        if held + bytes > MAX_IMAGE_CACHE_BYTES {
            return Err(format!(
                "it would take the image cache past its {MAX_IMAGE_CACHE_BYTES} bytes"
            ));
        }
        let image = self
            .cache
            .store(&response.body)
            .map_err(|e| format!("cannot write it to the data directory: {e}"))?;
        self.index.insert(url.to_owned(), image);
        Ok(())
    }
}
