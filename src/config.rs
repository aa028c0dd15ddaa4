//! What the host app tells Reach when it opens it.
//!
//! Limits carry their reason here, next to their default, so a reader sees why
//! a number is what it is.

use std::path::PathBuf;
use std::time::Duration;

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
        }
    }
}
