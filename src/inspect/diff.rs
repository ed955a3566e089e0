//! What changed between two trees.
//!
//! Two directories whose tree blob ID lists are equal are identical and are skipped without loading
//! anything. When the lists differ, blobs present on both sides are not decoded either: every tree
//! blob holds a contiguous, sorted run of whole nodes, so a blob shared by both lists holds the same
//! names on both sides, and the names between two shared blobs can only be compared with each other.
//! Only the runs of blobs between shared ones are loaded and merged by name.

use super::tree_reader::{TreeReader, MAX_DEPTH};
use crate::error::{bail, err};
use crate::error::{Context, Result};
use crate::format::tree::{Node, NodeKind};
use crate::ids::{BlobId, SnapshotId};
use crate::repository::snapshots::SnapshotFilter;
use crate::repository::Repository;
use serde::Serialize;
use std::collections::HashMap;
use std::ops::Range;

/// Finds the node `sub` ('/'-separated, empty for the root) of the snapshot named by `spec`.
pub fn resolve(repo: &Repository, spec: &str, sub: &str) -> Result<(SnapshotId, Node)> {
    let (id, snap) = repo.find_snapshot(spec, &SnapshotFilter::default())?;
    let node = repo
        .find_node(&snap.tree, sub)
        .with_context(|| format!("looking up {sub:?} in snapshot {}", id.short()))?
        .ok_or_else(|| {
            err!(
                NotFound,
                "{sub:?} does not exist in snapshot {}",
                id.short()
            )
        })?;
    Ok((id, node))
}

/// How a path differs between the two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Only on the new side.
    Added,
    /// Only on the old side.
    Removed,
    /// Content changed: a file's content list or size, a symlink's target, or the type.
    Modified,
    /// Only mode, owner or modification time changed.
    Metadata,
}

impl ChangeKind {
    /// The one-character mark `diff` prints: `+`, `-`, `M` or `U`.
    pub fn symbol(self) -> char {
        match self {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Modified => 'M',
            ChangeKind::Metadata => 'U',
        }
    }
}

/// One changed path, relative to the compared roots, starting with '/'.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The path, relative to the compared roots, starting with '/'.
    pub path: String,
    /// How it differs.
    pub change: ChangeKind,
    /// The type on the new side (the old side for removals).
    #[serde(rename = "type")]
    pub kind: NodeKind,
}

/// Counts over all changes. Bytes are file sizes: added files and the new version of modified files
/// count as added, removed files and the old version of modified files as removed, so
/// `bytes_added - bytes_removed` is the change in total file size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiffTotals {
    /// Regular files only on the new side.
    pub files_added: u64,
    /// Regular files only on the old side.
    pub files_removed: u64,
    /// Directories only on the new side.
    pub dirs_added: u64,
    /// Directories only on the old side.
    pub dirs_removed: u64,
    /// Symlinks.
    pub others_added: u64,
    /// Symlinks only on the old side.
    pub others_removed: u64,
    /// Paths whose content or type changed (`M`).
    pub modified: u64,
    /// Paths whose metadata only changed (`U`).
    pub metadata: u64,
    /// File bytes added (added files and the new size of modified files).
    pub bytes_added: u64,
    /// File bytes removed (removed files and the old size of modified files).
    pub bytes_removed: u64,
}

impl DiffTotals {
    fn count(&mut self, c: &Change, old: Option<&Node>, new: Option<&Node>) {
        let file_size =
            |n: Option<&Node>| n.filter(|n| n.kind == NodeKind::File).map_or(0, |n| n.size);
        match c.change {
            ChangeKind::Added | ChangeKind::Removed => {
                let added = c.change == ChangeKind::Added;
                let slot = match (c.kind, added) {
                    (NodeKind::File, true) => &mut self.files_added,
                    (NodeKind::File, false) => &mut self.files_removed,
                    (NodeKind::Dir, true) => &mut self.dirs_added,
                    (NodeKind::Dir, false) => &mut self.dirs_removed,
                    (_, true) => &mut self.others_added,
                    (_, false) => &mut self.others_removed,
                };
                *slot += 1;
            }
            ChangeKind::Modified => self.modified += 1,
            ChangeKind::Metadata => {
                self.metadata += 1;
                return;
            }
        }
        self.bytes_added += file_size(new);
        self.bytes_removed += file_size(old);
    }
}

/// Work still to do, kept on an explicit stack so that output stays in path order without recursion.
enum Work {
    Emit(Change),
    /// Compare two directories' entries. An empty side lists the other side as added or removed.
    Compare {
        path: String,
        old: Vec<BlobId>,
        new: Vec<BlobId>,
        depth: usize,
    },
}

fn same_metadata(a: &Node, b: &Node) -> bool {
    a.mode == b.mode
        && a.uid == b.uid
        && a.gid == b.gid
        && a.mtime == b.mtime
        && a.xattrs == b.xattrs
}

fn child_path(prefix: &str, n: &Node) -> String {
    format!("{prefix}/{}", n.name_lossy())
}

/// A directory's tree blob IDs; nothing for other types.
fn dir_content(n: Option<&Node>) -> &[BlobId] {
    match n {
        Some(n) if n.kind == NodeKind::Dir => &n.content,
        _ => &[],
    }
}

struct Differ<'a, 'r> {
    reader: &'a TreeReader<'r>,
    totals: DiffTotals,
}

impl Differ<'_, '_> {
    /// The work for one path present on one or both sides, in output order.
    fn pair(
        &mut self,
        path: String,
        old: Option<&Node>,
        new: Option<&Node>,
        depth: usize,
        out: &mut Vec<Work>,
    ) {
        let verdict = match (old, new) {
            (None, None) => return,
            (None, Some(_)) => Some(ChangeKind::Added),
            (Some(_), None) => Some(ChangeKind::Removed),
            (Some(o), Some(n)) if o.kind != n.kind => Some(ChangeKind::Modified),
            (Some(o), Some(n)) => match n.kind {
                NodeKind::File if o.content != n.content || o.size != n.size => {
                    Some(ChangeKind::Modified)
                }
                NodeKind::Symlink if o.link_target != n.link_target => Some(ChangeKind::Modified),
                NodeKind::CharDevice | NodeKind::BlockDevice if o.rdev != n.rdev => {
                    Some(ChangeKind::Modified)
                }
                // A directory's mtime follows its entries: only report it when they are equal.
                NodeKind::Dir if o.content != n.content => {
                    (o.mode != n.mode || o.uid != n.uid || o.gid != n.gid || o.xattrs != n.xattrs)
                        .then_some(ChangeKind::Metadata)
                }
                _ => (!same_metadata(o, n)).then_some(ChangeKind::Metadata),
            },
        };
        if let (Some(change), Some(kind)) = (verdict, new.or(old).map(|n| n.kind)) {
            let c = Change {
                path: path.clone(),
                change,
                kind,
            };
            self.totals.count(&c, old, new);
            out.push(Work::Emit(c));
        }
        let (oc, nc) = (dir_content(old), dir_content(new));
        if oc != nc {
            out.push(Work::Compare {
                path,
                old: oc.to_vec(),
                new: nc.to_vec(),
                depth: depth + 1,
            });
        }
    }

    fn compare(
        &mut self,
        path: &str,
        old: &[BlobId],
        new: &[BlobId],
        depth: usize,
    ) -> Result<Vec<Work>> {
        let mut out = Vec::new();
        for (ro, rn) in align(old, new, |id| self.reader.holds_nodes(id)) {
            let a = self.reader.load(&old[ro])?;
            let b = self.reader.load(&new[rn])?;
            let (mut i, mut j) = (0, 0);
            while i < a.len() || j < b.len() {
                let (o, n) = match (a.get(i), b.get(j)) {
                    (Some(o), Some(n)) if o.name == n.name => (Some(o), Some(n)),
                    (Some(o), Some(n)) if o.name < n.name => (Some(o), None),
                    (Some(o), None) => (Some(o), None),
                    (_, n) => (None, n),
                };
                i += usize::from(o.is_some());
                j += usize::from(n.is_some());
                let name = n.or(o).map(|x| child_path(path, x)).unwrap_or_default();
                self.pair(name, o, n, depth, &mut out);
            }
        }
        Ok(out)
    }
}

/// Compares two nodes (usually directories: snapshot roots or subtrees), calling `on_change` for every
/// changed path in path order. A removed or added directory's entries are reported too. The roots'
/// own metadata is not compared. When a root is not a directory, its change is reported under
/// `/<name>`.
pub fn diff_nodes(
    reader: &TreeReader<'_>,
    old: &Node,
    new: &Node,
    mut on_change: impl FnMut(&Change) -> Result<()>,
) -> Result<DiffTotals> {
    let mut d = Differ {
        reader,
        totals: DiffTotals::default(),
    };
    let mut stack = Vec::new();
    if old.kind == NodeKind::Dir && new.kind == NodeKind::Dir {
        if old.content != new.content {
            stack.push(Work::Compare {
                path: String::new(),
                old: old.content.clone(),
                new: new.content.clone(),
                depth: 0,
            });
        }
    } else {
        let mut first = Vec::new();
        d.pair(child_path("", new), Some(old), Some(new), 0, &mut first);
        stack.extend(first.into_iter().rev());
    }
    while let Some(w) = stack.pop() {
        match w {
            Work::Emit(c) => on_change(&c)?,
            Work::Compare { path, depth, .. } if depth > MAX_DEPTH => {
                bail!(
                    Corrupt,
                    "{path}: directories nested deeper than {MAX_DEPTH} levels"
                )
            }
            Work::Compare {
                path,
                old,
                new,
                depth,
            } => {
                let more = d.compare(&path, &old, &new, depth).with_context(|| {
                    format!("comparing {}", if path.is_empty() { "/" } else { &path })
                })?;
                stack.extend(more.into_iter().rev());
            }
        }
    }
    Ok(d.totals)
}

/// Splits two directories' tree blob lists into pairs of index ranges that still need comparing,
/// leaving out blobs found in both lists. `holds_nodes` tells which IDs may be left out: a blob
/// without nodes pins no position in the name order, so it cannot separate the ranges. If shared
/// blobs appear in different orders (only possible in a damaged repository), everything is compared.
pub fn align(
    old: &[BlobId],
    new: &[BlobId],
    holds_nodes: impl Fn(&BlobId) -> bool,
) -> Vec<(Range<usize>, Range<usize>)> {
    fn positions(ids: &[BlobId]) -> HashMap<BlobId, Option<usize>> {
        let mut m = HashMap::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            // A repeated ID (a damaged tree) is never an anchor.
            m.entry(*id).and_modify(|p| *p = None).or_insert(Some(i));
        }
        m
    }
    let everything = vec![(0..old.len(), 0..new.len())];
    let in_old = positions(old);
    let in_new = positions(new);
    let mut out = Vec::new();
    let (mut ao, mut an) = (0, 0);
    for (i, id) in old.iter().enumerate() {
        let (Some(Some(_)), Some(Some(j))) = (in_old.get(id), in_new.get(id)) else {
            continue;
        };
        let j = *j;
        if !holds_nodes(id) {
            continue;
        }
        if j < an {
            return everything;
        }
        if ao < i || an < j {
            out.push((ao..i, an..j));
        }
        ao = i + 1;
        an = j + 1;
    }
    if ao < old.len() || an < new.len() {
        out.push((ao..old.len(), an..new.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::repository::trees::root_node;

    fn ids(ns: &[u8]) -> Vec<BlobId> {
        ns.iter().map(|n| BlobId([*n; 32])).collect()
    }

    #[test]
    fn align_leaves_out_shared_blobs() {
        let all = |_: &BlobId| true;
        let al = |a: &[u8], b: &[u8]| align(&ids(a), &ids(b), all);
        assert_eq!(al(&[1, 2, 3, 4, 5], &[1, 2, 9, 4, 5]), vec![(2..3, 2..3)]);
        assert_eq!(al(&[1, 2, 3], &[1, 2, 3, 7]), vec![(3..3, 3..4)]);
        assert_eq!(al(&[1, 2], &[8, 1, 2]), vec![(0..0, 0..1)]);
        assert_eq!(al(&[1, 2, 3], &[1, 3]), vec![(1..2, 1..1)]);
        assert_eq!(
            al(&[1, 2, 3, 4, 5], &[6, 2, 7, 4, 8]),
            vec![(0..1, 0..1), (2..3, 2..3), (4..5, 4..5)]
        );
        assert!(al(&[1, 2, 3], &[1, 2, 3]).is_empty());
        // Shared blobs in a different order: compare everything.
        assert_eq!(al(&[1, 2], &[2, 1]), vec![(0..2, 0..2)]);
        // Repeated IDs are not anchors.
        assert_eq!(al(&[1, 1, 2], &[1, 3]), vec![(0..3, 0..2)]);
        // A blob without nodes does not separate ranges.
        let not1 = |id: &BlobId| id.0[0] != 1;
        assert_eq!(
            align(&ids(&[1, 2]), &ids(&[3, 1]), not1),
            vec![(0..2, 0..2)]
        );
    }

    fn run(reader: &TreeReader, old: BlobId, new: BlobId) -> (Vec<String>, DiffTotals) {
        let mut lines = Vec::new();
        let totals = diff_nodes(reader, &root_node(old), &root_node(new), |c| {
            lines.push(format!("{} {}", c.change.symbol(), c.path));
            Ok(())
        })
        .unwrap();
        (lines, totals)
    }

    #[test]
    fn every_kind_of_change() {
        let mut t = repo();
        let (old, new) = t.save(|s| {
            let gone_sub = tree(s, vec![file("y", vec![fake(2)], 2)], false);
            let gone = tree(
                s,
                vec![file("x", vec![fake(1)], 1), dir("sub", gone_sub)],
                false,
            );
            let added = tree(s, vec![file("z", vec![fake(3)], 3)], false);
            let was_dir = tree(s, vec![file("q", vec![fake(4)], 4)], false);
            let same = tree(s, vec![file("s", vec![fake(5)], 5)], false);
            let mut touched = file("c.txt", vec![fake(6)], 6);
            let mut chmod = dir("chmod", same.clone());
            let old = root(
                s,
                vec![
                    file("a.txt", vec![fake(7)], 7),
                    file("b.txt", vec![fake(8)], 8),
                    touched.clone(),
                    file("d.txt", vec![fake(9)], 9),
                    dir("gone", gone),
                    symlink("link", "a"),
                    dir("t", was_dir),
                    dir("same", same.clone()),
                    chmod.clone(),
                ],
            );
            touched.mtime.sec += 5;
            chmod.mode = 0o700;
            let new = root(
                s,
                vec![
                    file("a.txt", vec![fake(7)], 7),
                    touched,
                    file("d.txt", vec![fake(10)], 30),
                    dir("new", added),
                    symlink("link", "b"),
                    file("t", vec![fake(11)], 11),
                    dir("same", same),
                    chmod,
                ],
            );
            (old, new)
        });
        let reader = TreeReader::new(&t.repo);
        let (lines, totals) = run(&reader, old, new);
        assert_eq!(
            lines.join(" "),
            "- /b.txt U /c.txt U /chmod M /d.txt - /gone - /gone/sub - /gone/sub/y - /gone/x \
             M /link + /new + /new/z M /t - /t/q"
        );
        let t = &totals;
        let counts = [t.files_added, t.files_removed, t.dirs_added, t.dirs_removed];
        assert_eq!(counts, [1, 4, 1, 2]);
        let rest = [t.others_added, t.others_removed, t.modified, t.metadata];
        assert_eq!(rest, [0, 0, 3, 2]);
        assert_eq!(t.bytes_added, 30 + 3 + 11);
        assert_eq!(t.bytes_removed, 8 + 9 + 2 + 1 + 4);
        // The reverse diff mirrors it.
        let (back, _) = run(&reader, new, old);
        assert!(back.contains(&"+ /gone/sub/y".to_string()));
        assert!(back.contains(&"+ /t/q".to_string()));
        // Identical roots cost nothing.
        let before = reader.blobs_loaded();
        assert!(run(&reader, old, old).0.is_empty());
        assert_eq!(reader.blobs_loaded(), before);
    }

    #[test]
    fn unchanged_large_directory_costs_no_loads() {
        const N: u32 = 100_000;
        let mut t = repo();
        let entries = |changed: Option<u32>, extra: bool| {
            let mut v: Vec<Node> = (0..N)
                .map(|i| {
                    let c = if Some(i) == changed { N + i } else { i };
                    file(&format!("p{i:06}.json"), vec![fake(c)], 100)
                })
                .collect();
            if extra {
                v.push(file("p050000b.json", vec![fake(3 * N)], 5));
            }
            v
        };
        let (big, r1, r2, r3, r4) = t.save(|s| {
            let big = tree(s, entries(None, false), false);
            let big_mod = tree(s, entries(Some(50_000), false), false);
            let big_add = tree(s, entries(None, true), false);
            let r = |s, export: &[BlobId], note: u32| {
                root(
                    s,
                    vec![
                        dir("export", export.to_vec()),
                        file("note", vec![fake(note)], 1),
                    ],
                )
            };
            let (r1, r2) = (r(s, &big, 1), r(s, &big, 2));
            let (r3, r4) = (r(s, &big_mod, 1), r(s, &big_add, 1));
            (big, r1, r2, r3, r4)
        });
        assert!(big.len() > 50, "the directory should span many tree blobs");
        // The export is unchanged: only the two root blobs are read.
        let reader = TreeReader::new(&t.repo);
        assert_eq!(run(&reader, r1, r2).0, ["M /note"]);
        assert_eq!(reader.blobs_loaded(), 2);
        // One file changed inside it: a handful of blobs, not the whole directory.
        let reader = TreeReader::new(&t.repo);
        assert_eq!(run(&reader, r1, r3).0, ["M /export/p050000.json"]);
        assert!(reader.blobs_loaded() <= 8, "{}", reader.blobs_loaded());
        let reader = TreeReader::new(&t.repo);
        assert_eq!(run(&reader, r1, r4).0, ["+ /export/p050000b.json"]);
        assert!(reader.blobs_loaded() <= 8, "{}", reader.blobs_loaded());
    }

    #[test]
    fn file_roots_compare_directly() {
        let mut t = repo();
        let r = t.save(|s| {
            root(
                s,
                vec![file("a", vec![fake(1)], 1), file("b", vec![fake(2)], 2)],
            )
        });
        let reader = TreeReader::new(&t.repo);
        let nodes = reader.load(&[r]).unwrap();
        let mut out = Vec::new();
        diff_nodes(&reader, &nodes[0], &nodes[1], |c| {
            out.push(format!("{} {} {:?}", c.change.symbol(), c.path, c.kind));
            Ok(())
        })
        .unwrap();
        assert_eq!(out, ["M /b File"]);
    }

    #[test]
    fn missing_tree_is_an_error() {
        let t = repo();
        let reader = TreeReader::new(&t.repo);
        let err = diff_nodes(
            &reader,
            &root_node(fake(1)),
            &root_node(fake(2)),
            |_| Ok(()),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("not in the index"), "{err:#}");
    }
}
