//! `rclone:REMOTE:PATH` repositories: rclone serves the remote over restic's REST protocol on
//! loopback, and a [`RestBackend`] talks to it.
//!
//! The server is `rclone serve restic --addr 127.0.0.1:0 REMOTE:PATH`, started with a random user
//! name and password (passed in its environment, `RCLONE_USER` and `RCLONE_PASS`, so they show in
//! no process list) and stopped when the backend is dropped. The port comes from the line it logs
//! once it listens ("Serving restic REST API on http://127.0.0.1:PORT/"). rclone's `--stdio` mode
//! would need no port, but it speaks HTTP/2 over pipes, which the HTTP client cannot drive.

use super::rest::{RestBackend, RestOptions, RestUrl};
use super::{Backend, BackendError, BackendErrorKind, FileType, Result};
use rand::Rng;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// The rclone servers this process started and has not stopped, by process ID: a signal handler
/// stops them with [`stop_servers`] (dropping the backend does otherwise).
static SERVERS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Stops every rclone server this process started and still runs; returns how many. For a
/// signal handler that ends the process without dropping the backends, after it released the
/// locks (which it deletes through those servers). A process killed with SIGKILL leaves them
/// running: they serve loopback only, to holders of a password nobody else has.
pub fn stop_servers() -> usize {
    let pids = std::mem::take(&mut *crate::sync::unpoisoned(&SERVERS));
    for &pid in &pids {
        if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
    pids.len()
}

/// How long rclone may take to start listening (it may read its config and reach the remote).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Lines of rclone's log kept for the message when it fails to start.
const LOG_LINES: usize = 20;

/// A repository on any remote rclone reaches, through `rclone serve restic`.
pub struct RcloneBackend {
    remote: String,
    rest: RestBackend,
    child: Mutex<Child>,
}

fn failure(message: String) -> BackendError {
    BackendError::new(BackendErrorKind::Permanent, FileType::Config, None, message)
}

fn random_token() -> String {
    let bytes: [u8; 16] = rand::thread_rng().gen();
    hex::encode(bytes)
}

impl RcloneBackend {
    /// Starts `program serve restic` (`program` is normally `rclone`) for `remote` (`REMOTE:PATH`
    /// or a local path) and waits until it listens.
    pub fn start(program: &str, remote: &str, opts: RestOptions) -> Result<Self> {
        let user = random_token();
        let pass = random_token();
        let mut child = Command::new(program)
            .args(["serve", "restic", "--addr", "127.0.0.1:0", remote])
            .env("RCLONE_USER", &user)
            .env("RCLONE_PASS", &pass)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                let hint = if e.kind() == std::io::ErrorKind::NotFound {
                    " (rclone: locations need rclone installed and on PATH)"
                } else {
                    ""
                };
                failure(format!(
                    "starting {program} serve restic for {remote}{hint}"
                ))
                .with_source(e)
            })?;
        let port = match child.stderr.take() {
            Some(stderr) => wait_for_port(stderr),
            None => Err("its log cannot be read".to_string()),
        };
        let port = match port {
            Ok(port) => port,
            Err(why) => {
                let _ = child.kill();
                let status = child.wait().ok();
                let exited = status.map(|s| format!(" ({s})")).unwrap_or_default();
                return Err(failure(format!(
                    "rclone serve restic for {remote} did not start{exited}: {why}"
                )));
            }
        };
        let url = RestUrl::parse(&format!("http://{user}:{pass}@127.0.0.1:{port}/"))
            .map_err(|e| failure(format!("rclone's address: {e}")))?;
        let rest = match RestBackend::new(url, opts) {
            Ok(rest) => rest,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        crate::sync::unpoisoned(&SERVERS).push(child.id());
        Ok(RcloneBackend {
            remote: remote.to_string(),
            rest,
            child: Mutex::new(child),
        })
    }
}

/// Reads rclone's log until it says where it listens; then keeps reading it on a thread (passing
/// each line to the debug log) so that rclone never blocks on a full pipe.
fn wait_for_port(stderr: std::process::ChildStderr) -> std::result::Result<u16, String> {
    let (tx, rx) = crossbeam_channel::bounded::<std::result::Result<u16, String>>(1);
    std::thread::Builder::new()
        .name("rclone-log".into())
        .spawn(move || {
            let mut seen: Vec<String> = Vec::new();
            let mut answered = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                log::debug!("rclone: {line}");
                if answered {
                    continue;
                }
                if let Some(port) = listening_port(&line) {
                    answered = true;
                    let _ = tx.send(Ok(port));
                    continue;
                }
                seen.push(line);
                if seen.len() > LOG_LINES {
                    seen.remove(0);
                }
            }
            if !answered {
                let _ = tx.send(Err(if seen.is_empty() {
                    "it exited without a word".to_string()
                } else {
                    seen.join("; ")
                }));
            }
        })
        .map_err(|e| format!("cannot read its log: {e}"))?;
    rx.recv_timeout(START_TIMEOUT).unwrap_or_else(|_| {
        Err(format!(
            "it did not say where it listens within {} s",
            START_TIMEOUT.as_secs()
        ))
    })
}

/// The port in rclone's "Serving restic REST API on http://127.0.0.1:PORT/" line.
fn listening_port(line: &str) -> Option<u16> {
    let (_, after) = line.split_once("Serving restic REST API on http://127.0.0.1:")?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|&p| p != 0)
}

impl Drop for RcloneBackend {
    fn drop(&mut self) {
        let child = self
            .child
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        crate::sync::unpoisoned(&SERVERS).retain(|&pid| pid != child.id());
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Backend for RcloneBackend {
    fn location(&self) -> String {
        format!("rclone:{}", self.remote)
    }
    fn create(&self) -> Result<()> {
        self.rest.create()
    }
    fn list(&self, t: FileType) -> Result<Vec<(String, u64)>> {
        self.rest.list(t)
    }
    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        self.rest.read(t, name)
    }
    fn read_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.rest.read_range(t, name, offset, len)
    }
    fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        self.rest.read_range_into(t, name, offset, len, buf)
    }
    fn write(&self, t: FileType, name: &str, data: &[u8]) -> Result<()> {
        self.rest.write(t, name, data)
    }
    fn create_file(&self, t: FileType, name: &str, data: &[u8]) -> Result<bool> {
        self.rest.create_file(t, name, data)
    }
    fn write_owned(
        &self,
        t: FileType,
        name: &str,
        data: bytes::Bytes,
        placement: super::Placement,
    ) -> Result<()> {
        self.rest.write_owned(t, name, data, placement)
    }
    fn delete(&self, t: FileType, name: &str) -> Result<()> {
        self.rest.delete(t, name)
    }
    fn stat(&self, t: FileType, name: &str) -> Result<Option<u64>> {
        self.rest.stat(t, name)
    }
    fn modified(&self, t: FileType, name: &str) -> Result<Option<SystemTime>> {
        self.rest.modified(t, name)
    }
    fn parallel_writes(&self) -> usize {
        self.rest.parallel_writes()
    }
    fn read_span(&self) -> u64 {
        self.rest.read_span()
    }
    fn read_range_stream(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
    ) -> Result<super::RangeReader<'_>> {
        self.rest.read_range_stream(t, name, offset, len)
    }
    fn read_streams(&self) -> usize {
        self.rest.read_streams()
    }
    fn deletes_allowed(&self) -> Result<bool> {
        self.rest.deletes_allowed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_comes_from_the_listening_line() {
        let line = "2026/12/06 03:40:15 NOTICE: Local file system at /r: Serving restic REST API on http://127.0.0.1:37849/";
        assert_eq!(listening_port(line), Some(37849));
        assert_eq!(listening_port("NOTICE: Config file not found"), None);
        assert_eq!(
            listening_port("Serving restic REST API on http://127.0.0.1:0/"),
            None
        );
    }

    #[test]
    fn a_missing_program_is_a_clear_error() {
        let e = RcloneBackend::start("/nonexistent/rclone", "remote:x", RestOptions::default())
            .err()
            .unwrap();
        assert!(e.to_string().contains("need rclone installed"), "{e}");
    }

    #[test]
    fn a_server_that_fails_to_start_passes_its_words_on() {
        // `false` exits at once without a word.
        let e = RcloneBackend::start("false", "remote:x", RestOptions::default())
            .err()
            .unwrap();
        assert!(e.to_string().contains("did not start"), "{e}");
    }
}
