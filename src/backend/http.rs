//! What the HTTP backends (REST, S3) do alike once a server has answered: read a body within the
//! size cap of its file type, cut a range out of an answer that ignored `Range`, read the headers
//! that matter, and turn a server's words into a short, printable message.

use super::{BackendError, BackendErrorKind, FileType, Result};
use reqwest::blocking::Response;
use reqwest::header::{self, HeaderMap};
use reqwest::StatusCode;
use std::io::Read;
use std::time::{Duration, SystemTime};

/// At most this many characters of a server's message go into an error.
pub(super) const MESSAGE_MAX: usize = 300;

/// The room made for a body of unknown length before reading it; it grows past this as needed.
const RESERVE_GUESS: u64 = 16 << 20;

/// The most room made at once for a body of announced length (a larger one grows as it comes,
/// so that a false `Content-Length` cannot make a command reserve a gigabyte at once).
const RESERVE_MAX: u64 = 256 << 20;

/// A file of a remote repository, for messages: `shown` is its location with no secret in it.
pub(super) struct RemoteFile<'a> {
    pub t: FileType,
    pub name: Option<&'a str>,
    pub shown: String,
}

impl RemoteFile<'_> {
    fn error(&self, kind: BackendErrorKind, message: String) -> BackendError {
        BackendError::new(kind, self.t, self.name, message)
    }

    /// The error for a file larger than any valid file of its type.
    pub fn too_large(&self, len: u64) -> BackendError {
        self.error(
            BackendErrorKind::Refused,
            format!(
                "{} is {len} bytes, larger than any valid {} ({} bytes at most): it was not \
                 written by backstock; remove it from the repository",
                self.shown,
                self.t.describe(),
                self.t.max_size()
            ),
        )
    }

    /// Refuses a range that ends past the end of any valid file of this type.
    pub fn check_range(&self, offset: u64, len: u64) -> Result<()> {
        if offset
            .checked_add(len)
            .is_some_and(|end| end <= self.t.max_size())
        {
            return Ok(());
        }
        Err(self.error(
            BackendErrorKind::Refused,
            format!(
                "cannot read {len} bytes at offset {offset} of {}: the range ends past the end \
                 of any valid {} ({} bytes at most); the index or pack header that gave it is \
                 corrupt",
                self.shown,
                self.t.describe(),
                self.t.max_size()
            ),
        ))
    }

    /// The size a `HEAD` answered with (`None` for no answer: the file does not exist).
    pub fn size(&self, headers: Option<&HeaderMap>) -> Result<Option<u64>> {
        let Some(headers) = headers else {
            return Ok(None);
        };
        match content_length(headers) {
            Some(len) => Ok(Some(len)),
            None => Err(self.error(
                BackendErrorKind::Permanent,
                format!("stat {}: the server sent no Content-Length", self.shown),
            )),
        }
    }

    /// Reads at most `max + 1` bytes of a body into `buf` (replacing its contents), so that the
    /// caller can tell a body longer than `max`. A failure on the way (a cut connection, a body
    /// shorter than its `Content-Length`, no progress) is `Transient`.
    ///
    /// The buffer is sized once, by `Content-Length` where the server sent one: growing it by
    /// doubling from a guess made a 16.2 MiB pack take a 32 MiB buffer, in each restoring thread.
    pub fn read_body(
        &self,
        doing: &str,
        resp: Response,
        max: u64,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        buf.clear();
        let want = content_length(resp.headers())
            .map_or(max.min(RESERVE_GUESS), |n| n.min(max).min(RESERVE_MAX));
        buf.reserve_exact(usize::try_from(want).unwrap_or(0));
        resp.take(max.saturating_add(1))
            .read_to_end(buf)
            .map_err(|e| {
                self.error(
                    BackendErrorKind::Transient,
                    format!("{doing} {}", self.shown),
                )
                .with_source(e)
            })?;
        Ok(())
    }

    /// The whole body of a successful `GET`: refused by `Content-Length` before it is read when
    /// over the type's cap, never read past the cap, and an error when shorter than announced.
    pub fn read_whole(&self, resp: Response) -> Result<Vec<u8>> {
        let max = self.t.max_size();
        let expected = content_length(resp.headers());
        if let Some(len) = expected.filter(|&len| len > max) {
            return Err(self.too_large(len));
        }
        let mut buf = Vec::new();
        self.read_body("reading", resp, max, &mut buf)?;
        let got = buf.len() as u64;
        if got > max {
            return Err(self.too_large(got));
        }
        if let Some(len) = expected.filter(|&len| len != got) {
            return Err(self.error(
                BackendErrorKind::Transient,
                format!("reading {}: got {got} bytes of {len}", self.shown),
            ));
        }
        Ok(buf)
    }

    /// The answer to a ranged `GET` for `len` bytes at `offset`, as a reader of exactly those
    /// bytes (see [`RangeBody`]).
    pub fn range_body(&self, resp: Response, offset: u64, len: u64) -> RangeBody {
        let whole = resp.status() != StatusCode::PARTIAL_CONTENT;
        RangeBody {
            resp,
            skip: if whole { offset } else { 0 },
            left: len,
            t: self.t,
            name: self.name.map(str::to_string),
            shown: self.shown.clone(),
        }
    }

    /// Exactly `len` bytes at `offset` from the answer to a ranged `GET` into `buf`. A server
    /// that ignores `Range` sends the whole file: the range is cut out of it.
    pub fn read_range(
        &self,
        doing: &str,
        resp: Response,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let whole = resp.status() != StatusCode::PARTIAL_CONTENT;
        let skip = if whole { offset } else { 0 };
        self.read_body(doing, resp, skip + len, buf)?;
        if whole {
            buf.truncate((skip + len) as usize);
            let skipped = (skip as usize).min(buf.len());
            buf.drain(..skipped);
        }
        let got = buf.len() as u64;
        if got != len {
            let why = if got < len {
                "the file is shorter"
            } else {
                "the server sent more than was asked for"
            };
            return Err(self.error(
                BackendErrorKind::Permanent,
                format!("{doing} {}: got {got} bytes: {why}", self.shown),
            ));
        }
        Ok(())
    }
}

/// The body of an answer to a ranged `GET` as a reader of exactly the range: a server that
/// ignored `Range` sends the file from its start, and what comes before the range is dropped; a
/// body that ends early is a `Transient` [`BackendError`] (inside the `io::Error`), and nothing past
/// the range is read.
pub(super) struct RangeBody {
    resp: Response,
    skip: u64,
    left: u64,
    t: FileType,
    name: Option<String>,
    shown: String,
}

impl RangeBody {
    fn cut_short(&self) -> std::io::Error {
        std::io::Error::other(BackendError::new(
            BackendErrorKind::Transient,
            self.t,
            self.name.as_deref(),
            format!(
                "reading {}: the answer ended {} bytes early",
                self.shown,
                self.left + self.skip
            ),
        ))
    }
}

impl Read for RangeBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut scratch = [0u8; 8192];
        while self.skip > 0 {
            let n = scratch
                .len()
                .min(usize::try_from(self.skip).unwrap_or(usize::MAX));
            let got = self.resp.read(&mut scratch[..n])?;
            if got == 0 {
                return Err(self.cut_short());
            }
            self.skip -= got as u64;
        }
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let got = self.resp.read(&mut buf[..want])?;
        if got == 0 {
            return Err(self.cut_short());
        }
        self.left -= got as u64;
        Ok(got)
    }
}

/// The HTTP client of a remote backend: its timeouts, its name, and the certificate authorities
/// it trusts beside the system's.
pub(super) fn client(
    connect_timeout: Duration,
    timeout: Duration,
    roots: &[reqwest::Certificate],
) -> reqwest::Result<reqwest::blocking::Client> {
    let mut builder = reqwest::blocking::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .user_agent(concat!("backstock/", env!("CARGO_PKG_VERSION")));
    for cert in roots {
        builder = builder.add_root_certificate(cert.clone());
    }
    builder.build()
}

/// The kind of a request that got no answer, and the message to give: a failed TLS handshake
/// fails the same way every time (`Permanent`, saying why and what to do), as does a request that
/// could not be built; a refused or cut connection or a timeout is `Transient`.
pub(super) fn send_failure(e: &reqwest::Error, what: String) -> (BackendErrorKind, String) {
    if let Some(tls) = super::tls::handshake_failure(e) {
        return (BackendErrorKind::Permanent, format!("{what}: {tls}"));
    }
    if e.is_builder() {
        (BackendErrorKind::Permanent, what)
    } else {
        (BackendErrorKind::Transient, what)
    }
}

/// `Content-Length` as a number.
pub(super) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `Last-Modified`, if sent and well-formed.
pub(super) fn last_modified(headers: &HeaderMap) -> Option<SystemTime> {
    let v = headers.get(header::LAST_MODIFIED)?.to_str().ok()?;
    let at = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
    Some(SystemTime::from(at))
}

/// `Retry-After` in seconds.
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A server's words fit for a message: control characters as spaces, at most [`MESSAGE_MAX`]
/// characters (then `...`), trimmed.
pub(super) fn clean(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MESSAGE_MAX)
        .collect::<String>()
        .trim()
        .to_string();
    if text.chars().count() > MESSAGE_MAX {
        out.push_str("...");
    }
    out
}

/// The error for an answer that is not a success: `what` was being done, the status, a hint for
/// the user, and the server's own words; a transient one keeps the server's `Retry-After`.
pub(super) fn status_error(
    kind: BackendErrorKind,
    (what, t, name): (String, FileType, Option<&str>),
    status: StatusCode,
    hint: &str,
    words: &str,
    headers: &HeaderMap,
) -> BackendError {
    let mut message = format!("{what}: the server answered HTTP {status}{hint}");
    if !words.is_empty() {
        message.push_str(": ");
        message.push_str(words);
    }
    let e = BackendError::new(kind, t, name, message);
    match retry_after(headers) {
        Some(wait) if kind == BackendErrorKind::Transient => e.with_retry_after(wait),
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning() {
        assert_eq!(clean("a\nb\r\n"), "a b");
        assert_eq!(clean(&"é".repeat(400)).chars().count(), MESSAGE_MAX + 3);
    }

    #[test]
    fn ranges_past_any_valid_file_are_refused() {
        let f = RemoteFile {
            t: FileType::Pack,
            name: Some("ab"),
            shown: "s3:http://h/b/data/ab".into(),
        };
        assert!(f.check_range(0, 10).is_ok());
        let max = FileType::Pack.max_size();
        for (offset, len) in [(max, 1), (u64::MAX, 2)] {
            let e = f.check_range(offset, len).unwrap_err();
            assert_eq!(e.kind(), BackendErrorKind::Refused);
            assert!(e.to_string().contains("s3:http://h/b/data/ab"), "{e}");
        }
    }
}
