//! A backend that wraps a real local repository and fails on purpose: the n-th write or the n-th
//! delete of chosen file types, or any write that would take the store past a byte budget. Each
//! failure is the error a full disk gives (`ENOSPC`, "No space left on device").

#![allow(dead_code)]

use backstock::backend::{Backend, BackendError, FileType, LocalBackend, Result};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Faulty {
    inner: LocalBackend,
    /// The file types whose writes and deletes are counted (and may fail).
    types: Vec<FileType>,
    /// Fail the n-th counted write (1-based); the file does not land.
    pub fail_write: Option<u64>,
    /// Fail the n-th counted delete (1-based); the file stays.
    pub fail_delete: Option<u64>,
    /// Most bytes the store may hold, over every file type.
    pub budget: Option<u64>,
    writes: AtomicU64,
    deletes: AtomicU64,
    used: AtomicU64,
}

/// The file types a maintenance command writes and deletes (not locks, which every command takes).
pub const DATA_TYPES: [FileType; 3] = [FileType::Pack, FileType::Index, FileType::Snapshot];

/// A full disk's error (permanent), for the file `name` of type `t`.
fn enospc(t: FileType, name: &str, doing: &str) -> BackendError {
    let io = std::io::Error::from_raw_os_error(libc::ENOSPC);
    BackendError::io(t, Some(name), format!("{doing}injected fault"), io)
}

impl Faulty {
    /// Wraps the repository at `root`, counting operations on `types`, with no fault yet.
    pub fn new(root: &Path, types: &[FileType]) -> Faulty {
        let inner = LocalBackend::new(root);
        let used = [
            FileType::Config,
            FileType::Key,
            FileType::Snapshot,
            FileType::Index,
            FileType::Pack,
            FileType::Lock,
        ]
        .iter()
        .flat_map(|t| inner.list(*t).unwrap_or_default())
        .map(|(_, size)| size)
        .sum();
        Faulty {
            inner,
            types: types.to_vec(),
            fail_write: None,
            fail_delete: None,
            budget: None,
            writes: AtomicU64::new(0),
            deletes: AtomicU64::new(0),
            used: AtomicU64::new(used),
        }
    }

    /// Counted writes so far (failed ones included).
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    /// Counted deletes so far (failed ones included).
    pub fn deletes(&self) -> u64 {
        self.deletes.load(Ordering::SeqCst)
    }

    /// Bytes the store holds, by this backend's account.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }

    fn counted(&self, t: FileType) -> bool {
        self.types.contains(&t)
    }
}

impl Backend for Faulty {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn create(&self) -> Result<()> {
        self.inner.create()
    }
    fn list(&self, t: FileType) -> Result<Vec<(String, u64)>> {
        self.inner.list(t)
    }
    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        self.inner.read(t, name)
    }
    fn read_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.inner.read_range(t, name, offset, len)
    }
    fn write(&self, t: FileType, name: &str, data: &[u8]) -> Result<()> {
        if self.counted(t) {
            let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
            if self.fail_write == Some(n) {
                return Err(enospc(t, name, ""));
            }
        }
        let old = self.inner.stat(t, name)?.unwrap_or(0);
        let len = data.len() as u64;
        if let Some(budget) = self.budget {
            // Reserve the space first, so concurrent writers cannot both pass the check.
            let grow = len.saturating_sub(old);
            let before = self.used.fetch_add(grow, Ordering::SeqCst);
            if before + grow > budget {
                self.used.fetch_sub(grow, Ordering::SeqCst);
                return Err(enospc(t, name, ""));
            }
            let result = self.inner.write(t, name, data);
            let shrink = old.saturating_sub(len);
            match &result {
                Ok(()) => self.used.fetch_sub(shrink, Ordering::SeqCst),
                Err(_) => self.used.fetch_sub(grow, Ordering::SeqCst),
            };
            return result;
        }
        self.inner.write(t, name, data)?;
        self.used.fetch_add(len, Ordering::SeqCst);
        self.used.fetch_sub(old, Ordering::SeqCst);
        Ok(())
    }
    fn delete(&self, t: FileType, name: &str) -> Result<()> {
        if self.counted(t) {
            let n = self.deletes.fetch_add(1, Ordering::SeqCst) + 1;
            if self.fail_delete == Some(n) {
                return Err(enospc(t, name, &format!("deleting {}/{name}: ", t.dir())));
            }
        }
        let size = self.inner.stat(t, name)?.unwrap_or(0);
        self.inner.delete(t, name)?;
        self.used.fetch_sub(size, Ordering::SeqCst);
        Ok(())
    }
    fn stat(&self, t: FileType, name: &str) -> Result<Option<u64>> {
        self.inner.stat(t, name)
    }
    fn remove_leftovers(&self, older_than: std::time::Duration) -> Result<(usize, u64)> {
        self.inner.remove_leftovers(older_than)
    }
}
