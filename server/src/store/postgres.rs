//! The PostgreSQL engine (`--database postgres://…`): the same tables as the SQLite engine in a database that
//! several server processes share, so replicas behind a load balancer serve one fleet.
//!
//! Uses the synchronous `postgres` client (rust-postgres): the server answers requests on plain threads
//! (tiny_http), so a blocking client on a small pool of connections fits without bringing an async runtime
//! into the handlers. Atomicity comes from PostgreSQL itself, never from a lock in this process:
//! - a batch is one statement (`INSERT … SELECT FROM unnest(…) ON CONFLICT`) over its distinct ids in sorted
//!   order, so two replicas storing overlapping batches lock the same rows in the same order;
//! - a claim first decrements the campaign's stock row, which locks it until commit: every claim on a
//!   campaign, from any replica, then runs one at a time, and re-reads the key and the person's count after
//!   taking the lock (READ COMMITTED sees what the previous holder committed).

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use postgres::{Client, Config, NoTls};

use super::{
    distinct_by_id, now_ms, tally, to_count, CampaignEvent, ClaimAttempt, ClaimOutcome, Counts,
    Event, Outcome, PersonKind, Storage,
};
use crate::error::ServerError;

/// Connections per server process: one per request thread (`WORKER_THREADS`), so a request never waits for
/// another's connection, and a fleet of replicas stays far below PostgreSQL's default 100 connections.
const POOL_SIZE: usize = crate::WORKER_THREADS;

/// A connection attempt that takes longer has found a database that is down or unreachable; failing the
/// start (or the request, which the client retries) beats hanging.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema version this code writes (the one row of `reach_schema`): 1 events, counters, stock, claims;
/// 2 adds segments.
const SCHEMA_VERSION: i32 = 2;

/// Held while creating or checking the schema, so replicas starting together do not race their `CREATE`s.
/// Any constant works; this one is "reach" in ASCII.
const SCHEMA_LOCK: i64 = 0x72_65_61_63_68;

const SCHEMA_V1: &str = "
CREATE TABLE events (
    message_id  TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    name        TEXT,
    campaign_id TEXT,
    body        TEXT NOT NULL,
    received_at BIGINT NOT NULL, -- Unix milliseconds
    -- How many times this messageId arrived in an accepted batch (1 = never resent).
    times       BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX events_campaign ON events(campaign_id) WHERE campaign_id IS NOT NULL;
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
CREATE TABLE stock (
    campaign_id TEXT PRIMARY KEY,
    remaining   BIGINT NOT NULL CHECK (remaining >= 0)
);
CREATE TABLE claims (
    campaign_id     TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    claim_id        TEXT NOT NULL,
    person_id       TEXT NOT NULL,
    claimed_at      BIGINT NOT NULL,  -- Unix milliseconds
    PRIMARY KEY (campaign_id, idempotency_key)
);
";

/// The first key of the two-key advisory locks that serialize writers of one person's segments (the second is
/// a hash of the person; a collision only makes two persons' writers take turns). Two-key locks never collide
/// with the one-key `SCHEMA_LOCK`. Any constant works; this one is "seg" in ASCII.
const SEGMENTS_LOCK_CLASS: i32 = 0x73_65_67;

/// Version 2: server-computed segments, one row per person and name, as in the SQLite engine.
const SCHEMA_V2: &str = "
CREATE TABLE segments (
    kind   TEXT NOT NULL, -- 'user_id' or 'anonymous_id'
    person TEXT NOT NULL,
    name   TEXT NOT NULL,
    PRIMARY KEY (kind, person, name)
);
";

impl From<postgres::Error> for ServerError {
    fn from(e: postgres::Error) -> Self {
        ServerError::Storage(format!("postgres: {e}"))
    }
}

/// A fixed pool of connections to one database.
pub struct PostgresStore {
    config: Config,
    idle: Mutex<Vec<Client>>,
    returned: Condvar,
}

/// A connection taken from the pool; goes back on drop unless it broke.
struct Pooled<'a> {
    store: &'a PostgresStore,
    client: Option<Client>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("present until drop")
    }
}
impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("present until drop")
    }
}
impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let mut idle = self
                .store
                .idle
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            idle.push(client);
            self.store.returned.notify_one();
        }
    }
}

impl PostgresStore {
    /// Connects `POOL_SIZE` times to the database at `url` and brings its schema up to date.
    pub fn open(url: &str) -> Result<PostgresStore, ServerError> {
        let mut config: Config = url
            .parse()
            .map_err(|e| ServerError::Storage(format!("--database: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let mut first = config.connect(NoTls)?;
        migrate(&mut first)?;
        let mut idle = vec![first];
        for _ in 1..POOL_SIZE {
            idle.push(config.connect(NoTls)?);
        }
        Ok(PostgresStore {
            config,
            idle: Mutex::new(idle),
            returned: Condvar::new(),
        })
    }

    /// A connection: an idle one, reconnected if the database closed it (a restart), or the next returned.
    fn client(&self) -> Result<Pooled<'_>, ServerError> {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let client = loop {
            if let Some(c) = idle.pop() {
                break c;
            }
            idle = self
                .returned
                .wait(idle)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        };
        drop(idle);
        let client = if client.is_closed() {
            // The slot is kept either way: a failed reconnect is retried by the next request.
            match self.config.connect(NoTls) {
                Ok(fresh) => fresh,
                Err(e) => {
                    self.give_back(client);
                    return Err(e.into());
                }
            }
        } else {
            client
        };
        Ok(Pooled {
            store: self,
            client: Some(client),
        })
    }

    fn give_back(&self, client: Client) {
        drop(Pooled {
            store: self,
            client: Some(client),
        });
    }
}

fn migrate(client: &mut Client) -> Result<(), ServerError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS reach_schema (version INTEGER NOT NULL)")?;
    let version: Option<i32> = tx
        .query_opt("SELECT version FROM reach_schema", &[])?
        .map(|r| r.get(0));
    match version {
        Some(SCHEMA_VERSION) => {}
        None => {
            tx.batch_execute(SCHEMA_V1)?;
            tx.batch_execute(SCHEMA_V2)?;
            tx.execute(
                "INSERT INTO reach_schema (version) VALUES ($1)",
                &[&SCHEMA_VERSION],
            )?;
        }
        Some(1) => {
            tx.batch_execute(SCHEMA_V2)?;
            tx.execute("UPDATE reach_schema SET version = $1", &[&SCHEMA_VERSION])?;
        }
        Some(v) => {
            return Err(ServerError::Storage(format!(
                "database schema version {v} is not {SCHEMA_VERSION}; use a fresh database"
            )))
        }
    }
    tx.commit()?;
    Ok(())
}

impl Storage for PostgresStore {
    fn seed_stock(&self, stock: &[(String, u64)]) -> Result<(), ServerError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        for (campaign, n) in stock {
            let n = i64::try_from(*n).unwrap_or(i64::MAX);
            tx.execute(
                "INSERT INTO stock (campaign_id, remaining) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[campaign, &n],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn store_batch(&self, events: &[Event<'_>], refused: u64) -> Result<Outcome, ServerError> {
        let distinct = distinct_by_id(events);
        let mut ids = Vec::with_capacity(distinct.len());
        let mut kinds = Vec::with_capacity(distinct.len());
        let mut names = Vec::with_capacity(distinct.len());
        let mut campaigns = Vec::with_capacity(distinct.len());
        let mut bodies = Vec::with_capacity(distinct.len());
        let mut occurrences = Vec::with_capacity(distinct.len());
        for (e, n) in &distinct {
            ids.push(e.message_id.as_ref());
            kinds.push(e.kind);
            names.push(e.name.as_deref());
            campaigns.push(e.campaign_id.as_deref());
            bodies.push(e.json);
            occurrences.push(*n as i64);
        }
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let mut outcome = Outcome::default();
        if !distinct.is_empty() {
            let rows = tx.query(
                "INSERT INTO events (message_id, type, name, campaign_id, body, received_at, times)
                 SELECT id, kind, name, campaign, body, $6, n
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $7::bigint[])
                      AS batch(id, kind, name, campaign, body, n)
                 ON CONFLICT (message_id) DO UPDATE SET times = events.times + EXCLUDED.times
                 RETURNING message_id, times",
                &[
                    &ids,
                    &kinds,
                    &names,
                    &campaigns,
                    &bodies,
                    &now_ms(),
                    &occurrences,
                ],
            )?;
            let wanted: HashMap<&str, u64> = distinct
                .iter()
                .map(|(e, n)| (e.message_id.as_ref(), *n))
                .collect();
            for row in &rows {
                let id: &str = row.get(0);
                let times: i64 = row.get(1);
                tally(&mut outcome, wanted.get(id).copied().unwrap_or(1), times);
            }
        }
        let count = "INSERT INTO counters (name, value) VALUES ($1, $2)
                     ON CONFLICT (name) DO UPDATE SET value = counters.value + EXCLUDED.value";
        tx.execute(count, &[&"batches", &1i64])?;
        outcome.refused = refused;
        if refused > 0 {
            tx.execute(count, &[&"events_refused", &(refused as i64)])?;
        }
        tx.commit()?;
        Ok(outcome)
    }

    fn claim(&self, a: &ClaimAttempt<'_>) -> Result<ClaimOutcome, ServerError> {
        let held_sql =
            "SELECT claim_id FROM claims WHERE campaign_id = $1 AND idempotency_key = $2";
        let mut client = self.client()?;
        // A retry of a granted key needs no lock.
        if let Some(row) = client.query_opt(held_sql, &[&a.campaign_id, &a.idempotency_key])? {
            return Ok(ClaimOutcome::Granted {
                claim_id: row.get(0),
            });
        }
        let mut tx = client.transaction()?;
        // Takes the campaign's stock row lock (when there is stock): from here to commit, no other claim on
        // this campaign runs, in this process or another.
        let taken = tx.execute(
            "UPDATE stock SET remaining = remaining - 1 WHERE campaign_id = $1 AND remaining > 0",
            &[&a.campaign_id],
        )?;
        // The same key may have been granted while this request waited for the lock.
        if let Some(row) = tx.query_opt(held_sql, &[&a.campaign_id, &a.idempotency_key])? {
            tx.rollback()?;
            return Ok(ClaimOutcome::Granted {
                claim_id: row.get(0),
            });
        }
        if let Some(limit) = a.per_user {
            let held: i64 = tx
                .query_one(
                    "SELECT COUNT(*) FROM claims WHERE campaign_id = $1 AND person_id = $2",
                    &[&a.campaign_id, &a.person_id],
                )?
                .get(0);
            if to_count(held) >= limit {
                tx.rollback()?;
                return Ok(ClaimOutcome::LimitReached);
            }
        }
        if taken == 0 {
            tx.rollback()?;
            return Ok(ClaimOutcome::Exhausted);
        }
        tx.execute(
            "INSERT INTO claims (campaign_id, idempotency_key, claim_id, person_id, claimed_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &a.campaign_id,
                &a.idempotency_key,
                &a.new_claim_id,
                &a.person_id,
                &now_ms(),
            ],
        )?;
        tx.commit()?;
        Ok(ClaimOutcome::Granted {
            claim_id: a.new_claim_id.to_string(),
        })
    }

    fn release(&self, campaign_id: &str, idempotency_key: &str) -> Result<bool, ServerError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let removed = tx.execute(
            "DELETE FROM claims WHERE campaign_id = $1 AND idempotency_key = $2",
            &[&campaign_id, &idempotency_key],
        )?;
        if removed == 0 {
            tx.rollback()?;
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO stock (campaign_id, remaining) VALUES ($1, 1)
             ON CONFLICT (campaign_id) DO UPDATE SET remaining = stock.remaining + 1",
            &[&campaign_id],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn counts(&self, campaign_events: &[&str]) -> Result<Counts, ServerError> {
        let mut client = self.client()?;
        // One snapshot for every query, so the numbers agree with each other.
        let mut tx = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let totals = tx.query_one(
            "SELECT COALESCE(SUM(times), 0)::BIGINT, COUNT(*),
                    COALESCE((SELECT value FROM counters WHERE name = 'batches'), 0),
                    COALESCE((SELECT value FROM counters WHERE name = 'events_refused'), 0)
             FROM events",
            &[],
        )?;
        let mut counts = Counts {
            received: to_count(totals.get(0)),
            stored: to_count(totals.get(1)),
            batches: to_count(totals.get(2)),
            refused: to_count(totals.get(3)),
            ..Counts::default()
        };
        for row in tx.query(
            "SELECT name, COUNT(*) FROM events WHERE type = 'track' AND name IS NOT NULL GROUP BY name",
            &[],
        )? {
            counts.by_event.push((row.get(0), to_count(row.get(1))));
        }
        for row in tx.query(
            "SELECT campaign_id, name, COUNT(*) FROM events
             WHERE type = 'track' AND campaign_id IS NOT NULL AND name = ANY($1)
             GROUP BY campaign_id, name",
            &[&campaign_events],
        )? {
            counts
                .by_campaign
                .push((row.get(0), row.get(1), to_count(row.get(2))));
        }
        tx.commit()?;
        Ok(counts)
    }

    fn campaign_events(&self, names: &[&str]) -> Result<Vec<CampaignEvent>, ServerError> {
        let mut client = self.client()?;
        let rows = client.query(
            "SELECT name, campaign_id, body FROM events
             WHERE type = 'track' AND campaign_id IS NOT NULL AND name = ANY($1)
             ORDER BY message_id",
            &[&names],
        )?;
        Ok(rows
            .iter()
            .map(|r| CampaignEvent {
                name: r.get(0),
                campaign_id: r.get(1),
                body: r.get(2),
            })
            .collect())
    }

    fn receipts(&self, message_id: &str) -> Result<u64, ServerError> {
        let row = self.client()?.query_opt(
            "SELECT times FROM events WHERE message_id = $1",
            &[&message_id],
        )?;
        Ok(row.map_or(0, |r| to_count(r.get(0))))
    }

    fn event(&self, message_id: &str) -> Result<Option<String>, ServerError> {
        let row = self.client()?.query_opt(
            "SELECT body FROM events WHERE message_id = $1",
            &[&message_id],
        )?;
        Ok(row.map(|r| r.get(0)))
    }

    fn stock(&self, campaign_id: &str) -> Result<Option<u64>, ServerError> {
        let row = self.client()?.query_opt(
            "SELECT remaining FROM stock WHERE campaign_id = $1",
            &[&campaign_id],
        )?;
        Ok(row.map(|r| to_count(r.get(0))))
    }

    fn segments(&self, kind: PersonKind, person: &str) -> Result<Vec<String>, ServerError> {
        let rows = self.client()?.query(
            "SELECT name FROM segments WHERE kind = $1 AND person = $2",
            &[&kind.field(), &person],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn set_segments(
        &self,
        kind: PersonKind,
        person: &str,
        names: &[String],
    ) -> Result<(), ServerError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        // Row locks alone would let two replicas setting one person at once leave the union of both lists
        // (neither delete sees the other's new rows under READ COMMITTED), so the person is locked first: the
        // second writer waits for the first's commit, then replaces its list whole.
        tx.execute(
            "SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text || ':' || $3::text))",
            &[&SEGMENTS_LOCK_CLASS, &kind.field(), &person],
        )?;
        tx.execute(
            "DELETE FROM segments WHERE kind = $1 AND person = $2",
            &[&kind.field(), &person],
        )?;
        if !names.is_empty() {
            tx.execute(
                "INSERT INTO segments (kind, person, name)
                 SELECT $1, $2, name FROM unnest($3::text[]) AS list(name)
                 ON CONFLICT DO NOTHING",
                &[&kind.field(), &person, &names],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}
