//! The records and enums the bindings see, and their conversions to the
//! core's own types. Kept apart from the core so that a change of FFI shape
//! never ripples into the engine.

use std::collections::HashMap;
use std::sync::Arc;

use super::transport::{foreign_transport, HttpTransport};

use crate::{config, diagnostics, error, log, value::Value};

/// A property value. The Kotlin and Swift wrappers convert `Map<String, Any?>`
/// and `[String: Any]` into these; what they cannot convert arrives as
/// `UnsupportedValue` so the core can refuse it with a reason.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum PropertyValue {
    StringValue {
        value: String,
    },
    IntValue {
        value: i64,
    },
    FloatValue {
        value: f64,
    },
    BoolValue {
        value: bool,
    },
    /// Milliseconds since the Unix epoch, UTC.
    TimestampValue {
        epoch_ms: i64,
    },
    StringListValue {
        values: Vec<String>,
    },
    UnsupportedValue {
        type_name: String,
    },
}

impl From<PropertyValue> for Value {
    fn from(v: PropertyValue) -> Value {
        match v {
            PropertyValue::StringValue { value } => Value::String(value),
            PropertyValue::IntValue { value } => Value::Int(value),
            PropertyValue::FloatValue { value } => Value::Float(value),
            PropertyValue::BoolValue { value } => Value::Bool(value),
            PropertyValue::TimestampValue { epoch_ms } => Value::Timestamp(epoch_ms),
            PropertyValue::StringListValue { values } => Value::StringList(values),
            PropertyValue::UnsupportedValue { type_name } => Value::Unsupported(type_name),
        }
    }
}

pub fn properties(map: HashMap<String, PropertyValue>) -> Vec<(String, Value)> {
    map.into_iter().map(|(k, v)| (k, v.into())).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Consent {
    Granted,
    Pending,
    Denied,
}

impl From<Consent> for config::Consent {
    fn from(c: Consent) -> Self {
        match c {
            Consent::Granted => config::Consent::Granted,
            Consent::Pending => config::Consent::Pending,
            Consent::Denied => config::Consent::Denied,
        }
    }
}

impl From<config::Consent> for Consent {
    fn from(c: config::Consent) -> Self {
        match c {
            config::Consent::Granted => Consent::Granted,
            config::Consent::Pending => Consent::Pending,
            config::Consent::Denied => Consent::Denied,
        }
    }
}

/// The app and device, copied into every event's context.
#[derive(Debug, Clone, uniffi::Record)]
pub struct AppInfo {
    pub app_version: String,
    #[uniffi(default = "")]
    pub build: String,
    pub platform: String,
    pub os_version: String,
    /// BCP 47, e.g. `zh-CN`.
    pub locale: String,
    /// IANA zone, e.g. `Asia/Shanghai`.
    pub timezone: String,
}

/// How Reach is opened. Defaults are the core's named defaults (see
/// `config.rs` for the reasons behind each number).
#[derive(Clone, uniffi::Record)]
pub struct ReachConfig {
    /// A directory private to the app (Android `noBackupFilesDir/reach`, so
    /// an auto-backup never restores one device's queue and identity onto
    /// another; iOS Application Support/reach, excluded from backup). One
    /// Reach instance per directory.
    pub data_dir: String,
    pub app: AppInfo,
    /// Consent at first open; afterwards the persisted state wins.
    pub consent: Consent,
    #[uniffi(default = 50000)]
    pub max_queued_events: u64,
    #[uniffi(default = 10485760)]
    pub max_queued_bytes: u64,
    /// Debug builds: bad input throws instead of being logged and counted.
    #[uniffi(default = false)]
    pub strict: bool,
    #[uniffi(default = true)]
    pub record_app_open: bool,
    #[uniffi(default = 1800000)]
    pub session_timeout_ms: u64,
    #[uniffi(default = 1000)]
    pub flush_timeout_ms: u64,
    /// A rule pack shipped in the app, active until one is loaded or synced.
    #[uniffi(default = None)]
    pub bundled_rule_pack: Option<String>,
    /// The Reach server, e.g. `https://reach.example.com`. None: Reach
    /// never touches the network.
    #[uniffi(default = None)]
    pub server_url: Option<String>,
    /// The write key uploads authenticate with.
    #[uniffi(default = "")]
    pub write_key: String,
    /// Base64 Ed25519 public keys a synced pack must verify with (several:
    /// rotation). Empty: rule-pack sync is off.
    #[uniffi(default)]
    pub pack_public_keys: Vec<String>,
    #[uniffi(default = "default")]
    pub pack_name: String,
    /// Upload once this many events are stored.
    #[uniffi(default = 20)]
    pub upload_flush_at: u64,
    /// Upload this often while in the foreground and events wait.
    #[uniffi(default = 30000)]
    pub upload_interval_ms: u64,
    /// A request body's limit before compression.
    #[uniffi(default = 512000)]
    pub upload_max_batch_bytes: u64,
    #[uniffi(default = 500)]
    pub upload_max_batch_events: u64,
    /// Least time between two rule-pack polls (a server max-age wins).
    #[uniffi(default = 600000)]
    pub min_pack_interval_ms: u64,
    #[uniffi(default = 30000)]
    pub request_timeout_ms: u64,
    /// Send requests through the app's own HTTP stack (OkHttp, URLSession,
    /// pinning) instead of Reach's built-in one.
    #[uniffi(default = None)]
    pub http_transport: Option<Arc<dyn HttpTransport>>,
    /// The URL schemes of the app's own links (`myapp`, no colon). Given,
    /// popup image and deep-link URLs must be `https:` or one of these;
    /// empty: any scheme but `javascript:`, `data:`, `file:`, plain `http:`.
    #[uniffi(default)]
    pub app_url_schemes: Vec<String>,
    /// Download popup images (for offline use) while consent is not
    /// granted. Off: a download shows the device to the image host.
    #[uniffi(default = false)]
    pub images_without_consent: bool,
}

impl std::fmt::Debug for ReachConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReachConfig")
            .field("data_dir", &self.data_dir)
            .field("server_url", &self.server_url)
            .finish_non_exhaustive()
    }
}

impl From<ReachConfig> for config::Config {
    fn from(c: ReachConfig) -> Self {
        let mut out = config::Config::new(c.data_dir);
        out.app = config::AppInfo {
            app_version: c.app.app_version,
            build: c.app.build,
            platform: c.app.platform,
            os_version: c.app.os_version,
            locale: c.app.locale,
            timezone: c.app.timezone,
        };
        out.initial_consent = c.consent.into();
        out.queue = config::QueueLimits {
            max_events: c.max_queued_events,
            max_bytes: c.max_queued_bytes,
        };
        out.strict = c.strict;
        out.record_app_open = c.record_app_open;
        out.session_timeout = std::time::Duration::from_millis(c.session_timeout_ms);
        out.flush_timeout = std::time::Duration::from_millis(c.flush_timeout_ms);
        out.bundled_rule_pack = c.bundled_rule_pack;
        out.app_url_schemes = c.app_url_schemes;
        out.images_without_consent = c.images_without_consent;
        out.server = c.server_url.map(|url| {
            let mut s = config::ServerConfig::new(url, c.write_key);
            s.pack_public_keys = c.pack_public_keys;
            s.pack_name = c.pack_name;
            s.flush_at = c.upload_flush_at;
            s.flush_interval = std::time::Duration::from_millis(c.upload_interval_ms);
            s.max_batch_bytes = c.upload_max_batch_bytes as usize;
            s.max_batch_events = c.upload_max_batch_events as usize;
            s.min_pack_interval = std::time::Duration::from_millis(c.min_pack_interval_ms);
            s.request_timeout = std::time::Duration::from_millis(c.request_timeout_ms);
            s.transport = c.http_transport.map(foreign_transport);
            s
        });
        out
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Diagnostics {
    /// Handed to the worker, not yet on disk.
    pub queued: u64,
    /// On disk, waiting for upload.
    pub stored: u64,
    pub stored_bytes: u64,
    /// Refused since open, in total and by reason code (e.g. `name_empty`).
    pub rejected_total: u64,
    pub rejected_by_reason: HashMap<String, u64>,
    /// Dropped since open because the queue was full (oldest first).
    pub dropped_overflow: u64,
    /// Lost since open because the database refused a write.
    pub dropped_storage_error: u64,
    /// Popups handed to the presenter since open.
    pub popups_offered: u64,
    /// The database and its write-ahead log.
    pub database_bytes: u64,
    /// False when the database could not be opened and events live in memory.
    pub persistent: bool,
    /// Events the server acknowledged since open.
    pub uploaded_events: u64,
    /// Upload requests sent since open, retries included.
    pub upload_batches_sent: u64,
    /// Single events the server refused for good (400/422 after halving the
    /// batch down to them, or 413), and those events.
    pub upload_batches_dropped: u64,
    pub upload_events_dropped: u64,
    /// Answers refusing the configuration (401, 403, 404, 405, ...): the
    /// events were kept; `last_upload_error` says why.
    pub upload_configuration_refusals: u64,
    /// Events over 32 KB, deleted instead of uploaded.
    pub dropped_oversized: u64,
    /// Failed upload attempts scheduled again.
    pub upload_retries: u64,
    /// None after a successful upload.
    pub last_upload_error: Option<String>,
    /// None after a successful (or unchanged) rule-pack sync.
    pub last_sync_error: Option<String>,
    /// The active rule pack's revision label and version number.
    pub pack_revision: Option<String>,
    pub pack_version: Option<u64>,
    /// What is wrong with storage: a write failing now (a full disk), else
    /// what opening found (a damaged file moved aside, a read-only directory,
    /// a newer Reach's database). None when all is well.
    pub storage_problem: Option<String>,
}

impl From<diagnostics::Diagnostics> for Diagnostics {
    fn from(d: diagnostics::Diagnostics) -> Self {
        Diagnostics {
            queued: d.queued,
            stored: d.stored,
            stored_bytes: d.stored_bytes,
            rejected_total: d.rejected_total,
            rejected_by_reason: d.rejected_by_reason.into_iter().collect(),
            dropped_overflow: d.dropped_overflow,
            dropped_storage_error: d.dropped_storage_error,
            popups_offered: d.popups_offered,
            database_bytes: d.database_bytes,
            persistent: d.persistent,
            uploaded_events: d.uploaded_events,
            upload_batches_sent: d.upload_batches_sent,
            upload_batches_dropped: d.upload_batches_dropped,
            upload_events_dropped: d.upload_events_dropped,
            upload_configuration_refusals: d.upload_configuration_refusals,
            dropped_oversized: d.dropped_oversized,
            upload_retries: d.upload_retries,
            last_upload_error: d.last_upload_error,
            last_sync_error: d.last_sync_error,
            pack_revision: d.pack_revision,
            pack_version: d.pack_version,
            storage_problem: d.storage_problem,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl From<log::Level> for LogLevel {
    fn from(l: log::Level) -> Self {
        match l {
            log::Level::Debug => LogLevel::Debug,
            log::Level::Info => LogLevel::Info,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Error => LogLevel::Error,
        }
    }
}

/// The public error: few cases, each with a message a developer can act on.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
pub enum ReachError {
    /// Bad input (strict mode only). `code` is the diagnostics reason code.
    InvalidInput { code: String, message: String },
    /// Another instance uses the data directory.
    AlreadyOpen { message: String },
    /// The data directory cannot be created or locked.
    Storage { message: String },
    /// The instance was closed.
    Closed { message: String },
    /// A rule pack was refused; the active pack keeps serving. `path` names
    /// the first offending field, e.g. `campaigns[3].trigger.where[1].op`.
    InvalidRulePack { path: String, message: String },
}

impl std::fmt::Display for ReachError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReachError::InvalidInput { message, .. }
            | ReachError::AlreadyOpen { message }
            | ReachError::Storage { message }
            | ReachError::Closed { message } => f.write_str(message),
            ReachError::InvalidRulePack { path, message } => write!(f, "{path}: {message}"),
        }
    }
}

impl std::error::Error for ReachError {}

impl From<error::Error> for ReachError {
    fn from(e: error::Error) -> Self {
        let message = e.to_string();
        match e {
            error::Error::Rejected(r) => ReachError::InvalidInput {
                code: r.code().to_owned(),
                message: r.to_string(),
            },
            error::Error::AlreadyOpen(_) => ReachError::AlreadyOpen { message },
            error::Error::Io { .. } => ReachError::Storage { message },
            error::Error::Closed => ReachError::Closed { message },
            error::Error::InvalidRulePack(e) => {
                let path = e.first().path.clone();
                // Display puts the path first; the record carries it apart.
                let text = e.to_string();
                let message = text
                    .strip_prefix(&format!("{path}: "))
                    .unwrap_or(&text)
                    .to_owned();
                ReachError::InvalidRulePack { path, message }
            }
        }
    }
}
