//! Making one entry inside a directory handle, and removing entries (for `--delete`), without
//! following symlinks.
//!
//! What is already at an entry's path: a directory where the snapshot has a directory is taken
//! over; a file, symlink or special file where the snapshot has a file or symlink is unlinked and
//! the entry created anew (so a hard link to a file elsewhere is never written through); anything
//! else is a conflict, left alone unless `--delete` was given.

use super::handles::Ident;
use crate::format::tree::NodeKind;
use rustix::fs::{self as rfs, AtFlags, Dir, FileType, Mode, OFlags};
use rustix::io::Errno;
use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

/// Directories nested deeper than this inside an entry `--delete` removes are an error (each
/// level holds a file descriptor while it is emptied).
const MAX_REMOVE_DEPTH: usize = 256;

pub(super) enum Made {
    /// The entry is in place. `fd` is a directory's handle (opened with the flags asked for).
    Ready {
        ident: Ident,
        existed: bool,
        fd: Option<OwnedFd>,
    },
    /// Something of another kind is in the way and was left alone; says what it is.
    Conflict(&'static str),
}

/// What deletions `--delete` allows, and how many it made.
pub(super) struct Deleting<'a> {
    pub allowed: bool,
    pub count: &'a AtomicU64,
}

/// Makes directory `name` (mode 0700 until its metadata is applied) or takes over the directory
/// already there, and opens it with `flags` (plus `O_DIRECTORY | O_NOFOLLOW`).
pub(super) fn make_dir(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    flags: OFlags,
    del: &Deleting<'_>,
) -> rustix::io::Result<Made> {
    let mut existed = false;
    match rfs::mkdirat(parent, name, Mode::from_raw_mode(0o700)) {
        Ok(()) => {}
        Err(Errno::EXIST) => {
            let st = rfs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
            if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                existed = true;
            } else if !del.allowed {
                return Ok(Made::Conflict(kind_name(&st)));
            } else {
                rfs::unlinkat(parent, name, AtFlags::empty())?;
                del.count.fetch_add(1, Ordering::Relaxed);
                rfs::mkdirat(parent, name, Mode::from_raw_mode(0o700))?;
            }
        }
        Err(e) => return Err(e),
    }
    let fd = rfs::openat(
        parent,
        name,
        flags | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(Made::Ready {
        ident: Ident::of(&fd)?,
        existed,
        fd: Some(fd),
    })
}

/// Creates file `name` with `O_EXCL` and mode 0600, `size` bytes long (sparse).
pub(super) fn make_file(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    size: u64,
    del: &Deleting<'_>,
) -> rustix::io::Result<Made> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut cleared = false;
    loop {
        match rfs::openat(parent, name, flags, Mode::from_raw_mode(0o600)) {
            Ok(fd) => {
                rfs::ftruncate(&fd, size)?;
                return Ok(Made::Ready {
                    ident: Ident::of(&fd)?,
                    existed: false,
                    fd: None,
                });
            }
            // Once cleared, a new entry in the way was put there by someone else meanwhile.
            Err(Errno::EXIST) if !cleared => {
                if let Some(kind) = clear(parent, name, del)? {
                    return Ok(Made::Conflict(kind));
                }
                cleared = true;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Creates symlink `name` pointing to `link`.
pub(super) fn make_symlink(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    link: &OsStr,
    del: &Deleting<'_>,
) -> rustix::io::Result<Made> {
    retrying_after_clear(parent, name, del, || rfs::symlinkat(link, parent, name))
}

/// Makes FIFO or device node `name` (mode 0600 until its metadata is applied).
pub(super) fn make_special(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    kind: NodeKind,
    rdev: u64,
    del: &Deleting<'_>,
) -> rustix::io::Result<Made> {
    let file_type = match kind {
        NodeKind::CharDevice => FileType::CharacterDevice,
        NodeKind::BlockDevice => FileType::BlockDevice,
        _ => FileType::Fifo,
    };
    let rdev = if kind.is_device() { rdev } else { 0 };
    retrying_after_clear(parent, name, del, || {
        rfs::mknodat(parent, name, file_type, Mode::from_raw_mode(0o600), rdev)
    })
}

/// Makes `name` another name of the file `leader` (an `O_PATH` descriptor checked to be the file
/// the restore made), through its `/proc/self/fd` name: `linkat` with `AT_EMPTY_PATH` needs a
/// privilege, this does not.
pub(super) fn make_hardlink(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    leader: BorrowedFd<'_>,
    del: &Deleting<'_>,
) -> rustix::io::Result<Made> {
    let from = format!("/proc/self/fd/{}", leader.as_raw_fd());
    retrying_after_clear(parent, name, del, || {
        rfs::linkat(
            rfs::CWD,
            from.as_str(),
            parent,
            name,
            AtFlags::SYMLINK_FOLLOW,
        )
    })
}

/// Runs `make` (which fails with `EEXIST` when something is at `name`); clears the way once and
/// runs it again, then reports what was made.
fn retrying_after_clear(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    del: &Deleting<'_>,
    make: impl Fn() -> rustix::io::Result<()>,
) -> rustix::io::Result<Made> {
    let mut cleared = false;
    loop {
        match make() {
            Ok(()) => {
                let st = rfs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
                return Ok(Made::Ready {
                    ident: Ident::from_stat(&st),
                    existed: false,
                    fd: None,
                });
            }
            Err(Errno::EXIST) if !cleared => {
                if let Some(kind) = clear(parent, name, del)? {
                    return Ok(Made::Conflict(kind));
                }
                cleared = true;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Unlinks the non-directory at `name`; a directory is removed only when deleting is allowed,
/// otherwise its kind is returned as a conflict.
fn clear(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    del: &Deleting<'_>,
) -> rustix::io::Result<Option<&'static str>> {
    let st = match rfs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e),
    };
    if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
        if !del.allowed {
            return Ok(Some("a directory"));
        }
        remove_tree(parent, name)?;
        del.count.fetch_add(1, Ordering::Relaxed);
    } else {
        match rfs::unlinkat(parent, name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

fn kind_name(st: &rfs::Stat) -> &'static str {
    match FileType::from_raw_mode(st.st_mode) {
        FileType::Directory => "a directory",
        FileType::RegularFile => "a file",
        FileType::Symlink => "a symlink",
        _ => "a special file",
    }
}

/// The names in a directory (opened for reading), without `.` and `..`.
pub(super) fn list(dir: BorrowedFd<'_>) -> rustix::io::Result<Vec<CString>> {
    let mut out = Vec::new();
    for e in Dir::read_from(dir)? {
        let e = e?;
        let n = e.file_name();
        if n != c"." && n != c".." {
            out.push(n.to_owned());
        }
    }
    Ok(out)
}

/// Removes the entry `name` of `parent` whatever it is; a directory with everything in it.
pub(super) fn remove_entry(parent: BorrowedFd<'_>, name: &CStr) -> rustix::io::Result<()> {
    let st = rfs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
    if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
        remove_tree(parent, name)
    } else {
        rfs::unlinkat(parent, name, AtFlags::empty())
    }
}

fn open_dir<P: rustix::path::Arg>(parent: BorrowedFd<'_>, name: P) -> rustix::io::Result<Dir> {
    let fd = rfs::openat(
        parent,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Dir::new(fd)
}

/// Removes directory `name` of `parent` and everything in it, descending through handles (a
/// symlink inside is removed, never followed) with an explicit stack instead of recursion.
pub(super) fn remove_tree<P: rustix::path::Arg + Copy>(
    parent: BorrowedFd<'_>,
    name: P,
) -> rustix::io::Result<()> {
    let top: CString = name.into_c_str()?.into_owned();
    // Each level: its open stream and its name in the level above (or in `parent`).
    let mut stack: Vec<(Dir, CString)> = vec![(open_dir(parent, top.as_c_str())?, top)];
    let mut rounds = 0;
    loop {
        let depth = stack.len();
        let Some((dir, _)) = stack.last_mut() else {
            break;
        };
        match dir.read() {
            Some(Ok(e)) => {
                let n = e.file_name();
                if n == c"." || n == c".." {
                    continue;
                }
                let n = n.to_owned();
                let fd = dir.fd()?;
                let is_dir = match e.file_type() {
                    FileType::Directory => true,
                    FileType::Unknown => {
                        let st = rfs::statat(fd, n.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)?;
                        FileType::from_raw_mode(st.st_mode) == FileType::Directory
                    }
                    _ => false,
                };
                if !is_dir {
                    rfs::unlinkat(fd, n.as_c_str(), AtFlags::empty())?;
                } else if depth >= MAX_REMOVE_DEPTH {
                    return Err(Errno::NAMETOOLONG);
                } else {
                    let child = open_dir(fd, n.as_c_str())?;
                    stack.push((child, n));
                }
            }
            Some(Err(e)) => return Err(e),
            None => {
                let Some((dir, n)) = stack.pop() else { break };
                drop(dir);
                let up = stack.last().map(|(d, _)| d.fd()).transpose()?;
                let at = up.unwrap_or(parent.as_fd());
                match rfs::unlinkat(at, n.as_c_str(), AtFlags::REMOVEDIR) {
                    Ok(()) => {}
                    // Entries added while it was being emptied: go over it again, a few times.
                    Err(Errno::NOTEMPTY) if rounds < 8 => {
                        rounds += 1;
                        let again = open_dir(at, n.as_c_str())?;
                        stack.push((again, n));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn no_delete(count: &AtomicU64) -> Deleting<'_> {
        Deleting {
            allowed: false,
            count,
        }
    }

    #[test]
    fn remove_tree_removes_nested_content_and_not_what_symlinks_point_to() {
        let tmp = tempfile::tempdir().unwrap();
        let keep = tmp.path().join("keep");
        fs::create_dir(&keep).unwrap();
        fs::write(keep.join("k"), b"k").unwrap();
        let gone = tmp.path().join("gone");
        let mut deep = gone.clone();
        for i in 0..40 {
            deep = deep.join(format!("d{i}"));
            fs::create_dir_all(&deep).unwrap();
            fs::write(deep.join("f"), b"f").unwrap();
        }
        std::os::unix::fs::symlink(&keep, gone.join("d0/link")).unwrap();
        let dir = rfs::open(
            tmp.path(),
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        remove_tree(dir.as_fd(), c"gone").unwrap();
        assert!(!gone.exists());
        assert_eq!(fs::read(keep.join("k")).unwrap(), b"k");
    }

    #[test]
    fn a_directory_in_the_way_of_a_file_is_a_conflict_unless_deleting() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("x/inner")).unwrap();
        let dir = rfs::open(
            tmp.path(),
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        let count = AtomicU64::new(0);
        let made = make_file(dir.as_fd(), OsStr::new("x"), 3, &no_delete(&count)).unwrap();
        assert!(matches!(made, Made::Conflict("a directory")));
        assert!(tmp.path().join("x/inner").is_dir());
        let del = Deleting {
            allowed: true,
            count: &count,
        };
        let made = make_file(dir.as_fd(), OsStr::new("x"), 3, &del).unwrap();
        assert!(matches!(made, Made::Ready { .. }));
        assert_eq!(fs::read(tmp.path().join("x")).unwrap(), [0, 0, 0]);
        assert_eq!(count.load(Ordering::Relaxed), 1);
    }
}
