//! A fault-injecting proxy for the tests of remote backends (REST and S3 servers on loopback).

/// A proxy in front of a server that sends each request on its own connection and injects
/// faults by request number (about a third of the requests): a 503 with `Retry-After: 0`, a
/// connection dropped without an answer (a write does not reach the server), an answer cut in
/// half (a write did reach it). Besides, the answer to the first POST or PUT of each path is lost
/// (the file is written). Returns its port and the count of faults.
pub fn fault_proxy(upstream: &str) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let faults = Arc::new(AtomicUsize::new(0));
    let counted = faults.clone();
    let upstream = upstream.to_string();
    let posted = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    std::thread::spawn(move || {
        for (n, conn) in listener.incoming().enumerate() {
            let Ok(mut client) = conn else { return };
            let upstream = upstream.clone();
            let faults = counted.clone();
            let posted = posted.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match client.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let mut lines: Vec<&str> = head.trim_end().split("\r\n").collect();
                let len = lines
                    .iter()
                    .find_map(|l| {
                        let l = l.to_ascii_lowercase();
                        l.strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                let mut body = vec![0u8; len];
                if client.read_exact(&mut body).is_err() {
                    return;
                }
                match n % 8 {
                    1 => {
                        faults.fetch_add(1, Ordering::SeqCst);
                        let _ = client.write_all(
                            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\n\
                              Content-Length: 4\r\nConnection: close\r\n\r\nbusy",
                        );
                        return;
                    }
                    5 => {
                        faults.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    _ => {}
                }
                lines.retain(|l| !l.to_ascii_lowercase().starts_with("connection:"));
                let mut request = lines.join("\r\n").into_bytes();
                request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
                request.extend_from_slice(&body);
                let Ok(mut server) = TcpStream::connect(&upstream) else {
                    return;
                };
                let mut answer = Vec::new();
                // A server may answer (403) and close before it has read the whole body: its
                // answer still goes back.
                let _ = server.write_all(&request);
                if server.read_to_end(&mut answer).is_err() || answer.is_empty() {
                    return;
                }
                // By path: a presigned S3 URL's query changes from one try to the next.
                let path = lines[0].split('?').next().unwrap_or_default();
                let first_post = (lines[0].starts_with("POST ") || lines[0].starts_with("PUT "))
                    && posted.lock().unwrap().insert(path.to_string());
                if first_post {
                    faults.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                // Cut only answers whose length the client can check.
                let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
                let framed = text.contains("content-length:") || text.contains("chunked");
                if n % 9 == 3 && framed && answer.len() > 1 {
                    faults.fetch_add(1, Ordering::SeqCst);
                    answer.truncate(answer.len() / 2);
                }
                let _ = client.write_all(&answer);
            });
        }
    });
    (port, faults)
}
