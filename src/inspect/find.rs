//! Which snapshots hold paths matching glob patterns, entries holding given blobs or trees, or
//! entries modified within a time range.
//!
//! Patterns have restic's meaning (design.md, "Path patterns"), matched against the path inside
//! the snapshot. Directories match too, and matching a directory does not stop the search below it.
//!
//! Snapshots of the same data share most directories. The matches below a directory depend only on
//! its path and its tree blob IDs, so they are remembered by that pair and a directory seen in an
//! earlier snapshot is not walked again (results are still reported per snapshot).

use super::tree_reader::TreeReader;
use crate::error::bail;
use crate::error::Result;
use crate::format::tree::{Node, NodeKind, Timestamp};
use crate::ids::BlobId;
use crate::pathmatch::PathMatcher;
use crate::repository::walk::{walk, Dir, Visitor};
use crate::repository::Repository;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Subtrees with more matches than this are not remembered (a pattern like `*` would otherwise keep
/// a copy of every path per directory level).
const MEMO_MAX_MATCHES: usize = 10_000;

/// One matching path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Relative to the snapshot root, starting with '/'.
    pub path: String,
    /// File, directory or symlink.
    pub kind: NodeKind,
    /// The size the snapshot records for it, in bytes (a file's length).
    pub size: u64,
    /// Modification time as recorded in the snapshot.
    pub mtime: Timestamp,
}

/// What a finder looks for: an entry matches when it passes every part given.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Path patterns, any of which the entry's path matches.
    pub patterns: Vec<String>,
    /// [`Self::patterns`] that ignore case.
    pub ipatterns: Vec<String>,
    /// Blob or tree IDs, any of which the entry's content lists (a file holding a data blob, a
    /// directory made of a tree blob).
    pub ids: HashSet<BlobId>,
    /// Entries modified at or after this time only.
    pub oldest: Option<Timestamp>,
    /// Entries modified at or before this time only.
    pub newest: Option<Timestamp>,
}

/// Searches snapshot trees, remembering the results of directories already walked.
pub struct Finder<'r> {
    reader: TreeReader<'r>,
    matcher: PathMatcher,
    query: Query,
    memo: HashMap<(String, Vec<BlobId>), Arc<Vec<Match>>>,
}

impl<'r> Finder<'r> {
    /// A finder for paths matching any of `patterns`; at least one.
    pub fn new(repo: &'r Repository, patterns: &[String]) -> Result<Self> {
        Self::with_query(
            repo,
            Query {
                patterns: patterns.to_vec(),
                ..Default::default()
            },
        )
    }

    /// A finder for `query`, which needs patterns or IDs.
    pub fn with_query(repo: &'r Repository, query: Query) -> Result<Self> {
        if query.patterns.is_empty() && query.ipatterns.is_empty() && query.ids.is_empty() {
            bail!(
                InvalidInput,
                "give at least one pattern to find (or --blob, --tree or --pack)"
            );
        }
        Ok(Finder {
            reader: TreeReader::new(repo),
            matcher: PathMatcher::with_insensitive(&query.patterns, &query.ipatterns)?,
            query,
            memo: HashMap::new(),
        })
    }

    fn matches(&self, path: &str, n: &Node) -> bool {
        let q = &self.query;
        (self.matcher.is_empty() || self.matcher.matches(path))
            && (q.ids.is_empty() || n.content.iter().any(|id| q.ids.contains(id)))
            && q.oldest.is_none_or(|t| n.mtime >= t)
            && q.newest.is_none_or(|t| n.mtime <= t)
    }

    /// How many tree blobs were decoded so far.
    pub fn blobs_loaded(&self) -> u64 {
        self.reader.blobs_loaded()
    }

    /// All matching paths of the snapshot whose root tree is `root`, in path order.
    pub fn find(&mut self, root: &BlobId) -> Result<Vec<Match>> {
        let found = walk(self, "/", &[*root])?;
        Ok(Arc::unwrap_or_clone(found))
    }
}

/// A directory's matches are those of its entries and, after each directory entry, the matches below
/// it.
impl Visitor for Finder<'_> {
    type Summary = Arc<Vec<Match>>;

    fn read(&mut self, dir: &Dir) -> Result<Vec<Node>> {
        self.reader.load(dir.ids)
    }

    fn known(&mut self, dir: &Dir) -> Option<Self::Summary> {
        self.memo
            .get(&(dir.path.to_string(), dir.ids.to_vec()))
            .cloned()
    }

    fn leave(
        &mut self,
        dir: &Dir,
        nodes: Vec<Node>,
        below: Vec<Option<Self::Summary>>,
    ) -> Result<Self::Summary> {
        let mut out = Vec::new();
        for (n, below) in nodes.into_iter().zip(below) {
            let child = dir.child(&n);
            if self.matches(&child, &n) {
                out.push(Match {
                    path: child,
                    kind: n.kind,
                    size: n.size,
                    mtime: n.mtime,
                });
            }
            if let Some(below) = below {
                out.extend(below.iter().cloned());
            }
        }
        let out = Arc::new(out);
        if out.len() <= MEMO_MAX_MATCHES {
            self.memo
                .insert((dir.path.to_string(), dir.ids.to_vec()), out.clone());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::format::tree::Node;

    fn paths(m: &[Match]) -> Vec<&str> {
        m.iter().map(|m| m.path.as_str()).collect()
    }

    #[test]
    fn finds_names_and_paths_and_reuses_walked_directories() {
        let mut t = repo();
        let (r1, r2) = t.save(|s| {
            let products = tree(
                s,
                vec![
                    file("1.json", vec![fake(1)], 10),
                    file("2.json", vec![fake(2)], 20),
                ],
                false,
            );
            let theme = tree(s, vec![file("a.css", vec![fake(3)], 3)], false);
            let store = |s, extra: Option<Node>| {
                let mut v = vec![
                    dir("products", products.clone()),
                    dir("theme", theme.clone()),
                ];
                v.extend(extra);
                tree(s, v, false)
            };
            let s1 = store(s, None);
            let s2 = store(s, Some(file("3.json", vec![fake(4)], 30)));
            (
                root(s, vec![dir("store", s1)]),
                root(s, vec![dir("store", s2)]),
            )
        });
        let mut f = Finder::new(&t.repo, &["*.json".to_string()]).unwrap();
        let m1 = f.find(&r1).unwrap();
        assert_eq!(
            paths(&m1),
            ["/store/products/1.json", "/store/products/2.json"]
        );
        assert_eq!(m1[1].size, 20);
        assert_eq!(m1[1].kind, NodeKind::File);
        let loaded = f.blobs_loaded();
        let m2 = f.find(&r2).unwrap();
        assert_eq!(
            paths(&m2),
            [
                "/store/3.json",
                "/store/products/1.json",
                "/store/products/2.json"
            ]
        );
        // Only the new root and the changed store directory were read again.
        assert_eq!(f.blobs_loaded(), loaded + 2);

        let mut f = Finder::new(&t.repo, &["store/*".to_string()]).unwrap();
        assert_eq!(
            paths(&f.find(&r1).unwrap()),
            ["/store/products", "/store/theme"]
        );
        let mut f = Finder::new(&t.repo, &["nothing".to_string()]).unwrap();
        assert!(f.find(&r2).unwrap().is_empty());
        assert!(Finder::new(&t.repo, &[]).is_err());
        assert!(Finder::new(&t.repo, &["[".to_string()]).is_err());
    }
}
