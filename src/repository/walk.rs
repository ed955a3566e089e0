//! The one walk over snapshot trees: depth first, entries in name order, with an explicit stack (a
//! hostile snapshot nesting directories a million deep cannot overflow the call stack) and a depth
//! limit ([`MAX_DEPTH`]) whose error names the path.
//!
//! A [`Visitor`] says how to read a directory, which entries to walk into, what a directory comes to
//! once everything below it is done (its matches, its sizes, its rewritten tree), which directories
//! are already known (so shared subtrees are read once), and whether an unreadable directory stops
//! the walk or is noted and skipped. `ls`, `find`, `stats`, `check`, `repair snapshots`, the
//! restore planner and copy's tree rewriter are visitors. `diff` walks two trees side by side and prune's reachability
//! reads whole levels in parallel; both need a different shape of walk and keep their own.

use crate::error::{err, Error, Result};
use crate::format::tree::{Node, NodeKind, MAX_DEPTH};
use crate::ids::BlobId;

/// A directory met by a walk.
#[derive(Debug, Clone, Copy)]
pub struct Dir<'a> {
    /// Its path as the walk builds it: the root path the walk started with, then names joined by
    /// [`join`].
    pub path: &'a str,
    /// Its tree blob IDs.
    pub ids: &'a [BlobId],
    /// 0 for the directory the walk started at.
    pub depth: usize,
}

impl Dir<'_> {
    /// The path of an entry of this directory.
    pub fn child(&self, node: &Node) -> String {
        join(self.path, &node.name_lossy())
    }

    /// `error` with this directory's path in front (at most its first 200 bytes).
    pub fn name_in(&self, error: Error) -> Error {
        error.context(format!("directory {}", shortened(self.display())))
    }

    /// The path for messages: `/` for an empty root path.
    pub fn display(&self) -> &str {
        if self.path.is_empty() {
            "/"
        } else {
            self.path
        }
    }
}

/// `parent/name`; just `name` under an empty parent, and no second `/` under a parent ending in one.
pub fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else if parent.ends_with('/') {
        format!("{parent}{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// What a walk does at each directory and entry.
pub trait Visitor {
    /// What a directory comes to once it and everything below it were walked.
    type Summary;

    /// Reads a directory's entries (sorted by name).
    fn read(&mut self, dir: &Dir) -> Result<Vec<Node>>;

    /// Called before a directory is read (the start directory included). A summary returned here
    /// stands for the directory, which is then not read: for subtrees already walked.
    fn known(&mut self, dir: &Dir) -> Option<Self::Summary> {
        let _ = dir;
        None
    }

    /// Each entry of `dir`, in order, before anything below it. For a directory entry, whether to
    /// walk into it (when not, its summary is `None`).
    fn entry(&mut self, dir: &Dir, node: &Node) -> Result<bool> {
        let _ = (dir, node);
        Ok(true)
    }

    /// A directory that could not be read, or that nests deeper than [`MAX_DEPTH`] (the error says
    /// which, and not where: [`Dir::name_in`] adds that). A summary carries on with the walk; an
    /// error stops it. By default it stops, naming the directory.
    fn unreadable(&mut self, dir: &Dir, error: Error) -> Result<Self::Summary> {
        Err(dir.name_in(error))
    }

    /// After every entry of `dir` and everything below them: its entries and, for each, the
    /// summary of the directory below it (`None` for files, symlinks and directories not walked).
    fn leave(
        &mut self,
        dir: &Dir,
        nodes: Vec<Node>,
        below: Vec<Option<Self::Summary>>,
    ) -> Result<Self::Summary>;
}

/// One directory being walked.
struct Frame<S> {
    path: String,
    ids: Vec<BlobId>,
    depth: usize,
    nodes: Vec<Node>,
    below: Vec<Option<S>>,
}

impl<S> Frame<S> {
    fn dir(&self) -> Dir<'_> {
        Dir {
            path: &self.path,
            ids: &self.ids,
            depth: self.depth,
        }
    }
}

/// What happened when a directory was opened: read (a frame to walk), or settled at once.
enum Opened<S> {
    Frame(Frame<S>),
    Settled(S),
}

fn open<V: Visitor>(
    v: &mut V,
    path: String,
    ids: Vec<BlobId>,
    depth: usize,
) -> Result<Opened<V::Summary>> {
    let dir = Dir {
        path: &path,
        ids: &ids,
        depth,
    };
    if depth > MAX_DEPTH {
        let e = err!(Corrupt, "directories nested deeper than {MAX_DEPTH} levels");
        return v.unreadable(&dir, e).map(Opened::Settled);
    }
    if let Some(s) = v.known(&dir) {
        return Ok(Opened::Settled(s));
    }
    match v.read(&dir) {
        Ok(nodes) => Ok(Opened::Frame(Frame {
            below: Vec::with_capacity(nodes.len()),
            nodes,
            path,
            ids,
            depth,
        })),
        Err(e) => v.unreadable(&dir, e).map(Opened::Settled),
    }
}

/// At most the first 200 bytes of a path (cut at a character boundary), marked when cut: a path a
/// thousand levels deep makes an unreadable message.
fn shortened(path: &str) -> String {
    if path.len() <= 200 {
        return path.to_string();
    }
    let cut = (0..=200)
        .rev()
        .find(|&i| path.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}...", &path[..cut])
}

/// Walks the directory at `path` made of the tree blobs `ids`; returns what it comes to.
pub fn walk<V: Visitor>(v: &mut V, path: &str, ids: &[BlobId]) -> Result<V::Summary> {
    let mut stack = match open(v, path.to_string(), ids.to_vec(), 0)? {
        Opened::Settled(s) => return Ok(s),
        Opened::Frame(f) => vec![f],
    };
    loop {
        let Some(top) = stack.last_mut() else {
            return Err(err!(Other, "tree walk ended without a result"));
        };
        let i = top.below.len();
        if i == top.nodes.len() {
            let Some(mut done) = stack.pop() else {
                return Err(err!(Other, "tree walk ended without a result"));
            };
            let nodes = std::mem::take(&mut done.nodes);
            let below = std::mem::take(&mut done.below);
            let summary = v.leave(&done.dir(), nodes, below)?;
            match stack.last_mut() {
                Some(parent) => parent.below.push(Some(summary)),
                None => return Ok(summary),
            }
            continue;
        }
        let node = &top.nodes[i];
        let into = v.entry(&top.dir(), node)?;
        if !into || node.kind != NodeKind::Dir {
            top.below.push(None);
            continue;
        }
        let child = top.dir().child(node);
        let ids = node.content.clone();
        let depth = top.depth + 1;
        match open(v, child, ids, depth)? {
            Opened::Settled(s) => top.below.push(Some(s)),
            Opened::Frame(f) => stack.push(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::tree::Timestamp;
    use std::collections::HashMap;

    fn node(name: &str, kind: NodeKind, content: Vec<BlobId>) -> Node {
        Node {
            name: name.as_bytes().to_vec(),
            kind,
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: Timestamp::default(),
            ctime: Timestamp::default(),
            inode: 0,
            device: 0,
            size: 1,
            content,
            link_target: vec![],
            rdev: 0,
            links: 0,
            xattrs: vec![],
        }
    }

    fn id(n: u8) -> BlobId {
        BlobId([n; 32])
    }

    /// Trees held in memory; records every call.
    struct Record {
        trees: HashMap<BlobId, Vec<Node>>,
        calls: Vec<String>,
        known: Vec<BlobId>,
        skip_unreadable: bool,
    }

    impl Visitor for Record {
        type Summary = usize;
        fn read(&mut self, dir: &Dir) -> Result<Vec<Node>> {
            self.calls.push(format!("read {}", dir.display()));
            self.trees
                .get(&dir.ids[0])
                .cloned()
                .ok_or_else(|| err!(NotFound, "no tree {}", dir.ids[0].short()))
        }
        fn known(&mut self, dir: &Dir) -> Option<usize> {
            self.known.contains(&dir.ids[0]).then_some(100)
        }
        fn entry(&mut self, dir: &Dir, node: &Node) -> Result<bool> {
            self.calls.push(format!("entry {}", dir.child(node)));
            Ok(node.name != b"skip")
        }
        fn unreadable(&mut self, dir: &Dir, error: Error) -> Result<usize> {
            self.calls
                .push(format!("unreadable {}: {error:#}", dir.display()));
            if self.skip_unreadable {
                Ok(0)
            } else {
                Err(dir.name_in(error))
            }
        }
        fn leave(
            &mut self,
            dir: &Dir,
            nodes: Vec<Node>,
            below: Vec<Option<usize>>,
        ) -> Result<usize> {
            self.calls.push(format!("leave {}", dir.display()));
            assert_eq!(nodes.len(), below.len());
            Ok(nodes.len() + below.iter().flatten().sum::<usize>())
        }
    }

    fn tree() -> HashMap<BlobId, Vec<Node>> {
        HashMap::from([
            (
                id(1),
                vec![
                    node("a", NodeKind::Dir, vec![id(2)]),
                    node("b.json", NodeKind::File, vec![]),
                    node("c", NodeKind::Dir, vec![id(3)]),
                    node("skip", NodeKind::Dir, vec![id(2)]),
                ],
            ),
            (id(2), vec![node("x", NodeKind::File, vec![])]),
            (id(3), vec![node("gone", NodeKind::Dir, vec![id(9)])]),
        ])
    }

    #[test]
    fn entries_come_depth_first_and_directories_are_left_after_their_contents() {
        let mut r = Record {
            trees: tree(),
            calls: vec![],
            known: vec![],
            skip_unreadable: true,
        };
        let total = walk(&mut r, "/", &[id(1)]).unwrap();
        let want = [
            "read /",
            "entry /a",
            "read /a",
            "entry /a/x",
            "leave /a",
            "entry /b.json",
            "entry /c",
            "read /c",
            "entry /c/gone",
            "read /c/gone",
            "unreadable /c/gone: no tree ",
            "leave /c",
            "entry /skip",
            "leave /",
        ];
        assert_eq!(r.calls.len(), want.len(), "{:#?}", r.calls);
        for (got, want) in r.calls.iter().zip(want) {
            assert!(got.starts_with(want), "{got:?} is not {want:?}");
        }
        // root: 4 entries + a (1) + c (1 + gone's 0) ; skip is not walked.
        assert_eq!(total, 4 + 1 + 1);
    }

    #[test]
    fn a_known_directory_is_not_read_and_its_summary_counts() {
        let mut r = Record {
            trees: tree(),
            calls: vec![],
            known: vec![id(3)],
            skip_unreadable: false,
        };
        assert_eq!(walk(&mut r, "", &[id(1)]).unwrap(), 4 + 1 + 100);
        assert!(!r.calls.iter().any(|c| c.starts_with("read c")));
        assert!(r.calls.contains(&"entry c".to_string()));
    }

    #[test]
    fn an_unreadable_directory_stops_the_walk_unless_the_visitor_goes_on() {
        let mut r = Record {
            trees: tree(),
            calls: vec![],
            known: vec![],
            skip_unreadable: false,
        };
        let e = walk(&mut r, "", &[id(1)]).unwrap_err();
        assert!(
            format!("{e:#}").contains("directory c/gone: no tree"),
            "{e:#}"
        );
        assert!(!r.calls.iter().any(|c| c == "entry skip"));
    }

    #[test]
    fn nesting_past_the_limit_is_an_error_naming_the_path_and_uses_no_recursion() {
        // A chain of MAX_DEPTH + 5 directories, each one tree blob pointing at the next.
        let mut trees = HashMap::new();
        for d in 0..(MAX_DEPTH + 5) as u32 {
            let mut b = [0u8; 32];
            b[..4].copy_from_slice(&d.to_le_bytes());
            let mut next = [0u8; 32];
            next[..4].copy_from_slice(&(d + 1).to_le_bytes());
            trees.insert(
                BlobId(b),
                vec![node("d", NodeKind::Dir, vec![BlobId(next)])],
            );
        }
        let mut r = Record {
            trees,
            calls: vec![],
            known: vec![],
            skip_unreadable: false,
        };
        let e = walk(&mut r, "", &[BlobId([0; 32])]).unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains("nested deeper than 1000 levels"), "{msg}");
        assert!(
            msg.starts_with("directory d/d/d/d/d/d/d/d/d/d/d/d/"),
            "{msg}"
        );
        assert!(msg.len() < 300, "{msg}");
    }
}
