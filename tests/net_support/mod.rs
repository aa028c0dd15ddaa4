//! A loopback HTTP/1.1 server for the network tests, on std only: it
//! implements the server side of /tmp/protocol.md closely enough (batch,
//! rule-pack, claims), records every raw receipt, and answers scripted faults.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use ed25519_dalek::{Signer, SigningKey};
use reach::transport::UreqTransport;
use reach::transport::{HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind};

/// How the server answers one batch request.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Stores the batch, `200 {"success": true}`.
    Ok,
    /// Does not store; answers this status (with `Retry-After` if given).
    Status(u16, Option<String>),
    /// Reads the request, then closes the connection without answering.
    Reset,
    /// Stores, then says nothing for this long and closes (client timeout).
    Stall(Duration),
    /// Stores, then sends a 200 whose body is cut short and closes.
    Truncated,
    /// Stores, then answers 200 with a body that starts like an HTML page.
    MalformedOk,
    /// Does not store; answers `200 text/html` with a login page, as a
    /// captive portal (hotel Wi-Fi) or a proxy answers every request.
    Portal,
    /// Stores, then answers as the collectors people run do:
    /// status, `Content-Type` (if any), body.
    Collector(u16, Option<&'static str>, &'static str),
}

impl Answer {
    /// Whether the batch was stored by the server.
    pub fn stores(&self) -> bool {
        matches!(
            self,
            Answer::Ok
                | Answer::Stall(_)
                | Answer::Truncated
                | Answer::MalformedOk
                | Answer::Collector(..)
        )
    }
}

#[derive(Debug, Clone)]
pub struct Receipt {
    pub n: usize,
    pub message_ids: Vec<String>,
    pub events: Vec<serde_json::Value>,
    pub answer: Answer,
    pub sent_at: String,
    pub authorization: Option<String>,
    pub gzipped: bool,
    /// Body bytes before (and after) compression.
    pub raw_bytes: usize,
    pub wire_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct PackAnswer {
    pub body: Vec<u8>,
    pub signature: Option<String>,
    pub etag: String,
    pub max_age: Option<u64>,
    /// Send the headers and half the body, then hang (until `release_stall`).
    pub stall_body: bool,
}

#[derive(Default)]
pub struct ServerState {
    pub batch_script: VecDeque<Answer>,
    /// The answer once the script is used up (`None`: `Answer::Ok`).
    pub otherwise: Option<Answer>,
    /// A collector's validation: a batch holding an event whose
    /// `properties.bad` is `true` is answered with this status, unstored.
    pub refuse_marked: Option<u16>,
    pub receipts: Vec<Receipt>,
    /// Stored events by messageId (first copy kept).
    pub stored: BTreeMap<String, serde_json::Value>,
    /// messageIds in the order they were first stored.
    pub stored_order: Vec<String>,
    pub duplicates: u64,
    /// messageIds of batches answered 400.
    pub rejected: BTreeSet<String>,
    pub pack: Option<PackAnswer>,
    /// The If-None-Match of every pack request.
    pub pack_requests: Vec<Option<String>>,
    pub pack_stalled: bool,
    pub stock: HashMap<String, u64>,
    pub granted: HashMap<(String, String), String>,
    pub claim_delay: Option<Duration>,
    pub claims_seen: u64,
    /// Benchmarks: only count the events of accepted batches (no receipts,
    /// no per-event storage), so the server costs the shared cores little.
    pub lean: bool,
    pub lean_events: u64,
    /// TCP connections accepted (a reused connection counts once).
    pub connections: u64,
    /// Popup images served under `/img/NAME`: content type and bytes
    /// (absent: 404).
    pub images: HashMap<String, (&'static str, Vec<u8>)>,
    /// The path of every image request, in order.
    pub image_requests: Vec<String>,
    /// Segments by the query that names the person (`user_id=u-1`,
    /// `anonymous_id=…`); a person not listed has none.
    pub segments: HashMap<String, Vec<String>>,
    /// The query of every `GET /v1/segments`, in order.
    pub segments_requests: Vec<String>,
}

pub struct TestServer {
    pub addr: SocketAddr,
    /// `https` when the server speaks TLS.
    scheme: &'static str,
    state: Arc<Mutex<ServerState>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::start_with(None)
    }

    /// HTTPS on loopback with this rustls configuration (certificate and
    /// key); the same routes and scripted faults as the plain server.
    pub fn start_tls(tls: Arc<rustls::ServerConfig>) -> TestServer {
        TestServer::start_with(Some(tls))
    }

    fn start_with(tls: Option<Arc<rustls::ServerConfig>>) -> TestServer {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(ServerState::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (state.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                lock(&s).connections += 1;
                let (s, st, tls) = (s.clone(), st.clone(), tls.clone());
                std::thread::spawn(move || serve_connection(conn, tls, s, st));
            }
        });
        TestServer {
            addr,
            scheme,
            state,
            stop,
            accept: Some(accept),
        }
    }

    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    pub fn state(&self) -> MutexGuard<'_, ServerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.state().batch_script.extend(answers);
    }

    pub fn receipts(&self) -> Vec<Receipt> {
        self.state().receipts.clone()
    }

    pub fn stored_count(&self) -> usize {
        self.state().stored.len()
    }

    /// Waits (real time, bounded) until `f` holds.
    pub fn wait_for(&self, what: &str, limit: Duration, mut f: impl FnMut(&ServerState) -> bool) {
        let start = Instant::now();
        while !f(&self.state()) {
            assert!(start.elapsed() < limit, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_request<S: Read>(r: &mut BufReader<S>) -> Option<Request> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (n, v) = h.split_once(':')?;
        headers.push((n.trim().to_owned(), v.trim().to_owned()));
    }
    let len = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn respond(w: &mut dyn Write, status: u16, headers: &[(&str, String)], body: &[u8]) -> bool {
    let mut out = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    // One write: headers and body in separate segments would meet Nagle's
    // algorithm and the client's delayed ACK (~40 ms per answer).
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    w.write_all(&bytes).is_ok() && w.flush().is_ok()
}

fn json_error(code: &str) -> Vec<u8> {
    format!(r#"{{"code":"{code}","message":"scripted"}}"#).into_bytes()
}

fn serve_connection(
    conn: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: Arc<Mutex<ServerState>>,
    stop: Arc<AtomicBool>,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(20)));
    let _ = conn.set_nodelay(true);
    match tls {
        None => serve_stream(conn, state, stop),
        Some(config) => {
            let Ok(session) = rustls::ServerConnection::new(config) else {
                return;
            };
            // A refused handshake (the client distrusts the certificate)
            // ends on the first read: nothing is served.
            serve_stream(rustls::StreamOwned::new(session, conn), state, stop)
        }
    }
}

fn serve_stream<S: Read + Write>(stream: S, state: Arc<Mutex<ServerState>>, stop: Arc<AtomicBool>) {
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader) {
        let writer = reader.get_mut();
        let keep = match (
            req.method.as_str(),
            req.path.split('?').next().unwrap_or(""),
        ) {
            ("POST", "/v1/batch") => batch(&req, writer, &state),
            ("GET", "/v1/rule-pack") => pack(&req, writer, &state, &stop),
            ("POST", "/v1/claims") => claim(&req, writer, &state),
            ("POST", "/v1/claims/release") => release(&req, writer, &state),
            ("GET", p) if p.starts_with("/img/") => image(p, writer, &state),
            ("GET", "/v1/segments") => segments(&req, writer, &state),
            _ => respond(writer, 404, &[], &json_error("not_found")),
        };
        if !keep {
            break;
        }
    }
}

fn lock(state: &Arc<Mutex<ServerState>>) -> MutexGuard<'_, ServerState> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("gzip");
    out
}

fn batch(req: &Request, w: &mut dyn Write, state: &Arc<Mutex<ServerState>>) -> bool {
    let gzipped = req.header("content-encoding") == Some("gzip");
    let raw = if gzipped {
        gunzip(&req.body)
    } else {
        req.body.clone()
    };
    {
        let mut s = lock(state);
        if s.lean {
            let n = raw.windows(11).filter(|w| w == b"\"messageId\"").count();
            s.lean_events += n as u64;
            drop(s);
            return respond(w, 200, &[], br#"{"success":true}"#);
        }
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&raw) else {
        return respond(w, 400, &[], &json_error("invalid_json"));
    };
    let events: Vec<serde_json::Value> = json["batch"].as_array().cloned().unwrap_or_default();
    let ids: Vec<String> = events
        .iter()
        .map(|e| e["messageId"].as_str().unwrap_or("").to_owned())
        .collect();
    let answer = {
        let mut s = lock(state);
        let answer = s
            .batch_script
            .pop_front()
            .or_else(|| s.otherwise.clone())
            .unwrap_or(Answer::Ok);
        let marked = events
            .iter()
            .any(|e| e["properties"]["bad"] == serde_json::Value::Bool(true));
        let answer = match s.refuse_marked {
            Some(status) if marked && answer == Answer::Ok => Answer::Status(status, None),
            _ => answer,
        };
        let n = s.receipts.len();
        s.receipts.push(Receipt {
            n,
            message_ids: ids.clone(),
            events: events.clone(),
            answer: answer.clone(),
            sent_at: json["sentAt"].as_str().unwrap_or("").to_owned(),
            authorization: req.header("authorization").map(str::to_owned),
            gzipped,
            raw_bytes: raw.len(),
            wire_bytes: req.body.len(),
        });
        if answer.stores() {
            for (id, e) in ids.iter().zip(&events) {
                if s.stored.contains_key(id) {
                    s.duplicates += 1;
                } else {
                    s.stored.insert(id.clone(), e.clone());
                    s.stored_order.push(id.clone());
                }
            }
        }
        if answer == Answer::Status(400, None) {
            s.rejected.extend(ids.iter().cloned());
        }
        answer
    };
    match answer {
        Answer::Ok => respond(w, 200, &[], br#"{"success":true}"#),
        Answer::Status(status, retry_after) => {
            let headers: Vec<(&str, String)> = retry_after
                .map(|v| ("Retry-After", v))
                .into_iter()
                .collect();
            respond(w, status, &headers, &json_error("scripted"))
        }
        Answer::Reset => false,
        Answer::Stall(d) => {
            std::thread::sleep(d);
            false
        }
        Answer::Truncated => {
            let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"succ");
            let _ = w.flush();
            false
        }
        Answer::MalformedOk => respond(w, 200, &[], b"<html>stored, probably</html>"),
        Answer::Portal => respond(
            w,
            200,
            &[("Content-Type", "text/html; charset=utf-8".into())],
            b"<!DOCTYPE html><html><body><form>Room number</form></body></html>",
        ),
        Answer::Collector(204, _, _) => {
            // No Content-Length on a 204 (RFC 9110 15.3.5).
            w.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").is_ok() && w.flush().is_ok()
        }
        Answer::Collector(status, content_type, body) => {
            let headers: Vec<(&str, String)> = content_type
                .map(|c| ("Content-Type", c.to_string()))
                .into_iter()
                .collect();
            respond(w, status, &headers, body.as_bytes())
        }
    }
}

fn pack(
    req: &Request,
    w: &mut dyn Write,
    state: &Arc<Mutex<ServerState>>,
    stop: &Arc<AtomicBool>,
) -> bool {
    let inm = req.header("if-none-match").map(str::to_owned);
    let answer = {
        let mut s = lock(state);
        s.pack_requests.push(inm.clone());
        s.pack.clone()
    };
    let Some(p) = answer else {
        return respond(w, 404, &[], &json_error("not_found"));
    };
    let mut headers = vec![("ETag", p.etag.clone())];
    if let Some(age) = p.max_age {
        headers.push(("Cache-Control", format!("max-age={age}")));
    }
    if inm.as_deref() == Some(p.etag.as_str()) {
        return respond(w, 304, &headers, b"");
    }
    if let Some(sig) = &p.signature {
        headers.push(("X-Reach-Signature", sig.clone()));
    }
    if p.stall_body {
        let mut out = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n", p.body.len());
        for (n, v) in &headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str("\r\n");
        let _ = w.write_all(out.as_bytes());
        let _ = w.write_all(&p.body[..p.body.len() / 2]);
        let _ = w.flush();
        lock(state).pack_stalled = true;
        let start = Instant::now();
        while !stop.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(10));
        }
        return false;
    }
    respond(w, 200, &headers, &p.body)
}

fn image(path: &str, w: &mut dyn Write, state: &Arc<Mutex<ServerState>>) -> bool {
    let answer = {
        let mut s = lock(state);
        s.image_requests.push(path.to_owned());
        s.images.get(&path["/img/".len()..]).cloned()
    };
    match answer {
        Some((content_type, body)) => {
            respond(w, 200, &[("Content-Type", content_type.to_owned())], &body)
        }
        None => respond(w, 404, &[], &json_error("not_found")),
    }
}

/// `GET /v1/segments?user_id=…|anonymous_id=…`: the person's segments as
/// the reference server answers them (ids in tests need no unescaping).
fn segments(req: &Request, w: &mut dyn Write, state: &Arc<Mutex<ServerState>>) -> bool {
    let query = req.path.split_once('?').map(|(_, q)| q).unwrap_or("");
    let Some((field, id)) = query.split_once('=') else {
        return respond(w, 400, &[], &json_error("no_person"));
    };
    let names = {
        let mut s = lock(state);
        s.segments_requests.push(query.to_owned());
        s.segments.get(query).cloned().unwrap_or_default()
    };
    let body = serde_json::json!({ field: id, "segments": names }).to_string();
    respond(w, 200, &[], body.as_bytes())
}

fn claim(req: &Request, w: &mut dyn Write, state: &Arc<Mutex<ServerState>>) -> bool {
    let Ok(j) = serde_json::from_slice::<serde_json::Value>(&req.body) else {
        return respond(w, 400, &[], &json_error("invalid_json"));
    };
    let delay = {
        let mut s = lock(state);
        s.claims_seen += 1;
        s.claim_delay
    };
    if let Some(d) = delay {
        std::thread::sleep(d);
    }
    let campaign = j["campaign_id"].as_str().unwrap_or("").to_owned();
    let key = j["idempotency_key"].as_str().unwrap_or("").to_owned();
    let mut s = lock(state);
    let body = if let Some(id) = s.granted.get(&(campaign.clone(), key.clone())) {
        format!(r#"{{"status":"granted","claim_id":"{id}"}}"#)
    } else {
        match s.stock.get_mut(&campaign) {
            Some(n) if *n > 0 => {
                *n -= 1;
                let id = format!("c-{campaign}-{key}");
                s.granted.insert((campaign, key), id.clone());
                format!(r#"{{"status":"granted","claim_id":"{id}"}}"#)
            }
            _ => r#"{"status":"exhausted"}"#.to_owned(),
        }
    };
    drop(s);
    respond(w, 200, &[], body.as_bytes())
}

fn release(req: &Request, w: &mut dyn Write, state: &Arc<Mutex<ServerState>>) -> bool {
    let Ok(j) = serde_json::from_slice::<serde_json::Value>(&req.body) else {
        return respond(w, 400, &[], &json_error("invalid_json"));
    };
    let campaign = j["campaign_id"].as_str().unwrap_or("").to_owned();
    let key = j["idempotency_key"].as_str().unwrap_or("").to_owned();
    let mut s = lock(state);
    let body = if s.granted.remove(&(campaign.clone(), key)).is_some() {
        *s.stock.entry(campaign).or_default() += 1;
        r#"{"status":"released"}"#
    } else {
        r#"{"status":"unknown"}"#
    };
    drop(s);
    respond(w, 200, &[], body.as_bytes())
}

// ---- signing (the server's side of pack sync) ----

pub fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn public_key_b64(seed: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode(signing_key(seed).verifying_key().as_bytes())
}

pub fn sign_b64(seed: u8, body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(signing_key(seed).sign(body).to_bytes())
}

/// A valid pack with one campaign, labelled with `version`.
pub fn pack_json(version: u64) -> String {
    format!(
        r#"{{"format": "1.0", "revision": "r{version}", "version": {version}, "campaigns": [
  {{"id": "welcome-{version}", "trigger": {{"event": "app_open"}},
   "popup": {{"template": "modal", "title": "Welcome {version}"}}}}]}}"#
    )
}

/// A pack answer signed with key `seed`, ETag as the protocol computes it
/// (any stable string works for the client).
pub fn signed_pack(body: &str, seed: u8) -> PackAnswer {
    PackAnswer {
        body: body.as_bytes().to_vec(),
        signature: Some(sign_b64(seed, body.as_bytes())),
        etag: format!("\"{:016x}\"", fxhash(body.as_bytes())),
        max_age: None,
        stall_body: false,
    }
}

fn fxhash(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf29ce484222325u64, |h, x| {
        (h ^ *x as u64).wrapping_mul(0x100000001b3)
    })
}

// ---- transports the suites run over ----

/// Which path requests take: the built-in ureq transport, or a Rust-side
/// fake of a host `HttpTransport` (the facade's foreign trait) going
/// through the same adapter as Kotlin/Swift/Python code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Ureq,
    Foreign,
}

/// A host transport as an app would write it, here over ureq.
pub struct FakeHostTransport(UreqTransport);

impl reach::facade::HttpTransport for FakeHostTransport {
    fn send(
        &self,
        request: reach::facade::HttpRequest,
    ) -> Result<reach::facade::HttpResponse, reach::facade::HttpTransportError> {
        reach::facade::from_core_result(self.0.send(reach::facade::to_core_request(request)))
    }
}

pub fn transport(kind: TransportKind) -> Arc<dyn Transport> {
    match kind {
        TransportKind::Ureq => Arc::new(UreqTransport::new()),
        TransportKind::Foreign => {
            reach::facade::foreign_transport(Arc::new(FakeHostTransport(UreqTransport::new())))
        }
    }
}

/// Airplane mode: while `offline`, every request fails to connect.
pub struct Switchable {
    pub inner: Arc<dyn Transport>,
    pub offline: AtomicBool,
    pub attempts_offline: std::sync::atomic::AtomicU64,
}

impl Switchable {
    pub fn new(inner: Arc<dyn Transport>) -> Arc<Switchable> {
        Arc::new(Switchable {
            inner,
            offline: AtomicBool::new(false),
            attempts_offline: Default::default(),
        })
    }
}

impl Transport for Switchable {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if self.offline.load(Ordering::SeqCst) {
            self.attempts_offline.fetch_add(1, Ordering::SeqCst);
            return Err(TransportError::new(TransportErrorKind::Connect, "offline"));
        }
        self.inner.send(request)
    }
}

/// A host transport that serves a CDN host from the loopback server: a
/// request to `https://cdn.test/PATH` goes to `SERVER/PATH` (plain HTTP on
/// 127.0.0.1), as an app's own stack could route it. Popup images must be
/// https in a pack; the loopback server is not.
pub struct CdnOnLoopback {
    pub inner: Arc<dyn Transport>,
    pub server_url: String,
}

pub const CDN: &str = "https://cdn.test";

impl Transport for CdnOnLoopback {
    fn send(&self, mut request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if let Some(rest) = request.url.strip_prefix(CDN) {
            request.url = format!("{}{rest}", self.server_url);
        }
        self.inner.send(request)
    }
}

/// Generates one test per transport kind.
#[macro_export]
macro_rules! both_transports {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;
            #[test]
            fn ureq() {
                $body(net_support::TransportKind::Ureq)
            }
            #[test]
            fn foreign() {
                $body(net_support::TransportKind::Foreign)
            }
        }
    };
}

/// How long a test waits for the client to catch up with the server.
pub const CLIENT_WAIT: Duration = Duration::from_secs(20);

/// Waits (real time, bounded by `CLIENT_WAIT`) until the client's
/// diagnostics satisfy `f`. The server records an event before it answers,
/// and the client counts and deletes after the answer, so a test that saw
/// the server's side waits here for the client's.
pub fn wait_client(
    tracker: &reach::Tracker,
    what: &str,
    mut f: impl FnMut(&reach::diagnostics::Diagnostics) -> bool,
) {
    let start = Instant::now();
    loop {
        let d = tracker.diagnostics();
        if f(&d) {
            return;
        }
        assert!(
            start.elapsed() < CLIENT_WAIT,
            "timed out waiting for {what}: {d:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
