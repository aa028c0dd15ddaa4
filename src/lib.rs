//! Reach: on-device event tracking and in-app messaging.
//!
//! The data path reads as a straight line: `track` (facade → `tracker`) →
//! channel → `worker` → `store`. Nothing reaches back up that line. Only the
//! `facade` module knows about uniffi; everything else is plain Rust with its
//! own error and value types. See docs/architecture.md.

uniffi::setup_scaffolding!();

pub mod claim;
pub mod claim_http;
pub mod clock;
pub mod config;
pub mod diagnostics;
pub mod engine;
pub mod error;
pub mod event;
pub mod explain;
pub mod facade;
pub mod images;
pub mod inbox;
pub mod lock;
pub mod log;
mod messages;
mod network;
pub mod notification;
pub mod popup;
pub mod rfc3339;
pub mod rules;
pub mod session;
pub mod store;
pub mod sync;
mod thread;
pub mod tracker;
pub mod transport;
pub mod upload;
pub mod validate;
pub mod value;
mod worker;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{AppInfo, Config, Consent, QueueLimits, ServerConfig};
pub use error::Error;
pub use tracker::Tracker;
pub use value::Value;
