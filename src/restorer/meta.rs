//! Owner, mode and times of restored entries, applied through handles.

use crate::format::tree::Node;
use rustix::fs::{self as rfs, AtFlags, Gid, Mode, Timespec, Timestamps, Uid};
use std::ffi::OsStr;
use std::os::fd::BorrowedFd;

/// What a file or directory gets once its content is in place.
pub(super) enum Apply {
    /// Everything the snapshot records.
    Complete,
    /// The file's content is incomplete: it stays mode 0600 and keeps the restore's time as mtime,
    /// so it never looks like the complete file.
    Partial,
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

/// Sets owner (when permitted), mode and times of the open file or directory `fd`. The setuid and
/// setgid bits are kept only when the owner could be set: a restore that cannot give the file its
/// owner must not make it setuid to whoever runs the restore.
pub(super) fn apply(fd: BorrowedFd<'_>, n: &Node, how: Apply) -> std::io::Result<()> {
    let owned = rfs::fchown(fd, Some(Uid::from_raw(n.uid)), Some(Gid::from_raw(n.gid))).is_ok();
    let mode = match how {
        Apply::Partial => 0o600,
        Apply::Complete if owned => n.mode & 0o7777,
        Apply::Complete => n.mode & 0o1777,
    };
    rfs::fchmod(fd, Mode::from_raw_mode(mode))?;
    if let Apply::Complete = how {
        rfs::futimens(fd, &times(n))?;
    }
    Ok(())
}

/// Sets owner (when permitted) and times of the symlink `name` in `parent`, not following it.
pub(super) fn apply_symlink(parent: BorrowedFd<'_>, name: &OsStr, n: &Node) -> std::io::Result<()> {
    // Ownership only sticks when permitted; elsewhere it fails and is ignored, as for files.
    let _ = rfs::chownat(
        parent,
        name,
        Some(Uid::from_raw(n.uid)),
        Some(Gid::from_raw(n.gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    );
    rfs::utimensat(parent, name, &times(n), AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(())
}
