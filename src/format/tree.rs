//! Tree nodes and tree blobs (design.md §6).

use super::reader::Reader;
use super::{FormatError, FormatResult};
use crate::ids::{BlobId, ID_LEN};

/// The tree blob version (its first byte) of a directory whose nodes need none of version 2's fields.
pub const VERSION_PLAIN: u8 = 1;
/// The tree blob version of a directory with a node of a special type, a hard link count or
/// extended attributes (see [`Node::is_extended`]); every node of such a directory carries the
/// extra fields. Plain directories keep version 1, so their tree blobs (and IDs) stay the same.
pub const VERSION_EXTENDED: u8 = 2;
/// Longest extended attribute name accepted, in bytes (Linux's `XATTR_NAME_MAX`).
pub const MAX_XATTR_NAME: usize = 255;
/// Largest extended attribute value accepted, in bytes (Linux's `XATTR_SIZE_MAX`).
pub const MAX_XATTR_VALUE: usize = 65536;
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

/// What a node is; the number is its encoding. In JSON, restic's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// A regular file; `content` lists its data blobs.
    File = 1,
    /// A directory; `content` lists the tree blobs of its entries.
    Dir = 2,
    /// A symbolic link; `link_target` holds the target.
    Symlink = 3,
    /// A named pipe (tree version 2).
    Fifo = 4,
    /// A Unix domain socket: recorded, not recreated by a restore (tree version 2).
    Socket = 5,
    /// A character device; `rdev` holds its device number (tree version 2).
    #[serde(rename = "chardev")]
    CharDevice = 6,
    /// A block device; `rdev` holds its device number (tree version 2).
    #[serde(rename = "dev")]
    BlockDevice = 7,
}

impl NodeKind {
    fn from_u8(k: u8, version: u8) -> FormatResult<Self> {
        Ok(match (k, version) {
            (1, _) => NodeKind::File,
            (2, _) => NodeKind::Dir,
            (3, _) => NodeKind::Symlink,
            (4, VERSION_EXTENDED) => NodeKind::Fifo,
            (5, VERSION_EXTENDED) => NodeKind::Socket,
            (6, VERSION_EXTENDED) => NodeKind::CharDevice,
            (7, VERSION_EXTENDED) => NodeKind::BlockDevice,
            _ => return Err(FormatError::Invalid(format!("node type {k}"))),
        })
    }

    /// A device node, which records a device number.
    pub fn is_device(self) -> bool {
        matches!(self, NodeKind::CharDevice | NodeKind::BlockDevice)
    }

    /// What it is, in words ("file", "directory", "FIFO", ...).
    pub fn describe(self) -> &'static str {
        match self {
            NodeKind::File => "file",
            NodeKind::Dir => "directory",
            NodeKind::Symlink => "symlink",
            NodeKind::Fifo => "FIFO",
            NodeKind::Socket => "socket",
            NodeKind::CharDevice => "character device",
            NodeKind::BlockDevice => "block device",
        }
    }
}

/// One extended attribute: its full name with the namespace (`user.comment`,
/// `security.capability`, `system.posix_acl_access`) and its value, both raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xattr {
    /// 1 to 255 bytes, no NUL.
    pub name: Vec<u8>,
    /// At most 64 KiB.
    pub value: Vec<u8>,
}

/// A file time as stored: seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize)]
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
    /// Device number of a character or block device (`st_rdev`); 0 for other kinds.
    pub rdev: u64,
    /// For a regular file with more than one name, how many it had (`st_nlink`); 0 otherwise. A
    /// restore links the files of one snapshot that share `device` and `inode` and have links.
    pub links: u32,
    /// Extended attributes, sorted by name, names unique.
    pub xattrs: Vec<Xattr>,
}

impl Node {
    /// The name as text, invalid UTF-8 replaced by U+FFFD.
    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    /// Whether the node needs tree version 2: a special type, a device number, a link count or
    /// extended attributes.
    pub fn is_extended(&self) -> bool {
        (self.kind as u8) > NodeKind::Symlink as u8
            || self.rdev != 0
            || self.links != 0
            || !self.xattrs.is_empty()
    }

    /// Bytes `encode` appends for this node in tree `version`, its 4-byte length prefix included.
    pub fn encoded_len(&self, version: u8) -> usize {
        let plain = 4
            + FIXED_LEN
            + 2
            + self.name.len()
            + 4
            + self.content.len() * ID_LEN
            + 2
            + self.link_target.len();
        if version == VERSION_PLAIN {
            return plain;
        }
        let xattrs: usize = self
            .xattrs
            .iter()
            .map(|x| 2 + x.name.len() + 4 + x.value.len())
            .sum();
        plain + 8 + 4 + 4 + xattrs
    }

    /// Appends the node's length-prefixed encoding in tree `version` to `out`. A version 1
    /// encoding leaves out the version 2 fields: the caller picks version 2 for a directory with
    /// any extended node.
    pub fn encode(&self, out: &mut Vec<u8>, version: u8) {
        out.extend_from_slice(&((self.encoded_len(version) - 4) as u32).to_le_bytes());
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
        if version == VERSION_PLAIN {
            return;
        }
        out.extend_from_slice(&self.rdev.to_le_bytes());
        out.extend_from_slice(&self.links.to_le_bytes());
        out.extend_from_slice(&(self.xattrs.len() as u32).to_le_bytes());
        for x in &self.xattrs {
            out.extend_from_slice(&(x.name.len() as u16).to_le_bytes());
            out.extend_from_slice(&x.name);
            out.extend_from_slice(&(x.value.len() as u32).to_le_bytes());
            out.extend_from_slice(&x.value);
        }
    }

    /// Reads one length-prefixed node of tree `version` and checks it as [`Node::check`] does.
    pub fn decode(r: &mut Reader<'_>, version: u8) -> FormatResult<Self> {
        let len = r.u32()? as usize;
        let body = r.bytes(len)?;
        let mut r = Reader::new(body, "tree node");
        let kind = NodeKind::from_u8(r.u8()?, version)?;
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
        let (mut rdev, mut links, mut xattrs) = (0, 0, Vec::new());
        if version == VERSION_EXTENDED {
            rdev = r.u64()?;
            links = r.u32()?;
            // Each attribute takes at least 7 bytes, so a hostile count cannot drive the allocation.
            let x = r.count(7)?;
            xattrs.reserve(x);
            for _ in 0..x {
                let n = r.u16()? as usize;
                let name = r.bytes(n)?.to_vec();
                let v = r.u32()? as usize;
                let value = r.bytes(v)?.to_vec();
                xattrs.push(Xattr { name, value });
            }
        }
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
            rdev,
            links,
            xattrs,
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
        if !matches!(self.kind, NodeKind::File | NodeKind::Dir) && !self.content.is_empty() {
            return invalid("content on a node that is not a file or directory");
        }
        if !self.kind.is_device() && self.rdev != 0 {
            return invalid("device number on a node that is not a device");
        }
        if self.kind != NodeKind::File && self.links != 0 {
            return invalid("link count on a node that is not a file");
        }
        for x in &self.xattrs {
            if x.name.is_empty() || x.name.len() > MAX_XATTR_NAME || x.name.contains(&0) {
                return invalid(&format!(
                    "extended attribute name {:?}",
                    String::from_utf8_lossy(&x.name)
                ));
            }
            if x.value.len() > MAX_XATTR_VALUE {
                return invalid("extended attribute value longer than 64 KiB");
            }
        }
        if self.xattrs.windows(2).any(|w| w[0].name >= w[1].name) {
            return invalid("extended attributes out of order or repeated");
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

/// The tree version a directory of these nodes is written in: 2 when any node needs it.
pub fn version_for(nodes: &[Node]) -> u8 {
    if nodes.iter().any(Node::is_extended) {
        VERSION_EXTENDED
    } else {
        VERSION_PLAIN
    }
}

/// A directory's sorted nodes as one stream in tree `version` (no version byte); returns the
/// stream and each node's end offset.
pub fn encode_stream(nodes: &[Node], version: u8) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::with_capacity(nodes.iter().map(|n| n.encoded_len(version)).sum());
    let mut ends = Vec::with_capacity(nodes.len());
    for n in nodes {
        n.encode(&mut out, version);
        ends.push(out.len());
    }
    (out, ends)
}

/// A tree blob's plaintext: the version byte, then whole nodes of that version.
pub fn blob_from_stream_part(version: u8, part: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(part.len() + 1);
    b.push(version);
    b.extend_from_slice(part);
    b
}

/// Decodes one tree blob into nodes (sorted within the blob).
pub fn decode_blob(bytes: &[u8]) -> FormatResult<Vec<Node>> {
    let mut r = Reader::new(bytes, "tree blob");
    let v = r.u8()?;
    if v != VERSION_PLAIN && v != VERSION_EXTENDED {
        return Err(FormatError::UnsupportedVersion {
            what: "tree",
            found: v,
        });
    }
    let mut nodes = Vec::new();
    while !r.is_empty() {
        nodes.push(Node::decode(&mut r, v)?);
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
#[path = "tree_tests.rs"]
pub mod tests;
