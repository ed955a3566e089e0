//! Which items to restore, and which blobs each pack must provide for them.

use super::state::EntryState;
use super::Item;
use crate::error::{Error, Result};
use crate::format::blob_entry::BlobEntry;
use crate::format::tree::{Node, NodeKind};
use crate::ids::{BlobId, PackId};
use crate::pathmatch::PathMatcher;
use crate::repository::walk::{walk, Dir, Visitor};
use crate::repository::Repository;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

pub(super) struct Target {
    pub item: usize,
    pub offset: u64,
}

pub(super) struct PlannedBlob {
    pub entry: BlobEntry,
    pub targets: Vec<Target>,
}

/// What a restore selected.
pub(super) struct Selection {
    /// Entries below the target, every directory before its contents (depth-first order).
    pub items: Vec<Item>,
    /// The selected directory's own node when it is a directory of the snapshot (not the snapshot
    /// root); its metadata goes to the target only when the restore created the target.
    pub target_node: Option<Node>,
    /// Whether the target stands for a directory of the snapshot (so `--delete` tidies it).
    pub target_is_dir: bool,
    /// The selected path inside the snapshot, for messages and filters.
    pub base: String,
    /// Subtrees left out (unreadable trees, nesting too deep), each naming its path.
    pub errors: Vec<super::RestoreError>,
}

/// Walks the selected node. A directory's contents go straight into the target; a file or symlink
/// is restored under its own name.
pub(super) fn select(
    repo: &Repository,
    node: Node,
    subpath: &str,
    includes: &PathMatcher,
    excludes: &PathMatcher,
) -> Result<Selection> {
    let base = subpath.trim_matches('/').to_string();
    let mut sel = Selection {
        items: Vec::new(),
        target_node: None,
        target_is_dir: node.kind == NodeKind::Dir,
        base: base.clone(),
        errors: Vec::new(),
    };
    if node.kind == NodeKind::Dir {
        let mut planner = Planner {
            repo,
            includes,
            excludes,
            sel: &mut sel,
            frames: vec![Frame {
                rel_dir: PathBuf::new(),
                item: None,
                included: includes.is_empty(),
                any: false,
            }],
        };
        walk(&mut planner, &base, &node.content)?;
        if node.name != b"/" && includes.is_empty() {
            sel.target_node = Some(node);
        }
    } else if !excludes.matches(&base) && (includes.is_empty() || includes.matches(&base)) {
        sel.items.push(Item {
            rel: PathBuf::from(OsStr::from_bytes(&node.name)),
            snap_path: base,
            node,
            parent: None,
            whole: true,
            link_to: None,
        });
    }
    Ok(sel)
}

/// One directory being walked.
struct Frame {
    rel_dir: PathBuf,
    /// The directory's item (`None` for the target).
    item: Option<usize>,
    included: bool,
    /// Whether anything below was selected.
    any: bool,
}

/// Selects entries in walk order. A directory's item is pushed before its contents and dropped
/// again when nothing in it was selected.
struct Planner<'a> {
    repo: &'a Repository,
    includes: &'a PathMatcher,
    excludes: &'a PathMatcher,
    sel: &'a mut Selection,
    /// Parallel to the walk's own stack: the directories entered and not yet left.
    frames: Vec<Frame>,
}

impl Planner<'_> {
    /// Closes the innermost directory: it stays selected when it or anything below it is.
    fn close(&mut self, keep: impl FnOnce(&Frame, &Item) -> bool) {
        let Some(done) = self.frames.pop() else {
            return;
        };
        let Some(i) = done.item else {
            return;
        };
        if keep(&done, &self.sel.items[i]) {
            if let Some(up) = self.frames.last_mut() {
                up.any = true;
            }
        } else {
            // Nothing below was selected, so the directory's item is the last one.
            self.sel.items.truncate(i);
        }
    }
}

impl Visitor for Planner<'_> {
    type Summary = ();

    fn read(&mut self, dir: &Dir) -> Result<Vec<Node>> {
        self.repo.load_tree(dir.ids)
    }

    fn entry(&mut self, dir: &Dir, n: &Node) -> Result<bool> {
        let snap_path = dir.child(n);
        if self.excludes.matches(&snap_path) {
            return Ok(false);
        }
        let Some(frame) = self.frames.last_mut() else {
            return Ok(false);
        };
        let inc = frame.included || self.includes.matches(&snap_path);
        let rel = frame.rel_dir.join(OsStr::from_bytes(&n.name));
        let parent = frame.item;
        let is_dir = n.kind == NodeKind::Dir;
        if !is_dir && !inc {
            return Ok(false);
        }
        if !is_dir {
            frame.any = true;
        }
        let i = self.sel.items.len();
        self.sel.items.push(Item {
            rel: rel.clone(),
            snap_path,
            node: n.clone(),
            parent,
            whole: inc,
            link_to: None,
        });
        if is_dir {
            self.frames.push(Frame {
                rel_dir: rel,
                item: Some(i),
                included: inc,
                any: false,
            });
        }
        Ok(is_dir)
    }

    /// The selected directory itself must be readable; below it, an unreadable directory is
    /// restored empty when it is selected, and the restore goes on.
    fn unreadable(&mut self, dir: &Dir, e: Error) -> Result<()> {
        if dir.depth == 0 {
            return Err(e);
        }
        let e = Error::new(
            e.kind(),
            format!("{e:#}; nothing below this directory is restored"),
        );
        self.sel.errors.push(super::RestoreError::at(dir.path, e));
        self.close(|f, _| f.included);
        Ok(())
    }

    fn leave(&mut self, dir: &Dir, _: Vec<Node>, _: Vec<Option<()>>) -> Result<()> {
        if dir.depth > 0 {
            self.close(|f, item| f.any || item.whole);
        }
        Ok(())
    }
}

/// Groups the blobs of all selected files by pack, and counts each file's blob writes in its
/// state. A file whose blobs are not all in the index, or whose blobs do not add up to its size,
/// is marked failed.
pub(super) fn by_pack(
    repo: &Repository,
    items: &[Item],
    states: &[EntryState],
) -> Vec<(PackId, Vec<PlannedBlob>)> {
    let mut packs: HashMap<PackId, HashMap<BlobId, PlannedBlob>> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        if it.node.kind != NodeKind::File
            || it.link_to.is_some()
            || states[i].skipped.load(Ordering::Relaxed)
        {
            continue;
        }
        let mut offset = 0u64;
        let mut writes = 0;
        for id in &it.node.content {
            let Some(loc) = repo.index().get(id) else {
                states[i].fail(format!("blob {id} is not in the index"));
                break;
            };
            packs
                .entry(loc.pack)
                .or_default()
                .entry(*id)
                .or_insert_with(|| PlannedBlob {
                    entry: loc.entry,
                    targets: Vec::new(),
                })
                .targets
                .push(Target { item: i, offset });
            offset += loc.entry.raw_len as u64;
            writes += 1;
        }
        if offset != it.node.size && !states[i].failed() {
            states[i].fail(format!(
                "its blobs hold {offset} bytes, the snapshot records {} (damaged snapshot)",
                it.node.size
            ));
        }
        states[i].remaining.store(writes, Ordering::Relaxed);
    }
    packs
        .into_iter()
        .map(|(p, blobs)| {
            let mut v: Vec<PlannedBlob> = blobs.into_values().collect();
            v.sort_by_key(|b| b.entry.offset);
            (p, v)
        })
        .collect()
}

/// Cuts each pack's blob list (sorted by offset) into runs that span at most `max_span` bytes of
/// the pack (a blob larger than that is a run of its own), so that each read stays small.
pub(super) fn segments(
    packs: &[(PackId, Vec<PlannedBlob>)],
    max_span: u64,
) -> Vec<(&PackId, &[PlannedBlob])> {
    let mut out = Vec::new();
    for (pack, blobs) in packs {
        let mut start = 0;
        for i in 1..=blobs.len() {
            let ends_run = i == blobs.len()
                || blobs[i].entry.end() - blobs[start].entry.offset as u64 > max_span;
            if ends_run {
                out.push((pack, &blobs[start..i]));
                start = i;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::blob_entry::{BlobType, Compression};

    fn blob(offset: u32, len: u32) -> PlannedBlob {
        PlannedBlob {
            entry: BlobEntry {
                id: crate::ids::BlobId([offset as u8; 32]),
                blob_type: BlobType::Data,
                compression: Compression::None,
                offset,
                stored_len: len,
                raw_len: len.saturating_sub(40),
            },
            targets: Vec::new(),
        }
    }

    #[test]
    fn segments_cover_every_blob_once_within_the_span() {
        let pack = PackId([1; 32]);
        let blobs = vec![
            blob(0, 100),
            blob(100, 300),
            blob(400, 1000),
            blob(1400, 50),
            blob(1450, 60),
        ];
        let packs = vec![
            (pack, blobs),
            (PackId([2; 32]), vec![]),
            (PackId([3; 32]), vec![blob(0, 5)]),
        ];
        let segs = segments(&packs, 500);
        let spans: Vec<(u8, Vec<u32>)> = segs
            .iter()
            .map(|(p, b)| (p.0[0], b.iter().map(|b| b.entry.offset).collect()))
            .collect();
        assert_eq!(
            spans,
            vec![
                (1, vec![0, 100]),
                (1, vec![400]),
                (1, vec![1400, 1450]),
                (3, vec![0]),
            ]
        );
    }
}
