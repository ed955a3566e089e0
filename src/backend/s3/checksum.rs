//! The digest a `PUT` carries so that the store refuses a body that changed on the way.
//!
//! CRC32 (`x-amz-checksum-crc32` with `x-amz-sdk-checksum-algorithm: CRC32`, what AWS's SDKs
//! send by default) costs a small fraction of MD5's CPU: MD5 of every pack was a third of the
//! client's CPU in a backup to S3 (docs/benchmarks.md). Either satisfies object lock, which
//! refuses a retention date on a `PUT` without one of them. Some stores refuse the CRC32 headers
//! (Backblaze B2 answers "Unsupported header"): the first such refusal switches the backend to
//! `Content-MD5`, which every S3 store checks, and the write is sent again. Stores that ignore
//! headers they do not know (some say GCS's XML API, Alibaba OSS, Tencent COS, Huawei OBS do) check
//! nothing with CRC32: [`UploadChecksum::Md5`] is for them.
//!
//! Multipart uploads keep `Content-MD5` on each part: CRC32 there would have to be declared when
//! the upload is created and listed again per part when it completes, for packs over 64 MiB.

use base64::Engine;
use md5::Digest;
use reqwest::StatusCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// The digest uploads carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UploadChecksum {
    /// `x-amz-checksum-crc32`; `Content-MD5` from the first refusal of it on.
    #[default]
    Crc32,
    /// `Content-MD5` always.
    Md5,
}

/// The headers of one body's digest, in the form a request and its signature take them.
pub(super) struct DigestHeaders(Vec<(&'static str, String)>);

impl DigestHeaders {
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }
}

/// `Content-MD5` of a body: its MD5 digest in base64.
pub(super) fn content_md5(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(data))
}

/// `x-amz-checksum-crc32` of a body: the big-endian CRC32 (IEEE) in base64.
fn crc32(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(data).to_be_bytes())
}

/// Which digest this backend's writes carry now.
pub(super) struct Checksums {
    md5: AtomicBool,
}

impl Checksums {
    pub fn new(choice: UploadChecksum) -> Self {
        Checksums {
            md5: AtomicBool::new(choice == UploadChecksum::Md5),
        }
    }

    /// Whether writes carry CRC32 now.
    pub fn crc32(&self) -> bool {
        !self.md5.load(Ordering::Relaxed)
    }

    /// The headers for `data` with the digest in use now.
    pub fn headers(&self, data: &[u8]) -> DigestHeaders {
        DigestHeaders(if self.crc32() {
            vec![
                ("x-amz-sdk-checksum-algorithm", "CRC32".to_string()),
                ("x-amz-checksum-crc32", crc32(data)),
            ]
        } else {
            vec![("content-md5", content_md5(data))]
        })
    }

    /// Whether a failed answer to a write that carried CRC32 refuses the header itself (not a
    /// body that did not match it); if so, writes carry `Content-MD5` from now on.
    pub fn refused(&self, status: StatusCode, error: Option<&(String, String)>) -> bool {
        if !self.crc32() || !refuses_checksum_header(status, error) {
            return false;
        }
        if !self.md5.swap(true, Ordering::Relaxed) {
            log::info!(
                "the S3 store does not take CRC32 checksums on uploads; sending Content-MD5 \
                 instead (BACKSTOCK_S3_CHECKSUM=md5 says so at the start)"
            );
        }
        true
    }
}

/// A 400 or 501 whose S3 error names checksums and is not a mismatch (`BadDigest`: the body
/// changed on the way, which MD5 would refuse as well).
fn refuses_checksum_header(status: StatusCode, error: Option<&(String, String)>) -> bool {
    if status != StatusCode::BAD_REQUEST && status != StatusCode::NOT_IMPLEMENTED {
        return false;
    }
    let Some((code, message)) = error else {
        return false;
    };
    let code_lower = code.to_ascii_lowercase();
    if code == "BadDigest" || code_lower.contains("mismatch") {
        return false;
    }
    let message = message.to_ascii_lowercase();
    message.contains("checksum")
        && !message.contains("mismatch")
        && !message.contains("did not match")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &str, message: &str) -> Option<(String, String)> {
        Some((code.to_string(), message.to_string()))
    }

    #[test]
    fn digests_are_the_documented_encodings() {
        // RFC 1864's example for MD5; CRC32 of "123456789" is the check value 0xCBF43926.
        assert_eq!(content_md5(b""), "1B2M2Y8AsgTpgAmY7PhCfg==");
        assert_eq!(crc32(b"123456789"), "y/Q5Jg==");
        let md5 = Checksums::new(UploadChecksum::Md5);
        let names: Vec<_> = md5.headers(b"x").iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["content-md5"]);
        let crc = Checksums::new(UploadChecksum::Crc32);
        let names: Vec<_> = crc.headers(b"x").iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            ["x-amz-sdk-checksum-algorithm", "x-amz-checksum-crc32"]
        );
    }

    #[test]
    fn a_store_refusing_the_crc32_header_gets_md5_from_then_on() {
        let c = Checksums::new(UploadChecksum::Crc32);
        // Backblaze B2's answer.
        let b2 = error(
            "InvalidArgument",
            "Unsupported header 'x-amz-checksum-crc32' received for this API call.",
        );
        assert!(c.refused(StatusCode::BAD_REQUEST, b2.as_ref()));
        assert!(!c.crc32());
        let names: Vec<_> = c.headers(b"x").iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["content-md5"]);
        // Already on MD5: a later answer is an error of its own, not a reason to send again.
        assert!(!c.refused(StatusCode::BAD_REQUEST, b2.as_ref()));
    }

    #[test]
    fn a_mismatch_or_another_error_is_not_a_refusal() {
        let not = [
            (
                400,
                error(
                    "BadDigest",
                    "The CRC32 you specified did not match the calculated checksum.",
                ),
            ),
            (400, error("InvalidRequest", "checksum_crc32 mismatch")),
            (
                400,
                error(
                    "XAmzContentChecksumMismatch",
                    "The provided checksum does not match",
                ),
            ),
            (403, error("AccessDenied", "checksum policy")),
            (400, error("InvalidArgument", "Invalid storage class.")),
            (400, None),
            (503, error("SlowDown", "Please reduce your request rate.")),
        ];
        for (status, e) in not {
            let c = Checksums::new(UploadChecksum::Crc32);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            assert!(!c.refused(status, e.as_ref()), "{status} {e:?}");
            assert!(c.crc32());
        }
        // Cloudflare R2's answer in 2022.
        let r2 = error(
            "NotImplemented",
            "Header 'x-amz-checksum-algorithm' with value 'CRC32' not implemented",
        );
        let c = Checksums::new(UploadChecksum::Crc32);
        assert!(c.refused(StatusCode::NOT_IMPLEMENTED, r2.as_ref()));
    }
}
