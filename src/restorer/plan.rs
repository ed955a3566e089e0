//! Which items to restore, and which blobs each pack must provide for them.

use super::Item;
use crate::format::blob_entry::BlobEntry;
use crate::format::tree::{Node, NodeKind};
use crate::ids::PackId;
use crate::pathmatch::PathMatcher;
use crate::repository::saver::lock;
use crate::repository::Repository;
use anyhow::Result;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

pub(super) struct Target {
    pub item: usize,
    pub offset: u64,
}

pub(super) struct PlannedBlob {
    pub entry: BlobEntry,
    pub targets: Vec<Target>,
}

/// Walks the selected node. A directory's contents go straight into the target; a file or symlink
/// is restored under its own name.
pub(super) fn select(
    repo: &Repository,
    node: Node,
    subpath: &str,
    includes: &PathMatcher,
    excludes: &PathMatcher,
) -> Result<Vec<Item>> {
    let base = subpath.trim_matches('/').to_string();
    let mut items = Vec::new();
    if node.kind == NodeKind::Dir {
        walk(
            repo,
            &node.content,
            &base,
            PathBuf::new(),
            false,
            includes,
            excludes,
            &mut items,
        )?;
        // The selected directory itself becomes the target (not re-created, metadata left alone
        // unless it is a real directory of the snapshot).
        if node.name != b"/" && includes.is_empty() {
            items.push(Item {
                rel: PathBuf::new(),
                snap_path: base,
                node,
            });
        }
    } else {
        let name = node.name_lossy();
        if !excludes.matches(&base) && (includes.is_empty() || includes.matches(&base)) {
            items.push(Item {
                rel: PathBuf::from(&name),
                snap_path: base,
                node,
            });
        }
    }
    Ok(items)
}

#[allow(clippy::too_many_arguments)]
fn walk(
    repo: &Repository,
    tree: &[crate::ids::BlobId],
    snap_dir: &str,
    rel_dir: PathBuf,
    included: bool,
    includes: &PathMatcher,
    excludes: &PathMatcher,
    items: &mut Vec<Item>,
) -> Result<bool> {
    let mut any = false;
    for n in repo.load_tree(tree)? {
        let name = n.name_lossy();
        let snap_path = if snap_dir.is_empty() {
            name.clone()
        } else {
            format!("{snap_dir}/{name}")
        };
        if excludes.matches(&snap_path) {
            continue;
        }
        let inc = included || includes.is_empty() || includes.matches(&snap_path);
        let rel =
            rel_dir.join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&n.name));
        if n.kind == NodeKind::Dir {
            let content = n.content.clone();
            let pos = items.len();
            let sub = walk(
                repo,
                &content,
                &snap_path,
                rel.clone(),
                inc,
                includes,
                excludes,
                items,
            )?;
            if sub || inc {
                items.insert(
                    pos,
                    Item {
                        rel,
                        snap_path,
                        node: n,
                    },
                );
                any = true;
            }
        } else if inc {
            items.push(Item {
                rel,
                snap_path,
                node: n,
            });
            any = true;
        }
    }
    Ok(any)
}

/// Groups the blobs of all selected files by pack. Blobs missing from the index are reported.
pub(super) fn by_pack(
    repo: &Repository,
    items: &[Item],
    errors: &Mutex<Vec<String>>,
) -> Vec<(PackId, Vec<PlannedBlob>)> {
    let mut packs: HashMap<PackId, HashMap<crate::ids::BlobId, PlannedBlob>> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        if it.node.kind != NodeKind::File {
            continue;
        }
        let mut offset = 0u64;
        for id in &it.node.content {
            let Some(loc) = repo.index().get(id) else {
                lock(errors).push(format!("{}: blob {id} is not in the index", it.snap_path));
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
        }
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
