//! Staged uploads: the targets that `stagedUploadsCreate` hands out and what was uploaded to them,
//! and the reading of a multipart upload (the mutation and the endpoint are in `staged_endpoint`).
//!
//! A target is `http://127.0.0.1:PORT/_staged/<token>`, for both `url` and `resourceUrl`. With
//! `httpMethod: PUT` (the default) the file is the raw body of a `PUT` to `url` (any
//! Content-Type); `parameters` are `content_type` and `acl`, as Shopify gives for PUT targets.
//! With `POST` the file is the `file` part of a `multipart/form-data` `POST` to `url` carrying
//! the form fields of `parameters` (`Content-Type`, `success_action_status`, `acl`, `key`), as for
//! Google Cloud Storage's POST policy; the answer is 201 with a small XML document. A body larger
//! than the announced `fileSize` is refused (400), an unknown token answers 404. Uploading again
//! to the same target replaces the bytes. Targets do not expire and need no token; like every
//! request, a body above 32 MiB is refused (413).

use std::collections::BTreeMap;

/// One staged upload target and what was uploaded to it.
#[derive(Clone, Debug)]
pub struct StagedUpload {
    /// The `filename` of the input.
    pub filename: String,
    /// The `mimeType` of the input.
    pub mime_type: String,
    /// The `resource` of the input (`IMAGE`, `FILE`, ...).
    pub resource: String,
    /// `PUT` or `POST`.
    pub method: String,
    /// The announced `fileSize`, if any.
    pub file_size: Option<u64>,
    /// The bytes, once uploaded.
    pub bytes: Option<Vec<u8>>,
}

impl StagedUpload {
    /// Whether it was announced as an image (an `image/*` MIME type or an image resource).
    pub fn is_image(&self) -> bool {
        self.mime_type.starts_with("image/")
            || matches!(
                self.resource.as_str(),
                "IMAGE" | "PRODUCT_IMAGE" | "COLLECTION_IMAGE" | "SHOP_IMAGE"
            )
    }
}

/// The staged upload targets handed out, by token.
#[derive(Debug, Default)]
pub struct StagedUploads {
    /// Targets handed out so far.
    created: u64,
    /// Targets by token.
    pub uploads: BTreeMap<String, StagedUpload>,
}

/// A deterministic, opaque-looking token for the `n`th target (splitmix64).
fn token(n: u64) -> String {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    format!("{n:x}-{z:016x}")
}

impl StagedUploads {
    /// Records a new target; returns its token.
    pub(crate) fn insert(&mut self, upload: StagedUpload) -> String {
        self.created += 1;
        let t = token(self.created);
        self.uploads.insert(t.clone(), upload);
        t
    }

    /// The staged upload a `resourceUrl` (with or without a query string) names, if it is one of
    /// this server's (`base` is `http://127.0.0.1:PORT`).
    pub fn by_url(&self, base: &str, url: &str) -> Option<&StagedUpload> {
        let rest = url.strip_prefix(base)?.strip_prefix("/_staged/")?;
        let t = rest.split(['?', '#']).next()?;
        self.uploads.get(t)
    }
}

/// The boundary of a `multipart/form-data` Content-Type.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("boundary"))
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty())
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The content of the part named `file` of a multipart body.
pub(crate) fn multipart_file(body: &[u8], boundary: &str) -> Option<Vec<u8>> {
    let delimiter = format!("--{boundary}");
    let mut rest = &body[find(body, delimiter.as_bytes())? + delimiter.len()..];
    let next = format!("\r\n--{boundary}");
    loop {
        // After a delimiter: `--` ends the body, otherwise CRLF then the part's headers.
        if rest.starts_with(b"--") {
            return None;
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let end = find(rest, next.as_bytes())?;
        let part = &rest[..end];
        rest = &rest[end + next.len()..];
        let split = find(part, b"\r\n\r\n")?;
        let headers = String::from_utf8_lossy(&part[..split]).to_ascii_lowercase();
        let is_file = headers.lines().any(|l| {
            l.starts_with("content-disposition:")
                && l.split(';')
                    .any(|p| matches!(p.trim(), "name=\"file\"" | "name=file"))
        });
        if is_file {
            return Some(part[split + 4..].to_vec());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_parts_and_boundaries() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\ntmp/a.jpg\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\r\n\r\nzz\r\n--XyZ--\r\n";
        assert_eq!(
            multipart_file(body, "XyZ").as_deref(),
            Some(&b"\xff\xd8\r\n\r\nzz"[..])
        );
        assert_eq!(multipart_file(body, "nope"), None);
        assert_eq!(multipart_file(b"--XyZ--\r\n", "XyZ"), None);
        assert_eq!(multipart_file(b"--XyZ\r\nbroken", "XyZ"), None);
        assert_eq!(
            boundary("multipart/form-data; boundary=\"XyZ\"").as_deref(),
            Some("XyZ")
        );
        assert_eq!(boundary("application/json"), None);
        assert_ne!(token(1), token(2));
    }
}
