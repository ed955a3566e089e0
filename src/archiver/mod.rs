//! Backup: walks the given paths on all cores, saves file contents and trees through the blob saver,
//! then writes packs, the index and finally the snapshot.

mod command;
pub use command::CommandOutput;
mod file;
mod filter;
pub use filter::CACHEDIR_TAG;
mod meta;
mod top;
mod walk;
mod xattrs;

use crate::error::bail;
use crate::error::{Context, Result};
use crate::format::blob_entry::BlobType;
use crate::format::snapshot::{Snapshot, Summary, VERSION};
use crate::format::tree::{self, Node, NodeKind, Timestamp};
use crate::ids::{BlobId, SnapshotId};
use crate::repository::lock::LockKind;
use crate::repository::saver::BlobSaver;
use crate::repository::snapshots::SnapshotFilter;
use crate::repository::{hostname, username, Repository};
use crate::sync::unpoisoned;
use chrono::{DateTime, FixedOffset};
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// What a backup reads and how its snapshot is labelled.
#[derive(Debug, Clone, Default)]
pub struct BackupOptions {
    /// Files and directories to back up; recorded in the snapshot as absolute, normalised paths.
    pub paths: Vec<PathBuf>,
    /// The host name recorded in the snapshot (default: this machine's).
    pub host: Option<String>,
    /// Tags recorded in the snapshot, for filtering and retention groups.
    pub tags: Vec<String>,
    /// Glob patterns of entries to leave out, matched against the absolute path on disk with
    /// restic's meaning (design.md, "Path patterns").
    pub excludes: Vec<String>,
    /// [`Self::excludes`] that ignore case.
    pub iexcludes: Vec<String>,
    /// Leave out directories holding a file of this name (`NAME`), or one starting with a header
    /// (`NAME:HEADER`).
    pub exclude_if_present: Vec<String>,
    /// Leave out cache directories (marked by a `CACHEDIR.TAG` file).
    pub exclude_caches: bool,
    /// Leave out files larger than this many bytes.
    pub exclude_larger_than: Option<u64>,
    /// Record directories on other file systems than the given paths' without their entries.
    pub one_file_system: bool,
    /// A file whose ctime alone changed is taken from the parent without reading it.
    pub ignore_ctime: bool,
    /// A file whose inode number or ctime alone changed is taken from the parent without reading
    /// it (file systems without stable inode numbers: FUSE, some network file systems).
    pub ignore_inode: bool,
    /// Read, chunk and compress as a backup would, add nothing to the repository.
    pub dry_run: bool,
    /// How many threads walk and read (default: one per core).
    pub read_concurrency: Option<usize>,
    /// The snapshot's time (default: when the backup started).
    pub time: Option<DateTime<FixedOffset>>,
    /// Back up standard input as a file with this name instead of `paths`.
    pub stdin_name: Option<String>,
    /// Use this snapshot as parent instead of the latest with the same host and paths.
    pub parent: Option<String>,
    /// Read every file even when the parent says it is unchanged.
    pub force: bool,
}

/// Live counters for a progress display, and what is told of each file.
#[derive(Default)]
pub struct Progress {
    /// Files processed so far.
    pub files: AtomicU64,
    /// Bytes of file content processed so far.
    pub bytes: AtomicU64,
    /// Called for each file saved, from the walking threads.
    pub on_file: Option<OnFile>,
}

/// What [`Progress::on_file`] calls.
pub type OnFile = Box<dyn Fn(&FileEvent<'_>) + Send + Sync>;

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("files", &self.files)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

/// How a saved file compares with the parent snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStatus {
    /// Not in the parent.
    New,
    /// In the parent with other content.
    Modified,
    /// In the parent with the same content (read again or taken as it was).
    Unchanged,
}

/// One file a backup saved.
#[derive(Debug)]
pub struct FileEvent<'a> {
    /// Its path on disk.
    pub path: &'a Path,
    /// New, modified or unchanged.
    pub status: FileStatus,
    /// Its size.
    pub size: u64,
}

/// What a finished backup saved and what it met on the way.
pub struct BackupResult {
    /// The new snapshot's ID; `None` after a dry run, which saves nothing.
    pub id: Option<SnapshotId>,
    /// The new snapshot as saved, with its summary.
    pub snapshot: Snapshot,
    /// Files or directories that could not be read, with the reason.
    pub failures: Vec<(String, String)>,
    /// Files whose size, mtime or ctime changed while they were read; each is stored as read, at
    /// most its listed size.
    pub changed: Vec<String>,
    /// What the walk met and did not back up without being told to, sorted by path: the path and
    /// why (entries of a type a tree cannot record; the entries of a kernel file system's mount
    /// point, or of another file system with `--one-file-system`).
    pub skipped: Vec<(String, String)>,
    /// The snapshot whose unchanged files were reused without reading them, if any.
    pub parent: Option<SnapshotId>,
}

#[derive(Default)]
struct Counters {
    files_new: AtomicU64,
    files_changed: AtomicU64,
    files_unchanged: AtomicU64,
    dirs_new: AtomicU64,
    dirs_changed: AtomicU64,
    dirs_unchanged: AtomicU64,
    bytes_read: AtomicU64,
    bytes_processed: AtomicU64,
}

pub(crate) struct Archiver<'a> {
    saver: BlobSaver<'a>,
    filter: filter::Filter,
    /// The absolute paths given to back up.
    targets: HashSet<PathBuf>,
    progress: &'a Progress,
    counters: Counters,
    failures: Mutex<Vec<(String, String)>>,
    changed: Mutex<Vec<String>>,
    skipped: Mutex<Vec<(String, String)>>,
    force: bool,
    ignore_ctime: bool,
    ignore_inode: bool,
}

impl Archiver<'_> {
    fn fail(&self, path: &Path, err: impl std::fmt::Display) {
        unpoisoned(&self.failures).push((path.display().to_string(), err.to_string()));
    }

    fn changed_while_read(&self, path: &Path) {
        unpoisoned(&self.changed).push(path.display().to_string());
    }

    fn skip(&self, path: &Path, why: impl Into<String>) {
        unpoisoned(&self.skipped).push((path.display().to_string(), why.into()));
    }

    fn file_saved(&self, path: &Path, status: FileStatus, size: u64) {
        if let Some(f) = &self.progress.on_file {
            f(&FileEvent { path, status, size });
        }
    }
}

/// The node name for `--stdin-filename` (a leading `/` is dropped), or an error when a tree could
/// not hold it; checked before the repository is touched.
pub fn stdin_node_name(name: &str) -> Result<Vec<u8>> {
    let plain = name.trim_start_matches('/');
    if tree::check_name(plain.as_bytes()).is_err() {
        bail!(
            InvalidInput,
            "--stdin-filename {name:?} is not a valid file name: give one plain name such as \"db.sql\" \
             (not empty, not \".\" or \"..\", no '/', at most {} bytes)",
            tree::MAX_NAME
        );
    }
    Ok(plain.as_bytes().to_vec())
}

/// Backs up `opts.paths`, or standard input with `opts.stdin_name`. Takes a shared lock first and
/// loads the index under it, so that nothing this backup deduplicates against can be deleted by a
/// prune before the snapshot is written.
pub fn backup(
    repo: &mut Repository,
    opts: &BackupOptions,
    progress: &Progress,
) -> Result<BackupResult> {
    backup_from(repo, opts, progress, &mut std::io::stdin().lock())
}

/// [`backup`], reading the data of `opts.stdin_name` from `stdin` (streamed through the chunker,
/// never held whole in memory).
pub fn backup_from(
    repo: &mut Repository,
    opts: &BackupOptions,
    progress: &Progress,
    stdin: &mut dyn Read,
) -> Result<BackupResult> {
    let started = chrono::Local::now().fixed_offset();
    let hostname = opts.host.clone().unwrap_or_else(hostname);
    let (source, paths) = Source::of(opts)?;
    // A shared lock: prune (exclusive) cannot delete anything this backup may reference. The index
    // is read only now, under it.
    let guard = repo.lock(LockKind::Append)?;
    repo.load_index(&guard).context("loading the index")?;
    let repo: &Repository = repo;
    let parent = find_parent(repo, opts, &hostname, &paths)?;
    let parent_root = match &parent {
        Some((_, s)) => Some(
            repo.load_tree(&[s.tree])
                .context("loading the parent snapshot's root")?,
        ),
        None => None,
    };
    let (devices, targets) = match &source {
        Source::Paths(t) => (
            top::devices(t),
            t.iter().map(|t| t.abs().to_path_buf()).collect(),
        ),
        Source::Stdin(_) => Default::default(),
    };
    let saver = if opts.dry_run {
        BlobSaver::dry_run(repo)?
    } else {
        BlobSaver::new(repo)?
    };
    let arch = Archiver {
        saver,
        filter: filter::Filter::new(opts, devices)?,
        targets,
        progress,
        counters: Counters::default(),
        failures: Mutex::default(),
        changed: Mutex::default(),
        skipped: Mutex::default(),
        force: opts.force,
        ignore_ctime: opts.ignore_ctime || opts.ignore_inode,
        ignore_inode: opts.ignore_inode,
    };
    let root_nodes = match source {
        Source::Stdin(name) => vec![arch.save_stdin(name, stdin)?],
        Source::Paths(targets) => {
            let top = top::TopDir::new(&targets);
            let walk = || arch.save_top(&top, parent_root.as_deref(), "");
            match opts.read_concurrency {
                Some(n) => rayon::ThreadPoolBuilder::new()
                    .num_threads(n.max(1))
                    .thread_name(|i| format!("backstock-read-{i}"))
                    .build()
                    .map_err(|e| crate::error::err!(Other, "starting the reading threads: {e}"))?
                    .install(walk)?,
                None => walk()?,
            }
        }
    };
    let tree = arch.saver.save_tree(&root_nodes, true)?;
    let tree: BlobId = *tree
        .first()
        .ok_or_else(|| crate::error::err!(Other, "empty root tree"))?;
    let (summary, failures, changed) = arch.summary(started);
    let mut skipped = std::mem::take(&mut *unpoisoned(&arch.skipped));
    skipped.sort();
    // Packs, then the index, then the snapshot.
    arch.saver.finish()?;
    let mut snapshot = Snapshot {
        version: VERSION,
        time: opts.time.unwrap_or(started),
        hostname,
        username: username(),
        paths,
        tags: opts.tags.clone(),
        tree,
        parent: parent.as_ref().map(|(id, _)| *id),
        program_version: format!("backstock {}", env!("CARGO_PKG_VERSION")),
        summary,
        original: None,
    };
    snapshot.summary.finished = Some(chrono::Local::now().fixed_offset());
    let id = if opts.dry_run {
        None
    } else {
        Some(repo.save_snapshot(&snapshot)?)
    };
    Ok(BackupResult {
        id,
        snapshot,
        failures,
        changed,
        skipped,
        parent: parent.map(|(id, _)| id),
    })
}

/// What a backup reads.
enum Source {
    /// Standard input, as one file of this name in the root.
    Stdin(Vec<u8>),
    /// The given paths, under a virtual root of their intermediate directories.
    Paths(Vec<top::Target>),
}

impl Source {
    /// The source `opts` names and the paths the snapshot records; checked before the repository
    /// is touched.
    fn of(opts: &BackupOptions) -> Result<(Source, Vec<String>)> {
        let (source, paths) = match opts.stdin_name.as_deref().map(stdin_node_name) {
            Some(name) => {
                let name = name?;
                let paths = vec![format!("/{}", String::from_utf8_lossy(&name))];
                (Source::Stdin(name), paths)
            }
            None => {
                let targets = opts
                    .paths
                    .iter()
                    .map(|p| top::Target::new(p))
                    .collect::<Result<Vec<_>>>()?;
                let paths = top::recorded_paths(&targets);
                (Source::Paths(targets), paths)
            }
        };
        if paths.is_empty() {
            bail!(
                InvalidInput,
                "nothing to back up: give at least one path (or --stdin)"
            );
        }
        for p in &opts.paths {
            if let Err(e) = std::fs::symlink_metadata(p) {
                bail!(NotFound, "cannot back up {}: {e}", p.display());
            }
        }
        Ok((source, paths))
    }
}

fn find_parent(
    repo: &Repository,
    opts: &BackupOptions,
    host: &str,
    paths: &[String],
) -> Result<Option<(SnapshotId, Snapshot)>> {
    if opts.force || opts.stdin_name.is_some() {
        return Ok(None);
    }
    if let Some(spec) = &opts.parent {
        return repo
            .find_snapshot(spec, &SnapshotFilter::default())
            .map(Some)
            .with_context(|| format!("finding parent snapshot {spec}"));
    }
    let mut want: Vec<&String> = paths.iter().collect();
    want.sort();
    Ok(repo.snapshots()?.into_iter().rev().find(|(_, s)| {
        let mut have: Vec<&String> = s.paths.iter().collect();
        have.sort();
        s.hostname == host && have == want
    }))
}

impl Archiver<'_> {
    /// The counters as the snapshot's summary, the files that could not be read, and those that
    /// changed while read (sorted).
    fn summary(
        &self,
        started: DateTime<FixedOffset>,
    ) -> (Summary, Vec<(String, String)>, Vec<String>) {
        let stats = &self.saver.stats;
        let c = &self.counters;
        let failures = std::mem::take(&mut *unpoisoned(&self.failures));
        let mut changed = std::mem::take(&mut *unpoisoned(&self.changed));
        changed.sort();
        let summary = Summary {
            files_new: c.files_new.load(Ordering::Relaxed),
            files_changed: c.files_changed.load(Ordering::Relaxed),
            files_unchanged: c.files_unchanged.load(Ordering::Relaxed),
            dirs_new: c.dirs_new.load(Ordering::Relaxed),
            dirs_changed: c.dirs_changed.load(Ordering::Relaxed),
            dirs_unchanged: c.dirs_unchanged.load(Ordering::Relaxed),
            bytes_read: c.bytes_read.load(Ordering::Relaxed),
            bytes_processed: c.bytes_processed.load(Ordering::Relaxed),
            bytes_added: stats.raw_bytes_added.load(Ordering::Relaxed),
            bytes_added_stored: stats.stored_bytes_added.load(Ordering::Relaxed),
            blobs_added: stats.blobs_added.load(Ordering::Relaxed),
            files_failed: failures.len() as u64,
            started: Some(started),
            finished: None,
        };
        (summary, failures, changed)
    }

    /// Saves standard input as file `name`, streamed batch by batch as large files are.
    fn save_stdin(&self, name: Vec<u8>, stdin: &mut dyn Read) -> Result<Node> {
        let (content, size) = self.stream(stdin)?.context("reading standard input")?;
        let now = chrono::Utc::now();
        self.counters.files_new.fetch_add(1, Ordering::Relaxed);
        Ok(Node {
            name,
            kind: NodeKind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: Timestamp {
                sec: now.timestamp(),
                nsec: now.timestamp_subsec_nanos(),
            },
            ctime: Timestamp::default(),
            inode: 0,
            device: 0,
            size,
            content,
            link_target: vec![],
            rdev: 0,
            links: 0,
            xattrs: vec![],
        })
    }

    fn save_blob(&self, data: &[u8], compress: bool) -> Result<BlobId> {
        Ok(self.saver.save(BlobType::Data, data, compress)?.0)
    }
}

#[cfg(test)]
#[path = "stdin_tests.rs"]
mod stdin_tests;
