//! What the walk knows about an entry (its `lstat`), and opening entries so that what is read is the
//! object that was stat'ed: relative to the directory already opened, never through a symlink, never
//! blocking on a FIFO, and checked against the `lstat` by device, inode and type.

use crate::format::tree::{Node, NodeKind, Timestamp};
use crate::ids::BlobId;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// The fields of a `stat` that a node records or that change detection compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Meta {
    pub file_type: FileType,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: Timestamp,
    pub ctime: Timestamp,
    pub ino: u64,
    pub dev: u64,
    pub size: u64,
    /// Hard link count.
    pub nlink: u64,
    /// The device number of a device node.
    pub rdev: u64,
}

impl Meta {
    // `Stat`'s field types differ between architectures (u32 or u64, i64 or c_long); each value
    // fits the target type on every Linux target, so the casts are exact.
    #[allow(clippy::unnecessary_cast)]
    pub fn from_stat(st: &Stat) -> Meta {
        let time = |sec: i64, nsec: i64| Timestamp {
            sec,
            nsec: nsec.clamp(0, 999_999_999) as u32,
        };
        Meta {
            file_type: FileType::from_raw_mode(st.st_mode as _),
            mode: st.st_mode as u32 & 0o7777,
            uid: st.st_uid as u32,
            gid: st.st_gid as u32,
            mtime: time(st.st_mtime as i64, st.st_mtime_nsec as i64),
            ctime: time(st.st_ctime as i64, st.st_ctime_nsec as i64),
            ino: st.st_ino as u64,
            dev: st.st_dev as u64,
            size: (st.st_size as i64).max(0) as u64,
            nlink: st.st_nlink as u64,
            rdev: st.st_rdev as u64,
        }
    }

    /// The same file system object: device, inode and type.
    pub fn same_object(&self, other: &Meta) -> bool {
        self.dev == other.dev && self.ino == other.ino && self.file_type == other.file_type
    }

    /// Size, mtime and ctime agree: the content was not written in between (to the resolution of
    /// the file system's timestamps).
    pub fn same_content_stamp(&self, other: &Meta) -> bool {
        self.size == other.size && self.mtime == other.mtime && self.ctime == other.ctime
    }

    /// A node with this metadata; `size` and the link count are set for files only, the device
    /// number for devices only. No extended attributes (the caller reads them).
    pub fn node(
        &self,
        name: Vec<u8>,
        kind: NodeKind,
        content: Vec<BlobId>,
        link_target: Vec<u8>,
    ) -> Node {
        Node {
            name,
            kind,
            mode: self.mode,
            uid: self.uid,
            gid: self.gid,
            mtime: self.mtime,
            ctime: self.ctime,
            inode: self.ino,
            device: self.dev,
            size: if kind == NodeKind::File { self.size } else { 0 },
            content,
            link_target,
            rdev: if kind.is_device() { self.rdev } else { 0 },
            links: match kind {
                NodeKind::File if self.nlink > 1 => self.nlink.min(u32::MAX as u64) as u32,
                _ => 0,
            },
            xattrs: Vec::new(),
        }
    }
}

/// `lstat` of `name` inside the open directory `dir`.
pub(super) fn lstat_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<Meta> {
    let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(Meta::from_stat(&st))
}

/// `stat` of a path given by the user (symlinks followed, as the user named them).
pub(super) fn stat_path(path: &Path) -> io::Result<Meta> {
    Ok(Meta::from_stat(&rustix::fs::stat(path)?))
}

/// Opens a directory named by the user for listing (symlinks in the path followed, as the user
/// named them).
pub(super) fn open_dir_path(path: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Opens the directory that holds a path named by the user, only to reach that path through it:
/// `O_PATH` needs no read permission on the directory, just as a by-path `lstat` needs none.
pub(super) fn open_parent_path(path: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        path,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Opens `name` inside `dir` for reading, as the object `listed` describes: a symlink put in its
/// place is not followed, a FIFO does not block, and anything that is not the same device, inode
/// and type as `listed` is refused. Returns the descriptor and its `fstat`.
pub(super) fn open_listed(
    dir: BorrowedFd<'_>,
    name: &[u8],
    listed: &Meta,
) -> io::Result<(OwnedFd, Meta)> {
    let mut flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    if listed.file_type == FileType::Directory {
        flags |= OFlags::DIRECTORY;
    }
    let fd = match rustix::fs::openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::LOOP) => return Err(replaced("a symlink (not followed)")),
        Err(rustix::io::Errno::NOTDIR) if listed.file_type == FileType::Directory => {
            return Err(replaced("no longer a directory"))
        }
        Err(e) => return Err(e.into()),
    };
    let opened = Meta::from_stat(&rustix::fs::fstat(fd.as_fd())?);
    if !opened.same_object(listed) {
        return Err(replaced(&format!(
            "now a different {}",
            type_name(opened.file_type)
        )));
    }
    Ok((fd, opened))
}

/// Opens `name` inside `dir` with `O_PATH | O_NOFOLLOW` (no permission needed, nothing acted on:
/// the way to reach a symlink's or special file's attributes), checked to be the object `listed`
/// describes.
pub(super) fn open_path_listed(
    dir: BorrowedFd<'_>,
    name: &[u8],
    listed: &Meta,
) -> io::Result<OwnedFd> {
    let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, name, flags, Mode::empty())?;
    let opened = Meta::from_stat(&rustix::fs::fstat(fd.as_fd())?);
    if !opened.same_object(listed) {
        return Err(replaced(&format!(
            "now a different {}",
            type_name(opened.file_type)
        )));
    }
    Ok(fd)
}

/// The entry's name now leads to another object than the one listed.
#[derive(Debug)]
struct Replaced(String);

impl std::fmt::Display for Replaced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "replaced between listing and reading: {}", self.0)
    }
}

impl std::error::Error for Replaced {}

fn replaced(now: &str) -> io::Error {
    io::Error::other(Replaced(now.to_string()))
}

/// Whether `open_listed` failed because the name now leads to another object.
pub(super) fn is_replaced(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Replaced>())
}

fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::RegularFile => "file",
        FileType::Directory => "directory",
        FileType::Symlink => "symlink",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice | FileType::BlockDevice => "device",
        FileType::Unknown => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// Lists `f` in a directory, lets `replace` change it, then opens it as listed.
    fn open_after(replace: impl FnOnce(&Path)) -> io::Result<(OwnedFd, Meta)> {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        fs::write(&path, b"listed").unwrap();
        fs::write(tmp.path().join("other"), b"other").unwrap();
        let dir = open_dir_path(tmp.path()).unwrap();
        let listed = lstat_at(dir.as_fd(), b"f").unwrap();
        replace(&path);
        open_listed(dir.as_fd(), b"f", &listed)
    }

    #[test]
    fn open_listed_refuses_whatever_took_the_listed_name() {
        let (_, meta) = open_after(|_| {}).unwrap();
        assert_eq!(meta.size, 6);

        let symlink = open_after(|p| {
            fs::remove_file(p).unwrap();
            std::os::unix::fs::symlink(p.with_file_name("other"), p).unwrap();
        });
        let fifo = open_after(|p| {
            fs::remove_file(p).unwrap();
            rustix::fs::mknodat(rustix::fs::CWD, p, FileType::Fifo, Mode::from(0o600), 0).unwrap();
        });
        let other_file = open_after(|p| fs::rename(p.with_file_name("other"), p).unwrap());
        let dir = open_after(|p| {
            fs::remove_file(p).unwrap();
            fs::create_dir(p).unwrap();
        });
        for (what, r) in [
            ("symlink", symlink),
            ("FIFO", fifo),
            ("file", other_file),
            ("directory", dir),
        ] {
            let e = r.err().unwrap_or_else(|| panic!("{what} was opened"));
            assert!(is_replaced(&e), "{what}: {e}");
            assert!(e
                .to_string()
                .contains("replaced between listing and reading"));
        }
        // Gone: an ordinary error, not a replacement.
        let gone = open_after(|p| fs::remove_file(p).unwrap()).err().unwrap();
        assert!(!is_replaced(&gone), "{gone}");
    }
}
