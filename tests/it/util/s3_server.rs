//! A real S3 server on loopback for one test, stopped when dropped: moto's (`moto_server`, PyPI
//! `moto[s3]` with `flask` and `flask-cors`; it keeps storage classes, archive restores and
//! object lock, and checks no signature) or `s3s-fs` (crates.io `s3s-fs`; it checks every SigV4
//! signature and keeps each bucket as a directory). `.ci/run` installs both; a test whose server
//! is missing fails, it does not skip.

use backstock::backend::s3::{S3Credentials, S3Url};
use backstock::backend::{S3Backend, S3Options};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running S3 server.
pub struct S3Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The access key ID commands sign with.
    pub key_id: &'static str,
    /// A random secret access key: no output may show it.
    pub secret: String,
    /// Where s3s-fs keeps the buckets, a directory each (unused by moto, which keeps them in
    /// memory).
    pub root: PathBuf,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl S3Server {
    /// moto's server, whose log has one line per request.
    pub fn moto() -> S3Server {
        Self::start("moto_server", "AKIDBACKSTOCKTEST", |port, _, _, _| {
            vec!["-H".into(), "127.0.0.1".into(), "-p".into(), port]
        })
    }

    /// s3s-fs, which refuses any request not signed with this server's key.
    pub fn s3s_fs() -> S3Server {
        Self::start(
            "s3s-fs",
            "AKIDBACKSTOCKSIGNED",
            |port, key, secret, root| {
                vec![
                    "--host".into(),
                    "127.0.0.1".into(),
                    "--port".into(),
                    port,
                    "--access-key".into(),
                    key.into(),
                    "--secret-key".into(),
                    secret.into(),
                    root.to_string_lossy().into_owned(),
                ]
            },
        )
    }

    /// Starts `program` on a free port with the arguments `args` makes (port, key ID, secret,
    /// bucket directory) and waits until it answers.
    fn start(
        program: &str,
        key_id: &'static str,
        args: impl Fn(String, &str, &str, &std::path::Path) -> Vec<String>,
    ) -> S3Server {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("buckets");
        std::fs::create_dir(&root).unwrap();
        let log = dir.path().join("server.log");
        // A port the system picks; the server binds it again right after (a race a test run can
        // lose only to another process taking the same port in between).
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let secret = format!("secret{:032x}", rand::random::<u128>());
        let log_file = std::fs::File::create(&log).unwrap();
        let child = match Command::new(program)
            .args(args(port.to_string(), key_id, &secret, &root))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
        {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "{program} is not installed: the S3 tests need it (.ci/run installs it: \
                 pip install 'moto[s3]' flask flask-cors; cargo install s3s-fs --version 0.14.1 \
                 --features binary --locked)"
            ),
            Err(e) => panic!("starting {program}: {e}"),
        };
        let mut server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            key_id,
            secret,
            root,
            log,
            _dir: dir,
        };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("{program} exited ({status}):\n{}", server.log_text());
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{program} did not listen within 60 s:\n{}",
                server.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// The repository location of `bucket/prefix`.
    pub fn location(&self, bucket_and_prefix: &str) -> String {
        format!("s3:{}/{bucket_and_prefix}", self.endpoint)
    }

    /// What the server logged (moto: one line per request).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The backend for `bucket/prefix`, straight from the library.
    pub fn backend(&self, bucket_and_prefix: &str, opts: S3Options) -> S3Backend {
        let url = S3Url::parse(&format!("{}/{bucket_and_prefix}", self.endpoint)).unwrap();
        let creds = S3Credentials::new(self.key_id, &self.secret, None, "us-east-1");
        S3Backend::new(url, creds, opts).unwrap()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
