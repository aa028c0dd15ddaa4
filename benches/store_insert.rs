//! What-if for the worker's insert path (diagnosis, not a target): the cost of
//! one event row in SQLite, per variant, on the real schema. Not a Tracker
//! bench: it calls `reach::store` and rusqlite directly on one thread and
//! reports wall time and the thread's CPU time per row (CPU time is steadier
//! on a shared machine; wall time adds the fsyncs of checkpoints).
//!
//!     cargo bench --bench store_insert
//!
//! Every variant serialises the same 5 properties to JSON and draws a v4 UUID
//! per row (as `Worker::record` does), inserts ROWS rows in transactions of
//! BATCH rows (about what one 10 ms group commit holds at ~300k events/s),
//! into a fresh database created by `Store::open` (so the schema and pragmas
//! are the real ones):
//! - A `Store::insert_event` as shipped: `prepare_cached` + `params!` per row;
//! - B one statement prepared per transaction, `raw_bind_parameter` per column;
//! - C like B, 16 rows per INSERT statement (multi-row VALUES);
//! - A0 / C0: A / C with `PRAGMA wal_autocheckpoint = 0`, i.e. what the
//!   insert path costs once checkpoints run elsewhere (another connection or
//!   thread); the WAL grows to the whole run here, which is fine for a bench.

use std::time::Instant;

use reach::event::EventKind;
use reach::store::{self, EventRow, Store};
use reach::value::properties_to_json;
use rusqlite::Connection;

mod common;

const ROWS: usize = 300_000;
const BATCH: usize = 3_000;
const MULTI: usize = 16;
const INSERT: &str = "INSERT INTO events (seq, message_id, kind, name, ts, props, session, identity, context, bytes) VALUES ";
const ONE: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// A fresh database with the real schema and pragmas, and its dir.
fn fresh() -> (tempfile::TempDir, Store) {
    let dir = common::temp_dir("store");
    let (store, report) = Store::open(&store::database_path(dir.path()), 0);
    assert!(report.memory_fallback.is_none());
    (dir, store)
}

/// The same pragmas as `store::configure`, on a second connection.
fn raw(dir: &std::path::Path, autocheckpoint: bool) -> Connection {
    let c = Connection::open(store::database_path(dir)).unwrap();
    let _: String = c
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    c.pragma_update(None, "synchronous", "NORMAL").unwrap();
    c.pragma_update(None, "journal_size_limit", 4 * 1024 * 1024)
        .unwrap();
    if !autocheckpoint {
        c.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    }
    c
}

struct Row {
    json: String,
    id: [u8; 16],
}

fn make(props: &[(String, reach::Value)]) -> Row {
    Row {
        json: properties_to_json(props),
        id: *uuid::Uuid::new_v4().as_bytes(),
    }
}

/// The shipped code path: `Store::insert_event`.
fn variant_a() -> (f64, f64) {
    let (_dir, store) = fresh();
    let props = common::props5();
    let cpu0 = common::own_cpu_ns().unwrap_or(0);
    let t = Instant::now();
    let mut seq = 1i64;
    for _ in 0..ROWS / BATCH {
        store.begin().unwrap();
        for _ in 0..BATCH {
            let r = make(&props);
            store
                .insert_event(EventRow {
                    seq,
                    message_id: &r.id,
                    kind: EventKind::Track,
                    name: common::EVENT_NAME,
                    timestamp_ms: seq,
                    properties_json: r.json,
                    session: 1,
                    identity: 1,
                    context: 1,
                    bytes: 150,
                })
                .unwrap();
            seq += 1;
        }
        store.commit().unwrap();
    }
    per_row(t, cpu0)
}

/// (wall µs/row, CPU µs/row) since `t` and `cpu0`.
fn per_row(t: Instant, cpu0: u64) -> (f64, f64) {
    let wall = t.elapsed().as_secs_f64() * 1e6 / ROWS as f64;
    let cpu = common::own_cpu_ns().unwrap_or(0).saturating_sub(cpu0) as f64 / 1e3 / ROWS as f64;
    (wall, cpu)
}

/// `per_stmt` rows per INSERT; `cached_per_row` mimics `insert_event`
/// (prepare_cached + params! per row) when per_stmt == 1.
fn variant_raw(
    dir: &tempfile::TempDir,
    autocheckpoint: bool,
    per_stmt: usize,
    cached_per_row: bool,
) -> (f64, f64) {
    let conn = raw(dir.path(), autocheckpoint);
    let props = common::props5();
    let sql = format!("{INSERT}{}", vec![ONE; per_stmt].join(", "));
    let cpu0 = common::own_cpu_ns().unwrap_or(0);
    let t = Instant::now();
    let mut seq = 1i64;
    for _ in 0..ROWS / BATCH {
        conn.execute_batch("BEGIN").unwrap();
        if cached_per_row {
            for _ in 0..BATCH {
                let r = make(&props);
                conn.prepare_cached(&sql)
                    .unwrap()
                    .execute(rusqlite::params![
                        seq,
                        &r.id[..],
                        EventKind::Track.code(),
                        common::EVENT_NAME,
                        seq,
                        r.json,
                        1i64,
                        1i64,
                        1i64,
                        150i64
                    ])
                    .unwrap();
                seq += 1;
            }
        } else {
            let mut stmt = conn.prepare_cached(&sql).unwrap();
            let mut rows = Vec::with_capacity(per_stmt);
            for _ in 0..BATCH / per_stmt {
                rows.clear();
                rows.extend((0..per_stmt).map(|_| make(&props)));
                for (i, r) in rows.iter().enumerate() {
                    let b = i * 10;
                    stmt.raw_bind_parameter(b + 1, seq).unwrap();
                    stmt.raw_bind_parameter(b + 2, &r.id[..]).unwrap();
                    stmt.raw_bind_parameter(b + 3, EventKind::Track.code())
                        .unwrap();
                    stmt.raw_bind_parameter(b + 4, common::EVENT_NAME).unwrap();
                    stmt.raw_bind_parameter(b + 5, seq).unwrap();
                    stmt.raw_bind_parameter(b + 6, r.json.as_str()).unwrap();
                    stmt.raw_bind_parameter(b + 7, 1i64).unwrap();
                    stmt.raw_bind_parameter(b + 8, 1i64).unwrap();
                    stmt.raw_bind_parameter(b + 9, 1i64).unwrap();
                    stmt.raw_bind_parameter(b + 10, 150i64).unwrap();
                    seq += 1;
                }
                stmt.raw_execute().unwrap();
            }
        }
        conn.execute_batch("COMMIT").unwrap();
    }
    per_row(t, cpu0)
}

/// (wall µs/row, CPU µs/row) of the insert loop alone (not open or close).
fn run(name: &str) -> (f64, f64) {
    match name {
        "A" => variant_a(),
        // The Store's connection is private: the same calls as
        // `insert_event`, on a connection with autocheckpoint off.
        "A0" => {
            let (dir, s) = fresh();
            drop(s);
            variant_raw(&dir, false, 1, true)
        }
        "B" => {
            let (dir, s) = fresh();
            drop(s);
            variant_raw(&dir, true, 1, false)
        }
        "C" | "C0" => {
            let (dir, s) = fresh();
            drop(s);
            variant_raw(&dir, name == "C", MULTI, false)
        }
        _ => unreachable!(),
    }
}

fn main() {
    let repeats = common::env_u64("REACH_BENCH_REPEATS", 3) as usize;
    common::machine_note();
    let names = [
        (
            "A",
            "A: Store::insert_event as shipped (prepare_cached + params! per row)",
        ),
        ("B", "B: one statement per transaction, raw_bind_parameter"),
        ("C", "C: as B, 16 rows per INSERT"),
        (
            "A0",
            "A0: as A, wal_autocheckpoint = 0 (checkpoint off this thread)",
        ),
        ("C0", "C0: as C, wal_autocheckpoint = 0"),
    ];
    let mut res = vec![Vec::new(); names.len()];
    let mut cpu = vec![Vec::new(); names.len()];
    for rep in 1..=repeats {
        eprintln!("repeat {rep}/{repeats}");
        for (i, (n, _)) in names.iter().enumerate() {
            let (us, c) = run(n);
            eprintln!("  {n:<3} wall {us:.3} µs/row, CPU {c:.3} µs/row");
            res[i].push(us);
            cpu[i].push(c);
        }
    }
    println!();
    println!("Insert path, {ROWS} rows in transactions of {BATCH}, incl. JSON + UUID per row; µs/row, median (min–max) of {repeats}");
    println!();
    println!("| variant | wall µs/row | CPU µs/row | rows/s (wall) |");
    println!("|---|---:|---:|---:|");
    for (i, (_, label)) in names.iter().enumerate() {
        let rate: Vec<f64> = res[i].iter().map(|us| 1e6 / us).collect();
        println!(
            "| {label} | {} | {} | {} |",
            common::summary(&res[i]),
            common::summary(&cpu[i]),
            common::summary(&rate)
        );
    }
}
