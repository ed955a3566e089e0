//! A repository in an S3 bucket (AWS S3 or an S3-compatible store: moto, s3s-fs, Garage, MinIO,
//! Backblaze B2, Wasabi, Cloudflare R2, ...), over reqwest's blocking client, with requests
//! signed (AWS Signature Version 4, as presigned URLs) and answers parsed by the `rusty-s3` crate.
//!
//! Objects are named `PREFIX/config`, `PREFIX/keys/NAME`, `PREFIX/snapshots/NAME`,
//! `PREFIX/index/NAME`, `PREFIX/data/NAME` and `PREFIX/locks/NAME` (without a prefix, no leading
//! `PREFIX/`): the local layout except that `data/` is flat, as in restic's S3 layout.
//!
//! | operation | request |
//! |---|---|
//! | `create` | `HEAD config` (a repository must not exist yet), `HEAD` the bucket, `PUT` it if missing |
//! | `list` | `ListObjectsV2` with `prefix=PREFIX/{type}/`, page after page (continuation tokens) |
//! | `read` | `GET`, refused before the body if `Content-Length` is too large |
//! | `read_range` | `GET` with `Range: bytes=a-b`; exactly that many bytes or an error |
//! | `write` | `PUT` with `x-amz-checksum-crc32` or `Content-MD5` (`checksum.rs`); above [`S3Options::multipart_threshold`] a multipart upload |
//! | `delete` | `DELETE` (S3 answers 204 for a missing key too) |
//! | `stat`, `modified` | `HEAD`: `Content-Length`, `Last-Modified` |
//! | `availability` | the last listing's `StorageClass`, or `HEAD`: `x-amz-storage-class`, `x-amz-restore` |
//! | `request_restore` | `POST ?restore` (RestoreObject) |
//! | `retained_until`, `extend_retention` | `HEAD`; `PUT ?retention` (object lock, see `lock.rs`) |
//!
//! Data packs (written with [`Placement::Cold`]) go to [`S3Options::data_storage_class`], the
//! other files but locks to [`S3Options::metadata_storage_class`]; see `archive.rs`.
//!
//! Failures map onto [`BackendErrorKind`]: 404 and `NoSuchKey` are `NotFound`; 408, 429, 5xx,
//! `SlowDown`, `RequestTimeout`, connection failures, timeouts and cut-off bodies are `Transient`
//! (with the server's `Retry-After`, if any); 403 `InvalidObjectState` (a GET of an archived
//! object) is `Archived`; `AccessDenied` (a policy refusing the operation) is `Denied`; other
//! 4xx, a bad signature among them, are `Permanent`, with the S3 error code and message. This backend does not retry: wrap it in
//! [`super::retry::Retrying`].
//!
//! No request hangs: the timeouts are those of the REST backend ([`S3Options`]).
//!
//! Credentials never show: they are not part of the location, and errors from the HTTP client are
//! stripped of the request URL (a presigned URL holds the signature and, with temporary
//! credentials, the session token, though never the secret key).

mod archive;
mod checksum;
mod errors;
mod leftovers;
mod list;
mod lock;
mod multipart;
mod subresource;
mod url;

pub use archive::valid_class;
pub use checksum::UploadChecksum;
pub use url::{S3Credentials, S3Url, S3UrlError, S3UrlStyle};

use super::http::{last_modified, RemoteFile};
use super::{
    Availability, Backend, BackendError, BackendErrorKind, FileType, ObjectLock, Placement,
    RangeReader, RestoreRequest, RestoreRequested, Result,
};
use bytes::Bytes;
use checksum::{content_md5, Checksums};
use errors::{send_error, status_error};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{self, HeaderMap};
use rusty_s3::S3Action;
use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// How long a signed request stays valid. It is signed right before it is sent; S3 checks the
/// expiry when a request starts, so a long upload is not cut by it.
const SIGNED_FOR: Duration = Duration::from_secs(3600);

/// The largest page of a listing read (a page of 1,000 keys is about 300 KiB).
const LIST_PAGE_MAX: u64 = 64 << 20;

/// The largest answer to a multipart upload request that is read (they are a few hundred bytes).
const SMALL_ANSWER_MAX: u64 = 1 << 20;

/// Settings of an [`S3Backend`].
#[derive(Debug, Clone)]
pub struct S3Options {
    /// How long to wait for a connection to be made (default 30 s).
    pub connect_timeout: Duration,
    /// How long to wait for an answer after a request was sent, and for each read of a body to
    /// make progress (default 5 minutes).
    pub timeout: Duration,
    /// Uploads get [`Self::timeout`] plus the time their size takes at this rate, in bytes per
    /// second (default 64 KiB/s).
    pub min_upload_rate: u64,
    /// Files larger than this are written with a multipart upload (default 64 MiB).
    pub multipart_threshold: u64,
    /// The size of each part of a multipart upload but the last (default 16 MiB). S3 refuses
    /// parts smaller than 5 MiB but the last; a file needing more than 10,000 parts gets larger
    /// ones.
    pub part_size: u64,
    /// Keys asked for per listing page (default 1,000, S3's largest).
    pub list_page_size: usize,
    /// Path-style (the default) or virtual-host-style URLs.
    pub url_style: S3UrlStyle,
    /// Packs uploaded at once (default [`super::REMOTE_PARALLEL_WRITES`]).
    pub connections: usize,
    /// The storage class data packs are written to (`x-amz-storage-class`: `STANDARD_IA`,
    /// `GLACIER_IR`, `GLACIER`, `DEEP_ARCHIVE` or another provider's name); `None`: the bucket's
    /// default.
    pub data_storage_class: Option<String>,
    /// The storage class of the other files but locks (config, keys, index, snapshots, tree
    /// packs); `None`: the bucket's default. Locks always go to the bucket's default.
    pub metadata_storage_class: Option<String>,
    /// Certificate authorities trusted beside the system's (a server with its own).
    pub root_certificates: Vec<reqwest::Certificate>,
    /// The digest each `PUT` carries for the store to check (default CRC32, see `checksum.rs`).
    pub checksum: UploadChecksum,
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            connect_timeout: Duration::from_secs(30),
            timeout: Duration::from_secs(300),
            min_upload_rate: 64 << 10,
            multipart_threshold: 64 << 20,
            part_size: 16 << 20,
            list_page_size: 1000,
            url_style: S3UrlStyle::Path,
            connections: super::REMOTE_PARALLEL_WRITES,
            data_storage_class: None,
            metadata_storage_class: None,
            root_certificates: Vec::new(),
            checksum: UploadChecksum::default(),
        }
    }
}

/// A repository in an S3 bucket.
pub struct S3Backend {
    url: S3Url,
    bucket: rusty_s3::Bucket,
    creds: S3Credentials,
    client: Client,
    opts: S3Options,
    /// The class and time of every pack the last listing of `data/` showed, so that asking
    /// whether a pack can be read needs no request when its class reads at once.
    listed: Mutex<HashMap<String, archive::Listed>>,
    /// The retention every write but lock files gets ([`Backend::set_object_lock`]).
    lock: Mutex<Option<ObjectLock>>,
    /// The digest writes carry now.
    checksums: Checksums,
}

impl S3Backend {
    /// A backend for the bucket and prefix of `url`; nothing is sent until the first call.
    pub fn new(url: S3Url, creds: S3Credentials, opts: S3Options) -> Result<Self, S3UrlError> {
        let style = match opts.url_style {
            S3UrlStyle::Path => rusty_s3::UrlStyle::Path,
            S3UrlStyle::VirtualHost => rusty_s3::UrlStyle::VirtualHost,
        };
        let bucket = rusty_s3::Bucket::new(
            url.endpoint.clone(),
            style,
            url.bucket.clone(),
            creds.region.clone(),
        )
        .map_err(|e| {
            S3UrlError::new(
                url.shown(),
                format!("cannot address the bucket ({e:?}); virtual-host style needs a host name and a bucket name valid in one"),
            )
        })?;
        let client =
            super::http::client(opts.connect_timeout, opts.timeout, &opts.root_certificates)
                .map_err(|e| {
                    S3UrlError::new(url.shown(), format!("setting up the HTTP client: {e}"))
                })?;
        Ok(S3Backend {
            url,
            bucket,
            creds,
            client,
            checksums: Checksums::new(opts.checksum),
            opts,
            listed: Mutex::new(HashMap::new()),
            lock: Mutex::new(None),
        })
    }

    /// The key of a file (`None` for the name: the type's directory, ending in `/`).
    fn key(&self, t: FileType, name: Option<&str>) -> Result<String> {
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
        Ok(self.url.key(&rel))
    }

    /// The file as shown in messages.
    fn show(&self, t: FileType, name: Option<&str>) -> String {
        let base = self.url.shown();
        match (t, name) {
            (FileType::Config, _) => format!("{base}/config"),
            (_, None) => format!("{base}/{}/", t.dir()),
            (_, Some(name)) => format!("{base}/{}/{name}", t.dir()),
        }
    }

    fn creds(&self) -> Option<&rusty_s3::Credentials> {
        Some(&self.creds.inner)
    }

    /// A request for a signed action; its signed headers are sent too.
    fn request<'a>(&self, action: &impl S3Action<'a>, headers: &[(&str, &str)]) -> RequestBuilder {
        let method = match action_method(action) {
            rusty_s3::Method::Head => reqwest::Method::HEAD,
            rusty_s3::Method::Get => reqwest::Method::GET,
            rusty_s3::Method::Post => reqwest::Method::POST,
            rusty_s3::Method::Put => reqwest::Method::PUT,
            rusty_s3::Method::Delete => reqwest::Method::DELETE,
        };
        let mut r = self.client.request(method, action.sign(SIGNED_FOR));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r
    }

    /// Sends a request; a status that is not a success becomes an error.
    fn send(
        &self,
        doing: &str,
        t: FileType,
        name: Option<&str>,
        r: RequestBuilder,
    ) -> Result<Response> {
        self.exchange(|| format!("{doing} {}", self.show(t, name)), t, name, r)
    }

    /// Sends a request; a status that is not a success becomes an error saying `what()` was
    /// being done.
    fn exchange(
        &self,
        what: impl Fn() -> String,
        t: FileType,
        name: Option<&str>,
        r: RequestBuilder,
    ) -> Result<Response> {
        let resp = r.send().map_err(|e| send_error(what(), t, name, e))?;
        Self::checked(what, t, name, resp)
    }

    /// The answer if its status is a success; else the error it carries.
    fn checked(
        what: impl Fn() -> String,
        t: FileType,
        name: Option<&str>,
        resp: Response,
    ) -> Result<Response> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        let _ = resp.take(64 << 10).read_to_end(&mut body);
        Err(status_error(what(), t, name, status, &headers, &body))
    }

    /// `HEAD`: the headers of a file, or `None` if it does not exist.
    fn head(&self, t: FileType, name: &str) -> Result<Option<HeaderMap>> {
        let key = self.key(t, Some(name))?;
        let r = self.request(&self.bucket.head_object(self.creds(), &key), &[]);
        match self.send("stat", t, Some(name), r) {
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
        let key = self.key(t, Some(name))?;
        self.file(t, Some(name)).check_range(offset, len)?;
        if len == 0 {
            return Ok(None);
        }
        let doing = format!("reading {len} bytes at offset {offset} of");
        let range = format!("bytes={offset}-{}", offset + len - 1);
        let r = self.request(&self.bucket.get_object(self.creds(), &key), &[]);
        self.send(&doing, t, Some(name), r.header(header::RANGE, range))
            .map(Some)
    }

    /// The timeout of an upload of `len` bytes.
    fn upload_timeout(&self, len: u64) -> Duration {
        self.opts.timeout + Duration::from_secs(len / self.opts.min_upload_rate.max(1))
    }
}

/// The HTTP method of an action.
fn action_method<'a, A: S3Action<'a>>(_: &A) -> rusty_s3::Method {
    A::METHOD
}

impl S3Backend {
    /// Writes `data` to the file's key: whole, or in parts above the multipart threshold. With
    /// `only_new`, a single `PUT` with `If-None-Match: *`; `Ok(false)` when the key exists.
    fn put(
        &self,
        t: FileType,
        name: &str,
        data: Bytes,
        placement: Placement,
        only_new: bool,
    ) -> Result<bool> {
        let key = self.key(t, Some(name))?;
        let class = self.class_for(t, placement);
        let lock = self.lock_headers(t);
        if !only_new && data.len() as u64 > self.opts.multipart_threshold {
            return self
                .write_multipart(t, name, &key, data, class, &lock)
                .map(|()| true);
        }
        let what = || format!("writing {}", self.show(t, Some(name)));
        loop {
            let crc32 = self.checksums.crc32();
            let digest = self.checksums.headers(&data);
            let mut action = self.bucket.put_object(self.creds(), &key);
            let mut signed: Vec<(&str, &str)> = digest.iter().collect();
            if let Some(class) = class {
                signed.push(("x-amz-storage-class", class));
            }
            signed.extend(lock.iter().map(|(k, v)| (*k, v.as_str())));
            if only_new {
                signed.push(("if-none-match", "*"));
            }
            for (k, v) in &signed {
                action.headers_mut().insert(*k, *v);
            }
            let r = self
                .request(&action, &signed)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .header(header::CONTENT_LENGTH, data.len())
                .timeout(self.upload_timeout(data.len() as u64))
                .body(data.clone());
            let resp = r.send().map_err(|e| send_error(what(), t, Some(name), e))?;
            let status = resp.status();
            if only_new && status == reqwest::StatusCode::PRECONDITION_FAILED {
                return Ok(false);
            }
            if status.is_success() || !crc32 {
                return Self::checked(what, t, Some(name), resp).map(|_| true);
            }
            let headers = resp.headers().clone();
            let mut body = Vec::new();
            let _ = resp.take(64 << 10).read_to_end(&mut body);
            if !self
                .checksums
                .refused(status, errors::s3_error(&body).as_ref())
            {
                return Err(status_error(what(), t, Some(name), status, &headers, &body));
            }
        }
    }
}

impl Backend for S3Backend {
    fn location(&self) -> String {
        self.url.shown()
    }

    fn create(&self) -> Result<()> {
        if self.stat(FileType::Config, "config")?.is_some() {
            return Err(BackendError::new(
                BackendErrorKind::Permanent,
                FileType::Config,
                Some("config"),
                format!("a repository already exists at {}", self.location()),
            ));
        }
        let what = || format!("looking up the bucket of {}", self.location());
        let head = self.request(&self.bucket.head_bucket(self.creds()), &[]);
        let locked = self.object_lock().is_some();
        match self.exchange(what, FileType::Config, None, head) {
            Ok(_) if locked => return self.check_bucket_lock(),
            Ok(_) => return Ok(()),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        let mut action = self.bucket.create_bucket(&self.creds.inner);
        let mut signed = Vec::new();
        if locked {
            action
                .headers_mut()
                .insert("x-amz-bucket-object-lock-enabled", "true");
            signed.push(("x-amz-bucket-object-lock-enabled", "true"));
        }
        let body = action.body();
        let r = self
            .request(&action, &signed)
            .header(header::CONTENT_LENGTH, body.len())
            .body(body);
        let what = || format!("creating the bucket of {}", self.location());
        match self.exchange(what, FileType::Config, None, r) {
            Ok(_) => Ok(()),
            // Made in the meantime by this account (another init, or a retried create).
            Err(e) if e.to_string().contains("BucketAlreadyOwnedByYou") && locked => {
                self.check_bucket_lock()
            }
            Err(e) if e.to_string().contains("BucketAlreadyOwnedByYou") => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn list(&self, t: FileType) -> Result<Vec<(String, u64)>> {
        self.list_files(t)
    }

    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        let key = self.key(t, Some(name))?;
        let r = self.request(&self.bucket.get_object(self.creds(), &key), &[]);
        let resp = self.send("reading", t, Some(name), r)?;
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
    ) -> Result<RangeReader<'_>> {
        Ok(match self.ranged_get(t, name, offset, len)? {
            Some(resp) => Box::new(self.file(t, Some(name)).range_body(resp, offset, len)),
            None => Box::new(std::io::empty()),
        })
    }

    fn read_streams(&self) -> usize {
        super::REMOTE_READ_STREAMS
    }

    fn write(&self, t: FileType, name: &str, data: &[u8]) -> Result<()> {
        self.write_owned(t, name, Bytes::copy_from_slice(data), Placement::Hot)
    }

    /// `PUT` with `x-amz-storage-class` when a class is set for this kind of file; the buffer
    /// goes out as it is (a multipart upload sends slices of it).
    fn write_owned(
        &self,
        t: FileType,
        name: &str,
        data: Bytes,
        placement: Placement,
    ) -> Result<()> {
        self.put(t, name, data, placement, false).map(drop)
    }

    /// A `PUT` with `If-None-Match: *`: S3 answers 412 when the key exists, and writes nothing.
    fn create_file(&self, t: FileType, name: &str, data: &[u8]) -> Result<bool> {
        self.put(t, name, Bytes::copy_from_slice(data), Placement::Hot, true)
    }

    fn availability(&self, t: FileType, name: &str) -> Result<Availability> {
        self.availability_of(t, name)
    }

    fn request_restore(
        &self,
        t: FileType,
        name: &str,
        request: &RestoreRequest,
    ) -> Result<RestoreRequested> {
        self.restore_object(t, name, request)
    }

    fn set_object_lock(&self, lock: Option<ObjectLock>) -> Result<()> {
        *crate::sync::unpoisoned(&self.lock) = lock;
        Ok(())
    }

    fn retained_until(&self, t: FileType, name: &str) -> Result<Option<SystemTime>> {
        self.retained_until_of(t, name)
    }

    fn extend_retention(&self, t: FileType, name: &str, until: SystemTime) -> Result<()> {
        self.put_retention(t, name, until)
    }

    fn delete(&self, t: FileType, name: &str) -> Result<()> {
        let key = self.key(t, Some(name))?;
        let r = self.request(&self.bucket.delete_object(self.creds(), &key), &[]);
        match self.send("deleting", t, Some(name), r) {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Asks to delete a pack no repository holds (its name is 64 zeros, which no content hashes
    /// to): S3 answers 204 whether or not the key exists, and `AccessDenied` when a policy (a
    /// no-delete policy, as ransomware protection has it) refuses deletes to these credentials.
    fn parallel_writes(&self) -> usize {
        self.opts.connections
    }

    fn read_span(&self) -> u64 {
        crate::backend::REMOTE_READ_SPAN
    }

    fn remove_leftovers(&self, older_than: Duration) -> Result<(usize, u64)> {
        self.abort_old_uploads(older_than)
    }

    fn deletes_allowed(&self) -> Result<bool> {
        match self.delete(FileType::Pack, &"0".repeat(64)) {
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
        Ok(self.head(t, name)?.as_ref().and_then(last_modified))
    }
}

#[cfg(test)]
mod tests;
