//! The two error types: `ServerError` for the library's callers (start, keys), and `ApiError`, the JSON answer
//! `{"code", "message"}` a client gets. Handlers return `ApiError`; only `routes` turns it into a response, so the
//! status-and-code table of docs/protocol.md lives in one place (`ApiError`'s constructors).

use std::fmt;

/// What `start`, `sign` and the key files can fail with.
#[derive(Debug)]
pub enum ServerError {
    /// Binding the listening socket failed (address in use, bad address).
    Bind(String),
    /// The database could not be opened, migrated or written.
    Storage(String),
    /// A key file or a pack file could not be read or written.
    Io(String),
    /// A key was not standard base64 of 32 bytes.
    InvalidKey(String),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Bind(m) => write!(f, "cannot listen: {m}"),
            ServerError::Storage(m) => write!(f, "storage: {m}"),
            ServerError::Io(m) => write!(f, "{m}"),
            ServerError::InvalidKey(m) => write!(f, "invalid key: {m}"),
        }
    }
}

impl std::error::Error for ServerError {}

impl From<rusqlite::Error> for ServerError {
    fn from(e: rusqlite::Error) -> Self {
        ServerError::Storage(e.to_string())
    }
}

/// An error answer on the wire: an HTTP status and a stable machine-readable `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    /// Not JSON, or a `Content-Encoding: gzip` body that is not gzip.
    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_json", message)
    }
    /// JSON, but not a batch this protocol accepts; the whole batch is refused.
    pub fn invalid_batch(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_batch", message)
    }
    /// JSON, but a claim or a query without a required field.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "method_not_allowed", message)
    }
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(413, "too_large", message)
    }
    /// Storage failed; the client retries (any 5xx is retryable).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal", message)
    }

    /// The body every error answer carries.
    pub fn to_json(&self) -> String {
        serde_json::json!({"code": self.code, "message": self.message}).to_string()
    }
}

impl From<ServerError> for ApiError {
    fn from(e: ServerError) -> Self {
        ApiError::internal(e.to_string())
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::internal(format!("storage: {e}"))
    }
}
