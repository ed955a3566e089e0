//! Storage backends: a small object-store-shaped trait. No rename or append.
//!
//! Encryption and caching are layered above this trait (in `repository`), so a new backend (S3, REST)
//! only moves bytes. [`open_location`] picks the backend for a repository location: a path is a
//! [`LocalBackend`], `rest:http[s]://...` a [`RestBackend`], `s3:http[s]://...` an [`S3Backend`] and
//! `rclone:REMOTE:PATH` an [`RcloneBackend`], each wrapped in [`Retrying`].

#[cfg(test)]
mod canned;
mod counting;
mod error;
#[cfg(test)]
pub(crate) mod hooked;
mod http;
pub mod local;
#[cfg(test)]
mod local_tests;
mod location;
mod policy;
#[cfg(test)]
mod power_cut_tests;
pub mod rclone;
pub mod rest;
mod resume;
pub mod retry;
pub mod s3;
#[cfg(test)]
pub(crate) mod sim;
pub mod throttle;
mod tls;
mod vfs;

pub use counting::{storage_operations, Counting, StorageOperations};
pub use error::{BackendError, BackendErrorKind};
pub use local::LocalBackend;
pub use location::{
    open_location, open_location_with, s3_options_from_env, LocationError, RemoteOptions,
};
pub use rclone::RcloneBackend;
pub use rest::{RestBackend, RestOptions};
pub use retry::{RetryPolicy, Retrying};
pub use s3::{S3Backend, S3Options};
pub use throttle::Throttled;

use crate::format::blob_entry::{ENTRY_LEN, SEAL_OVERHEAD};
/// The retention settings a repository's config holds, which a store applies to its writes.
pub use crate::format::config::{ObjectLock, RetentionMode};
use crate::format::envelope::OVERHEAD;
use crate::format::pack::TRAILER_LEN;

/// The result of a storage operation.
pub type Result<T, E = BackendError> = std::result::Result<T, E>;

/// The kinds of file in a repository (design.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    /// The repository's `config` file (one, at the top).
    Config,
    /// A key file under `keys/`: the master keys sealed with a password-derived key.
    Key,
    /// A snapshot file under `snapshots/`.
    Snapshot,
    /// An index file under `index/`: which pack holds each blob.
    Index,
    /// A pack file under `data/`: sealed blobs and their sealed header.
    Pack,
    /// A lock file under `locks/`.
    Lock,
}

impl FileType {
    /// The directory holding files of this type, relative to the repository root (`""` for the config).
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

    /// What a file of this type is called in messages.
    pub fn describe(self) -> &'static str {
        match self {
            FileType::Config => "config file",
            FileType::Key => "key file",
            FileType::Snapshot => "snapshot file",
            FileType::Index => "index file",
            FileType::Pack => "pack file",
            FileType::Lock => "lock file",
        }
    }

    /// The largest file of this type a valid repository can hold. Readers refuse larger files before
    /// reading them, so a hostile store cannot make a command allocate without bound.
    pub fn max_size(self) -> u64 {
        match self {
            // A sealed JSON object of a few hundred bytes; 64 KiB leaves room for later fields.
            FileType::Config => 64 << 10,
            // The key file format's own limit is 168 + 2 * 255 bytes (host and user names of at
            // most 255 bytes each; design.md section 2).
            FileType::Key => 1 << 10,
            // A sealed JSON object of a few hundred bytes.
            FileType::Lock => 64 << 10,
            // A sealed JSON object; only the backed-up paths and tags can make it long.
            FileType::Snapshot => 64 << 20,
            FileType::Index => INDEX_MAX,
            FileType::Pack => PACK_MAX,
        }
    }
}

/// An index envelope's payload is at most 1 GiB once decompressed (the envelope limit); zstd makes
/// 1 GiB of incompressible input at most 1 GiB + 4 MiB (its compress bound adds 1/256), and the
/// envelope adds its header, nonce and tag.
const INDEX_MAX: u64 =
    crate::compress::MAX_PAYLOAD + (crate::compress::MAX_PAYLOAD >> 7) + OVERHEAD as u64;

/// A pack holds at most 1 GiB of sealed blobs: the largest target pack size is 1 GiB, a pack is
/// closed before a blob would carry it past the target, and a blob that gets a pack of its own is at
/// most 256 MiB + 40 bytes. Then comes its sealed header with one 46-byte entry per sealed blob, and
/// a sealed blob is at least 40 bytes long; then the trailer (design.md section 4).
const PACK_MAX: u64 = PACK_DATA_MAX
    + (5 + PACK_DATA_MAX / SEAL_OVERHEAD as u64 * ENTRY_LEN as u64)
    + OVERHEAD as u64
    + TRAILER_LEN as u64;
const PACK_DATA_MAX: u64 = 1 << 30;

/// Packs uploaded at once to a remote store unless told otherwise. Two keep an upload going while
/// the next request starts, which fills a shop's uplink; each holds a pack (16 MiB by default) in
/// memory, and four cost 1.56x the local backup's peak memory against 1.14x for two, with no gain
/// on loopback (docs/benchmarks.md). `--connections` raises it for fast links with high latency.
pub const REMOTE_PARALLEL_WRITES: usize = 2;

/// The most bytes of a pack a reader asks a directory for at once: reads from a disk cost little
/// each, and small ones keep each reading thread's buffer small.
pub const LOCAL_READ_SPAN: u64 = 4 << 20;

/// The most bytes of a pack a reader asks a remote store for at once: more than a default pack
/// (16 MiB), so that a restore reads each pack in one request. Every request costs a round trip
/// (tens of milliseconds on object storage), is billed, and some servers have a cost per request
/// (s3s-fs opens the object and reads two metadata files for each GET).
pub const REMOTE_READ_SPAN: u64 = 32 << 20;

/// Range reads a remote store serves at once to a restore. Each is a stream that holds one blob in
/// memory, not its pack, so more of them cost little: with eight, the server and the network are
/// kept busy while the client decrypts and writes (a restore from s3s-fs took 3.7 s with eight
/// readers of whole packs, 4.6 s with four; docs/benchmarks.md).
pub const REMOTE_READ_STREAMS: usize = 8;

/// A reader of a range of a file, from [`Backend::read_range_stream`]: it gives exactly the
/// range's bytes, then end of file, or an error.
pub type RangeReader<'a> = Box<dyn std::io::Read + Send + 'a>;

/// A partial file this much older than now cannot belong to a writer that still runs (a writer holds a
/// lock refreshed every few minutes and writes one file in seconds).
pub const LEFTOVER_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Where a file is best kept, for stores that have storage classes of different price and read
/// speed (S3). Other stores ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Placement {
    /// Read by every command (config, keys, index, snapshots, locks, tree packs): keep it where
    /// it reads at once.
    #[default]
    Hot,
    /// Read only to restore file contents or verify them (data packs): may go to a cheaper class
    /// that is slower or dearer to read.
    Cold,
}

/// Whether a file can be read now, on a store with archive classes (S3 Glacier, Deep Archive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ArchiveState {
    /// Readable (never archived).
    #[default]
    Online,
    /// Archived: a restore must be requested, and done, before it can be read.
    Archived,
    /// Archived, and a restore of it was requested and is not done yet.
    Restoring,
    /// Archived, with a restored copy that can be read now (until the restore expires).
    Restored,
}

/// What a store says about where a file is kept ([`Backend::availability`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Availability {
    /// The store's name of the class the file is in (S3: `STANDARD_IA`, `GLACIER`, ...); `None`
    /// for the default class, or a store without classes.
    pub class: Option<String>,
    /// Whether it can be read now.
    pub state: ArchiveState,
    /// Reading it costs extra, or deleting it before [`Self::min_storage`] is charged as if it
    /// had stayed: rewriting it to save space (prune's repacking) is not worth it by default.
    pub cold: bool,
    /// The store charges for at least this long however early the file is deleted (zero: no
    /// such charge).
    pub min_storage: std::time::Duration,
    /// When the file was stored, by the store's clock, if known.
    pub stored: Option<std::time::SystemTime>,
}

impl Availability {
    /// Whether the file can be read now.
    pub fn readable(&self) -> bool {
        matches!(self.state, ArchiveState::Online | ArchiveState::Restored)
    }
}

/// How fast, and at what price, an archive restore is done (S3's retrieval tiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RestoreTier {
    /// Minutes (Glacier Flexible Retrieval only; dearest).
    Expedited,
    /// Hours (3 to 5 for Glacier, within 12 for Deep Archive).
    #[default]
    Standard,
    /// Cheapest (5 to 12 hours for Glacier, within 48 for Deep Archive).
    Bulk,
}

/// What [`Backend::request_restore`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RestoreRequest {
    /// How many days the restored copy stays readable.
    pub days: u32,
    /// How fast it is made.
    pub tier: RestoreTier,
}

/// The answer to [`Backend::request_restore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RestoreRequested {
    /// A restore was started now.
    Started,
    /// A restore was already under way (asking again changed nothing).
    InProgress,
    /// The file can be read already (restored earlier, or never archived).
    Readable,
}

/// A repository store. Every write is a whole file, atomically visible.
pub trait Backend: Send + Sync {
    /// Human-readable location, for messages.
    fn location(&self) -> String;
    /// Prepares an empty repository location (directories for a local store). Fails if a repository exists.
    fn create(&self) -> Result<()>;
    /// Names and sizes of all files of a type. Entries that are not regular files (symlinks,
    /// directories, devices) and names starting with `.` are left out.
    fn list(&self, t: FileType) -> Result<Vec<(String, u64)>>;
    /// A whole file. A file larger than [`FileType::max_size`] is an error, found before reading.
    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>>;
    /// `len` bytes at `offset`; a file shorter than that is an error.
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
    /// Writes a whole file unless one of that name exists: `Ok(false)`, with nothing written, when
    /// it does. Atomic where the store can do it (a local directory; S3 with `If-None-Match`); a
    /// store that cannot looks first, which leaves a moment in which two writers both create.
    fn create_file(&self, t: FileType, name: &str, data: &[u8]) -> Result<bool> {
        if self.stat(t, name)?.is_some() {
            return Ok(false);
        }
        self.write(t, name, data)?;
        Ok(true)
    }
    /// Writes a whole file the caller hands over, as [`Self::write`] does, with a hint where it
    /// is best kept. A remote store sends it as it is, where `write` must copy it first (a pack
    /// is 16 MiB and several are in flight); a store without storage classes ignores the hint.
    fn write_owned(
        &self,
        t: FileType,
        name: &str,
        data: bytes::Bytes,
        placement: Placement,
    ) -> Result<()> {
        let _ = placement;
        self.write(t, name, &data)
    }
    /// Deletes a file.
    fn delete(&self, t: FileType, name: &str) -> Result<()>;
    /// The size of a file, or `None` if it does not exist.
    fn stat(&self, t: FileType, name: &str) -> Result<Option<u64>>;
    /// The storage's own modification time of a file; `None` when the store cannot tell or the file
    /// is gone. Lock ages are judged by it, so that hosts whose clocks differ agree.
    fn modified(&self, t: FileType, name: &str) -> Result<Option<std::time::SystemTime>> {
        let _ = (t, name);
        Ok(None)
    }
    /// How many whole-file writes this store serves well at once. Packs are written by that many
    /// threads, each holding one pack in memory, so that one slow write (a disk flush, a stalled
    /// request) does not hold up the rest.
    fn parallel_writes(&self) -> usize {
        1
    }
    /// The most bytes of one file worth asking for in one read: readers of packs (restore, copy)
    /// join the blobs they want from a pack into reads of up to this many bytes, from the first
    /// wanted blob to the last. Each reading thread holds one such read in memory.
    fn read_span(&self) -> u64 {
        LOCAL_READ_SPAN
    }
    /// `len` bytes at `offset` as they arrive, for a reader that wants them once, in order (a
    /// restore walking a pack's blobs). The default reads the range whole first.
    fn read_range_stream(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
    ) -> Result<RangeReader<'_>> {
        Ok(Box::new(std::io::Cursor::new(
            self.read_range(t, name, offset, len)?,
        )))
    }
    /// How many [`Self::read_range_stream`] readers are worth running at once; 0 (the default)
    /// says the store does not stream, and readers of packs read whole spans instead.
    fn read_streams(&self) -> usize {
        0
    }
    /// Whether this client may delete files other than locks. A store in append-only mode (a REST
    /// server started with `--append-only`) says no, and the commands that delete ask before they
    /// change anything, so they fail at once instead of half way. A store that cannot tell says
    /// yes; a refused delete is then an error when it happens.
    fn deletes_allowed(&self) -> Result<bool> {
        Ok(true)
    }
    /// Whether a file can be read now, and in which class it is kept. A store without archive
    /// classes answers "readable, default class" without asking anything (the default).
    fn availability(&self, t: FileType, name: &str) -> Result<Availability> {
        let _ = (t, name);
        Ok(Availability::default())
    }
    /// Asks the store to make an archived file readable for a while. Asking again while a
    /// restore is under way, or once the file is readable, does no harm. A store without archive
    /// classes answers [`RestoreRequested::Readable`] (the default).
    fn request_restore(
        &self,
        t: FileType,
        name: &str,
        request: &RestoreRequest,
    ) -> Result<RestoreRequested> {
        let _ = (t, name, request);
        Ok(RestoreRequested::Readable)
    }
    /// Writes every later file but lock files under retention (`Some`), or without (`None`,
    /// the default state). A store that cannot keep files under retention refuses `Some` with
    /// [`BackendErrorKind::Unsupported`] (the default) and accepts `None`.
    fn set_object_lock(&self, lock: Option<ObjectLock>) -> Result<()> {
        match lock {
            None => Ok(()),
            Some(_) => Err(BackendError::new(
                BackendErrorKind::Unsupported,
                FileType::Config,
                None,
                format!(
                    "{} cannot keep files under retention (object lock needs an s3: repository \
                     in a bucket with object lock enabled)",
                    self.location()
                ),
            )),
        }
    }
    /// Until when the store keeps a file under retention: `None` when it is under none (or
    /// the store has no retention, the default, which asks nothing). An error if it is gone.
    fn retained_until(&self, t: FileType, name: &str) -> Result<Option<std::time::SystemTime>> {
        let _ = (t, name);
        Ok(None)
    }
    /// Keeps a file under retention until `until`, in the mode set with
    /// [`Self::set_object_lock`] (a store without retention: [`BackendErrorKind::Unsupported`]).
    fn extend_retention(
        &self,
        t: FileType,
        name: &str,
        until: std::time::SystemTime,
    ) -> Result<()> {
        let _ = until;
        Err(BackendError::new(
            BackendErrorKind::Unsupported,
            t,
            Some(name),
            format!("{} cannot keep files under retention", self.location()),
        ))
    }
    /// Removes partial files that a killed writer left behind and that were last touched longer than
    /// `older_than` ago. Returns how many files and bytes went. Stores whose writes are single object
    /// puts have nothing to remove.
    fn remove_leftovers(&self, older_than: std::time::Duration) -> Result<(usize, u64)> {
        let _ = older_than;
        Ok((0, 0))
    }
}
