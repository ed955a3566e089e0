//! Storage classes and archive restores: which class a file is written to, whether it can be read
//! now (`HEAD`: `x-amz-storage-class`, `x-amz-restore`, `x-amz-archive-status`), and asking for
//! an archived object to be made readable (`POST ?restore`, RestoreObject).
//!
//! | class | reads | charged at least | here |
//! |---|---|---|---|
//! | default, `STANDARD`, `REDUCED_REDUNDANCY`, `INTELLIGENT_TIERING`, `EXPRESS_ONEZONE` | at once | - | hot |
//! | `STANDARD_IA`, `ONEZONE_IA` | at once, per GB | 30 days | cold |
//! | `GLACIER_IR` | at once, per GB | 90 days | cold |
//! | `GLACIER` | after a restore | 90 days | cold, archived |
//! | `DEEP_ARCHIVE` | after a restore | 180 days | cold, archived |
//! | any other name (another provider's) | at once | unknown (0) | cold |

use super::errors::{s3_error, status_error};
use super::subresource::{Post, Subresource};
use super::{content_md5, S3Backend, SMALL_ANSWER_MAX};
use crate::backend::http::last_modified;
use crate::backend::{
    ArchiveState, Availability, BackendError, BackendErrorKind, FileType, Placement,
    RestoreRequest, RestoreRequested, RestoreTier, Result,
};
use reqwest::header::{self, HeaderMap};
use reqwest::StatusCode;
use rusty_s3::S3Action;
use std::io::Read;
use std::time::{Duration, SystemTime};

const DAY: u64 = 24 * 3600;

/// What a storage class means for reading and deleting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ClassTraits {
    /// Objects in it must be restored before they can be read.
    pub archive: bool,
    /// Reads or early deletes cost extra.
    pub cold: bool,
    /// The shortest time S3 charges for (days).
    pub min_days: u64,
}

/// The traits of a class (`None`: the bucket's default).
pub(super) fn class_traits(class: Option<&str>) -> ClassTraits {
    let (archive, cold, min_days) = match class {
        None
        | Some("STANDARD" | "REDUCED_REDUNDANCY" | "INTELLIGENT_TIERING" | "EXPRESS_ONEZONE") => {
            (false, false, 0)
        }
        Some("STANDARD_IA" | "ONEZONE_IA") => (false, true, 30),
        Some("GLACIER_IR") => (false, true, 90),
        Some("GLACIER") => (true, true, 90),
        Some("DEEP_ARCHIVE") => (true, true, 180),
        Some(_) => (false, true, 0),
    };
    ClassTraits {
        archive,
        cold,
        min_days,
    }
}

/// Whether `class` can be sent as `x-amz-storage-class`: 1 to 64 upper-case letters, digits
/// and `_` (every class of AWS and of the providers that copy its API).
pub fn valid_class(class: &str) -> bool {
    (1..=64).contains(&class.len())
        && class
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// What a listing told about one pack: its class and when it was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Listed {
    pub class: Option<String>,
    pub stored: Option<SystemTime>,
}

/// A listing's `StorageClass` (`STANDARD` is the default) and `LastModified` (RFC 3339).
pub(super) fn listed(class: Option<String>, last_modified: Option<&str>) -> Listed {
    Listed {
        class: class.filter(|c| c != "STANDARD"),
        stored: last_modified
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map(SystemTime::from),
    }
}

/// The availability of an object from its class alone (not archived, or archived with no word
/// on a restore).
pub(super) fn from_class(class: Option<String>, stored: Option<SystemTime>) -> Availability {
    let traits = class_traits(class.as_deref());
    Availability {
        state: if traits.archive {
            ArchiveState::Archived
        } else {
            ArchiveState::Online
        },
        cold: traits.cold,
        min_storage: Duration::from_secs(traits.min_days * DAY),
        stored,
        class,
    }
}

/// The availability of an object from the headers of a `HEAD` answer.
pub(super) fn from_headers(headers: &HeaderMap) -> Availability {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let class = text("x-amz-storage-class")
        .filter(|c| !c.is_empty() && *c != "STANDARD")
        .map(str::to_string);
    let mut a = from_class(class, last_modified(headers));
    // Intelligent-Tiering's opt-in archive tiers: the class stays, the object is archived.
    if text("x-amz-archive-status").is_some_and(|s| !s.is_empty()) {
        a.state = ArchiveState::Archived;
        a.cold = true;
    }
    if a.state == ArchiveState::Archived {
        if let Some(restore) = text("x-amz-restore") {
            let squeezed: String = restore.chars().filter(|c| !c.is_whitespace()).collect();
            if squeezed.contains("ongoing-request=\"true\"") {
                a.state = ArchiveState::Restoring;
            } else if squeezed.contains("ongoing-request=\"false\"") {
                a.state = ArchiveState::Restored;
            }
        }
    }
    a
}

/// The `RestoreRequest` document of a RestoreObject request.
pub(super) fn restore_body(request: &RestoreRequest) -> String {
    let tier = match request.tier {
        RestoreTier::Expedited => "Expedited",
        RestoreTier::Standard => "Standard",
        RestoreTier::Bulk => "Bulk",
    };
    format!(
        "<RestoreRequest xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Days>{}</Days>\
         <GlacierJobParameters><Tier>{tier}</Tier></GlacierJobParameters></RestoreRequest>",
        request.days.max(1)
    )
}

impl S3Backend {
    /// The storage class a file is written to: data packs get the data class, locks (written
    /// and deleted every few minutes, where a minimum storage charge would add up) the bucket's
    /// default, everything else the metadata class.
    pub(super) fn class_for(&self, t: FileType, placement: Placement) -> Option<&str> {
        match (t, placement) {
            (FileType::Lock, _) => None,
            (FileType::Pack, Placement::Cold) => self.opts.data_storage_class.as_deref(),
            _ => self.opts.metadata_storage_class.as_deref(),
        }
    }

    /// [`crate::backend::Backend::availability`]: a pack this process listed in a class that
    /// reads at once needs no request; anything else is a `HEAD`.
    pub(super) fn availability_of(&self, t: FileType, name: &str) -> Result<Availability> {
        if t == FileType::Pack {
            let known = crate::sync::unpoisoned(&self.listed).get(name).cloned();
            if let Some(l) = known {
                if !class_traits(l.class.as_deref()).archive {
                    return Ok(from_class(l.class, l.stored));
                }
            }
        }
        match self.head(t, name)? {
            Some(headers) => Ok(from_headers(&headers)),
            None => Err(BackendError::new(
                BackendErrorKind::NotFound,
                t,
                Some(name),
                format!("{} does not exist", self.show(t, Some(name))),
            )),
        }
    }

    /// [`crate::backend::Backend::request_restore`]: `POST ?restore`. S3 answers 202 when it
    /// starts a restore, 200 when a restored copy exists (its expiry is moved), 409
    /// `RestoreAlreadyInProgress` while one is under way, and 403 `InvalidObjectState` for an
    /// object that is not archived (it can be read as it is).
    pub(super) fn restore_object(
        &self,
        t: FileType,
        name: &str,
        request: &RestoreRequest,
    ) -> Result<RestoreRequested> {
        let key = self.key(t, Some(name))?;
        let body = restore_body(request);
        let md5 = content_md5(body.as_bytes());
        // `POST KEY?restore`: RestoreObject.
        let mut action =
            Subresource::<Post>::new(&self.bucket, self.creds(), Some(&key), "restore");
        action.headers_mut().insert("content-md5", md5.as_str());
        let r = self
            .request(&action, &[("content-md5", &md5)])
            .header(header::CONTENT_TYPE, "application/xml")
            .header(header::CONTENT_LENGTH, body.len())
            .body(body);
        let what = || format!("requesting the restore of {}", self.show(t, Some(name)));
        let resp = r
            .send()
            .map_err(|e| super::errors::send_error(what(), t, Some(name), e))?;
        let status = resp.status();
        match status {
            StatusCode::ACCEPTED => return Ok(RestoreRequested::Started),
            s if s.is_success() => return Ok(RestoreRequested::Readable),
            _ => {}
        }
        let headers = resp.headers().clone();
        let mut answer = Vec::new();
        let _ = resp.take(SMALL_ANSWER_MAX).read_to_end(&mut answer);
        match s3_error(&answer).map(|(code, _)| code).as_deref() {
            Some("RestoreAlreadyInProgress") => Ok(RestoreRequested::InProgress),
            Some("InvalidObjectState") if status == StatusCode::FORBIDDEN => {
                Ok(RestoreRequested::Readable)
            }
            _ => Err(status_error(
                what(),
                t,
                Some(name),
                status,
                &headers,
                &answer,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn head_answers_say_what_can_be_read() {
        let a = from_headers(&headers(&[]));
        assert_eq!(
            (a.class, a.state, a.cold),
            (None, ArchiveState::Online, false)
        );
        let a = from_headers(&headers(&[("x-amz-storage-class", "STANDARD_IA")]));
        assert_eq!(a.state, ArchiveState::Online);
        assert!(a.cold && a.readable());
        assert_eq!(a.min_storage, Duration::from_secs(30 * DAY));
        let a = from_headers(&headers(&[("x-amz-storage-class", "GLACIER")]));
        assert_eq!(a.state, ArchiveState::Archived);
        assert!(!a.readable());
        assert_eq!(a.min_storage, Duration::from_secs(90 * DAY));
        let a = from_headers(&headers(&[
            ("x-amz-storage-class", "DEEP_ARCHIVE"),
            ("x-amz-restore", "ongoing-request=\"true\""),
        ]));
        assert_eq!(a.state, ArchiveState::Restoring);
        assert_eq!(a.min_storage, Duration::from_secs(180 * DAY));
        let a = from_headers(&headers(&[
            ("x-amz-storage-class", "GLACIER"),
            (
                "x-amz-restore",
                "ongoing-request=\"false\", expiry-date=\"Fri, 21 Dec 2012 00:00:00 GMT\"",
            ),
        ]));
        assert_eq!(a.state, ArchiveState::Restored);
        assert!(a.readable());
        let a = from_headers(&headers(&[
            ("x-amz-storage-class", "INTELLIGENT_TIERING"),
            ("x-amz-archive-status", "DEEP_ARCHIVE_ACCESS"),
        ]));
        assert_eq!(a.state, ArchiveState::Archived);
        assert!(a.cold);
        // A class of another provider reads at once, as far as we know, but is not repacked.
        let a = from_headers(&headers(&[("x-amz-storage-class", "COLD_LINE")]));
        assert_eq!(a.state, ArchiveState::Online);
        assert!(a.cold);
    }

    #[test]
    fn class_names_and_listings() {
        for good in ["GLACIER", "DEEP_ARCHIVE", "STANDARD_IA", "X1"] {
            assert!(valid_class(good), "{good}");
        }
        for bad in ["", "glacier", "A B", "A\r\nX-Evil: 1", &"A".repeat(65)] {
            assert!(!valid_class(bad), "{bad:?}");
        }
        let l = listed(Some("STANDARD".into()), Some("2026-12-06T05:12:49.000Z"));
        assert_eq!(l.class, None);
        let t = l.stored.unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            1796533969
        );
        assert_eq!(
            listed(Some("GLACIER".into()), None).class.as_deref(),
            Some("GLACIER")
        );
        assert!(restore_body(&RestoreRequest {
            days: 3,
            tier: RestoreTier::Bulk
        })
        .contains("<Days>3</Days><GlacierJobParameters><Tier>Bulk</Tier>"));
    }
}
