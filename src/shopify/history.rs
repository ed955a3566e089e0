//! `shopify history`: every version of one item across a shop's snapshots, oldest first, with
//! what changed at each step.

use super::diff::{compare_versions, file_in, root_of, ItemChange};
use super::items::item_of;
use crate::error::{err, Result};
use crate::ids::SnapshotId;
use crate::repository::snapshots::SnapshotFilter;
use crate::repository::Repository;
use chrono::{DateTime, FixedOffset};

/// A snapshot in which the item differs from the snapshot before.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Version {
    /// The snapshot.
    pub snapshot: SnapshotId,
    /// When it was taken.
    pub time: DateTime<FixedOffset>,
    /// What changed since the previous snapshot that was looked at.
    #[serde(flatten)]
    pub change: ItemChange,
}

/// The versions of the item whose record (or content) is `rel` in the export, over the snapshots
/// `filter` selects, oldest first. Snapshots that are not of an export are passed over.
pub fn history(repo: &Repository, filter: &SnapshotFilter, rel: &str) -> Result<Vec<Version>> {
    let (key, part) = item_of(rel)
        .ok_or_else(|| err!(InvalidInput, "{rel} is one of the connector's own files"))?;
    let mut snaps: Vec<_> = repo
        .snapshots()?
        .into_iter()
        .filter(|(_, s)| filter.matches(s))
        .collect();
    snaps.sort_by_key(|(_, s)| s.time);
    let mut out = Vec::new();
    let mut previous: Option<crate::format::tree::Node> = None;
    let mut seen = 0usize;
    for (id, snap) in snaps {
        let time = snap.time;
        let Ok(export) = root_of(repo, id, snap) else {
            continue;
        };
        seen += 1;
        let current = file_in(repo, &export, rel)?;
        let same = match (&previous, &current) {
            (None, None) => true,
            (Some(a), Some(b)) => a.content == b.content,
            _ => false,
        };
        if !same {
            let change = compare_versions(
                repo,
                rel,
                key.clone(),
                part,
                previous.as_ref(),
                current.as_ref(),
            )?;
            out.push(Version {
                snapshot: id,
                time,
                change,
            });
        }
        previous = current;
    }
    if seen == 0 {
        return Err(err!(
            NotFound,
            "no snapshot of a store export matches (back one up with `backstock shopify backup`)"
        ));
    }
    Ok(out)
}
