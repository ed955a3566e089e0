//! A repository in a local directory. Writes go to a temporary file that is fsynced and renamed, then
//! the directory is fsynced, so a crash never leaves a partial file under its final name.

use super::{Backend, FileType};
use anyhow::{bail, Context, Result};
use rand::RngCore;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub struct LocalBackend {
    root: PathBuf,
}

const TMP_PREFIX: &str = ".tmp-";

/// Temporary files being written by this process, so that an interrupted command can remove them.
static IN_FLIGHT: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn in_flight() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    IN_FLIGHT.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes the temporary files this process is writing (for a signal handler that then exits).
/// Returns how many were removed.
pub fn remove_partial_files() -> usize {
    let paths = std::mem::take(&mut *in_flight());
    paths.iter().filter(|p| fs::remove_file(p).is_ok()).count()
}

impl LocalBackend {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalBackend { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, t: FileType, name: &str) -> Result<PathBuf> {
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            bail!("invalid repository file name {name:?}");
        }
        Ok(match t {
            FileType::Config => self.root.join("config"),
            FileType::Pack => {
                let fan = name.get(..2).context("pack name too short")?;
                self.root.join("data").join(fan).join(name)
            }
            _ => self.root.join(t.dir()).join(name),
        })
    }
}

/// The entries of a directory; none if it does not exist.
fn dir_entries(d: &Path) -> Result<Vec<fs::DirEntry>> {
    let rd = match fs::read_dir(d) {
        Ok(rd) => rd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", d.display())),
    };
    rd.map(|e| e.with_context(|| format!("listing {}", d.display())))
        .collect()
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing directory {}", dir.display()))
}

impl Backend for LocalBackend {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn create(&self) -> Result<()> {
        if self.root.join("config").exists() {
            bail!("a repository already exists at {}", self.root.display());
        }
        for t in [
            FileType::Key,
            FileType::Snapshot,
            FileType::Index,
            FileType::Lock,
        ] {
            let d = self.root.join(t.dir());
            fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
        }
        for i in 0..256 {
            let d = self.root.join("data").join(format!("{i:02x}"));
            fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
        }
        sync_dir(&self.root)
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
                let data = self.root.join("data");
                let mut v = Vec::new();
                for e in
                    fs::read_dir(&data).with_context(|| format!("listing {}", data.display()))?
                {
                    let e = e.with_context(|| format!("listing {}", data.display()))?;
                    if e.file_type().map(|f| f.is_dir()).unwrap_or(false) {
                        v.push(e.path());
                    }
                }
                v
            }
            _ => vec![self.root.join(t.dir())],
        };
        let mut out = Vec::new();
        for d in dirs {
            for e in dir_entries(&d)? {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                let md = e
                    .metadata()
                    .with_context(|| format!("stat {}", e.path().display()))?;
                if md.is_file() {
                    out.push((name, md.len()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        let p = self.path(t, name)?;
        fs::read(&p).with_context(|| format!("reading {}", p.display()))
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
        let p = self.path(t, name)?;
        if t == FileType::Pack
            && len >= super::direct::DIRECT_MIN as u64
            && len <= 1 << 30
            && super::direct::read_range_into(&p, offset, len as usize, buf).with_context(|| {
                format!("reading {len} bytes at offset {offset} of {}", p.display())
            })?
        {
            return Ok(());
        }
        let mut f = File::open(&p).with_context(|| format!("opening {}", p.display()))?;
        f.seek(SeekFrom::Start(offset))
            .with_context(|| format!("seeking in {}", p.display()))?;
        buf.clear();
        buf.reserve(len.min(1 << 30) as usize);
        f.take(len)
            .read_to_end(buf)
            .with_context(|| format!("reading {}", p.display()))?;
        if (buf.len() as u64) < len {
            bail!(
                "{} is truncated: wanted {len} bytes at offset {offset}, got {}",
                p.display(),
                buf.len()
            );
        }
        Ok(())
    }

    fn write(&self, t: FileType, name: &str, data: &[u8]) -> Result<()> {
        let p = self.path(t, name)?;
        let dir = p
            .parent()
            .context("repository file without parent")?
            .to_path_buf();
        if !dir.exists() {
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut rnd = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut rnd);
        let tmp = dir.join(format!("{TMP_PREFIX}{}", hex::encode(rnd)));
        in_flight().push(tmp.clone());
        let result = (|| -> Result<()> {
            if t == FileType::Pack
                && data.len() >= super::direct::DIRECT_MIN
                && super::direct::write_new(&tmp, data)
                    .with_context(|| format!("writing {}", tmp.display()))?
            {
                fs::rename(&tmp, &p).with_context(|| format!("renaming to {}", p.display()))?;
                return sync_dir(&dir);
            }
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .with_context(|| format!("creating {}", tmp.display()))?;
            f.write_all(data)
                .and_then(|_| f.sync_all())
                .with_context(|| format!("writing {}", tmp.display()))?;
            fs::rename(&tmp, &p).with_context(|| format!("renaming to {}", p.display()))?;
            sync_dir(&dir)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        in_flight().retain(|p| *p != tmp);
        result
    }

    fn delete(&self, t: FileType, name: &str) -> Result<()> {
        let p = self.path(t, name)?;
        match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("deleting {}", p.display())),
        }
    }

    fn remove_leftovers(&self, older_than: std::time::Duration) -> Result<(usize, u64)> {
        let mut dirs: Vec<PathBuf> = [
            FileType::Key,
            FileType::Snapshot,
            FileType::Index,
            FileType::Lock,
        ]
        .iter()
        .map(|t| self.root.join(t.dir()))
        .collect();
        dirs.push(self.root.clone());
        dirs.extend((0..256).map(|i| self.root.join("data").join(format!("{i:02x}"))));
        let now = std::time::SystemTime::now();
        let (mut files, mut bytes) = (0, 0);
        for d in dirs {
            for e in dir_entries(&d)? {
                if !e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                    continue;
                }
                let Ok(md) = e.metadata() else { continue };
                let age = md
                    .modified()
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .unwrap_or_default();
                if md.is_file() && age > older_than {
                    fs::remove_file(e.path())
                        .with_context(|| format!("deleting {}", e.path().display()))?;
                    files += 1;
                    bytes += md.len();
                }
            }
        }
        Ok((files, bytes))
    }

    fn modified(&self, t: FileType, name: &str) -> Result<Option<std::time::SystemTime>> {
        let p = self.path(t, name)?;
        match fs::symlink_metadata(&p) {
            Ok(m) => Ok(m.modified().ok()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("stat {}", p.display())),
        }
    }

    fn stat(&self, t: FileType, name: &str) -> Result<Option<u64>> {
        let p = self.path(t, name)?;
        match fs::metadata(&p) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("stat {}", p.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let b = LocalBackend::new(dir.path().join("repo"));
        b.create().unwrap();
        let name = "ab".repeat(32);
        b.write(FileType::Pack, &name, b"hello world").unwrap();
        assert_eq!(b.read(FileType::Pack, &name).unwrap(), b"hello world");
        assert_eq!(b.read_range(FileType::Pack, &name, 6, 5).unwrap(), b"world");
        assert!(b.read_range(FileType::Pack, &name, 6, 50).is_err());
        assert_eq!(b.list(FileType::Pack).unwrap(), vec![(name.clone(), 11)]);
        assert_eq!(b.stat(FileType::Pack, &name).unwrap(), Some(11));
        b.write(FileType::Config, "config", b"c").unwrap();
        assert!(b.create().is_err(), "create over an existing repository");
        b.delete(FileType::Pack, &name).unwrap();
        assert_eq!(b.stat(FileType::Pack, &name).unwrap(), None);
        assert!(b.list(FileType::Index).unwrap().is_empty());
        assert!(b.path(FileType::Index, "../x").is_err());
    }
}
