//! Repository locks (design.md §11): shared for commands that read or add data, exclusive for those
//! that delete. A lock is a small sealed file in `locks/`, rewritten while its holder runs.
//!
//! Invariants this module keeps:
//! - A command takes its lock before it reads the index or the snapshots, so what it reads cannot
//!   change under it in a way that loses data (`Repository::load_index` takes the guard to prove it).
//! - A lock that cannot be read conflicts with every other lock until the storage's own clock shows it
//!   older than [`STALE_AFTER`]: failing closed costs a retry, failing open can cost data.
//! - A holder that could not refresh its lock for [`GIVE_UP_AFTER`] (measured on a clock that keeps
//!   counting while the machine is suspended) stops before writing anything more, because another
//!   host may by then have judged the lock stale.

mod files;

pub use files::{list_locks, stale_reason, HostIdentity, ListedLock, LockInfo};

use super::Repository;
use crate::backend::{Backend, FileType};
use crate::crypto::keys::SecretKey;
use crate::error::bail;
use crate::error::{Context, Error, ErrorKind, Result};
use chrono::Utc;
use files::{listed_stale_reason, seal_lock, write_lock};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A lock this old (by the storage's clock where it has one) belongs to a holder that is gone.
pub const STALE_AFTER: Duration = Duration::from_secs(30 * 60);
/// A holder rewrites its lock this often.
pub const REFRESH_EVERY: Duration = Duration::from_secs(5 * 60);
/// A deleting command looks again that its lock file is still there at least this often.
pub const CONFIRM_EVERY: Duration = Duration::from_secs(10);
/// A holder whose last successful refresh is this old stops: it leaves two refresh periods of margin
/// before [`STALE_AFTER`] for clocks that differ and for writes that are slow to appear.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(20 * 60);

/// What a command does to the repository, which decides the lock it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// Only reads (restore, check, ls, diff...): a shared lock, which `--no-lock` skips and which is
    /// skipped with a warning when the repository cannot be written.
    Read,
    /// Adds data (backup): a shared lock, never skipped, since prune must see it.
    Append,
    /// Deletes (prune, forget, repair): an exclusive lock.
    Exclusive,
}

/// Another process holds a conflicting lock, described by `held`: an error of kind
/// [`ErrorKind::Locked`].
fn locked(held: &str) -> Error {
    crate::error::err!(
        Locked,
        "repository is locked: {held}; if that process is gone, run `backstock unlock`"
    )
}

/// The command's own lock lapsed (not refreshed in time, or removed by someone else), for the
/// reason `why`: an error of kind [`ErrorKind::LockLost`].
fn lock_lost(why: &str) -> Error {
    crate::error::err!(
        LockLost,
        "the repository lock was lost: {why}; stopped before writing anything that relies on it (nothing saved so far is damaged; run the command again)"
    )
}

/// A clock that keeps counting while the machine is suspended (CLOCK_BOOTTIME), so a process
/// notices that it slept through its lock's lifetime. Tests substitute one they can advance.
pub trait Clock: Send + Sync {
    /// Time since an arbitrary fixed point; only differences are meaningful.
    fn now(&self) -> Duration;
}

/// The system clock that counts through suspend (CLOCK_BOOTTIME).
pub struct BootClock;

impl Clock for BootClock {
    fn now(&self) -> Duration {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
        Duration::new(
            t.tv_sec.max(0) as u64,
            t.tv_nsec.clamp(0, 999_999_999) as u32,
        )
    }
}

/// The state a held lock shares between the command, its refresher thread and the repository's
/// write paths.
pub(crate) struct LockState {
    backend: Arc<dyn Backend>,
    clock: Arc<dyn Clock>,
    give_up_after: Duration,
    /// Current lock file name.
    name: Mutex<String>,
    /// `clock.now()` at the last time the lock file was known written.
    last_ok: Mutex<Duration>,
    /// Set once the lock is known lost; never cleared.
    lost: Mutex<Option<String>>,
    /// `clock.now()` when the lock file was last seen in the store.
    confirmed: Mutex<Option<Duration>>,
    exclusive: bool,
}

impl LockState {
    /// Fails if the lock is lost or has gone unrefreshed too long. No I/O.
    pub(crate) fn check(&self) -> Result<()> {
        if let Some(why) = &*crate::sync::unpoisoned(&self.lost) {
            return Err(lock_lost(why));
        }
        let since = self
            .clock
            .now()
            .saturating_sub(*crate::sync::unpoisoned(&self.last_ok));
        if since > self.give_up_after {
            let why = format!(
                "it was last refreshed {} minutes ago (was the machine suspended or the storage unreachable?), and another host may have judged it stale",
                since.as_secs() / 60
            );
            let err = lock_lost(&why);
            *crate::sync::unpoisoned(&self.lost) = Some(why);
            return Err(err);
        }
        Ok(())
    }

    /// [`Self::check`], then confirms the lock file still exists in the store.
    pub(crate) fn confirm(&self) -> Result<()> {
        self.check()?;
        let name = crate::sync::unpoisoned(&self.name).clone();
        match self.backend.stat(FileType::Lock, &name) {
            Ok(Some(_)) => {}
            // The refresher may have replaced the file between reading its name and the look.
            Ok(None) if *crate::sync::unpoisoned(&self.name) != name => return self.confirm(),
            Ok(None) => {
                let why = format!("its file locks/{name} was removed by another process");
                let err = lock_lost(&why);
                self.mark_lost(why);
                return Err(err);
            }
            Err(e) => return Err(Error::from(e).context("confirming the repository lock")),
        }
        *crate::sync::unpoisoned(&self.confirmed) = Some(self.clock.now());
        Ok(())
    }

    /// [`Self::confirm`] unless the lock file was seen within [`CONFIRM_EVERY`]; otherwise
    /// [`Self::check`]. For paths that delete many files one by one.
    pub(crate) fn confirm_recent(&self) -> Result<()> {
        let last = *crate::sync::unpoisoned(&self.confirmed);
        match last {
            Some(t) if self.clock.now().saturating_sub(t) < CONFIRM_EVERY => Ok(self.check()?),
            _ => self.confirm(),
        }
    }

    fn mark_lost(&self, why: String) {
        crate::sync::unpoisoned(&self.lost).get_or_insert(why);
    }
}

/// Held while a command works; the lock file is deleted on drop. A guard without a lock (for
/// `--no-lock`, or a read-only repository) has no state.
pub struct LockGuard {
    kind: LockKind,
    state: Option<Arc<LockState>>,
    slot: Option<Arc<Mutex<Option<Arc<LockState>>>>>,
    stop: Option<mpsc::Sender<()>>,
    refresher: Option<JoinHandle<()>>,
}

impl LockGuard {
    /// What the guard allows; an unheld guard allows reading only.
    pub fn kind(&self) -> LockKind {
        if self.state.is_some() {
            self.kind
        } else {
            LockKind::Read
        }
    }

    /// Fails unless this guard holds an exclusive lock: for functions that delete.
    pub fn require_exclusive(&self) -> Result<()> {
        if self.kind() != LockKind::Exclusive {
            bail!(
                InvalidInput,
                "this operation deletes data and needs an exclusive lock"
            );
        }
        Ok(())
    }

    /// Whether a lock file is held (false for `--no-lock` and read-only repositories).
    pub fn is_held(&self) -> bool {
        self.state.is_some()
    }

    /// Fails if the lock was lost or has gone unrefreshed too long ([`GIVE_UP_AFTER`]), or
    /// if its lock file is no longer in the store (one `stat`); succeeds without a lock.
    pub fn confirm(&self) -> Result<()> {
        match &self.state {
            Some(s) => s.confirm(),
            None => Ok(()),
        }
    }

    fn unheld() -> LockGuard {
        LockGuard {
            kind: LockKind::Read,
            state: None,
            slot: None,
            stop: None,
            refresher: None,
        }
    }
}

/// Whether an error says the store refuses writes (permissions, a read-only file system).
fn is_not_writable(e: &Error) -> bool {
    e.find::<std::io::Error>().is_some_and(|io| {
        matches!(
            io.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
        )
    })
}

/// Locks held by this process, so that a signal handler can remove them before exiting.
static HELD: Mutex<Vec<std::sync::Weak<LockState>>> = Mutex::new(Vec::new());

/// Removes every lock file this process holds and marks the locks lost, so that work still running
/// stops before writing. For a handler of SIGINT/SIGTERM that then exits. Returns how many went.
pub fn release_held_locks() -> usize {
    let held: Vec<Arc<LockState>> = crate::sync::unpoisoned(&HELD)
        .iter()
        .filter_map(|w| w.upgrade())
        .collect();
    release(&held);
    held.len()
}

fn release(held: &[Arc<LockState>]) {
    for s in held {
        s.mark_lost("the command was interrupted".into());
        let name = crate::sync::unpoisoned(&s.name).clone();
        let _ = s.backend.delete(FileType::Lock, &name);
    }
}

impl Repository {
    /// For commands that read snapshots, trees and data (restore, ls, dump, find, diff, stats,
    /// cat): a shared read lock, then the index loaded under it, so that no prune can delete what
    /// the index names while the command runs. The commands that change the repository take their
    /// own locks inside their library functions; this and [`Self::lock_for_listing`] are the only
    /// other ways in, so which command takes which lock is decided in this layer.
    pub fn lock_for_reading(&mut self) -> Result<LockGuard> {
        let guard = self.lock(LockKind::Read)?;
        self.load_index(&guard).context("loading the index")?;
        Ok(guard)
    }

    /// For commands that list snapshots or read single repository files without the index
    /// (snapshots, cat index, cat pack): a shared read lock only.
    pub fn lock_for_listing(&self) -> Result<LockGuard> {
        self.lock(LockKind::Read)
    }

    /// Takes the lock `kind` needs. If a live lock conflicts, retries (with jitter) for the
    /// repository's `retry_lock` duration, then fails with an error of kind [`ErrorKind::Locked`].
    pub fn lock(&self, kind: LockKind) -> Result<LockGuard> {
        if self.no_lock {
            if kind != LockKind::Read {
                bail!(InvalidInput, "--no-lock is only for commands that only read; this one changes the repository");
            }
            return Ok(LockGuard::unheld());
        }
        let deadline = std::time::Instant::now() + self.retry_lock();
        loop {
            match self.try_lock(kind) {
                Err(e) if e.kind() == ErrorKind::Locked && std::time::Instant::now() < deadline => {
                    // Jitter, so that two processes retrying together do not keep colliding.
                    let ms = 300 + rand::random::<u64>() % 400;
                    std::thread::sleep(Duration::from_millis(ms));
                }
                Err(e) if kind == LockKind::Read && is_not_writable(&e) => {
                    log::warn!(
                        "{e:#}: reading without a lock (a concurrent prune could make this command fail, but cannot damage anything it reads)"
                    );
                    return Ok(LockGuard::unheld());
                }
                other => return other,
            }
        }
    }

    fn try_lock(&self, kind: LockKind) -> Result<LockGuard> {
        let exclusive = kind == LockKind::Exclusive;
        let me = HostIdentity::current();
        let info = LockInfo::here(&me, kind);
        let clock = self.lock_clock.clone();
        let started = clock.now();
        let (name, bytes) = seal_lock(&self.keys().enc, &info)?;
        // Known to the signal handler before the file is written: a signal while it is written
        // or during the conflict check below (several requests on a remote store) must not leave
        // it behind (deleting a lock file that never got written is harmless).
        let state = Arc::new(LockState {
            backend: self.backend_arc(),
            clock,
            give_up_after: GIVE_UP_AFTER,
            name: Mutex::new(name.clone()),
            last_ok: Mutex::new(started),
            lost: Mutex::new(None),
            confirmed: Mutex::new(Some(started)),
            exclusive,
        });
        crate::sync::unpoisoned(&HELD).push(Arc::downgrade(&state));
        self.backend()
            .write(FileType::Lock, &name, &bytes)
            .context("writing lock file")?;
        let reference = self
            .backend()
            .modified(FileType::Lock, &name)
            .unwrap_or(None);
        let conflict = (|| -> Result<Option<String>> {
            for l in list_locks(self)? {
                if l.name == name || listed_stale_reason(&l, reference, &me).is_some() {
                    continue;
                }
                match &l.info {
                    Ok(o) if exclusive || o.exclusive => return Ok(Some(o.describe())),
                    Ok(_) => {}
                    Err(why) => {
                        return Ok(Some(format!(
                            "lock file locks/{} cannot be read ({why}; written by a newer version, or damaged) and is less than {} minutes old; if no other process uses the repository, remove it with `backstock unlock --remove-all`",
                            l.name,
                            STALE_AFTER.as_secs() / 60
                        )))
                    }
                }
            }
            Ok(None)
        })();
        match conflict {
            Ok(None) => {}
            Ok(Some(held)) => {
                let _ = self.backend().delete(FileType::Lock, &name);
                return Err(locked(&held));
            }
            Err(e) => {
                let _ = self.backend().delete(FileType::Lock, &name);
                return Err(e.context("listing locks"));
            }
        }
        *crate::sync::unpoisoned(&self.active_lock) = Some(state.clone());
        let (tx, rx) = mpsc::channel::<()>();
        let key = self.keys().enc.clone();
        let s2 = state.clone();
        let refresher = std::thread::spawn(move || refresh_loop(&s2, &key, info, &rx));
        Ok(LockGuard {
            kind,
            state: Some(state),
            slot: Some(self.active_lock.clone()),
            stop: Some(tx),
            refresher: Some(refresher),
        })
    }

    /// Fails if this repository's current lock has lapsed; no I/O. Write paths call it so that a
    /// command whose lock lapsed stops before adding to the repository.
    pub(crate) fn check_lock(&self) -> Result<()> {
        match &*crate::sync::unpoisoned(&self.active_lock) {
            Some(s) => Ok(s.check()?),
            None => Ok(()),
        }
    }

    /// [`Self::check_lock`] and a look at the store that the lock file is still there. Called before
    /// writing an index or a snapshot and before deleting anything.
    pub(crate) fn confirm_lock(&self) -> Result<()> {
        let state = crate::sync::unpoisoned(&self.active_lock).clone();
        match state {
            Some(s) => s.confirm(),
            None => Ok(()),
        }
    }

    /// Fails unless this repository's commands hold a live exclusive lock: nothing may be deleted
    /// under less, whichever library path asks.
    pub(crate) fn require_exclusive_lock(&self) -> Result<()> {
        let state = crate::sync::unpoisoned(&self.active_lock).clone();
        let Some(s) = state else {
            bail!(
                InvalidInput,
                "deleting needs an exclusive lock on the repository, and none is held"
            );
        };
        s.confirm_recent()?;
        if !s.exclusive {
            bail!(
                InvalidInput,
                "deleting needs an exclusive lock on the repository; this command holds a shared one"
            );
        }
        Ok(())
    }

    /// Removes stale locks (every lock with `all`), and partial files that killed writers left in any
    /// directory of the repository (more than an hour old).
    /// Returns the names removed. An unreadable lock counts as stale only when the storage's clock
    /// shows it old.
    pub fn unlock(&self, all: bool) -> Result<Vec<String>> {
        let me = HostIdentity::current();
        // The storage's time now: that of a probe lock we write and delete at once. A read-only store
        // gives none, and then only the writers' own time stamps decide.
        let reference = {
            let probe = LockInfo::here(&me, LockKind::Read);
            match write_lock(self.backend(), &self.keys().enc, &probe) {
                Ok(name) => {
                    let t = self
                        .backend()
                        .modified(FileType::Lock, &name)
                        .unwrap_or(None);
                    self.backend().delete(FileType::Lock, &name)?;
                    t
                }
                Err(_) => None,
            }
        };
        let mut removed = Vec::new();
        for l in list_locks(self)? {
            if all || listed_stale_reason(&l, reference, &me).is_some() {
                self.backend().delete(FileType::Lock, &l.name)?;
                removed.push(l.name);
            }
        }
        let (files, _) = self
            .backend()
            .remove_leftovers(crate::backend::LEFTOVER_AGE)
            .context("removing partial files left by killed writers")?;
        removed.extend((0..files).map(|_| "(partial file)".to_string()));
        Ok(removed)
    }
}

/// Rewrites the lock every [`REFRESH_EVERY`] until told to stop; marks it lost when a refresh comes
/// too late (the process or machine was suspended) or the file was removed by someone else.
fn refresh_loop(state: &LockState, key: &SecretKey, mut info: LockInfo, stop: &mpsc::Receiver<()>) {
    let mut wait = REFRESH_EVERY;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(wait) {
        // Checked before writing: a lock refreshed after it may have been judged stale would hide
        // that from this process while another may already have deleted data.
        if state.check().is_err() {
            return;
        }
        let old = crate::sync::unpoisoned(&state.name).clone();
        match state.backend.stat(FileType::Lock, &old) {
            Ok(None) => {
                state.mark_lost(format!(
                    "its file locks/{old} was removed by another process"
                ));
                return;
            }
            Ok(Some(_)) => {}
            Err(e) => {
                log::warn!("refreshing lock: {e:#}");
                wait = REFRESH_EVERY / 5;
                continue;
            }
        }
        info.time = Utc::now();
        let now = state.clock.now();
        match write_lock(state.backend.as_ref(), key, &info) {
            Ok(new) => {
                *crate::sync::unpoisoned(&state.name) = new;
                *crate::sync::unpoisoned(&state.last_ok) = now;
                let _ = state.backend.delete(FileType::Lock, &old);
                wait = REFRESH_EVERY;
            }
            Err(e) => {
                log::warn!("refreshing lock: {e:#}");
                wait = REFRESH_EVERY / 5;
            }
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.refresher.take() {
            let _ = h.join();
        }
        let Some(state) = self.state.take() else {
            return;
        };
        if let Some(slot) = &self.slot {
            let mut active = crate::sync::unpoisoned(slot);
            if active.as_ref().is_some_and(|a| Arc::ptr_eq(a, &state)) {
                *active = None;
            }
        }
        crate::sync::unpoisoned(&HELD)
            .retain(|w| w.upgrade().is_some_and(|s| !Arc::ptr_eq(&s, &state)));
        let name = crate::sync::unpoisoned(&state.name).clone();
        if let Err(e) = state.backend.delete(FileType::Lock, &name) {
            log::warn!("removing lock file locks/{name}: {e:#}");
        }
    }
}

#[cfg(test)]
mod tests;
