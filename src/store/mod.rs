//! SQLite storage: the only module that writes SQL.
//!
//! Owned by the worker thread alone (see docs/architecture.md); no other
//! thread ever touches the connection, so there is no lock around it. Writes
//! happen inside `begin()`/`commit()` pairs the worker groups.
//!
//! Opening recovers from a corrupt file by moving it aside (kept for
//! inspection, never deleted) and starting a new database; if even that
//! fails, the store runs in memory so the host app keeps working.

mod campaign_state;
mod checkpoint;
mod event_batch;
mod recovery;
mod schema;
mod segments;
mod upload;

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use recovery::OpenFailure;

use crate::event::EventKind;

pub use campaign_state::StoredExplanation;
pub use schema::CURRENT_VERSION;
pub use segments::StoredSegments;

/// Lets WAL grow this far before SQLite truncates it after a checkpoint: big
/// enough for bursts of group commits, small enough not to waste phone storage.
const JOURNAL_SIZE_LIMIT_BYTES: i64 = 4 * 1024 * 1024;

/// Prepared statements kept per connection (see `configure`).
const STATEMENT_CACHE_CAPACITY: usize = 64;

/// Another connection (an inspection tool, a test) may briefly hold a lock.
const BUSY_TIMEOUT_MS: u64 = 2_000;

/// Rows written between two checkpoint nudges: about 1,000 WAL pages of
/// typical events, what SQLite's own automatic checkpoint would wait for.
const CHECKPOINT_EVERY_ROWS: u64 = 4_000;
/// Commits between two nudges when commits are small (meta, engine state).
const CHECKPOINT_EVERY_COMMITS: u64 = 200;

/// Where the store lives, for diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageKind {
    Disk(PathBuf),
    /// The database could not be opened even after recovery: events are kept
    /// in memory for this process's life and the reason is logged.
    Memory,
}

/// What opening found, for the log.
#[derive(Debug, Default)]
pub struct OpenReport {
    /// The corrupt file was moved here and a new database created.
    pub moved_aside: Option<PathBuf>,
    /// What was wrong with the file that was moved aside.
    pub damage: Option<String>,
    /// Why the store fell back to memory.
    pub memory_fallback: Option<String>,
}

/// The row tallies kept in `queue_stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    pub next_seq: i64,
    pub count: u64,
    pub bytes: u64,
}

/// One event row, ready to insert.
pub struct EventRow<'a> {
    pub seq: i64,
    pub message_id: &'a [u8; 16],
    pub kind: EventKind,
    pub name: &'a str,
    pub timestamp_ms: i64,
    /// Moved into the insert batch, not copied: it is built per event.
    pub properties_json: String,
    pub session: i64,
    pub identity: i64,
    pub context: i64,
    pub bytes: u64,
}

pub type Result<T> = rusqlite::Result<T>;

/// A batch of event rows could not be written.
#[derive(Debug)]
pub struct InsertError {
    pub lost: u64,
    pub lost_bytes: u64,
    pub error: rusqlite::Error,
}

pub struct Store {
    conn: Connection,
    kind: StorageKind,
    checkpointer: Option<checkpoint::Checkpointer>,
    rows_since_checkpoint: std::cell::Cell<u64>,
    commits_since_checkpoint: std::cell::Cell<u64>,
    /// Rows waiting for the next multi-row INSERT (never across a commit).
    pending_rows: std::cell::RefCell<Vec<event_batch::OwnedRow>>,
}

/// The database file inside a data directory.
pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("reach.db")
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
    // WAL: readers never block the writer. NORMAL: a commit survives an app
    // crash or kill (only a power loss can lose the last commits).
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
        return Err(rusqlite::Error::InvalidQuery);
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT_BYTES)?;
    conn.pragma_update(None, "foreign_keys", false)?;
    // Deleted rows are overwritten with zeros, not left in free space: after
    // consent is denied or local data deleted, the events' bytes are gone
    // from the file (the WAL is truncated after that commit, see scrub_wal).
    conn.pragma_update(None, "secure_delete", true)?;
    // The store has ~20 distinct statements; rusqlite's default cache of 16
    // would evict and re-prepare some on every commit.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    Ok(())
}

fn open_file(path: &Path) -> std::result::Result<Connection, OpenFailure> {
    recovery::check_length(path)?;
    let mut conn = Connection::open(path)?;
    // Before anything that could write (the journal mode, a migration): a
    // newer Reach's database must stay exactly as that Reach left it.
    let found: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > CURRENT_VERSION {
        return Err(OpenFailure::TooNew { found });
    }
    configure(&conn)?;
    schema::migrate(&mut conn).map_err(|e| match e {
        schema::MigrationError::Sqlite(e) => OpenFailure::from(e),
        schema::MigrationError::TooNew { found } => OpenFailure::TooNew { found },
    })?;
    // Touch the tables a query plan needs, so corruption surfaces now, at
    // open, rather than in the middle of the first commit.
    conn.query_row("SELECT next_seq FROM queue_stats WHERE id = 1", [], |r| {
        r.get::<_, i64>(0)
    })?;
    Ok(conn)
}

impl Store {
    /// Opens (creating or migrating) the database at `path`. Never fails: a
    /// corrupt file is moved aside, and a database that cannot be opened at
    /// all is replaced by one in memory. `report` says which happened.
    pub fn open(path: &Path, now_ms: i64) -> (Store, OpenReport) {
        let mut report = OpenReport::default();
        let conn = match open_file(path) {
            Err(OpenFailure::Damaged(why)) => match recovery::move_aside(path, now_ms) {
                Ok(aside) => {
                    report.damage = Some(why);
                    report.moved_aside = Some(aside);
                    open_file(path)
                }
                Err(io) => Err(OpenFailure::Damaged(format!(
                    "{why}; it could not be moved aside: {io}"
                ))),
            },
            other => other,
        };
        match conn {
            Ok(conn) => {
                let checkpointer = checkpoint::Checkpointer::start(path);
                if checkpointer.is_some() {
                    // The checkpoint thread takes over from SQLite's automatic one.
                    let _ = conn.pragma_update(None, "wal_autocheckpoint", 0);
                }
                (
                    Store {
                        conn,
                        kind: StorageKind::Disk(path.to_owned()),
                        checkpointer,
                        rows_since_checkpoint: Default::default(),
                        commits_since_checkpoint: Default::default(),
                        pending_rows: Default::default(),
                    },
                    report,
                )
            }
            Err(failure) => {
                report.memory_fallback = Some(match failure {
                    OpenFailure::TooNew { found } => format!(
                        "{} was written by a newer version of Reach (schema {found}, this one \
                         understands up to {CURRENT_VERSION}); it is left untouched",
                        path.display()
                    ),
                    OpenFailure::Damaged(why) => format!("cannot open {}: {why}", path.display()),
                    OpenFailure::Unavailable(e) => {
                        format!("cannot open {}: {e}", path.display())
                    }
                });
                (Store::in_memory(), report)
            }
        }
    }

    /// Reads a database that a live worker may be writing, for tests and
    /// tools: read-only, and it never judges, repairs or moves the file aside
    /// (only the worker's `open`, under the directory lock, may: a second
    /// `open` beside a running checkpoint can see the file mid-write and
    /// take it for damaged).
    #[doc(hidden)]
    pub fn open_reader(path: &Path) -> rusqlite::Result<Store> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Store {
            conn,
            kind: StorageKind::Disk(path.to_owned()),
            checkpointer: None,
            rows_since_checkpoint: Default::default(),
            commits_since_checkpoint: Default::default(),
            pending_rows: Default::default(),
        })
    }

    /// A database in memory, migrated; for the fallback and for tests.
    pub fn in_memory() -> Store {
        let mut conn = match Connection::open_in_memory() {
            Ok(c) => c,
            // SQLite cannot allocate a few KB: nothing sensible is left to do.
            Err(e) => panic!("SQLite cannot open an in-memory database: {e}"),
        };
        let _ = schema::migrate(&mut conn);
        Store {
            conn,
            kind: StorageKind::Memory,
            checkpointer: None,
            rows_since_checkpoint: Default::default(),
            commits_since_checkpoint: Default::default(),
            pending_rows: Default::default(),
        }
    }

    pub fn kind(&self) -> &StorageKind {
        &self.kind
    }

    /// Caps the database at `pages` pages, so tests can fill the "disk"
    /// without filling the machine's (SQLite's `max_page_count`).
    pub fn limit_pages(&self, pages: u64) -> Result<()> {
        self.conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
    }

    pub fn begin(&self) -> Result<()> {
        self.conn.execute_batch("BEGIN")
    }

    pub fn commit(&self) -> Result<()> {
        self.flush_rows().map_err(|e| e.error)?;
        self.conn.execute_batch("COMMIT")?;
        if let Some(c) = &self.checkpointer {
            let commits = self.commits_since_checkpoint.get() + 1;
            if self.rows_since_checkpoint.get() >= CHECKPOINT_EVERY_ROWS
                || commits >= CHECKPOINT_EVERY_COMMITS
            {
                c.nudge();
                self.rows_since_checkpoint.set(0);
                self.commits_since_checkpoint.set(0);
            } else {
                self.commits_since_checkpoint.set(commits);
            }
        }
        Ok(())
    }

    pub fn rollback(&self) {
        self.pending_rows.borrow_mut().clear();
        let _ = self.conn.execute_batch("ROLLBACK");
    }

    pub fn meta_get(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()
    }

    pub fn meta_set(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
            .execute([key, value])?;
        Ok(())
    }

    pub fn meta_delete(&self, key: &str) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM meta WHERE key = ?1")?
            .execute([key])?;
        Ok(())
    }

    pub fn queue_stats(&self) -> Result<QueueStats> {
        self.conn.query_row(
            "SELECT next_seq, count, bytes FROM queue_stats WHERE id = 1",
            [],
            |r| {
                Ok(QueueStats {
                    next_seq: r.get(0)?,
                    count: r.get::<_, i64>(1)? as u64,
                    bytes: r.get::<_, i64>(2)? as u64,
                })
            },
        )
    }

    pub fn set_queue_stats(&self, s: &QueueStats) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE queue_stats SET next_seq = ?1, count = ?2, bytes = ?3 WHERE id = 1",
            )?
            .execute(params![s.next_seq, s.count as i64, s.bytes as i64])?;
        Ok(())
    }

    /// The row id of a context, inserting it the first time it is seen.
    pub fn context_id(&self, json: &str) -> Result<i64> {
        self.conn
            .prepare_cached("INSERT OR IGNORE INTO contexts (json) VALUES (?1)")?
            .execute([json])?;
        self.conn
            .prepare_cached("SELECT id FROM contexts WHERE json = ?1")?
            .query_row([json], |r| r.get(0))
    }

    /// The row id of an (anonymous id, user id) pair, inserting it if new.
    pub fn identity_id(&self, anonymous_id: &str, user_id: Option<&str>) -> Result<i64> {
        let found: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM identities WHERE anonymous_id = ?1 AND user_id IS ?2")?
            .query_row(params![anonymous_id, user_id], |r| r.get(0))
            .optional()?;
        if let Some(id) = found {
            return Ok(id);
        }
        self.conn
            .prepare_cached("INSERT INTO identities (anonymous_id, user_id) VALUES (?1, ?2)")?
            .execute(params![anonymous_id, user_id])?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The row id of a session, inserting it if new.
    pub fn session_row(&self, session_id: &str, started_ms: i64) -> Result<i64> {
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO sessions (session_id, started_ms) VALUES (?1, ?2)",
            )?
            .execute(params![session_id, started_ms])?;
        self.conn
            .prepare_cached("SELECT id FROM sessions WHERE session_id = ?1")?
            .query_row([session_id], |r| r.get(0))
    }

    /// Queues a row for the next multi-row INSERT (see `event_batch`). An
    /// error means the rows of a whole batch were lost: `InsertError` says
    /// how many and how many bytes, for the worker's tallies.
    pub fn insert_event(&self, row: EventRow<'_>) -> std::result::Result<(), InsertError> {
        let full = {
            let mut pending = self.pending_rows.borrow_mut();
            pending.push(row.into());
            pending.len() >= event_batch::ROWS_PER_INSERT
        };
        if full {
            self.flush_rows()
        } else {
            Ok(())
        }
    }

    /// Writes the queued rows.
    pub fn flush_rows(&self) -> std::result::Result<(), InsertError> {
        let rows = std::mem::take(&mut *self.pending_rows.borrow_mut());
        if rows.is_empty() {
            return Ok(());
        }
        self.rows_since_checkpoint
            .set(self.rows_since_checkpoint.get() + rows.len() as u64);
        event_batch::insert(&self.conn, &rows).map_err(|error| InsertError {
            lost: rows.len() as u64,
            lost_bytes: rows.iter().map(|r| r.bytes).sum(),
            error,
        })
    }

    /// Deletes the oldest events until at least `count` events and `bytes`
    /// bytes are gone; returns how many events and bytes were deleted.
    pub fn drop_oldest(&self, count: u64, bytes: u64) -> Result<(u64, u64)> {
        self.flush_rows().map_err(|e| e.error)?;
        let (mut dropped, mut freed, mut last_seq) = (0u64, 0u64, None);
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, bytes FROM events WHERE seq > ?1 ORDER BY seq LIMIT 512",
        )?;
        'chunks: loop {
            let rows: Vec<(i64, i64)> = stmt
                .query_map([last_seq.unwrap_or(i64::MIN)], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<Result<_>>()?;
            if rows.is_empty() {
                break;
            }
            for (seq, b) in rows {
                if dropped >= count && freed >= bytes {
                    break 'chunks;
                }
                dropped += 1;
                freed += b as u64;
                last_seq = Some(seq);
            }
        }
        if let Some(seq) = last_seq {
            self.conn
                .prepare_cached("DELETE FROM events WHERE seq <= ?1")?
                .execute([seq])?;
        }
        Ok((dropped, freed))
    }

    pub fn delete_all_events(&self) -> Result<()> {
        self.pending_rows.borrow_mut().clear();
        self.conn.execute_batch("DELETE FROM events")
    }

    /// Copies the WAL into the database and truncates it to zero bytes, so
    /// frames that still hold deleted rows leave the disk. Outside a
    /// transaction; best effort (a reader holding an old snapshot makes it
    /// incomplete, which the answer's first column says).
    pub fn scrub_wal(&self) -> Result<bool> {
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        Ok(busy == 0)
    }

    /// Wipes everything the user could be identified by.
    pub fn delete_all(&self) -> Result<()> {
        self.pending_rows.borrow_mut().clear();
        self.conn.execute_batch(
            "DELETE FROM events; DELETE FROM meta; DELETE FROM identities; DELETE FROM sessions;
             DELETE FROM counter_series; DELETE FROM counter_buckets; DELETE FROM campaign_history;
             DELETE FROM server_segments;",
        )
    }
}

/// A counted series as stored.
pub struct SeriesRow {
    pub series: String,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
}

/// One counter bucket as stored.
pub struct BucketRow {
    pub series: String,
    pub tier: usize,
    pub bucket: i64,
    pub count: u64,
    pub sum: f64,
}

/// The trigger engine's state, as the store keeps it.
impl Store {
    pub fn load_counter_series(&self) -> Result<Vec<SeriesRow>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT series, first_ms, last_ms FROM counter_series")?;
        let rows = stmt.query_map([], |r| {
            Ok(SeriesRow {
                series: r.get(0)?,
                first_ms: r.get(1)?,
                last_ms: r.get(2)?,
            })
        })?;
        rows.collect()
    }

    pub fn load_counter_buckets(&self) -> Result<Vec<BucketRow>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT series, tier, bucket, count, sum FROM counter_buckets")?;
        let rows = stmt.query_map([], |r| {
            Ok(BucketRow {
                series: r.get(0)?,
                tier: r.get::<_, i64>(1)? as usize,
                bucket: r.get(2)?,
                count: r.get::<_, i64>(3)? as u64,
                sum: r.get(4)?,
            })
        })?;
        rows.collect()
    }

    pub fn save_counter_series(
        &self,
        series: &str,
        first_ms: Option<i64>,
        last_ms: Option<i64>,
    ) -> Result<()> {
        self.conn
            .prepare_cached("INSERT OR REPLACE INTO counter_series (series, first_ms, last_ms) VALUES (?1, ?2, ?3)")?
            .execute(params![series, first_ms, last_ms])?;
        Ok(())
    }

    pub fn save_counter_bucket(
        &self,
        series: &str,
        tier: usize,
        bucket: i64,
        count: u64,
        sum: f64,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO counter_buckets (series, tier, bucket, count, sum) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![series, tier as i64, bucket, count as i64, sum])?;
        Ok(())
    }

    /// Deletes one bucket (emptied when a clock correction moved its
    /// occurrences, engine/counters.rs).
    pub fn delete_counter_bucket(&self, series: &str, tier: usize, bucket: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "DELETE FROM counter_buckets WHERE series = ?1 AND tier = ?2 AND bucket = ?3",
            )?
            .execute(params![series, tier as i64, bucket])?;
        Ok(())
    }

    /// Deletes buckets of `tier` older than `first_kept`.
    pub fn prune_counter_buckets(&self, tier: usize, first_kept: i64) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM counter_buckets WHERE tier = ?1 AND bucket < ?2")?
            .execute(params![tier as i64, first_kept])?;
        Ok(())
    }

    pub fn load_campaign_histories(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT campaign_id, json FROM campaign_history")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    }

    pub fn save_campaign_history(&self, campaign_id: &str, json: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO campaign_history (campaign_id, json) VALUES (?1, ?2)",
            )?
            .execute([campaign_id, json])?;
        Ok(())
    }

    /// Forgets the person's counters and histories (after `reset()`).
    pub fn clear_engine_state(&self) -> Result<()> {
        self.conn
            .execute_batch(
                "DELETE FROM counter_series; DELETE FROM counter_buckets; DELETE FROM campaign_history;
                 DELETE FROM pending_delays; DELETE FROM sequence_progress; DELETE FROM variant_assignments;
                 DELETE FROM last_explanations;",
            )
    }
}

/// For the store's tests.
#[cfg(test)]
impl Store {
    /// A context `{}`, an anonymous identity and a session "s": the
    /// `[session, identity, context]` rows most tests point their events at.
    pub(crate) fn test_rows(&self) -> [i64; 3] {
        [
            self.session_row("s", 0).unwrap(),
            self.identity_id("anon", None).unwrap(),
            self.context_id("{}").unwrap(),
        ]
    }

    /// Queues a track event `seq` named "e" at `seq` ms, its message id
    /// `seq` repeated, pointing at `[session, identity, context]`.
    pub(crate) fn insert_test_event(&self, seq: i64, props: &str, rows: [i64; 3], bytes: u64) {
        let [session, identity, context] = rows;
        self.insert_event(EventRow {
            seq,
            message_id: &[seq as u8; 16],
            kind: EventKind::Track,
            name: "e",
            timestamp_ms: seq,
            properties_json: props.into(),
            session,
            identity,
            context,
            bytes,
        })
        .unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_file_is_moved_aside_and_a_new_database_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = database_path(dir.path());
        std::fs::write(
            &path,
            b"this is not a database, just some bytes that pretend",
        )
        .unwrap();
        let (store, report) = Store::open(&path, 42);
        assert_eq!(store.kind(), &StorageKind::Disk(path.clone()));
        let aside = report.moved_aside.expect("moved aside");
        assert_eq!(
            std::fs::read(&aside).unwrap(),
            b"this is not a database, just some bytes that pretend"
        );
        assert_eq!(store.queue_stats().unwrap().next_seq, 1);
    }

    #[test]
    fn an_unopenable_path_falls_back_to_memory() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be cannot be opened as a database.
        let path = dir.path().join("reach.db");
        std::fs::create_dir(&path).unwrap();
        let (store, report) = Store::open(&path, 0);
        assert_eq!(store.kind(), &StorageKind::Memory);
        assert!(report.memory_fallback.is_some());
        store.meta_set("k", "v").unwrap();
        assert_eq!(store.meta_get("k").unwrap().as_deref(), Some("v"));
    }

    #[test]
    fn drop_oldest_removes_by_count_and_by_bytes() {
        let store = Store::in_memory();
        let [sess, ident, ctx] = store.test_rows();
        for seq in 1..=10 {
            store.insert_test_event(seq, "{}", [sess, ident, ctx], 100);
        }
        assert_eq!(store.drop_oldest(2, 0).unwrap(), (2, 200));
        assert_eq!(store.drop_oldest(0, 250).unwrap(), (3, 300));
        let left = store.read_events(0, 100).unwrap();
        assert_eq!(
            left.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![6, 7, 8, 9, 10]
        );
        assert_eq!(&*left[0].anonymous_id, "anon");
        assert_eq!(left[0].user_id, None);
    }
}
