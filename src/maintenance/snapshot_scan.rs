//! Reading every file in `snapshots/` and sorting out the ones that cannot be used, for commands
//! that must see all snapshots (prune) or that clean up (repair snapshots).

use crate::backend::FileType;
use crate::format::envelope::{self, Kind};
use crate::format::snapshot::Snapshot;
use crate::format::FormatError;
use crate::ids::{storage_hash, SnapshotId};
use crate::repository::Repository;
use anyhow::Result;
use rayon::prelude::*;
use serde::Serialize;

/// A file in `snapshots/` that is not a usable snapshot, and why.
#[derive(Debug, Clone, Serialize)]
pub struct BadFile {
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct SnapshotScan {
    /// Snapshots that decoded, oldest first.
    pub good: Vec<(SnapshotId, Snapshot)>,
    /// Files whose bytes were read and are not a snapshot of this repository: a name that is not
    /// an ID, content that does not match its name, or a payload that does not decrypt or decode.
    /// They can hold nothing restorable.
    pub damaged: Vec<BadFile>,
    /// Files that could not be read, or that a newer backstock wrote: they may be fine.
    pub unreadable: Vec<BadFile>,
}

enum Outcome {
    Good(SnapshotId, Box<Snapshot>),
    Damaged(String),
    Unreadable(String),
    /// Listed, then deleted before it was read (a concurrent forget).
    Gone,
}

/// Reads and sorts out every snapshot file, in parallel.
pub fn scan_snapshot_files(repo: &Repository) -> Result<SnapshotScan> {
    let names = repo.backend().list(FileType::Snapshot)?;
    let outcomes: Vec<(String, Outcome)> = names
        .into_par_iter()
        .map(|(name, _)| {
            let o = examine(repo, &name);
            (name, o)
        })
        .collect();
    let mut scan = SnapshotScan::default();
    for (name, o) in outcomes {
        match o {
            Outcome::Good(id, s) => scan.good.push((id, *s)),
            Outcome::Damaged(reason) => scan.damaged.push(BadFile { name, reason }),
            Outcome::Unreadable(reason) => scan.unreadable.push(BadFile { name, reason }),
            Outcome::Gone => {}
        }
    }
    scan.good
        .sort_by(|a, b| a.1.time.cmp(&b.1.time).then(a.0.cmp(&b.0)));
    Ok(scan)
}

fn examine(repo: &Repository, name: &str) -> Outcome {
    let Ok(id) = SnapshotId::from_hex(name) else {
        return Outcome::Damaged("the name is not a snapshot ID (a stray file)".into());
    };
    let bytes = match repo.backend().read(FileType::Snapshot, name) {
        Ok(b) => b,
        Err(e) => {
            return match repo.backend().stat(FileType::Snapshot, name) {
                Ok(None) => Outcome::Gone,
                _ => Outcome::Unreadable(format!("{e:#}")),
            }
        }
    };
    if storage_hash(&bytes) != id.0 {
        return Outcome::Damaged("its content does not match its name".into());
    }
    let decoded = envelope::open(Kind::Snapshot, &repo.keys().enc, &bytes)
        .and_then(|plain| Snapshot::decode(&plain));
    match decoded {
        Ok(s) => Outcome::Good(id, Box::new(s)),
        Err(e @ FormatError::UnsupportedVersion { .. }) => Outcome::Unreadable(e.to_string()),
        Err(e) => Outcome::Damaged(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::LocalBackend;
    use crate::crypto::kdf::{KdfParams, M_COST_MIN};
    use std::sync::Arc;

    fn store(repo: &Repository, payload: &[u8]) -> String {
        let bytes = envelope::seal(Kind::Snapshot, &repo.keys().enc, payload, false);
        let name = hex::encode(storage_hash(&bytes));
        repo.backend()
            .write(FileType::Snapshot, &name, &bytes)
            .unwrap();
        name
    }

    /// Only files that were read and are wrong count as damaged; a snapshot from a newer version
    /// may be fine and must be left alone.
    #[test]
    fn files_are_sorted_into_good_damaged_and_unreadable() {
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
        let scan = scan_snapshot_files(&repo).unwrap();
        assert_eq!(scan.good.len(), 1);
        assert_eq!(scan.good[0].0.to_hex(), good);
        let mut damaged: Vec<&str> = scan.damaged.iter().map(|b| b.name.as_str()).collect();
        damaged.sort();
        let mut expected = vec!["README", garbage.as_str()];
        expected.sort();
        assert_eq!(damaged, expected);
        assert_eq!(scan.unreadable.len(), 1);
        assert_eq!(scan.unreadable[0].name, newer);
        assert!(
            scan.unreadable[0].reason.contains("newer"),
            "{:?}",
            scan.unreadable
        );
    }
}
