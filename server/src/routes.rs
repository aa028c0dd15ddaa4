//! The HTTP face: maps a request to its handler, reads its body within the caps, and turns the handler's answer
//! or `ApiError` into a response. The only module that knows tiny_http's types besides `lib.rs`; handlers take
//! bytes and return values, so they are tested without sockets.

use std::io::Cursor;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::{json, Value};
use tiny_http::{Header, Method, Request, Response};

use crate::body::{read_capped, MAX_COMPRESSED_BODY, MAX_SMALL_BODY};
use crate::error::ApiError;
use crate::packs::{PackAnswer, CACHE_CONTROL};
use crate::segments::{SegmentCounters, SegmentsAnswer};
use crate::store::Storage;
use crate::{batch, claims, packs, segments, stats};

/// What every request handler may read: the store and the server's fixed configuration.
pub(crate) struct Context {
    pub store: Box<dyn Storage>,
    pub packs_dir: Option<PathBuf>,
    pub signing_seed: Option<[u8; 32]>,
    pub write_keys: Vec<String>,
    pub log_requests: bool,
    /// Required as `Authorization: Bearer TOKEN` by `/v1/stats` and `POST /v1/segments`.
    pub admin_token: String,
    /// `GET /v1/segments` answers served, for tests.
    pub segment_counters: SegmentCounters,
}

/// A response before it is written: status, extra headers, body.
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn json(status: u16, value: &Value) -> Answer {
        Answer {
            status,
            headers: vec![("Content-Type", "application/json".into())],
            body: value.to_string().into(),
        }
    }
    fn error(e: &ApiError) -> Answer {
        Answer {
            status: e.status,
            headers: vec![("Content-Type", "application/json".into())],
            body: e.to_json().into(),
        }
    }
}

/// Answers one request and, if configured, logs one line for it to stderr.
pub(crate) fn handle(ctx: &Context, mut request: Request) {
    let started = Instant::now();
    let method = request.method().clone();
    let url = request.url().to_string();
    let answer = match route(ctx, &mut request) {
        Ok(a) => a,
        Err(e) => Answer::error(&e),
    };
    let Answer {
        status,
        headers,
        body,
    } = answer;
    let length = body.len();
    let mut response = Response::new(
        status.into(),
        Vec::new(),
        Cursor::new(body),
        Some(length),
        None,
    );
    for (name, value) in headers {
        if let Ok(h) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(h);
        }
    }
    let written = request.respond(response);
    if ctx.log_requests {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        match written {
            Ok(()) => eprintln!("{method} {url} {status} {ms:.1}ms"),
            Err(e) => eprintln!("{method} {url} {status} {ms:.1}ms (response not delivered: {e})"),
        }
    }
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

fn read_body(request: &mut Request, limit: usize) -> Result<Vec<u8>, ApiError> {
    let declared = request.body_length();
    read_capped(request.as_reader(), declared, limit)
}

fn route(ctx: &Context, request: &mut Request) -> Result<Answer, ApiError> {
    let url = request.url().to_string();
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (url.as_str(), None),
    };
    let method = request.method().clone();
    let expect = |wanted: Method| {
        if method == wanted {
            Ok(())
        } else {
            Err(ApiError::method_not_allowed(format!(
                "{path} takes {wanted}, not {method}"
            )))
        }
    };
    match path {
        "/health" => {
            expect(Method::Get)?;
            Ok(Answer::json(200, &json!({"ok": true})))
        }
        "/v1/batch" => {
            expect(Method::Post)?;
            post_batch(ctx, request)
        }
        "/v1/rule-pack" => {
            expect(Method::Get)?;
            get_pack(ctx, request, query)
        }
        "/v1/claims" => {
            expect(Method::Post)?;
            batch::authorize(&ctx.write_keys, header(request, "Authorization"))?;
            let body = read_body(request, MAX_SMALL_BODY)?;
            let limits = |campaign: &str| packs::per_user_limit(ctx.packs_dir.as_deref(), campaign);
            Ok(Answer::json(
                200,
                &claims::claim(&*ctx.store, &body, limits)?,
            ))
        }
        "/v1/claims/release" => {
            expect(Method::Post)?;
            batch::authorize(&ctx.write_keys, header(request, "Authorization"))?;
            let body = read_body(request, MAX_SMALL_BODY)?;
            Ok(Answer::json(200, &claims::release(&*ctx.store, &body)?))
        }
        "/v1/segments" if method == Method::Post => {
            stats::authorize_admin(&ctx.admin_token, header(request, "Authorization"))?;
            let body = read_body(request, segments::MAX_SET_BODY)?;
            Ok(Answer::json(200, &segments::set(&*ctx.store, &body)?))
        }
        "/v1/segments" => {
            expect(Method::Get)?;
            batch::authorize(&ctx.write_keys, header(request, "Authorization"))?;
            get_segments(ctx, request, query)
        }
        "/v1/stats" => {
            expect(Method::Get)?;
            stats::authorize_admin(&ctx.admin_token, header(request, "Authorization"))?;
            let stats =
                stats::compute(&*ctx.store).map_err(|e| ApiError::internal(e.to_string()))?;
            let value =
                serde_json::to_value(stats).map_err(|e| ApiError::internal(e.to_string()))?;
            Ok(Answer::json(200, &value))
        }
        _ => Err(ApiError::not_found(format!("no route {path}"))),
    }
}

fn get_segments(ctx: &Context, request: &Request, query: Option<&str>) -> Result<Answer, ApiError> {
    let answer = segments::get(
        &*ctx.store,
        &ctx.segment_counters,
        query,
        header(request, "If-None-Match"),
    )?;
    let cache = ("Cache-Control", segments::CACHE_CONTROL.to_string());
    Ok(match answer {
        SegmentsAnswer::NotModified { etag } => Answer {
            status: 304,
            headers: vec![("ETag", etag), cache],
            body: Vec::new(),
        },
        SegmentsAnswer::Fresh { body, etag } => Answer {
            status: 200,
            headers: vec![
                ("Content-Type", "application/json".to_string()),
                ("ETag", etag),
                cache,
            ],
            body,
        },
    })
}

fn post_batch(ctx: &Context, request: &mut Request) -> Result<Answer, ApiError> {
    // Authenticate before reading the body: an unknown client costs no more than its headers.
    batch::authorize(&ctx.write_keys, header(request, "Authorization"))?;
    let gzipped = match header(request, "Content-Encoding").map(str::trim) {
        None | Some("") | Some("identity") => false,
        Some(enc) if enc.eq_ignore_ascii_case("gzip") => true,
        Some(other) => {
            return Err(ApiError::invalid_json(format!(
                "unsupported Content-Encoding {other:?}"
            )))
        }
    };
    let raw = read_body(request, MAX_COMPRESSED_BODY)?;
    let json = batch::inflate(&raw, gzipped)?;
    let decoded = batch::decode(&json)?;
    batch::store(&*ctx.store, &decoded)?;
    if ctx.log_requests {
        for r in &decoded.refused {
            eprintln!("refused {}", r.message);
        }
    }
    Ok(Answer::json(200, &batch::answer(&decoded)))
}

fn get_pack(ctx: &Context, request: &Request, query: Option<&str>) -> Result<Answer, ApiError> {
    let name = packs::name_from_query(query)?;
    let answer = packs::serve(
        ctx.packs_dir.as_deref(),
        ctx.signing_seed.as_ref(),
        &name,
        header(request, "If-None-Match"),
    )?;
    Ok(match answer {
        PackAnswer::NotModified { etag } => Answer {
            status: 304,
            headers: vec![("ETag", etag), ("Cache-Control", CACHE_CONTROL.into())],
            body: Vec::new(),
        },
        PackAnswer::Fresh {
            body,
            etag,
            signature,
        } => {
            let mut headers = vec![
                ("Content-Type", "application/json".to_string()),
                ("ETag", etag),
                ("Cache-Control", CACHE_CONTROL.into()),
            ];
            if let Some(sig) = signature {
                headers.push(("X-Reach-Signature", sig));
            }
            Answer {
                status: 200,
                headers,
                body,
            }
        }
    })
}
