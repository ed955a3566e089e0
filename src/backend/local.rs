//! A repository in a local directory.
//!
//! Durability: a file is written to a temporary file that is fsynced, renamed into place, and then
//! its directory is fsynced, so a crash or power cut never leaves a partial file under its final
//! name and a write that returned is on disk. A delete fsyncs the directory before it returns (so a
//! `forget` is on disk before a later `prune` deletes the packs only its snapshots used), and a new
//! directory's parent is fsynced before anything is written into it.
//!
//! Privacy: directories are created 0700 and files 0600 (a key file readable by others invites
//! offline password guessing).
//!
//! Hostile contents: every read is bounded by the most a valid file of its type can hold
//! ([`FileType::max_size`]), checked before reading; only regular files are read, and no symlink
//! inside the repository is followed (`vfs`).

use super::vfs::{self, Fs, Kind, RealFs, Refused};
use super::{Backend, BackendError, BackendErrorKind, FileType, Result};
use rand::RngCore;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A repository in a directory of the local file system; writes go to a temporary file, are fsynced and renamed into place.
pub struct LocalBackend {
    root: PathBuf,
    fs: Arc<dyn Fs>,
    parallel_writes: usize,
}

/// Packs written at once to a local directory unless told otherwise. A virtual disk that flushes
/// for seconds after large writes stalls one writer at a time; more than two bought nothing
/// measurable on two cores (docs/benchmarks.md) and each holds a pack in memory.
pub const LOCAL_PARALLEL_WRITES: usize = 2;

const TMP_PREFIX: &str = ".tmp-";

/// Temporary files this process is writing, so that an interrupted command can remove them.
struct Partial {
    paths: Vec<PathBuf>,
    /// Writers between registering a path and their file being written in full: the file may
    /// not exist yet, so removing it now would miss it.
    writing: usize,
    /// Set by [`remove_partial_files`]: no new temporary file is started after it.
    closed: bool,
}

static PARTIAL: std::sync::Mutex<Partial> = std::sync::Mutex::new(Partial {
    paths: Vec::new(),
    writing: 0,
    closed: false,
});
/// Signalled when a writer's temporary file is complete.
static WRITTEN: std::sync::Condvar = std::sync::Condvar::new();

fn partial() -> std::sync::MutexGuard<'static, Partial> {
    PARTIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// How long [`remove_partial_files`] waits for writes under way to create their files.
const PARTIAL_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Removes the temporary files this process is writing (for a signal handler that then exits),
/// after waiting up to 5 s for those being written to exist; later writes are refused. Returns
/// how many were removed.
pub fn remove_partial_files() -> usize {
    let mut p = partial();
    p.closed = true;
    let (mut p, _) = WRITTEN
        .wait_timeout_while(p, PARTIAL_WAIT, |p| p.writing > 0)
        .unwrap_or_else(|e| e.into_inner());
    let paths = std::mem::take(&mut p.paths);
    drop(p);
    paths
        .iter()
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count()
}

/// The directories files are written to, relative to the root.
fn file_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = [
        FileType::Key,
        FileType::Snapshot,
        FileType::Index,
        FileType::Lock,
    ]
    .iter()
    .map(|t| PathBuf::from(t.dir()))
    .collect();
    dirs.push(PathBuf::new());
    dirs.extend((0..256).map(|i| Path::new("data").join(format!("{i:02x}"))));
    dirs
}

impl LocalBackend {
    /// A backend rooted at `root` (the repository directory); nothing is touched until the first call.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let fs = Arc::new(RealFs::new(root.clone()));
        LocalBackend {
            root,
            fs,
            parallel_writes: LOCAL_PARALLEL_WRITES,
        }
    }

    /// The backend writing `n` packs at once (at least one).
    pub fn with_parallel_writes(mut self, n: usize) -> Self {
        self.parallel_writes = n.max(1);
        self
    }

    /// A backend over another implementation of the file-system calls (a simulation, in tests).
    #[cfg(test)]
    pub(crate) fn with_fs(root: impl Into<PathBuf>, fs: Arc<dyn Fs>) -> Self {
        LocalBackend {
            root: root.into(),
            fs,
            parallel_writes: 1,
        }
    }

    /// The repository directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file's path relative to the root.
    fn rel(&self, t: FileType, name: &str) -> Result<PathBuf> {
        let invalid =
            |message| BackendError::new(BackendErrorKind::InvalidName, t, Some(name), message);
        if name.is_empty() || name.contains(['/', '\0']) || name.starts_with('.') {
            return Err(invalid(format!("invalid repository file name {name:?}")));
        }
        Ok(match t {
            FileType::Config => PathBuf::from("config"),
            FileType::Pack => {
                let fan = name
                    .get(..2)
                    .ok_or_else(|| invalid(format!("invalid pack name {name:?}: too short")))?;
                Path::new("data").join(fan).join(name)
            }
            _ => Path::new(t.dir()).join(name),
        })
    }

    fn show(&self, rel: &Path) -> String {
        self.root.join(rel).display().to_string()
    }

    /// Words an error of the entry `rel` for the user: the file `name` of type `t`, or (without a
    /// name) a directory.
    fn explain(
        &self,
        doing: &str,
        t: FileType,
        name: Option<&str>,
        rel: &Path,
        e: io::Error,
    ) -> BackendError {
        let refused =
            |message: String| BackendError::new(BackendErrorKind::Refused, t, name, message);
        match Refused::of(&e) {
            Some(Refused::TooLarge { len, max }) => refused(format!(
                "{} is {len} bytes, larger than any valid {} ({max} bytes at most): it was not \
                 written by backstock; move it out of the repository",
                self.show(rel),
                t.describe()
            )),
            Some(Refused::NotRegular(p)) => refused(format!(
                "{} is not a regular file (a symlink, directory, FIFO or device): backstock \
                 neither follows links nor reads special files inside a repository; put the file \
                 itself there or remove the entry",
                self.show(p)
            )),
            Some(Refused::NotDirectory(p)) => refused(format!(
                "{} is not a real directory (a symlink or another kind of entry): backstock does \
                 not follow links inside a repository; put the directory itself there",
                self.show(p)
            )),
            None => BackendError::io(t, name, format!("{doing} {}", self.show(rel)), e),
        }
    }

    fn sync_dir(&self, rel: &Path) -> Result<()> {
        self.fs
            .sync_dir(rel)
            .map_err(|e| self.explain("syncing directory", FileType::Config, None, rel, e))
    }

    /// Makes sure the directory `rel` exists, creating it and its missing parents, each parent
    /// fsynced after, so that files written into it cannot vanish with it at a power cut.
    fn ensure_dir(&self, rel: &Path) -> Result<()> {
        if rel.as_os_str().is_empty() {
            // The root: `create` made it; a missing root is reported by the write itself.
            return Ok(());
        }
        let explain = |e| self.explain("creating directory", FileType::Config, None, rel, e);
        match self.fs.stat(rel).map_err(explain)? {
            Some(m) if m.kind == Kind::Dir => return Ok(()),
            Some(_) => {
                let e = Refused::NotDirectory(rel.to_path_buf()).into_io();
                return Err(self.explain("", FileType::Config, None, rel, e));
            }
            None => {}
        }
        let parent = rel.parent().unwrap_or(Path::new(""));
        if !parent.as_os_str().is_empty() {
            self.ensure_dir(parent)?;
        }
        match self.fs.create_dir(rel) {
            // Another writer may have created it just now and not yet synced the parent.
            Err(e) if e.kind() != ErrorKind::AlreadyExists => return Err(explain(e)),
            _ => {}
        }
        self.sync_dir(parent)
    }

    /// Creates one directory; one that exists already is fine. Does not sync its parent.
    fn create_dir(&self, rel: &Path) -> Result<()> {
        match self.fs.create_dir(rel) {
            Err(e) if e.kind() != ErrorKind::AlreadyExists => {
                Err(self.explain("creating directory", FileType::Config, None, rel, e))
            }
            _ => Ok(()),
        }
    }

    /// Writes `data` to a temporary file and renames it to `rel`: over an existing file when
    /// `replace`, else only if there is none (`Ok(false)` then, and nothing is left behind).
    fn write_file(
        &self,
        t: FileType,
        name: &str,
        rel: &Path,
        data: &[u8],
        replace: bool,
    ) -> Result<bool> {
        let dir = rel.parent().unwrap_or(Path::new(""));
        self.ensure_dir(dir)?;
        let mut rnd = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut rnd);
        let tmp = dir.join(format!("{TMP_PREFIX}{}", hex::encode(rnd)));
        let direct = t == FileType::Pack && data.len() >= crate::direct_io::DIRECT_MIN;
        let abs = self.root.join(&tmp);
        {
            let mut p = partial();
            if p.closed {
                return Err(BackendError::new(
                    BackendErrorKind::Permanent,
                    t,
                    Some(name),
                    "the command is being interrupted: no new file is written".to_string(),
                ));
            }
            p.paths.push(abs.clone());
            p.writing += 1;
        }
        let done = |r| {
            partial().paths.retain(|p| *p != abs);
            r
        };
        let written = self.fs.write_new(&tmp, data, direct);
        partial().writing -= 1;
        WRITTEN.notify_all();
        if let Err(e) = written {
            let _ = self.fs.remove_file(&tmp);
            return done(Err(self.explain("writing", t, Some(name), &tmp, e)));
        }
        let renamed = if replace {
            self.fs.rename(&tmp, rel)
        } else {
            self.fs.rename_new(&tmp, rel)
        };
        match renamed {
            Ok(()) => done(self.sync_dir(dir).map(|()| true)),
            Err(e) => {
                let _ = self.fs.remove_file(&tmp);
                if !replace && e.kind() == ErrorKind::AlreadyExists {
                    return done(Ok(false));
                }
                done(Err(self.explain(
                    "renaming into place",
                    t,
                    Some(name),
                    rel,
                    e,
                )))
            }
        }
    }
}

impl Backend for LocalBackend {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn parallel_writes(&self) -> usize {
        self.parallel_writes
    }

    fn create(&self) -> Result<()> {
        if self.stat(FileType::Config, "config")?.is_some() {
            return Err(BackendError::new(
                BackendErrorKind::Permanent,
                FileType::Config,
                Some("config"),
                format!("a repository already exists at {}", self.root.display()),
            ));
        }
        self.fs
            .create_root()
            .map_err(|e| self.explain("creating", FileType::Config, None, Path::new(""), e))?;
        // All directories first, then one fsync per parent (data/, then the root, which also
        // makes data/ itself durable), rather than one per directory.
        for t in [
            FileType::Key,
            FileType::Snapshot,
            FileType::Index,
            FileType::Lock,
            FileType::Pack,
        ] {
            self.create_dir(Path::new(t.dir()))?;
        }
        for i in 0..256 {
            self.create_dir(&Path::new("data").join(format!("{i:02x}")))?;
        }
        self.sync_dir(Path::new("data"))?;
        self.sync_dir(Path::new(""))
    }

    fn list(&self, t: FileType) -> Result<Vec<(String, u64)>> {
        let dirs: Vec<PathBuf> = match t {
            FileType::Config => {
                return Ok(self
                    .stat(t, "config")?
                    .map(|s| ("config".to_string(), s))
                    .into_iter()
                    .collect())
            }
            FileType::Pack => {
                let data = Path::new("data");
                let entries = self
                    .fs
                    .list(data)
                    .map_err(|e| self.explain("listing", t, None, data, e))?;
                entries
                    .into_iter()
                    .filter(|(_, m)| m.kind == Kind::Dir)
                    .map(|(name, _)| data.join(name))
                    .collect()
            }
            _ => vec![PathBuf::from(t.dir())],
        };
        let mut out = Vec::new();
        for d in dirs {
            let entries = self
                .fs
                .list(&d)
                .map_err(|e| self.explain("listing", t, None, &d, e))?;
            out.extend(
                entries
                    .into_iter()
                    .filter(|(name, m)| m.kind == Kind::File && !name.starts_with('.'))
                    .map(|(name, m)| (name, m.len)),
            );
        }
        out.sort();
        Ok(out)
    }

    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        let rel = self.rel(t, name)?;
        self.fs
            .read(&rel, t.max_size())
            .map_err(|e| self.explain("reading", t, Some(name), &rel, e))
    }

    fn read_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.read_range_into(t, name, offset, len, &mut buf)?;
        Ok(buf)
    }

    fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let rel = self.rel(t, name)?;
        if offset.checked_add(len).is_none_or(|end| end > t.max_size()) {
            return Err(BackendError::new(
                BackendErrorKind::Refused,
                t,
                Some(name),
                format!(
                "cannot read {len} bytes at offset {offset} of {}: the range ends past the end \
                 of any valid {} ({} bytes at most); the index or pack header that gave it is \
                 corrupt",
                self.show(&rel),
                t.describe(),
                t.max_size()
            ),
            ));
        }
        let direct =
            t == FileType::Pack && len >= crate::direct_io::DIRECT_MIN as u64 && len <= 1 << 30;
        self.fs
            .read_range_into(&rel, offset, len, buf, direct)
            .map_err(|e| {
                let doing = format!("reading {len} bytes at offset {offset} of");
                self.explain(&doing, t, Some(name), &rel, e)
            })
    }

    fn write(&self, t: FileType, name: &str, data: &[u8]) -> Result<()> {
        let rel = self.rel(t, name)?;
        self.write_file(t, name, &rel, data, true).map(drop)
    }

    fn create_file(&self, t: FileType, name: &str, data: &[u8]) -> Result<bool> {
        let rel = self.rel(t, name)?;
        self.write_file(t, name, &rel, data, false)
    }

    fn delete(&self, t: FileType, name: &str) -> Result<()> {
        let rel = self.rel(t, name)?;
        match self.fs.remove_file(&rel) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(self.explain("deleting", t, Some(name), &rel, e)),
        }
        self.sync_dir(rel.parent().unwrap_or(Path::new("")))
    }

    fn remove_leftovers(&self, older_than: std::time::Duration) -> Result<(usize, u64)> {
        let now = std::time::SystemTime::now();
        let (mut files, mut bytes) = (0, 0);
        for d in file_dirs() {
            let entries = self
                .fs
                .list(&d)
                .map_err(|e| self.explain("listing", FileType::Config, None, &d, e))?;
            let mut removed = false;
            for (name, m) in entries {
                if !name.starts_with(TMP_PREFIX) || m.kind != Kind::File {
                    continue;
                }
                let age = m
                    .modified
                    .and_then(|t| now.duration_since(t).ok())
                    .unwrap_or_default();
                if age > older_than {
                    let rel = d.join(&name);
                    match self.fs.remove_file(&rel) {
                        Ok(()) => {}
                        Err(e) if e.kind() == ErrorKind::NotFound => continue,
                        Err(e) => {
                            return Err(self.explain("deleting", FileType::Config, None, &rel, e))
                        }
                    }
                    removed = true;
                    files += 1;
                    bytes += m.len;
                }
            }
            if removed {
                self.sync_dir(&d)?;
            }
        }
        Ok((files, bytes))
    }

    fn stat(&self, t: FileType, name: &str) -> Result<Option<u64>> {
        Ok(self.meta(t, name)?.map(|m| m.len))
    }

    fn modified(&self, t: FileType, name: &str) -> Result<Option<std::time::SystemTime>> {
        Ok(self.meta(t, name)?.and_then(|m| m.modified))
    }
}

impl LocalBackend {
    /// A file's metadata; `None` if it does not exist; an error if it is not a regular file.
    fn meta(&self, t: FileType, name: &str) -> Result<Option<vfs::Meta>> {
        let rel = self.rel(t, name)?;
        match self.fs.stat(&rel) {
            Ok(Some(m)) if m.kind == Kind::File => Ok(Some(m)),
            Ok(Some(_)) => {
                let e = Refused::NotRegular(rel.clone()).into_io();
                Err(self.explain("", t, Some(name), &rel, e))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(self.explain("stat", t, Some(name), &rel, e)),
        }
    }
}
