//! What the host app tells Reach when it opens it.
//!
//! Limits carry their reason here, next to their default, so a reader sees why
//! a number is what it is.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::transport::Transport;

/// Whether the user agreed to analytics. Reach starts in the state the app
/// passes at open and persists every change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// Record and (with the sync work) upload.
    Granted,
    /// Record locally, never upload: the app asks the user later.
    Pending,
    /// Record nothing, and delete what was recorded.
    Denied,
}

impl Consent {
    pub fn as_str(self) -> &'static str {
        match self {
            Consent::Granted => "granted",
            Consent::Pending => "pending",
            Consent::Denied => "denied",
        }
    }

    pub fn parse(s: &str) -> Option<Consent> {
        match s {
            "granted" => Some(Consent::Granted),
            "pending" => Some(Consent::Pending),
            "denied" => Some(Consent::Denied),
            _ => None,
        }
    }
}

/// Describes the app and device; copied into every event's `context`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppInfo {
    pub app_version: String,
    pub build: String,
    pub platform: String,
    pub os_version: String,
    pub locale: String,
    /// IANA zone name, e.g. `Asia/Shanghai`.
    pub timezone: String,
}

/// How many events may wait on the device for upload.
///
/// Defaults follow Glean's pending-data cap (it keeps at most 50 MB of pending
/// pings and drops the oldest): 10 MB holds roughly 50,000 typical events of
/// ~200 bytes, which is weeks of offline use for a heavy user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    pub max_events: u64,
    pub max_bytes: u64,
}

pub const DEFAULT_MAX_QUEUED_EVENTS: u64 = 50_000;
pub const DEFAULT_MAX_QUEUED_BYTES: u64 = 10 * 1024 * 1024;

impl Default for QueueLimits {
    fn default() -> Self {
        QueueLimits {
            max_events: DEFAULT_MAX_QUEUED_EVENTS,
            max_bytes: DEFAULT_MAX_QUEUED_BYTES,
        }
    }
}

/// A new session starts when the app returns after this long in the
/// background; 30 minutes is the industry convention (Segment, Amplitude,
/// Firebase) so dashboards agree across tools.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// How long `flush()` and `onBackground()` wait for the worker. One second
/// stays well inside the ~5 s Android gives before an ANR, while a group
/// commit normally takes a few milliseconds.
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub app: AppInfo,
    pub queue: QueueLimits,
    /// Consent at first open; later opens use the persisted state.
    pub initial_consent: Consent,
    /// Debug builds: bad input returns an error instead of being counted.
    pub strict: bool,
    pub record_app_open: bool,
    pub session_timeout: Duration,
    pub flush_timeout: Duration,
    /// A rule pack shipped inside the app, active until a pack is loaded or
    /// synced, so the first launch works offline.
    pub bundled_rule_pack: Option<String>,
    /// Where to upload events and sync rule packs. `None`: Reach never
    /// touches the network (no network thread is started).
    pub server: Option<ServerConfig>,
    /// The URL schemes of the app's own links (`myapp`, without the colon).
    /// Given, a popup's image and deep-link URLs must be `https:` or one of
    /// these, so a pack cannot send people into another app. Empty (the
    /// default): any scheme but the always-refused ones (`javascript:`,
    /// `data:`, `file:`, plain `http:`, docs/rule-pack.md).
    pub app_url_schemes: Vec<String>,
    /// Download popup images while consent is not granted. Off by default:
    /// a download shows the device (its address, the time) to the image
    /// host, so it waits for consent like an upload (docs/architecture.md).
    pub images_without_consent: bool,
    /// Derive anonymous ids from this seed and the clock instead of the OS's
    /// randomness, so a simulator or test on virtual time meets the same
    /// people (and A/B buckets) on every run. `None` (the default) in apps:
    /// two devices with one seed and one clock would be one person.
    pub id_seed: Option<u64>,
}

/// Segment's mobile libraries flush at 20 events: a few screens of use, so
/// data is fresh without a request per tap.
pub const DEFAULT_FLUSH_AT: u64 = 20;
/// Segment's flush interval: a session's events reach the server within half
/// a minute while the app is in use.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(30);
/// The protocol's limit on a request body before compression.
pub const DEFAULT_MAX_BATCH_BYTES: usize = 512_000;
/// Events per request: 500 typical events are ~200 KB of JSON, ~25 KB
/// gzipped — one quick request even on a slow network, and a retry after a
/// lost answer resends little.
pub const DEFAULT_MAX_BATCH_EVENTS: usize = 500;
/// Rule packs change a few times a day at most; polling every 10 minutes
/// makes a new campaign live quickly without a request per foreground.
pub const DEFAULT_MIN_PACK_INTERVAL: Duration = Duration::from_secs(10 * 60);
/// An upload or pack request that takes longer than this is abandoned (and
/// retried): long enough for 500 KB on a poor 2G link, short enough that one
/// dead connection does not hold the queue for minutes.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The Reach server this app talks to (see docs/upload.md).
#[derive(Clone)]
pub struct ServerConfig {
    /// e.g. `https://reach.example.com` (no trailing `/v1`).
    pub base_url: String,
    /// Sent as HTTP Basic user name on uploads.
    pub write_key: String,
    /// Standard base64 Ed25519 public keys; a synced pack must verify with
    /// one of them (several: key rotation). Empty: pack sync is off.
    pub pack_public_keys: Vec<String>,
    pub pack_name: String,
    /// Upload as soon as this many events are stored.
    pub flush_at: u64,
    /// Upload this often while the app is in the foreground and events wait.
    pub flush_interval: Duration,
    pub max_batch_bytes: usize,
    pub max_batch_events: usize,
    /// Least time between two pack polls (a server `max-age` wins).
    pub min_pack_interval: Duration,
    pub request_timeout: Duration,
    /// How requests are sent; `None` uses the built-in ureq transport.
    pub transport: Option<Arc<dyn Transport>>,
}

impl ServerConfig {
    pub fn new(base_url: impl Into<String>, write_key: impl Into<String>) -> ServerConfig {
        ServerConfig {
            base_url: base_url.into(),
            write_key: write_key.into(),
            pack_public_keys: Vec::new(),
            pack_name: "default".into(),
            flush_at: DEFAULT_FLUSH_AT,
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            max_batch_events: DEFAULT_MAX_BATCH_EVENTS,
            min_pack_interval: DEFAULT_MIN_PACK_INTERVAL,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            transport: None,
        }
    }

    /// `base_url` joined with an absolute path such as `/v1/batch`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.trim_end_matches('/'))
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The write key stays out of logs and panics.
        f.debug_struct("ServerConfig")
            .field("base_url", &self.base_url)
            .field("pack_name", &self.pack_name)
            .field("flush_at", &self.flush_at)
            .field("flush_interval", &self.flush_interval)
            .field("custom_transport", &self.transport.is_some())
            .finish_non_exhaustive()
    }
}

impl Config {
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            app: AppInfo::default(),
            queue: QueueLimits::default(),
            initial_consent: Consent::Granted,
            strict: false,
            record_app_open: true,
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
            bundled_rule_pack: None,
            server: None,
            app_url_schemes: Vec::new(),
            images_without_consent: false,
            id_seed: None,
        }
    }
}
