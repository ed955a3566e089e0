//! Counting what a command asks of a remote store, as a wrapper around its backend (inside the
//! retries, so a retried call counts each time it is sent). The counts are for this process and
//! all its remote repositories together: `backup --json` reports them, and the tests pin how few
//! operations an unchanged backup needs (no pack read).

use super::{
    Availability, Backend, FileType, ObjectLock, Placement, RestoreRequest, RestoreRequested,
    Result,
};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Operations sent to remote stores by this process, by kind. One operation is one request,
/// except that a listing long enough to be paged and a multipart upload take several.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StorageOperations {
    /// Directory listings.
    pub lists: u64,
    /// Whole-file and ranged reads of every type but packs.
    pub reads: u64,
    /// Ranged or whole reads of pack files (what a backup with nothing new should not need).
    pub pack_reads: u64,
    /// File writes.
    pub writes: u64,
    /// Deletes (lock files, and what prune and forget remove).
    pub deletes: u64,
    /// Size and modification-time lookups.
    pub stats: u64,
}

impl StorageOperations {
    /// All of them.
    pub fn total(&self) -> u64 {
        self.lists + self.reads + self.pack_reads + self.writes + self.deletes + self.stats
    }
}

static LISTS: AtomicU64 = AtomicU64::new(0);
static READS: AtomicU64 = AtomicU64::new(0);
static PACK_READS: AtomicU64 = AtomicU64::new(0);
static WRITES: AtomicU64 = AtomicU64::new(0);
static DELETES: AtomicU64 = AtomicU64::new(0);
static STATS: AtomicU64 = AtomicU64::new(0);

/// The operations this process sent to remote stores so far.
pub fn storage_operations() -> StorageOperations {
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    StorageOperations {
        lists: get(&LISTS),
        reads: get(&READS),
        pack_reads: get(&PACK_READS),
        writes: get(&WRITES),
        deletes: get(&DELETES),
        stats: get(&STATS),
    }
}

fn count(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

fn count_read(t: FileType) {
    count(if t == FileType::Pack {
        &PACK_READS
    } else {
        &READS
    });
}

/// A backend whose calls are counted in [`storage_operations`].
pub struct Counting<B>(pub B);

impl<B: Backend> Backend for Counting<B> {
    fn location(&self) -> String {
        self.0.location()
    }
    fn create(&self) -> Result<()> {
        count(&WRITES);
        self.0.create()
    }
    fn list(&self, t: FileType) -> Result<Vec<(String, u64)>> {
        count(&LISTS);
        self.0.list(t)
    }
    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        count_read(t);
        self.0.read(t, name)
    }
    fn read_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        count_read(t);
        self.0.read_range(t, name, offset, len)
    }
    fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        count_read(t);
        self.0.read_range_into(t, name, offset, len, buf)
    }
    fn write(&self, t: FileType, name: &str, data: &[u8]) -> Result<()> {
        count(&WRITES);
        self.0.write(t, name, data)
    }
    fn create_file(&self, t: FileType, name: &str, data: &[u8]) -> Result<bool> {
        count(&WRITES);
        self.0.create_file(t, name, data)
    }
    fn write_owned(
        &self,
        t: FileType,
        name: &str,
        data: bytes::Bytes,
        placement: Placement,
    ) -> Result<()> {
        count(&WRITES);
        self.0.write_owned(t, name, data, placement)
    }
    fn availability(&self, t: FileType, name: &str) -> Result<Availability> {
        count(&STATS);
        self.0.availability(t, name)
    }
    fn request_restore(
        &self,
        t: FileType,
        name: &str,
        request: &RestoreRequest,
    ) -> Result<RestoreRequested> {
        count(&WRITES);
        self.0.request_restore(t, name, request)
    }
    fn set_object_lock(&self, lock: Option<ObjectLock>) -> Result<()> {
        self.0.set_object_lock(lock)
    }
    fn retained_until(&self, t: FileType, name: &str) -> Result<Option<SystemTime>> {
        count(&STATS);
        self.0.retained_until(t, name)
    }
    fn extend_retention(&self, t: FileType, name: &str, until: SystemTime) -> Result<()> {
        count(&WRITES);
        self.0.extend_retention(t, name, until)
    }
    fn delete(&self, t: FileType, name: &str) -> Result<()> {
        count(&DELETES);
        self.0.delete(t, name)
    }
    fn stat(&self, t: FileType, name: &str) -> Result<Option<u64>> {
        count(&STATS);
        self.0.stat(t, name)
    }
    fn modified(&self, t: FileType, name: &str) -> Result<Option<SystemTime>> {
        count(&STATS);
        self.0.modified(t, name)
    }
    fn parallel_writes(&self) -> usize {
        self.0.parallel_writes()
    }
    fn read_span(&self) -> u64 {
        self.0.read_span()
    }
    fn read_range_stream(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
    ) -> Result<super::RangeReader<'_>> {
        count_read(t);
        self.0.read_range_stream(t, name, offset, len)
    }
    fn read_streams(&self) -> usize {
        self.0.read_streams()
    }
    fn deletes_allowed(&self) -> Result<bool> {
        count(&DELETES);
        self.0.deletes_allowed()
    }
    fn remove_leftovers(&self, older_than: Duration) -> Result<(usize, u64)> {
        self.0.remove_leftovers(older_than)
    }
}
