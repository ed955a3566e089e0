//! Multipart uploads left behind. A process killed between `CreateMultipartUpload` and its
//! completion, or one whose answer to `CreateMultipartUpload` was lost, leaves an upload whose parts
//! are stored, and billed, without ever becoming a file. `unlock` and `prune` abort the uploads
//! under the repository's `data/` (only packs are large enough to go up in parts) that started
//! longer ago than [`crate::backend::LEFTOVER_AGE`]: no writer still running takes that long over
//! one pack (a part goes up in seconds, and an upload stalled for minutes is given up).
//!
//! | request | |
//! |---|---|
//! | list | `GET ?uploads&prefix=PREFIX/data/`, page after page (`key-marker`, `upload-id-marker`) |
//! | abort | `DELETE KEY?uploadId=ID` (AbortMultipartUpload) |

use super::errors::element;
use super::subresource::{Get, Subresource};
use super::{S3Backend, SMALL_ANSWER_MAX};
use crate::backend::{BackendErrorKind, FileType, Result};
use rusty_s3::S3Action;
use std::time::{Duration, SystemTime};

/// At most this many pages of a listing are read (1,000 uploads each).
const MAX_PAGES: usize = 1000;

/// One unfinished upload of a listing.
#[derive(Debug, PartialEq)]
pub(super) struct Upload {
    pub key: String,
    pub upload_id: String,
    /// When it started; `None` if the answer gave no time that parses (such an upload is left).
    pub initiated: Option<SystemTime>,
}

/// One page of a `ListMultipartUploads` answer: its uploads, and the markers of the next page if
/// there is one.
pub(super) fn parse_page(xml: &str) -> (Vec<Upload>, Option<(String, String)>) {
    let mut uploads = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<Upload>") {
        let after = &rest[start + "<Upload>".len()..];
        let Some(end) = after.find("</Upload>") else {
            break;
        };
        let one = &after[..end];
        if let (Some(key), Some(upload_id)) = (element(one, "Key"), element(one, "UploadId")) {
            let initiated = element(one, "Initiated")
                .and_then(|t| t.trim().parse::<jiff::Timestamp>().ok())
                .map(SystemTime::from);
            uploads.push(Upload {
                key,
                upload_id,
                initiated,
            });
        }
        rest = &after[end..];
    }
    let truncated = element(xml, "IsTruncated").is_some_and(|t| t.trim() == "true");
    let next = match (
        element(xml, "NextKeyMarker"),
        element(xml, "NextUploadIdMarker"),
    ) {
        (Some(k), Some(u)) if truncated && !k.is_empty() => Some((k, u)),
        _ => None,
    };
    (uploads, next)
}

impl S3Backend {
    /// Aborts the unfinished multipart uploads of packs that started more than `older_than` ago;
    /// returns how many. A store that does not let this client list them (a policy without
    /// `s3:ListBucketMultipartUploads`, a server without the request) is warned about, not an
    /// error: the uploads cost money, not data.
    pub(super) fn abort_old_uploads(&self, older_than: Duration) -> Result<(usize, u64)> {
        let prefix = self.key(FileType::Pack, None)?;
        let cutoff = SystemTime::now().checked_sub(older_than);
        let mut marker: Option<(String, String)> = None;
        let mut aborted = 0;
        for _ in 0..MAX_PAGES {
            let mut list = Subresource::<Get>::new(&self.bucket, self.creds(), None, "uploads");
            list.query_mut().insert("prefix", prefix.as_str());
            if let Some((key, id)) = &marker {
                list.query_mut().insert("key-marker", key.as_str());
                list.query_mut().insert("upload-id-marker", id.as_str());
            }
            let doing = "listing unfinished multipart uploads under";
            let resp = match self.send(doing, FileType::Pack, None, self.request(&list, &[])) {
                Ok(r) => r,
                Err(e) if e.kind() == BackendErrorKind::Unsupported => {
                    log::info!("{e}: unfinished uploads cannot be looked for here");
                    return Ok((aborted, 0));
                }
                Err(e) if e.kind() != BackendErrorKind::Transient => {
                    log::warn!(
                        "{e}; parts of interrupted uploads, if any, stay stored and billed \
                         (a lifecycle rule with AbortIncompleteMultipartUpload removes them)"
                    );
                    return Ok((aborted, 0));
                }
                Err(e) => return Err(e),
            };
            let mut body = Vec::new();
            self.file(FileType::Pack, None)
                .read_body(doing, resp, SMALL_ANSWER_MAX, &mut body)?;
            let (uploads, next) = parse_page(&String::from_utf8_lossy(&body));
            if !uploads.is_empty() {
                log::info!(
                    "{} unfinished multipart upload(s) under {}",
                    uploads.len(),
                    self.show(FileType::Pack, None)
                );
            }
            for u in uploads {
                let old = matches!((u.initiated, cutoff), (Some(t), Some(c)) if t < c);
                if !old || !u.key.starts_with(&prefix) {
                    continue;
                }
                let abort = self
                    .bucket
                    .abort_multipart_upload(self.creds(), &u.key, &u.upload_id);
                let name = u.key[prefix.len()..].to_string();
                self.send(
                    "aborting the unfinished multipart upload of",
                    FileType::Pack,
                    Some(&name),
                    self.request(&abort, &[]),
                )?;
                log::info!("aborted an unfinished multipart upload of pack {name}");
                aborted += 1;
            }
            match next {
                Some(n) if marker.as_ref() != Some(&n) => marker = Some(n),
                _ => break,
            }
        }
        Ok((aborted, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::canned;
    use crate::backend::s3::{S3Credentials, S3Options, S3Url};
    use std::sync::{Arc, Mutex};

    const PAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult><Bucket>b</Bucket><IsTruncated>true</IsTruncated>
<NextKeyMarker>pre/data/bb</NextKeyMarker><NextUploadIdMarker>id-2</NextUploadIdMarker>
<Upload><Key>pre/data/aa</Key><UploadId>id-1</UploadId><Initiated>2026-12-06T10:00:00.000Z</Initiated></Upload>
<Upload><Key>pre/data/bb</Key><UploadId>id-2</UploadId><Initiated>not a time</Initiated></Upload>
<Upload><Key>pre/data/cc</Key></Upload>
</ListMultipartUploadsResult>"#;

    /// A backend of `bucket/pre` on a server answering `replies` in order; the request lines
    /// it got.
    fn serve(replies: Vec<canned::Reply>) -> (S3Backend, Arc<Mutex<Vec<String>>>) {
        let (port, lines) = canned::serve(replies, |head| {
            head.lines().next().unwrap_or_default().to_string()
        });
        let url = S3Url::parse(&format!("http://127.0.0.1:{port}/bucket/pre")).unwrap();
        let creds = S3Credentials::new("AKID", "SECRET", None, "us-east-1");
        (
            S3Backend::new(url, creds, S3Options::default()).unwrap(),
            lines,
        )
    }

    #[test]
    fn only_uploads_of_packs_older_than_the_limit_are_aborted() {
        let old = "2020-01-01T00:00:00.000Z";
        let young = jiff::Timestamp::now().to_string();
        let list = format!(
            "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>\
             <Upload><Key>pre/data/aa</Key><UploadId>old-1</UploadId><Initiated>{old}</Initiated></Upload>\
             <Upload><Key>pre/data/bb</Key><UploadId>young-2</UploadId><Initiated>{young}</Initiated></Upload>\
             <Upload><Key>other/data/cc</Key><UploadId>old-3</UploadId><Initiated>{old}</Initiated></Upload>\
             </ListMultipartUploadsResult>"
        );
        let replies = vec![
            canned::answer("200 OK", &[], list.as_bytes()),
            canned::answer("204 No Content", &[], b""),
        ];
        let (b, lines) = serve(replies);
        assert_eq!(
            b.abort_old_uploads(Duration::from_secs(3600)).unwrap(),
            (1, 0)
        );
        let lines = lines.lock().unwrap().clone();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("GET /bucket?") || lines[0].starts_with("GET /bucket/?"),
            "{lines:?}"
        );
        assert!(
            lines[0].contains("uploads") && lines[0].contains("prefix=pre%2Fdata%2F"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("DELETE /bucket/pre/data/aa?")
                && lines[1].contains("uploadId=old-1"),
            "{lines:?}"
        );
    }

    #[test]
    fn a_store_refusing_the_listing_is_not_an_error() {
        let denied = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
        let (b, _) = serve(vec![canned::answer(
            "403 Forbidden",
            &[],
            denied.as_bytes(),
        )]);
        assert_eq!(
            b.abort_old_uploads(Duration::from_secs(3600)).unwrap(),
            (0, 0)
        );
    }

    #[test]
    fn pages_give_their_uploads_and_the_next_markers() {
        let (uploads, next) = parse_page(PAGE);
        assert_eq!(uploads.len(), 2, "{uploads:?}");
        assert_eq!(uploads[0].key, "pre/data/aa");
        assert_eq!(uploads[0].upload_id, "id-1");
        let t = SystemTime::from("2026-12-06T10:00:00Z".parse::<jiff::Timestamp>().unwrap());
        assert_eq!(uploads[0].initiated, Some(t));
        assert_eq!(uploads[1].initiated, None);
        assert_eq!(next, Some(("pre/data/bb".into(), "id-2".into())));
        let last = PAGE.replace(">true<", ">false<");
        assert_eq!(parse_page(&last).1, None);
        assert_eq!(parse_page("garbage").0, Vec::new());
    }
}
