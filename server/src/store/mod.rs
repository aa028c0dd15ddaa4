//! Where the server keeps its state: events (deduplicated by `messageId`), counters, prize stock and claims,
//! server-computed segments per person,
//! behind one small interface (`Storage`) with two engines:
//!
//! - `sqlite`: one file in the data directory, one connection behind a mutex. One process; the default.
//! - `postgres`: a PostgreSQL database (`--database postgres://…`) shared by every server process pointing at
//!   it, so several replicas behind a load balancer serve one fleet. Every guarantee below holds across
//!   replicas, because the database, not the process, enforces it.
//!
//! What every engine guarantees (the HTTP tests and `tests/stores.rs` check both):
//! - a batch is stored whole or not at all; a `messageId` already stored is counted, never stored twice;
//! - a claim is atomic: the stock never goes below zero and one `(campaign_id, idempotency_key)` holds at most
//!   one prize, whatever the number of concurrent requests and processes;
//! - a person holds at most the campaign's `per_user` prizes;
//! - a person's segments are replaced whole: a reader sees the old list or the new one, never a mix.
//!
//! This module knows SQL and nothing of HTTP or JSON parsing; handlers decide, the store persists.

mod postgres;
mod sqlite;

use std::borrow::Cow;
use std::path::Path;

use crate::error::ServerError;

/// One validated event, ready to store. It borrows from the request body it was read from: nothing of an
/// event is copied between reading and storing unless it had to be unescaped.
#[derive(Debug, PartialEq)]
pub struct Event<'a> {
    pub message_id: Cow<'a, str>,
    /// One of `batch::EVENT_TYPES`.
    pub kind: &'static str,
    /// `event` for track, `name` for screen and page (when given), none otherwise.
    pub name: Option<Cow<'a, str>>,
    /// `properties.campaign_id` (Reach's own popup and conversion events carry it).
    pub campaign_id: Option<Cow<'a, str>>,
    /// The event's JSON text as received (its slice of the body).
    pub json: &'a str,
}

/// What storing one batch did.
#[derive(Debug, PartialEq, Eq, Default, Clone, Copy)]
pub struct Outcome {
    pub received: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub refused: u64,
}

/// A claim as the store sees it: already validated, with the id a new prize would get.
pub struct ClaimAttempt<'a> {
    pub campaign_id: &'a str,
    pub person_id: &'a str,
    pub idempotency_key: &'a str,
    /// The campaign's prize limit per person; `None`: no limit known to the server.
    pub per_user: Option<u64>,
    /// The claim id a newly granted prize gets (a retried key keeps its first one).
    pub new_claim_id: &'a str,
}

/// How a claim ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The key holds this prize (newly, or since an earlier request).
    Granted { claim_id: String },
    /// The person already holds `per_user` prizes of the campaign.
    LimitReached,
    /// No stock left (or none configured).
    Exhausted,
}

/// The raw numbers behind `GET /v1/stats`, read in one transaction so they agree with each other.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Events in accepted batches, duplicates included.
    pub received: u64,
    /// Distinct `messageId`s stored.
    pub stored: u64,
    pub batches: u64,
    pub refused: u64,
    /// Stored `track` events per name.
    pub by_event: Vec<(String, u64)>,
    /// Stored `track` events per `(campaign_id, name)`, for the names asked for.
    pub by_campaign: Vec<(String, String, u64)>,
}

/// One stored `track` event of the names `Storage::campaign_events` asked for, with the columns the arms need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignEvent {
    /// `event`.
    pub name: String,
    /// `properties.campaign_id` as stored (a number as its decimal text), the key `by_campaign` uses too.
    pub campaign_id: String,
    /// The event's JSON text, as first received.
    pub body: String,
}

/// Whom server-computed segments belong to. The device asks by its user id once `identify()` named the person,
/// by its anonymous id before; the two are different persons even when their text is equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonKind {
    User,
    Anonymous,
}

impl PersonKind {
    /// The query parameter and answer field naming the person; also the stored form.
    pub fn field(self) -> &'static str {
        match self {
            PersonKind::User => "user_id",
            PersonKind::Anonymous => "anonymous_id",
        }
    }
}

/// The server's state, whichever engine keeps it. Every method is one transaction.
pub trait Storage: Send + Sync {
    /// Sets each campaign's stock unless the database already has one for it: a restart (or a second
    /// replica starting with the same flags) must not refill a stock that claims have drawn down.
    fn seed_stock(&self, stock: &[(String, u64)]) -> Result<(), ServerError>;

    /// Stores a batch's valid events in one transaction: new `messageId`s are inserted, known ones (in the
    /// database or earlier in the same batch) only counted; `refused` events are counted.
    fn store_batch(&self, events: &[Event<'_>], refused: u64) -> Result<Outcome, ServerError>;

    /// Claims a prize for `(campaign_id, idempotency_key)`, atomically.
    fn claim(&self, attempt: &ClaimAttempt<'_>) -> Result<ClaimOutcome, ServerError>;

    /// Returns the prize held by `(campaign_id, idempotency_key)` to the stock; `false` if it holds none.
    fn release(&self, campaign_id: &str, idempotency_key: &str) -> Result<bool, ServerError>;

    /// The numbers behind `/v1/stats`; `by_campaign` counts only the event names in `campaign_events`.
    fn counts(&self, campaign_events: &[&str]) -> Result<Counts, ServerError>;

    /// Every stored `track` event named in `names` that has a `campaign_id`, in `messageId` order (each
    /// `messageId` once: duplicates are never stored), read in one transaction. `/v1/stats` groups them into
    /// a campaign's arms (`arms.rs`); the store only selects rows.
    fn campaign_events(&self, names: &[&str]) -> Result<Vec<CampaignEvent>, ServerError>;

    /// How many times `message_id` arrived in accepted batches (0 if never).
    fn receipts(&self, message_id: &str) -> Result<u64, ServerError>;

    /// The stored event with this `messageId`, as it was first received (its JSON text).
    fn event(&self, message_id: &str) -> Result<Option<String>, ServerError>;

    /// The stock left for a campaign; `None` when the campaign has no stock row.
    fn stock(&self, campaign_id: &str) -> Result<Option<u64>, ServerError>;

    /// The person's segment names in no particular order (callers sort); empty when none are stored.
    fn segments(&self, kind: PersonKind, person: &str) -> Result<Vec<String>, ServerError>;

    /// Replaces the person's segments with `names` (distinct, already checked) in one transaction; an empty
    /// list removes the person.
    fn set_segments(
        &self,
        kind: PersonKind,
        person: &str,
        names: &[String],
    ) -> Result<(), ServerError>;
}

/// Where the state lives, as `--database` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// `DATA_DIR/reach-server.db`.
    Sqlite,
    /// A `postgres://` or `postgresql://` URL (libpq's URL form, `?host=/socket/dir` for a Unix socket).
    Postgres(String),
}

impl Database {
    /// Reads `--database`: a PostgreSQL URL, or `sqlite` for the file in the data directory.
    pub fn parse(value: &str) -> Result<Database, String> {
        if value == "sqlite" {
            Ok(Database::Sqlite)
        } else if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            Ok(Database::Postgres(value.to_string()))
        } else {
            Err(format!(
                "--database {value:?} is neither sqlite nor a postgres:// URL"
            ))
        }
    }
}

/// Opens (creating and migrating if needed) the configured store.
pub fn open(database: &Database, data_dir: &Path) -> Result<Box<dyn Storage>, ServerError> {
    Ok(match database {
        Database::Sqlite => Box::new(sqlite::SqliteStore::open(data_dir)?),
        Database::Postgres(url) => Box::new(postgres::PostgresStore::open(url)?),
    })
}

/// Distinct events of a batch in `messageId` order, each with how many times it occurs in the batch (the
/// first occurrence is the one stored). Both engines insert each id once per statement, and the fixed order
/// makes concurrent batches that share ids lock them in the same order (no deadlock between replicas).
pub(crate) fn distinct_by_id<'e, 'a>(events: &'e [Event<'a>]) -> Vec<(&'e Event<'a>, u64)> {
    let mut order: Vec<usize> = (0..events.len()).collect();
    // Stable: equal ids keep batch order, so the first occurrence leads its run.
    order.sort_by(|&a, &b| events[a].message_id.cmp(&events[b].message_id));
    let mut out: Vec<(&Event<'a>, u64)> = Vec::with_capacity(events.len());
    for i in order {
        match out.last_mut() {
            Some((e, n)) if e.message_id == events[i].message_id => *n += 1,
            _ => out.push((&events[i], 1)),
        }
    }
    out
}

/// Adds one statement's answer for an id that occurred `occurrences` times in the batch: `times` is its
/// receipt count after the statement, so it was new exactly when `times == occurrences`.
pub(crate) fn tally(outcome: &mut Outcome, occurrences: u64, times: i64) {
    let times = times.max(0) as u64;
    outcome.received += occurrences;
    if times == occurrences {
        outcome.stored += 1;
        outcome.duplicates += occurrences - 1;
    } else {
        outcome.duplicates += occurrences;
    }
}

/// Now, in Unix milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn to_count(n: i64) -> u64 {
    n.max(0) as u64
}
