//! Snapshot files: listing, finding by ID prefix or `latest`, and writing.

use super::Repository;
use crate::backend::FileType;
use crate::error::{bail, err};
use crate::error::{Context, Result};
use crate::format::envelope::{self, Kind};
use crate::format::snapshot::Snapshot;
use crate::format::FormatError;
use crate::ids::{storage_hash, SnapshotId};
use rayon::prelude::*;
use std::path::{Component, Path, PathBuf};

/// Which snapshots a command applies to.
#[derive(Debug, Clone, Default)]
pub struct SnapshotFilter {
    /// Host names, any of which must be the snapshot's (all hosts when empty).
    pub hosts: Vec<String>,
    /// Tag lists, any of which the snapshot must match (all snapshots when empty). As in restic,
    /// an entry `a,b` is matched by a snapshot carrying both `a` and `b`.
    pub tags: Vec<String>,
    /// Paths, each of which must match one of the snapshot's recorded paths (all when empty).
    pub paths: Vec<String>,
}

impl SnapshotFilter {
    /// Every filter path must match one of the snapshot's paths (`path_matches`).
    pub fn matches(&self, s: &Snapshot) -> bool {
        (self.hosts.is_empty() || self.hosts.contains(&s.hostname))
            && (self.tags.is_empty()
                || self.tags.iter().any(|list| {
                    list.split(',')
                        .filter(|t| !t.is_empty())
                        .all(|t| s.tags.iter().any(|have| have == t))
                }))
            && (self.paths.is_empty()
                || self
                    .paths
                    .iter()
                    .all(|p| s.paths.iter().any(|r| path_matches(p, r))))
    }
}

/// A file in `snapshots/` that is not a usable snapshot, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BadFile {
    /// The file's name in `snapshots/`.
    pub name: String,
    /// Why it cannot be used, for the user.
    pub reason: String,
}

/// Every file in `snapshots/`, sorted out.
#[derive(Debug, Default)]
pub struct SnapshotList {
    /// Snapshots that decoded, oldest first.
    pub snapshots: Vec<(SnapshotId, Snapshot)>,
    /// Files named by an ID whose bytes were read and are not a snapshot of this repository:
    /// content that does not match its name, or a payload that does not decrypt or decode. They can
    /// hold nothing restorable.
    pub damaged: Vec<BadFile>,
    /// Files that could not be read, or that a newer backstock wrote: they may be fine.
    pub unreadable: Vec<BadFile>,
    /// Files whose names are no snapshot ID (a stray `README.txt`): backstock never wrote them, so
    /// they hold no snapshot; reported and otherwise left alone.
    pub foreign: Vec<BadFile>,
}

impl SnapshotList {
    /// Every file that is not a usable snapshot.
    pub fn bad(&self) -> impl Iterator<Item = &BadFile> {
        self.damaged
            .iter()
            .chain(&self.unreadable)
            .chain(&self.foreign)
    }
}

enum Outcome {
    Good(SnapshotId, Box<Snapshot>),
    Foreign(String),
    Damaged(String),
    Unreadable(String),
    /// Listed, then deleted before it was read (a concurrent forget).
    Gone,
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
    /// All snapshots that can be read, oldest first. A damaged or unreadable snapshot file (or a
    /// foreign file in `snapshots/`) is reported once and left out, so that one bad file does not
    /// stop commands that do not need it; commands that must see every snapshot use
    /// [`Self::snapshot_list`].
    pub fn snapshots(&self) -> Result<Vec<(SnapshotId, Snapshot)>> {
        let list = self.snapshot_list()?;
        for b in list.bad() {
            report_bad(b);
        }
        Ok(list.snapshots)
    }

    /// Reads and sorts out every snapshot file, in parallel. A file that is listed but gone when it
    /// is read (a `forget` in another process removed it in between) is left out.
    pub fn snapshot_list(&self) -> Result<SnapshotList> {
        let names = self.backend().list(FileType::Snapshot)?;
        let outcomes: Vec<(String, Outcome)> = names
            .into_par_iter()
            .map(|(name, _)| {
                let o = self.examine(&name);
                (name, o)
            })
            .collect();
        let mut list = SnapshotList::default();
        for (name, o) in outcomes {
            match o {
                Outcome::Good(id, s) => list.snapshots.push((id, *s)),
                Outcome::Foreign(reason) => list.foreign.push(BadFile { name, reason }),
                Outcome::Damaged(reason) => list.damaged.push(BadFile { name, reason }),
                Outcome::Unreadable(reason) => list.unreadable.push(BadFile { name, reason }),
                Outcome::Gone => {}
            }
        }
        list.snapshots
            .sort_by(|a, b| a.1.time.cmp(&b.1.time).then(a.0.cmp(&b.0)));
        Ok(list)
    }

    /// Whether the snapshot file `name` is still damaged when read again (its name is an ID, its
    /// bytes were read, and they are not a snapshot of this repository). A command about to delete
    /// a damaged file asks first, so that one bad read never costs a good snapshot.
    pub fn snapshot_file_is_damaged(&self, name: &str) -> bool {
        matches!(self.examine(name), Outcome::Damaged(_))
    }

    fn examine(&self, name: &str) -> Outcome {
        let Ok(id) = SnapshotId::from_hex(name) else {
            return Outcome::Foreign("the name is not a snapshot ID (a stray file)".into());
        };
        let bytes = match self.backend().read(FileType::Snapshot, name) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return Outcome::Gone,
            Err(e) => return Outcome::Unreadable(format!("{:#}", crate::error::Error::from(e))),
        };
        if storage_hash(&bytes) != id.0 {
            return Outcome::Damaged("its content does not match its name".into());
        }
        let decoded = envelope::open(Kind::Snapshot, &self.keys().enc, &bytes)
            .and_then(|plain| Snapshot::decode(&plain));
        match decoded {
            Ok(s) => Outcome::Good(id, Box::new(s)),
            Err(e @ FormatError::UnsupportedVersion { .. }) => Outcome::Unreadable(e.to_string()),
            Err(e) => Outcome::Damaged(e.to_string()),
        }
    }

    /// Finds one snapshot: `latest` (newest matching the filter), a full ID, or a unique prefix of
    /// at least 4 hex digits.
    pub fn find_snapshot(
        &self,
        spec: &str,
        filter: &SnapshotFilter,
    ) -> Result<(SnapshotId, Snapshot)> {
        let list = self.snapshot_list()?;
        // A bad file is named only when the spec could mean it.
        let lower = spec.to_ascii_lowercase();
        if let Some(b) = list
            .bad()
            .find(|b| spec != "latest" && lower.len() >= 4 && b.name.starts_with(&lower))
        {
            bail!(
                Corrupt,
                "snapshot {} cannot be read: {}; run `backstock repair snapshots` (or `backstock forget {}`)",
                b.name,
                b.reason,
                b.name
            );
        }
        for b in list.bad() {
            report_bad(b);
        }
        let all = list.snapshots;
        if all.is_empty() {
            bail!(
                NotFound,
                "no snapshot found in {} (run `backstock backup` first)",
                self.backend().location()
            );
        }
        let (id, s) = resolve_spec(&all, spec, filter)?;
        Ok((*id, s.clone()))
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

    /// Writes a snapshot file. Refuses if this command's lock has lapsed: a prune elsewhere may have
    /// deleted blobs the snapshot relies on.
    pub fn save_snapshot(&self, snap: &Snapshot) -> Result<SnapshotId> {
        self.confirm_lock()?;
        let payload = snap.encode().context("encoding the snapshot")?;
        let compress = payload.len() > 1024;
        let bytes = envelope::seal(Kind::Snapshot, &self.keys().enc, &payload, compress)?;
        let id = SnapshotId(storage_hash(&bytes));
        self.backend()
            .write(FileType::Snapshot, &id.to_hex(), &bytes)
            .with_context(|| format!("writing snapshot {id}"))?;
        Ok(id)
    }
}

/// Finds one snapshot in `all` (oldest first, as [`Repository::snapshots`] returns it): `latest`
/// (the newest matching `filter`), a full ID, or a unique prefix of at least 4 hex digits, in
/// either case.
pub fn resolve_spec<'a>(
    all: &'a [(SnapshotId, Snapshot)],
    spec: &str,
    filter: &SnapshotFilter,
) -> Result<&'a (SnapshotId, Snapshot)> {
    if spec == "latest" {
        return all
            .iter()
            .rev()
            .find(|(_, s)| filter.matches(s))
            .ok_or_else(|| err!(NotFound, "no snapshot matches `latest`"));
    }
    if spec.len() < 4 || !spec.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!(
            InvalidInput,
            "{spec:?} is not a snapshot ID: use `latest`, a full ID or at least 4 hex digits"
        );
    }
    let spec = spec.to_ascii_lowercase();
    let found: Vec<_> = all
        .iter()
        .filter(|(id, _)| id.to_hex().starts_with(&spec))
        .collect();
    match found.as_slice() {
        [] => bail!(
            NotFound,
            "no snapshot matches {spec:?} (list them with `backstock snapshots`)"
        ),
        [one] => Ok(one),
        more => bail!(
            InvalidInput,
            "{spec:?} matches {} snapshots: give more digits",
            more.len()
        ),
    }
}

/// Warns about a snapshot file that cannot be used, once per process.
pub fn report_bad(b: &BadFile) {
    static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut seen = crate::sync::unpoisoned(&SEEN);
    if !seen.contains(&b.name) {
        seen.push(b.name.clone());
        log::warn!(
            "skipping snapshot file snapshots/{}: {} (`backstock repair snapshots` removes damaged ones)",
            b.name, b.reason
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Backend, LocalBackend, Result};
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
            // Only once there are snapshots: an empty location must still look empty to `init`.
            if t == FileType::Snapshot && !v.is_empty() {
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
            original: None,
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
    fn a_snapshot_deleted_after_listing_is_left_out_and_a_damaged_one_is_set_apart() {
        let dir = tempfile::tempdir().unwrap();
        let backend = Arc::new(Vanishing(LocalBackend::new(dir.path().join("r"))));
        let kdf = KdfParams {
            m_cost: M_COST_MIN,
            t_cost: 1,
            p_cost: 1,
        };
        let repo = Repository::init(backend, b"pw", kdf).unwrap();
        let id = repo.save_snapshot(&snapshot("shop")).unwrap();
        let other = repo.save_snapshot(&snapshot("other")).unwrap();
        let all = repo.snapshots().unwrap();
        assert_eq!(all.len(), 2);
        assert!(repo.snapshot_list().unwrap().damaged.is_empty());

        // A file that is there but does not decode is set apart, naming it; the others still read,
        // by `latest` and by ID, and the damaged one is refused by ID with a pointer to repair.
        let path = dir.path().join("r/snapshots").join(id.to_hex());
        std::fs::write(&path, b"not a snapshot").unwrap();
        let list = repo.snapshot_list().unwrap();
        assert_eq!(list.snapshots.len(), 1);
        assert_eq!(list.snapshots[0].0, other);
        assert_eq!(list.damaged.len(), 1);
        assert_eq!(list.damaged[0].name, id.to_hex());
        assert!(list.unreadable.is_empty());
        assert_eq!(repo.snapshots().unwrap().len(), 1);
        let f = SnapshotFilter::default();
        assert_eq!(repo.find_snapshot("latest", &f).unwrap().0, other);
        assert_eq!(repo.find_snapshot(&other.to_hex(), &f).unwrap().0, other);
        let err = format!(
            "{:#}",
            repo.find_snapshot(&id.to_hex()[..8], &f).unwrap_err()
        );
        assert!(
            err.contains(&id.to_hex()) && err.contains("repair snapshots"),
            "{err}"
        );
    }

    fn store(repo: &Repository, payload: &[u8]) -> String {
        let bytes = envelope::seal(Kind::Snapshot, &repo.keys().enc, payload, false).unwrap();
        let name = hex::encode(storage_hash(&bytes));
        repo.backend()
            .write(FileType::Snapshot, &name, &bytes)
            .unwrap();
        name
    }

    /// Only files that were read and are wrong count as damaged; a snapshot from a newer version
    /// may be fine and must be left alone.
    #[test]
    fn files_are_sorted_into_good_damaged_unreadable_and_foreign() {
        let dir = tempfile::tempdir().unwrap();
        let kdf = KdfParams {
            m_cost: M_COST_MIN,
            t_cost: 1,
            p_cost: 1,
        };
        let repo = Repository::init(
            Arc::new(LocalBackend::new(dir.path().join("r"))),
            b"pw",
            kdf,
        )
        .unwrap();
        let good = br#"{"version":1,"time":"2026-01-01T00:00:00Z","paths":["/x"],"tree":"0000000000000000000000000000000000000000000000000000000000000000"}"#;
        let good = store(&repo, good);
        let newer = store(
            &repo,
            br#"{"version":2,"time":"2026-01-01T00:00:00Z","paths":["/x"],"tree":"0000000000000000000000000000000000000000000000000000000000000000"}"#,
        );
        let garbage = store(&repo, b"not json");
        repo.backend()
            .write(FileType::Snapshot, "README", b"stray")
            .unwrap();
        let scan = repo.snapshot_list().unwrap();
        assert_eq!(scan.snapshots.len(), 1);
        assert_eq!(scan.snapshots[0].0.to_hex(), good);
        let damaged: Vec<&str> = scan.damaged.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(damaged, vec![garbage.as_str()]);
        let foreign: Vec<&str> = scan.foreign.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(foreign, vec!["README"]);
        assert_eq!(scan.unreadable.len(), 1);
        assert_eq!(scan.unreadable[0].name, newer);
        assert!(
            scan.unreadable[0].reason.contains("newer"),
            "{:?}",
            scan.unreadable
        );
    }
}
