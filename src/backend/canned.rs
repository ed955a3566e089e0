//! A small in-process HTTP server that gives canned answers, one connection per request, for the
//! unit tests of the HTTP backends (status mapping, limits, cut bodies, stalls). The tests against
//! real servers are in tests/it.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server does with one request.
pub(crate) enum Reply {
    /// Sends these bytes, then closes the connection.
    Raw(Vec<u8>),
    /// Reads the request and sends nothing for this long.
    Stall(Duration),
}

/// A complete answer with a body (and a `Content-Length` unless `headers` has one).
pub(crate) fn answer(status: &str, headers: &[&str], body: &[u8]) -> Reply {
    let mut r = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for h in headers {
        r.push_str(h);
        r.push_str("\r\n");
    }
    if !headers.iter().any(|h| h.starts_with("Content-Length")) {
        r.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    r.push_str("\r\n");
    let mut bytes = r.into_bytes();
    bytes.extend_from_slice(body);
    Reply::Raw(bytes)
}

/// Starts a server on loopback answering the requests in order; returns its port and, for each
/// request it got, `keep` of its head (request line and headers).
pub(crate) fn serve(
    replies: Vec<Reply>,
    keep: fn(&str) -> String,
) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    std::thread::spawn(move || {
        for reply in replies {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            let mut req = Vec::new();
            let mut byte = [0u8; 1];
            while !req.ends_with(b"\r\n\r\n") && conn.read(&mut byte).is_ok_and(|n| n == 1) {
                req.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&req).into_owned();
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            let mut body = vec![0u8; len];
            let _ = conn.read_exact(&mut body);
            seen.lock().unwrap().push(keep(&head));
            match reply {
                Reply::Raw(bytes) => {
                    let _ = conn.write_all(&bytes);
                }
                Reply::Stall(d) => std::thread::sleep(d),
            }
        }
    });
    (port, heads)
}
