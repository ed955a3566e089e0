//! Reading an entry's extended attributes, through a descriptor the walk already checked: files and
//! directories through the descriptor they were read through, symlinks and special files through
//! an `O_PATH` descriptor's `/proc/self/fd` name (the only way to reach their attributes without
//! following a symlink or opening a device).

use crate::format::tree::{Xattr, MAX_XATTR_VALUE};
use rustix::io::Errno;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;

/// Tries of a list or a value that grew between asking its size and reading it.
const TRIES: usize = 4;

/// How to reach the entry.
#[derive(Clone, Copy)]
pub(super) enum Via<'a> {
    /// A descriptor opened for reading (a file or a directory).
    Fd(BorrowedFd<'a>),
    /// An `O_PATH` descriptor (a symlink or special file): its `/proc/self/fd` name, followed.
    PathFd(BorrowedFd<'a>),
    /// A name in an open directory, not followed.
    At(BorrowedFd<'a>, &'a [u8]),
}

/// The entry's attributes sorted by name, and one message for each attribute (or the list) that
/// could not be read. A file system without extended attributes gives none, without a message.
pub(super) fn read(via: Via<'_>) -> (Vec<Xattr>, Vec<String>) {
    let mut problems = Vec::new();
    let names = match sized(|| list_query(via), |buf| list(via, buf)) {
        Ok(n) => n,
        Err(Errno::NOTSUP) => return (Vec::new(), problems),
        Err(e) => {
            problems.push(format!(
                "extended attributes not stored: listing them failed: {}",
                std::io::Error::from(e)
            ));
            return (Vec::new(), problems);
        }
    };
    let mut out = Vec::new();
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let shown = String::from_utf8_lossy(name);
        match sized(|| get_query(via, name), |buf| get(via, name, buf)) {
            Ok(value) if value.len() > MAX_XATTR_VALUE => problems.push(format!(
                "extended attribute {shown} not stored: its value is {} bytes, more than 64 KiB",
                value.len()
            )),
            Ok(value) => out.push(Xattr {
                name: name.to_vec(),
                value,
            }),
            // Removed since the list was read.
            Err(Errno::NODATA) => {}
            Err(e) => problems.push(format!(
                "extended attribute {shown} not stored: {}",
                std::io::Error::from(e)
            )),
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    (out, problems)
}

/// Calls `fill` with a buffer of the size `query` gives, again when the answer grew in between.
fn sized(
    query: impl Fn() -> rustix::io::Result<usize>,
    fill: impl Fn(&mut [u8]) -> rustix::io::Result<usize>,
) -> rustix::io::Result<Vec<u8>> {
    for _ in 0..TRIES {
        let len = query()?;
        if len == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; len];
        match fill(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(Errno::RANGE) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Errno::RANGE)
}

fn proc_path(fd: BorrowedFd<'_>) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

fn at_path(dir: BorrowedFd<'_>, name: &[u8]) -> std::ffi::OsString {
    let mut p = std::ffi::OsString::from(proc_path(dir));
    p.push("/");
    p.push(std::ffi::OsStr::from_bytes(name));
    p
}

fn list_query(via: Via<'_>) -> rustix::io::Result<usize> {
    match via {
        Via::Fd(fd) => rustix::fs::flistxattr_query(fd),
        Via::PathFd(fd) => rustix::fs::listxattr_query(proc_path(fd)),
        Via::At(dir, name) => rustix::fs::llistxattr_query(at_path(dir, name)),
    }
}

fn get_query(via: Via<'_>, name: &[u8]) -> rustix::io::Result<usize> {
    match via {
        Via::Fd(fd) => rustix::fs::fgetxattr_query(fd, name),
        Via::PathFd(fd) => rustix::fs::getxattr_query(proc_path(fd), name),
        Via::At(dir, entry) => rustix::fs::lgetxattr_query(at_path(dir, entry), name),
    }
}

fn list(via: Via<'_>, buf: &mut [u8]) -> rustix::io::Result<usize> {
    match via {
        Via::Fd(fd) => rustix::fs::flistxattr(fd, buf),
        Via::PathFd(fd) => rustix::fs::listxattr(proc_path(fd), buf),
        Via::At(dir, name) => rustix::fs::llistxattr(at_path(dir, name), buf),
    }
}

fn get(via: Via<'_>, name: &[u8], buf: &mut [u8]) -> rustix::io::Result<usize> {
    match via {
        Via::Fd(fd) => rustix::fs::fgetxattr(fd, name, buf),
        Via::PathFd(fd) => rustix::fs::getxattr(proc_path(fd), name, buf),
        Via::At(dir, entry) => rustix::fs::lgetxattr(at_path(dir, entry), name, buf),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn attributes_are_read_sorted_through_either_kind_of_descriptor() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("f");
        std::fs::write(&f, b"x").unwrap();
        // Larger than the first buffer guess would be, within ext4's one block for all of a file's attributes.
        let big = vec![7u8; 3000];
        for (n, v) in [("user.b", &b"2"[..]), ("user.a", &big), ("user.empty", b"")] {
            if let Err(e) = rustix::fs::setxattr(&f, n, v, rustix::fs::XattrFlags::empty()) {
                panic!("this file system must hold user attributes for the test: {e}");
            }
        }
        let file = std::fs::File::open(&f).unwrap();
        let (got, problems) = read(Via::Fd(file.as_fd()));
        assert!(problems.is_empty(), "{problems:?}");
        let names: Vec<&[u8]> = got.iter().map(|x| x.name.as_slice()).collect();
        assert_eq!(names, [&b"user.a"[..], b"user.b", b"user.empty"]);
        assert_eq!(got[0].value, big);
        assert_eq!(got[2].value, b"");

        let path = rustix::fs::open(
            &f,
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::NOFOLLOW,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        assert_eq!(read(Via::PathFd(path.as_fd())).0, got);
        let dir = std::fs::File::open(tmp.path()).unwrap();
        assert_eq!(read(Via::At(dir.as_fd(), b"f")).0, got);
    }
}
