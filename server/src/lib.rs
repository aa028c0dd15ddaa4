//! Reach's reference server: the server side of docs/protocol.md (batch upload, signed rule packs, prize claims,
//! segments, stats), small enough to read in one sitting and to embed in the SDK's integration tests and demo.
//!
//! It is never a dependency of the `reach` mobile library. It favours being obviously correct over being fast:
//! a fixed pool of worker threads shares one tiny_http listener, and the state lives behind a small interface
//! (`store::Storage`): one SQLite file (one connection behind a mutex), or a PostgreSQL database that several
//! server processes share. Nothing in it panics on a client's input; a bad request gets a JSON
//! error `{"code", "message"}` with the status the protocol names (`error::ApiError`).
//!
//! ```no_run
//! let server = reach_server::start(reach_server::ServerConfig::new("/tmp/reach-server")).unwrap();
//! println!("uploading to {}/v1/batch", server.base_url());
//! ```

mod arms;
mod batch;
mod body;
mod claims;
pub mod cli;
mod error;
mod keys;
pub mod lift;
mod packs;
mod routes;
mod segments;
mod stats;
mod store;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub use body::{MAX_BODY, MAX_COMPRESSED_BODY};
pub use error::ServerError;
pub use keys::{
    decode_seed, keygen, public_key, read_key_file, sign, write_key_pair, PUBLIC_KEY_FILE,
    SECRET_KEY_FILE,
};
pub use stats::{ArmStats, CampaignStats, GlobalHoldout, Stats, VariantStats};
pub use store::Database;

/// `POST /v1/batch` without a socket, for the fuzz targets (`fuzz/`): the write-key check, then the body as
/// the route reads it (gzip or plain, capped; every event validated), then the answer it would send. Returns
/// the answer, or the refusal's status and message. Not an API: the route is the interface.
#[doc(hidden)]
pub fn batch_body_for_fuzzing(
    write_keys: &[String],
    authorization: Option<&str>,
    raw: &[u8],
    gzipped: bool,
) -> Result<serde_json::Value, (u16, String)> {
    let refusal = |e: error::ApiError| (e.status, e.message);
    batch::authorize(write_keys, authorization).map_err(refusal)?;
    let json = batch::inflate(raw, gzipped).map_err(refusal)?;
    let decoded = batch::decode(&json).map_err(refusal)?;
    Ok(batch::answer(&decoded))
}

/// The port `reach serve` uses when none is given.
pub const DEFAULT_PORT: u16 = 8787;

/// Worker threads answering requests. The SDK's tests send a few requests at a time and every write is
/// serialized anyway; four keep a slow client from stalling the others without pretending to scale.
pub const WORKER_THREADS: usize = 4;

/// How often an idle worker checks whether the server is stopping; bounds how long `shutdown` can take even if
/// a wake-up is missed.
const STOP_POLL: Duration = Duration::from_millis(100);

/// What a server serves and where it keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Where to listen. `ServerConfig::new` uses `127.0.0.1:0` (the OS picks a free port).
    pub addr: SocketAddr,
    /// The directory of the server's SQLite database (created if missing); unused with PostgreSQL.
    pub data_dir: PathBuf,
    /// Where the state lives: the SQLite file in `data_dir` (the default), or a PostgreSQL database that
    /// several server processes may share.
    pub database: Database,
    /// The directory of rule packs (`NAME.json`, optionally `NAME.json.sig`); `None` serves no packs (404).
    pub packs_dir: Option<PathBuf>,
    /// The Ed25519 secret seed packs are signed with as they are served (see `read_key_file`, `decode_seed`).
    pub signing_key: Option<[u8; 32]>,
    /// Accepted write keys for `/v1/batch`; empty accepts any request, authenticated or not.
    pub write_keys: Vec<String>,
    /// Initial stock per campaign, applied only where the database has no stock for it yet.
    pub stock: Vec<(String, u64)>,
    /// Log one line per request to stderr (`reach serve` does; embedded servers default to quiet).
    pub log_requests: bool,
    /// The bearer token `GET /v1/stats` and `POST /v1/segments` require; `None`: `start` generates one
    /// (`RunningServer::admin_token`).
    pub admin_token: Option<String>,
}

impl ServerConfig {
    /// Loopback, port 0, no packs, no key, open to any writer, no stock.
    pub fn new(data_dir: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            data_dir: data_dir.into(),
            database: Database::Sqlite,
            packs_dir: None,
            signing_key: None,
            write_keys: Vec::new(),
            stock: Vec::new(),
            log_requests: false,
            admin_token: None,
        }
    }
}

/// A server answering requests on its own threads. Dropping it stops it, like `shutdown`.
pub struct RunningServer {
    addr: SocketAddr,
    http: Arc<tiny_http::Server>,
    context: Arc<routes::Context>,
    stopping: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

/// Opens the database, seeds the stock, binds, and starts the worker threads.
pub fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let store = store::open(&config.database, &config.data_dir)?;
    store.seed_stock(&config.stock)?;
    let http = tiny_http::Server::http(config.addr)
        .map_err(|e| ServerError::Bind(format!("{}: {e}", config.addr)))?;
    let addr = http
        .server_addr()
        .to_ip()
        .ok_or_else(|| ServerError::Bind("listener has no IP address".into()))?;
    let http = Arc::new(http);
    let admin_token = match config.admin_token {
        Some(t) => t,
        None => stats::new_admin_token()?,
    };
    let context = Arc::new(routes::Context {
        admin_token,
        store,
        packs_dir: config.packs_dir,
        signing_seed: config.signing_key,
        write_keys: config.write_keys,
        log_requests: config.log_requests,
        segment_counters: segments::SegmentCounters::default(),
    });
    let stopping = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::with_capacity(WORKER_THREADS);
    for i in 0..WORKER_THREADS {
        let (http, context, stopping) = (
            Arc::clone(&http),
            Arc::clone(&context),
            Arc::clone(&stopping),
        );
        let worker = std::thread::Builder::new()
            .name(format!("reach-http-{i}"))
            .spawn(move || serve_requests(&http, &context, &stopping))
            .map_err(|e| ServerError::Io(format!("cannot start a worker thread: {e}")))?;
        workers.push(worker);
    }
    Ok(RunningServer {
        addr,
        http,
        context,
        stopping,
        workers,
    })
}

fn serve_requests(http: &tiny_http::Server, context: &routes::Context, stopping: &AtomicBool) {
    while !stopping.load(Ordering::Acquire) {
        match http.recv_timeout(STOP_POLL) {
            Ok(Some(request)) => routes::handle(context, request),
            Ok(None) => {}
            // A connection that failed before it became a request; the next one is unaffected.
            Err(_) => {}
        }
    }
}

impl RunningServer {
    /// The address the server listens on (with the OS-chosen port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bearer token `GET /v1/stats` and `POST /v1/segments` require (the configured one, or the one generated at start).
    pub fn admin_token(&self) -> &str {
        &self.context.admin_token
    }

    /// The same numbers `GET /v1/stats` answers.
    pub fn stats(&self) -> Result<Stats, ServerError> {
        stats::compute(&*self.context.store)
    }

    /// How many times an event with this `messageId` arrived in accepted batches (0 if never): tests use it to
    /// see a resend that the deduplication hides from `stats`.
    pub fn receipts(&self, message_id: &str) -> Result<u64, ServerError> {
        self.context.store.receipts(message_id)
    }

    /// The stored event with this `messageId`, as first received.
    pub fn event(&self, message_id: &str) -> Result<Option<serde_json::Value>, ServerError> {
        match self.context.store.event(message_id)? {
            None => Ok(None),
            Some(body) => serde_json::from_str(&body)
                .map(Some)
                .map_err(|e| ServerError::Storage(format!("stored event is not JSON: {e}"))),
        }
    }

    /// The prize stock left for a campaign; `None` if the campaign has none configured.
    pub fn stock(&self, campaign_id: &str) -> Result<Option<u64>, ServerError> {
        self.context.store.stock(campaign_id)
    }

    /// `GET /v1/segments` answers since start: `(fresh, not_modified)` (tests see the SDK's conditional requests).
    pub fn segment_answers(&self) -> (u64, u64) {
        let c = &self.context.segment_counters;
        (
            c.fresh.load(Ordering::Relaxed),
            c.not_modified.load(Ordering::Relaxed),
        )
    }

    /// Stops accepting requests, lets each worker finish the request it is answering, and joins them.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.stopping.store(true, Ordering::Release);
        for _ in 0..self.workers.len() {
            self.http.unblock();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop();
    }
}
