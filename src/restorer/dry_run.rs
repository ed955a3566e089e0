//! `restore --dry-run`: what a restore would do to each entry of the target, found with `lstat`
//! and directory listings only. Nothing is created, changed or removed, and no archived pack is
//! asked to be restored.

use super::{children_of, plan, special, Item, RestoreOptions};
use crate::error::{err, Result};
use crate::format::tree::NodeKind;
use crate::ids::BlobId;
use crate::pathmatch::PathMatcher;
use crate::repository::Repository;
use std::collections::{HashMap, HashSet};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// What a restore would do with one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Nothing is there: it would be made.
    Create,
    /// A directory is there: it would be taken over (metadata set).
    Update,
    /// Something of a kind that can be replaced is there: it would be replaced.
    Replace,
    /// A file is there that `--overwrite` keeps.
    Keep,
    /// Something of another kind is there: left alone (replaced with `--delete`).
    Conflict,
    /// An entry of the target the snapshot does not have: removed by `--delete`.
    Delete,
    /// A socket: recorded, never made.
    Skip,
}

/// One entry of a dry run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlannedEntry {
    /// Path inside the snapshot (for `delete`, the target's entry as it would be named there).
    pub path: String,
    /// What would happen to it.
    pub action: Action,
    /// What the snapshot has there (`None` for `delete`).
    #[serde(rename = "type")]
    pub kind: Option<NodeKind>,
    /// Bytes of content the restore would write for it.
    pub bytes: u64,
}

/// Every entry a restore would touch, in walk order, and the bytes it would write.
#[derive(Debug, Default, serde::Serialize)]
pub struct DryRun {
    /// Each entry, in walk order; deletions after the directory they are found in.
    pub entries: Vec<PlannedEntry>,
    /// Content bytes to write (kept files, hard links and specials need none).
    pub bytes: u64,
}

impl DryRun {
    /// How many entries would get `action`.
    pub fn count(&self, action: Action) -> usize {
        self.entries.iter().filter(|e| e.action == action).count()
    }
}

/// What restoring `root:subpath` with `opts` into `opts.target` would do.
pub fn restore_dry_run(
    repo: &Repository,
    _lock: &crate::repository::lock::LockGuard,
    root: &BlobId,
    subpath: &str,
    opts: &RestoreOptions,
) -> Result<DryRun> {
    let node = repo
        .find_node(root, subpath)?
        .ok_or_else(|| err!(NotFound, "{subpath:?} does not exist in the snapshot"))?;
    let includes = PathMatcher::with_insensitive(&opts.includes, &opts.iincludes)?;
    let excludes = PathMatcher::with_insensitive(&opts.excludes, &opts.iexcludes)?;
    let mut sel = plan::select(repo, node, subpath, &includes, &excludes)?;
    special::link_hardlinks(&mut sel.items);
    let mut out = DryRun::default();
    // Per item: whether the directory it stands for exists in the target now.
    let mut exists: Vec<bool> = Vec::with_capacity(sel.items.len());
    let children = children_of(&sel.items);
    let target_exists = opts.target.is_dir();
    if opts.delete && sel.target_is_dir && target_exists {
        deletions(
            &opts.target,
            None,
            &sel.base,
            &children,
            &sel.items,
            &excludes,
            &includes,
            &mut out,
        );
    }
    for (i, it) in sel.items.iter().enumerate() {
        let parent_there = match it.parent {
            Some(p) => exists[p],
            None => target_exists,
        };
        let path = opts.target.join(&it.rel);
        let found = if parent_there {
            std::fs::symlink_metadata(&path).ok()
        } else {
            None
        };
        let is_dir = it.node.kind == NodeKind::Dir;
        let action = match &found {
            _ if it.node.kind == NodeKind::Socket => Action::Skip,
            None => Action::Create,
            Some(m) if m.is_dir() && is_dir => Action::Update,
            Some(m) if m.is_dir() || is_dir => {
                if opts.delete {
                    Action::Replace
                } else {
                    Action::Conflict
                }
            }
            Some(m) if it.node.kind == NodeKind::File && it.link_to.is_none() => {
                let mtime = (m.mtime(), m.mtime_nsec().clamp(0, 999_999_999) as u32);
                if m.is_file() && opts.overwrite.keeps(m.len(), mtime, &it.node) {
                    Action::Keep
                } else {
                    Action::Replace
                }
            }
            Some(_) => Action::Replace,
        };
        exists.push(action == Action::Update);
        let writes = it.node.kind == NodeKind::File
            && it.link_to.is_none()
            && matches!(action, Action::Create | Action::Replace);
        let bytes = if writes { it.node.size } else { 0 };
        out.bytes += bytes;
        out.entries.push(PlannedEntry {
            path: it.snap_path.clone(),
            action,
            kind: Some(it.node.kind),
            bytes,
        });
        if opts.delete && action == Action::Update {
            deletions(
                &path,
                Some(i),
                &it.snap_path,
                &children,
                &sel.items,
                &excludes,
                &includes,
                &mut out,
            );
        }
    }
    Ok(out)
}

/// The entries of the existing directory `dir` that `--delete` would remove: those the snapshot
/// does not have there and the filters select.
#[allow(clippy::too_many_arguments)]
fn deletions(
    dir: &Path,
    item: Option<usize>,
    snap_dir: &str,
    children: &HashMap<Option<usize>, HashSet<&[u8]>>,
    items: &[Item],
    excludes: &PathMatcher,
    includes: &PathMatcher,
    out: &mut DryRun,
) {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return;
    };
    let whole = item.map_or(includes.is_empty(), |i| items[i].whole);
    let keep = children.get(&item);
    let mut names: Vec<Vec<u8>> = listing
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().as_bytes().to_vec())
        .filter(|n| !keep.is_some_and(|k| k.contains(n.as_slice())))
        .collect();
    names.sort();
    for name in names {
        let lossy = String::from_utf8_lossy(&name);
        let path = if snap_dir.is_empty() {
            lossy.into_owned()
        } else {
            format!("{snap_dir}/{lossy}")
        };
        if excludes.matches(&path) || !(whole || includes.matches(&path)) {
            continue;
        }
        out.entries.push(PlannedEntry {
            path,
            action: Action::Delete,
            kind: None,
            bytes: 0,
        });
    }
}
