//! Where the bench's repositories live: local directories (the default), the same directories
//! served over restic's REST protocol by `rclone serve restic` (each tool starts its own rclone),
//! or buckets of an S3 server (`s3s-fs`, which checks request signatures and keeps each bucket as
//! a directory) that the bench starts on loopback. In every case the repository's files end up in a
//! directory under the work dir, so sizes are measured the same way.

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Credentials of the bench's S3 server (it listens on loopback only and is thrown away).
const S3_KEY: &str = "backstock-bench";
const S3_SECRET: &str = "backstock-bench-secret";

/// How the tools reach their repositories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A directory each.
    Local,
    /// `rclone:DIR`: each tool serves its directory through `rclone serve restic`.
    Rclone,
    /// `s3:http://127.0.0.1:PORT/BUCKET` of an `s3s-fs` server (this program) the bench starts.
    S3 { s3s_fs: PathBuf },
}

/// A running storage for one bench: the S3 server, if any, stopped when dropped.
pub struct Storage {
    via: Via,
    /// Where buckets are kept (S3 only).
    root: PathBuf,
    server: Option<Child>,
    port: u16,
}

impl Storage {
    /// Prepares the storage under `work` (starting the S3 server for [`Via::S3`]).
    pub fn start(via: &Via, work: &Path) -> Result<Storage> {
        let root = work.join("s3");
        let mut storage = Storage {
            via: via.clone(),
            root,
            server: None,
            port: 0,
        };
        if let Via::S3 { s3s_fs } = via {
            std::fs::create_dir_all(&storage.root)
                .with_context(|| format!("creating {}", storage.root.display()))?;
            let port = free_port()?;
            let log = std::fs::File::create(work.join("s3s-fs.log"))
                .context("creating the S3 server's log")?;
            let child = Command::new(s3s_fs)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--access-key", S3_KEY, "--secret-key", S3_SECRET])
                .arg(&storage.root)
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("starting {}", s3s_fs.display()))?;
            storage.server = Some(child);
            storage.port = port;
            storage.wait_until_listening()?;
        }
        Ok(storage)
    }

    fn wait_until_listening(&mut self) -> Result<()> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if let Some(child) = self.server.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!("the S3 server exited at start ({status}); see s3s-fs.log in the work directory");
                }
            }
            if Instant::now() > deadline {
                bail!("the S3 server did not listen on {addr} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The repository of the tool called `name` whose files go to `dir`: the `-r` argument, and
    /// the directory that holds its files (for sizes). For S3 the bucket is made here.
    pub fn repository(&self, name: &str, dir: &Path) -> Result<(OsString, PathBuf)> {
        Ok(match &self.via {
            Via::Local => (dir.as_os_str().to_owned(), dir.to_path_buf()),
            Via::Rclone => {
                let mut arg = OsString::from("rclone:");
                arg.push(dir);
                (arg, dir.to_path_buf())
            }
            Via::S3 { .. } => {
                // s3s-fs keeps a bucket as a directory of its root.
                let bucket = self.root.join(name);
                std::fs::create_dir_all(&bucket)
                    .with_context(|| format!("creating {}", bucket.display()))?;
                let url = format!("s3:http://127.0.0.1:{}/{name}", self.port);
                (url.into(), bucket)
            }
        })
    }

    /// Variables every tool's commands get (the S3 credentials).
    pub fn env(&self) -> Vec<(&'static str, &'static str)> {
        match self.via {
            Via::S3 { .. } => vec![
                ("AWS_ACCESS_KEY_ID", S3_KEY),
                ("AWS_SECRET_ACCESS_KEY", S3_SECRET),
                ("AWS_DEFAULT_REGION", "us-east-1"),
            ],
            _ => Vec::new(),
        }
    }

    /// Variables every tool's commands must not inherit from the caller.
    pub fn env_removed(&self) -> &'static [&'static str] {
        match self.via {
            Via::S3 { .. } => &["AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION"],
            _ => &[],
        }
    }

    /// Why restic cannot list its packs here, if it cannot: s3s-fs 0.14.1 takes the empty
    /// `delimiter=` parameter restic's S3 client sends for a recursive listing as a delimiter, and
    /// answers with one-character prefixes instead of keys, so restic's check and prune see no
    /// packs (backstock sends no delimiter).
    pub fn restic_cannot_list(&self) -> Option<&'static str> {
        match self.via {
            Via::S3 { .. } => Some(
                "restic's forget, prune and check are not run over s3s-fs: it answers the empty \
                 delimiter of restic's recursive listings with one-character prefixes, so restic \
                 finds no packs there",
            ),
            _ => None,
        }
    }

    /// A short name for reports.
    pub fn describe(&self) -> String {
        match &self.via {
            Via::Local => "local directory".into(),
            Via::Rclone => "rclone serve restic (REST) over a local directory".into(),
            Via::S3 { s3s_fs } => format!("S3 ({} on loopback)", s3s_fs.display()),
        }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A TCP port nothing listens on now.
fn free_port() -> Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(l.local_addr()?.port())
}
