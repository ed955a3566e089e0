//! `tag`: change the tags of snapshots. Only the snapshot file changes: a new one is written with
//! the new tags (its `original` names the first snapshot, as a copy's does, so `copy` still knows
//! it), then the old one is deleted. Trees, packs and the index are untouched.

use crate::backend::FileType;
use crate::error::{bail, Context, Result};
use crate::format::snapshot::Snapshot;
use crate::ids::SnapshotId;
use crate::repository::lock::LockKind;
use crate::repository::snapshots::SnapshotFilter;
use crate::repository::Repository;

/// How the tags change; `set` replaces them all, then `add` and `remove` apply.
#[derive(Debug, Clone, Default)]
pub struct TagChange {
    /// Replace all tags with these (`Some(vec![])` removes all).
    pub set: Option<Vec<String>>,
    /// Tags to add (kept once).
    pub add: Vec<String>,
    /// Tags to remove.
    pub remove: Vec<String>,
}

impl TagChange {
    /// The tags `s` gets.
    pub fn apply(&self, tags: &[String]) -> Vec<String> {
        let mut out: Vec<String> = self.set.clone().unwrap_or_else(|| tags.to_vec());
        for t in &self.add {
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
        out.retain(|t| !self.remove.contains(t));
        out
    }
}

/// One snapshot whose tags changed: its old and new ID.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Retagged {
    /// The snapshot as it was (deleted).
    pub old: SnapshotId,
    /// The snapshot with the new tags.
    pub new: SnapshotId,
    /// Its tags now.
    pub tags: Vec<String>,
}

/// Changes the tags of the snapshots `specs` names (all when empty) that `filter` selects, under
/// the exclusive lock. Snapshots whose tags would not change are left as they are.
pub fn tag(
    repo: &Repository,
    specs: &[String],
    filter: &SnapshotFilter,
    change: &TagChange,
) -> Result<Vec<Retagged>> {
    if change.set.is_none() && change.add.is_empty() && change.remove.is_empty() {
        bail!(
            InvalidInput,
            "nothing to change: give --add, --remove or --set"
        );
    }
    let _lock = repo.lock(LockKind::Exclusive)?;
    repo.require_deletes("tag")?;
    let mut done = Vec::new();
    for (id, snap) in repo.select_snapshots(specs)? {
        if !filter.matches(&snap) {
            continue;
        }
        let tags = change.apply(&snap.tags);
        if tags == snap.tags {
            continue;
        }
        let new = Snapshot {
            tags: tags.clone(),
            original: Some(snap.original.unwrap_or(id)),
            ..snap
        };
        let new_id = repo.save_snapshot(&new)?;
        repo.delete(FileType::Snapshot, &id.to_hex())
            .with_context(|| {
                format!(
                    "deleting snapshot {} after writing {new_id} with the new tags",
                    id.short()
                )
            })?;
        done.push(Retagged {
            old: id,
            new: new_id,
            tags,
        });
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_then_add_then_remove() {
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let c = TagChange {
            set: None,
            add: t(&["b", "c"]),
            remove: t(&["a"]),
        };
        assert_eq!(c.apply(&t(&["a", "b"])), t(&["b", "c"]));
        let s = TagChange {
            set: Some(t(&["x"])),
            add: t(&["y"]),
            remove: vec![],
        };
        assert_eq!(s.apply(&t(&["a"])), t(&["x", "y"]));
        let clear = TagChange {
            set: Some(vec![]),
            ..Default::default()
        };
        assert!(clear.apply(&t(&["a"])).is_empty());
    }
}
