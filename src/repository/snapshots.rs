//! Snapshot files: listing, finding by ID prefix or `latest`, and writing.

use super::Repository;
use crate::backend::FileType;
use crate::format::envelope::{self, Kind};
use crate::format::snapshot::Snapshot;
use crate::ids::{storage_hash, SnapshotId};
use anyhow::{anyhow, bail, Context, Result};
use rayon::prelude::*;

/// Which snapshots a command applies to.
#[derive(Debug, Clone, Default)]
pub struct SnapshotFilter {
    pub hosts: Vec<String>,
    pub tags: Vec<String>,
    pub paths: Vec<String>,
}

impl SnapshotFilter {
    pub fn matches(&self, s: &Snapshot) -> bool {
        (self.hosts.is_empty() || self.hosts.contains(&s.hostname))
            && (self.tags.is_empty() || self.tags.iter().any(|t| s.tags.contains(t)))
            && (self.paths.is_empty() || self.paths.iter().all(|p| s.paths.contains(p)))
    }
}

impl Repository {
    /// All snapshots, oldest first.
    pub fn snapshots(&self) -> Result<Vec<(SnapshotId, Snapshot)>> {
        let names = self.backend().list(FileType::Snapshot)?;
        let mut out: Vec<(SnapshotId, Snapshot)> = names
            .par_iter()
            .map(|(name, _)| self.load_snapshot_file(name))
            .collect::<Result<_>>()?;
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
