//! The parallel directory walk: each directory's entries are saved on all cores, then its tree.

use super::Archiver;
use crate::format::tree::{Node, NodeKind, Timestamp};
use crate::ids::BlobId;
use anyhow::Result;
use rayon::prelude::*;
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// Finds a node by name in a sorted node list.
pub(super) fn find<'n>(nodes: &'n [Node], name: &[u8]) -> Option<&'n Node> {
    nodes
        .binary_search_by(|n| n.name.as_slice().cmp(name))
        .ok()
        .map(|i| &nodes[i])
}

pub(super) fn node_from_meta(
    name: Vec<u8>,
    kind: NodeKind,
    meta: &Metadata,
    content: Vec<BlobId>,
    link_target: Vec<u8>,
) -> Node {
    Node {
        name,
        kind,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        mtime: Timestamp {
            sec: meta.mtime(),
            nsec: meta.mtime_nsec().clamp(0, 999_999_999) as u32,
        },
        ctime: Timestamp {
            sec: meta.ctime(),
            nsec: meta.ctime_nsec().clamp(0, 999_999_999) as u32,
        },
        inode: meta.ino(),
        device: meta.dev(),
        size: if kind == NodeKind::File {
            meta.len()
        } else {
            0
        },
        content,
        link_target,
    }
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
    /// Saves one entry (file, directory or symlink). `rel` is the parent's path for exclude matching.
    /// Returns `None` for excluded, unreadable or unsupported entries (failures are recorded).
    pub(super) fn save_entry(
        &self,
        path: &Path,
        name: Vec<u8>,
        rel: &str,
        parent: Option<&Node>,
    ) -> Result<Option<Node>> {
        // Patterns match the path inside the snapshot, or the absolute path on disk.
        let rel_path = join_rel(rel, &name);
        if self.excludes.matches(&rel_path) || self.excludes.matches(&path.to_string_lossy()) {
            return Ok(None);
        }
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.fail(path, e);
                return Ok(None);
            }
        };
        let ft = meta.file_type();
        if ft.is_dir() {
            let parent_nodes = match parent {
                Some(p) if p.kind == NodeKind::Dir => match self.saver.repo().load_tree(&p.content)
                {
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
            let children = self.dir_entries(path, &rel_path, parent_nodes.as_deref())?;
            let content = self.saver.save_tree(&children, false)?;
            self.count_dir(parent, &content);
            Ok(Some(node_from_meta(
                name,
                NodeKind::Dir,
                &meta,
                content,
                vec![],
            )))
        } else if ft.is_file() {
            self.save_file(path, name, &meta, parent)
        } else if ft.is_symlink() {
            match std::fs::read_link(path) {
                Ok(t) => {
                    let target = t.as_os_str().as_bytes().to_vec();
                    if target.len() > u16::MAX as usize {
                        self.fail(path, "symlink target too long");
                        return Ok(None);
                    }
                    Ok(Some(node_from_meta(
                        name,
                        NodeKind::Symlink,
                        &meta,
                        vec![],
                        target,
                    )))
                }
                Err(e) => {
                    self.fail(path, e);
                    Ok(None)
                }
            }
        } else {
            // Sockets, FIFOs and device nodes are not backed up.
            Ok(None)
        }
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

    /// Saves a directory's entries in parallel; returns their nodes sorted by name.
    pub(super) fn dir_entries(
        &self,
        dir: &Path,
        rel: &str,
        parent: Option<&[Node]>,
    ) -> Result<Vec<Node>> {
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => {
                self.fail(dir, e);
                return Ok(Vec::new());
            }
        };
        let mut entries: Vec<(Vec<u8>, PathBuf)> = Vec::new();
        for e in rd {
            match e {
                Ok(e) => entries.push((e.file_name().as_bytes().to_vec(), e.path())),
                Err(e) => self.fail(dir, e),
            }
        }
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let nodes: Vec<Option<Node>> = entries
            .into_par_iter()
            .map(|(name, path)| {
                let pnode = parent.and_then(|p| find(p, &name));
                self.save_entry(&path, name, rel, pnode)
            })
            .collect::<Result<_>>()?;
        Ok(nodes.into_iter().flatten().collect())
    }
}
