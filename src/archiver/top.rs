//! The top of a snapshot: which directories the given paths appear under in the root tree, and
//! saving those intermediate directories with only the children that were asked for.
//!
//! A path appears under its own components as given, without a leading `/` (`store` as `store`,
//! `/srv/shop` as `srv/shop`, `.` or `/` as the root itself); the snapshot records the absolute
//! path separately (`recorded_paths`).

use super::meta;
use super::walk;
use super::Archiver;
use crate::error::bail;
use crate::error::{Context, Result};
use crate::format::tree::{Node, NodeKind};
use crate::repository::snapshots::absolute_path;
use std::collections::{BTreeMap, HashSet};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// One path to back up.
pub(super) struct Target {
    /// The components under which it appears in the snapshot root (empty for `.` or `/`).
    comps: Vec<Vec<u8>>,
    /// Its absolute path: the working directory joined with it, `.` and a trailing `/` removed.
    abs: PathBuf,
}

impl Target {
    pub fn new(p: &Path) -> Result<Target> {
        let mut comps = Vec::new();
        for c in p.components() {
            match c {
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
                Component::ParentDir => bail!(
                    InvalidInput,
                    "{}: paths with '..' are refused; give the path without '..' (e.g. an absolute path)",
                    p.display()
                ),
                Component::Normal(n) => comps.push(n.as_bytes().to_vec()),
            }
        }
        let abs = absolute_path(p).with_context(|| format!("resolving {}", p.display()))?;
        Ok(Target { comps, abs })
    }
}

impl Target {
    /// Its absolute path.
    pub fn abs(&self) -> &Path {
        &self.abs
    }
}

/// The devices the given paths are on (those `stat` reaches).
pub(super) fn devices(targets: &[Target]) -> HashSet<u64> {
    targets
        .iter()
        .filter_map(|t| meta::stat_path(&t.abs).ok())
        .map(|m| m.dev)
        .collect()
}

/// The snapshot's `paths`: each target's absolute path, once, in the order given.
pub(super) fn recorded_paths(targets: &[Target]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(targets.len());
    for t in targets {
        let p = t.abs.display().to_string();
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// A directory of the snapshot's top: intermediate directories of the given paths, and the paths.
#[derive(Default)]
pub(super) struct TopDir {
    real: Option<PathBuf>,
    is_target: bool,
    children: BTreeMap<Vec<u8>, TopDir>,
}

impl TopDir {
    pub fn new(targets: &[Target]) -> TopDir {
        let mut top = TopDir::default();
        for t in targets {
            if t.comps.is_empty() {
                // "/" or ".": the directory's own entries form the root.
                top.real = Some(t.abs.clone());
                top.is_target = true;
                continue;
            }
            // `abs` ends with the components, so the real directory behind component i is `abs`
            // with the components after i removed.
            let mut d = &mut top;
            for (i, c) in t.comps.iter().enumerate() {
                d = d.children.entry(c.clone()).or_default();
                if d.real.is_none() {
                    let mut real = t.abs.clone();
                    for _ in i + 1..t.comps.len() {
                        real.pop();
                    }
                    d.real = Some(real);
                }
            }
            d.real = Some(t.abs.clone());
            d.is_target = true;
        }
        top
    }
}

impl Archiver<'_> {
    /// `prefix` is this virtual directory's path in the snapshot ("" for the root).
    pub(super) fn save_top(
        &self,
        top: &TopDir,
        parent: Option<&[Node]>,
        prefix: &str,
    ) -> Result<Vec<Node>> {
        if top.is_target {
            if let Some(real) = &top.real {
                // Backing up "/" or ".": the directory's entries are the root's entries.
                return match meta::open_dir_path(real) {
                    Ok(fd) => self.dir_entries(fd.as_fd(), real, prefix, parent),
                    Err(e) => {
                        self.fail(real, e);
                        Ok(Vec::new())
                    }
                };
            }
        }
        let mut nodes = Vec::new();
        for (name, child) in &top.children {
            let real = child.real.as_deref().unwrap_or(Path::new("/"));
            let pnode = parent.and_then(|p| walk::find(p, name));
            let node = if child.is_target {
                self.save_target(real, name.clone(), prefix, pnode)?
            } else {
                // An intermediate directory: its metadata, and only the children that were asked for.
                let meta =
                    meta::stat_path(real).with_context(|| format!("reading {}", real.display()))?;
                let sub_parent = match pnode {
                    Some(n) if n.kind == NodeKind::Dir => {
                        Some(self.saver.repo().load_tree(&n.content)?)
                    }
                    _ => None,
                };
                let path = walk::join_rel(prefix, name);
                let children = self.save_top(child, sub_parent.as_deref(), &path)?;
                let content = self.saver.save_tree(&children, false)?;
                self.count_dir(pnode, &content);
                Some(meta.node(name.clone(), NodeKind::Dir, content, vec![]))
            };
            nodes.extend(node);
        }
        Ok(nodes)
    }

    /// A given path: saved as an entry of its parent directory, which is opened as the user named
    /// it (symlinks above the path are followed; the path itself is not).
    fn save_target(
        &self,
        real: &Path,
        name: Vec<u8>,
        prefix: &str,
        pnode: Option<&Node>,
    ) -> Result<Option<Node>> {
        let dir = real.parent().unwrap_or(Path::new("/"));
        match meta::open_parent_path(dir) {
            Ok(fd) => self.save_entry(fd.as_fd(), name, real, prefix, pnode),
            Err(e) => {
                self.fail(real, e);
                Ok(None)
            }
        }
    }
}
