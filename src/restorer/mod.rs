//! Restore: plan the blobs every selected file needs, make the directories (in order) and files
//! (in parallel), read each pack once and write chunks at their offsets, make the symlinks, then
//! set metadata (directories last, deepest first).
//!
//! Everything below the target is reached through directory handles and checked to be what the
//! restore made (see `handles`), so nothing swapped in while it runs can redirect it. Entries stay
//! mode 0600 (files) or 0700 (directories) until their metadata is applied; every step after the
//! target is opened records its problems and goes on, so the metadata is applied even when the
//! restore fails part way, and a file whose content is incomplete keeps mode 0600 and the
//! restore's time as mtime.

mod create;
mod data;
mod dry_run;
mod handles;
mod meta;
mod overwrite;
mod plan;
mod report;
mod special;
mod state;
mod verify;

pub use dry_run::{restore_dry_run, Action, DryRun, PlannedEntry};
pub use report::{Overwrite, RestoreError, RestoreOptions, RestoreProgress, RestoreSummary};

use crate::error::err;
use crate::error::{Context, Error, Result};
use crate::format::tree::{Node, NodeKind};
use crate::ids::BlobId;
use crate::pathmatch::PathMatcher;
use crate::repository::lock::LockGuard;
use crate::repository::Repository;
use crate::sync::unpoisoned;
use create::{Deleting, Made};
use handles::TargetDir;
use rayon::prelude::*;
use rustix::fs::OFlags;
use state::EntryState;
use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// One item to restore, with its path relative to the target.
pub(crate) struct Item {
    pub rel: PathBuf,
    /// Path inside the snapshot, for messages.
    pub snap_path: String,
    pub node: Node,
    /// The item of the directory holding it; `None` when it lies directly in the target.
    pub parent: Option<usize>,
    /// Whether everything below it is selected (not only what an include filter matched).
    pub whole: bool,
    /// For a file restored as another name of an earlier selected file (a hard link), that
    /// file's item; its content is not written again.
    pub link_to: Option<usize>,
}

impl Item {
    fn name(&self) -> &OsStr {
        OsStr::from_bytes(&self.node.name)
    }
}

/// Directory handles kept open along the path of the directory last made, so that its
/// subdirectories need no new lookup; deeper ones are reopened when needed.
const CHAIN_MAX: usize = 64;

/// Entries made per task when files and symlinks are created in parallel (one parent lookup each).
const BATCH: usize = 256;

/// Restores `root:subpath` into `opts.target`. The caller holds `_lock`, taken before it loaded the
/// index and found the snapshot.
pub fn restore(
    repo: &Repository,
    _lock: &LockGuard,
    root: &BlobId,
    subpath: &str,
    opts: &RestoreOptions,
    progress: &RestoreProgress,
) -> Result<RestoreSummary> {
    let node = repo.find_node(root, subpath)?.ok_or_else(|| {
        crate::error::err!(NotFound, "{subpath:?} does not exist in the snapshot")
    })?;
    let includes = PathMatcher::with_insensitive(&opts.includes, &opts.iincludes)?;
    let excludes = PathMatcher::with_insensitive(&opts.excludes, &opts.iexcludes)?;
    let mut sel = plan::select(repo, node, subpath, &includes, &excludes)?;
    special::link_hardlinks(&mut sel.items);
    // Archived packs are found (and their restore requested) before the target is touched.
    let contents = sel
        .items
        .iter()
        .filter(|i| i.node.kind == NodeKind::File && i.link_to.is_none())
        .flat_map(|i| i.node.content.iter());
    let needed = crate::repository::archive::packs_of(repo, contents);
    crate::repository::archive::make_readable(repo, &needed, &opts.thaw)?;
    // A new target that takes the selected directory's metadata stays private until then.
    let mode = if sel.target_node.is_some() {
        0o700
    } else {
        0o777
    };
    let (target, created) = TargetDir::open(&opts.target, mode)?;
    let states: Vec<EntryState> = sel.items.iter().map(|_| EntryState::default()).collect();
    let run = Run {
        opts,
        includes: &includes,
        excludes: &excludes,
        target: &target,
        items: &sel.items,
        states: &states,
        errors: Mutex::new(std::mem::take(&mut sel.errors)),
        warnings: Mutex::default(),
        deleted: AtomicU64::new(0),
        verified: AtomicU64::new(0),
    };

    run.make_dirs(sel.target_is_dir, &sel.base);
    run.make_files();
    let packs = plan::by_pack(repo, &sel.items, &states);
    let total = sel
        .items
        .iter()
        .filter(|i| i.node.kind == NodeKind::File && i.link_to.is_none())
        .map(|i| i.node.size)
        .sum();
    progress.total_bytes.store(total, Ordering::Relaxed);
    let writer = data::Writer {
        repo,
        target: &target,
        items: &sel.items,
        states: &states,
        progress,
        sparse: opts.sparse,
    };
    data::write_all(&writer, &packs);
    run.make_symlinks();
    run.make_specials();
    run.file_metadata();
    run.make_hardlinks();
    if opts.verify {
        run.verify(repo);
    }
    run.dir_metadata();
    run.target_metadata(created, sel.target_node.as_ref(), &sel.base);
    Ok(run.summary())
}

/// The names each directory (`None`: the target) gets from the selection.
pub(super) fn children_of(items: &[Item]) -> HashMap<Option<usize>, HashSet<&[u8]>> {
    let mut m: HashMap<Option<usize>, HashSet<&[u8]>> = HashMap::new();
    for it in items {
        m.entry(it.parent).or_default().insert(&it.node.name);
    }
    m
}

/// A parent directory handle: the target's, or one opened for the occasion.
enum Handle<'a> {
    Borrowed(BorrowedFd<'a>),
    Owned(OwnedFd),
}

impl Handle<'_> {
    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Handle::Borrowed(b) => *b,
            Handle::Owned(o) => o.as_fd(),
        }
    }
}

struct Run<'a> {
    opts: &'a RestoreOptions,
    includes: &'a PathMatcher,
    excludes: &'a PathMatcher,
    target: &'a TargetDir,
    items: &'a [Item],
    states: &'a [EntryState],
    errors: Mutex<Vec<RestoreError>>,
    warnings: Mutex<Vec<RestoreError>>,
    deleted: AtomicU64,
    verified: AtomicU64,
}

impl<'a> Run<'a> {
    fn error(&self, e: impl Into<RestoreError>) {
        unpoisoned(&self.errors).push(e.into());
    }

    fn warn(&self, e: impl Into<RestoreError>) {
        unpoisoned(&self.warnings).push(e.into());
    }

    /// Records the extended attributes of the entry at `snap_path` that could not be set, as
    /// warnings.
    fn refused_xattrs(&self, snap_path: &str, refused: Vec<meta::XattrRefused>) {
        for r in refused {
            self.warn(RestoreError::at(snap_path, err!(Other, "{r}")));
        }
    }

    fn deleting(&self) -> Deleting<'_> {
        Deleting {
            allowed: self.opts.delete,
            count: &self.deleted,
        }
    }

    /// Opens the directory holding entries of `parent` (`None`: the target). `Ok(None)` when that
    /// directory was not restored (its own error says why).
    fn open_parent(&self, parent: Option<usize>) -> Result<Option<Handle<'a>>> {
        let Some(p) = parent else {
            return Ok(Some(Handle::Borrowed(self.target.fd())));
        };
        let Some(&ident) = self.states[p].ident.get() else {
            return Ok(None);
        };
        let fd = self.target.open_checked(
            &self.items[p].rel,
            OFlags::PATH | OFlags::DIRECTORY,
            ident,
        )?;
        Ok(Some(Handle::Owned(fd)))
    }

    fn conflict(&self, it: &Item, kind: &str) {
        self.error(RestoreError::at(
            &it.snap_path,
            err!(
                InvalidInput,
                "{} is {kind} in the target, where the snapshot has a {}; left alone (restore \
                 with --delete to replace it)",
                self.target.show(&it.rel).display(),
                it.node.kind.describe()
            ),
        ));
    }

    /// Makes the directories, parents first, each through its parent's handle. With `--delete`,
    /// the target (when it stands for a directory) and every directory that already existed lose
    /// the entries the snapshot does not have.
    fn make_dirs(&self, target_is_dir: bool, base: &str) {
        let children = if self.opts.delete {
            self.children()
        } else {
            HashMap::new()
        };
        if self.opts.delete && target_is_dir {
            self.tidy(self.target.fd(), None, base, &children);
        }
        let flags = if self.opts.delete {
            OFlags::RDONLY
        } else {
            OFlags::PATH
        };
        let mut chain: Vec<(usize, OwnedFd)> = Vec::new();
        for (i, it) in self.items.iter().enumerate() {
            if it.node.kind != NodeKind::Dir {
                continue;
            }
            if let Some(p) = it.parent {
                while chain.last().is_some_and(|(c, _)| *c != p) {
                    chain.pop();
                }
            } else {
                chain.clear();
            }
            let opened;
            let parent = match chain.last() {
                Some((_, fd)) => fd.as_fd(),
                None => match self.open_parent(it.parent) {
                    Ok(Some(h)) => {
                        opened = h;
                        opened.fd()
                    }
                    Ok(None) => continue,
                    Err(e) => {
                        self.error(RestoreError::at(&it.snap_path, e));
                        continue;
                    }
                },
            };
            match create::make_dir(parent, it.name(), flags, &self.deleting()) {
                Ok(Made::Ready { ident, existed, fd }) => {
                    let _ = self.states[i].ident.set(ident);
                    if let Some(fd) = fd {
                        if existed && self.opts.delete {
                            self.tidy(fd.as_fd(), Some(i), &it.snap_path, &children);
                        }
                        if chain.len() < CHAIN_MAX {
                            chain.push((i, fd));
                        }
                    }
                }
                Ok(Made::Conflict(kind)) => self.conflict(it, kind),
                Err(e) => self.error(RestoreError::at(
                    &it.snap_path,
                    Error::from(e).context(format!(
                        "creating directory {}",
                        self.target.show(&it.rel).display()
                    )),
                )),
            }
        }
    }

    /// The names each directory (`None`: the target) gets from the snapshot.
    fn children(&self) -> HashMap<Option<usize>, HashSet<&'a [u8]>> {
        children_of(self.items)
    }

    /// `--delete`: removes the entries of a restored directory that the snapshot does not have,
    /// leaving those the filters exclude.
    fn tidy(
        &self,
        dir: BorrowedFd<'_>,
        item: Option<usize>,
        snap_dir: &str,
        children: &HashMap<Option<usize>, HashSet<&[u8]>>,
    ) {
        let shown = self
            .target
            .show(&item.map(|i| self.items[i].rel.clone()).unwrap_or_default());
        let names = match create::list(dir) {
            Ok(n) => n,
            Err(e) => {
                self.error(
                    Error::from(e).context(format!("listing {} for --delete", shown.display())),
                );
                return;
            }
        };
        let whole = item.map_or(self.includes.is_empty(), |i| self.items[i].whole);
        let keep = children.get(&item);
        for name in names {
            let bytes = name.as_bytes();
            if keep.is_some_and(|k| k.contains(bytes)) {
                continue;
            }
            let lossy = String::from_utf8_lossy(bytes);
            let snap_path = if snap_dir.is_empty() {
                lossy.into_owned()
            } else {
                format!("{snap_dir}/{lossy}")
            };
            if self.excludes.matches(&snap_path) || !(whole || self.includes.matches(&snap_path)) {
                continue;
            }
            match create::remove_entry(dir, &name) {
                Ok(()) => {
                    self.deleted.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => self.error(Error::from(e).context(format!(
                    "--delete: removing {}",
                    shown.join(OsStr::from_bytes(bytes)).display()
                ))),
            }
        }
    }

    /// The items `pick` chooses, grouped by parent directory in batches.
    fn batches(&self, pick: impl Fn(&Item) -> bool) -> Vec<(Option<usize>, Vec<usize>)> {
        let mut groups: HashMap<Option<usize>, Vec<usize>> = HashMap::new();
        for (i, it) in self.items.iter().enumerate() {
            if pick(it) {
                groups.entry(it.parent).or_default().push(i);
            }
        }
        groups
            .into_iter()
            .flat_map(|(p, v)| v.chunks(BATCH).map(|c| (p, c.to_vec())).collect::<Vec<_>>())
            .collect()
    }

    /// Runs `make` for every item `pick` chooses with its parent's handle, in parallel.
    fn in_parents(
        &self,
        pick: impl Fn(&Item) -> bool,
        make: impl Fn(BorrowedFd<'_>, usize) + Sync,
    ) {
        self.batches(pick)
            .par_iter()
            .for_each(|(parent, idxs)| match self.open_parent(*parent) {
                Ok(Some(h)) => idxs.iter().for_each(|&i| make(h.fd(), i)),
                Ok(None) => {}
                Err(e) => self.error(Error::new(
                    e.kind(),
                    format!("{e:#}; {} entries in it are not restored", idxs.len()),
                )),
            })
    }

    /// Creates every file empty, mode 0600, at its size (hard links to another come later);
    /// leaves the files `--overwrite` keeps.
    fn make_files(&self) {
        let pick = |it: &Item| it.node.kind == NodeKind::File && it.link_to.is_none();
        self.in_parents(pick, |parent, i| {
            let it = &self.items[i];
            if self.keep_existing(parent, i) {
                return;
            }
            match create::make_file(parent, it.name(), it.node.size, &self.deleting()) {
                Ok(Made::Ready { ident, .. }) => {
                    let _ = self.states[i].ident.set(ident);
                }
                Ok(Made::Conflict(kind)) => self.conflict(it, kind),
                Err(e) => self.error(RestoreError::at(
                    &it.snap_path,
                    Error::from(e)
                        .context(format!("creating {}", self.target.show(&it.rel).display())),
                )),
            }
        });
    }

    /// Creates the symlinks, after the file contents, with their owner and times.
    fn make_symlinks(&self) {
        self.in_parents(
            |it| it.node.kind == NodeKind::Symlink,
            |parent, i| {
                let it = &self.items[i];
                let shown = self.target.show(&it.rel);
                let link = OsStr::from_bytes(&it.node.link_target);
                match create::make_symlink(parent, it.name(), link, &self.deleting()) {
                    Ok(Made::Ready { ident, .. }) => {
                        let _ = self.states[i].ident.set(ident);
                        self.entry_metadata(parent, i, ident);
                    }
                    Ok(Made::Conflict(kind)) => self.conflict(it, kind),
                    Err(e) => self.error(RestoreError::at(
                        &it.snap_path,
                        Error::from(e).context(format!("creating symlink {}", shown.display())),
                    )),
                }
            },
        );
    }

    /// Owner, mode and times of every file made (a file with incomplete content gets mode 0600
    /// and keeps the restore's time), then fsync with `--sync`. Names each incomplete file.
    fn file_metadata(&self) {
        let files: Vec<usize> = (0..self.items.len())
            .filter(|&i| {
                self.items[i].node.kind == NodeKind::File && self.items[i].link_to.is_none()
            })
            .collect();
        files.par_iter().for_each(|&i| {
            let (it, st) = (&self.items[i], &self.states[i]);
            let Some(&ident) = st.ident.get() else {
                return;
            };
            if !st.failed() && st.remaining.load(Ordering::Acquire) != 0 {
                st.fail("not all of its content was written".into());
            }
            let how = if st.failed() {
                meta::Apply::Partial
            } else {
                meta::Apply::Complete
            };
            let shown = self.target.show(&it.rel);
            let res = self
                .target
                .open_checked(&it.rel, OFlags::RDONLY | OFlags::NONBLOCK, ident)
                .and_then(|fd| {
                    let refused = meta::apply(fd.as_fd(), &it.node, how)
                        .with_context(|| format!("setting metadata of {}", shown.display()))?;
                    self.refused_xattrs(&it.snap_path, refused);
                    if self.opts.sync {
                        rustix::fs::fsync(&fd)
                            .with_context(|| format!("syncing {}", shown.display()))?;
                    }
                    Ok(())
                });
            match (st.failure.get(), res) {
                (Some(why), Ok(())) => self.error(RestoreError::at(
                    &it.snap_path,
                    err!(
                        Other,
                        "incomplete: {why}; kept as {} with mode 0600 and the restore's time as \
                         mtime",
                        shown.display()
                    ),
                )),
                (Some(why), Err(e)) => {
                    let e = if *why == format!("{e:#}") {
                        e
                    } else {
                        Error::new(e.kind(), format!("incomplete: {why}; {e:#}"))
                    };
                    self.error(RestoreError::at(&it.snap_path, e))
                }
                (None, Err(e)) => {
                    st.fail(format!("{e:#}"));
                    self.error(RestoreError::at(&it.snap_path, e));
                }
                (None, Ok(())) => {}
            }
        });
    }

    /// Owner, mode and times of every directory made or taken over, deepest first (making entries
    /// in a directory changes its mtime), then fsync with `--sync`.
    fn dir_metadata(&self) {
        let mut dirs: Vec<usize> = (0..self.items.len())
            .filter(|&i| self.items[i].node.kind == NodeKind::Dir)
            .collect();
        dirs.sort_by_key(|&i| std::cmp::Reverse(self.items[i].rel.components().count()));
        for i in dirs {
            let (it, st) = (&self.items[i], &self.states[i]);
            let Some(&ident) = st.ident.get() else {
                continue;
            };
            let shown = self.target.show(&it.rel);
            let res = self
                .target
                .open_checked(&it.rel, OFlags::RDONLY | OFlags::DIRECTORY, ident)
                .and_then(|fd| {
                    self.finish_dir(fd.as_fd(), Some((&it.node, &it.snap_path)), &shown)
                });
            if let Err(e) = res {
                st.fail(format!("{e:#}"));
                self.error(RestoreError::at(&it.snap_path, e));
            }
        }
    }

    /// Applies the metadata of `node` (if given, with its path in the snapshot) to an open
    /// directory, then fsyncs it with `--sync`.
    fn finish_dir(
        &self,
        fd: BorrowedFd<'_>,
        node: Option<(&Node, &str)>,
        shown: &std::path::Path,
    ) -> Result<()> {
        if let Some((n, snap_path)) = node {
            let refused = meta::apply(fd, n, meta::Apply::Complete)
                .with_context(|| format!("setting metadata of {}", shown.display()))?;
            self.refused_xattrs(snap_path, refused);
        }
        if self.opts.sync {
            rustix::fs::fsync(fd).with_context(|| format!("syncing {}", shown.display()))?;
        }
        Ok(())
    }

    /// The target's own metadata is the selected directory's only when this restore created the
    /// target: an existing directory (a home directory, say) keeps its owner and mode.
    fn target_metadata(&self, created: bool, node: Option<&Node>, base: &str) {
        let node = node.filter(|_| created).map(|n| (n, base));
        let shown = self.target.show(std::path::Path::new(""));
        if let Err(e) = self.finish_dir(self.target.fd(), node, &shown) {
            self.error(e);
        }
        if self.opts.sync && created {
            // The new target's own entry lives in its parent.
            let parent = shown.parent().filter(|p| !p.as_os_str().is_empty());
            let parent = parent.unwrap_or(std::path::Path::new("."));
            let synced = std::fs::File::open(parent).and_then(|f| f.sync_all());
            if let Err(e) = synced {
                self.error(Error::from(e).context(format!("syncing {}", parent.display())));
            }
        }
    }

    fn summary(self) -> RestoreSummary {
        let mut s = RestoreSummary {
            deleted: self.deleted.load(Ordering::Relaxed),
            verified: self.verified.load(Ordering::Relaxed),
            ..Default::default()
        };
        for (it, st) in self.items.iter().zip(self.states) {
            if st.skipped.load(Ordering::Relaxed) {
                match it.node.kind {
                    NodeKind::File => s.files_kept += 1,
                    _ => s.specials_skipped += 1,
                }
                continue;
            }
            let ok = st.complete();
            let (done, failed) = match it.node.kind {
                NodeKind::Dir => (&mut s.dirs, &mut s.dirs_failed),
                NodeKind::File => (&mut s.files, &mut s.files_failed),
                NodeKind::Symlink => (&mut s.symlinks, &mut s.symlinks_failed),
                _ => (&mut s.specials, &mut s.specials_failed),
            };
            if ok {
                *done += 1;
                match (it.node.kind, it.link_to) {
                    (NodeKind::File, None) => s.bytes += it.node.size,
                    (NodeKind::File, Some(_)) => s.hardlinks += 1,
                    _ => {}
                }
            } else {
                *failed += 1;
            }
        }
        s.errors = self.errors.into_inner().unwrap_or_else(|e| e.into_inner());
        s.warnings = self
            .warnings
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        s
    }
}
