//! Listing a directory of the repository with `ListObjectsV2`, page after page.

use super::archive::{listed, Listed};
use super::{S3Backend, LIST_PAGE_MAX};
use crate::backend::{Backend, BackendError, BackendErrorKind, FileType, Result};
use rusty_s3::actions::ListObjectsV2;
use std::collections::HashMap;

/// One page of a listing: keys with their sizes, classes and times, and the token of the next
/// page (if any).
type ListPage = (Vec<(String, Option<u64>, Listed)>, Option<String>);

impl S3Backend {
    /// Names and sizes of the files of a type: every page of `ListObjectsV2` under its
    /// directory's prefix; names starting with `.` and deeper keys are left out.
    pub(super) fn list_files(&self, t: FileType) -> Result<Vec<(String, u64)>> {
        if t == FileType::Config {
            return Ok(self
                .stat(t, "config")?
                .map(|s| ("config".to_string(), s))
                .into_iter()
                .collect());
        }
        let prefix = self.key(t, None)?;
        let mut out = Vec::new();
        let mut classes = HashMap::new();
        let mut token: Option<String> = None;
        loop {
            let (entries, next) = self.list_page(t, &prefix, token.as_deref())?;
            for (key, size, listed) in entries {
                let Some(name) = key.strip_prefix(&prefix) else {
                    continue;
                };
                // Deeper keys are not the repository's; nor are names starting with '.'.
                if name.is_empty() || name.starts_with('.') || name.contains('/') {
                    continue;
                }
                let Some(size) = size else {
                    return Err(BackendError::new(
                        BackendErrorKind::Permanent,
                        t,
                        Some(name),
                        format!("listing {}: no size for {key}", self.show(t, None)),
                    ));
                };
                if t == FileType::Pack {
                    classes.insert(name.to_string(), listed);
                }
                out.push((name.to_string(), size));
            }
            match next {
                Some(next) if token.as_deref() == Some(next.as_str()) => {
                    return Err(BackendError::new(
                        BackendErrorKind::Permanent,
                        t,
                        None,
                        format!(
                            "listing {}: the server sent the same continuation token twice",
                            self.show(t, None)
                        ),
                    ));
                }
                Some(next) => token = Some(next),
                None => break,
            }
        }
        out.sort();
        out.dedup_by(|a, b| a.0 == b.0);
        if t == FileType::Pack {
            *crate::sync::unpoisoned(&self.listed) = classes;
        }
        Ok(out)
    }

    /// One page of a listing: the keys and sizes, and the token of the next page.
    fn list_page(&self, t: FileType, prefix: &str, token: Option<&str>) -> Result<ListPage> {
        let mut action = ListObjectsV2::new(&self.bucket, self.creds());
        action.with_prefix(prefix);
        action.with_max_keys(self.opts.list_page_size.max(1));
        if let Some(token) = token {
            action.with_continuation_token(token);
        }
        let resp = self.send("listing", t, None, self.request(&action, &[]))?;
        let mut body = Vec::new();
        self.file(t, None)
            .read_body("listing", resp, LIST_PAGE_MAX, &mut body)?;
        let fail = |why: String| {
            let message = format!("listing {}: {why}", self.show(t, None));
            BackendError::new(BackendErrorKind::Permanent, t, None, message)
        };
        if body.len() as u64 > LIST_PAGE_MAX {
            return Err(fail(format!("a page is larger than {LIST_PAGE_MAX} bytes")));
        }
        let text =
            std::str::from_utf8(&body).map_err(|_| fail("the answer is not UTF-8".into()))?;
        let page = ListObjectsV2::parse_response(text)
            .map_err(|e| fail(format!("the answer is not a ListObjectsV2 result: {e}")))?;
        let entries = page
            .contents
            .into_iter()
            .map(|c| {
                let l = listed(c.storage_class, c.last_modified.as_deref());
                (c.key, c.size, l)
            })
            .collect();
        Ok((entries, page.next_continuation_token))
    }
}
