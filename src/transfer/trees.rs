//! Rewrites a snapshot's trees for a destination that names blobs with another key (an unrelated
//! repository): a walk ([`crate::repository::walk`]) over the source's trees that, bottom up, gives
//! every file the destination IDs of its data blobs and every directory the IDs of its rewritten
//! tree, and stores each directory with the destination's tree chunker. Directories met again (in
//! this snapshot or an earlier one of the same copy) are rewritten once.

use crate::error::{err, Result};
use crate::format::tree::{Node, NodeKind};
use crate::ids::BlobId;
use crate::repository::saver::BlobSaver;
use crate::repository::walk::{walk, Dir, Visitor};
use crate::repository::Repository;
use std::collections::HashMap;

/// Rewrites trees from `src` into the saver's repository, given the destination IDs of the data
/// blobs.
pub(super) struct Rewriter<'a> {
    src: &'a Repository,
    saver: &'a BlobSaver<'a>,
    data: &'a HashMap<BlobId, BlobId>,
    /// (source tree blob IDs, is the root) -> destination tree blob IDs.
    done: HashMap<(Vec<BlobId>, bool), Vec<BlobId>>,
}

impl<'a> Rewriter<'a> {
    pub(super) fn new(
        src: &'a Repository,
        saver: &'a BlobSaver<'a>,
        data: &'a HashMap<BlobId, BlobId>,
    ) -> Self {
        Rewriter {
            src,
            saver,
            data,
            done: HashMap::new(),
        }
    }

    /// The destination's root tree blob for the source root tree blob `root`.
    pub(super) fn root(&mut self, root: BlobId) -> Result<BlobId> {
        let ids = walk(self, "/", &[root])?;
        match ids.as_slice() {
            [one] => Ok(*one),
            _ => Err(err!(Other, "a rewritten root tree is not one blob")),
        }
    }

    fn data_id(&self, id: &BlobId, dir: &Dir, node: &Node) -> Result<BlobId> {
        self.data.get(id).copied().ok_or_else(|| {
            err!(
                Other,
                "data blob {id} of {} was not copied",
                dir.child(node)
            )
        })
    }
}

impl Visitor for Rewriter<'_> {
    /// A directory comes to its tree blob IDs in the destination.
    type Summary = Vec<BlobId>;

    fn read(&mut self, dir: &Dir) -> Result<Vec<Node>> {
        self.src.load_tree(dir.ids)
    }

    fn known(&mut self, dir: &Dir) -> Option<Vec<BlobId>> {
        self.done.get(&(dir.ids.to_vec(), dir.depth == 0)).cloned()
    }

    fn leave(
        &mut self,
        dir: &Dir,
        nodes: Vec<Node>,
        below: Vec<Option<Vec<BlobId>>>,
    ) -> Result<Vec<BlobId>> {
        let mut out = Vec::with_capacity(nodes.len());
        for (mut n, below) in nodes.into_iter().zip(below) {
            match n.kind {
                NodeKind::File => {
                    n.content = n
                        .content
                        .iter()
                        .map(|id| self.data_id(id, dir, &n))
                        .collect::<Result<_>>()?;
                }
                NodeKind::Dir => {
                    n.content = below
                        .ok_or_else(|| err!(Other, "directory {} was not walked", dir.child(&n)))?;
                }
                _ => {}
            }
            out.push(n);
        }
        let ids = self.saver.save_tree(&out, dir.depth == 0)?;
        self.done
            .insert((dir.ids.to_vec(), dir.depth == 0), ids.clone());
        Ok(ids)
    }
}
