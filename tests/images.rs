//! Popup images against a loopback server: downloaded after a sync and
//! offered from the cache with no network, a 404 holding a popup back (or
//! not, as its pack says), an image over the size limit refused, files no
//! popup uses any more deleted, and nothing fetched before consent.
//!
//! The pack's images are `https://cdn.test/img/…`: the transport routes that
//! host to the loopback server (plain HTTP on 127.0.0.1), as an app's own
//! HTTP stack could; a pack may not name a plain-HTTP image.

mod common;
mod net_support;

use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use net_support::{public_key_b64, signed_pack, CdnOnLoopback, Switchable, TestServer, CDN};
use reach::images::{self, ImageIndex, MAX_IMAGE_BYTES};
use reach::popup::{Answer, OfferContent, Presenter};
use reach::store::{database_path, Store};
use reach::{Config, Consent, ServerConfig};
use sha2::{Digest, Sha256};

const WAIT: Duration = Duration::from_secs(20);

/// A pack whose campaigns (id, trigger, image name, image_missing) each
/// show one image.
fn pack(version: u64, campaigns: &[(&str, &str, &str, &str)]) -> String {
    let campaigns: Vec<String> = campaigns
        .iter()
        .map(|(id, trigger, image, missing)| {
            format!(
                r#"{{"id": "{id}", "trigger": {{"event": "{trigger}"}},
                   "popup": {{"template": "modal", "title": "Sale", "image_url": "{CDN}/img/{image}",
                              "image_missing": "{missing}"}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"format": "1.1", "revision": "r{version}", "version": {version}, "campaigns": [{}]}}"#,
        campaigns.join(",")
    )
}

fn image_config(dir: &Path, server: &TestServer, t: Arc<Switchable>) -> Config {
    let mut c = config(dir);
    c.record_app_open = false;
    let mut s = ServerConfig::new(server.url(), "wk");
    s.pack_public_keys = vec![public_key_b64(1)];
    s.min_pack_interval = Duration::ZERO;
    s.request_timeout = Duration::from_secs(5);
    s.transport = Some(t);
    c.server = Some(s);
    c
}

fn transport(server: &TestServer, kind: net_support::TransportKind) -> Arc<Switchable> {
    Switchable::new(Arc::new(CdnOnLoopback {
        inner: net_support::transport(kind),
        server_url: server.url(),
    }))
}

/// The image index the worker has committed (empty before the database
/// is created).
fn stored_index(dir: &Path) -> ImageIndex {
    Store::open_reader(&database_path(dir))
        .and_then(|store| store.meta_get("image_cache"))
        .ok()
        .flatten()
        .map(|j| images::index_from_json(&j))
        .unwrap_or_default()
}

fn wait_index(dir: &Path, what: &str, f: impl Fn(&ImageIndex) -> bool) -> ImageIndex {
    let start = Instant::now();
    loop {
        let index = stored_index(dir);
        if f(&index) {
            return index;
        }
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {what}: {index:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn wait_log(o: &Opened, needle: &str) {
    let start = Instant::now();
    while !o.log.contains(needle) {
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for log {needle:?}: {:?}",
            o.log.lines.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn url(name: &str) -> String {
    format!("{CDN}/img/{name}")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Hands every offer to the test and discards it.
struct Offers(Mutex<Sender<OfferContent>>);

impl Presenter for Offers {
    fn offer(&self, c: &OfferContent) -> Result<Answer, String> {
        let _ = self.0.lock().unwrap().send(c.clone());
        Ok(Answer::Discard)
    }
}

fn offers(o: &Opened) -> Receiver<OfferContent> {
    let (tx, rx) = mpsc::channel();
    o.tracker
        .set_presenter(Some(Arc::new(Offers(Mutex::new(tx)))))
        .unwrap();
    rx
}

/// A fake PNG: the cache does not look inside.
fn png(seed: u8, len: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend((0..len.saturating_sub(8)).map(|i| (i as u8).wrapping_mul(seed)));
    b
}

fn the_first_offer_works_offline_after_one_sync(kind: net_support::TransportKind) {
    let server = TestServer::start();
    let hero = png(7, 50_000);
    server
        .state()
        .images
        .insert("hero.png".into(), ("image/png", hero.clone()));
    server.state().pack = Some(signed_pack(
        &pack(1, &[("cart", "add_to_cart", "hero.png", "hold_back")]),
        1,
    ));
    let dir = tempfile::tempdir().unwrap();
    let t = transport(&server, kind);
    let o = open_with(image_config(dir.path(), &server, t.clone()));
    let index = wait_index(dir.path(), "the image cached", |i| {
        i.contains_key(&url("hero.png"))
    });
    assert_eq!(index[&url("hero.png")].sha256, sha256_hex(&hero));
    assert!(o.tracker.close());
    drop(o);

    // Next launch, no network at all.
    t.offline.store(true, std::sync::atomic::Ordering::SeqCst);
    let o = open_with(image_config(dir.path(), &server, t.clone()));
    let rx = offers(&o);
    o.tracker.track("add_to_cart".into(), vec![]).unwrap();
    let offer = rx.recv_timeout(WAIT).expect("offered offline");
    assert_eq!(offer.campaign_id, "cart");
    assert_eq!(offer.image_url.as_deref(), Some(url("hero.png").as_str()));
    let path = offer.image_path.expect("a local path");
    assert!(path.starts_with(&*dir.path().to_string_lossy()), "{path}");
    assert!(path.ends_with(&sha256_hex(&hero)), "{path}");
    assert_eq!(std::fs::read(&path).unwrap(), hero);
    assert_eq!(server.state().image_requests, vec!["/img/hero.png"]);
}
both_transports!(
    the_first_offer_works_offline_after_one_sync,
    the_first_offer_works_offline_after_one_sync
);

#[test]
fn a_missing_image_holds_its_popup_back_or_shows_it_without_as_the_pack_says() {
    let server = TestServer::start();
    // Neither image exists: both answer 404.
    server.state().pack = Some(signed_pack(
        &pack(
            1,
            &[
                ("wheel", "open_wheel", "wheel.png", "hold_back"),
                ("sale", "open_sale", "sale.png", "show_without_image"),
            ],
        ),
        1,
    ));
    let dir = tempfile::tempdir().unwrap();
    let t = transport(&server, net_support::TransportKind::Ureq);
    let o = open_with(image_config(dir.path(), &server, t));
    wait_log(
        &o,
        &format!("popup image {} not cached: HTTP 404", url("sale.png")),
    );
    wait_log(
        &o,
        &format!("popup image {} not cached: HTTP 404", url("wheel.png")),
    );
    let rx = offers(&o);
    o.tracker.track("open_wheel".into(), vec![]).unwrap();
    o.tracker.track("open_sale".into(), vec![]).unwrap();
    let offer = rx.recv_timeout(WAIT).expect("the sale popup");
    assert_eq!(offer.campaign_id, "sale");
    assert_eq!(offer.image_path, None);
    assert_eq!(offer.image_url.as_deref(), Some(url("sale.png").as_str()));
    let why = o.tracker.explain("wheel").unwrap();
    assert!(
        why.reasons
            .iter()
            .any(|r| r.contains("is not on the device yet (image_missing: hold_back)")),
        "{why:?}"
    );
    assert!(rx.try_recv().is_err(), "the wheel popup was held back");
    assert!(stored_index(dir.path()).is_empty());
}

fn an_image_over_the_size_limit_is_refused_and_one_at_the_limit_kept(
    kind: net_support::TransportKind,
) {
    let server = TestServer::start();
    let at_limit = png(3, MAX_IMAGE_BYTES as usize);
    let over = png(5, MAX_IMAGE_BYTES as usize + 1);
    {
        let mut s = server.state();
        s.images
            .insert("big.png".into(), ("image/png", at_limit.clone()));
        s.images.insert("huge.png".into(), ("image/png", over));
        // A captive portal's page is not an image either.
        s.images.insert(
            "portal.png".into(),
            ("text/html", b"<html>login</html>".to_vec()),
        );
        s.pack = Some(signed_pack(
            &pack(
                1,
                &[
                    ("a", "a", "huge.png", "hold_back"),
                    ("b", "b", "big.png", "hold_back"),
                    ("c", "c", "portal.png", "hold_back"),
                ],
            ),
            1,
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let t = transport(&server, kind);
    let o = open_with(image_config(dir.path(), &server, t));
    // A host transport that stops reading at the limit fails it as its
    // own error; either way the image is refused.
    wait_log(&o, &format!("popup image {} not cached: ", url("huge.png")));
    wait_log(
        &o,
        &format!(
            "popup image {} not cached: the answer is text/html, not an image",
            url("portal.png")
        ),
    );
    let index = wait_index(dir.path(), "the image at the limit", |i| {
        i.contains_key(&url("big.png"))
    });
    assert_eq!(index.len(), 1, "{index:?}");
    let files: Vec<_> = std::fs::read_dir(images::image_dir(dir.path()))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, vec![sha256_hex(&at_limit)]);
}
both_transports!(
    an_image_over_the_size_limit_is_refused_and_one_at_the_limit_kept,
    an_image_over_the_size_limit_is_refused_and_one_at_the_limit_kept
);

#[test]
fn images_no_popup_uses_any_more_are_deleted_and_kept_ones_not_fetched_again() {
    let server = TestServer::start();
    let (a, b, c) = (png(1, 1_000), png(2, 2_000), png(3, 3_000));
    {
        let mut s = server.state();
        s.images.insert("a.png".into(), ("image/png", a.clone()));
        s.images.insert("b.png".into(), ("image/png", b.clone()));
        s.images.insert("c.png".into(), ("image/png", c.clone()));
        s.pack = Some(signed_pack(
            &pack(
                1,
                &[
                    ("x", "x", "a.png", "show_without_image"),
                    ("y", "y", "b.png", "show_without_image"),
                ],
            ),
            1,
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let t = transport(&server, net_support::TransportKind::Ureq);
    let o = open_with(image_config(dir.path(), &server, t));
    wait_index(dir.path(), "a and b cached", |i| i.len() == 2);
    let file = |bytes: &[u8]| images::image_path(dir.path(), &sha256_hex(bytes));
    assert!(file(&a).exists() && file(&b).exists());

    server.state().pack = Some(signed_pack(
        &pack(
            2,
            &[
                ("y", "y", "b.png", "show_without_image"),
                ("z", "z", "c.png", "show_without_image"),
            ],
        ),
        1,
    ));
    // A foreground polls for the pack (min_pack_interval is zero here).
    o.tracker.on_foreground().unwrap();
    let index = wait_index(dir.path(), "b and c cached, a dropped", |i| {
        i.len() == 2 && i.contains_key(&url("c.png"))
    });
    assert!(index.contains_key(&url("b.png")), "{index:?}");
    assert!(!file(&a).exists(), "a's file is deleted");
    assert!(file(&b).exists() && file(&c).exists());
    let requests = server.state().image_requests.clone();
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.as_str() == "/img/b.png")
            .count(),
        1,
        "{requests:?}"
    );

    // A pack without images empties the cache.
    server.state().pack = Some(signed_pack(
        r#"{"format": "1.1", "version": 3, "campaigns": []}"#,
        1,
    ));
    o.tracker.on_foreground().unwrap();
    wait_index(dir.path(), "the cache emptied", |i| i.is_empty());
    assert_eq!(
        std::fs::read_dir(images::image_dir(dir.path()))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn images_wait_for_consent_unless_the_app_allows_them_without() {
    let server = TestServer::start();
    let hero = png(9, 4_000);
    server
        .state()
        .images
        .insert("hero.png".into(), ("image/png", hero.clone()));
    server.state().pack = Some(signed_pack(
        &pack(1, &[("cart", "add_to_cart", "hero.png", "hold_back")]),
        1,
    ));
    let dir = tempfile::tempdir().unwrap();
    let t = transport(&server, net_support::TransportKind::Ureq);
    let mut c = image_config(dir.path(), &server, t.clone());
    c.initial_consent = Consent::Pending;
    let o = open_with(c);
    let start = Instant::now();
    while o.tracker.diagnostics().pack_version != Some(1) {
        assert!(start.elapsed() < WAIT, "the pack never arrived");
        std::thread::sleep(Duration::from_millis(5));
    }
    // The network thread handles signals in order: once this upload round
    // trip is answered, it has seen the pack's images and left them alone.
    assert!(o.tracker.flush());
    o.tracker.upload_now(Duration::from_secs(5));
    assert!(server.state().image_requests.is_empty());
    o.tracker.set_consent(Consent::Granted).unwrap();
    wait_index(dir.path(), "the image after consent", |i| i.len() == 1);
    assert!(o.tracker.close());
    drop(o);

    // Allowed without consent: fetched while consent is pending.
    let dir = tempfile::tempdir().unwrap();
    let mut c = image_config(dir.path(), &server, t);
    c.initial_consent = Consent::Pending;
    c.images_without_consent = true;
    let _o = open_with(c);
    wait_index(dir.path(), "the image without consent", |i| i.len() == 1);
}
