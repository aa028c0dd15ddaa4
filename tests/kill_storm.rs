//! A child process tracks events, syncs a signed pack with a delayed
//! campaign from a loopback server, is offered popups (a test presenter
//! appends each offer id to a file) and uploads to that server, and is
//! killed with SIGKILL at random (seeded) moments, again and again. After
//! each kill the parent checks, from the database file and the server:
//! - every event whose `flush()` returned `true` is stored locally or
//!   acknowledged by the server (lost = 0);
//! - the server stores each `messageId` once;
//! - no popup is offered twice;
//! - no due delay is lost (a pending delay disappears only into an offer);
//! - counters never go backwards (queue sequence, behaviour counters,
//!   impressions).
//!
//! `REACH_KILLS` sets the number of kills (CI default [`DEFAULT_KILLS`]) and
//! `REACH_KILL_SEED` the seed (printed at the start, so a failure can be
//! replayed). The documented long run, about 10 minutes in a debug build:
//!
//! ```text
//! REACH_KILLS=1000 cargo test -p reach --test kill_storm -- --nocapture
//! ```

mod net_support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use net_support::{public_key_b64, signed_pack, TestServer};
use reach::popup::{Answer, OfferContent, Presenter};
use reach::store::{database_path, Store};
use reach::{Clock, Config, ServerConfig, Tracker, Value};

/// Kills in a default run: about 60 s of a debug build on two busy cores.
const DEFAULT_KILLS: u64 = 100;
/// A child lives this long at most before its kill (at least the minimum):
/// long enough to reach open, pack sync, uploads and offers, short enough
/// that a kill lands in each of them over a run.
const MIN_LIFE_MS: u64 = 20;
const MAX_LIFE_MS: u64 = 600;
/// Virtual milliseconds per real one in the child: a 1-minute delay falls
/// due in 100 ms of real time, so delays are scheduled, fall due and are
/// offered between kills.
const SPEED: i64 = 600;
/// The virtual clock's origin (2026-09-21), far from any real date.
const VIRTUAL_EPOCH_MS: i64 = 1_790_000_000_000;
/// Events per flush in the child, and the pause between two flushes: about
/// 500 events a second, far above what an app records, yet within what the
/// uploads drain, so the queue's cap (which drops the oldest, by design)
/// never comes into play.
const BATCH: i64 = 10;
const PAUSE: Duration = Duration::from_millis(10);

const KEY_SEED: u8 = 7;
const HOUR_MS: i64 = 3_600_000;
const CAMPAIGN: &str = "cart-reminder";

const CHILD_ENV: &str = "REACH_KILL_STORM";

/// A signed pack with one delayed campaign, as the server hands it out.
fn pack() -> String {
    format!(
        r#"{{"format": "1.1", "revision": "storm", "version": 1, "campaigns": [
  {{"id": "{CAMPAIGN}", "trigger": {{"event": "add_to_cart"}},
   "delay": {{"after": "1m", "expire_after": "24h"}},
   "frequency": {{"caps": [{{"max": 1000, "per": "day"}}]}},
   "popup": {{"template": "modal", "title": "Still thinking it over?"}}}}]}}"#
    )
}

/// Real time sped up `SPEED` times from an origin the parent fixes, so the
/// child's time moves on across restarts and never goes back.
struct FastClock {
    origin_real_ms: i64,
}

fn real_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

impl Clock for FastClock {
    fn now_ms(&self) -> i64 {
        VIRTUAL_EPOCH_MS + (real_ms() - self.origin_real_ms) * SPEED
    }

    fn real_wait_until(&self, deadline_ms: i64) -> Duration {
        let left = deadline_ms.saturating_sub(self.now_ms()).max(0);
        Duration::from_millis((left / SPEED) as u64 + 1)
    }
}

/// Appends each offer id to the offers file before answering, then hands
/// it to the child's loop, which reports it shown and dismissed.
struct FilePresenter {
    file: Mutex<std::fs::File>,
    offers: Mutex<Sender<String>>,
}

impl Presenter for FilePresenter {
    fn offer(&self, content: &OfferContent) -> Result<Answer, String> {
        // One write(2) per line: a kill leaves whole lines or none.
        let line = format!("{} {}\n", content.offer_id, content.campaign_id);
        self.file
            .lock()
            .unwrap()
            .write_all(line.as_bytes())
            .map_err(|e| e.to_string())?;
        let _ = self.offers.lock().unwrap().send(content.offer_id.clone());
        Ok(Answer::ShowNow)
    }
}

struct ChildSpec {
    dir: PathBuf,
    server: String,
    offers: PathBuf,
    origin_real_ms: i64,
    run: u64,
}

impl ChildSpec {
    fn encode(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}\n{}",
            self.dir.display(),
            self.server,
            self.offers.display(),
            self.origin_real_ms,
            self.run
        )
    }

    fn decode(s: &str) -> ChildSpec {
        let parts: Vec<&str> = s.split('\n').collect();
        ChildSpec {
            dir: parts[0].into(),
            server: parts[1].into(),
            offers: parts[2].into(),
            origin_real_ms: parts[3].parse().unwrap(),
            run: parts[4].parse().unwrap(),
        }
    }
}

fn child_config(spec: &ChildSpec) -> Config {
    let mut c = Config::new(&spec.dir);
    c.app.platform = "android".into();
    c.app.timezone = "Asia/Shanghai".into();
    c.flush_timeout = Duration::from_secs(10);
    let mut s = ServerConfig::new(spec.server.clone(), "storm-key");
    s.pack_public_keys = vec![public_key_b64(KEY_SEED)];
    s.flush_at = 50;
    s.flush_interval = Duration::from_millis(50);
    s.max_batch_events = 100;
    s.request_timeout = Duration::from_secs(5);
    c.server = Some(s);
    c
}

/// The child's side, not a test: run only by its parent
/// (`--ignored --exact kill_storm_child`), which sets the environment and
/// kills it. Run any other way, it fails.
#[test]
#[ignore = "the child process of a_process_killed_at_random_moments_loses_nothing_acknowledged"]
fn kill_storm_child() {
    let spec = ChildSpec::decode(
        &std::env::var(CHILD_ENV).expect("run only by its parent test, which sets the spec"),
    );
    let clock = Arc::new(FastClock {
        origin_real_ms: spec.origin_real_ms,
    });
    let tracker = Tracker::open(child_config(&spec), clock, None).expect("child opens");
    let (tx, rx): (Sender<String>, Receiver<String>) = mpsc::channel();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.offers)
        .unwrap();
    tracker
        .set_presenter(Some(Arc::new(FilePresenter {
            file: Mutex::new(file),
            offers: Mutex::new(tx),
        })))
        .unwrap();
    tracker.on_foreground().unwrap();
    let mut i = 0i64;
    loop {
        for _ in 0..BATCH {
            tracker
                .track(
                    "tick".into(),
                    vec![
                        ("run".into(), Value::Int(spec.run as i64)),
                        ("i".into(), Value::Int(i)),
                    ],
                )
                .unwrap();
            i += 1;
        }
        tracker.track("add_to_cart".into(), vec![]).unwrap();
        if tracker.flush() {
            println!("flushed {} {i}", spec.run);
        }
        if tracker.diagnostics().dropped_overflow > 0 {
            // The queue cap dropped the oldest (by design): this run's
            // figures would not be about kills any more.
            println!("overflow {}", spec.run);
        }
        while let Ok(offer) = rx.try_recv() {
            tracker.popup_shown(offer.clone()).unwrap();
            tracker.popup_dismissed(offer).unwrap();
        }
        std::thread::sleep(PAUSE);
    }
}

/// xorshift64*: the kill moments, reproducible from the printed seed.
struct Moments(u64);

impl Moments {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn life(&mut self) -> Duration {
        Duration::from_millis(MIN_LIFE_MS + self.next() % (MAX_LIFE_MS - MIN_LIFE_MS))
    }
}

/// Runs one child for `life` and kills it; returns the highest event count
/// its flush() acknowledged (`None`: none did).
fn run_and_kill(spec: &ChildSpec, life: Duration) -> Option<i64> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "kill_storm_child",
            "--ignored",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, spec.encode())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().unwrap();
    let run = spec.run;
    // Lines are read on their own thread, so the kill comes on time.
    let reader = std::thread::spawn(move || {
        let mut acked = None;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // The test harness may print "test ... " on the same line.
            assert!(
                !line.contains("overflow"),
                "the child's queue overflowed: slow its rate"
            );
            if let Some(at) = line.find("flushed ") {
                let mut f = line[at + 8..].split_whitespace();
                let (r, n) = (f.next(), f.next());
                if r.and_then(|r| r.parse::<u64>().ok()) == Some(run) {
                    acked = n.and_then(|n| n.parse::<i64>().ok()).or(acked);
                }
            }
        }
        acked
    });
    std::thread::sleep(life);
    child.kill().expect("SIGKILL"); // std sends SIGKILL on Unix
    child.wait().unwrap();
    reader.join().unwrap()
}

/// What the data directory holds after a kill.
struct Snapshot {
    /// (run, i) of the tick events stored locally.
    ticks: BTreeSet<(u64, i64)>,
    /// messageIds of `reach.popup.shown` events stored locally.
    shown: BTreeSet<String>,
    next_seq: i64,
    /// The delay pending for the campaign (its due time), if any.
    pending_due_ms: Option<i64>,
    offer_in_flight: bool,
    /// Sum of the day-tier behaviour counter buckets per series.
    counters: BTreeMap<String, i64>,
    /// Impression times (virtual ms) of the campaign.
    impressions: Vec<i64>,
}

fn snapshot(dir: &Path) -> Snapshot {
    let db = database_path(dir);
    let mut s = Snapshot {
        ticks: BTreeSet::new(),
        shown: BTreeSet::new(),
        next_seq: 0,
        pending_due_ms: None,
        offer_in_flight: false,
        counters: BTreeMap::new(),
        impressions: Vec::new(),
    };
    if !db.exists() {
        return s; // killed before the worker created it
    }
    {
        let (store, report) = Store::open(&db, 0);
        assert!(
            report.moved_aside.is_none() && report.memory_fallback.is_none(),
            "a kill damaged the database: {report:?}"
        );
        let mut after = 0;
        loop {
            let page = store.read_events(after, 10_000).unwrap();
            let Some(last) = page.last() else { break };
            after = last.seq;
            for e in page {
                match e.name.as_str() {
                    "tick" => {
                        let p: serde_json::Value =
                            serde_json::from_str(&e.properties_json).unwrap();
                        s.ticks
                            .insert((p["run"].as_u64().unwrap(), p["i"].as_i64().unwrap()));
                    }
                    "reach.popup.shown" => {
                        s.shown.insert(e.message_id);
                    }
                    _ => {}
                }
            }
        }
        s.next_seq = store.queue_stats().unwrap().next_seq;
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    s.pending_due_ms = conn
        .query_row(
            "SELECT due_ms FROM pending_delays WHERE campaign_id = ?1",
            [CAMPAIGN],
            |r| r.get(0),
        )
        .ok();
    s.offer_in_flight = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'offer_in_flight'",
            [],
            |r| r.get::<_, String>(0),
        )
        .is_ok();
    let mut stmt = conn
        .prepare("SELECT series, sum(count) FROM counter_buckets WHERE tier = 2 GROUP BY series")
        .unwrap();
    s.counters = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    s.impressions = conn
        .query_row(
            "SELECT json FROM campaign_history WHERE campaign_id = ?1",
            [CAMPAIGN],
            |r| r.get::<_, String>(0),
        )
        .ok()
        .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
        .and_then(|j| {
            j["impressions"]
                .as_array()
                .map(|a| a.iter().filter_map(|t| t.as_i64()).collect())
        })
        .unwrap_or_default();
    s
}

#[test]
fn a_process_killed_at_random_moments_loses_nothing_acknowledged() {
    let kills: u64 = std::env::var("REACH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(DEFAULT_KILLS);
    let seed: u64 = std::env::var("REACH_KILL_SEED")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or_else(|| real_ms() as u64 | 1);
    println!("kill storm: {kills} kills, seed {seed} (REACH_KILL_SEED={seed} replays it)");
    let mut moments = Moments(seed);

    let server = TestServer::start();
    server.state().pack = Some(signed_pack(&pack(), KEY_SEED));
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let offers = root.path().join("offers.txt");
    let origin_real_ms = real_ms();

    // Runs whose flush() said true at least once, and the (run, i) they
    // acknowledged that the server has not stored yet.
    let mut acknowledged = 0u64;
    let mut open_acks: BTreeSet<(u64, i64)> = BTreeSet::new();
    let (mut server_ticks, mut server_shown) = (BTreeSet::new(), BTreeSet::<String>::new());
    let mut server_read = 0usize;
    let mut previous = snapshot(&dir);
    let mut server_shown_before = 0usize;
    let mut checked_events = 0i64;
    // Delays pending at one kill and gone (offered) by the next.
    let mut delays_resolved = 0u64;
    let started = Instant::now();
    for run in 0..kills {
        let spec = ChildSpec {
            dir: dir.clone(),
            server: server.url(),
            offers: offers.clone(),
            origin_real_ms,
            run,
        };
        if let Some(n) = run_and_kill(&spec, moments.life()) {
            acknowledged += 1;
            checked_events += n;
            open_acks.extend((0..n).map(|i| (run, i)));
        }
        let now = snapshot(&dir);
        // The server's new events since the last kill (it never forgets
        // one, so each is read once): the run stays linear in its length.
        {
            let st = server.state();
            for id in &st.stored_order[server_read..] {
                let e = &st.stored[id];
                match e["event"].as_str() {
                    Some("tick") => {
                        let p = &e["properties"];
                        let tick = (p["run"].as_u64().unwrap(), p["i"].as_i64().unwrap());
                        // A resend after a kill must carry the first
                        // messageId; a new one would store the event twice.
                        assert!(
                            server_ticks.insert(tick),
                            "seed {seed}, kill {run}: event {tick:?} reached the server under two messageIds"
                        );
                    }
                    Some("reach.popup.shown") => {
                        server_shown.insert(id.clone());
                    }
                    _ => {}
                }
            }
            server_read = st.stored_order.len();
        }

        // Every acknowledged event is stored or acknowledged by the server;
        // once at the server it stays there, so it is checked no more.
        open_acks.retain(|t| !server_ticks.contains(t));
        for tick in &open_acks {
            assert!(
                now.ticks.contains(tick),
                "seed {seed}, kill {run}: event {tick:?} was acknowledged by flush() and lost"
            );
        }

        // No popup offered twice.
        let text = std::fs::read_to_string(&offers).unwrap_or_default();
        let ids: Vec<&str> = text.lines().filter_map(|l| l.split(' ').next()).collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "seed {seed}, kill {run}: an offer was made twice"
        );

        // No due delay lost: a pending delay goes only into an offer (one
        // in flight, or shown, here or at the server).
        let shown_total = now.shown.union(&server_shown).count();
        if let Some(due) = previous.pending_due_ms {
            if now.pending_due_ms != Some(due) {
                delays_resolved += 1;
                assert!(
                    now.offer_in_flight
                        || shown_total > server_shown_before
                        || now.impressions.len() > previous.impressions.len()
                        || now.impressions.last() > previous.impressions.last(),
                    "seed {seed}, kill {run}: the delay due at {due} disappeared without an offer"
                );
            }
        }

        // Counters never go backwards.
        assert!(now.next_seq >= previous.next_seq || !database_path(&dir).exists());
        for (series, count) in &previous.counters {
            let after = now.counters.get(series).copied().unwrap_or(0);
            assert!(
                after >= *count,
                "seed {seed}, kill {run}: counter {series} went from {count} to {after}"
            );
        }
        // Impressions only leave once no cap can reach them (older than the
        // cap's day, with an hour's margin for the child's last moments).
        let horizon = FastClock { origin_real_ms }.now_ms() - 25 * HOUR_MS;
        for t in previous.impressions.iter().filter(|&&t| t > horizon) {
            assert!(
                now.impressions.contains(t),
                "seed {seed}, kill {run}: the impression at {t} was forgotten"
            );
        }

        server_shown_before = shown_total;
        previous = now;
    }
    let corrupt = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains("corrupt")
            })
            .count()
        })
        .unwrap_or(0);
    assert_eq!(corrupt, 0, "no database was ever moved aside");
    let offered = std::fs::read_to_string(&offers)
        .unwrap_or_default()
        .lines()
        .count();
    println!(
        "kill storm: {kills} kills survived (seed {seed}) in {:.1} s; {checked_events} acknowledged events checked, lost 0; \
         {} runs acknowledged a flush; {} events at the server ({} resent copies deduplicated); {offered} offers, none twice; \
         {} shown; {delays_resolved} delays pending at a kill and offered after it; {} ticks stored locally",
        started.elapsed().as_secs_f64(),
        acknowledged,
        server.stored_count(),
        server.state().duplicates,
        server_shown_before,
        previous.ticks.len(),
    );
    assert!(
        acknowledged * 2 >= kills,
        "most runs got as far as a flush"
    );
    assert!(server.stored_count() > 0, "uploads happened between kills");
    assert!(offered > 0, "delayed popups were offered between kills");
    assert!(
        delays_resolved > 0,
        "some kills came while a delay was pending"
    );
}
