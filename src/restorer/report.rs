//! What a restore is asked to do, and what it reports: options, live counters, the summary and
//! the problems it went past.

use crate::error::Error;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;

/// What a restore does with a file already in the target where the snapshot has a file
/// (restic's `--overwrite`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Overwrite {
    /// Replace it.
    #[default]
    Always,
    /// Replace it unless it has the snapshot's size and mtime.
    IfChanged,
    /// Replace it only if the snapshot's mtime is newer.
    IfNewer,
    /// Keep it.
    Never,
}

impl Overwrite {
    /// Whether an existing file of this size and mtime is kept.
    pub fn keeps(self, size: u64, mtime: (i64, u32), node: &crate::format::tree::Node) -> bool {
        let snap = (node.mtime.sec, node.mtime.nsec);
        match self {
            Overwrite::Always => false,
            Overwrite::IfChanged => size == node.size && mtime == snap,
            Overwrite::IfNewer => mtime >= snap,
            Overwrite::Never => true,
        }
    }
}

/// What to restore and where; the snapshot and subtree are chosen by the caller.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// The directory the selected tree is restored into; made if missing.
    pub target: PathBuf,
    /// Glob patterns (design.md, "Path patterns"); when any are given, only matching entries and
    /// their parents are restored.
    pub includes: Vec<String>,
    /// [`Self::includes`] that ignore case.
    pub iincludes: Vec<String>,
    /// Glob patterns of entries (with everything below them) not to restore.
    pub excludes: Vec<String>,
    /// [`Self::excludes`] that ignore case.
    pub iexcludes: Vec<String>,
    /// What to do with files already in the target.
    pub overwrite: Overwrite,
    /// Read every restored file back and compare it with the snapshot's blobs.
    pub verify: bool,
    /// Replace entries of another kind in the way (a directory where the snapshot has a file, a
    /// file where it has a directory) and remove entries of restored directories that the
    /// snapshot does not have (within the include and exclude filters).
    pub delete: bool,
    /// fsync every restored file and directory before returning.
    pub sync: bool,
    /// Leave the ranges of files that are all zeros unwritten (holes), as restic's `--sparse`
    /// does: a sparse file comes back sparse, and zeros take no space on disk.
    pub sparse: bool,
    /// What to do when packs needed are in an archive storage class: they are looked up before
    /// anything is written to the target, their restore is requested, and the restore either
    /// waits for them or fails with [`crate::ErrorKind::Archived`].
    pub thaw: crate::repository::archive::ThawOptions,
}

/// Counters a caller may read from another thread while a restore runs.
#[derive(Debug, Default)]
pub struct RestoreProgress {
    /// File content bytes written so far.
    pub bytes: AtomicU64,
    /// File content bytes to write in all, set once the plan is made (0 before).
    pub total_bytes: AtomicU64,
}

/// The outcome of a restore that ran to the end.
#[derive(Debug, Default)]
pub struct RestoreSummary {
    /// Entries restored completely (content and metadata).
    pub files: u64,
    /// Directories restored completely (metadata included).
    pub dirs: u64,
    /// Symlinks restored completely.
    pub symlinks: u64,
    /// FIFOs and device nodes restored completely.
    pub specials: u64,
    /// Files among `files` restored as another name of a file restored before (hard links).
    pub hardlinks: u64,
    /// Files already in the target that `--overwrite` kept as they were.
    pub files_kept: u64,
    /// Files read back and found identical to the snapshot (`--verify`).
    pub verified: u64,
    /// Bytes of the files restored completely.
    pub bytes: u64,
    /// Selected entries not restored, or restored incompletely; each is named in `errors` (or
    /// lies below an entry that is).
    pub files_failed: u64,
    /// Directories not restored, or restored incompletely.
    pub dirs_failed: u64,
    /// Symlinks not restored, or restored incompletely.
    pub symlinks_failed: u64,
    /// FIFOs and device nodes not restored, or restored incompletely.
    pub specials_failed: u64,
    /// Sockets (recorded, never recreated: a program makes its socket when it listens) and
    /// device nodes a restore without the privilege cannot make; each is named in `warnings`.
    pub specials_skipped: u64,
    /// Entries `--delete` removed.
    pub deleted: u64,
    /// Problems that did not stop the restore (corrupt blobs, unwritable files, conflicts), each
    /// naming the entry.
    pub errors: Vec<RestoreError>,
    /// What was left out on purpose or refused by the target without making content or metadata
    /// that was restored wrong: skipped sockets and device nodes, extended attributes the file
    /// system or the restore's privilege did not allow.
    pub warnings: Vec<RestoreError>,
}

/// A problem that did not stop the restore: the path inside the snapshot it concerns (none for the
/// target itself and for entries `--delete` found) and what went wrong.
#[derive(Debug)]
pub struct RestoreError {
    /// The entry's path inside the snapshot; `None` for the target itself and for entries `--delete` found.
    pub path: Option<String>,
    /// What went wrong.
    pub error: Error,
}

impl RestoreError {
    pub(super) fn at(path: &str, error: Error) -> Self {
        RestoreError {
            path: Some(path.to_string()),
            error,
        }
    }
}

impl From<Error> for RestoreError {
    fn from(error: Error) -> Self {
        RestoreError { path: None, error }
    }
}

/// `path: error` with the error's whole chain.
impl std::fmt::Display for RestoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{p}: {:#}", self.error),
            None => write!(f, "{:#}", self.error),
        }
    }
}
