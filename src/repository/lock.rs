//! Repository locks (design.md §11): shared for backup, exclusive for prune and other maintenance that
//! deletes data. A lock is a small sealed file in `locks/`, refreshed while its holder runs; a lock
//! older than `STALE_AFTER`, or held by a process that no longer runs on this host, is stale.

use super::{hostname, log_warning, username, Repository};
use crate::backend::{Backend, FileType};
use crate::crypto::keys::SecretKey;
use crate::format::envelope::{self, Kind};
use crate::ids::storage_hash;
use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub const STALE_AFTER: Duration = Duration::from_secs(30 * 60);
pub const REFRESH_EVERY: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub time: DateTime<Utc>,
    pub hostname: String,
    pub username: String,
    pub pid: u32,
    pub exclusive: bool,
}

impl LockInfo {
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        let age = now.signed_duration_since(self.time);
        if age.to_std().map(|a| a > STALE_AFTER).unwrap_or(false) {
            return true;
        }
        self.hostname == hostname()
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }

    pub fn describe(&self) -> String {
        format!(
            "{} lock held by {}@{} (pid {}) since {}",
            if self.exclusive {
                "an exclusive"
            } else {
                "a shared"
            },
            self.username,
            self.hostname,
            self.pid,
            self.time.to_rfc3339()
        )
    }
}

#[derive(Debug, thiserror::Error)]
#[error("repository is locked: {0}; if that process is gone, run `backstock unlock`")]
pub struct LockedError(pub String);

fn write_lock(backend: &dyn Backend, key: &SecretKey, info: &LockInfo) -> Result<String> {
    let payload = serde_json::to_vec(info).context("encoding lock")?;
    let bytes = envelope::seal(Kind::Lock, key, &payload, false);
    let name = hex::encode(storage_hash(&bytes));
    backend
        .write(FileType::Lock, &name, &bytes)
        .context("writing lock file")?;
    Ok(name)
}

/// All lock files with their decoded content (`None` for unreadable ones).
pub fn list_locks(repo: &Repository) -> Result<Vec<(String, Option<LockInfo>)>> {
    let mut out = Vec::new();
    for (name, _) in repo.backend().list(FileType::Lock)? {
        let info = repo
            .backend()
            .read(FileType::Lock, &name)
            .ok()
            .and_then(|b| envelope::open(Kind::Lock, &repo.keys().enc, &b).ok())
            .and_then(|p| serde_json::from_slice::<LockInfo>(&p).ok());
        out.push((name, info));
    }
    Ok(out)
}

/// Held while a command works; deleting the lock file on drop.
pub struct LockGuard {
    backend: Arc<dyn Backend>,
    name: Arc<Mutex<String>>,
    stop: Option<mpsc::Sender<()>>,
    refresher: Option<JoinHandle<()>>,
}

impl Repository {
    /// Takes a shared or exclusive lock. If a live lock conflicts, retries for the repository's
    /// `retry_lock` duration, then fails with `LockedError`.
    pub fn lock(&self, exclusive: bool) -> Result<LockGuard> {
        let deadline = std::time::Instant::now() + self.retry_lock();
        loop {
            match self.try_lock(exclusive) {
                Err(e)
                    if e.downcast_ref::<LockedError>().is_some()
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(500));
                }
                other => return other,
            }
        }
    }

    fn try_lock(&self, exclusive: bool) -> Result<LockGuard> {
        let info = LockInfo {
            time: Utc::now(),
            hostname: hostname(),
            username: username(),
            pid: std::process::id(),
            exclusive,
        };
        let name = write_lock(self.backend(), &self.keys().enc, &info)?;
        let now = Utc::now();
        for (other, oinfo) in list_locks(self)? {
            if other == name {
                continue;
            }
            let Some(oinfo) = oinfo else {
                log_warning(&format!("ignoring unreadable lock file locks/{other}"));
                continue;
            };
            if oinfo.is_stale(now) {
                continue;
            }
            if exclusive || oinfo.exclusive {
                let _ = self.backend().delete(FileType::Lock, &name);
                bail!(LockedError(oinfo.describe()));
            }
        }
        let backend = self.backend_arc();
        let key = self.keys().enc.clone();
        let shared_name = Arc::new(Mutex::new(name));
        let (tx, rx) = mpsc::channel::<()>();
        let n2 = shared_name.clone();
        let b2 = backend.clone();
        let refresher = std::thread::spawn(move || {
            let mut info = info;
            while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(REFRESH_EVERY) {
                info.time = Utc::now();
                match write_lock(b2.as_ref(), &key, &info) {
                    Ok(new) => {
                        let old = std::mem::replace(
                            &mut *n2.lock().unwrap_or_else(|e| e.into_inner()),
                            new,
                        );
                        let _ = b2.delete(FileType::Lock, &old);
                    }
                    Err(e) => log_warning(&format!("refreshing lock: {e:#}")),
                }
            }
        });
        Ok(LockGuard {
            backend,
            name: shared_name,
            stop: Some(tx),
            refresher: Some(refresher),
        })
    }

    /// Removes stale locks (all locks with `all`). Returns the names removed.
    pub fn unlock(&self, all: bool) -> Result<Vec<String>> {
        let now = Utc::now();
        let mut removed = Vec::new();
        for (name, info) in list_locks(self)? {
            let stale = info.as_ref().map(|i| i.is_stale(now)).unwrap_or(true);
            if all || stale {
                self.backend().delete(FileType::Lock, &name)?;
                removed.push(name);
            }
        }
        Ok(removed)
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.refresher.take() {
            let _ = h.join();
        }
        let name = self.name.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Err(e) = self.backend.delete(FileType::Lock, &name) {
            log_warning(&format!("removing lock file locks/{name}: {e:#}"));
        }
    }
}
