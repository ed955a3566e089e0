//! Access below the restore target through directory handles.
//!
//! The target directory is opened once by its path (the user chose it; it may be reached through a
//! symlink). Everything below it is opened relative to that handle with `openat2` and
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` (or, where the kernel lacks `openat2`, one component at
//! a time with `O_NOFOLLOW`), so no symlink, whether it was in the target before or was swapped in
//! while the restore runs, can lead a write, a mode change or a new entry anywhere else. Each entry
//! the restore makes is remembered by its (device, inode); every later open checks that the path
//! still leads to that inode, so an entry replaced by something else (another file, a hard link to
//! a file elsewhere, a directory moved in) is reported and left alone.

use crate::error::{bail, err};
use crate::error::{Context, Error, Result};
use rustix::fs::{self as rfs, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Which inode an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ident {
    dev: u64,
    ino: u64,
}

impl Ident {
    pub fn of(fd: impl AsFd) -> rustix::io::Result<Ident> {
        Ok(Ident::from_stat(&rfs::fstat(fd)?))
    }

    // `st_dev` and `st_ino` are narrower than u64 on some architectures.
    #[allow(clippy::unnecessary_cast)]
    pub fn from_stat(st: &rfs::Stat) -> Ident {
        Ident {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
        }
    }
}

/// Paths at least this long (in bytes) are resolved one component at a time: `openat2` takes at
/// most `PATH_MAX` (4096) bytes including the terminating NUL.
const OPENAT2_MAX_PATH: usize = 4000;

/// The open restore target.
pub(crate) struct TargetDir {
    fd: OwnedFd,
    path: PathBuf,
    /// Set when the kernel has no `openat2`; paths are then resolved one component at a time.
    walk: AtomicBool,
}

impl TargetDir {
    /// Opens the target directory, creating it (and its parents) when it does not exist; a new
    /// target gets `mode` (less the umask). Returns whether this call created it.
    pub fn open(path: &Path, mode: u32) -> Result<(TargetDir, bool)> {
        let created = match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => false,
            Ok(_) => bail!(
                InvalidInput,
                "target {} exists and is not a directory; choose a directory",
                path.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                match std::fs::DirBuilder::new().mode(mode).create(path) {
                    Ok(()) => true,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
                    Err(e) => {
                        return Err(e)
                            .with_context(|| format!("creating target {}", path.display()))
                    }
                }
            }
            Err(e) => return Err(e).with_context(|| format!("target {}", path.display())),
        };
        let fd = rfs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .with_context(|| format!("opening target {}", path.display()))?;
        Ok((
            TargetDir {
                fd,
                path: path.to_path_buf(),
                walk: AtomicBool::new(false),
            },
            created,
        ))
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The path of `rel` below the target, for messages.
    pub fn show(&self, rel: &Path) -> PathBuf {
        if rel.as_os_str().is_empty() {
            self.path.clone()
        } else {
            self.path.join(rel)
        }
    }

    /// Makes later opens resolve one component at a time, as on a kernel without `openat2`.
    #[cfg(test)]
    pub fn force_walk(&self) {
        self.walk.store(true, Ordering::Relaxed);
    }

    /// Opens `rel` (relative to the target; empty for the target itself) without following any
    /// symlink on the way or at the end, and without leaving the target.
    pub fn open_beneath(&self, rel: &Path, flags: OFlags) -> rustix::io::Result<OwnedFd> {
        let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        if rel.as_os_str().is_empty() {
            return rfs::openat(&self.fd, c".", flags, Mode::empty());
        }
        if !self.walk.load(Ordering::Relaxed) && rel.as_os_str().len() < OPENAT2_MAX_PATH {
            let how =
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
            // EAGAIN means a rename elsewhere raced with the lookup: try again.
            for _ in 0..8 {
                match rfs::openat2(&self.fd, rel, flags, Mode::empty(), how) {
                    Err(Errno::AGAIN) => continue,
                    Err(Errno::NOSYS) => {
                        self.walk.store(true, Ordering::Relaxed);
                        break;
                    }
                    other => return other,
                }
            }
        }
        self.walk_open(rel, flags)
    }

    /// [`Self::open_beneath`] one component at a time: each directory is opened with
    /// `O_NOFOLLOW | O_DIRECTORY` relative to the one before.
    fn walk_open(&self, rel: &Path, flags: OFlags) -> rustix::io::Result<OwnedFd> {
        let mut names: Vec<&OsStr> = Vec::new();
        for c in rel.components() {
            match c {
                Component::Normal(n) => names.push(n),
                _ => return Err(Errno::INVAL),
            }
        }
        let Some((last, dirs)) = names.split_last() else {
            return Err(Errno::INVAL);
        };
        let mut cur: Option<OwnedFd> = None;
        for d in dirs {
            let at = cur.as_ref().map_or(self.fd.as_fd(), |f| f.as_fd());
            let next = rfs::openat(
                at,
                *d,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            cur = Some(next);
        }
        let at = cur.as_ref().map_or(self.fd.as_fd(), |f| f.as_fd());
        rfs::openat(at, *last, flags, Mode::empty())
    }

    /// Opens `rel` as [`Self::open_beneath`] does and checks that it is still the inode `want`.
    /// Anything else there (a symlink, another file, nothing) is an error naming the path.
    pub fn open_checked(&self, rel: &Path, flags: OFlags, want: Ident) -> Result<OwnedFd> {
        let shown = self.show(rel);
        match self.open_beneath(rel, flags) {
            Ok(fd) => {
                let got = Ident::of(&fd).with_context(|| format!("{}", shown.display()))?;
                if got == want {
                    Ok(fd)
                } else {
                    Err(replaced(&shown))
                }
            }
            // A symlink where a directory or the file was (ELOOP), a non-directory where a
            // directory was (ENOTDIR), nothing (ENOENT), a FIFO without reader (ENXIO).
            Err(Errno::LOOP | Errno::NOTDIR | Errno::NOENT | Errno::XDEV | Errno::NXIO) => {
                Err(replaced(&shown))
            }
            Err(e) => {
                Err(std::io::Error::from(e)).with_context(|| format!("opening {}", shown.display()))
            }
        }
    }
}

fn replaced(path: &Path) -> Error {
    err!(
        Io,
        "{} was replaced or removed during the restore; it is left alone",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn check_target(walk: bool) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("t");
        let (t, created) = TargetDir::open(&root, 0o700).unwrap();
        assert!(created);
        if walk {
            t.force_walk();
        }
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::write(root.join("a/b/f"), b"x").unwrap();
        fs::write(tmp.path().join("outside"), b"o").unwrap();
        std::os::unix::fs::symlink(tmp.path(), root.join("a/up")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside"), root.join("a/b/link")).unwrap();

        let f = t
            .open_beneath(Path::new("a/b/f"), OFlags::RDONLY)
            .expect("a plain path opens");
        let id = Ident::of(&f).unwrap();
        assert!(t
            .open_checked(Path::new("a/b/f"), OFlags::RDONLY, id)
            .is_ok());
        // A symlink as a directory on the way, or at the end, is refused.
        for bad in ["a/up/outside", "a/b/link", "a/up"] {
            let e = t.open_beneath(Path::new(bad), OFlags::RDONLY).unwrap_err();
            assert!(
                matches!(e, Errno::LOOP | Errno::NOTDIR | Errno::XDEV),
                "{bad}: {e:?} (walk {walk})"
            );
        }
        // The same path leading to another inode is reported as replaced.
        fs::remove_file(root.join("a/b/f")).unwrap();
        fs::write(root.join("a/b/f"), b"y").unwrap();
        let e = t
            .open_checked(Path::new("a/b/f"), OFlags::RDONLY, id)
            .unwrap_err();
        assert!(format!("{e:#}").contains("was replaced"), "{e:#}");
        fs::remove_file(root.join("a/b/f")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside"), root.join("a/b/f")).unwrap();
        let e = t
            .open_checked(Path::new("a/b/f"), OFlags::WRONLY, id)
            .unwrap_err();
        assert!(format!("{e:#}").contains("was replaced"), "{e:#}");
        assert_eq!(fs::read(tmp.path().join("outside")).unwrap(), b"o");
    }

    #[test]
    fn opens_stay_below_the_target_with_openat2() {
        check_target(false);
    }

    #[test]
    fn opens_stay_below_the_target_one_component_at_a_time() {
        check_target(true);
    }

    #[test]
    fn a_file_as_target_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("file");
        fs::write(&p, b"x").unwrap();
        let e = TargetDir::open(&p, 0o700).err().unwrap();
        assert!(format!("{e:#}").contains("not a directory"), "{e:#}");
    }
}
