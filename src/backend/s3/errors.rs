//! Turning S3's answers into [`BackendError`]s: the status, the S3 error code and message from an
//! `<Error>` body, and the kind a caller acts on.

use super::super::http::{self, clean};
use super::super::{BackendError, BackendErrorKind, FileType};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;

/// The `Code` and `Message` of an S3 `<Error>` document, if the body is one.
pub(super) fn s3_error(body: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<Error>")?;
    let text = &text[start..];
    let code = element(text, "Code")?;
    let message = element(text, "Message").unwrap_or_default();
    Some((code, message))
}

/// The text of the first `<name>...</name>` in `text`, with the five XML entities decoded.
pub(super) fn element(text: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = text.find(&open)? + open.len();
    let end = start + text[start..].find(&close)?;
    Some(
        text[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// S3 error codes that a later try may get past, whatever the status they come with.
const TRANSIENT_CODES: &[&str] = &[
    "SlowDown",
    "RequestTimeout",
    "InternalError",
    "ServiceUnavailable",
    "Throttling",
    "ThrottlingException",
    "RequestThrottled",
    "OperationAborted",
];

/// The kind of a failed answer: 404 and `NoSuchKey` are `NotFound`; 408, 429, 5xx and the codes
/// of [`TRANSIENT_CODES`] `Transient`, but 501 and `NotImplemented` `Unsupported`; `AccessDenied`
/// (a policy refusing this operation to these credentials, such as a delete under a no-delete
/// policy or object lock) `Denied`; the rest (a bad signature or key, other 4xx) `Permanent`.
pub(super) fn kind_of(status: StatusCode, code: Option<&str>) -> BackendErrorKind {
    if status == StatusCode::NOT_FOUND || code == Some("NoSuchKey") {
        return BackendErrorKind::NotFound;
    }
    if code == Some("AccessDenied") {
        return BackendErrorKind::Denied;
    }
    // A GET of an object in an archive class that has not been restored.
    if code == Some("InvalidObjectState") {
        return BackendErrorKind::Archived;
    }
    // A server without this request (s3s-fs has no ListMultipartUploads): asking again cannot help.
    if status == StatusCode::NOT_IMPLEMENTED || code == Some("NotImplemented") {
        return BackendErrorKind::Unsupported;
    }
    if matches!(
        status,
        StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS
    ) || status.is_server_error()
        || code.is_some_and(|c| TRANSIENT_CODES.contains(&c))
    {
        return BackendErrorKind::Transient;
    }
    BackendErrorKind::Permanent
}

/// The error for an answer that is not a success: `what` (what was being done to which
/// object), the status, the S3 error code and message (truncated) and, for a transient failure,
/// the server's `Retry-After`.
pub(super) fn status_error(
    what: String,
    t: FileType,
    name: Option<&str>,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> BackendError {
    let parsed = s3_error(body);
    let code = parsed.as_ref().map(|(c, _)| c.as_str());
    let kind = kind_of(status, code);
    let hint = match code {
        Some("AccessDenied" | "SignatureDoesNotMatch" | "InvalidAccessKeyId") => {
            " (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and the key's permissions)"
        }
        Some(
            "AuthorizationHeaderMalformed"
            | "PermanentRedirect"
            | "IllegalLocationConstraintException",
        ) => " (is AWS_REGION or AWS_DEFAULT_REGION the bucket's region?)",
        Some("RequestTimeTooSkewed") => " (this computer's clock is wrong)",
        Some("InvalidObjectState") => {
            " (the object is in an archive storage class; `backstock restore` and `backstock dump` \
             request its restore and can wait for it)"
        }
        _ if status == StatusCode::FORBIDDEN => {
            " (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and the key's permissions)"
        }
        _ => "",
    };
    let detail = match &parsed {
        Some((code, message)) if message.is_empty() => clean(code),
        Some((code, message)) => clean(&format!("{code}: {message}")),
        None => clean(&String::from_utf8_lossy(body)),
    };
    http::status_error(kind, (what, t, name), status, hint, &detail, headers)
}

/// The error for a request that got no answer ([`http::send_failure`] says of which kind). The URL (which carries the
/// signature and, with temporary credentials, the session token) is taken out of the cause.
pub(super) fn send_error(
    what: String,
    t: FileType,
    name: Option<&str>,
    e: reqwest::Error,
) -> BackendError {
    let e = e.without_url();
    let (kind, message) = http::send_failure(&e, what);
    BackendError::new(kind, t, name, message).with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header;
    use std::time::Duration;

    const ERR: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>\
        <Message>Please reduce your request rate &amp; retry.</Message><RequestId>1</RequestId>\
        </Error>";

    #[test]
    fn error_documents_are_parsed() {
        let (code, message) = s3_error(ERR.as_bytes()).unwrap();
        assert_eq!(code, "SlowDown");
        assert_eq!(message, "Please reduce your request rate & retry.");
        assert!(s3_error(b"not xml").is_none());
        assert!(s3_error(b"<CompleteMultipartUploadResult/>").is_none());
        assert!(s3_error(b"<Error><Message>no code</Message></Error>").is_none());
    }

    #[test]
    fn statuses_and_codes_map_to_kinds() {
        use BackendErrorKind::*;
        let s = |n| StatusCode::from_u16(n).unwrap();
        for (status, code, kind) in [
            (404, Some("NoSuchKey"), NotFound),
            (404, None, NotFound),
            (404, Some("NoSuchBucket"), NotFound),
            (503, Some("SlowDown"), Transient),
            (500, Some("InternalError"), Transient),
            (502, None, Transient),
            (429, None, Transient),
            (408, None, Transient),
            (400, Some("RequestTimeout"), Transient),
            (200, Some("InternalError"), Transient),
            (403, Some("AccessDenied"), Denied),
            (403, Some("SignatureDoesNotMatch"), Permanent),
            (403, None, Permanent),
            (400, Some("InvalidDigest"), Permanent),
            (400, Some("BadDigest"), Permanent),
            (409, Some("BucketAlreadyExists"), Permanent),
            (200, Some("AccessDenied"), Denied),
            (403, Some("InvalidObjectState"), Archived),
            (501, Some("NotImplemented"), Unsupported),
            (501, None, Unsupported),
        ] {
            assert_eq!(kind_of(s(status), code), kind, "{status} {code:?}");
        }
    }

    #[test]
    fn messages_carry_status_code_and_message() {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, "7".parse().unwrap());
        let e = status_error(
            "writing s3:http://h/b/data/ab".into(),
            FileType::Pack,
            Some("ab"),
            StatusCode::SERVICE_UNAVAILABLE,
            &headers,
            ERR.as_bytes(),
        );
        assert_eq!(e.kind(), BackendErrorKind::Transient);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(
            e.to_string(),
            "writing s3:http://h/b/data/ab: the server answered HTTP 503 Service Unavailable: \
             SlowDown: Please reduce your request rate & retry."
        );

        let body = format!(
            "<Error><Code>AccessDenied</Code><Message>{}</Message></Error>",
            "x".repeat(1000)
        );
        let e = status_error(
            "reading s3:http://h/b/config".into(),
            FileType::Config,
            Some("config"),
            StatusCode::FORBIDDEN,
            &headers,
            body.as_bytes(),
        );
        assert_eq!(e.kind(), BackendErrorKind::Denied);
        assert_eq!(e.retry_after(), None, "no Retry-After on a refusal");
        let m = e.to_string();
        assert!(
            m.contains("HTTP 403 Forbidden (check AWS_ACCESS_KEY_ID"),
            "{m}"
        );
        assert!(m.contains("AccessDenied: xxx") && m.ends_with("..."), "{m}");
        assert!(m.len() < 500, "{m}");

        let e = status_error(
            "stat s3:http://h/b/keys/ab".into(),
            FileType::Key,
            Some("ab"),
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            b"",
        );
        assert_eq!(
            e.to_string(),
            "stat s3:http://h/b/keys/ab: the server answered HTTP 400 Bad Request"
        );
    }
}
