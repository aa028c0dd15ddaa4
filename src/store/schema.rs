//! The database schema and its migrations, driven by `PRAGMA user_version`.
//!
//! Each version is one function that moves the schema up by one step. A new
//! database runs every step from 0; an old one runs the steps it lacks, all in
//! one transaction, so a kill mid-upgrade leaves the previous version intact.
//! Every step gets a test that starts from the schema before it.

use rusqlite::Connection;

/// Steps, in order: `MIGRATIONS[i]` upgrades from version `i` to `i + 1`.
const MIGRATIONS: &[fn(&Connection) -> rusqlite::Result<()>] = &[
    v1_initial,
    v2_trigger_engine,
    v3_campaigns_over_time,
    v4_server_segments,
    v5_last_explanations,
    v6_properties_checksum,
];

/// The version a fully migrated database has.
pub const CURRENT_VERSION: u32 = MIGRATIONS.len() as u32;

/// Why the database cannot be used as it is.
#[derive(Debug)]
pub enum MigrationError {
    /// Written by a newer Reach: refuse rather than guess at its schema.
    TooNew {
        found: u32,
    },
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for MigrationError {
    fn from(e: rusqlite::Error) -> Self {
        MigrationError::Sqlite(e)
    }
}

/// Brings the schema to `CURRENT_VERSION`.
pub fn migrate(conn: &mut Connection) -> Result<(), MigrationError> {
    let found: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > CURRENT_VERSION {
        return Err(MigrationError::TooNew { found });
    }
    if found == CURRENT_VERSION {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for step in &MIGRATIONS[found as usize..] {
        step(&tx)?;
    }
    tx.pragma_update(None, "user_version", CURRENT_VERSION)?;
    tx.commit()?;
    Ok(())
}

fn v1_initial(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "
        -- Small state that survives restarts: ids, session, consent, user properties.
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;

        -- Tallies of the events table, updated in the same transaction as the
        -- rows, so opening never has to count or sum the table.
        CREATE TABLE queue_stats (
            id       INTEGER PRIMARY KEY CHECK (id = 1),
            next_seq INTEGER NOT NULL,
            count    INTEGER NOT NULL,
            bytes    INTEGER NOT NULL
        );
        INSERT INTO queue_stats (id, next_seq, count, bytes) VALUES (1, 1, 0, 0);

        -- App/OS/locale context, stored once per distinct value, not per event.
        CREATE TABLE contexts (
            id   INTEGER PRIMARY KEY,
            json TEXT NOT NULL UNIQUE
        );

        -- Who an event belongs to: the anonymous id, and the user id once known.
        CREATE TABLE identities (
            id           INTEGER PRIMARY KEY,
            anonymous_id TEXT NOT NULL,
            user_id      TEXT
        );
        CREATE INDEX identities_by_ids ON identities (anonymous_id, user_id);

        CREATE TABLE sessions (
            id         INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL UNIQUE,
            started_ms INTEGER NOT NULL
        );

        -- The upload queue. `seq` is the monotonic sequence number.
        CREATE TABLE events (
            seq        INTEGER PRIMARY KEY,
            message_id BLOB NOT NULL,
            kind       INTEGER NOT NULL,
            name       TEXT NOT NULL,
            ts         INTEGER NOT NULL,
            props      TEXT NOT NULL,
            session    INTEGER NOT NULL,
            identity   INTEGER NOT NULL,
            context    INTEGER NOT NULL,
            bytes      INTEGER NOT NULL
        );
        ",
    )
}

/// The trigger engine's state: behaviour counters and impression histories,
/// all belonging to the current person (cleared by `reset()`).
fn v2_trigger_engine(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "
        -- One row per counted series (see engine/behaviour.rs for the keys).
        CREATE TABLE counter_series (
            series   TEXT PRIMARY KEY,
            first_ms INTEGER,
            last_ms  INTEGER
        ) WITHOUT ROWID;

        -- Sparse buckets: tier 0 = minutes, 1 = hours, 2 = days.
        CREATE TABLE counter_buckets (
            series TEXT NOT NULL,
            tier   INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            count  INTEGER NOT NULL,
            sum    REAL NOT NULL,
            PRIMARY KEY (series, tier, bucket)
        ) WITHOUT ROWID;

        -- Impressions, dismisses and clicks per campaign, as JSON.
        CREATE TABLE campaign_history (
            campaign_id TEXT PRIMARY KEY,
            json        TEXT NOT NULL
        ) WITHOUT ROWID;
        ",
    )
}

fn v3_campaigns_over_time(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "
        -- Popups scheduled for later; one per campaign (engine/delays.rs).
        CREATE TABLE pending_delays (
            campaign_id TEXT PRIMARY KEY,
            trigger_ms  INTEGER NOT NULL,
            due_ms      INTEGER NOT NULL,
            expires_ms  INTEGER NOT NULL
        ) WITHOUT ROWID;

        -- Steps done of sequence triggers (engine/sequences.rs).
        CREATE TABLE sequence_progress (
            campaign_id TEXT PRIMARY KEY,
            done        INTEGER NOT NULL,
            last_ms     INTEGER NOT NULL
        ) WITHOUT ROWID;

        -- A/B and holdout arms, fixed at first exposure (engine/assignment.rs).
        CREATE TABLE variant_assignments (
            campaign_id TEXT PRIMARY KEY,
            variant     TEXT NOT NULL,
            unit_id     TEXT NOT NULL,
            assigned_ms INTEGER NOT NULL
        ) WITHOUT ROWID;
        ",
    )
}

/// The server's segments for the current person (store/segments.rs).
fn v4_server_segments(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "
        -- At most one row: the current person's, from GET /v1/segments.
        CREATE TABLE server_segments (
            person     TEXT PRIMARY KEY,
            segments   TEXT NOT NULL,
            etag       TEXT,
            fetched_ms INTEGER NOT NULL
        ) WITHOUT ROWID;
        ",
    )
}

/// The last decision per campaign, as `explain()` words it, so it still
/// answers after a restart (the engine's last-match facts live in memory).
fn v5_last_explanations(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "
        CREATE TABLE last_explanations (
            campaign_id TEXT PRIMARY KEY,
            event       TEXT NOT NULL,
            event_ms    INTEGER NOT NULL,
            outcome     TEXT NOT NULL,
            -- JSON array of the reasons, the engine's verdict first.
            reasons     TEXT NOT NULL
        ) WITHOUT ROWID;
        ",
    )
}

/// A CRC-32 of each event's properties, written with the row. Before a row
/// is uploaded its properties must still be the JSON that was written (a
/// damaged one would make the server refuse its whole batch); comparing a
/// checksum costs the network thread a fraction of parsing the text again.
/// Rows from before this version keep NULL and are parsed as before.
fn v6_properties_checksum(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("ALTER TABLE events ADD COLUMN props_crc INTEGER;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_reaches_the_current_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, CURRENT_VERSION);
        // Running again is a no-op.
        migrate(&mut conn).unwrap();
    }

    #[test]
    fn version_1_upgrades_to_version_2_keeping_its_events() {
        let mut conn = Connection::open_in_memory().unwrap();
        v1_initial(&conn).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO events (seq, message_id, kind, name, ts, props, session, identity, context, bytes)
             VALUES (1, x'00', 0, 'e', 0, '{}', 1, 1, 1, 10)",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        conn.execute(
            "INSERT INTO counter_series (series) VALUES ('\"login\"')",
            [],
        )
        .unwrap();
    }

    #[test]
    fn version_3_upgrades_to_version_4_keeping_its_state() {
        let mut conn = Connection::open_in_memory().unwrap();
        for step in &MIGRATIONS[..3] {
            step(&conn).unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        conn.execute(
            "INSERT INTO pending_delays (campaign_id, trigger_ms, due_ms, expires_ms) VALUES ('c', 1, 2, 3)",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM pending_delays", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        conn.execute(
            "INSERT INTO server_segments (person, segments, fetched_ms) VALUES ('user:a', '[]', 0)",
            [],
        )
        .unwrap();
    }

    #[test]
    fn version_4_upgrades_to_version_5_keeping_its_state() {
        let mut conn = Connection::open_in_memory().unwrap();
        for step in &MIGRATIONS[..4] {
            step(&conn).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        conn.execute(
            "INSERT INTO pending_delays (campaign_id, trigger_ms, due_ms, expires_ms) VALUES ('cart', 1, 2, 3)",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO server_segments (person, segments, fetched_ms) VALUES ('user:a', '[]', 0)",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        for table in ["pending_delays", "server_segments"] {
            let n: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, 1, "{table}");
        }
        conn.execute(
            "INSERT INTO last_explanations VALUES ('cart', 'add_to_cart', 1, 'scheduled', '[]')",
            [],
        )
        .unwrap();
    }

    #[test]
    fn version_5_upgrades_to_version_6_keeping_its_events_without_checksums() {
        let mut conn = Connection::open_in_memory().unwrap();
        for step in &MIGRATIONS[..5] {
            step(&conn).unwrap();
        }
        conn.pragma_update(None, "user_version", 5).unwrap();
        conn.execute(
            "INSERT INTO events (seq, message_id, kind, name, ts, props, session, identity, context, bytes)
             VALUES (1, x'00', 0, 'e', 0, '{}', 1, 1, 1, 10)",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let crc: Option<i64> = conn
            .query_row("SELECT props_crc FROM events WHERE seq = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(crc, None);
    }

    #[test]
    fn a_database_from_a_newer_reach_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", CURRENT_VERSION + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(MigrationError::TooNew { .. })
        ));
    }
}
