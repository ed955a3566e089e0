//! Snapshot files: listing, finding by ID prefix or `latest`, and writing.

use super::Repository;
use crate::backend::FileType;
use crate::format::envelope::{self, Kind};
use crate::format::snapshot::Snapshot;
use crate::ids::{storage_hash, SnapshotId};
use anyhow::{anyhow, bail, Context, Result};
use rayon::prelude::*;
use std::path::{Component, Path, PathBuf};

/// Which snapshots a command applies to.
#[derive(Debug, Clone, Default)]
pub struct SnapshotFilter {
    pub hosts: Vec<String>,
    pub tags: Vec<String>,
    pub paths: Vec<String>,
}

impl SnapshotFilter {
    /// Every filter path must match one of the snapshot's paths (`path_matches`).
    pub fn matches(&self, s: &Snapshot) -> bool {
        (self.hosts.is_empty() || self.hosts.contains(&s.hostname))
            && (self.tags.is_empty() || self.tags.iter().any(|t| s.tags.contains(t)))
            && (self.paths.is_empty()
                || self
                    .paths
                    .iter()
                    .all(|p| s.paths.iter().any(|r| path_matches(p, r))))
    }
}

/// A path as a snapshot records it: absolute (a relative path is taken from the working
/// directory), without `.` components or a trailing `/`. Symlinks are not resolved and `..` is kept
/// (backup refuses paths with `..`).
pub fn absolute_path(p: &Path) -> std::io::Result<PathBuf> {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    };
    Ok(lexical(&joined))
}

/// `p` without `.` components and without a trailing `/`.
fn lexical(p: &Path) -> PathBuf {
    p.components().filter(|c| *c != Component::CurDir).collect()
}

/// Whether the filter path `filter` (`--path`) names the recorded path `recorded`: the same path
/// once `.` and trailing `/` are ignored, or, for a relative `filter`, the same path once it is
/// made absolute. Snapshots written before paths were recorded absolute hold relative paths, which
/// the first rule still matches.
pub fn path_matches(filter: &str, recorded: &str) -> bool {
    let recorded = lexical(Path::new(recorded));
    lexical(Path::new(filter)) == recorded
        || absolute_path(Path::new(filter)).is_ok_and(|abs| abs == recorded)
}

impl Repository {
    /// All snapshots, oldest first. A snapshot file that is listed but gone when it is read (a
    /// `forget` in another process removed it in between) is left out; any other error is returned.
    pub fn snapshots(&self) -> Result<Vec<(SnapshotId, Snapshot)>> {
        let names = self.backend().list(FileType::Snapshot)?;
        let loaded: Vec<Option<(SnapshotId, Snapshot)>> = names
            .par_iter()
            .map(|(name, _)| match self.load_snapshot_file(name) {
                Ok(s) => Ok(Some(s)),
                Err(e) => match self.backend().stat(FileType::Snapshot, name) {
                    Ok(None) => Ok(None),
                    _ => Err(e),
                },
            })
            .collect::<Result<_>>()?;
        let mut out: Vec<(SnapshotId, Snapshot)> = loaded.into_iter().flatten().collect();
        out.sort_by(|a, b| a.1.time.cmp(&b.1.time).then(a.0.cmp(&b.0)));
        Ok(out)
    }

    fn load_snapshot_file(&self, name: &str) -> Result<(SnapshotId, Snapshot)> {
        let id = SnapshotId::from_hex(name).map_err(|e| anyhow!("snapshots/{name}: {e}"))?;
        let bytes = self.read_verified(FileType::Snapshot, name)?;
        let plain = envelope::open(Kind::Snapshot, &self.keys().enc, &bytes)
            .with_context(|| format!("reading snapshot {name}"))?;
        let snap = Snapshot::decode(&plain).with_context(|| format!("decoding snapshot {name}"))?;
        Ok((id, snap))
    }

    /// Finds one snapshot: `latest` (newest matching the filter), a full ID, or a unique prefix of
    /// at least 4 hex digits.
    pub fn find_snapshot(
        &self,
        spec: &str,
        filter: &SnapshotFilter,
    ) -> Result<(SnapshotId, Snapshot)> {
        let all = self.snapshots()?;
        if spec == "latest" {
            return all
                .into_iter()
                .rev()
                .find(|(_, s)| filter.matches(s))
                .ok_or_else(|| {
                    anyhow!(
                        "no snapshot found in {} (run `backstock backup` first)",
                        self.backend().location()
                    )
                });
        }
        if spec.len() < 4 || !spec.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!(
                "{spec:?} is not a snapshot ID: use `latest`, a full ID or at least 4 hex digits"
            );
        }
        let spec = spec.to_ascii_lowercase();
        let mut found: Vec<_> = all
            .into_iter()
            .filter(|(id, _)| id.to_hex().starts_with(&spec))
            .collect();
        match found.len() {
            0 => bail!("no snapshot matches {spec:?} (list them with `backstock snapshots`)"),
            1 => Ok(found.remove(0)),
            n => bail!("{spec:?} matches {n} snapshots: give more digits"),
        }
    }

    /// The snapshots named by `specs` (each as in `find_snapshot`), oldest first and without
    /// duplicates; all snapshots when `specs` is empty.
    pub fn select_snapshots(&self, specs: &[String]) -> Result<Vec<(SnapshotId, Snapshot)>> {
        if specs.is_empty() {
            return self.snapshots();
        }
        let mut v = Vec::with_capacity(specs.len());
        for spec in specs {
            v.push(self.find_snapshot(spec, &SnapshotFilter::default())?);
        }
        v.sort_by(|x, y| x.1.time.cmp(&y.1.time).then(x.0.cmp(&y.0)));
        v.dedup_by(|x, y| x.0 == y.0);
        Ok(v)
    }

    pub fn save_snapshot(&self, snap: &Snapshot) -> Result<SnapshotId> {
        let payload = snap.encode();
        let compress = payload.len() > 1024;
        let bytes = envelope::seal(Kind::Snapshot, &self.keys().enc, &payload, compress);
        let id = SnapshotId(storage_hash(&bytes));
        self.backend()
            .write(FileType::Snapshot, &id.to_hex(), &bytes)
            .with_context(|| format!("writing snapshot {id}"))?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Backend, LocalBackend};
    use crate::crypto::kdf::{KdfParams, M_COST_MIN};
    use std::sync::Arc;

    /// A store whose listing names one more snapshot than it holds, as when a concurrent
    /// `forget` deletes a file between the listing and the read.
    struct Vanishing(LocalBackend);

    const GONE: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    impl Backend for Vanishing {
        fn location(&self) -> String {
            self.0.location()
        }
        fn create(&self) -> Result<()> {
            self.0.create()
        }
        fn list(&self, t: FileType) -> Result<Vec<(String, u64)>> {
            let mut v = self.0.list(t)?;
            if t == FileType::Snapshot {
                v.push((GONE.to_string(), 100));
            }
            Ok(v)
        }
        fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
            self.0.read(t, name)
        }
        fn read_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
            self.0.read_range(t, name, offset, len)
        }
        fn write(&self, t: FileType, name: &str, data: &[u8]) -> Result<()> {
            self.0.write(t, name, data)
        }
        fn delete(&self, t: FileType, name: &str) -> Result<()> {
            self.0.delete(t, name)
        }
        fn stat(&self, t: FileType, name: &str) -> Result<Option<u64>> {
            self.0.stat(t, name)
        }
    }

    fn snapshot(host: &str) -> Snapshot {
        Snapshot {
            version: crate::format::snapshot::VERSION,
            time: chrono::Local::now().fixed_offset(),
            hostname: host.to_string(),
            username: String::new(),
            paths: vec!["/data".to_string()],
            tags: Vec::new(),
            tree: Default::default(),
            parent: None,
            program_version: String::new(),
            summary: Default::default(),
        }
    }

    #[test]
    fn filter_paths_match_recorded_paths_up_to_dots_and_slashes() {
        let cwd = std::env::current_dir().unwrap();
        let docs = cwd.join("docs").display().to_string();
        for filter in ["docs", "docs/", "./docs", "docs/.", docs.as_str()] {
            assert!(path_matches(filter, &docs), "{filter}");
        }
        assert!(!path_matches("doc", &docs));
        assert!(!path_matches("/elsewhere/docs", &docs));
        // Paths recorded as given by older versions.
        for filter in ["store", "store/", "./store"] {
            assert!(path_matches(filter, "store"), "{filter}");
            assert!(path_matches(filter, "./store/"), "{filter}");
        }
        assert_eq!(
            absolute_path(Path::new("/srv/./shop/")).unwrap(),
            Path::new("/srv/shop")
        );
    }

    #[test]
    fn a_snapshot_deleted_after_listing_is_left_out_but_a_corrupt_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let backend = Arc::new(Vanishing(LocalBackend::new(dir.path().join("r"))));
        let kdf = KdfParams {
            m_cost: M_COST_MIN,
            t_cost: 1,
            p_cost: 1,
        };
        let repo = Repository::init(backend, b"pw", kdf).unwrap();
        let id = repo.save_snapshot(&snapshot("shop")).unwrap();
        let all = repo.snapshots().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].0, id);
        assert_eq!(
            repo.find_snapshot("latest", &SnapshotFilter::default())
                .unwrap()
                .0,
            id
        );

        // A file that is there but does not decode is still reported.
        let path = dir.path().join("r/snapshots").join(id.to_hex());
        std::fs::write(&path, b"not a snapshot").unwrap();
        let err = format!("{:#}", repo.snapshots().unwrap_err());
        assert!(err.contains(&id.to_hex()), "{err}");
    }
}
