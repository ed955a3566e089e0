//! Reading and writing directory trees as chunked streams of nodes.

use super::saver::BlobSaver;
use super::Repository;
use crate::chunker::Class;
use crate::format::blob_entry::BlobType;
use crate::format::tree::{self, Node, NodeKind};
use crate::ids::BlobId;
use anyhow::{anyhow, bail, Context, Result};
use rayon::prelude::*;
use std::collections::HashSet;

impl Repository {
    /// Loads a directory from its tree blobs.
    pub fn load_tree(&self, ids: &[BlobId]) -> Result<Vec<Node>> {
        let mut nodes = Vec::new();
        for id in ids {
            let plain = self
                .read_blob(id)
                .with_context(|| format!("loading tree {id}"))?;
            let part = tree::decode_blob(&plain).with_context(|| format!("decoding tree {id}"))?;
            nodes.extend(part);
        }
        tree::check_sorted(&nodes).with_context(|| {
            format!(
                "tree {}",
                ids.first().map(|i| i.short()).unwrap_or_default()
            )
        })?;
        Ok(nodes)
    }

    /// Every blob (tree and data) reachable from the given root tree blobs. Each tree blob is read and
    /// decoded once (tree blobs hold whole nodes), level by level in parallel.
    pub fn referenced_blobs(&self, roots: &[BlobId]) -> Result<HashSet<BlobId>> {
        let mut seen: HashSet<BlobId> = HashSet::new();
        let mut level: Vec<BlobId> = roots
            .iter()
            .copied()
            .filter(|id| seen.insert(*id))
            .collect();
        while !level.is_empty() {
            let children: Vec<Vec<Node>> = level
                .par_iter()
                .map(|id| -> Result<Vec<Node>> {
                    let plain = self
                        .read_blob(id)
                        .with_context(|| format!("loading tree {id}"))?;
                    tree::decode_blob(&plain).with_context(|| format!("decoding tree {id}"))
                })
                .collect::<Result<_>>()?;
            let mut next = Vec::new();
            for n in children.into_iter().flatten() {
                match n.kind {
                    NodeKind::Dir => {
                        next.extend(n.content.into_iter().filter(|id| seen.insert(*id)))
                    }
                    NodeKind::File => seen.extend(n.content),
                    NodeKind::Symlink => {}
                }
            }
            level = next;
        }
        Ok(seen)
    }

    /// Follows `path` (components separated by '/') from the root tree. An empty path is the root.
    pub fn find_node(&self, root: &BlobId, path: &str) -> Result<Option<Node>> {
        let mut ids = vec![*root];
        let comps: Vec<&str> = path
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        if comps.is_empty() {
            return Ok(Some(root_node(*root)));
        }
        for (i, comp) in comps.iter().enumerate() {
            let nodes = self.load_tree(&ids)?;
            let Some(n) = nodes.into_iter().find(|n| n.name == comp.as_bytes()) else {
                return Ok(None);
            };
            if i + 1 == comps.len() {
                return Ok(Some(n));
            }
            if n.kind != NodeKind::Dir {
                bail!("{} is not a directory", comps[..=i].join("/"));
            }
            ids = n.content;
        }
        Err(anyhow!("unreachable path walk"))
    }
}

/// A synthetic directory node standing for a snapshot's root.
pub fn root_node(root: BlobId) -> Node {
    Node {
        name: b"/".to_vec(),
        kind: NodeKind::Dir,
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime: Default::default(),
        ctime: Default::default(),
        inode: 0,
        device: 0,
        size: 0,
        content: vec![root],
        link_target: vec![],
    }
}

impl BlobSaver<'_> {
    /// Stores a directory's sorted nodes; returns its tree blob IDs. The root is never cut.
    pub fn save_tree(&self, nodes: &[Node], is_root: bool) -> Result<Vec<BlobId>> {
        let (stream, ends) = tree::encode_stream(nodes);
        let ranges: Vec<std::ops::Range<usize>> = if is_root || stream.is_empty() {
            std::iter::once(0..stream.len()).collect()
        } else {
            self.repo()
                .chunker(Class::Text)
                .chunks_at_boundaries(&stream, &ends)
        };
        let mut ids = Vec::with_capacity(ranges.len());
        for r in ranges {
            let blob = tree::blob_from_stream_part(&stream[r]);
            ids.push(self.save(BlobType::Tree, &blob, true)?.0);
        }
        Ok(ids)
    }
}
