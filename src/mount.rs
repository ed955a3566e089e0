//! `mount`: a read-only FUSE file system over the snapshots, laid out as restic's:
//! `snapshots/<time>/`, `hosts/<host>/<time>/`, `tags/<tag>/<time>/`, `ids/<short id>/`, and
//! `snapshots/latest` (a symlink to the newest). Directories are read when first visited, file
//! content a blob at a time when read (the last few blobs are kept), so years of versions can be
//! browsed without restoring them.
//!
//! Inode numbers are given out as entries are first met and kept while mounted. Every write is
//! refused by the kernel (the mount is read-only).

use crate::format::snapshot::Snapshot;
use crate::format::tree::{Node, NodeKind, Timestamp};
use crate::ids::{BlobId, SnapshotId};
use crate::repository::lock::LockGuard;
use crate::repository::Repository;
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, INodeNo, LockOwner, OpenFlags, ReplyAttr,
    ReplyData, ReplyDirectory, ReplyEntry, ReplyXattr, Request,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long the kernel may keep attributes and entries: snapshots never change.
const TTL: Duration = Duration::from_secs(3600);
/// Blobs kept after a read, for the next reads of the same file (the kernel reads 128 KiB at a time).
const BLOBS_KEPT: usize = 8;

/// What an inode is.
enum Entry {
    /// A directory made by the mount (the root, `snapshots`, a host, a tag): its entries.
    Virtual(BTreeMap<Vec<u8>, u64>),
    /// A symlink made by the mount (`latest`).
    Link(Vec<u8>),
    /// An entry of a snapshot; a directory's entries are filled on first use.
    Node {
        node: Node,
        children: Option<BTreeMap<Vec<u8>, u64>>,
    },
}

/// A file's blobs: offset in the file, length, ID.
type Layout = Vec<(u64, u64, BlobId)>;

struct State {
    /// Inode `n` is `entries[n - 1]`.
    entries: Vec<Entry>,
    /// Each file's blobs with their offsets, once read.
    layouts: HashMap<u64, Arc<Layout>>,
    /// The last blobs read.
    blobs: VecDeque<(BlobId, Arc<Vec<u8>>)>,
}

impl State {
    fn add(&mut self, e: Entry) -> u64 {
        self.entries.push(e);
        self.entries.len() as u64
    }

    fn get(&self, ino: u64) -> Option<&Entry> {
        self.entries.get((ino as usize).checked_sub(1)?)
    }
}

/// The file system; hold it mounted with [`mount`].
pub struct SnapshotFs {
    repo: Repository,
    _lock: LockGuard,
    state: Mutex<State>,
    /// Owner of the mount's own directories.
    uid: u32,
    gid: u32,
    /// When it was mounted: the time of the mount's own directories.
    mounted: SystemTime,
}

/// A snapshot's directory name: its time, as restic names them.
fn time_name(s: &Snapshot) -> String {
    s.time.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// A directory node standing for a snapshot's root.
fn root_node(s: &Snapshot) -> Node {
    let mut n = crate::repository::trees::root_node(s.tree);
    n.mode = 0o755;
    n.mtime = Timestamp {
        sec: s.time.timestamp(),
        nsec: s.time.timestamp_subsec_nanos(),
    };
    n.name = b"snapshot".to_vec();
    n
}

impl SnapshotFs {
    /// The layout of every snapshot in `snaps`, under the lock `lock` (kept while mounted).
    pub fn new(repo: Repository, lock: LockGuard, snaps: Vec<(SnapshotId, Snapshot)>) -> Self {
        let mut st = State {
            entries: Vec::new(),
            layouts: HashMap::new(),
            blobs: VecDeque::new(),
        };
        let root = st.add(Entry::Virtual(BTreeMap::new()));
        let mut by_time = BTreeMap::new();
        let mut hosts: BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, u64>> = BTreeMap::new();
        let mut tags: BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, u64>> = BTreeMap::new();
        let mut ids = BTreeMap::new();
        let mut latest = None;
        for (id, s) in &snaps {
            let mut name = time_name(s);
            // Two snapshots of one second get the short ID after the time.
            if by_time.contains_key(name.as_bytes()) {
                name = format!("{name}-{}", id.short());
            }
            let node = || Entry::Node {
                node: root_node(s),
                children: None,
            };
            by_time.insert(name.clone().into_bytes(), st.add(node()));
            hosts
                .entry(s.hostname.clone().into_bytes())
                .or_default()
                .insert(name.clone().into_bytes(), st.add(node()));
            for t in &s.tags {
                tags.entry(t.clone().into_bytes())
                    .or_default()
                    .insert(name.clone().into_bytes(), st.add(node()));
            }
            ids.insert(id.short().into_bytes(), st.add(node()));
            latest = Some(name);
        }
        if let Some(l) = latest {
            let link = st.add(Entry::Link(l.into_bytes()));
            by_time.insert(b"latest".to_vec(), link);
        }
        let mut top = BTreeMap::new();
        top.insert(b"snapshots".to_vec(), st.add(Entry::Virtual(by_time)));
        let group = |st: &mut State, m: BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, u64>>| {
            let dirs = m
                .into_iter()
                .map(|(k, v)| (k, st.add(Entry::Virtual(v))))
                .collect();
            st.add(Entry::Virtual(dirs))
        };
        top.insert(b"hosts".to_vec(), group(&mut st, hosts));
        top.insert(b"tags".to_vec(), group(&mut st, tags));
        top.insert(b"ids".to_vec(), st.add(Entry::Virtual(ids)));
        st.entries[(root - 1) as usize] = Entry::Virtual(top);
        SnapshotFs {
            repo,
            _lock: lock,
            state: Mutex::new(st),
            uid: rustix::process::getuid().as_raw(),
            gid: rustix::process::getgid().as_raw(),
            mounted: SystemTime::now(),
        }
    }

    /// A directory's entries, read from the repository on first use.
    fn children<'s>(
        &self,
        st: &'s mut State,
        ino: u64,
    ) -> Result<&'s BTreeMap<Vec<u8>, u64>, Errno> {
        self.fill(st, ino)?;
        match st.get(ino) {
            Some(Entry::Virtual(m)) => Ok(m),
            Some(Entry::Node {
                children: Some(c), ..
            }) => Ok(c),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// Reads a snapshot directory's entries unless already read.
    fn fill(&self, st: &mut State, ino: u64) -> Result<(), Errno> {
        let content = match st.get(ino) {
            Some(Entry::Virtual(_)) => return Ok(()),
            Some(Entry::Node {
                children: Some(_), ..
            }) => return Ok(()),
            Some(Entry::Node { node, .. }) if node.kind == NodeKind::Dir => node.content.clone(),
            Some(_) => return Err(Errno::ENOTDIR),
            None => return Err(Errno::ENOENT),
        };
        let nodes = self.repo.load_tree(&content).map_err(|e| {
            log::warn!("mount: reading a directory: {e:#}");
            Errno::EIO
        })?;
        let mut m = BTreeMap::new();
        for n in nodes {
            let name = n.name.clone();
            let child = st.add(Entry::Node {
                node: n,
                children: None,
            });
            m.insert(name, child);
        }
        if let Some(Entry::Node { children, .. }) = st.entries.get_mut((ino - 1) as usize) {
            *children = Some(m);
        }
        Ok(())
    }

    fn attr(&self, ino: u64, e: &Entry) -> FileAttr {
        let own = |kind, perm, size| FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: 0,
            atime: self.mounted,
            mtime: self.mounted,
            ctime: self.mounted,
            crtime: self.mounted,
            kind,
            perm,
            nlink: 1,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            flags: 0,
            blksize: 4096,
        };
        match e {
            Entry::Virtual(_) => own(FileType::Directory, 0o555, 0),
            Entry::Link(t) => own(FileType::Symlink, 0o777, t.len() as u64),
            Entry::Node { node: n, .. } => {
                let time = |t: Timestamp| {
                    if t.sec >= 0 {
                        UNIX_EPOCH + Duration::new(t.sec as u64, t.nsec)
                    } else {
                        UNIX_EPOCH - Duration::new(t.sec.unsigned_abs(), 0)
                    }
                };
                let kind = match n.kind {
                    NodeKind::File => FileType::RegularFile,
                    NodeKind::Dir => FileType::Directory,
                    NodeKind::Symlink => FileType::Symlink,
                    NodeKind::Fifo => FileType::NamedPipe,
                    NodeKind::Socket => FileType::Socket,
                    NodeKind::CharDevice => FileType::CharDevice,
                    NodeKind::BlockDevice => FileType::BlockDevice,
                };
                let size = match n.kind {
                    NodeKind::Symlink => n.link_target.len() as u64,
                    _ => n.size,
                };
                FileAttr {
                    ino: INodeNo(ino),
                    size,
                    blocks: size.div_ceil(512),
                    atime: time(n.mtime),
                    mtime: time(n.mtime),
                    ctime: time(n.ctime),
                    crtime: time(n.mtime),
                    kind,
                    perm: (n.mode & 0o7777) as u16,
                    nlink: n.links.max(1),
                    uid: n.uid,
                    gid: n.gid,
                    rdev: n.rdev as u32,
                    flags: 0,
                    blksize: 4096,
                }
            }
        }
    }

    /// `size` bytes of file `ino` from `offset`.
    fn read_range(&self, ino: u64, offset: u64, size: u64) -> Result<Vec<u8>, Errno> {
        let layout = {
            let mut st = self.state.lock().map_err(|_| Errno::EIO)?;
            if let Some(l) = st.layouts.get(&ino) {
                l.clone()
            } else {
                let Some(Entry::Node { node, .. }) = st.get(ino) else {
                    return Err(Errno::ENOENT);
                };
                let mut at = 0;
                let mut v = Vec::with_capacity(node.content.len());
                for id in &node.content {
                    let len = u64::from(self.repo.index().get(id).ok_or(Errno::EIO)?.entry.raw_len);
                    v.push((at, len, *id));
                    at += len;
                }
                let l = Arc::new(v);
                st.layouts.insert(ino, l.clone());
                l
            }
        };
        let end = offset.saturating_add(size);
        let mut out = Vec::with_capacity(size as usize);
        for (at, len, id) in layout
            .iter()
            .filter(|(at, len, _)| at + len > offset && *at < end)
        {
            let data = self.blob(id)?;
            let from = offset.saturating_sub(*at) as usize;
            let to = ((end - at).min(*len)) as usize;
            out.extend_from_slice(data.get(from..to.min(data.len())).ok_or(Errno::EIO)?);
        }
        Ok(out)
    }

    fn blob(&self, id: &BlobId) -> Result<Arc<Vec<u8>>, Errno> {
        if let Ok(st) = self.state.lock() {
            if let Some((_, b)) = st.blobs.iter().find(|(b, _)| b == id) {
                return Ok(b.clone());
            }
        }
        let data = Arc::new(self.repo.read_blob(id).map_err(|e| {
            log::warn!("mount: reading blob {id}: {e:#}");
            Errno::EIO
        })?);
        if let Ok(mut st) = self.state.lock() {
            if st.blobs.len() >= BLOBS_KEPT {
                st.blobs.pop_front();
            }
            st.blobs.push_back((*id, data.clone()));
        }
        Ok(data)
    }
}

impl Filesystem for SnapshotFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let Ok(mut st) = self.state.lock() else {
            return reply.error(Errno::EIO);
        };
        let child = match self.children(&mut st, parent.0) {
            Ok(m) => m.get(name.as_bytes()).copied(),
            Err(e) => return reply.error(e),
        };
        match child.and_then(|i| Some((i, st.get(i)?))) {
            Some((i, e)) => reply.entry(&TTL, &self.attr(i, e), fuser::Generation(0)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let Ok(st) = self.state.lock() else {
            return reply.error(Errno::EIO);
        };
        match st.get(ino.0) {
            Some(e) => reply.attr(&TTL, &self.attr(ino.0, e)),
            None => reply.error(Errno::ENOENT),
        }
    }

    /// The attributes the snapshot recorded for the entry.
    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        let Ok(st) = self.state.lock() else {
            return reply.error(Errno::EIO);
        };
        let value = match st.get(ino.0) {
            Some(Entry::Node { node, .. }) => node
                .xattrs
                .iter()
                .find(|x| x.name == name.as_bytes())
                .map(|x| x.value.clone()),
            _ => None,
        };
        match value {
            None => reply.error(Errno::NO_XATTR),
            Some(v) => sized(v, size, reply),
        }
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        let Ok(st) = self.state.lock() else {
            return reply.error(Errno::EIO);
        };
        let mut list = Vec::new();
        if let Some(Entry::Node { node, .. }) = st.get(ino.0) {
            for x in &node.xattrs {
                list.extend_from_slice(&x.name);
                list.push(0);
            }
        }
        sized(list, size, reply);
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        let Ok(st) = self.state.lock() else {
            return reply.error(Errno::EIO);
        };
        match st.get(ino.0) {
            Some(Entry::Link(t)) => reply.data(t),
            Some(Entry::Node { node, .. }) if node.kind == NodeKind::Symlink => {
                reply.data(&node.link_target)
            }
            Some(_) => reply.error(Errno::EINVAL),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self.read_range(ino.0, offset, u64::from(size)) {
            Ok(data) => reply.data(&data),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let Ok(mut st) = self.state.lock() else {
            return reply.error(Errno::EIO);
        };
        if let Err(e) = self.children(&mut st, ino.0) {
            return reply.error(e);
        }
        let st = &*st;
        let Ok(m) = (match st.get(ino.0) {
            Some(Entry::Virtual(m)) => Ok(m),
            Some(Entry::Node {
                children: Some(c), ..
            }) => Ok(c),
            _ => Err(()),
        }) else {
            return reply.error(Errno::ENOTDIR);
        };
        let dots = [(ino.0, &b"."[..]), (ino.0, &b".."[..])];
        let entries = dots
            .into_iter()
            .chain(m.iter().map(|(name, &i)| (i, name.as_slice())));
        for (k, (i, name)) in entries.enumerate().skip(offset as usize) {
            let kind = st
                .get(i)
                .map_or(FileType::Directory, |e| self.attr(i, e).kind);
            if reply.add(INodeNo(i), (k + 1) as u64, kind, OsStr::from_bytes(name)) {
                break;
            }
        }
        reply.ok();
    }
}

/// Answers an attribute request: the size when asked for it (`size` 0), the bytes when they fit.
fn sized(v: Vec<u8>, size: u32, reply: ReplyXattr) {
    if size == 0 {
        reply.size(v.len() as u32);
    } else if v.len() <= size as usize {
        reply.data(&v);
    } else {
        reply.error(Errno::ERANGE);
    }
}

/// Mounts `fs` read-only at `mountpoint` on a thread of its own; the mount ends when the returned
/// session is dropped or the file system is unmounted (`umount`, `fusermount3 -u`).
pub fn mount(
    fs: SnapshotFs,
    mountpoint: &std::path::Path,
) -> std::io::Result<fuser::BackgroundSession> {
    let mut cfg = fuser::Config::default();
    cfg.mount_options.extend([
        fuser::MountOption::RO,
        fuser::MountOption::FSName("backstock".into()),
        fuser::MountOption::Subtype("backstock".into()),
        fuser::MountOption::DefaultPermissions,
    ]);
    fuser::spawn_mount(fs, mountpoint, &cfg)
}
