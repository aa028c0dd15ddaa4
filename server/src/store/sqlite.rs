//! The SQLite engine: one file in the data directory, schema and migration, and the one connection every
//! handler shares.
//!
//! Writes are serialized by a `Mutex` around a single connection (WAL mode). One lock makes every handler's
//! transaction trivially atomic (a claim's read-decrement-insert cannot interleave with another); for more than
//! one process, use the PostgreSQL engine.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{
    distinct_by_id, now_ms, tally, to_count, CampaignEvent, ClaimAttempt, ClaimOutcome, Counts,
    Event, Outcome, PersonKind, Storage,
};
use crate::error::ServerError;
/// The file inside the data directory.
pub const DB_FILE: &str = "reach-server.db";

/// The schema version this code writes (`PRAGMA user_version`): 1 events, counters, stock, claims; 2 adds
/// segments.
const SCHEMA_VERSION: i64 = 2;

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

/// Version 2: server-computed segments, one row per person and name, so replacing a person's list is a delete
/// and an insert in one transaction and no engine needs an array type.
const SCHEMA_V2: &str = "
CREATE TABLE segments (
    kind   TEXT NOT NULL, -- 'user_id' or 'anonymous_id'
    person TEXT NOT NULL,
    name   TEXT NOT NULL,
    PRIMARY KEY (kind, person, name)
);
";

/// The shared database. Every handler takes the connection for the length of one transaction.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) `DATA_DIR/reach-server.db` and brings its schema up to date.
    pub fn open(data_dir: &Path) -> Result<SqliteStore, ServerError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| ServerError::Io(format!("cannot create {}: {e}", data_dir.display())))?;
        let conn = Connection::open(data_dir.join(DB_FILE))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Message ids are random, so their index is written all over: a
        // 64 MB page cache keeps it in memory where the 2 MB default thrashes.
        conn.pragma_update(None, "cache_size", -65_536)?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        migrate(&conn)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    /// The connection. A panic while holding it cannot leave a half-written transaction (rusqlite rolls back
    /// on drop), so a poisoned lock is safe to keep using.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Storage for SqliteStore {
    fn seed_stock(&self, stock: &[(String, u64)]) -> Result<(), ServerError> {
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

    fn store_batch(&self, events: &[Event<'_>], refused: u64) -> Result<Outcome, ServerError> {
        let distinct = distinct_by_id(events);
        let mut conn = self.conn();
        let now = now_ms();
        // Immediate: the write lock first, so nothing changes between reading and writing (a second
        // process on the same file waits, `BUSY_TIMEOUT`).
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(outcome) = insert_if_all_new(&tx, &distinct, now)? {
            return count_batch(tx, outcome, refused);
        }
        // Some id was stored before (a resend): undo, and store the batch looking each id up.
        tx.rollback()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcome = insert_or_count(&tx, &distinct, now)?;
        count_batch(tx, outcome, refused)
    }

    fn claim(&self, a: &ClaimAttempt<'_>) -> Result<ClaimOutcome, ServerError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let held: Option<String> = tx
            .query_row(
                "SELECT claim_id FROM claims WHERE campaign_id = ?1 AND idempotency_key = ?2",
                params![a.campaign_id, a.idempotency_key],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(claim_id) = held {
            return Ok(ClaimOutcome::Granted { claim_id });
        }
        if let Some(limit) = a.per_user {
            let held: i64 = tx.query_row(
                "SELECT COUNT(*) FROM claims WHERE campaign_id = ?1 AND person_id = ?2",
                params![a.campaign_id, a.person_id],
                |r| r.get(0),
            )?;
            if to_count(held) >= limit {
                return Ok(ClaimOutcome::LimitReached);
            }
        }
        let taken = tx.execute(
            "UPDATE stock SET remaining = remaining - 1 WHERE campaign_id = ?1 AND remaining > 0",
            [a.campaign_id],
        )?;
        if taken == 0 {
            return Ok(ClaimOutcome::Exhausted);
        }
        tx.execute(
            "INSERT INTO claims (campaign_id, idempotency_key, claim_id, person_id, claimed_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![a.campaign_id, a.idempotency_key, a.new_claim_id, a.person_id, now_ms()],
        )?;
        tx.commit()?;
        Ok(ClaimOutcome::Granted {
            claim_id: a.new_claim_id.to_string(),
        })
    }

    fn release(&self, campaign_id: &str, idempotency_key: &str) -> Result<bool, ServerError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let removed = tx.execute(
            "DELETE FROM claims WHERE campaign_id = ?1 AND idempotency_key = ?2",
            params![campaign_id, idempotency_key],
        )?;
        if removed == 0 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO stock (campaign_id, remaining) VALUES (?1, 1)
             ON CONFLICT (campaign_id) DO UPDATE SET remaining = remaining + 1",
            [campaign_id],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn counts(&self, campaign_events: &[&str]) -> Result<Counts, ServerError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let received: i64 =
            tx.query_row("SELECT COALESCE(SUM(times), 0) FROM events", [], |r| {
                r.get(0)
            })?;
        let stored: i64 = tx.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
        let counter = |name: &str| -> Result<i64, rusqlite::Error> {
            tx.query_row(
                "SELECT COALESCE((SELECT value FROM counters WHERE name = ?1), 0)",
                [name],
                |r| r.get(0),
            )
        };
        let mut counts = Counts {
            received: to_count(received),
            stored: to_count(stored),
            batches: to_count(counter("batches")?),
            refused: to_count(counter("events_refused")?),
            ..Counts::default()
        };
        let mut by_event = tx.prepare(
            "SELECT name, COUNT(*) FROM events WHERE type = 'track' AND name IS NOT NULL GROUP BY name",
        )?;
        for row in by_event.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (name, n) = row?;
            counts.by_event.push((name, to_count(n)));
        }
        let wanted = vec!["?"; campaign_events.len()].join(", ");
        let mut by_campaign = tx.prepare(&format!(
            "SELECT campaign_id, name, COUNT(*) FROM events
             WHERE type = 'track' AND campaign_id IS NOT NULL AND name IN ({wanted})
             GROUP BY campaign_id, name"
        ))?;
        let rows = by_campaign.query_map(rusqlite::params_from_iter(campaign_events), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (campaign, name, n) = row?;
            counts.by_campaign.push((campaign, name, to_count(n)));
        }
        Ok(counts)
    }

    fn campaign_events(&self, names: &[&str]) -> Result<Vec<CampaignEvent>, ServerError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let wanted = vec!["?"; names.len()].join(", ");
        let mut select = tx.prepare(&format!(
            "SELECT name, campaign_id, body FROM events
             WHERE type = 'track' AND campaign_id IS NOT NULL AND name IN ({wanted})
             ORDER BY message_id"
        ))?;
        let rows = select
            .query_map(rusqlite::params_from_iter(names), |r| {
                Ok(CampaignEvent {
                    name: r.get(0)?,
                    campaign_id: r.get(1)?,
                    body: r.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn receipts(&self, message_id: &str) -> Result<u64, ServerError> {
        let times: Option<i64> = self
            .conn()
            .query_row(
                "SELECT times FROM events WHERE message_id = ?1",
                [message_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(times.map_or(0, to_count))
    }

    fn event(&self, message_id: &str) -> Result<Option<String>, ServerError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT body FROM events WHERE message_id = ?1",
                [message_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn stock(&self, campaign_id: &str) -> Result<Option<u64>, ServerError> {
        let n: Option<i64> = self
            .conn()
            .query_row(
                "SELECT remaining FROM stock WHERE campaign_id = ?1",
                [campaign_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(n.map(to_count))
    }

    fn segments(&self, kind: PersonKind, person: &str) -> Result<Vec<String>, ServerError> {
        let conn = self.conn();
        let mut select =
            conn.prepare_cached("SELECT name FROM segments WHERE kind = ?1 AND person = ?2")?;
        let names = select
            .query_map(params![kind.field(), person], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(names)
    }

    fn set_segments(
        &self,
        kind: PersonKind,
        person: &str,
        names: &[String],
    ) -> Result<(), ServerError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM segments WHERE kind = ?1 AND person = ?2",
            params![kind.field(), person],
        )?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO segments (kind, person, name) VALUES (?1, ?2, ?3)",
            )?;
            for name in names {
                insert.execute(params![kind.field(), person, name])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// WAL pages after which a commit checkpoints (SQLite's default is 1,000). A 500-event batch dirties ~500
/// pages, most of them leaves of the `messageId` index (random keys land all over it), so at the default
/// every second batch copied ~1,000 pages back into the database; with 10× the room the index leaves that
/// several batches rewrote are copied once. Measured with `cargo bench --bench upload`: ~20 → ~16 µs of
/// server CPU per event. The WAL file is then up to ~40 MB (at 4 KB pages), and the checkpoint that
/// comes every ~20 batches takes correspondingly longer.
const WAL_CHECKPOINT_PAGES: i64 = 10_000;

/// Rows per `INSERT` of a batch's new events (and ids per lookup). One statement for many rows runs one VDBE
/// program and one bind pass where a statement per row paid both per event (the SDK's store measured
/// −25…−40 % CPU for 16 rows per statement, benches/README.md `store_insert`). 64 rows × 7 columns = 448
/// variables, far below the 32,766 SQLite allows; more rows per statement gain little and make each
/// prepared statement bigger.
const ROWS_PER_INSERT: usize = 64;

/// Statements of `ROWS_PER_INSERT` rows and each smaller power of two, so a batch's last rows need at most 6
/// more statements, and at most 7 distinct ones of each kind are ever prepared (then reused from the cache).
const STATEMENT_SIZES: usize = ROWS_PER_INSERT.trailing_zeros() as usize + 1;

/// Prepared statements kept per connection: rusqlite's default of 16 would have the 3 × 7 batch statements
/// and the other handlers' statements evict each other.
const STATEMENT_CACHE: usize = 64;

/// The rows of the next statement when `left` rows are left: a full statement, else the largest power of two.
fn statement_rows(left: usize) -> usize {
    if left >= ROWS_PER_INSERT {
        ROWS_PER_INSERT
    } else {
        1 << left.ilog2()
    }
}

/// The statement of `rows` rows (a power of two up to `ROWS_PER_INSERT`) from `build`, built once per size.
fn sized_sql(
    cache: &'static OnceLock<Vec<String>>,
    rows: usize,
    build: fn(usize) -> String,
) -> &'static str {
    let all = cache.get_or_init(|| (0..STATEMENT_SIZES).map(|i| build(1 << i)).collect());
    &all[rows.trailing_zeros() as usize]
}

/// `SELECT … WHERE message_id IN (?, …)` for `rows` ids.
fn lookup_sql(rows: usize) -> &'static str {
    static SQL: OnceLock<Vec<String>> = OnceLock::new();
    sized_sql(&SQL, rows, |n| {
        let ids = vec!["?"; n].join(", ");
        format!("SELECT message_id FROM events WHERE message_id IN ({ids})")
    })
}

/// What a multi-row `INSERT` does with a row whose `messageId` is stored. Neither is SQLite's default
/// `ABORT`, which for a multi-row statement needs a statement journal to undo a half-done statement (written
/// for every page the statement changes, spilling to a temporary file past 64 KB).
#[derive(Clone, Copy)]
enum Conflict {
    /// Skip it (`OR IGNORE`): the statement's change count then tells that some id was stored.
    Ignore,
    /// Fail the statement, and so the batch's transaction (`OR FAIL`): used where the ids were looked up
    /// under the write lock, so it cannot happen.
    Fail,
}

/// `INSERT OR IGNORE|FAIL … VALUES (…), (…) …` for `rows` rows.
fn insert_sql(rows: usize, conflict: Conflict) -> &'static str {
    fn build(n: usize, or: &str) -> String {
        let values = vec!["(?, ?, ?, ?, ?, ?, ?)"; n].join(", ");
        format!(
            "INSERT OR {or} INTO events (message_id, type, name, campaign_id, body, received_at, times)
             VALUES {values}"
        )
    }
    static IGNORE: OnceLock<Vec<String>> = OnceLock::new();
    static FAIL: OnceLock<Vec<String>> = OnceLock::new();
    match conflict {
        Conflict::Ignore => sized_sql(&IGNORE, rows, |n| build(n, "IGNORE")),
        Conflict::Fail => sized_sql(&FAIL, rows, |n| build(n, "FAIL")),
    }
}

/// Counts the batch (and its refused events) and commits.
fn count_batch(
    tx: rusqlite::Transaction<'_>,
    mut outcome: Outcome,
    refused: u64,
) -> Result<Outcome, ServerError> {
    {
        let mut count = tx.prepare_cached(
            "INSERT INTO counters (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = value + ?2",
        )?;
        count.execute(params!["batches", 1])?;
        if refused > 0 {
            count.execute(params!["events_refused", refused as i64])?;
        }
    }
    outcome.refused = refused;
    tx.commit()?;
    Ok(outcome)
}

/// The common case, a batch of ids never seen: inserts them all with `INSERT OR IGNORE` (no lookup), and
/// answers `None` as soon as a statement stored fewer rows than it was given, i.e. some id was already
/// stored; the caller then rolls the transaction back.
fn insert_if_all_new(
    tx: &rusqlite::Transaction<'_>,
    distinct: &[(&Event<'_>, u64)],
    now: i64,
) -> Result<Option<Outcome>, ServerError> {
    let mut outcome = Outcome::default();
    let mut rest = distinct;
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at(statement_rows(rest.len()));
        if insert_events(tx, chunk, now, Conflict::Ignore)? < chunk.len() {
            return Ok(None);
        }
        for &(_, n) in chunk {
            // New: stored once with all its occurrences in this batch.
            tally(&mut outcome, n, n as i64);
        }
        rest = after;
    }
    Ok(Some(outcome))
}

/// A batch with ids stored before: looks every id up, inserts the new ones and counts a receipt for each
/// known one.
fn insert_or_count(
    tx: &rusqlite::Transaction<'_>,
    distinct: &[(&Event<'_>, u64)],
    now: i64,
) -> Result<Outcome, ServerError> {
    let mut outcome = Outcome::default();
    let known = known_ids(tx, distinct)?;
    let mut fresh = Vec::with_capacity(distinct.len());
    for (&(e, n), known) in distinct.iter().zip(known) {
        if known {
            let times: i64 = tx
                .prepare_cached(
                    "UPDATE events SET times = times + ?1 WHERE message_id = ?2 RETURNING times",
                )?
                .query_row(params![n as i64, e.message_id.as_ref()], |r| r.get(0))?;
            tally(&mut outcome, n, times);
        } else {
            fresh.push((e, n));
            tally(&mut outcome, n, n as i64);
        }
    }
    let mut rest = &fresh[..];
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at(statement_rows(rest.len()));
        insert_events(tx, chunk, now, Conflict::Fail)?;
        rest = after;
    }
    Ok(outcome)
}

/// For each distinct event (sorted by `messageId`), whether its id is already stored.
fn known_ids(
    tx: &rusqlite::Transaction<'_>,
    distinct: &[(&Event<'_>, u64)],
) -> Result<Vec<bool>, ServerError> {
    let mut known = vec![false; distinct.len()];
    let mut start = 0;
    while start < distinct.len() {
        let rows = statement_rows(distinct.len() - start);
        let chunk = &distinct[start..start + rows];
        let mut lookup = tx.prepare_cached(lookup_sql(rows))?;
        for (i, (e, _)) in chunk.iter().enumerate() {
            lookup.raw_bind_parameter(i + 1, e.message_id.as_ref())?;
        }
        let mut found = lookup.raw_query();
        while let Some(row) = found.next()? {
            let id = row
                .get_ref(0)?
                .as_str()
                .map_err(|e| ServerError::Storage(format!("stored message_id: {e}")))?;
            let at = chunk
                .binary_search_by(|(e, _)| e.message_id.as_ref().cmp(id))
                .map_err(|_| ServerError::Storage(format!("lookup returned unknown id {id:?}")))?;
            known[start + at] = true;
        }
        start += rows;
    }
    Ok(known)
}

/// Inserts one statement's worth of events; answers how many rows it stored.
fn insert_events(
    tx: &rusqlite::Transaction<'_>,
    chunk: &[(&Event<'_>, u64)],
    now: i64,
    conflict: Conflict,
) -> Result<usize, ServerError> {
    let mut insert = tx.prepare_cached(insert_sql(chunk.len(), conflict))?;
    for (i, (e, n)) in chunk.iter().enumerate() {
        let at = i * 7;
        insert.raw_bind_parameter(at + 1, e.message_id.as_ref())?;
        insert.raw_bind_parameter(at + 2, e.kind)?;
        insert.raw_bind_parameter(at + 3, e.name.as_deref())?;
        insert.raw_bind_parameter(at + 4, e.campaign_id.as_deref())?;
        insert.raw_bind_parameter(at + 5, e.json)?;
        insert.raw_bind_parameter(at + 6, now)?;
        insert.raw_bind_parameter(at + 7, *n as i64)?;
    }
    Ok(insert.raw_execute()?)
}

fn migrate(conn: &Connection) -> Result<(), ServerError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    let steps = match version {
        0 => format!("{SCHEMA_V1}{SCHEMA_V2}"),
        1 => SCHEMA_V2.to_string(),
        _ => {
            return Err(ServerError::Storage(format!(
                "database schema version {version} is not {SCHEMA_VERSION}; use a fresh --data directory"
            )))
        }
    };
    conn.execute_batch(&format!(
        "BEGIN; {steps} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopening_keeps_the_schema_and_data() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        store.seed_stock(&[("c1".into(), 3)]).unwrap();
        drop(store);
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.stock("c1").unwrap(), Some(3));
    }

    #[test]
    fn seeding_never_overwrites_an_existing_stock() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        store.seed_stock(&[("c1".into(), 3)]).unwrap();
        store
            .seed_stock(&[("c1".into(), 10), ("c2".into(), 1)])
            .unwrap();
        assert_eq!(store.stock("c1").unwrap(), Some(3));
        assert_eq!(store.stock("c2").unwrap(), Some(1));
    }

    #[test]
    fn a_version_1_database_gains_segments_and_keeps_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.execute_batch(&format!(
            "{SCHEMA_V1} PRAGMA user_version = 1; INSERT INTO stock VALUES ('c1', 4);"
        ))
        .unwrap();
        drop(conn);
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.stock("c1").unwrap(), Some(4));
        store
            .set_segments(PersonKind::User, "u1", &["vip".into()])
            .unwrap();
        assert_eq!(
            store.segments(PersonKind::User, "u1").unwrap(),
            vec!["vip".to_owned()]
        );
        drop(store);
        // Reopened at version 2: nothing to migrate, nothing lost.
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(
            store.segments(PersonKind::User, "u1").unwrap(),
            vec!["vip".to_owned()]
        );
    }

    fn event(id: &str) -> Event<'_> {
        Event {
            message_id: id.into(),
            kind: "track",
            name: Some("e".into()),
            campaign_id: None,
            json: "{}",
        }
    }

    #[test]
    fn batches_of_every_size_around_the_statement_sizes_are_counted_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let mut total = 0;
        for (round, size) in [1, 2, 3, 63, 64, 65, 127, 128, 200].into_iter().enumerate() {
            let ids: Vec<String> = (0..size).map(|i| format!("r{round}-{i:03}")).collect();
            // Every third id is sent twice in the batch.
            let mut events: Vec<Event<'_>> = ids.iter().map(|id| event(id)).collect();
            events.extend(ids.iter().step_by(3).map(|id| event(id)));
            let sent_twice = |i: usize| i.is_multiple_of(3);
            // First all new (no id stored before), then one more id stored before the batch: its first id,
            // or its last one (so the statements before its own had stored their rows when it was met).
            let fresh = store.store_batch(&events, 0).unwrap();
            assert_eq!(fresh.stored, size as u64, "size {size}");
            assert_eq!(
                fresh.duplicates,
                (events.len() - size) as u64,
                "size {size}"
            );
            let known = if round.is_multiple_of(2) { 0 } else { size - 1 };
            let more = format!("r{round}-more");
            let mut resend: Vec<Event<'_>> = vec![event(&more)];
            resend.push(event(&ids[known]));
            let outcome = store.store_batch(&resend, 0).unwrap();
            assert_eq!((outcome.stored, outcome.duplicates), (1, 1), "size {size}");
            assert_eq!(
                store.receipts(&ids[known]).unwrap(),
                2 + u64::from(sent_twice(known)),
                "size {size}"
            );
            assert_eq!(store.receipts(&more).unwrap(), 1, "size {size}");
            // And a whole batch sent again: every id known, counted, nothing stored twice.
            let again = store.store_batch(&events, 0).unwrap();
            assert_eq!(
                (again.stored, again.duplicates),
                (0, events.len() as u64),
                "size {size}"
            );
            assert_eq!(
                store.receipts(&ids[size - 1]).unwrap(),
                2 * (1 + u64::from(sent_twice(size - 1))) + u64::from(known == size - 1),
                "size {size}"
            );
            total += size as u64 + 1;
        }
        assert_eq!(store.counts(&[]).unwrap().stored, total);
    }

    #[test]
    fn a_batch_with_a_known_id_in_its_last_statement_stores_each_new_id_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let ids: Vec<String> = (0..150).map(|i| format!("id-{i:03}")).collect();
        store.store_batch(&[event(&ids[149])], 0).unwrap();
        // The first two 64-row statements store their rows before the third meets the known id; the
        // transaction is rolled back and the batch stored again, looking each id up.
        let events: Vec<Event<'_>> = ids.iter().map(|id| event(id)).collect();
        let outcome = store.store_batch(&events, 0).unwrap();
        assert_eq!((outcome.stored, outcome.duplicates), (149, 1));
        assert_eq!(store.receipts(&ids[0]).unwrap(), 1);
        assert_eq!(store.receipts(&ids[149]).unwrap(), 2);
        let counts = store.counts(&[]).unwrap();
        assert_eq!(
            (counts.stored, counts.received, counts.batches),
            (150, 151, 2)
        );
    }

    #[test]
    fn insert_statements_cover_any_row_count() {
        for left in 1..300 {
            let rows = statement_rows(left);
            assert!(rows <= left && rows.is_power_of_two() && rows <= ROWS_PER_INSERT);
            for conflict in [Conflict::Ignore, Conflict::Fail] {
                assert_eq!(insert_sql(rows, conflict).matches('?').count(), rows * 7);
            }
            assert_eq!(lookup_sql(rows).matches('?').count(), rows);
        }
    }

    #[test]
    fn a_newer_schema_is_refused_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.pragma_update(None, "user_version", 7).unwrap();
        drop(conn);
        assert!(matches!(
            SqliteStore::open(dir.path()),
            Err(ServerError::Storage(_))
        ));
    }
}
