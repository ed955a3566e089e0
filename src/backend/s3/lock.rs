//! Object lock (design.md §1, "Object lock"): writes under retention, the bucket check of `init`,
//! reading an object's retain-until date and moving it later.
//!
//! | operation | request |
//! |---|---|
//! | every write but lock files | `x-amz-object-lock-mode` and `x-amz-object-lock-retain-until-date` (signed) on the `PUT` or `CreateMultipartUpload` |
//! | `create`, bucket missing | `PUT` the bucket with `x-amz-bucket-object-lock-enabled: true` |
//! | `create`, bucket there | `GET ?object-lock` (GetObjectLockConfiguration): `ObjectLockEnabled` must be `Enabled` |
//! | `retained_until` | `HEAD`: `x-amz-object-lock-retain-until-date` |
//! | `extend_retention` | `PUT ?retention` (PutObjectRetention) with a `Retention` document and `Content-MD5` |

use super::errors::{s3_error, status_error};
use super::subresource::{Get, Put, Subresource};
use super::{content_md5, S3Backend, SMALL_ANSWER_MAX};
use crate::backend::{BackendError, BackendErrorKind, FileType, ObjectLock, Result, RetentionMode};
use reqwest::header::{self, HeaderMap};
use rusty_s3::S3Action;
use std::io::Read;
use std::time::SystemTime;

/// S3's name of a mode.
pub(super) fn mode_name(mode: RetentionMode) -> &'static str {
    match mode {
        RetentionMode::Governance => "GOVERNANCE",
        RetentionMode::Compliance => "COMPLIANCE",
    }
}

/// A time as S3 takes it: ISO 8601 in UTC, whole seconds (`2026-12-08T06:14:33Z`).
pub(super) fn iso_time(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    jiff::Timestamp::from_second(secs)
        .unwrap_or(jiff::Timestamp::MAX)
        .to_string()
}

/// The retain-until date of a `HEAD` answer, if it has one that parses.
pub(super) fn retain_until(headers: &HeaderMap) -> Option<SystemTime> {
    headers
        .get("x-amz-object-lock-retain-until-date")?
        .to_str()
        .ok()?
        .trim()
        .parse::<jiff::Timestamp>()
        .ok()
        .map(SystemTime::from)
}

/// The `Retention` document of a PutObjectRetention request.
pub(super) fn retention_body(mode: RetentionMode, until: SystemTime) -> String {
    format!(
        "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>{}</Mode>\
         <RetainUntilDate>{}</RetainUntilDate></Retention>",
        mode_name(mode),
        iso_time(until)
    )
}

/// Whether a GetObjectLockConfiguration answer says object lock is enabled.
pub(super) fn lock_enabled(body: &str) -> bool {
    let squeezed: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    squeezed.contains("<ObjectLockEnabled>Enabled</ObjectLockEnabled>")
}

impl S3Backend {
    /// The object lock in force for writes.
    pub(super) fn object_lock(&self) -> Option<ObjectLock> {
        *crate::sync::unpoisoned(&self.lock)
    }

    /// The headers that put a new file of type `t` under retention: none for lock files (they
    /// are deleted every few minutes) or without object lock.
    pub(super) fn lock_headers(&self, t: FileType) -> Vec<(&'static str, String)> {
        match self.object_lock() {
            Some(lock) if t != FileType::Lock => vec![
                ("x-amz-object-lock-mode", mode_name(lock.mode).to_string()),
                (
                    "x-amz-object-lock-retain-until-date",
                    iso_time(SystemTime::now() + lock.period()),
                ),
            ],
            _ => Vec::new(),
        }
    }

    /// For `create` with object lock: the bucket exists; refuses it unless object lock is
    /// enabled on it (`GET ?object-lock`).
    pub(super) fn check_bucket_lock(&self) -> Result<()> {
        let action = Subresource::<Get>::new(&self.bucket, self.creds(), None, "object-lock");
        let what = || {
            format!(
                "reading the object lock configuration of the bucket of {}",
                self.url.shown()
            )
        };
        let resp = self
            .request(&action, &[])
            .send()
            .map_err(|e| super::errors::send_error(what(), FileType::Config, None, e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        let _ = resp.take(SMALL_ANSWER_MAX).read_to_end(&mut body);
        if status.is_success() && lock_enabled(&String::from_utf8_lossy(&body)) {
            return Ok(());
        }
        let code = s3_error(&body).map(|(c, _)| c);
        if status.is_success() || code.as_deref() == Some("ObjectLockConfigurationNotFoundError") {
            return Err(self.no_lock_error());
        }
        Err(status_error(
            what(),
            FileType::Config,
            None,
            status,
            &headers,
            &body,
        ))
    }

    /// The error for a bucket without object lock.
    pub(super) fn no_lock_error(&self) -> BackendError {
        BackendError::new(
            BackendErrorKind::Unsupported,
            FileType::Config,
            None,
            format!(
                "the bucket of {} does not have object lock enabled, so files cannot be kept \
                 under retention there: enable object lock on it (it needs versioning), or \
                 name a bucket that does not exist yet (init creates it with object lock)",
                self.url.shown()
            ),
        )
    }

    /// [`crate::backend::Backend::retained_until`]: `HEAD`.
    pub(super) fn retained_until_of(&self, t: FileType, name: &str) -> Result<Option<SystemTime>> {
        match self.head(t, name)? {
            Some(h) => Ok(retain_until(&h)),
            None => Err(BackendError::new(
                BackendErrorKind::NotFound,
                t,
                Some(name),
                format!("{} does not exist", self.show(t, Some(name))),
            )),
        }
    }

    /// [`crate::backend::Backend::extend_retention`]: `PUT ?retention` in the mode in force.
    pub(super) fn put_retention(&self, t: FileType, name: &str, until: SystemTime) -> Result<()> {
        let Some(lock) = self.object_lock() else {
            return Err(BackendError::new(
                BackendErrorKind::Unsupported,
                t,
                Some(name),
                format!(
                    "extending the retention of {}: this repository has no object lock",
                    self.show(t, Some(name))
                ),
            ));
        };
        let key = self.key(t, Some(name))?;
        let body = retention_body(lock.mode, until);
        let md5 = content_md5(body.as_bytes());
        let mut action =
            Subresource::<Put>::new(&self.bucket, self.creds(), Some(&key), "retention");
        action.headers_mut().insert("content-md5", md5.as_str());
        let r = self
            .request(&action, &[("content-md5", &md5)])
            .header(header::CONTENT_TYPE, "application/xml")
            .header(header::CONTENT_LENGTH, body.len())
            .body(body);
        self.send("extending the retention of", t, Some(name), r)
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_headers_and_documents() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1796533969);
        assert_eq!(iso_time(t), "2026-12-06T05:12:49Z");
        assert_eq!(
            iso_time(t + Duration::from_millis(900)),
            "2026-12-06T05:12:49Z"
        );
        let mut h = HeaderMap::new();
        assert_eq!(retain_until(&h), None);
        h.insert(
            "x-amz-object-lock-retain-until-date",
            "2026-12-06T05:12:49.342232Z".parse().unwrap(),
        );
        let got = retain_until(&h).unwrap();
        assert_eq!(
            got.duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
            1796533969
        );
        h.insert(
            "x-amz-object-lock-retain-until-date",
            "soon".parse().unwrap(),
        );
        assert_eq!(retain_until(&h), None);
        assert_eq!(
            retention_body(RetentionMode::Compliance, t),
            "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>COMPLIANCE</Mode>\
             <RetainUntilDate>2026-12-06T05:12:49Z</RetainUntilDate></Retention>"
        );
        assert!(lock_enabled(
            "<ObjectLockConfiguration>\n  <ObjectLockEnabled>Enabled</ObjectLockEnabled>\n</ObjectLockConfiguration>"
        ));
        assert!(!lock_enabled("<ObjectLockConfiguration/>"));
    }
}
