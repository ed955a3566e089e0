//! HTTP routing: the Admin API endpoint, the bulk result files, the media CDN, the staged upload
//! targets and the control surface under `/_fake/`.

use crate::advance::advance;
use crate::api;
use crate::bulk_ops::BulkStatus;
use crate::image_info::image_mime;
use crate::staged_endpoint;
use crate::state::{lock, Reply, State};
use serde_json::json;
use std::io::Read;
use std::sync::Mutex;

/// Bodies larger than this are refused (413).
const MAX_BODY: u64 = 32 << 20;

/// What the router needs from a request.
pub struct Incoming<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The URL path and query.
    pub url: &'a str,
    /// `X-Shopify-Access-Token`, if sent.
    pub token: Option<&'a str>,
    /// `Content-Type`, if sent.
    pub content_type: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(
                std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                16,
            ) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn not_found() -> Reply {
    Reply::error(404, "Not Found")
}

fn expired() -> Reply {
    Reply::bytes(
        403,
        "application/xml; charset=UTF-8",
        b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code><Message>Access denied.</Message><Details>Request has expired</Details></Error>".to_vec(),
    )
}

/// A smaller stand-in for a resized image: the head of the original and an EOI marker.
fn resized(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes[..bytes.len().min(1024)].to_vec();
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// Routes one request.
pub fn route(shared: &Mutex<State>, rq: &Incoming<'_>) -> Reply {
    let path = rq.url.split('?').next().unwrap_or("");
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (rq.method, parts.as_slice()) {
        (method, ["admin", "api", version, "graphql.json"]) if !version.is_empty() => {
            if method != "POST" {
                return Reply::error(405, "Method Not Allowed");
            }
            api::graphql(&mut lock(shared), rq.token, rq.body)
        }
        ("GET", ["_bulk", file]) => {
            let mut state = lock(shared);
            let (id, partial) = match (
                file.strip_suffix(".partial.jsonl"),
                file.strip_suffix(".jsonl"),
            ) {
                (Some(id), _) => (id, true),
                (None, Some(id)) => (id, false),
                _ => return not_found(),
            };
            let Some(op) = id
                .parse::<u64>()
                .ok()
                .and_then(|id| state.bulk.ops.get(&id))
            else {
                return not_found();
            };
            let body = match (partial, op.status) {
                (false, BulkStatus::Completed) if op.objects > 0 => {
                    if op.expired {
                        return expired();
                    }
                    op.jsonl.clone()
                }
                (true, BulkStatus::Failed) => op.jsonl[..op.partial_len].to_vec(),
                _ => return not_found(),
            };
            state.counters.jsonl_downloads += 1;
            Reply::bytes(200, "application/jsonl", body)
        }
        ("GET", ["_cdn", "files", id, name]) => {
            let mut state = lock(shared);
            let Some(media) = id
                .parse::<u64>()
                .ok()
                .and_then(|id| state.store.media.get(&id))
            else {
                return generic_file(&mut state, id, name);
            };
            let name = percent_decode(name);
            let (stem, ext) = media
                .filename
                .rsplit_once('.')
                .unwrap_or((&media.filename, "jpg"));
            let body = if name == media.filename {
                media.bytes.clone()
            } else if name == format!("{stem}_800x800.{ext}") {
                resized(&media.bytes)
            } else {
                return not_found();
            };
            let mime = image_mime(&body, &media.filename);
            state.counters.media_downloads += 1;
            state.counters.media_bytes += body.len() as u64;
            Reply::bytes(200, mime, body)
        }
        ("GET", ["_cdn", "articles", id, name]) => {
            let mut state = lock(shared);
            let name = percent_decode(name);
            let ours = |a: &&crate::model::Article| {
                let place = a.image.as_ref().and_then(|i| i.url.rsplit_once('/'));
                place.is_some_and(|(dir, last)| {
                    dir == format!("/_cdn/articles/{}", a.id) && percent_decode(last) == name
                })
            };
            let Some(article) = id
                .parse::<u64>()
                .ok()
                .and_then(|id| state.store.articles.get(&id))
                .filter(ours)
            else {
                return not_found();
            };
            let body = crate::generate::media_bytes(state.store.seed, article.id);
            state.counters.media_downloads += 1;
            state.counters.media_bytes += body.len() as u64;
            Reply::bytes(200, "image/jpeg", body)
        }
        ("PUT", ["_staged", token]) => staged_endpoint::put(&mut lock(shared), token, rq.body),
        ("POST", ["_staged", token]) => {
            staged_endpoint::post(&mut lock(shared), token, rq.content_type, rq.body)
        }
        (method, ["_fake", rest @ ..]) => control(shared, method, rest),
        _ => not_found(),
    }
}

/// A generic file of the files library, by ID and exact file name.
fn generic_file(state: &mut State, id: &str, name: &str) -> Reply {
    let name = percent_decode(name);
    let Some(file) = id
        .parse::<u64>()
        .ok()
        .and_then(|id| state.store.files.get(&id))
        .filter(|f| f.filename == name)
    else {
        return not_found();
    };
    let body = file.bytes.clone();
    let mime = if file.mime_type == "application/pdf" {
        "application/pdf"
    } else {
        "application/octet-stream"
    };
    state.counters.media_downloads += 1;
    state.counters.media_bytes += body.len() as u64;
    Reply::bytes(200, mime, body)
}

fn control(shared: &Mutex<State>, method: &str, parts: &[&str]) -> Reply {
    let mut state = lock(shared);
    let number = |s: &str| s.parse::<u64>().ok();
    match (method, parts) {
        ("POST", ["advance"]) => {
            let state = &mut *state;
            let changes = advance(&mut state.store, &state.params);
            Reply::json(200, &json!(changes))
        }
        ("POST", ["delete-product", id]) => match number(id) {
            Some(id) if state.store.delete_product(id) => {
                Reply::json(200, &json!({ "deleted": id }))
            }
            _ => not_found(),
        },
        ("POST", ["delete", ty, id]) => {
            let object = format!("gid://shopify/{ty}/{id}");
            if state.store.delete(&object) {
                Reply::json(200, &json!({ "deleted": object }))
            } else {
                not_found()
            }
        }
        ("GET", ["product-by-handle", handle]) => {
            match state.store.product_by_handle(&percent_decode(handle)) {
                Some(p) => Reply::json(200, &json!(p)),
                None => not_found(),
            }
        }
        ("GET", ["counters"]) => Reply::json(200, &json!(state.counters)),
        ("POST", ["reset-counters"]) => {
            state.counters = Default::default();
            Reply::json(200, &json!(state.counters))
        }
        ("POST", [knob, n]) if number(n).is_some() => {
            let n = number(n).unwrap_or(0).min(u64::from(u32::MAX)) as u32;
            match *knob {
                "throttle-next" => state.throttle_next = n,
                "too-many-next" => state.too_many_next = n,
                "fail-next-bulk" => state.fail_next_bulk = n,
                "expire-next-bulk" => state.expire_next_bulk = n,
                _ => return not_found(),
            }
            let mut m = serde_json::Map::new();
            m.insert(knob.to_string(), n.into());
            Reply::json(200, &serde_json::Value::Object(m))
        }
        ("POST", ["deny-scope", scope]) => {
            state.denied.insert(scope.to_string());
            Reply::json(200, &json!({ "denied": state.denied }))
        }
        _ => not_found(),
    }
}

/// Reads a tiny_http request, routes it and answers. Never panics on bad input.
pub fn serve(shared: &Mutex<State>, mut request: tiny_http::Request) {
    let method = request.method().as_str().to_string();
    let url = request.url().to_string();
    let token = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("X-Shopify-Access-Token"))
        .map(|h| h.value.as_str().to_string());
    let content_type = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Content-Type"))
        .map(|h| h.value.as_str().to_string());
    let mut body = Vec::new();
    let reply = if request.body_length().is_some_and(|n| n as u64 > MAX_BODY) {
        Reply::error(413, "Payload Too Large")
    } else {
        match request.as_reader().take(MAX_BODY).read_to_end(&mut body) {
            Ok(_) => route(
                shared,
                &Incoming {
                    method: &method,
                    url: &url,
                    token: token.as_deref(),
                    content_type: content_type.as_deref(),
                    body: &body,
                },
            ),
            Err(e) => Reply::error(400, &format!("Could not read the request body: {e}")),
        }
    };
    // Always a Content-Length (tiny_http would switch to chunked encoding above 32 KiB).
    let mut response = tiny_http::Response::from_data(reply.body)
        .with_status_code(reply.status)
        .with_chunked_threshold(usize::MAX);
    if let Ok(h) =
        tiny_http::Header::from_bytes(&b"Content-Type"[..], reply.content_type.as_bytes())
    {
        response.add_header(h);
    }
    for (k, v) in reply.headers {
        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            response.add_header(h);
        }
    }
    let _ = request.respond(response);
}
