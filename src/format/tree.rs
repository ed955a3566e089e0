//! Tree nodes and tree blobs (design.md §6).

use super::reader::Reader;
use super::{FormatError, FormatResult};
use crate::ids::{BlobId, ID_LEN};

/// The tree blob encoding version (its first byte).
pub const VERSION: u8 = 1;
/// Longest entry name accepted, in bytes.
pub const MAX_NAME: usize = 4096;
/// Most blob IDs one node may list.
pub const MAX_IDS: usize = 1 << 24;
/// Deepest directory nesting backstock writes and walks. Backup leaves deeper directories out (and
/// says so), and every reader stops there with an error, so a hand-made repository cannot exhaust
/// the stack or memory; real trees are far shallower (a path is at most a few thousand bytes).
pub const MAX_DEPTH: usize = 1000;
/// Bytes of a node before its variable parts.
const FIXED_LEN: usize = 1 + 4 * 3 + 12 + 12 + 8 + 8 + 8;

/// What a node is; the number is its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// A regular file; `content` lists its data blobs.
    File = 1,
    /// A directory; `content` lists the tree blobs of its entries.
    Dir = 2,
    /// A symbolic link; `link_target` holds the target.
    Symlink = 3,
}

/// A file time as stored: seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Timestamp {
    /// Seconds since the Unix epoch (negative before 1970).
    pub sec: i64,
    /// Nanoseconds within the second, below 1_000_000_000.
    pub nsec: u32,
}

/// One directory entry as a tree blob stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The entry's name: one path component, raw bytes (not necessarily UTF-8), no `/` or NUL.
    pub name: Vec<u8>,
    /// File, directory or symlink.
    pub kind: NodeKind,
    /// Permission bits, including setuid, setgid and sticky (`st_mode & 0o7777`).
    pub mode: u32,
    /// Owner's user ID.
    pub uid: u32,
    /// Owner's group ID.
    pub gid: u32,
    /// Last modification time.
    pub mtime: Timestamp,
    /// Last status change time.
    pub ctime: Timestamp,
    /// Inode number at backup time (to recognise unchanged files).
    pub inode: u64,
    /// Device number at backup time.
    pub device: u64,
    /// File size in bytes (0 for directories and symlinks).
    pub size: u64,
    /// Content blob IDs (file) or tree blob IDs (directory).
    pub content: Vec<BlobId>,
    /// Symlink target as raw bytes (empty for other kinds).
    pub link_target: Vec<u8>,
}

impl Node {
    /// The name as text, invalid UTF-8 replaced by U+FFFD.
    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    /// Bytes `encode` appends for this node, its 4-byte length prefix included.
    pub fn encoded_len(&self) -> usize {
        4 + FIXED_LEN
            + 2
            + self.name.len()
            + 4
            + self.content.len() * ID_LEN
            + 2
            + self.link_target.len()
    }

    /// Appends the node's length-prefixed encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&((self.encoded_len() - 4) as u32).to_le_bytes());
        out.push(self.kind as u8);
        for v in [self.mode, self.uid, self.gid] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for t in [self.mtime, self.ctime] {
            out.extend_from_slice(&t.sec.to_le_bytes());
            out.extend_from_slice(&t.nsec.to_le_bytes());
        }
        for v in [self.inode, self.device, self.size] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(self.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.name);
        out.extend_from_slice(&(self.content.len() as u32).to_le_bytes());
        for id in &self.content {
            out.extend_from_slice(&id.0);
        }
        out.extend_from_slice(&(self.link_target.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.link_target);
    }

    /// Reads one length-prefixed node and checks its name, times and ID count.
    pub fn decode(r: &mut Reader<'_>) -> FormatResult<Self> {
        let len = r.u32()? as usize;
        let body = r.bytes(len)?;
        let mut r = Reader::new(body, "tree node");
        let kind = match r.u8()? {
            1 => NodeKind::File,
            2 => NodeKind::Dir,
            3 => NodeKind::Symlink,
            k => return Err(FormatError::Invalid(format!("node type {k}"))),
        };
        let mode = r.u32()?;
        let uid = r.u32()?;
        let gid = r.u32()?;
        let mtime = read_time(&mut r)?;
        let ctime = read_time(&mut r)?;
        let inode = r.u64()?;
        let device = r.u64()?;
        let size = r.u64()?;
        let n = r.u16()? as usize;
        let name = r.bytes(n)?.to_vec();
        check_name(&name)?;
        let c = r.count(ID_LEN)?;
        if c > MAX_IDS {
            return Err(FormatError::Invalid(format!("node with {c} IDs")));
        }
        let mut content = Vec::with_capacity(c);
        for _ in 0..c {
            content.push(BlobId(r.id()?));
        }
        let t = r.u16()? as usize;
        let link_target = r.bytes(t)?.to_vec();
        r.expect_end()?;
        let node = Node {
            name,
            kind,
            mode,
            uid,
            gid,
            mtime,
            ctime,
            inode,
            device,
            size,
            content,
            link_target,
        };
        node.check()?;
        Ok(node)
    }

    /// The rules every reader enforces on one node; a writer checks them too, so that it never
    /// stores a node that `decode` would reject.
    pub fn check(&self) -> FormatResult<()> {
        check_name(&self.name)?;
        let invalid = |what: &str| {
            Err(FormatError::Invalid(format!(
                "node {:?}: {what}",
                self.name_lossy()
            )))
        };
        if self.content.len() > MAX_IDS {
            return invalid(&format!("{} IDs (at most {MAX_IDS})", self.content.len()));
        }
        if self.link_target.len() > u16::MAX as usize {
            return invalid("link target longer than 65535 bytes");
        }
        if self.mtime.nsec >= 1_000_000_000 || self.ctime.nsec >= 1_000_000_000 {
            return invalid("nanoseconds of 10^9 or more");
        }
        if self.kind == NodeKind::Symlink && !self.content.is_empty() {
            return invalid("symlink node with content");
        }
        if self.kind != NodeKind::Symlink && !self.link_target.is_empty() {
            return invalid("link target on a non-symlink node");
        }
        if self.kind != NodeKind::File && self.size != 0 {
            return invalid("size on a non-file node");
        }
        Ok(())
    }
}

fn read_time(r: &mut Reader<'_>) -> FormatResult<Timestamp> {
    let sec = r.i64()?;
    let nsec = r.u32()?;
    if nsec >= 1_000_000_000 {
        return Err(FormatError::Invalid(format!("nanoseconds {nsec}")));
    }
    Ok(Timestamp { sec, nsec })
}

/// A name must be a single, non-empty path component.
pub fn check_name(name: &[u8]) -> FormatResult<()> {
    if name.is_empty()
        || name.len() > MAX_NAME
        || name == b"."
        || name == b".."
        || name.iter().any(|&b| b == b'/' || b == 0)
    {
        return Err(FormatError::Invalid(format!(
            "node name {:?}",
            String::from_utf8_lossy(name)
        )));
    }
    Ok(())
}

/// What a writer checks before storing a directory: every node as `decode` checks it, and names
/// strictly increasing (sorted and unique), as `decode_blob` and `check_sorted` require.
pub fn check_for_write(nodes: &[Node]) -> FormatResult<()> {
    for n in nodes {
        n.check()?;
    }
    check_sorted(nodes)
}

/// Serializes sorted nodes as one stream (no version byte); returns the stream and each node's end offset.
pub fn encode_stream(nodes: &[Node]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::with_capacity(nodes.iter().map(Node::encoded_len).sum());
    let mut ends = Vec::with_capacity(nodes.len());
    for n in nodes {
        n.encode(&mut out);
        ends.push(out.len());
    }
    (out, ends)
}

/// A tree blob's plaintext: the version byte, then whole nodes.
pub fn blob_from_stream_part(part: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(part.len() + 1);
    b.push(VERSION);
    b.extend_from_slice(part);
    b
}

/// Decodes one tree blob into nodes (sorted within the blob).
pub fn decode_blob(bytes: &[u8]) -> FormatResult<Vec<Node>> {
    let mut r = Reader::new(bytes, "tree blob");
    let v = r.u8()?;
    if v != VERSION {
        return Err(FormatError::UnsupportedVersion {
            what: "tree",
            found: v,
        });
    }
    let mut nodes = Vec::new();
    while !r.is_empty() {
        nodes.push(Node::decode(&mut r)?);
    }
    check_sorted(&nodes)?;
    Ok(nodes)
}

/// Names must be strictly increasing.
pub fn check_sorted(nodes: &[Node]) -> FormatResult<()> {
    for w in nodes.windows(2) {
        if w[0].name >= w[1].name {
            return Err(FormatError::Invalid(format!(
                "tree names out of order or duplicated at {:?}",
                w[1].name_lossy()
            )));
        }
    }
    Ok(())
}

/// Tree unit tests; `node_strategy` is shared with other modules' property tests.
#[cfg(test)]
pub mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Arbitrary valid nodes, for property tests.
    pub fn node_strategy() -> impl Strategy<Value = Node> {
        (
            proptest::collection::vec(1u8..=255, 1..40)
                .prop_filter("valid name", |n| check_name(n).is_ok()),
            0u8..3,
            any::<(u32, u32, u32)>(),
            any::<(i64, i64, u64, u64)>(),
            0u32..1_000_000_000,
            any::<u64>(),
            proptest::collection::vec(any::<[u8; 32]>(), 0..5),
            proptest::collection::vec(any::<u8>(), 1..60),
        )
            .prop_map(
                |(name, k, (mode, uid, gid), (ms, cs, inode, device), nsec, size, ids, target)| {
                    let kind = [NodeKind::File, NodeKind::Dir, NodeKind::Symlink][k as usize];
                    Node {
                        name,
                        kind,
                        mode,
                        uid,
                        gid,
                        mtime: Timestamp { sec: ms, nsec },
                        ctime: Timestamp {
                            sec: cs,
                            nsec: nsec / 2,
                        },
                        inode,
                        device,
                        size: if kind == NodeKind::File { size } else { 0 },
                        content: if kind == NodeKind::Symlink {
                            vec![]
                        } else {
                            ids.into_iter().map(BlobId).collect()
                        },
                        link_target: if kind == NodeKind::Symlink {
                            target
                        } else {
                            vec![]
                        },
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn round_trip(mut nodes in proptest::collection::vec(node_strategy(), 0..20)) {
            nodes.sort_by(|a, b| a.name.cmp(&b.name));
            nodes.dedup_by(|a, b| a.name == b.name);
            let (stream, ends) = encode_stream(&nodes);
            prop_assert_eq!(ends.last().copied().unwrap_or(0), stream.len());
            let blob = blob_from_stream_part(&stream);
            prop_assert_eq!(decode_blob(&blob).unwrap(), nodes);
        }

        /// A damaged tree blob decodes or is refused, never panics; what decodes has exactly the
        /// damaged bytes as its encoding (one encoding per tree).
        #[test]
        fn damaged_blobs(mut nodes in proptest::collection::vec(node_strategy(), 0..8),
                         ops in crate::format::mutation::mutations()) {
            nodes.sort_by(|a, b| a.name.cmp(&b.name));
            nodes.dedup_by(|a, b| a.name == b.name);
            let blob = blob_from_stream_part(&encode_stream(&nodes).0);
            let damaged = crate::format::mutation::apply(&blob, &ops);
            if let Ok(decoded) = decode_blob(&damaged) {
                prop_assert_eq!(blob_from_stream_part(&encode_stream(&decoded).0), damaged);
            }
        }
    }

    #[test]
    fn bad_names_are_refused() {
        for n in [&b""[..], b".", b"..", b"a/b", b"a\0"] {
            assert!(check_name(n).is_err());
        }
    }
}
