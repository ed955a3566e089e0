//! Which items to restore, and which blobs each pack must provide for them.

use super::state::EntryState;
use super::Item;
use crate::error::Result;
use crate::format::blob_entry::BlobEntry;
use crate::format::tree::{Node, NodeKind};
use crate::ids::{BlobId, PackId};
use crate::pathmatch::PathMatcher;
use crate::repository::Repository;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// Directories nested deeper than this below the selected one are not restored (their error names
/// them): backup never writes deeper ones, and it bounds what a hostile snapshot can cause.
pub(super) use crate::format::tree::MAX_DEPTH;

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
        let top = repo.load_tree(&node.content)?;
        walk(repo, top, &base, includes, excludes, &mut sel);
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
        });
    }
    Ok(sel)
}

/// One directory being walked.
struct Frame {
    nodes: std::vec::IntoIter<Node>,
    snap_dir: String,
    rel_dir: PathBuf,
    /// The directory's item (`None` for the target).
    item: Option<usize>,
    included: bool,
    depth: usize,
    /// Whether anything below was selected.
    any: bool,
}

/// Depth-first walk with an explicit stack, so a deep tree cannot overflow the call stack. A
/// directory's item is pushed before its contents and dropped again when nothing in it was
/// selected.
fn walk(
    repo: &Repository,
    top: Vec<Node>,
    base: &str,
    includes: &PathMatcher,
    excludes: &PathMatcher,
    sel: &mut Selection,
) {
    let items = &mut sel.items;
    let mut stack = vec![Frame {
        nodes: top.into_iter(),
        snap_dir: base.to_string(),
        rel_dir: PathBuf::new(),
        item: None,
        included: includes.is_empty(),
        depth: 0,
        any: false,
    }];
    while let Some(frame) = stack.last_mut() {
        let Some(n) = frame.nodes.next() else {
            let done = stack.pop();
            if let Some(Frame {
                item: Some(i), any, ..
            }) = done
            {
                if any || items[i].whole {
                    if let Some(up) = stack.last_mut() {
                        up.any = true;
                    }
                } else {
                    // Nothing below was selected, so the directory's item is the last one.
                    items.truncate(i);
                }
            }
            continue;
        };
        let name = n.name_lossy();
        let snap_path = if frame.snap_dir.is_empty() {
            name
        } else {
            format!("{}/{name}", frame.snap_dir)
        };
        if excludes.matches(&snap_path) {
            continue;
        }
        let inc = frame.included || includes.matches(&snap_path);
        let rel = frame.rel_dir.join(OsStr::from_bytes(&n.name));
        let parent = frame.item;
        let depth = frame.depth + 1;
        if n.kind != NodeKind::Dir {
            if inc {
                frame.any = true;
                items.push(Item {
                    rel,
                    snap_path,
                    node: n,
                    parent,
                    whole: true,
                });
            }
            continue;
        }
        let children = if depth > MAX_DEPTH {
            Err(crate::error::err!(
                Corrupt,
                "directories nested more than {MAX_DEPTH} deep; nothing below it is restored"
            ))
        } else {
            repo.load_tree(&n.content).map_err(|e| {
                let e = e;
                crate::error::Error::new(
                    e.kind(),
                    format!("{e:#}; nothing below this directory is restored"),
                )
            })
        };
        let i = items.len();
        items.push(Item {
            rel: rel.clone(),
            snap_path: snap_path.clone(),
            node: n,
            parent,
            whole: inc,
        });
        match children {
            Ok(nodes) => stack.push(Frame {
                nodes: nodes.into_iter(),
                snap_dir: snap_path,
                rel_dir: rel,
                item: Some(i),
                included: inc,
                depth,
                any: false,
            }),
            Err(e) => {
                sel.errors.push(super::RestoreError::at(&snap_path, e));
                // The directory itself is restored (empty) when it is selected.
                if inc {
                    frame.any = true;
                } else {
                    items.truncate(i);
                }
            }
        }
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
        if it.node.kind != NodeKind::File {
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
