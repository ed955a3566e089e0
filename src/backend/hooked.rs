//! A local store whose writes and deletes a unit test replaces, for stores that fail or misbehave
//! in one way only (a read-only mount, a backend that panics).

use super::{Backend, FileType, LocalBackend, Result};

/// What a hook does instead of the local store's write or delete.
pub(crate) type Hook = Box<dyn Fn(FileType, &str) -> Result<()> + Send + Sync>;

/// [`LocalBackend`] with `write` and `delete` replaced by hooks where set; everything else is the
/// local store's.
pub(crate) struct Hooked {
    pub inner: LocalBackend,
    pub write: Option<Hook>,
    pub delete: Option<Hook>,
}

impl Backend for Hooked {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn create(&self) -> Result<()> {
        self.inner.create()
    }
    fn parallel_writes(&self) -> usize {
        self.inner.parallel_writes()
    }
    fn read_span(&self) -> u64 {
        self.inner.read_span()
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
        match &self.write {
            Some(hook) => hook(t, name),
            None => self.inner.write(t, name, data),
        }
    }
    fn delete(&self, t: FileType, name: &str) -> Result<()> {
        match &self.delete {
            Some(hook) => hook(t, name),
            None => self.inner.delete(t, name),
        }
    }
    fn stat(&self, t: FileType, name: &str) -> Result<Option<u64>> {
        self.inner.stat(t, name)
    }
}
