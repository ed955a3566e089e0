//! What a directory of a snapshot holds, everything below it included (`ls`).

use crate::error::Result;
use crate::format::tree::Node;
use crate::ids::BlobId;
use crate::repository::walk::{walk, Dir, Visitor};
use crate::repository::Repository;

/// Calls `each` with the path and node of every entry below the directory at `path` made of the
/// tree blobs `ids`, depth first in name order (a directory before its contents). Paths are
/// `path/name`. An unreadable directory, or an error from `each`, stops the listing.
pub fn list(
    repo: &Repository,
    path: &str,
    ids: &[BlobId],
    each: impl FnMut(&str, &Node) -> Result<()>,
) -> Result<()> {
    walk(&mut Lister { repo, each }, path, ids)
}

struct Lister<'r, F> {
    repo: &'r Repository,
    each: F,
}

impl<F: FnMut(&str, &Node) -> Result<()>> Visitor for Lister<'_, F> {
    type Summary = ();

    fn read(&mut self, dir: &Dir) -> Result<Vec<Node>> {
        self.repo.load_tree(dir.ids)
    }

    fn entry(&mut self, dir: &Dir, node: &Node) -> Result<bool> {
        (self.each)(&dir.child(node), node)?;
        Ok(true)
    }

    fn leave(&mut self, _: &Dir, _: Vec<Node>, _: Vec<Option<()>>) -> Result<()> {
        Ok(())
    }
}
