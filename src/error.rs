//! The rich internal error. The facade maps it to the small public `ReachError`.

use std::fmt;
use std::path::PathBuf;

use crate::validate::Rejection;

#[derive(Debug)]
pub enum Error {
    /// Bad input, in strict mode.
    Rejected(Rejection),
    /// Another instance (this process or another) holds the data directory.
    AlreadyOpen(PathBuf),
    Io {
        what: String,
        source: std::io::Error,
    },
    Closed,
    /// A rule pack was refused; the active one keeps serving.
    InvalidRulePack(crate::rules::PackError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Rejected(r) => write!(f, "rejected: {r}"),
            Error::AlreadyOpen(dir) => write!(
                f,
                "another Reach instance already uses {} (in this process or another); \
                 open one instance per data directory and share it",
                dir.display()
            ),
            Error::Io { what, source } => write!(f, "{what}: {source}"),
            Error::Closed => write!(f, "this Reach instance is closed"),
            Error::InvalidRulePack(e) => {
                write!(f, "rule pack refused, the active one keeps serving: {e}")
            }
        }
    }
}

impl std::error::Error for Error {}
