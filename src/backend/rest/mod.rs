//! A repository on a server speaking restic's REST protocol, version 2 (restic's
//! `doc/REST_backend.rst`): rest-server, or `rclone serve restic`.
//!
//! | operation | request |
//! |---|---|
//! | `create` | `HEAD config` (a repository must not exist yet), then `POST /?create=true` |
//! | `list` | `GET {type}/` with `Accept: application/vnd.x.restic.rest.v2`: names and sizes |
//! | `read` | `GET {type}/{name}`, refused before the body if `Content-Length` is too large |
//! | `read_range` | `GET` with `Range: bytes=a-b`; exactly that many bytes or an error |
//! | `write` | `POST {type}/{name}` |
//! | `delete` | `DELETE {type}/{name}` (a missing file is fine) |
//! | `stat`, `modified` | `HEAD {type}/{name}`: `Content-Length`, `Last-Modified` |
//!
//! Failures map onto [`BackendErrorKind`]: 404 is `NotFound`; 408, 429, 5xx, connection failures,
//! timeouts and cut-off bodies are `Transient` (with the server's `Retry-After`, if any); other 4xx
//! (401 a wrong user or password, 403 a server in append-only mode refusing a delete or overwrite)
//! are `Permanent`, with the server's message. Every message has the HTTP status. This backend
//! does not retry: wrap it in [`super::retry::Retrying`].
//!
//! No request hangs: connecting gives up after [`RestOptions::connect_timeout`]; waiting for an
//! answer, and each read of a body that makes no progress, after [`RestOptions::timeout`]; an
//! upload gets that plus the time its size takes at [`RestOptions::min_upload_rate`].
//!
//! Credentials come from the URL (`rest:http://USER:PASS@HOST:PORT/PATH/`) and are sent as HTTP
//! basic authentication; they are taken out of the URL, so no message or location shows the
//! password.

mod url;

pub use url::{RestUrl, RestUrlError};

use super::http::{self, last_modified, RemoteFile};
use super::{Backend, BackendError, BackendErrorKind, FileType, Result};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};
use std::io::Read;
use std::time::{Duration, SystemTime};

/// The media type that selects version 2 of the protocol (names with sizes in lists).
const V2: &str = "application/vnd.x.restic.rest.v2";

/// The largest list answer read: about ten million packs.
const LIST_MAX: u64 = 1 << 30;

/// Timeouts of a [`RestBackend`].
#[derive(Debug, Clone)]
pub struct RestOptions {
    /// How long to wait for a connection to be made (default 30 s).
    pub connect_timeout: Duration,
    /// How long to wait for a server's answer after a request was sent, and for each read of a
    /// body to make progress (default 5 minutes).
    pub timeout: Duration,
    /// Uploads get [`Self::timeout`] plus the time their size takes at this rate, in bytes per
    /// second (default 64 KiB/s: a 16 MiB pack gets 9 minutes 16 s).
    pub min_upload_rate: u64,
    /// Packs uploaded at once (default [`super::REMOTE_PARALLEL_WRITES`]).
    pub connections: usize,
    /// Certificate authorities trusted beside the system's (a server with its own).
    pub root_certificates: Vec<reqwest::Certificate>,
}

impl Default for RestOptions {
    fn default() -> Self {
        RestOptions {
            connect_timeout: Duration::from_secs(30),
            timeout: Duration::from_secs(300),
            min_upload_rate: 64 << 10,
            connections: super::REMOTE_PARALLEL_WRITES,
            root_certificates: Vec::new(),
        }
    }
}

/// A repository on a REST server (restic's protocol v2).
pub struct RestBackend {
    url: RestUrl,
    client: Client,
    opts: RestOptions,
}

impl RestBackend {
    /// A backend for the server at `url`; nothing is sent until the first call.
    pub fn new(url: RestUrl, opts: RestOptions) -> Result<Self> {
        let client = http::client(opts.connect_timeout, opts.timeout, &opts.root_certificates)
            .map_err(|e| {
                let message = format!("setting up the HTTP client for {}", url.shown());
                BackendError::new(BackendErrorKind::Permanent, FileType::Config, None, message)
                    .with_source(e)
            })?;
        Ok(RestBackend { url, client, opts })
    }

    /// The URL of a file (`None` for the name: the type's directory).
    fn file_url(&self, t: FileType, name: Option<&str>) -> Result<reqwest::Url> {
        let rel = match (t, name) {
            (FileType::Config, _) => "config".to_string(),
            (_, None) => format!("{}/", t.dir()),
            (_, Some(name)) => {
                let valid = !name.is_empty()
                    && !name.starts_with('.')
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !valid {
                    return Err(BackendError::new(
                        BackendErrorKind::InvalidName,
                        t,
                        Some(name),
                        format!("invalid repository file name {name:?}"),
                    ));
                }
                format!("{}/{name}", t.dir())
            }
        };
        self.url.base.join(&rel).map_err(|e| {
            let message = format!("building the URL of {rel}: {e}");
            BackendError::new(BackendErrorKind::InvalidName, t, name, message)
        })
    }

    /// The file as shown in messages.
    fn show(&self, t: FileType, name: Option<&str>) -> String {
        match (t, name) {
            (FileType::Config, _) => format!("{}config", self.url.shown()),
            (_, None) => format!("{}{}/", self.url.shown(), t.dir()),
            (_, Some(name)) => format!("{}{}/{name}", self.url.shown(), t.dir()),
        }
    }

    fn request(&self, method: Method, url: reqwest::Url) -> RequestBuilder {
        let r = self.client.request(method, url).header(header::ACCEPT, V2);
        match &self.url.user {
            Some(user) => r.basic_auth(user, self.url.password.as_deref().map(String::as_str)),
            None => r,
        }
    }

    /// Sends a request; a status that is not a success becomes an error (404: `NotFound`).
    fn send(
        &self,
        doing: &str,
        t: FileType,
        name: Option<&str>,
        r: RequestBuilder,
    ) -> Result<Response> {
        let what = || format!("{doing} {}", self.show(t, name));
        let resp = r.send().map_err(|e| {
            let (kind, message) = http::send_failure(&e, what());
            BackendError::new(kind, t, name, message).with_source(e)
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        Err(status_error(what(), t, name, resp))
    }

    /// `HEAD`: the headers of a file, or `None` if it does not exist.
    fn head(&self, t: FileType, name: &str) -> Result<Option<HeaderMap>> {
        let url = self.file_url(t, Some(name))?;
        match self.send("stat", t, Some(name), self.request(Method::HEAD, url)) {
            Ok(resp) => Ok(Some(resp.headers().clone())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A file, for the messages of the shared HTTP code.
    fn file<'a>(&self, t: FileType, name: Option<&'a str>) -> RemoteFile<'a> {
        RemoteFile {
            t,
            name,
            shown: self.show(t, name),
        }
    }

    /// `GET` with `Range` for `len` bytes at `offset`, answered (`None` for no bytes: nothing is
    /// asked).
    fn ranged_get(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
    ) -> Result<Option<Response>> {
        let url = self.file_url(t, Some(name))?;
        self.file(t, Some(name)).check_range(offset, len)?;
        if len == 0 {
            return Ok(None);
        }
        let doing = format!("reading {len} bytes at offset {offset} of");
        let r = self.request(Method::GET, url).header(
            header::RANGE,
            format!("bytes={offset}-{}", offset + len - 1),
        );
        self.send(&doing, t, Some(name), r).map(Some)
    }
}

/// The error for an answer that is not a success, with the status, the server's message
/// (truncated) and, for 408, 429 and 5xx, `Retry-After`.
fn status_error(what: String, t: FileType, name: Option<&str>, resp: Response) -> BackendError {
    let status = resp.status();
    let headers = resp.headers().clone();
    let mut body = Vec::new();
    let _ = resp
        .take(http::MESSAGE_MAX as u64 * 4 + 1)
        .read_to_end(&mut body);
    let words = http::clean(&String::from_utf8_lossy(&body));
    let kind = match status {
        StatusCode::NOT_FOUND => BackendErrorKind::NotFound,
        StatusCode::FORBIDDEN => BackendErrorKind::Denied,
        StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS => BackendErrorKind::Transient,
        s if s.is_server_error() => BackendErrorKind::Transient,
        _ => BackendErrorKind::Permanent,
    };
    let hint = match status {
        StatusCode::UNAUTHORIZED => " (wrong user name or password in the repository URL?)",
        StatusCode::BAD_REQUEST => {
            " (a rest-server refuses uploads whose SHA-256 is not their name, and backstock \
             names files by BLAKE3: start it with --no-verify-upload)"
        }
        StatusCode::FORBIDDEN => {
            " (the server refused: an append-only server neither deletes nor overwrites files)"
        }
        _ => "",
    };
    http::status_error(kind, (what, t, name), status, hint, &words, &headers)
}

/// One entry of a version 2 list.
#[derive(serde::Deserialize)]
struct ListEntry {
    name: String,
    size: u64,
}

impl Backend for RestBackend {
    fn location(&self) -> String {
        self.url.shown()
    }

    fn create(&self) -> Result<()> {
        // The server answers 200 also when a repository exists already.
        if self.stat(FileType::Config, "config")?.is_some() {
            return Err(BackendError::new(
                BackendErrorKind::Permanent,
                FileType::Config,
                Some("config"),
                format!("a repository already exists at {}", self.location()),
            ));
        }
        let mut url = self.url.base.clone();
        url.set_query(Some("create=true"));
        self.send(
            "creating the repository at",
            FileType::Config,
            None,
            self.request(Method::POST, url),
        )?;
        Ok(())
    }

    fn list(&self, t: FileType) -> Result<Vec<(String, u64)>> {
        if t == FileType::Config {
            return Ok(self
                .stat(t, "config")?
                .map(|s| ("config".to_string(), s))
                .into_iter()
                .collect());
        }
        let url = self.file_url(t, None)?;
        let resp = self.send("listing", t, None, self.request(Method::GET, url))?;
        let v2 = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().starts_with(V2));
        if !v2 {
            return Err(BackendError::new(
                BackendErrorKind::Permanent,
                t,
                None,
                format!(
                    "listing {}: the server does not speak version 2 of restic's REST protocol",
                    self.show(t, None)
                ),
            ));
        }
        let mut body = Vec::new();
        self.file(t, None)
            .read_body("listing", resp, LIST_MAX, &mut body)?;
        if body.len() as u64 > LIST_MAX {
            return Err(BackendError::new(
                BackendErrorKind::Refused,
                t,
                None,
                format!(
                    "listing {}: the answer is larger than {LIST_MAX} bytes",
                    self.show(t, None)
                ),
            ));
        }
        let entries: Vec<ListEntry> = serde_json::from_slice(&body).map_err(|e| {
            let message = format!(
                "listing {}: the answer is not a version 2 list: {e}",
                self.show(t, None)
            );
            BackendError::new(BackendErrorKind::Permanent, t, None, message)
        })?;
        let mut out: Vec<(String, u64)> = entries
            .into_iter()
            .filter(|e| !e.name.is_empty() && !e.name.starts_with('.'))
            .map(|e| (e.name, e.size))
            .collect();
        out.sort();
        Ok(out)
    }

    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        let url = self.file_url(t, Some(name))?;
        let resp = self.send("reading", t, Some(name), self.request(Method::GET, url))?;
        self.file(t, Some(name)).read_whole(resp)
    }

    fn read_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.read_range_into(t, name, offset, len, &mut buf)?;
        Ok(buf)
    }

    fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        buf.clear();
        match self.ranged_get(t, name, offset, len)? {
            Some(resp) => {
                let doing = format!("reading {len} bytes at offset {offset} of");
                self.file(t, Some(name))
                    .read_range(&doing, resp, offset, len, buf)
            }
            None => Ok(()),
        }
    }

    fn read_range_stream(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
    ) -> Result<super::RangeReader<'_>> {
        Ok(match self.ranged_get(t, name, offset, len)? {
            Some(resp) => Box::new(self.file(t, Some(name)).range_body(resp, offset, len)),
            None => Box::new(std::io::empty()),
        })
    }

    fn read_streams(&self) -> usize {
        super::REMOTE_READ_STREAMS
    }

    fn write(&self, t: FileType, name: &str, data: &[u8]) -> Result<()> {
        self.write_owned(
            t,
            name,
            bytes::Bytes::copy_from_slice(data),
            super::Placement::Hot,
        )
    }

    fn write_owned(
        &self,
        t: FileType,
        name: &str,
        data: bytes::Bytes,
        _placement: super::Placement,
    ) -> Result<()> {
        let url = self.file_url(t, Some(name))?;
        let upload_secs = data.len() as u64 / self.opts.min_upload_rate.max(1);
        let r = self
            .request(Method::POST, url)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .timeout(self.opts.timeout + Duration::from_secs(upload_secs))
            .body(data);
        self.send("writing", t, Some(name), r)?;
        Ok(())
    }

    fn delete(&self, t: FileType, name: &str) -> Result<()> {
        let url = self.file_url(t, Some(name))?;
        match self.send("deleting", t, Some(name), self.request(Method::DELETE, url)) {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Asks the server to delete a pack no repository holds (its name is 64 zeros, which no
    /// content hashes to): rest-server and rclone in append-only mode refuse any delete outside
    /// `locks/` with 403 before they look for the file; otherwise the answer is 404 (or 200).
    fn parallel_writes(&self) -> usize {
        self.opts.connections
    }

    fn read_span(&self) -> u64 {
        super::REMOTE_READ_SPAN
    }

    fn deletes_allowed(&self) -> Result<bool> {
        let name = "0".repeat(64);
        match self.delete(FileType::Pack, &name) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == BackendErrorKind::Denied => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn stat(&self, t: FileType, name: &str) -> Result<Option<u64>> {
        let headers = self.head(t, name)?;
        self.file(t, Some(name)).size(headers.as_ref())
    }

    fn modified(&self, t: FileType, name: &str) -> Result<Option<SystemTime>> {
        // Neither rclone 1.60 nor rest-server sends Last-Modified on HEAD: then lock ages fall
        // back to the times the locks carry.
        Ok(self.head(t, name)?.as_ref().and_then(last_modified))
    }
}

#[cfg(test)]
mod tests;
