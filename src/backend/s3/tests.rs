//! S3Backend against canned answers from a small in-process HTTP server: what a SigV4-checking
//! server says to a wrong secret, throttling, limits, servers ignoring ranges, a multipart upload
//! whose completion fails inside a 200; the real-server tests are in tests/it/s3.rs.

use super::*;
use crate::backend::canned::{self, Reply};
use crate::backend::retry::{RetryPolicy, Retrying};
use std::sync::{Arc, Mutex};

const SECRET: &str = "wJalrXUtnFEMI-K7MDENG-SECRET";

fn backend_at(port: u16, opts: S3Options) -> S3Backend {
    let url = S3Url::parse(&format!("http://127.0.0.1:{port}/bucket/pre")).unwrap();
    let creds = S3Credentials::new("AKID", SECRET, Some("SESSIONTOKEN"), "us-east-1");
    S3Backend::new(url, creds, opts).unwrap()
}

/// A complete answer.
fn answer(status: &str, headers: &[&str], body: &str) -> Vec<u8> {
    match canned::answer(status, headers, body.as_bytes()) {
        Reply::Raw(bytes) => bytes,
        Reply::Stall(_) => unreachable!("answer() gives bytes"),
    }
}

fn error_doc(code: &str, message: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>")
}

/// Starts a server answering the requests in order with `replies`; returns a backend for it
/// and the request lines it got.
fn serve(replies: Vec<Vec<u8>>, opts: S3Options) -> (S3Backend, Arc<Mutex<Vec<String>>>) {
    let replies = replies.into_iter().map(Reply::Raw).collect();
    // The tests look at request lines only.
    let (port, lines) = canned::serve(replies, |head| {
        head.lines().next().unwrap_or_default().to_string()
    });
    (backend_at(port, opts), lines)
}

const NAME: &str = "00ab";

#[test]
fn keys_and_names() {
    let b = backend_at(1, S3Options::default());
    assert_eq!(
        b.key(FileType::Config, Some("config")).unwrap(),
        "pre/config"
    );
    assert_eq!(b.key(FileType::Pack, Some("ab")).unwrap(), "pre/data/ab");
    assert_eq!(b.key(FileType::Lock, None).unwrap(), "pre/locks/");
    for bad in ["", ".x", "a/b", "a?b", "..", "a b", "a%2F"] {
        let e = b.key(FileType::Index, Some(bad)).unwrap_err();
        assert_eq!(e.kind(), BackendErrorKind::InvalidName, "{bad:?}");
    }
    assert_eq!(b.location(), "s3:http://127.0.0.1:1/bucket/pre");
    assert_eq!(
        b.show(FileType::Key, Some("k")),
        "s3:http://127.0.0.1:1/bucket/pre/keys/k"
    );
}

#[test]
fn a_refused_connection_is_transient_and_shows_no_credentials() {
    let b = backend_at(1, S3Options::default());
    let e = b.read(FileType::Config, "config").unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Transient);
    let shown = format!("{:#}", crate::error::Error::from(e));
    assert!(
        shown.starts_with("reading s3:http://127.0.0.1:1/bucket/pre/config"),
        "{shown}"
    );
    // The presigned URL (signature, session token) is not in the cause either.
    for secret in [
        SECRET,
        "SESSIONTOKEN",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
    ] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn a_wrong_secret_is_a_permanent_error_that_says_so_and_is_not_retried() {
    let doc = error_doc(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
    );
    let (b, lines) = serve(
        vec![
            answer("403 Forbidden", &[], &doc),
            answer("403 Forbidden", &[], &doc),
        ],
        S3Options::default(),
    );
    let b = Retrying::new(b, RetryPolicy::default());
    let e = b.read(FileType::Config, "config").unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Permanent);
    let m = e.to_string();
    assert!(
        m.contains("HTTP 403 Forbidden (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
            && m.contains("SignatureDoesNotMatch: The request signature"),
        "{m}"
    );
    assert!(!m.contains(SECRET), "{m}");
    assert_eq!(
        lines.lock().unwrap().len(),
        1,
        "a permanent error was retried"
    );
}

#[test]
fn throttling_is_retried_after_the_servers_hint() {
    let (b, lines) = serve(
        vec![
            answer(
                "503 Slow Down",
                &["Retry-After: 0"],
                &error_doc("SlowDown", "Reduce your request rate."),
            ),
            answer(
                "500 Internal Server Error",
                &[],
                &error_doc("InternalError", "oops"),
            ),
            answer("200 OK", &[], "abc"),
        ],
        S3Options::default(),
    );
    let first = b.read(FileType::Index, NAME).unwrap_err();
    assert_eq!(first.kind(), BackendErrorKind::Transient);
    assert_eq!(first.retry_after(), Some(Duration::ZERO));
    assert!(
        first
            .to_string()
            .contains("SlowDown: Reduce your request rate."),
        "{first}"
    );
    let b = Retrying::new(
        b,
        RetryPolicy {
            base: Duration::from_millis(1),
            ..RetryPolicy::default()
        },
    );
    assert_eq!(b.read(FileType::Index, NAME).unwrap(), b"abc");
    let lines = lines.lock().unwrap();
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0].starts_with("GET /bucket/pre/index/00ab?"),
        "{lines:?}"
    );
}

#[test]
fn too_large_files_are_refused_before_their_body_and_missing_ones_are_none() {
    let (b, _) = serve(
        vec![
            answer("200 OK", &["Content-Length: 4096"], ""),
            answer("404 Not Found", &[], ""),
            answer(
                "404 Not Found",
                &[],
                &error_doc("NoSuchKey", "The specified key does not exist."),
            ),
        ],
        S3Options::default(),
    );
    let e = b.read(FileType::Key, NAME).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Refused, "{e}");
    assert_eq!(b.stat(FileType::Key, NAME).unwrap(), None);
    assert!(b.read(FileType::Key, NAME).unwrap_err().is_not_found());
}

#[test]
fn a_server_ignoring_the_range_is_cut_to_it() {
    let (b, _) = serve(
        vec![
            answer("200 OK", &[], "0123456789"),
            answer("206 Partial Content", &[], "34"),
            answer("206 Partial Content", &[], "3"),
        ],
        S3Options::default(),
    );
    assert_eq!(b.read_range(FileType::Pack, NAME, 3, 4).unwrap(), b"3456");
    assert_eq!(b.read_range(FileType::Pack, NAME, 3, 2).unwrap(), b"34");
    let e = b.read_range(FileType::Pack, NAME, 3, 2).unwrap_err();
    assert!(
        e.to_string().contains("got 1 bytes: the file is shorter"),
        "{e}"
    );
}

#[test]
fn create_accepts_a_bucket_already_owned_and_refuses_an_existing_repository() {
    let (b, lines) = serve(
        vec![
            answer("404 Not Found", &[], ""),
            answer("404 Not Found", &[], ""),
            answer(
                "409 Conflict",
                &[],
                &error_doc(
                    "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named bucket succeeded.",
                ),
            ),
            answer("200 OK", &["Content-Length: 10"], ""),
        ],
        S3Options::default(),
    );
    b.create().unwrap();
    let e = b.create().unwrap_err();
    assert!(e.to_string().contains("a repository already exists"), "{e}");
    let lines = lines.lock().unwrap();
    assert!(
        lines[0].starts_with("HEAD /bucket/pre/config?"),
        "{lines:?}"
    );
    assert!(lines[1].starts_with("HEAD /bucket/?"), "{lines:?}");
    assert!(lines[2].starts_with("PUT /bucket/?"), "{lines:?}");
}

#[test]
fn a_completion_answering_200_with_an_error_is_an_error_and_the_upload_is_aborted() {
    let created = "<?xml version=\"1.0\"?><InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>bucket</Bucket><Key>pre/data/00ab</Key><UploadId>UPLOAD1</UploadId></InitiateMultipartUploadResult>";
    let (b, lines) = serve(
        vec![
            answer("200 OK", &[], created),
            answer("200 OK", &["ETag: \"e1\""], ""),
            answer("200 OK", &["ETag: \"e2\""], ""),
            answer(
                "200 OK",
                &[],
                &format!(
                    "   {}",
                    error_doc("InternalError", "We encountered an internal error.")
                ),
            ),
            answer("204 No Content", &[], ""),
        ],
        S3Options {
            multipart_threshold: 10,
            part_size: 16,
            ..S3Options::default()
        },
    );
    let e = b.write(FileType::Pack, NAME, &[7u8; 20]).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Transient, "{e}");
    assert!(
        e.to_string().contains("completing the multipart upload"),
        "{e}"
    );
    assert!(e.to_string().contains("InternalError"), "{e}");
    let lines = lines.lock().unwrap();
    let methods: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        methods,
        ["POST", "PUT", "PUT", "POST", "DELETE"],
        "{lines:?}"
    );
    assert!(lines[1].contains("partNumber=1") && lines[2].contains("partNumber=2"));
    assert!(lines[4].contains("uploadId=UPLOAD1"), "{lines:?}");
}

#[test]
fn part_sizes_grow_past_ten_thousand_parts() {
    assert_eq!(multipart::part_size(100 << 20, 16 << 20), 16 << 20);
    assert_eq!(
        multipart::part_size(1 << 40, 5 << 20),
        (1u64 << 40).div_ceil(10_000)
    );
}

#[test]
fn virtual_host_style_puts_the_bucket_in_the_host_name() {
    let url = S3Url::parse("https://s3.example.com/bucket/pre").unwrap();
    let creds = S3Credentials::new("AKID", SECRET, None, "eu-west-1");
    let opts = S3Options {
        url_style: S3UrlStyle::VirtualHost,
        ..S3Options::default()
    };
    let b = S3Backend::new(url, creds.clone(), opts.clone()).unwrap();
    let key = b.key(FileType::Config, Some("config")).unwrap();
    let signed = b.bucket.get_object(b.creds(), &key).sign(SIGNED_FOR);
    assert_eq!(signed.host_str(), Some("bucket.s3.example.com"));
    assert_eq!(signed.path(), "/pre/config");
    assert!(signed.as_str().contains("eu-west-1"), "{signed}");
    // Path style (the default) keeps the host and puts the bucket first in the path.
    let url = S3Url::parse("https://s3.example.com/bucket/pre").unwrap();
    let b = S3Backend::new(url, creds.clone(), S3Options::default()).unwrap();
    let signed = b.bucket.get_object(b.creds(), &key).sign(SIGNED_FOR);
    assert_eq!(signed.host_str(), Some("s3.example.com"));
    assert_eq!(signed.path(), "/bucket/pre/config");
    // An IP address cannot carry the bucket.
    let url = S3Url::parse("http://127.0.0.1:9000/bucket").unwrap();
    let e = S3Backend::new(url, creds, opts).err().unwrap().to_string();
    assert!(e.contains("virtual-host style"), "{e}");
    assert!(!e.contains(SECRET), "{e}");
}

#[test]
fn a_policy_refusing_deletes_is_seen_before_anything_is_deleted() {
    let denied = error_doc("AccessDenied", "Access Denied");
    let (b, lines) = serve(
        vec![
            answer("204 No Content", &[], ""),
            answer("403 Forbidden", &[], &denied),
        ],
        S3Options::default(),
    );
    assert!(b.deletes_allowed().unwrap());
    assert!(!b.deletes_allowed().unwrap());
    let lines = lines.lock().unwrap();
    let probe = format!("DELETE /bucket/pre/data/{}?", "0".repeat(64));
    assert!(lines.iter().all(|l| l.starts_with(&probe)), "{lines:?}");
}
