//! S3Backend against canned answers from a small in-process HTTP server: what a SigV4-checking
//! server says to a wrong secret, throttling, limits, servers ignoring ranges, a multipart upload
//! whose completion fails inside a 200; the real-server tests are in tests/it/s3.rs.

use super::*;
use crate::backend::canned::{self, Reply};
use crate::backend::retry::{RetryPolicy, Retrying};
use crate::backend::ArchiveState;
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
fn a_streamed_range_is_cut_from_a_whole_answer_and_a_short_one_is_transient() {
    use std::io::Read;
    let (b, _) = serve(
        vec![
            answer("200 OK", &[], "0123456789"),
            answer("206 Partial Content", &[], "34"),
            answer("206 Partial Content", &[], "3"),
        ],
        S3Options::default(),
    );
    let mut got = Vec::new();
    let mut r = b.read_range_stream(FileType::Pack, NAME, 3, 4).unwrap();
    r.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"3456");
    got.clear();
    let mut r = b.read_range_stream(FileType::Pack, NAME, 3, 2).unwrap();
    r.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"34");
    got.clear();
    let mut r = b.read_range_stream(FileType::Pack, NAME, 3, 2).unwrap();
    let e = r.read_to_end(&mut got).unwrap_err();
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<BackendError>());
    assert_eq!(
        inner.map(BackendError::kind),
        Some(BackendErrorKind::Transient),
        "{e}"
    );
    assert!(e.to_string().contains("ended 1 bytes early"), "{e}");
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

/// A pack name (the key check wants hex-like names).
fn pack_name(n: u8) -> String {
    crate::ids::PackId([n; 32]).to_hex()
}

#[test]
fn storage_classes_go_with_the_placement_and_never_on_locks() {
    let replies = (0..5)
        .map(|_| Reply::Raw(answer("200 OK", &[], "")))
        .collect();
    // Keep the request line and the class header, if any.
    let (port, heads) = canned::serve(replies, |head| {
        let line = head.lines().next().unwrap_or_default();
        let class = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("x-amz-storage-class:")
                    .map(|v| v.trim().to_ascii_uppercase())
            })
            .unwrap_or_default();
        format!("{} {class}", line.split('?').next().unwrap_or_default())
    });
    let opts = S3Options {
        data_storage_class: Some("GLACIER".into()),
        metadata_storage_class: Some("STANDARD_IA".into()),
        ..S3Options::default()
    };
    let b = backend_at(port, opts);
    let p = pack_name(1);
    b.write_owned(
        FileType::Pack,
        &p,
        bytes::Bytes::from_static(b"data"),
        Placement::Cold,
    )
    .unwrap();
    b.write_owned(
        FileType::Pack,
        &p,
        bytes::Bytes::from_static(b"tree"),
        Placement::Hot,
    )
    .unwrap();
    b.write(FileType::Pack, &p, b"tree").unwrap();
    b.write(FileType::Index, NAME, b"index").unwrap();
    b.write_owned(
        FileType::Lock,
        NAME,
        bytes::Bytes::from_static(b"lock"),
        Placement::Cold,
    )
    .unwrap();
    let heads = heads.lock().unwrap().clone();
    assert_eq!(
        heads,
        vec![
            format!("PUT /bucket/pre/data/{p} GLACIER"),
            format!("PUT /bucket/pre/data/{p} STANDARD_IA"),
            format!("PUT /bucket/pre/data/{p} STANDARD_IA"),
            format!("PUT /bucket/pre/index/{NAME} STANDARD_IA"),
            format!("PUT /bucket/pre/locks/{NAME} "),
        ]
    );
}

#[test]
fn restore_requests_map_every_answer_s3_gives() {
    let (b, lines) = serve(
        vec![
            answer("202 Accepted", &[], ""),
            answer("200 OK", &[], ""),
            answer(
                "409 Conflict",
                &[],
                &error_doc(
                    "RestoreAlreadyInProgress",
                    "Object restore is already in progress",
                ),
            ),
            answer(
                "403 Forbidden",
                &[],
                &error_doc(
                    "InvalidObjectState",
                    "Restore is not allowed for the object's current storage class",
                ),
            ),
            answer("403 Forbidden", &[], &error_doc("AccessDenied", "no")),
        ],
        S3Options::default(),
    );
    let req = RestoreRequest {
        days: 2,
        tier: crate::backend::RestoreTier::Bulk,
    };
    let p = pack_name(2);
    let ask = || b.request_restore(FileType::Pack, &p, &req);
    assert_eq!(ask().unwrap(), RestoreRequested::Started);
    assert_eq!(ask().unwrap(), RestoreRequested::Readable);
    assert_eq!(ask().unwrap(), RestoreRequested::InProgress);
    assert_eq!(
        ask().unwrap(),
        RestoreRequested::Readable,
        "not archived: readable as it is"
    );
    let e = ask().unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Denied);
    assert!(e.to_string().contains("requesting the restore of"), "{e}");
    let lines = lines.lock().unwrap();
    assert!(
        lines[0].starts_with(&format!("POST /bucket/pre/data/{p}?"))
            && lines[0].contains("restore="),
        "{}",
        lines[0]
    );
}

#[test]
fn head_answers_and_reads_of_archived_objects() {
    let restored =
        "x-amz-restore: ongoing-request=\"false\", expiry-date=\"Fri, 21 Dec 2012 00:00:00 GMT\"";
    let (b, _) = serve(
        vec![
            answer(
                "200 OK",
                &["x-amz-storage-class: GLACIER", "Content-Length: 5"],
                "",
            ),
            answer(
                "200 OK",
                &[
                    "x-amz-storage-class: DEEP_ARCHIVE",
                    "x-amz-restore: ongoing-request=\"true\"",
                    "Content-Length: 5",
                ],
                "",
            ),
            answer(
                "200 OK",
                &[
                    "x-amz-storage-class: GLACIER",
                    restored,
                    "Content-Length: 5",
                ],
                "",
            ),
            answer("200 OK", &["Content-Length: 5"], ""),
            answer("404 Not Found", &[], ""),
            answer(
                "403 Forbidden",
                &[],
                &error_doc(
                    "InvalidObjectState",
                    "The operation is not valid for the object's storage class",
                ),
            ),
        ],
        S3Options::default(),
    );
    let p = pack_name(3);
    let state = || b.availability(FileType::Pack, &p).map(|a| a.state);
    assert_eq!(state().unwrap(), ArchiveState::Archived);
    assert_eq!(state().unwrap(), ArchiveState::Restoring);
    assert_eq!(state().unwrap(), ArchiveState::Restored);
    assert_eq!(state().unwrap(), ArchiveState::Online);
    assert_eq!(state().unwrap_err().kind(), BackendErrorKind::NotFound);
    let e = b.read_range(FileType::Pack, &p, 0, 5).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Archived);
    assert!(e.to_string().contains("archive storage class"), "{e}");
}

#[test]
fn a_restore_still_in_progress_is_polled_until_ready_or_reported_pending() {
    use crate::repository::archive::{make_readable_with, ThawOptions, ThawPending, ThawWait};
    let archived = || {
        answer(
            "200 OK",
            &["x-amz-storage-class: GLACIER", "Content-Length: 9"],
            "",
        )
    };
    let ongoing = || {
        answer(
            "200 OK",
            &[
                "x-amz-storage-class: GLACIER",
                "x-amz-restore: ongoing-request=\"true\"",
                "Content-Length: 9",
            ],
            "",
        )
    };
    let done = answer(
        "200 OK",
        &[
            "x-amz-storage-class: GLACIER",
            "x-amz-restore: ongoing-request=\"false\"",
            "Content-Length: 9",
        ],
        "",
    );
    let id = crate::ids::PackId([4; 32]);
    // Waiting: HEAD archived, restore requested (202), HEAD ongoing twice, HEAD done.
    let (b, lines) = serve(
        vec![
            archived(),
            answer("202 Accepted", &[], ""),
            ongoing(),
            ongoing(),
            done,
        ],
        S3Options::default(),
    );
    let opts = ThawOptions {
        wait: Some(ThawWait {
            poll: Duration::from_millis(20),
            limit: Duration::from_secs(30),
        }),
        ..ThawOptions::default()
    };
    let r = make_readable_with(&b, &[id], &opts, &|_| 9).unwrap();
    assert_eq!((r.needed, r.archived, r.requested), (1, 1, 1));
    let lines = lines.lock().unwrap().clone();
    let methods: Vec<&str> = lines
        .iter()
        .map(|l| l.split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(methods, ["HEAD", "POST", "HEAD", "HEAD", "HEAD"]);

    // Not waiting, run again while the restore is under way: nothing is requested again.
    let (b, lines) = serve(vec![ongoing()], S3Options::default());
    let e = make_readable_with(&b, &[id], &ThawOptions::default(), &|_| 9).unwrap_err();
    assert_eq!(e.kind(), crate::error::ErrorKind::Archived);
    let p = e.find::<ThawPending>().unwrap();
    assert_eq!(
        (p.pending.clone(), p.requested_now, p.bytes),
        (vec![id], 0, 9)
    );
    assert!(e.to_string().contains("run the same command again"), "{e}");
    assert_eq!(lines.lock().unwrap().len(), 1, "no second restore request");

    // A request that races with another run's (409) counts as pending, not as a failure.
    let (b, _) = serve(
        vec![
            archived(),
            answer(
                "409 Conflict",
                &[],
                &error_doc("RestoreAlreadyInProgress", "in progress"),
            ),
        ],
        S3Options::default(),
    );
    let e = make_readable_with(&b, &[id], &ThawOptions::default(), &|_| 9).unwrap_err();
    assert_eq!(e.find::<ThawPending>().unwrap().pending, vec![id]);

    // Waiting gives up at the limit, still naming what is pending.
    let (b, _) = serve(
        vec![
            ongoing(),
            ongoing(),
            ongoing(),
            ongoing(),
            ongoing(),
            ongoing(),
        ],
        S3Options::default(),
    );
    let opts = ThawOptions {
        wait: Some(ThawWait {
            poll: Duration::from_millis(30),
            limit: Duration::from_millis(70),
        }),
        ..ThawOptions::default()
    };
    let e = make_readable_with(&b, &[id], &opts, &|_| 9).unwrap_err();
    let p = e.find::<ThawPending>().unwrap();
    assert!(p.waited.is_some() && p.pending == vec![id], "{p:?}");
}

#[test]
fn listed_packs_in_classes_that_read_at_once_need_no_head() {
    let p1 = pack_name(5);
    let p2 = pack_name(6);
    let listing = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <Name>bucket</Name><Prefix>pre/data/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>\
         <Contents><Key>pre/data/{p1}</Key><LastModified>2026-12-06T05:12:49.000Z</LastModified><Size>5</Size><StorageClass>STANDARD_IA</StorageClass></Contents>\
         <Contents><Key>pre/data/{p2}</Key><LastModified>2026-12-06T05:12:49.000Z</LastModified><Size>5</Size><StorageClass>DEEP_ARCHIVE</StorageClass></Contents>\
         </ListBucketResult>"
    );
    let (b, lines) = serve(
        vec![
            answer("200 OK", &[], &listing),
            answer(
                "200 OK",
                &["x-amz-storage-class: DEEP_ARCHIVE", "Content-Length: 5"],
                "",
            ),
        ],
        S3Options::default(),
    );
    assert_eq!(b.list(FileType::Pack).unwrap().len(), 2);
    let a = b.availability(FileType::Pack, &p1).unwrap();
    assert_eq!(
        (a.class.as_deref(), a.state, a.cold),
        (Some("STANDARD_IA"), ArchiveState::Online, true)
    );
    assert!(a.stored.is_some());
    // An archived one is looked up: whether a restore is under way is not in listings.
    let a = b.availability(FileType::Pack, &p2).unwrap();
    assert_eq!(a.state, ArchiveState::Archived);
    assert_eq!(lines.lock().unwrap().len(), 2);
}

/// A request's line (up to `?`), its object lock headers, whether they are signed, and its
/// body-describing headers, for the object lock tests.
fn lock_view(head: &str) -> String {
    let line = head.lines().next().unwrap_or_default();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let lower = l.to_ascii_lowercase();
                lower
                    .strip_prefix(name)
                    .and_then(|v| v.strip_prefix(':'))
                    .map(|_| l[name.len() + 1..].trim().to_string())
            })
            .unwrap_or_default()
    };
    let signed = line.contains("x-amz-object-lock-mode%3Bx-amz-object-lock-retain-until-date")
        || line.contains("x-amz-object-lock-mode;x-amz-object-lock-retain-until-date");
    let until = header("x-amz-object-lock-retain-until-date");
    format!(
        "{} mode={} until={} signed={signed} sum={}",
        line.split('?').next().unwrap_or_default(),
        header("x-amz-object-lock-mode"),
        if until.is_empty() { "" } else { &until[..10] },
        digest_of(head),
    )
}

/// The digest headers of a request: `md5`, `crc32` (the value with the algorithm named, as
/// object lock wants it), or `none`.
fn digest_of(head: &str) -> &'static str {
    let has = |name: &str| {
        head.lines()
            .any(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
    };
    let named = head
        .lines()
        .any(|l| l.eq_ignore_ascii_case("x-amz-sdk-checksum-algorithm: CRC32"));
    match (has("content-md5"), named && has("x-amz-checksum-crc32")) {
        (true, false) => "md5",
        (false, true) => "crc32",
        (false, false) => "none",
        (true, true) => "both",
    }
}

#[test]
fn object_lock_headers_go_on_every_write_but_locks_and_on_multipart_starts() {
    let created = "<?xml version=\"1.0\"?><InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>bucket</Bucket><Key>pre/data/00ab</Key><UploadId>U1</UploadId></InitiateMultipartUploadResult>";
    let complete =
        "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><ETag>\"x\"</ETag></CompleteMultipartUploadResult>";
    let replies = vec![
        Reply::Raw(answer("200 OK", &[], "")),
        Reply::Raw(answer("200 OK", &[], "")),
        Reply::Raw(answer("200 OK", &[], "")),
        Reply::Raw(answer("200 OK", &[], created)),
        Reply::Raw(answer("200 OK", &["ETag: \"e1\""], "")),
        Reply::Raw(answer("200 OK", &[], complete)),
    ];
    let (port, heads) = canned::serve(replies, lock_view);
    let b = backend_at(
        port,
        S3Options {
            multipart_threshold: 10,
            part_size: 64,
            ..S3Options::default()
        },
    );
    b.set_object_lock(Some(ObjectLock {
        days: 2,
        mode: crate::backend::RetentionMode::Compliance,
    }))
    .unwrap();
    let day = super::lock::iso_time(SystemTime::now() + Duration::from_secs(2 * 24 * 3600));
    let day = &day[..10];
    assert!(b.create_file(FileType::Config, "config", b"c").unwrap());
    b.write(FileType::Lock, NAME, b"lock").unwrap();
    b.write(FileType::Snapshot, NAME, b"snap").unwrap();
    b.write(FileType::Pack, NAME, &[1u8; 20]).unwrap();
    let heads = heads.lock().unwrap().clone();
    assert_eq!(
        heads,
        vec![
            format!("PUT /bucket/pre/config mode=COMPLIANCE until={day} signed=true sum=crc32"),
            "PUT /bucket/pre/locks/00ab mode= until= signed=false sum=crc32".to_string(),
            format!(
                "PUT /bucket/pre/snapshots/00ab mode=COMPLIANCE until={day} signed=true sum=crc32"
            ),
            format!("POST /bucket/pre/data/00ab mode=COMPLIANCE until={day} signed=true sum=none"),
            "PUT /bucket/pre/data/00ab mode= until= signed=false sum=md5".to_string(),
            "POST /bucket/pre/data/00ab mode= until= signed=false sum=none".to_string(),
        ]
    );
}

#[test]
fn retention_is_read_extended_and_the_bucket_checked() {
    let enabled = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>";
    let replies = vec![
        // retained_until: HEAD with a date, HEAD without, HEAD of a missing file.
        Reply::Raw(answer(
            "200 OK",
            &[
                "Content-Length: 4",
                "x-amz-object-lock-retain-until-date: 2026-12-08T06:14:33.342232Z",
            ],
            "",
        )),
        Reply::Raw(answer("200 OK", &["Content-Length: 4"], "")),
        Reply::Raw(answer("404 Not Found", &[], "")),
        // extend_retention: accepted, then refused (shortening in compliance mode).
        Reply::Raw(answer("200 OK", &[], "")),
        Reply::Raw(answer(
            "403 Forbidden",
            &[],
            &error_doc("AccessDenied", "Access Denied"),
        )),
        // create: no config, the bucket is there, with object lock.
        Reply::Raw(answer("404 Not Found", &[], "")),
        Reply::Raw(answer("200 OK", &[], "")),
        Reply::Raw(answer("200 OK", &[], enabled)),
        // create: no config, the bucket is there, without object lock.
        Reply::Raw(answer("404 Not Found", &[], "")),
        Reply::Raw(answer("200 OK", &[], "")),
        Reply::Raw(answer(
            "404 Not Found",
            &[],
            &error_doc(
                "ObjectLockConfigurationNotFoundError",
                "Object Lock configuration does not exist for this bucket",
            ),
        )),
        // create: no config, no bucket: made with object lock.
        Reply::Raw(answer("404 Not Found", &[], "")),
        Reply::Raw(answer("404 Not Found", &[], "")),
        Reply::Raw(answer("200 OK", &[], "")),
    ];
    let (port, heads) = canned::serve(replies, |head| {
        let line = head.lines().next().unwrap_or_default();
        let mut v = line.split('?').next().unwrap_or_default().to_string();
        for q in ["retention", "object-lock"] {
            if line.contains(&format!("?{q}")) || line.contains(&format!("&{q}")) {
                v.push_str(&format!(" ?{q}"));
            }
        }
        for h in head.lines().skip(1) {
            let lower = h.to_ascii_lowercase();
            if lower.starts_with("content-md5:") {
                v.push_str(" md5");
            }
            if lower.starts_with("x-amz-bucket-object-lock-enabled:") {
                v.push_str(&format!(" {}", lower.trim()));
            }
        }
        v
    });
    let b = backend_at(port, S3Options::default());
    // Without object lock set, nothing is sent for an extension.
    let e = b
        .extend_retention(FileType::Pack, NAME, SystemTime::now())
        .unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Unsupported);
    b.set_object_lock(Some(ObjectLock {
        days: 1,
        mode: crate::backend::RetentionMode::Governance,
    }))
    .unwrap();
    let until = b.retained_until(FileType::Pack, NAME).unwrap().unwrap();
    assert_eq!(
        until
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
        1796710473
    );
    assert_eq!(b.retained_until(FileType::Pack, NAME).unwrap(), None);
    let e = b.retained_until(FileType::Pack, NAME).unwrap_err();
    assert!(e.is_not_found(), "{e}");
    b.extend_retention(FileType::Pack, NAME, until).unwrap();
    let e = b.extend_retention(FileType::Pack, NAME, until).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Denied, "{e}");
    assert!(e.to_string().contains("extending the retention of"), "{e}");
    b.create().unwrap();
    let e = b.create().unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Unsupported, "{e}");
    assert!(
        e.to_string().contains("does not have object lock enabled"),
        "{e}"
    );
    b.create().unwrap();
    let heads = heads.lock().unwrap().clone();
    assert_eq!(
        heads,
        vec![
            "HEAD /bucket/pre/data/00ab".to_string(),
            "HEAD /bucket/pre/data/00ab".to_string(),
            "HEAD /bucket/pre/data/00ab".to_string(),
            "PUT /bucket/pre/data/00ab ?retention md5".to_string(),
            "PUT /bucket/pre/data/00ab ?retention md5".to_string(),
            "HEAD /bucket/pre/config".to_string(),
            "HEAD /bucket/".to_string(),
            "GET /bucket/ ?object-lock".to_string(),
            "HEAD /bucket/pre/config".to_string(),
            "HEAD /bucket/".to_string(),
            "GET /bucket/ ?object-lock".to_string(),
            "HEAD /bucket/pre/config".to_string(),
            "HEAD /bucket/".to_string(),
            "PUT /bucket/ x-amz-bucket-object-lock-enabled: true".to_string(),
        ]
    );
}

#[test]
fn other_stores_refuse_object_lock() {
    let dir = tempfile::tempdir().unwrap();
    let local = crate::backend::LocalBackend::new(dir.path());
    local.set_object_lock(None).unwrap();
    let e = local
        .set_object_lock(Some(ObjectLock {
            days: 1,
            mode: crate::backend::RetentionMode::Governance,
        }))
        .unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Unsupported);
    assert!(
        e.to_string().contains("cannot keep files under retention"),
        "{e}"
    );
    let wrapped = Retrying::new(local, RetryPolicy::default());
    assert!(wrapped
        .set_object_lock(Some(ObjectLock {
            days: 1,
            mode: crate::backend::RetentionMode::Governance,
        }))
        .is_err());
    assert_eq!(
        wrapped.retained_until(FileType::Config, "config").unwrap(),
        None
    );
}

#[test]
fn a_store_refusing_crc32_gets_the_write_again_with_content_md5() {
    let b2 = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidArgument</Code>\
              <Message>Unsupported header 'x-amz-checksum-crc32' received for this API call.</Message></Error>";
    let replies = vec![
        Reply::Raw(answer("400 Bad Request", &[], b2)),
        Reply::Raw(answer("200 OK", &[], "")),
        Reply::Raw(answer("200 OK", &[], "")),
    ];
    let view = |head: &str| {
        let line = head.lines().next().unwrap_or_default();
        format!(
            "{} {}",
            line.split('?').next().unwrap_or_default(),
            digest_of(head)
        )
    };
    let (port, heads) = canned::serve(replies, view);
    let b = backend_at(port, S3Options::default());
    b.write(FileType::Snapshot, NAME, b"snap").unwrap();
    b.write(FileType::Index, NAME, b"index").unwrap();
    assert_eq!(
        heads.lock().unwrap().clone(),
        vec![
            "PUT /bucket/pre/snapshots/00ab crc32",
            "PUT /bucket/pre/snapshots/00ab md5",
            "PUT /bucket/pre/index/00ab md5",
        ]
    );
}

#[test]
fn a_body_that_does_not_match_its_crc32_is_not_sent_again_with_md5() {
    let bad = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>BadDigest</Code>\
               <Message>The CRC32 you specified did not match the calculated checksum.</Message></Error>";
    let replies = vec![Reply::Raw(answer("400 Bad Request", &[], bad))];
    let (port, heads) = canned::serve(replies, |head: &str| digest_of(head).to_string());
    let b = backend_at(port, S3Options::default());
    let e = b.write(FileType::Snapshot, NAME, b"snap").unwrap_err();
    assert!(e.to_string().contains("BadDigest"), "{e}");
    assert_eq!(heads.lock().unwrap().clone(), vec!["crc32"]);
}
