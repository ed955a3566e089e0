//! Groups of snapshots (`--group-by host,paths,tags`): retention applies per group, and
//! `snapshots --group-by` / `--latest N` list per group.

use crate::error::bail;
use crate::error::{Error, Result};
use crate::format::snapshot::Snapshot;
use crate::ids::SnapshotId;
use std::collections::BTreeMap;
use std::str::FromStr;

/// Which snapshot fields make a group (`--group-by host,paths,tags`; empty for one group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupBy {
    /// Snapshots of different hosts are in different groups.
    pub host: bool,
    /// Snapshots of different path sets are in different groups.
    pub paths: bool,
    /// Snapshots with different tag sets are in different groups.
    pub tags: bool,
}

impl Default for GroupBy {
    fn default() -> Self {
        GroupBy {
            host: true,
            paths: true,
            tags: false,
        }
    }
}

impl FromStr for GroupBy {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let mut g = GroupBy {
            host: false,
            paths: false,
            tags: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "host" => g.host = true,
                "paths" => g.paths = true,
                "tags" => g.tags = true,
                _ => bail!(InvalidInput, "invalid --group-by field {part:?}: use host, paths and/or tags (comma-separated), or \"\" for no grouping"),
            }
        }
        Ok(g)
    }
}

/// The values a group shares; `None` for fields not grouped by. Paths and tags are sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupKey {
    /// The group's host.
    pub host: Option<String>,
    /// The group's recorded paths.
    pub paths: Option<Vec<String>>,
    /// The group's tags.
    pub tags: Option<Vec<String>>,
}

impl GroupKey {
    /// The key of the group `s` belongs to when grouping `by`.
    pub fn of(s: &Snapshot, by: GroupBy) -> GroupKey {
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        GroupKey {
            host: by.host.then(|| s.hostname.clone()),
            paths: by.paths.then(|| sorted(&s.paths)),
            tags: by.tags.then(|| sorted(&s.tags)),
        }
    }
}

/// `snaps` (oldest first) grouped `by`, groups in key order, each oldest first; with `latest`,
/// each group keeps only its newest `latest` snapshots.
pub fn group(
    snaps: Vec<(SnapshotId, Snapshot)>,
    by: GroupBy,
    latest: Option<usize>,
) -> Vec<(GroupKey, Vec<(SnapshotId, Snapshot)>)> {
    let mut groups: BTreeMap<GroupKey, Vec<(SnapshotId, Snapshot)>> = BTreeMap::new();
    for (id, s) in snaps {
        groups
            .entry(GroupKey::of(&s, by))
            .or_default()
            .push((id, s));
    }
    groups
        .into_iter()
        .map(|(k, mut v)| {
            if let Some(n) = latest {
                let drop = v.len().saturating_sub(n);
                v.drain(..drop);
            }
            (k, v)
        })
        .collect()
}
