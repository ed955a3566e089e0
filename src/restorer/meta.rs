//! Owner, extended attributes, mode and times of restored entries, applied through handles.
//!
//! The order matters: the owner first (changing it clears setuid bits and file capabilities),
//! then the attributes (a capability or ACL set after `chown` stays; user attributes need write
//! permission, which the restore's private mode still gives), then the mode, then the times.

use crate::format::tree::{Node, NodeKind, Xattr};
use rustix::fs::{self as rfs, AtFlags, Gid, Mode, Timespec, Timestamps, Uid, XattrFlags};
use std::ffi::OsStr;
use std::os::fd::{AsRawFd, BorrowedFd};

/// What a file or directory gets once its content is in place.
pub(super) enum Apply {
    /// Everything the snapshot records.
    Complete,
    /// The file's content is incomplete: it stays mode 0600, keeps the restore's time as mtime
    /// and gets no extended attributes, so it never looks like the complete file.
    Partial,
}

/// An extended attribute the restore could not set, and why.
pub(super) struct XattrRefused {
    pub name: Vec<u8>,
    pub error: std::io::Error,
}

impl std::fmt::Display for XattrRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = match self.error.raw_os_error() {
            Some(e) if e == rustix::io::Errno::PERM.raw_os_error() => {
                " (this namespace needs more privilege than the restore has)".to_string()
            }
            Some(e) if e == rustix::io::Errno::NOTSUP.raw_os_error() => {
                " (the target's file system does not hold it)".to_string()
            }
            _ => String::new(),
        };
        write!(
            f,
            "extended attribute {} not restored: {}{why}",
            String::from_utf8_lossy(&self.name),
            self.error
        )
    }
}

fn times(n: &Node) -> Timestamps {
    let t = Timespec {
        tv_sec: n.mtime.sec,
        tv_nsec: n.mtime.nsec.into(),
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

/// The mode to set: the setuid and setgid bits are kept only when the owner could be set, since a
/// restore that cannot give the entry its owner must not make it setuid to whoever runs it.
fn mode(n: &Node, owned: bool) -> Mode {
    Mode::from_raw_mode(if owned {
        n.mode & 0o7777
    } else {
        n.mode & 0o1777
    })
}

/// Sets `xattrs` with `set`; returns those refused.
fn set_all(xattrs: &[Xattr], set: impl Fn(&Xattr) -> rustix::io::Result<()>) -> Vec<XattrRefused> {
    xattrs
        .iter()
        .filter_map(|x| {
            set(x).err().map(|e| XattrRefused {
                name: x.name.clone(),
                error: e.into(),
            })
        })
        .collect()
}

/// Sets owner (when permitted), extended attributes, mode and times of the open file or directory
/// `fd`. Returns the attributes that could not be set.
pub(super) fn apply(
    fd: BorrowedFd<'_>,
    n: &Node,
    how: Apply,
) -> std::io::Result<Vec<XattrRefused>> {
    let owned = rfs::fchown(fd, Some(Uid::from_raw(n.uid)), Some(Gid::from_raw(n.gid))).is_ok();
    let refused = match how {
        Apply::Complete => set_all(&n.xattrs, |x| {
            rfs::fsetxattr(fd, x.name.as_slice(), &x.value, XattrFlags::empty())
        }),
        Apply::Partial => Vec::new(),
    };
    let m = match how {
        Apply::Partial => Mode::from_raw_mode(0o600),
        Apply::Complete => mode(n, owned),
    };
    rfs::fchmod(fd, m)?;
    if let Apply::Complete = how {
        rfs::futimens(fd, &times(n))?;
    }
    Ok(refused)
}

/// Sets owner (when permitted), extended attributes, mode (not for a symlink) and times of the
/// symlink or special file `name` in `parent`, never following it. `entry` is an `O_PATH`
/// descriptor of it, checked to be what the restore made: the attributes and mode go through its
/// `/proc/self/fd` name, which leads to that object whatever is at `name` now.
pub(super) fn apply_at(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    entry: BorrowedFd<'_>,
    n: &Node,
) -> std::io::Result<Vec<XattrRefused>> {
    let owned = rfs::chownat(
        entry,
        "",
        Some(Uid::from_raw(n.uid)),
        Some(Gid::from_raw(n.gid)),
        AtFlags::EMPTY_PATH,
    )
    .is_ok();
    let by_proc = format!("/proc/self/fd/{}", entry.as_raw_fd());
    let refused = set_all(&n.xattrs, |x| {
        rfs::setxattr(
            by_proc.as_str(),
            x.name.as_slice(),
            &x.value,
            XattrFlags::empty(),
        )
    });
    if n.kind != NodeKind::Symlink {
        rfs::chmod(by_proc.as_str(), mode(n, owned))?;
    }
    rfs::utimensat(parent, name, &times(n), AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(refused)
}
