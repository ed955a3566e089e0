//! Lock files as stored: what a lock records about its holder, how lock files are read, and when a
//! lock counts as stale (design.md §11).

use super::{LockKind, STALE_AFTER};
use crate::backend::{Backend, FileType};
use crate::crypto::keys::SecretKey;
use crate::error::{Context, Result};
use crate::format::envelope::{self, Kind};
use crate::ids::storage_hash;
use crate::repository::{hostname, username, Repository};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};

/// Who holds a lock, as recorded in it. The machine, boot and PID-namespace IDs tell whether the
/// holder runs on this machine (hostnames are shared by containers); locks written by older versions
/// lack them and are then judged by age alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// When this lock file was written (UTC).
    pub time: DateTime<Utc>,
    /// Host name of the holder.
    pub hostname: String,
    /// User name of the holder.
    pub username: String,
    /// Process ID of the holder, in its PID namespace.
    pub pid: u32,
    /// Exclusive (prune, forget, repair, key changes) or shared.
    pub exclusive: bool,
    /// The holder's `/etc/machine-id`, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_id: Option<String>,
    /// The holder's boot ID (random per boot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// Inode number of the holder's PID namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_ns: Option<u64>,
}

/// This process's place: host name, machine, boot and PID namespace.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostIdentity {
    /// This host's name.
    pub hostname: String,
    /// `/etc/machine-id` (or the D-Bus copy), if readable.
    pub machine_id: Option<String>,
    /// `/proc/sys/kernel/random/boot_id`, if readable.
    pub boot_id: Option<String>,
    /// Inode number of `/proc/self/ns/pid`, if readable.
    pub pid_ns: Option<u64>,
    /// Whether `/proc` shows processes here (without it a PID cannot be checked).
    pub proc_mounted: bool,
}

impl HostIdentity {
    /// Reads this process's identity from `/etc` and `/proc`; parts it cannot read are `None`.
    pub fn current() -> HostIdentity {
        let first_line = |p: &str| {
            std::fs::read_to_string(p)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        use std::os::unix::fs::MetadataExt;
        HostIdentity {
            hostname: hostname(),
            machine_id: first_line("/etc/machine-id")
                .or_else(|| first_line("/var/lib/dbus/machine-id")),
            boot_id: first_line("/proc/sys/kernel/random/boot_id"),
            pid_ns: std::fs::metadata("/proc/self/ns/pid").ok().map(|m| m.ino()),
            proc_mounted: std::path::Path::new("/proc/self").exists(),
        }
    }

    /// Whether the lock's holder ran in this very PID namespace of this boot of this machine, the
    /// only place where a missing PID proves it gone. Every part must match: machines cloned from
    /// one image share a machine ID, and every host's initial PID namespace has the same inode
    /// number, but a boot ID is random per boot, so no two running machines share one.
    fn holds(&self, info: &LockInfo) -> bool {
        let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
        same(&info.machine_id, &self.machine_id)
            && same(&info.boot_id, &self.boot_id)
            && info.pid_ns.is_some()
            && info.pid_ns == self.pid_ns
            && info.hostname == self.hostname
    }
}

/// Why a lock is taken to be gone, or `None` when it may be live.
///
/// `age` is how old the lock is: by the storage's clock when the store reports modification times
/// (the same clock for every host), else by the writer's own time stamp. Apart from age, a lock is
/// stale only when its holder provably ran here and its process is gone; a lock from before this
/// machine's last boot waits out its age like any other.
pub fn stale_reason(info: &LockInfo, age: Duration, me: &HostIdentity) -> Option<String> {
    if age > STALE_AFTER {
        return Some(format!("not refreshed for {} minutes", age.as_secs() / 60));
    }
    if me.holds(info)
        && me.proc_mounted
        && !std::path::Path::new(&format!("/proc/{}", info.pid)).exists()
    {
        return Some(format!("process {} no longer runs", info.pid));
    }
    None
}

impl LockInfo {
    /// A lock for this process, now.
    pub fn here(me: &HostIdentity, kind: LockKind) -> LockInfo {
        LockInfo {
            time: Utc::now(),
            hostname: me.hostname.clone(),
            username: username(),
            pid: std::process::id(),
            exclusive: kind == LockKind::Exclusive,
            machine_id: me.machine_id.clone(),
            boot_id: me.boot_id.clone(),
            pid_ns: me.pid_ns,
        }
    }

    /// One line for messages: kind, holder (user@host, PID) and time.
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

/// One lock file as read from the store.
pub struct ListedLock {
    /// The lock file's name under `locks/`.
    pub name: String,
    /// The decoded lock, or why it could not be read.
    pub info: std::result::Result<LockInfo, String>,
    /// The storage's modification time, when it reports one.
    pub modified: Option<SystemTime>,
}

pub(super) fn write_lock(
    backend: &dyn Backend,
    key: &SecretKey,
    info: &LockInfo,
) -> Result<String> {
    let (name, bytes) = seal_lock(key, info)?;
    backend
        .write(FileType::Lock, &name, &bytes)
        .context("writing lock file")?;
    Ok(name)
}

/// A lock file's name and bytes, not written yet.
pub(super) fn seal_lock(key: &SecretKey, info: &LockInfo) -> Result<(String, Vec<u8>)> {
    let payload = serde_json::to_vec(info).context("encoding lock")?;
    let bytes = envelope::seal(Kind::Lock, key, &payload, false)?;
    Ok((hex::encode(storage_hash(&bytes)), bytes))
}

fn read_lock(backend: &dyn Backend, key: &SecretKey, name: &str) -> Result<LockInfo> {
    let bytes = backend.read(FileType::Lock, name)?;
    let plain = envelope::open(Kind::Lock, key, &bytes).context("cannot be decrypted")?;
    serde_json::from_slice(&plain).context("does not decode")
}

/// All lock files with their decoded content. A file listed but gone when read (its holder finished
/// or refreshed it) is left out; one that is there but cannot be read is returned with the reason.
pub fn list_locks(repo: &Repository) -> Result<Vec<ListedLock>> {
    let backend = repo.backend();
    let mut out = Vec::new();
    for (name, _) in backend.list(FileType::Lock)? {
        let info = match read_lock(backend, &repo.keys().enc, &name) {
            Ok(i) => Ok(i),
            Err(e) => match backend.stat(FileType::Lock, &name) {
                Ok(None) => continue,
                _ => Err(format!("{e:#}")),
            },
        };
        let modified = backend.modified(FileType::Lock, &name).unwrap_or(None);
        out.push(ListedLock {
            name,
            info,
            modified,
        });
    }
    Ok(out)
}

/// The age of a listed lock: by the storage's clock (against `reference`, the storage's time of a
/// file just written) when both times are known, else by the writer's time stamp against ours.
fn age_of(l: &ListedLock, reference: Option<SystemTime>) -> Option<Duration> {
    if let (Some(m), Some(r)) = (l.modified, reference) {
        return Some(r.duration_since(m).unwrap_or_default());
    }
    let info = l.info.as_ref().ok()?;
    Some(
        Utc::now()
            .signed_duration_since(info.time)
            .to_std()
            .unwrap_or_default(),
    )
}

/// Why a listed lock is stale, or `None` if it must be respected.
pub(super) fn listed_stale_reason(
    l: &ListedLock,
    reference: Option<SystemTime>,
    me: &HostIdentity,
) -> Option<String> {
    let age = age_of(l, reference);
    match &l.info {
        Ok(info) => stale_reason(info, age.unwrap_or_default(), me),
        // Unreadable: stale only by the storage's own clock.
        Err(_) => match (l.modified, reference) {
            (Some(_), Some(_)) => age.filter(|a| *a > STALE_AFTER).map(|a| {
                format!(
                    "unreadable and not changed for {} minutes",
                    a.as_secs() / 60
                )
            }),
            _ => None,
        },
    }
}
