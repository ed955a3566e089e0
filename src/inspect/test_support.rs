//! Helpers for the unit tests: a throw-away repository and hand-built trees.

use crate::backend::LocalBackend;
use crate::crypto::kdf::KdfParams;
use crate::format::blob_entry::BlobType;
use crate::format::tree::Timestamp;
use crate::format::tree::{Node, NodeKind};
use crate::ids::BlobId;
use crate::repository::saver::BlobSaver;
use crate::repository::Repository;
use std::sync::Arc;

pub struct TestRepo {
    _dir: tempfile::TempDir,
    pub repo: Repository,
}

pub fn repo() -> TestRepo {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(LocalBackend::new(dir.path().join("repo")));
    let kdf = KdfParams {
        m_cost: 8192,
        t_cost: 1,
        p_cost: 1,
    };
    let repo = Repository::init(backend, b"test", kdf).unwrap();
    TestRepo { _dir: dir, repo }
}

impl TestRepo {
    /// Runs `f` with a blob saver, then writes the index and reloads it.
    pub fn save<T>(&mut self, f: impl FnOnce(&BlobSaver) -> T) -> T {
        let saver = BlobSaver::new(&self.repo).unwrap();
        let out = f(&saver);
        saver.finish().unwrap();
        let guard = self
            .repo
            .lock(crate::repository::lock::LockKind::Read)
            .unwrap();
        self.repo.load_index(&guard).unwrap();
        out
    }
}

pub fn node(name: &str, kind: NodeKind, content: Vec<BlobId>, size: u64) -> Node {
    Node {
        name: name.as_bytes().to_vec(),
        kind,
        mode: 0o644,
        uid: 1000,
        gid: 1000,
        mtime: Timestamp { sec: 1000, nsec: 0 },
        ctime: Timestamp { sec: 1000, nsec: 0 },
        inode: 1,
        device: 1,
        size,
        content,
        link_target: vec![],
        rdev: 0,
        links: 0,
        xattrs: vec![],
    }
}

pub fn file(name: &str, content: Vec<BlobId>, size: u64) -> Node {
    node(name, NodeKind::File, content, size)
}

pub fn dir(name: &str, ids: Vec<BlobId>) -> Node {
    node(name, NodeKind::Dir, ids, 0)
}

pub fn symlink(name: &str, target: &str) -> Node {
    let mut n = node(name, NodeKind::Symlink, vec![], 0);
    n.link_target = target.as_bytes().to_vec();
    n
}

/// Stores a directory (sorting its nodes); returns its tree blob IDs.
pub fn tree(s: &BlobSaver, mut nodes: Vec<Node>, root: bool) -> Vec<BlobId> {
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    s.save_tree(&nodes, root).unwrap()
}

/// Stores a root tree; returns its single ID.
pub fn root(s: &BlobSaver, nodes: Vec<Node>) -> BlobId {
    tree(s, nodes, true)[0]
}

pub fn data(s: &BlobSaver, bytes: &[u8]) -> BlobId {
    s.save(BlobType::Data, bytes, true).unwrap().0
}

/// A fake content ID (diff never reads file contents).
/// A made-up blob ID for `n`, random-looking like a real one (IDs of mostly zero bytes make tree
/// streams periodic, which no real directory is, and FastCDC cuts periodic data degenerately).
pub fn fake(n: u32) -> BlobId {
    BlobId(*blake3::hash(&n.to_le_bytes()).as_bytes())
}
