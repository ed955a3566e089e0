//! The caches under a cache base directory, one per repository (`<base>/<repo id hex>/`), and
//! removing those not used for a while (restic's `cache --cleanup`). Only directories named by a
//! repository ID are touched; anything else in the base is left alone.

use super::cache::default_base;
use crate::error::{Context, Result};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// One repository's cache.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CacheDir {
    /// The repository ID (the directory's name).
    pub repo: String,
    /// The directory.
    pub path: PathBuf,
    /// When a command last opened it (the directory's mtime).
    pub last_used: Option<chrono::DateTime<chrono::Utc>>,
    /// Bytes of the files in it.
    pub bytes: u64,
}

impl CacheDir {
    /// How long ago it was last used, as of `now` (zero for a time in the future).
    pub fn age(&self, now: SystemTime) -> Duration {
        let used: SystemTime = self.last_used.map_or(SystemTime::UNIX_EPOCH, Into::into);
        now.duration_since(used).unwrap_or_default()
    }
}

fn is_repo_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

fn size_of(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// The caches under `base` (default: the platform's cache directory), oldest use first. A base
/// that does not exist holds none.
pub fn list(base: Option<&Path>) -> Result<Vec<CacheDir>> {
    let base = match base {
        Some(b) => b.to_path_buf(),
        None => default_base()?,
    };
    let entries = match std::fs::read_dir(&base) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", base.display())),
    };
    let mut out = Vec::new();
    for e in entries.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(meta) = e.metadata() else { continue };
        if !meta.is_dir() || !is_repo_id(&name) {
            continue;
        }
        out.push(CacheDir {
            repo: name,
            bytes: size_of(&e.path()),
            path: e.path(),
            last_used: meta.modified().ok().map(Into::into),
        });
    }
    out.sort_by_key(|c| c.last_used);
    Ok(out)
}

/// Removes the caches under `base` not used for `max_age`; returns them.
pub fn cleanup(base: Option<&Path>, max_age: Duration, now: SystemTime) -> Result<Vec<CacheDir>> {
    let mut removed = Vec::new();
    for c in list(base)? {
        if c.age(now) < max_age {
            continue;
        }
        std::fs::remove_dir_all(&c.path)
            .with_context(|| format!("removing cache {}", c.path.display()))?;
        removed.push(c);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_caches_go_others_and_foreign_directories_stay() {
        let base = tempfile::tempdir().unwrap();
        let mk = |name: &str, days_ago: u64| {
            let d = base.path().join(name);
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("cache.redb"), vec![0u8; 1000]).unwrap();
            let t = SystemTime::now() - Duration::from_secs(days_ago * 86_400);
            filetime::set_file_mtime(&d, filetime::FileTime::from_system_time(t)).unwrap();
        };
        let (old, new) = ("a".repeat(64), "b".repeat(64));
        mk(&old, 40);
        mk(&new, 2);
        mk("not-a-cache", 400);
        let listed = list(Some(base.path())).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].repo, old);
        assert_eq!(listed[0].bytes, 1000);
        let gone = cleanup(
            Some(base.path()),
            Duration::from_secs(30 * 86_400),
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(gone.len(), 1);
        assert!(!base.path().join(&old).exists());
        assert!(base.path().join(&new).exists());
        assert!(base.path().join("not-a-cache").exists());
        assert!(list(Some(&base.path().join("missing"))).unwrap().is_empty());
    }
}
