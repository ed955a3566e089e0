//! The parallel directory walk: each directory's entries are saved on all cores, then its tree.
//!
//! Entries are reached through the descriptor of the directory that listed them (`statat`,
//! `openat`, `readlinkat`), never by path again, so a directory or file swapped for a symlink
//! after it was listed cannot lead the walk outside the backed-up tree.

use super::meta::{self, Meta};
use super::xattrs;
use super::Archiver;
use crate::error::Result;
use crate::format::tree::MAX_DEPTH;
use crate::format::tree::{Node, NodeKind};
use crate::ids::BlobId;
use rayon::prelude::*;
use rustix::fs::{Dir, FileType};
use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::Ordering;

/// Finds a node by name in a sorted node list.
pub(super) fn find<'n>(nodes: &'n [Node], name: &[u8]) -> Option<&'n Node> {
    nodes
        .binary_search_by(|n| n.name.as_slice().cmp(name))
        .ok()
        .map(|i| &nodes[i])
}

pub(super) fn join_rel(rel: &str, name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    if rel.is_empty() {
        name.into_owned()
    } else {
        format!("{rel}/{name}")
    }
}

impl Archiver<'_> {
    /// Saves the entry `name` of the open directory `dir` (file, directory or symlink). `path` is
    /// its path on disk (for messages and excludes), `rel` the parent's path in the snapshot.
    /// Returns `None` for excluded, unreadable or unsupported entries (failures are recorded).
    pub(super) fn save_entry(
        &self,
        dir: BorrowedFd<'_>,
        name: Vec<u8>,
        path: &Path,
        rel: &str,
        parent: Option<&Node>,
    ) -> Result<Option<Node>> {
        let rel_path = join_rel(rel, &name);
        if self.filter.excludes_path(&path.to_string_lossy()) {
            return Ok(None);
        }
        let meta = match meta::lstat_at(dir, &name) {
            Ok(m) => m,
            Err(e) => {
                self.fail(path, e);
                return Ok(None);
            }
        };
        match meta.file_type {
            // Readers stop at this depth, so nothing deeper is written.
            FileType::Directory if rel_path.matches('/').count() >= MAX_DEPTH => {
                self.fail(
                    path,
                    format!("directories nested deeper than {MAX_DEPTH} levels are not backed up"),
                );
                Ok(None)
            }
            FileType::Directory => self.save_dir(dir, name, path, &rel_path, &meta, parent),
            FileType::RegularFile if self.filter.excludes_size(&meta) => Ok(None),
            FileType::RegularFile => self.save_file(dir, path, name, &meta, parent),
            FileType::Symlink => match rustix::fs::readlinkat(dir, name.as_slice(), Vec::new()) {
                Ok(t) => {
                    let target = t.into_bytes();
                    if target.len() > u16::MAX as usize {
                        self.fail(path, "symlink target too long");
                        return Ok(None);
                    }
                    let node = meta.node(name, NodeKind::Symlink, vec![], target);
                    Ok(self.with_xattrs(dir, path, &meta, node))
                }
                Err(e) => {
                    self.fail(path, std::io::Error::from(e));
                    Ok(None)
                }
            },
            // Recorded, never opened: reading a FIFO would block, and opening a device can act
            // on it.
            FileType::Fifo
            | FileType::Socket
            | FileType::CharacterDevice
            | FileType::BlockDevice => {
                let kind = match meta.file_type {
                    FileType::Fifo => NodeKind::Fifo,
                    FileType::Socket => NodeKind::Socket,
                    FileType::CharacterDevice => NodeKind::CharDevice,
                    _ => NodeKind::BlockDevice,
                };
                let node = meta.node(name, kind, vec![], vec![]);
                Ok(self.with_xattrs(dir, path, &meta, node))
            }
            FileType::Unknown => {
                self.skip(path, "a file of an unknown type");
                Ok(None)
            }
        }
    }

    /// Adds the extended attributes of a symlink or special file, reached through an `O_PATH`
    /// descriptor checked to be the object listed. `None` when the name now leads elsewhere.
    fn with_xattrs(
        &self,
        dir: BorrowedFd<'_>,
        path: &Path,
        meta: &Meta,
        mut node: Node,
    ) -> Option<Node> {
        match meta::open_path_listed(dir, &node.name, meta) {
            Ok(fd) => {
                let (xattrs, problems) = xattrs::read(xattrs::Via::PathFd(fd.as_fd()));
                node.xattrs = xattrs;
                for p in problems {
                    self.fail(path, p);
                }
                Some(node)
            }
            Err(e) => {
                let replaced = meta::is_replaced(&e);
                self.fail(path, e);
                (!replaced).then_some(node)
            }
        }
    }

    fn save_dir(
        &self,
        dir: BorrowedFd<'_>,
        name: Vec<u8>,
        path: &Path,
        rel_path: &str,
        meta: &Meta,
        parent: Option<&Node>,
    ) -> Result<Option<Node>> {
        // A directory that cannot be opened is kept, empty, with the failure recorded; one that was
        // replaced after it was listed is left out.
        let fd = match meta::open_listed(dir, &name, meta) {
            Ok((fd, _)) => Some(fd),
            Err(e) => {
                let replaced = meta::is_replaced(&e);
                self.fail(path, e);
                if replaced {
                    return Ok(None);
                }
                None
            }
        };
        let parent_nodes = match parent {
            Some(p) if p.kind == NodeKind::Dir => match self.saver.repo().load_tree(&p.content) {
                Ok(n) => Some(n),
                Err(e) => {
                    crate::repository::log_warning(&format!(
                        "parent tree for {} unreadable, reading everything: {e:#}",
                        path.display()
                    ));
                    None
                }
            },
            _ => None,
        };
        let (children, xattrs) = match fd {
            Some(fd) => {
                let (xattrs, problems) = xattrs::read(xattrs::Via::Fd(fd.as_fd()));
                for p in problems {
                    self.fail(path, p);
                }
                let markers = self.filter.markers_in(fd.as_fd());
                let is_target = self.targets.contains(path);
                let nodes = if !markers.is_empty() {
                    // Excluded by a marker: kept with the markers only.
                    let mut kept = Vec::new();
                    for m in markers {
                        let pnode = parent_nodes.as_deref().and_then(|p| find(p, &m));
                        let p = path.join(OsStr::from_bytes(&m));
                        kept.extend(self.save_entry(fd.as_fd(), m, &p, rel_path, pnode)?);
                    }
                    kept
                } else if let Some(why) = self.filter.stop_at(meta, fd.as_fd(), is_target) {
                    self.skip(path, format!("its entries: {why}"));
                    Vec::new()
                } else {
                    self.dir_entries(fd.as_fd(), path, rel_path, parent_nodes.as_deref())?
                };
                (nodes, xattrs)
            }
            None => (Vec::new(), Vec::new()),
        };
        let content = self.saver.save_tree(&children, false)?;
        self.count_dir(parent, &content);
        let mut node = meta.node(name, NodeKind::Dir, content, vec![]);
        node.xattrs = xattrs;
        Ok(Some(node))
    }

    /// Counts a saved directory as new, changed or unchanged against its parent node.
    pub(super) fn count_dir(&self, parent: Option<&Node>, content: &[BlobId]) {
        let counter = match parent {
            None => &self.counters.dirs_new,
            Some(p) if p.kind == NodeKind::Dir && p.content == content => {
                &self.counters.dirs_unchanged
            }
            Some(_) => &self.counters.dirs_changed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Saves the entries of the open directory `dir` (at `dir_path` on disk) in parallel; returns
    /// their nodes sorted by name.
    pub(super) fn dir_entries(
        &self,
        dir: BorrowedFd<'_>,
        dir_path: &Path,
        rel: &str,
        parent: Option<&[Node]>,
    ) -> Result<Vec<Node>> {
        let mut names: Vec<Vec<u8>> = Vec::new();
        match Dir::read_from(dir) {
            Ok(mut listing) => {
                while let Some(e) = listing.read() {
                    match e {
                        Ok(e) => {
                            let name = e.file_name().to_bytes();
                            if name != b"." && name != b".." {
                                names.push(name.to_vec());
                            }
                        }
                        Err(e) => {
                            // The listing stops at its first error; what was read is kept.
                            self.fail(dir_path, std::io::Error::from(e));
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                self.fail(dir_path, std::io::Error::from(e));
                return Ok(Vec::new());
            }
        }
        names.sort_unstable();
        let nodes: Vec<Option<Node>> = names
            .into_par_iter()
            .map(|name| {
                let pnode = parent.and_then(|p| find(p, &name));
                let path = dir_path.join(OsStr::from_bytes(&name));
                self.save_entry(dir, name, &path, rel, pnode)
            })
            .collect::<Result<_>>()?;
        Ok(nodes.into_iter().flatten().collect())
    }
}
