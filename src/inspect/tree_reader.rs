//! Reading tree blobs for the inspect commands, counting how many were decoded (the tests check
//! that unchanged directories are not read again).

use crate::error::Result;
use crate::format::tree::Node;
use crate::ids::BlobId;
use crate::repository::Repository;
use std::sync::atomic::{AtomicU64, Ordering};

pub use crate::format::tree::MAX_DEPTH;

/// Loads tree blobs through the repository and counts how many it decoded.
pub struct TreeReader<'r> {
    repo: &'r Repository,
    loaded: AtomicU64,
}

impl<'r> TreeReader<'r> {
    /// A reader over `repo`, with its count at zero.
    pub fn new(repo: &'r Repository) -> Self {
        TreeReader {
            repo,
            loaded: AtomicU64::new(0),
        }
    }

    /// The repository it reads from.
    pub fn repo(&self) -> &'r Repository {
        self.repo
    }

    /// How many tree blobs were read and decoded so far.
    pub fn blobs_loaded(&self) -> u64 {
        self.loaded.load(Ordering::Relaxed)
    }

    /// Reads and decodes one tree blob.
    pub fn load_blob(&self, id: &BlobId) -> Result<Vec<Node>> {
        self.loaded.fetch_add(1, Ordering::Relaxed);
        self.repo.load_tree_blob(id)
    }

    /// Loads a run of tree blobs of one directory; the nodes must be sorted across the run.
    pub fn load(&self, ids: &[BlobId]) -> Result<Vec<Node>> {
        self.loaded.fetch_add(ids.len() as u64, Ordering::Relaxed);
        self.repo.load_tree(ids)
    }

    /// Whether the index says this tree blob holds at least one node (more than the version byte).
    pub(super) fn holds_nodes(&self, id: &BlobId) -> bool {
        self.repo
            .index()
            .get(id)
            .is_some_and(|l| l.entry.raw_len > 1)
    }
}
