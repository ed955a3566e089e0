//! The file-system operations the local backend makes, behind a trait so that a test can run the
//! backend on a simulated file system that drops unsynced changes at a power cut (`sim`).
//!
//! Paths are relative to the repository root. The real implementation opens the root by its path (the
//! user chose it; it may be reached through a symlink) and everything below it component by component
//! with `O_NOFOLLOW` from that handle, so nothing inside a repository is reached through a symlink.
//! Files are checked with a `stat` that does not follow links before they are opened, and opened with
//! `O_NONBLOCK`, so a FIFO or device in place of a file is refused instead of hanging a reader.

use rustix::fs::{
    linkat, mkdirat, openat, renameat, renameat_with, statx, unlinkat, AtFlags, Dir, Mode, OFlags,
    RenameFlags, StatxFlags, CWD,
};
use rustix::io::Errno;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What an entry is, as `lstat` tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Dir,
    /// A symlink, FIFO, socket or device.
    Other,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta {
    pub kind: Kind,
    pub len: u64,
    pub modified: Option<SystemTime>,
}

/// Why an entry was refused; carried inside an `io::Error` so callers can word the message.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The file at this path (relative to the root) is a symlink, FIFO, device or directory.
    NotRegular(PathBuf),
    /// The entry at this path is where a directory belongs but is not a real directory.
    NotDirectory(PathBuf),
    /// The file is longer than the most the caller accepts.
    TooLarge { len: u64, max: u64 },
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::NotRegular(p) => write!(f, "{} is not a regular file", p.display()),
            Refused::NotDirectory(p) => write!(f, "{} is not a directory", p.display()),
            Refused::TooLarge { len, max } => write!(f, "{len} bytes, more than {max}"),
        }
    }
}

impl std::error::Error for Refused {}

impl Refused {
    pub fn into_io(self) -> io::Error {
        let kind = match self {
            Refused::TooLarge { .. } => ErrorKind::FileTooLarge,
            Refused::NotRegular(_) | Refused::NotDirectory(_) => ErrorKind::InvalidInput,
        };
        io::Error::new(kind, self)
    }

    /// The refusal inside an error, if it is one.
    pub fn of(e: &io::Error) -> Option<&Refused> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<Refused>())
    }
}

/// The operations, on paths relative to the repository root. Nothing here fsyncs a directory on its
/// own: when to do that is the backend's discipline, which the simulation tests.
pub(crate) trait Fs: Send + Sync {
    /// Creates the root directory and any missing parents (mode 0700), each parent fsynced after.
    fn create_root(&self) -> io::Result<()>;
    /// Creates one directory, mode 0700. An existing entry is an `AlreadyExists` error.
    fn create_dir(&self, rel: &Path) -> io::Result<()>;
    /// Creates a file that must not exist (mode 0600), writes `data` and fsyncs the file. `direct`
    /// asks for direct I/O where the file system allows it. A failure may leave the file behind.
    fn write_new(&self, rel: &Path, data: &[u8], direct: bool) -> io::Result<()>;
    /// Renames a file, replacing the target.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Renames a file unless the target exists (an `AlreadyExists` error then), atomically.
    fn rename_new(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn sync_dir(&self, rel: &Path) -> io::Result<()>;
    fn remove_file(&self, rel: &Path) -> io::Result<()>;
    /// A whole regular file of at most `max` bytes ([`Refused`] otherwise), never reading more.
    fn read(&self, rel: &Path, max: u64) -> io::Result<Vec<u8>>;
    /// `len` bytes at `offset` of a regular file into `buf` (its contents replaced); a file that
    /// ends before the range is an `UnexpectedEof` error, found before anything is allocated.
    fn read_range_into(
        &self,
        rel: &Path,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
        direct: bool,
    ) -> io::Result<()>;
    /// The entry itself (a symlink is not followed); `None` if it does not exist.
    fn stat(&self, rel: &Path) -> io::Result<Option<Meta>>;
    /// A directory's entries, symlinks not followed; empty if the directory does not exist. Names
    /// that are not UTF-8 are left out (no repository file has one).
    fn list(&self, rel: &Path) -> io::Result<Vec<(String, Meta)>>;
}

/// Entries vanishing between a listing and a `stat` are normal (a concurrent delete).
fn not_found(e: &io::Error) -> bool {
    e.kind() == ErrorKind::NotFound
}

fn truncated(offset: u64, len: u64, size: u64) -> io::Error {
    io::Error::new(
        ErrorKind::UnexpectedEof,
        format!("truncated: wanted {len} bytes at offset {offset}, the file has {size}"),
    )
}

pub(crate) fn check_range(offset: u64, len: u64, size: u64) -> io::Result<()> {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(truncated(offset, len, size)),
    }
}

/// The real file system under `root`.
pub(crate) struct RealFs {
    root: PathBuf,
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

fn owner_only(dir: bool) -> Mode {
    if dir {
        Mode::RWXU
    } else {
        Mode::RUSR | Mode::WUSR
    }
}

fn meta_at(dir: &OwnedFd, name: &OsStr) -> io::Result<Meta> {
    let st = statx(
        dir,
        name,
        AtFlags::SYMLINK_NOFOLLOW,
        StatxFlags::TYPE | StatxFlags::SIZE | StatxFlags::MTIME,
    )?;
    let kind = match rustix::fs::FileType::from_raw_mode(u32::from(st.stx_mode)) {
        rustix::fs::FileType::RegularFile => Kind::File,
        rustix::fs::FileType::Directory => Kind::Dir,
        _ => Kind::Other,
    };
    let t = st.stx_mtime;
    let modified = u64::try_from(t.tv_sec)
        .ok()
        .and_then(|s| SystemTime::UNIX_EPOCH.checked_add(Duration::new(s, t.tv_nsec)));
    Ok(Meta {
        kind,
        len: st.stx_size,
        modified,
    })
}

impl RealFs {
    pub fn new(root: PathBuf) -> RealFs {
        RealFs { root }
    }

    fn open_root(&self) -> io::Result<OwnedFd> {
        Ok(openat(
            CWD,
            &self.root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?)
    }

    /// Opens the directory `rel`, refusing a symlink or anything else that is not a directory in
    /// any of its components.
    fn open_dir(&self, rel: &Path) -> io::Result<OwnedFd> {
        let mut fd = self.open_root()?;
        let mut walked = PathBuf::new();
        for c in rel.components() {
            let Component::Normal(name) = c else {
                return Err(io::Error::new(
                    ErrorKind::InvalidInput,
                    format!("{} is not a plain relative path", rel.display()),
                ));
            };
            walked.push(name);
            fd = openat(&fd, name, DIR_FLAGS, Mode::empty()).map_err(|e| match e {
                Errno::LOOP | Errno::NOTDIR => Refused::NotDirectory(walked.clone()).into_io(),
                e => e.into(),
            })?;
        }
        Ok(fd)
    }

    fn open_parent<'a>(&self, rel: &'a Path) -> io::Result<(OwnedFd, &'a OsStr)> {
        let name = rel.file_name().ok_or_else(|| {
            io::Error::new(
                ErrorKind::InvalidInput,
                format!("{} names no file", rel.display()),
            )
        })?;
        let parent = rel.parent().unwrap_or(Path::new(""));
        Ok((self.open_dir(parent)?, name))
    }

    /// Opens a regular file for reading; anything else is refused before it is opened, and checked
    /// again on the open handle (it may have been replaced in between).
    fn open_regular(&self, rel: &Path) -> io::Result<(File, u64)> {
        let (dir, name) = self.open_parent(rel)?;
        if meta_at(&dir, name)?.kind != Kind::File {
            return Err(Refused::NotRegular(rel.to_path_buf()).into_io());
        }
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = openat(&dir, name, flags, Mode::empty()).map_err(|e| match e {
            Errno::LOOP => Refused::NotRegular(rel.to_path_buf()).into_io(),
            e => e.into(),
        })?;
        let f = File::from(fd);
        let md = f.metadata()?;
        if !md.is_file() {
            return Err(Refused::NotRegular(rel.to_path_buf()).into_io());
        }
        Ok((f, md.len()))
    }

    /// Creates `dir` and, first, its missing parents; fsyncs each one's parent after creating it.
    fn create_abs(dir: &Path) -> io::Result<()> {
        match std::fs::symlink_metadata(dir) {
            Ok(_) => return Ok(()),
            Err(e) if not_found(&e) => {}
            Err(e) => return Err(e),
        }
        let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(p) = parent {
            Self::create_abs(p)?;
        }
        let parent = parent.unwrap_or(Path::new("."));
        match mkdirat(CWD, dir, owner_only(true)) {
            Ok(()) => {}
            // Created by someone else meanwhile; its creator syncs the parent.
            Err(Errno::EXIST) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        File::open(parent)?.sync_all()
    }
}

impl Fs for RealFs {
    fn create_root(&self) -> io::Result<()> {
        Self::create_abs(&self.root)
    }

    fn create_dir(&self, rel: &Path) -> io::Result<()> {
        let (dir, name) = self.open_parent(rel)?;
        Ok(mkdirat(&dir, name, owner_only(true))?)
    }

    fn write_new(&self, rel: &Path, data: &[u8], direct: bool) -> io::Result<()> {
        let (dir, name) = self.open_parent(rel)?;
        if direct && crate::direct_io::write_new(dir.as_fd(), name, data)? {
            return Ok(());
        }
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mut f = File::from(openat(&dir, name, flags, owner_only(false))?);
        f.write_all(data)?;
        f.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (from_dir, from_name) = self.open_parent(from)?;
        let (to_dir, to_name) = self.open_parent(to)?;
        Ok(renameat(&from_dir, from_name, &to_dir, to_name)?)
    }

    fn rename_new(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (from_dir, from_name) = self.open_parent(from)?;
        let (to_dir, to_name) = self.open_parent(to)?;
        match renameat_with(
            &from_dir,
            from_name,
            &to_dir,
            to_name,
            RenameFlags::NOREPLACE,
        ) {
            // A file system without RENAME_NOREPLACE: a hard link is as atomic (it fails if
            // the target exists), and the temporary name goes after.
            Err(Errno::INVAL) | Err(Errno::NOSYS) => {
                linkat(&from_dir, from_name, &to_dir, to_name, AtFlags::empty())?;
                Ok(unlinkat(&from_dir, from_name, AtFlags::empty())?)
            }
            r => Ok(r?),
        }
    }

    fn sync_dir(&self, rel: &Path) -> io::Result<()> {
        Ok(rustix::fs::fsync(self.open_dir(rel)?)?)
    }

    fn remove_file(&self, rel: &Path) -> io::Result<()> {
        let (dir, name) = self.open_parent(rel)?;
        Ok(unlinkat(&dir, name, AtFlags::empty())?)
    }

    fn read(&self, rel: &Path, max: u64) -> io::Result<Vec<u8>> {
        let (f, len) = self.open_regular(rel)?;
        if len > max {
            return Err(Refused::TooLarge { len, max }.into_io());
        }
        let mut buf = Vec::with_capacity(len as usize);
        // One byte past the limit tells a file that grew after the check.
        f.take(max + 1).read_to_end(&mut buf)?;
        let got = buf.len() as u64;
        if got > max {
            return Err(Refused::TooLarge { len: got, max }.into_io());
        }
        Ok(buf)
    }

    fn read_range_into(
        &self,
        rel: &Path,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
        direct: bool,
    ) -> io::Result<()> {
        let (mut f, size) = self.open_regular(rel)?;
        check_range(offset, len, size)?;
        if direct && crate::direct_io::read_range_into(&f, offset, len as usize, buf)? {
            return Ok(());
        }
        f.seek(SeekFrom::Start(offset))?;
        buf.clear();
        buf.reserve(len as usize);
        f.take(len).read_to_end(buf)?;
        if (buf.len() as u64) < len {
            return Err(truncated(offset, len, offset + buf.len() as u64));
        }
        Ok(())
    }

    fn stat(&self, rel: &Path) -> io::Result<Option<Meta>> {
        let found = self
            .open_parent(rel)
            .and_then(|(dir, name)| meta_at(&dir, name));
        match found {
            Ok(m) => Ok(Some(m)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn list(&self, rel: &Path) -> io::Result<Vec<(String, Meta)>> {
        let dir = match self.open_dir(rel) {
            Ok(d) => d,
            Err(e) if not_found(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for entry in Dir::read_from(&dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().to_str() else {
                continue;
            };
            if name == "." || name == ".." {
                continue;
            }
            match meta_at(&dir, OsStr::new(name)) {
                Ok(m) => out.push((name.to_string(), m)),
                Err(e) if not_found(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}
