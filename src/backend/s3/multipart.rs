//! Multipart uploads, for files larger than [`super::S3Options::multipart_threshold`]:
//! `CreateMultipartUpload`, one `UploadPart` (with `Content-MD5`) per part, then
//! `CompleteMultipartUpload`; on any failure the upload is aborted, so that no parts are left
//! behind to be paid for.

use super::errors::{kind_of, s3_error, status_error};
use super::{content_md5, S3Backend, SMALL_ANSWER_MAX};
use crate::backend::{BackendError, BackendErrorKind, FileType, Result};
use bytes::Bytes;
use reqwest::header;
use reqwest::StatusCode;
use rusty_s3::actions::{CompleteMultipartUpload, CreateMultipartUpload};
use rusty_s3::S3Action;

/// S3 allows at most this many parts.
const MAX_PARTS: u64 = 10_000;

/// The size of each part but the last for a body of `len` bytes: `part_size`, or larger when
/// that would take more than [`MAX_PARTS`] parts.
pub(super) fn part_size(len: u64, part_size: u64) -> u64 {
    part_size.max(len.div_ceil(MAX_PARTS)).max(1)
}

impl S3Backend {
    /// Writes `data` to `key` with a multipart upload.
    pub(super) fn write_multipart(
        &self,
        t: FileType,
        name: &str,
        key: &str,
        data: Bytes,
        class: Option<&str>,
        lock: &[(&'static str, String)],
    ) -> Result<()> {
        let show = self.show(t, Some(name));
        let mut create = CreateMultipartUpload::new(&self.bucket, self.creds(), key);
        let mut signed = Vec::new();
        if let Some(class) = class {
            create.headers_mut().insert("x-amz-storage-class", class);
            signed.push(("x-amz-storage-class", class));
        }
        for (k, v) in lock {
            create.headers_mut().insert(*k, v.as_str());
            signed.push((k, v.as_str()));
        }
        let resp = self.send(
            "starting a multipart upload of",
            t,
            Some(name),
            self.request(&create, &signed),
        )?;
        let mut body = Vec::new();
        self.file(t, Some(name)).read_body(
            "starting a multipart upload of",
            resp,
            SMALL_ANSWER_MAX,
            &mut body,
        )?;
        let text = String::from_utf8_lossy(&body);
        let started = CreateMultipartUpload::parse_response(&text).map_err(|e| {
            BackendError::new(
                BackendErrorKind::Permanent,
                t,
                Some(name),
                format!("starting a multipart upload of {show}: the answer is not a CreateMultipartUpload result: {e}"),
            )
        })?;
        let upload_id = started.upload_id().to_string();
        let result = self.upload_parts_and_complete(t, name, key, &upload_id, data);
        if result.is_err() {
            let abort = self
                .bucket
                .abort_multipart_upload(self.creds(), key, &upload_id);
            if let Err(e) = self.send(
                "aborting the multipart upload of",
                t,
                Some(name),
                self.request(&abort, &[]),
            ) {
                log::warn!(
                    "{e} (its parts stay in the bucket until a lifecycle rule removes them)"
                );
            }
        }
        result
    }

    fn upload_parts_and_complete(
        &self,
        t: FileType,
        name: &str,
        key: &str,
        upload_id: &str,
        data: Bytes,
    ) -> Result<()> {
        let size = part_size(data.len() as u64, self.opts.part_size) as usize;
        let mut etags = Vec::new();
        // Each part is a slice of the one buffer, sent without a copy.
        let parts = (0..data.len())
            .step_by(size.max(1))
            .map(|at| data.slice(at..(at + size).min(data.len())));
        for (i, part) in parts.enumerate() {
            let number = u16::try_from(i + 1).map_err(|_| {
                BackendError::new(
                    BackendErrorKind::Permanent,
                    t,
                    Some(name),
                    format!(
                        "{} needs more than {MAX_PARTS} parts",
                        self.show(t, Some(name))
                    ),
                )
            })?;
            let doing = format!("uploading part {number} of");
            let md5 = content_md5(&part);
            let mut action = self
                .bucket
                .upload_part(self.creds(), key, number, upload_id);
            action.headers_mut().insert("content-md5", md5.as_str());
            let r = self
                .request(&action, &[("content-md5", &md5)])
                .header(header::CONTENT_LENGTH, part.len())
                .timeout(self.upload_timeout(part.len() as u64))
                .body(part);
            let resp = self.send(&doing, t, Some(name), r)?;
            let etag = resp
                .headers()
                .get(header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .ok_or_else(|| {
                    BackendError::new(
                        BackendErrorKind::Permanent,
                        t,
                        Some(name),
                        format!(
                            "{doing} {}: the answer has no ETag",
                            self.show(t, Some(name))
                        ),
                    )
                })?;
            etags.push(etag);
        }
        let complete = CompleteMultipartUpload::new(
            &self.bucket,
            self.creds(),
            key,
            upload_id,
            etags.iter().map(String::as_str),
        );
        let sign = complete.sign(super::SIGNED_FOR);
        let xml = complete.body();
        let doing = "completing the multipart upload of";
        let r = self
            .client
            .post(sign)
            .header(header::CONTENT_LENGTH, xml.len())
            .body(xml);
        let resp = self.send(doing, t, Some(name), r)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        self.file(t, Some(name))
            .read_body(doing, resp, SMALL_ANSWER_MAX, &mut body)?;
        complete_answer_error(self.show(t, Some(name)), t, name, status, &headers, &body)
    }
}

/// A `CompleteMultipartUpload` can answer 200 and then, after a while (S3 sends spaces to keep
/// the connection open), an `<Error>` document: that is a failure, of the kind its code says.
pub(super) fn complete_answer_error(
    show: String,
    t: FileType,
    name: &str,
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> Result<()> {
    let what = format!("completing the multipart upload of {show}");
    match s3_error(body) {
        None => Ok(()),
        Some((code, _)) => {
            let e = status_error(what, t, Some(name), status, headers, body);
            // The status is 200; the code decides (InternalError and SlowDown are worth a retry).
            let kind = match kind_of(status, Some(&code)) {
                BackendErrorKind::NotFound => BackendErrorKind::Permanent,
                k => k,
            };
            Err(e.with_kind(kind))
        }
    }
}
