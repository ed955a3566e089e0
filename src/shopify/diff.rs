//! `shopify diff` and `shopify history`: what changed between two snapshots of an export, item
//! by item, with record files compared as JSON and theme files by lines.

use super::fields::{compare, FieldChange};
use super::items::{item_of, ItemKey, Part};
use crate::error::{err, Context, Result};
use crate::format::snapshot::Snapshot;
use crate::format::tree::{Node, NodeKind};
use crate::ids::SnapshotId;
use crate::inspect::diff::{diff_nodes, ChangeKind};
use crate::inspect::tree_reader::TreeReader;
use crate::repository::snapshots::SnapshotFilter;
use crate::repository::Repository;
use serde_json::Value;
use std::collections::BTreeMap;

/// How an item changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemChangeKind {
    /// Only in the newer snapshot.
    Added,
    /// Only in the older snapshot.
    Deleted,
    /// In both, different.
    Changed,
}

/// One item that differs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ItemChange {
    /// The item.
    #[serde(flatten)]
    pub key: ItemKey,
    /// Its title, handle or name, from the newer version when there is one.
    pub title: Option<String>,
    /// How it changed.
    pub change: ItemChangeKind,
    /// The fields that differ (records only).
    pub fields: Vec<FieldChange>,
    /// Lines gained and lost (text files only).
    pub lines: Option<(usize, usize)>,
    /// Sizes before and after (content files only).
    pub sizes: Option<(u64, u64)>,
    /// The record's handle, from the newer version when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// A deleted item added again under the same handle with a new ID (a restore recreates a
    /// deleted product so): `recreated as product 9`, `recreated from product 4`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What changed between two snapshots of one export.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoreDiff {
    /// The older snapshot.
    pub old: SnapshotId,
    /// The newer snapshot.
    pub new: SnapshotId,
    /// The items that differ, by kind and ID.
    pub items: Vec<ItemChange>,
}

/// A snapshot of an export: its ID, the snapshot, and the export folder's node.
pub struct ExportSnapshot {
    /// The snapshot's ID.
    pub id: SnapshotId,
    /// The snapshot.
    pub snapshot: Snapshot,
    /// The export folder in it.
    pub root: Node,
    /// The export folder's path in the snapshot's tree (`shop-export`, `home/me/shop-export`).
    pub tree_path: String,
}

/// Opens the export in the snapshot `spec`: the snapshot's one backed-up path.
pub fn export_snapshot(repo: &Repository, spec: &str) -> Result<ExportSnapshot> {
    let (id, snapshot) = repo.find_snapshot(spec, &SnapshotFilter::default())?;
    root_of(repo, id, snapshot)
}

/// The export in a snapshot already read.
pub fn root_of(repo: &Repository, id: SnapshotId, snapshot: Snapshot) -> Result<ExportSnapshot> {
    let [path] = snapshot.paths.as_slice() else {
        return Err(err!(
            InvalidInput,
            "snapshot {} holds {} paths; a store's snapshot holds its export folder only \
             (made by `backstock shopify backup`)",
            id.short(),
            snapshot.paths.len()
        ));
    };
    // The folder appears in the tree under the path as it was given to backup (`shop-export`,
    // or `/home/me/shop-export`), a suffix of the absolute path recorded: the longest that exists.
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let mut root = None;
    for start in 0..parts.len() {
        let sub = parts[start..].join("/");
        let found = repo
            .find_node(&snapshot.tree, &sub)
            .with_context(|| format!("looking up {sub} in snapshot {}", id.short()))?;
        if let Some(n) = found.filter(|n| n.kind == NodeKind::Dir) {
            root = Some((n, sub));
            break;
        }
    }
    let (root, tree_path) = root.ok_or_else(|| {
        err!(
            NotFound,
            "{path} is not a folder in snapshot {}",
            id.short()
        )
    })?;
    Ok(ExportSnapshot {
        id,
        snapshot,
        root,
        tree_path,
    })
}

/// Reads a file node's content.
pub fn read_file(repo: &Repository, node: &Node) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(node.size as usize);
    for b in &node.content {
        out.extend_from_slice(&repo.read_blob(b)?);
    }
    Ok(out)
}

/// The file at `rel` of an export snapshot, if there is one.
pub fn file_in(repo: &Repository, s: &ExportSnapshot, rel: &str) -> Result<Option<Node>> {
    let mut node = s.root.clone();
    let reader = TreeReader::new(repo);
    for part in rel.split('/') {
        if node.kind != NodeKind::Dir {
            return Ok(None);
        }
        let children = reader.load(&node.content)?;
        match children.into_iter().find(|c| c.name == part.as_bytes()) {
            Some(c) => node = c,
            None => return Ok(None),
        }
    }
    Ok((node.kind == NodeKind::File).then_some(node))
}

/// Compares the exports in two snapshots item by item.
pub fn diff(repo: &Repository, old_spec: &str, new_spec: &str) -> Result<StoreDiff> {
    let old = export_snapshot(repo, old_spec)?;
    let new = export_snapshot(repo, new_spec)?;
    let reader = TreeReader::new(repo);
    let mut paths = Vec::new();
    diff_nodes(&reader, &old.root, &new.root, |c| {
        if c.kind == NodeKind::File && c.change != ChangeKind::Metadata {
            paths.push((c.path.trim_start_matches('/').to_string(), c.change));
        }
        Ok(())
    })?;
    let mut items: BTreeMap<ItemKey, ItemChange> = BTreeMap::new();
    for (path, change) in paths {
        let Some((key, part)) = item_of(&path) else {
            continue;
        };
        let before = match change {
            ChangeKind::Added => None,
            _ => file_in(repo, &old, &path)?,
        };
        let after = match change {
            ChangeKind::Removed => None,
            _ => file_in(repo, &new, &path)?,
        };
        let c = compare_versions(repo, &path, key, part, before.as_ref(), after.as_ref())?;
        merge(&mut items, c);
    }
    let mut items: Vec<ItemChange> = items.into_values().collect();
    note_recreated(&mut items);
    Ok(StoreDiff {
        old: old.id,
        new: new.id,
        items,
    })
}

/// Pairs an item deleted with one of the same kind added under the same handle.
fn note_recreated(items: &mut [ItemChange]) {
    let added: Vec<(usize, &'static str, String, String)> = items
        .iter()
        .enumerate()
        .filter(|(_, i)| i.change == ItemChangeKind::Added)
        .filter_map(|(n, i)| Some((n, i.key.kind, i.handle.clone()?, i.key.id.clone())))
        .collect();
    for (n, kind, handle, new_id) in added {
        let Some(d) = items.iter().position(|i| {
            i.change == ItemChangeKind::Deleted
                && i.key.kind == kind
                && i.handle.as_deref() == Some(handle.as_str())
        }) else {
            continue;
        };
        let old_id = items[d].key.id.clone();
        items[d].note = Some(format!("recreated as {kind} {new_id}"));
        items[n].note = Some(format!("recreated from {kind} {old_id}"));
    }
}

/// Folds the change of one file into its item's (an order is its record and its contact part).
fn merge(items: &mut BTreeMap<ItemKey, ItemChange>, c: ItemChange) {
    match items.get_mut(&c.key) {
        None => {
            items.insert(c.key.clone(), c);
        }
        Some(have) => {
            have.fields.extend(c.fields);
            if have.title.is_none() {
                have.title = c.title;
            }
            if have.change != c.change {
                have.change = ItemChangeKind::Changed;
            }
        }
    }
}

/// Compares two versions of one file (`None`: absent on that side).
pub fn compare_versions(
    repo: &Repository,
    path: &str,
    key: ItemKey,
    part: Part,
    before: Option<&Node>,
    after: Option<&Node>,
) -> Result<ItemChange> {
    let change = match (before, after) {
        (None, _) => ItemChangeKind::Added,
        (_, None) => ItemChangeKind::Deleted,
        _ => ItemChangeKind::Changed,
    };
    let mut out = ItemChange {
        key,
        title: None,
        change,
        fields: Vec::new(),
        lines: None,
        sizes: None,
        handle: None,
        note: None,
    };
    match part {
        Part::Record | Part::OrderContact => {
            let read = |n: Option<&Node>| -> Result<Value> {
                let Some(n) = n else { return Ok(Value::Null) };
                let bytes = read_file(repo, n)?;
                serde_json::from_slice(&bytes)
                    .map_err(|e| err!(InvalidInput, "{path} is not the JSON an export writes: {e}"))
            };
            let (a, b) = (read(before)?, read(after)?);
            out.title = title_of(&b).or_else(|| title_of(&a));
            out.handle = [&b, &a]
                .iter()
                .find_map(|v| v.get("handle").and_then(Value::as_str))
                .map(str::to_string);
            if change == ItemChangeKind::Changed {
                out.fields = compare(&a, &b);
                if part == Part::OrderContact {
                    for f in &mut out.fields {
                        f.field = format!("contact {}", f.field);
                    }
                }
            }
        }
        Part::Content => {
            out.sizes = Some((before.map_or(0, |n| n.size), after.map_or(0, |n| n.size)));
            if change == ItemChangeKind::Changed {
                let (a, b) = (
                    read_file(repo, present(before)?)?,
                    read_file(repo, present(after)?)?,
                );
                if let (Ok(a), Ok(b)) = (std::str::from_utf8(&a), std::str::from_utf8(&b)) {
                    out.lines = Some(line_counts(a, b));
                }
            }
        }
    }
    Ok(out)
}

fn present(n: Option<&Node>) -> Result<&Node> {
    n.ok_or_else(|| err!(Other, "a changed file missing on one side"))
}

/// Lines added and removed from `a` to `b`.
fn line_counts(a: &str, b: &str) -> (usize, usize) {
    use similar::{ChangeTag, TextDiff};
    let d = TextDiff::from_lines(a, b);
    let mut added = 0;
    let mut removed = 0;
    for c in d.iter_all_changes() {
        match c.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
    }
    (added, removed)
}

/// An item's name for people: title, then name, then handle, then a redirect's path.
fn title_of(v: &Value) -> Option<String> {
    ["title", "name", "handle", "path"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_as_a_diff_counts_them() {
        assert_eq!(line_counts("a\nb\nc\n", "a\nB\nc\nd\n"), (2, 1));
        assert_eq!(line_counts("", "x\n"), (1, 0));
    }
}
