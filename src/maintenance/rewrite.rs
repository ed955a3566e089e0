//! `rewrite`: new snapshots without the paths that match exclude patterns. Only directories on
//! the way to a removed entry get new trees; everything else keeps its tree and data blobs, and no
//! file is read. The new snapshot keeps the original's time, host, paths and tags and gets the tag
//! `rewrite`; with `forget` the original is deleted (a prune then frees what only it used).

use crate::backend::FileType;
use crate::error::{err, Context, Result};
use crate::format::tree::Node;
use crate::ids::{BlobId, SnapshotId};
use crate::pathmatch::PathMatcher;
use crate::repository::lock::LockKind;
use crate::repository::saver::BlobSaver;
use crate::repository::snapshots::SnapshotFilter;
use crate::repository::walk::{walk, Dir, Visitor};
use crate::repository::Repository;
use std::collections::HashMap;

/// The tag a rewritten snapshot carries.
pub const REWRITE_TAG: &str = "rewrite";

/// What `rewrite` removes and keeps.
#[derive(Debug, Clone, Default)]
pub struct RewriteOptions {
    /// Patterns of paths to remove (restic's meaning, matched against the path in the snapshot).
    pub excludes: Vec<String>,
    /// [`Self::excludes`] that ignore case.
    pub iexcludes: Vec<String>,
    /// Delete each original once its rewrite is saved.
    pub forget: bool,
    /// Report what would be removed; write and delete nothing.
    pub dry_run: bool,
}

/// One snapshot that had matching paths.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rewritten {
    /// The snapshot as it was.
    pub old: SnapshotId,
    /// Its rewrite (none in a dry run).
    pub new: Option<SnapshotId>,
    /// The paths removed (a removed directory with everything below it is one path).
    pub removed: Vec<String>,
    /// The original was deleted.
    pub original_removed: bool,
}

/// Rewrites the snapshots `specs` names (all when empty) that `filter` selects. Snapshots with
/// nothing to remove are left as they are and not reported.
pub fn rewrite(
    repo: &mut Repository,
    specs: &[String],
    filter: &SnapshotFilter,
    opts: &RewriteOptions,
) -> Result<Vec<Rewritten>> {
    let matcher = PathMatcher::with_insensitive(&opts.excludes, &opts.iexcludes)?;
    if matcher.is_empty() {
        return Err(err!(InvalidInput, "give at least one --exclude pattern"));
    }
    let kind = match (opts.dry_run, opts.forget) {
        (true, _) => LockKind::Read,
        (false, true) => LockKind::Exclusive,
        (false, false) => LockKind::Append,
    };
    let lock = repo.lock(kind)?;
    if opts.forget && !opts.dry_run {
        repo.require_deletes("rewrite --forget")?;
    }
    repo.load_index(&lock).context("loading the index")?;
    let repo: &Repository = repo;
    let saver = if opts.dry_run {
        BlobSaver::dry_run(repo)?
    } else {
        BlobSaver::new(repo)?
    };
    let mut w = Walker {
        repo,
        saver: &saver,
        matcher,
        memo: HashMap::new(),
        removed: Vec::new(),
        starts: Vec::new(),
    };
    let mut found = Vec::new();
    for (id, snap) in repo.select_snapshots(specs)? {
        if !filter.matches(&snap) {
            continue;
        }
        w.removed.clear();
        let new_root = walk(&mut w, "/", &[snap.tree])
            .with_context(|| format!("rewriting snapshot {}", id.short()))?;
        if let Some(root) = new_root {
            let removed = std::mem::take(&mut w.removed);
            found.push((id, snap, root, removed));
        }
    }
    drop(w);
    let mut out = Vec::new();
    if opts.dry_run {
        for (id, _, _, removed) in found {
            out.push(Rewritten {
                old: id,
                new: None,
                removed,
                original_removed: false,
            });
        }
        return Ok(out);
    }
    // New trees and their index, then the snapshots, then the originals.
    saver
        .finish()
        .context("writing the rewritten trees (no snapshot was changed)")?;
    for (id, mut snap, root, removed) in found {
        snap.tree = *root
            .first()
            .ok_or_else(|| err!(Other, "a rewritten root tree has no blob"))?;
        if !snap.tags.iter().any(|t| t == REWRITE_TAG) {
            snap.tags.push(REWRITE_TAG.to_string());
        }
        // Another content than the original's: not a copy of it.
        snap.original = None;
        snap.program_version = format!("backstock {}", env!("CARGO_PKG_VERSION"));
        let new = repo.save_snapshot(&snap)?;
        let mut original_removed = false;
        if opts.forget {
            repo.delete(FileType::Snapshot, &id.to_hex())
                .with_context(|| format!("deleting snapshot {} after writing {new}", id.short()))?;
            original_removed = true;
        }
        out.push(Rewritten {
            old: id,
            new: Some(new),
            removed,
            original_removed,
        });
    }
    Ok(out)
}

/// A directory's new tree blob IDs (`None`: unchanged) and the paths removed below it.
type Walked = (Option<Vec<BlobId>>, Vec<String>);

struct Walker<'a> {
    repo: &'a Repository,
    saver: &'a BlobSaver<'a>,
    matcher: PathMatcher,
    /// Directories already walked, by path and tree blob IDs: their new IDs (`None`: unchanged)
    /// and the paths removed below them.
    memo: HashMap<(String, Vec<BlobId>), Walked>,
    /// Paths removed in the snapshot being walked.
    removed: Vec<String>,
    /// For each directory read and not yet left: how many paths were removed before it.
    starts: Vec<usize>,
}

/// A directory comes to its new tree blob IDs when something below it was removed.
impl Visitor for Walker<'_> {
    type Summary = Option<Vec<BlobId>>;

    fn known(&mut self, dir: &Dir) -> Option<Self::Summary> {
        let (ids, removed) = self.memo.get(&(dir.path.to_string(), dir.ids.to_vec()))?;
        self.removed.extend(removed.iter().cloned());
        Some(ids.clone())
    }

    fn read(&mut self, dir: &Dir) -> Result<Vec<Node>> {
        self.starts.push(self.removed.len());
        self.repo.load_tree(dir.ids)
    }

    fn entry(&mut self, dir: &Dir, n: &Node) -> Result<bool> {
        Ok(!self.matcher.matches(&dir.child(n)))
    }

    fn leave(
        &mut self,
        dir: &Dir,
        nodes: Vec<Node>,
        below: Vec<Option<Self::Summary>>,
    ) -> Result<Self::Summary> {
        let before = self.starts.pop().unwrap_or(0);
        let mut changed = false;
        let mut kept = Vec::with_capacity(nodes.len());
        for (mut n, below) in nodes.into_iter().zip(below) {
            let path = dir.child(&n);
            if self.matcher.matches(&path) {
                self.removed.push(path);
                changed = true;
                continue;
            }
            if let Some(Some(new)) = below {
                n.content = new;
                changed = true;
            }
            kept.push(n);
        }
        let ids = if changed {
            Some(self.saver.save_tree(&kept, dir.depth == 0)?)
        } else {
            None
        };
        let removed_here = self.removed[before..].to_vec();
        self.memo.insert(
            (dir.path.to_string(), dir.ids.to_vec()),
            (ids.clone(), removed_here),
        );
        Ok(ids)
    }
}
