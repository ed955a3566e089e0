//! Reading and writing directory trees as chunked streams of nodes.

use super::saver::BlobSaver;
use super::Repository;
use crate::error::{bail, err};
use crate::error::{Context, Result};
use crate::format::blob_entry::BlobType;
use crate::format::tree::{self, Node, NodeKind};
use crate::ids::BlobId;
use rayon::prelude::*;
use std::collections::HashSet;

impl Repository {
    /// Loads a directory from its tree blobs.
    pub fn load_tree(&self, ids: &[BlobId]) -> Result<Vec<Node>> {
        let mut nodes = Vec::new();
        for id in ids {
            nodes.extend(self.load_tree_blob(id)?);
        }
        tree::check_sorted(&nodes).with_context(|| {
            format!(
                "tree {}",
                ids.first().map(|i| i.short()).unwrap_or_default()
            )
        })?;
        Ok(nodes)
    }

    /// Reads and decodes one tree blob (whole nodes, sorted within the blob).
    pub fn load_tree_blob(&self, id: &BlobId) -> Result<Vec<Node>> {
        let plain = self
            .read_blob(id)
            .with_context(|| format!("loading tree {id}"))?;
        tree::decode_blob(&plain).with_context(|| format!("decoding tree {id}"))
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
                .map(|id| self.load_tree_blob(id))
                .collect::<Result<_>>()?;
            let mut next = Vec::new();
            for n in children.into_iter().flatten() {
                match n.kind {
                    NodeKind::Dir => {
                        next.extend(n.content.into_iter().filter(|id| seen.insert(*id)))
                    }
                    NodeKind::File => seen.extend(n.content),
                    _ => {}
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
                bail!(InvalidInput, "{} is not a directory", comps[..=i].join("/"));
            }
            ids = n.content;
        }
        Err(err!(Other, "unreachable path walk"))
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
        rdev: 0,
        links: 0,
        xattrs: vec![],
    }
}

impl BlobSaver<'_> {
    /// Stores a directory's sorted nodes; returns its tree blob IDs. The root is never cut.
    /// Nodes that a reader would reject (a bad name, names out of order or repeated) are refused
    /// before anything is saved, so a snapshot never references a tree that `ls` or `prune` cannot
    /// read.
    pub fn save_tree(&self, nodes: &[Node], is_root: bool) -> Result<Vec<BlobId>> {
        tree::check_for_write(nodes)
            .context("refusing to store a directory readers would reject")?;
        let version = tree::version_for(nodes);
        let (stream, ends) = tree::encode_stream(nodes, version);
        let ranges: Vec<std::ops::Range<usize>> = if is_root || stream.is_empty() {
            std::iter::once(0..stream.len()).collect()
        } else {
            self.repo()
                .tree_chunker()
                .chunks_at_boundaries(&stream, &ends)
        };
        let mut ids = Vec::with_capacity(ranges.len());
        for r in ranges {
            let blob = tree::blob_from_stream_part(version, &stream[r]);
            ids.push(self.save(BlobType::Tree, &blob, true)?.0);
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::LocalBackend;
    use crate::crypto::kdf::{KdfParams, M_COST_MIN};
    use crate::format::tree::Timestamp;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    fn file_node(i: u32, mtime: i64) -> Node {
        Node {
            name: format!("{i:06}.json").into_bytes(),
            kind: NodeKind::File,
            mode: 0o644,
            uid: 1000,
            gid: 1000,
            mtime: Timestamp {
                sec: mtime,
                nsec: 0,
            },
            ctime: Timestamp {
                sec: mtime,
                nsec: 0,
            },
            inode: 1_000_000 + i as u64,
            device: 2049,
            size: 1500 + i as u64 % 700,
            content: vec![BlobId(*blake3::hash(&i.to_le_bytes()).as_bytes())],
            link_target: vec![],
            rdev: 0,
            links: 0,
            xattrs: vec![],
        }
    }

    fn test_repo(dir: &std::path::Path) -> Repository {
        let kdf = KdfParams {
            m_cost: M_COST_MIN,
            t_cost: 1,
            p_cost: 1,
        };
        Repository::init(Arc::new(LocalBackend::new(dir.join("r"))), b"pw", kdf).unwrap()
    }

    /// A tree that readers reject is refused by the writer, and nothing is saved.
    #[test]
    fn save_tree_refuses_bad_or_unsorted_names() {
        let dir = tempfile::tempdir().unwrap();
        let repo = test_repo(dir.path());
        let saver = BlobSaver::new(&repo).unwrap();
        let named = |name: &[u8]| Node {
            name: name.to_vec(),
            ..file_node(1, 1_700_000_000)
        };
        let long = vec![b'x'; tree::MAX_NAME + 1];
        let bad: Vec<(&str, Vec<Node>)> = vec![
            ("empty name", vec![named(b"")]),
            ("dot", vec![named(b".")]),
            ("dot-dot", vec![named(b"..")]),
            ("slash", vec![named(b"a/b")]),
            ("NUL", vec![named(b"a\0b")]),
            ("too long", vec![named(&long)]),
            ("unsorted", vec![named(b"b"), named(b"a")]),
            ("duplicate", vec![named(b"a"), named(b"a")]),
        ];
        for (what, nodes) in bad {
            for root in [false, true] {
                let err = saver.save_tree(&nodes, root);
                assert!(err.is_err(), "{what} (root {root}) was stored");
            }
        }
        let mut symlink_with_content = named(b"l");
        symlink_with_content.kind = NodeKind::Symlink;
        symlink_with_content.size = 0;
        assert!(saver.save_tree(&[symlink_with_content], false).is_err());
        assert_eq!(saver.stats.blobs_added.load(Ordering::Relaxed), 0);
        // The longest allowed name, sorted unique names: stored and read back.
        let max = vec![b'y'; tree::MAX_NAME];
        let good = vec![named(b"a"), named(b"b"), named(&max)];
        let ids = saver.save_tree(&good, false).unwrap();
        saver.finish().unwrap();
        let mut repo = repo;
        let guard = repo.lock(crate::repository::lock::LockKind::Read).unwrap();
        repo.load_index(&guard).unwrap();
        assert_eq!(repo.load_tree(&ids).unwrap(), good);
    }

    /// One changed entry in a 100k-entry directory costs a few tree blobs, not the whole directory.
    #[test]
    fn one_change_in_a_huge_directory_adds_little_tree_data() {
        let dir = tempfile::tempdir().unwrap();
        let kdf = KdfParams {
            m_cost: M_COST_MIN,
            t_cost: 1,
            p_cost: 1,
        };
        let mut repo = Repository::init(
            Arc::new(LocalBackend::new(dir.path().join("r"))),
            b"pw",
            kdf,
        )
        .unwrap();
        let mut nodes: Vec<Node> = (0..100_000).map(|i| file_node(i, 1_700_000_000)).collect();
        let saver = BlobSaver::new(&repo).unwrap();
        let first = saver.save_tree(&nodes, false).unwrap();
        let first_stored = saver.stats.stored_bytes_added.load(Ordering::Relaxed);
        saver.finish().unwrap();
        let guard = repo.lock(crate::repository::lock::LockKind::Read).unwrap();
        repo.load_index(&guard).unwrap();
        drop(guard);
        assert!(
            first.len() > 50,
            "a 100k-entry directory should be cut into many blobs"
        );

        nodes[54_321] = file_node(54_321, 1_800_000_000);
        let saver = BlobSaver::new(&repo).unwrap();
        let second = saver.save_tree(&nodes, false).unwrap();
        let added = saver.stats.stored_bytes_added.load(Ordering::Relaxed);
        let blobs = saver.stats.blobs_added.load(Ordering::Relaxed);
        saver.finish().unwrap();
        let guard = repo.lock(crate::repository::lock::LockKind::Read).unwrap();
        repo.load_index(&guard).unwrap();
        drop(guard);
        assert_eq!(repo.load_tree(&second).unwrap(), nodes);
        assert!(blobs <= 3, "{blobs} tree blobs added");
        // Bounded by one tree chunk (at most 64 KiB raw before compression), whatever the seed.
        let max = repo.config().chunker.tree.max as u64;
        assert!(
            added < max,
            "{added} bytes of tree data added (first version: {first_stored})"
        );
        eprintln!("tree: first {first_stored} bytes in {} blobs; one change adds {added} bytes in {blobs} blobs", first.len());
    }
}
