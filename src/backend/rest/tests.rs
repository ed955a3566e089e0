//! RestBackend against canned answers from a small in-process HTTP server: status mapping,
//! limits, short bodies, stalls; the real-server tests are in tests/it/rest.rs.

use super::*;

fn backend() -> RestBackend {
    let url = RestUrl::parse("http://u:pw@127.0.0.1:1/r/").unwrap();
    RestBackend::new(url, RestOptions::default()).unwrap()
}

#[test]
fn file_urls() {
    let b = backend();
    let at = |t, n| b.file_url(t, n).unwrap().to_string();
    assert_eq!(
        at(FileType::Config, Some("config")),
        "http://127.0.0.1:1/r/config"
    );
    assert_eq!(
        at(FileType::Pack, Some("ab12")),
        "http://127.0.0.1:1/r/data/ab12"
    );
    assert_eq!(at(FileType::Key, None), "http://127.0.0.1:1/r/keys/");
    for bad in ["", ".x", "a/b", "a?b", "a#b", "a%2F", "..", "a b"] {
        let e = b.file_url(FileType::Index, Some(bad)).unwrap_err();
        assert_eq!(e.kind(), BackendErrorKind::InvalidName, "{bad:?}");
    }
    assert_eq!(b.location(), "rest:http://u@127.0.0.1:1/r/");
}

#[test]
fn a_refused_connection_is_transient_and_hides_the_password() {
    let b = backend();
    let e = b.read(FileType::Config, "config").unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Transient);
    let shown = format!("{:#}", crate::error::Error::from(e));
    assert!(
        shown.starts_with("reading rest:http://u@127.0.0.1:1/r/config"),
        "{shown}"
    );
    assert!(!shown.contains("pw@"), "{shown}");
}

#[test]
fn ranges_past_any_valid_file_are_refused_unsent() {
    let b = backend();
    let e = b.read_range(FileType::Key, "ab", 1000, 100).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Refused);
    assert!(b.read_range(FileType::Key, "ab", 10, 0).unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Against a small server that gives canned answers, one connection per request.

use crate::backend::canned::{answer, serve as serve_canned, Reply};
use crate::backend::retry::{RetryPolicy, Retrying};
use std::sync::{Arc, Mutex};

/// Starts a server answering the requests in order; returns a backend for it (with `timeout`)
/// and the heads of the requests it got.
fn serve(replies: Vec<Reply>, timeout: Duration) -> (RestBackend, Arc<Mutex<Vec<String>>>) {
    let (port, heads) = serve_canned(replies, str::to_string);
    let url = RestUrl::parse(&format!("http://u:pw@127.0.0.1:{port}/r/")).unwrap();
    let opts = RestOptions {
        timeout,
        ..RestOptions::default()
    };
    (RestBackend::new(url, opts).unwrap(), heads)
}

const SECOND: Duration = Duration::from_secs(1);
const NAME: &str = "00ab";

#[test]
fn statuses_map_to_kinds_with_the_status_and_the_servers_message() {
    let long = "x".repeat(1000);
    let (b, heads) = serve(
        vec![
            answer("503 Service Unavailable", &["Retry-After: 7"], b"slow down"),
            answer("429 Too Many Requests", &[], b""),
            answer("408 Request Timeout", &[], b""),
            answer("403 Forbidden", &[], b"append-only mode"),
            answer("401 Unauthorized", &[], b""),
            answer("400 Bad Request", &[], long.as_bytes()),
            answer("404 Not Found", &[], b"not found"),
            answer("404 Not Found", &[], b""),
            answer("500 Internal Server Error", &[], b"disk on fire"),
        ],
        5 * SECOND,
    );
    let e = b.read(FileType::Index, NAME).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Transient);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert!(
        e.to_string().contains("HTTP 503") && e.to_string().contains("slow down"),
        "{e}"
    );
    let e = b.write(FileType::Index, NAME, b"abc").unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Transient, "{e}");
    assert!(e.to_string().contains("429"), "{e}");
    let e = b.list(FileType::Snapshot).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Transient, "{e}");
    let e = b.delete(FileType::Pack, NAME).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Denied);
    let msg = e.to_string();
    assert!(
        msg.starts_with("deleting rest:http://u@127.0.0.1:"),
        "{msg}"
    );
    assert!(
        msg.contains("HTTP 403") && msg.contains("append-only mode"),
        "{msg}"
    );
    let e = b.read(FileType::Key, NAME).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Permanent);
    assert!(e.to_string().contains("wrong user name or password"), "{e}");
    let e = b.write(FileType::Pack, NAME, b"abc").unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Permanent);
    assert!(e.to_string().contains("--no-verify-upload"), "{e}");
    assert!(e.to_string().ends_with("..."), "message not truncated: {e}");
    assert!(e.to_string().len() < 800, "{e}");
    assert!(b.read(FileType::Snapshot, NAME).unwrap_err().is_not_found());
    assert_eq!(b.stat(FileType::Snapshot, NAME).unwrap(), None);
    let e = b.read(FileType::Pack, NAME).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Transient);
    let heads = heads.lock().unwrap();
    assert!(
        heads[0].starts_with("GET /r/index/00ab HTTP/1.1"),
        "{}",
        heads[0]
    );
    assert!(heads[1].starts_with("POST /r/index/00ab "), "{}", heads[1]);
    assert!(heads[2].starts_with("GET /r/snapshots/ "), "{}", heads[2]);
    assert!(heads[3].starts_with("DELETE /r/data/00ab "), "{}", heads[3]);
    for h in heads.iter() {
        let h = h.to_ascii_lowercase();
        assert!(
            h.contains("accept: application/vnd.x.restic.rest.v2"),
            "{h}"
        );
        // "u:pw" in base64.
        assert!(h.contains("authorization: basic dtpwdw=="), "{h}");
    }
}

#[test]
fn sizes_and_short_bodies() {
    let (b, heads) = serve(
        vec![
            // Larger than any key file: refused on the header, before the body.
            answer("200 OK", &["Content-Length: 5000"], b""),
            // A body cut short of its Content-Length.
            answer("200 OK", &["Content-Length: 10"], b"abcd"),
            // A range answered with fewer bytes than asked: the file is shorter.
            answer(
                "206 Partial Content",
                &["Content-Range: bytes 2-4/5"],
                b"cde",
            ),
            answer("206 Partial Content", &[], b"cdefg"),
            // A server that ignores ranges sends the whole file.
            answer("200 OK", &[], b"abcdefghij"),
            answer("200 OK", &[], b"whole"),
            // A file that does not exist is deleted already.
            answer("404 Not Found", &[], b""),
        ],
        5 * SECOND,
    );
    let e = b.read(FileType::Key, NAME).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Refused, "{e}");
    let e = b.read(FileType::Index, NAME).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Transient, "{e}");
    let e = b.read_range(FileType::Pack, NAME, 2, 5).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Permanent);
    assert!(
        e.to_string().contains("got 3 bytes: the file is shorter"),
        "{e}"
    );
    assert_eq!(b.read_range(FileType::Pack, NAME, 2, 5).unwrap(), b"cdefg");
    let mut buf = b"old".to_vec();
    b.read_range_into(FileType::Pack, NAME, 2, 5, &mut buf)
        .unwrap();
    assert_eq!(buf, b"cdefg");
    assert_eq!(b.read(FileType::Snapshot, NAME).unwrap(), b"whole");
    b.delete(FileType::Lock, NAME).unwrap();
    let heads = heads.lock().unwrap();
    assert!(
        heads[2].to_ascii_lowercase().contains("range: bytes=2-6"),
        "{}",
        heads[2]
    );
}

#[test]
fn lists_need_version_2_and_leave_out_hidden_names() {
    let v2 = "Content-Type: application/vnd.x.restic.rest.v2";
    let (b, _) = serve(
        vec![
            answer(
                "200 OK",
                &[v2],
                br#"[{"name":"bb","size":2},{"name":".tmp","size":1},{"name":"aa","size":1}]"#,
            ),
            answer("200 OK", &["Content-Type: application/json"], br#"["aa"]"#),
            answer("200 OK", &[v2], b"not json"),
        ],
        5 * SECOND,
    );
    assert_eq!(
        b.list(FileType::Index).unwrap(),
        vec![("aa".to_string(), 1), ("bb".to_string(), 2)]
    );
    let e = b.list(FileType::Index).unwrap_err();
    assert!(e.to_string().contains("version 2"), "{e}");
    assert_eq!(
        b.list(FileType::Index).unwrap_err().kind(),
        BackendErrorKind::Permanent
    );
}

#[test]
fn create_refuses_an_existing_repository() {
    let (b, heads) = serve(
        vec![
            answer("404 Not Found", &[], b""),
            answer("200 OK", &[], b""),
            answer("200 OK", &["Content-Length: 155"], b""),
        ],
        5 * SECOND,
    );
    b.create().unwrap();
    let e = b.create().unwrap_err();
    assert!(e.to_string().contains("a repository already exists"), "{e}");
    let heads = heads.lock().unwrap();
    assert!(heads[0].starts_with("HEAD /r/config "), "{}", heads[0]);
    assert!(
        heads[1].starts_with("POST /r/?create=true "),
        "{}",
        heads[1]
    );
}

#[test]
fn a_stalled_server_times_out_as_transient() {
    let (b, _) = serve(vec![Reply::Stall(5 * SECOND)], Duration::from_millis(300));
    let started = std::time::Instant::now();
    let e = b.read(FileType::Index, NAME).unwrap_err();
    assert_eq!(e.kind(), BackendErrorKind::Transient, "{e}");
    assert!(started.elapsed() < 3 * SECOND, "{:?}", started.elapsed());
}

#[test]
fn retrying_carries_a_rest_backend_through_transient_answers() {
    let (b, heads) = serve(
        vec![
            answer("503 Service Unavailable", &[], b""),
            Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".to_vec()),
            answer("200 OK", &[], b"the config"),
        ],
        5 * SECOND,
    );
    let policy = RetryPolicy {
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
        max_tries: 5,
    };
    let r = Retrying::new(b, policy);
    assert_eq!(r.read(FileType::Config, "config").unwrap(), b"the config");
    assert_eq!(heads.lock().unwrap().len(), 3);
}

#[test]
fn modified_comes_from_last_modified_when_the_server_sends_it() {
    let (b, heads) = serve(
        vec![
            answer(
                "200 OK",
                &[
                    "Content-Length: 3",
                    "Last-Modified: Sun, 06 Dec 2026 02:52:32 GMT",
                ],
                b"",
            ),
            answer("200 OK", &["Content-Length: 3"], b""),
            answer("404 Not Found", &[], b""),
        ],
        5 * SECOND,
    );
    let at = b.modified(FileType::Lock, NAME).unwrap().unwrap();
    let secs = at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(secs, 1_796_525_552);
    assert_eq!(b.modified(FileType::Lock, NAME).unwrap(), None);
    assert_eq!(b.modified(FileType::Lock, NAME).unwrap(), None);
    assert!(heads.lock().unwrap()[0].starts_with("HEAD /r/locks/00ab "));
}
