//! The server's SQLite database: schema, migration, and the one connection every handler shares.
//!
//! Writes are serialized by a `Mutex` around a single connection (WAL mode). The server's load is a test suite or
//! a demo, not production traffic; one lock makes every handler's transaction trivially atomic (a claim's
//! read-decrement-insert cannot interleave with another), which is worth more here than concurrent writers.
//! This module knows SQL and nothing of HTTP.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::ServerError;

/// The file inside the data directory.
pub const DB_FILE: &str = "reach-server.db";

/// The schema version this code writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

/// Another process (a second server on the same directory, an inspecting `sqlite3`) may hold the lock briefly;
/// waiting a little beats failing a request the client would only retry.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA_V1: &str = "
CREATE TABLE events (
    message_id  TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    name        TEXT,
    campaign_id TEXT,
    body        TEXT NOT NULL,
    received_at INTEGER NOT NULL, -- Unix milliseconds
    -- How many times this messageId arrived in an accepted batch (1 = never resent).
    times       INTEGER NOT NULL DEFAULT 1
);
-- Only campaign events are indexed: per-name counts scan the table (stats are
-- read rarely, events arrive constantly; every index costs each insert).
CREATE INDEX events_campaign ON events(campaign_id) WHERE campaign_id IS NOT NULL;
-- Named totals: 'batches'.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE stock (
    campaign_id TEXT PRIMARY KEY,
    remaining   INTEGER NOT NULL CHECK (remaining >= 0)
);
CREATE TABLE claims (
    campaign_id     TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    claim_id        TEXT NOT NULL,
    person_id       TEXT NOT NULL,
    claimed_at      INTEGER NOT NULL,  -- Unix milliseconds
    PRIMARY KEY (campaign_id, idempotency_key)
);
";

/// The shared database. Every handler takes the connection for the length of one transaction.
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) `DATA_DIR/reach-server.db` and brings its schema up to date.
    pub fn open(data_dir: &Path) -> Result<Store, ServerError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| ServerError::Io(format!("cannot create {}: {e}", data_dir.display())))?;
        let conn = Connection::open(data_dir.join(DB_FILE))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Message ids are random, so their index is written all over: a
        // 64 MB page cache keeps it in memory where the 2 MB default thrashes.
        conn.pragma_update(None, "cache_size", -65_536)?;
        migrate(&conn)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    /// The connection. A panic while holding it cannot leave a half-written transaction (rusqlite rolls back
    /// on drop), so a poisoned lock is safe to keep using.
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sets a campaign's stock unless the database already has one for it: a restart must not refill a stock
    /// that claims have drawn down.
    pub fn seed_stock(&self, stock: &[(String, u64)]) -> Result<(), ServerError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for (campaign, n) in stock {
            let n = i64::try_from(*n).unwrap_or(i64::MAX);
            tx.execute(
                "INSERT OR IGNORE INTO stock (campaign_id, remaining) VALUES (?1, ?2)",
                params![campaign, n],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// How many times `message_id` arrived in accepted batches (0 if never).
    pub fn receipts(&self, message_id: &str) -> Result<u64, ServerError> {
        let times: Option<i64> = self
            .conn()
            .query_row(
                "SELECT times FROM events WHERE message_id = ?1",
                [message_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(times.map_or(0, |t| t.max(0) as u64))
    }

    /// The stored event with this `messageId`, as it was first received.
    pub fn event(&self, message_id: &str) -> Result<Option<serde_json::Value>, ServerError> {
        let body: Option<String> = self
            .conn()
            .query_row(
                "SELECT body FROM events WHERE message_id = ?1",
                [message_id],
                |r| r.get(0),
            )
            .optional()?;
        match body {
            None => Ok(None),
            Some(b) => serde_json::from_str(&b)
                .map(Some)
                .map_err(|e| ServerError::Storage(format!("stored event is not JSON: {e}"))),
        }
    }

    /// The stock left for a campaign; `None` when the campaign has no stock row.
    pub fn stock(&self, campaign_id: &str) -> Result<Option<u64>, ServerError> {
        let n: Option<i64> = self
            .conn()
            .query_row(
                "SELECT remaining FROM stock WHERE campaign_id = ?1",
                [campaign_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(n.map(|n| n.max(0) as u64))
    }
}

fn migrate(conn: &Connection) -> Result<(), ServerError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    if version != 0 {
        return Err(ServerError::Storage(format!(
            "database schema version {version} is not {SCHEMA_VERSION}; use a fresh --data directory"
        )));
    }
    conn.execute_batch(&format!(
        "BEGIN; {SCHEMA_V1} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
    ))?;
    Ok(())
}

/// Now, in Unix milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopening_keeps_the_schema_and_data() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.seed_stock(&[("c1".into(), 3)]).unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.stock("c1").unwrap(), Some(3));
    }

    #[test]
    fn seeding_never_overwrites_an_existing_stock() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.seed_stock(&[("c1".into(), 3)]).unwrap();
        store
            .seed_stock(&[("c1".into(), 10), ("c2".into(), 1)])
            .unwrap();
        assert_eq!(store.stock("c1").unwrap(), Some(3));
        assert_eq!(store.stock("c2").unwrap(), Some(1));
    }

    #[test]
    fn a_newer_schema_is_refused_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.pragma_update(None, "user_version", 7).unwrap();
        drop(conn);
        assert!(matches!(
            Store::open(dir.path()),
            Err(ServerError::Storage(_))
        ));
    }
}
