//! Storage backends: a small object-store-shaped trait. No rename or append.
//!
//! Encryption and caching are layered above this trait (in `repository`), so a new backend (S3, REST)
//! only moves bytes.

pub(crate) mod direct;
pub mod local;

pub use local::LocalBackend;

use anyhow::Result;

/// The kinds of file in a repository (design.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    Config,
    Key,
    Snapshot,
    Index,
    Pack,
    Lock,
}

impl FileType {
    pub fn dir(self) -> &'static str {
        match self {
            FileType::Config => "",
            FileType::Key => "keys",
            FileType::Snapshot => "snapshots",
            FileType::Index => "index",
            FileType::Pack => "data",
            FileType::Lock => "locks",
        }
    }
}

/// A repository store. Every write is a whole file, atomically visible.
pub trait Backend: Send + Sync {
    /// Human-readable location, for messages.
    fn location(&self) -> String;
    /// Prepares an empty repository location (directories for a local store). Fails if a repository exists.
    fn create(&self) -> Result<()>;
    /// Names and sizes of all files of a type.
    fn list(&self, t: FileType) -> Result<Vec<(String, u64)>>;
    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>>;
    fn read_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>>;
    /// Like `read_range`, into a buffer the caller reuses (its contents are replaced).
    fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        *buf = self.read_range(t, name, offset, len)?;
        Ok(())
    }
    /// Writes a whole file atomically; an existing file of the same name is replaced.
    fn write(&self, t: FileType, name: &str, data: &[u8]) -> Result<()>;
    fn delete(&self, t: FileType, name: &str) -> Result<()>;
    /// The size of a file, or `None` if it does not exist.
    fn stat(&self, t: FileType, name: &str) -> Result<Option<u64>>;
    /// The storage's own modification time of a file; `None` when the store cannot tell or the file
    /// is gone. Lock ages are judged by it, so that hosts whose clocks differ agree.
    fn modified(&self, t: FileType, name: &str) -> Result<Option<std::time::SystemTime>> {
        let _ = (t, name);
        Ok(None)
    }
    /// Removes partial files that a killed writer left behind and that were last touched longer than
    /// `older_than` ago. Returns how many files and bytes went. Stores whose writes are single object
    /// puts have nothing to remove.
    fn remove_leftovers(&self, older_than: std::time::Duration) -> Result<(usize, u64)> {
        let _ = older_than;
        Ok((0, 0))
    }
}
